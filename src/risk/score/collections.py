"""The collections queue (催收队列): who to contact tomorrow, how, and whether the case goes to legal.

Pure functions from a frame of scored loans (features at as_of plus model probabilities) to the queue.
Every rule reads its thresholds from :class:`~risk.config.ScoreParams`; the README documents them.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from risk.config import ContactRules, LabelParams, LegalParams, OverdueTypeRules, ScoreParams
from risk.contract import Action, LadderStep, OverdueType
from risk.features.labels import early_warning_scope

CHANNEL_OF_ACTION = {
    Action.SMS: "sms",
    Action.CALL: "call",
    Action.EXTENSION: "negotiation",
    Action.INSTALMENT_PLAN: "negotiation",
    Action.INTEREST_RELIEF: "negotiation",
    Action.SETTLEMENT: "negotiation",
    Action.NEGOTIATION: "negotiation",
    Action.LAWYERS_LETTER: "lawyers_letter",
    Action.LITIGATION: "litigation",
    Action.ENFORCEMENT: "enforcement",
}
STEP_OF_RANK = {
    0: LadderStep.NONE,
    1: LadderStep.REMINDER,
    2: LadderStep.NEGOTIATION,
    3: LadderStep.LAWYERS_LETTER,
    4: LadderStep.LITIGATION,
    5: LadderStep.ENFORCEMENT,
}

DEFAULT_LABELS = LabelParams()  # frozen: one shared default is safe


def _evidence(*parts: tuple[pl.Expr, pl.Expr]) -> pl.Expr:
    """Concatenate the descriptions whose condition holds, '; '-separated."""
    return pl.concat_list([pl.when(cond).then(text) for cond, text in parts]).list.drop_nulls().list.join("; ")


def classify_overdue_type(frame: pl.DataFrame, rules: OverdueTypeRules) -> pl.DataFrame:
    """Add ``overdue_type`` and ``type_evidence``; current loans get neither (null)."""
    c = pl.col
    silence = c("days_since_last_payment")
    never_paid = c("paid_to_due_all").fill_null(1.0) == 0
    fpd = never_paid & (c("days_past_due") >= rules.first_payment_default_dpd) & (c("months_on_book") <= 3)
    refused = c("refusals_90d") >= rules.malicious_refusals
    evading = (c("unreachable_90d") >= rules.malicious_unreachable) & (silence >= rules.malicious_silence_days)
    malicious = refused | evading | fpd
    hopeless = c("cure_probability").is_null() | (c("cure_probability") < rules.insolvent_cure_below)
    insolvent = (c("days_past_due") >= rules.insolvent_dpd) & hopeless & (silence >= rules.insolvent_silence_days)
    severe = (c("days_past_due") >= rules.severe_dpd) | (c("partial_payments") >= rules.severe_partial_payments)
    overdue = c("days_past_due") > 0
    kind = (
        pl.when(~overdue)
        .then(None)
        .when(malicious)
        .then(pl.lit(OverdueType.MALICIOUS.value))
        .when(insolvent)
        .then(pl.lit(OverdueType.INSOLVENT.value))
        .when(severe)
        .then(pl.lit(OverdueType.SEVERE.value))
        .otherwise(pl.lit(OverdueType.TEMPORARY.value))
    )
    evidence = _evidence(
        (refused, pl.format("reached but refused {} times in 90 days", c("refusals_90d"))),
        (evading, pl.format("unreachable {} times, no payment for {} days", c("unreachable_90d"), silence)),
        (fpd, pl.lit("first-payment default: never paid")),
        (c("broken_promises_90d") > 0, pl.format("{} broken promises", c("broken_promises_90d"))),
        (c("partial_payments") > 0, pl.format("{} partial payments", c("partial_payments"))),
        (c("days_past_due") > 0, pl.format("{} days past due", c("days_past_due"))),
        (silence >= 30, pl.format("no payment for {} days", silence)),
        (c("cure_probability") < rules.insolvent_cure_below, pl.lit("cure probability below threshold")),
        (c("cure_probability").is_null() & (c("days_past_due") > 0), pl.lit("beyond the cure model's range")),
    )
    return frame.with_columns(overdue_type=kind, type_evidence=pl.when(overdue).then(evidence))


def legal_referral(frame: pl.DataFrame, legal: LegalParams) -> pl.DataFrame:
    """Add ``legal_referral`` and ``legal_criteria``: the documented hand-over criteria that hold."""
    c = pl.col
    beyond_max = c("days_past_due") > c("contract_max_overdue_days")
    refuses = (c("refusals_90d") >= legal.refusals_to_refer) | (
        (c("unreachable_90d") >= legal.refusals_to_refer) & (c("reach_rate_90d").fill_null(0) == 0)
    )
    # proposals made and broken, with none running now: a borrower keeping a promise or a plan is not refused
    in_sight = pl.lit(False)
    if "promise_until" in frame.columns:
        in_sight = in_sight | (c("promise_until").is_not_null() & (c("promise_until") > c("as_of")))
    if "agreement_running" in frame.columns:
        in_sight = in_sight | c("agreement_running").fill_null(False)
    broken = c("broken_promises_90d") >= legal.broken_promises_to_refer
    if "signed_agreements_broken" in frame.columns:
        broken = broken | (c("signed_agreements_broken").fill_null(0) >= legal.broken_agreements_to_refer)
    unreasonable = broken & ~in_sight
    malicious = c("overdue_type") == OverdueType.MALICIOUS.value
    criteria = pl.concat_list(
        [
            pl.when(beyond_max).then(pl.lit("overdue_beyond_contract_max")),
            pl.when(refuses).then(pl.lit("refuses_to_communicate")),
            pl.when(unreasonable).then(pl.lit("unreasonable_proposal")),
            pl.when(malicious).then(pl.lit("fraud_or_malicious_evasion")),
        ]
    ).list.drop_nulls()
    return frame.with_columns(legal_criteria=criteria).with_columns(legal_referral=c("legal_criteria").list.len() > 0)


def litigation_economics(frame: pl.DataFrame, legal: LegalParams) -> pl.DataFrame:
    """Expected recovery from suing against its costs, discounted over the time to recovery."""
    c = pl.col
    rate = c("overdue_type").replace_strict(legal.court_recovery_rate, default=0.0, return_dtype=pl.Float64)
    claim = c("exposure") + c("arrears_amount")
    discount = (1 + legal.annual_discount_rate) ** (legal.months_to_recovery / 12)
    return frame.with_columns(
        litigation_expected_recovery=claim * rate / discount,
        litigation_cost=legal.court_fee_fixed + legal.court_fee_rate * claim + legal.lawyer_fee,
    ).with_columns(litigation_net_value=c("litigation_expected_recovery") - c("litigation_cost"))


def next_action(frame: pl.DataFrame) -> pl.DataFrame:
    """The recommended next step on the ladder, by overdue type, history and the legal criteria.

    Legal steps in order: enforcement only after a judgment, a suit only after the lawyer's letter's
    response deadline has passed (``judgment_on`` and ``response_deadline``, null when unknown).
    """
    c = pl.col
    t, dpd = c("overdue_type"), c("days_past_due")
    judged = c("judgment_on").is_not_null()
    letter_sent = c("response_deadline").is_not_null()
    deadline_passed = letter_sent & (c("response_deadline") <= c("as_of_day"))
    suing_pays = c("litigation_net_value") > 0
    legal = c("legal_referral")
    action = (
        pl.when(t.is_null())
        .then(pl.lit(Action.SMS.value))  # current but at risk: a reminder before due
        .when(legal & judged & suing_pays)
        .then(pl.lit(Action.ENFORCEMENT.value))
        .when(legal & ~judged & deadline_passed & suing_pays)
        .then(pl.lit(Action.LITIGATION.value))
        .when(legal & ~letter_sent & ~judged)
        .then(pl.lit(Action.LAWYERS_LETTER.value))
        .when(legal)
        .then(pl.lit(Action.SETTLEMENT.value))  # waiting for the letter's deadline, or suing does not pay
        .when(t == OverdueType.MALICIOUS.value)
        .then(pl.lit(Action.LAWYERS_LETTER.value))
        .when(t == OverdueType.INSOLVENT.value)
        .then(pl.lit(Action.SETTLEMENT.value))
        .when(t == OverdueType.SEVERE.value)
        .then(pl.lit(Action.INSTALMENT_PLAN.value))
        .when(dpd <= 7)
        .then(pl.lit(Action.SMS.value))
        .when(dpd <= 30)
        .then(pl.lit(Action.CALL.value))
        .otherwise(pl.lit(Action.EXTENSION.value))  # temporary hardship past a month: grace / extension
    )
    channel = action.replace_strict({a.value: ch for a, ch in CHANNEL_OF_ACTION.items()}, return_dtype=pl.String)
    return frame.with_columns(next_action=action).with_columns(channel=channel).drop("as_of_day")


def next_contact_at(frame: pl.DataFrame, rules: ContactRules, *, work_date: dt.date) -> pl.DataFrame:
    """The earliest lawful time for the next contact: within hours, after any cooling-off period, and
    on a day the borrower's daily cap is not reached."""
    c = pl.col
    opening = pl.lit(dt.datetime.combine(work_date, dt.time(rules.start_hour)))
    cooled = c("last_refusal_at") + pl.duration(hours=rules.cooling_off_hours_after_refusal)
    earliest = pl.max_horizontal(opening, cooled.fill_null(opening))
    hour = earliest.dt.hour() + earliest.dt.minute() / 60
    next_day_opening = (earliest.dt.date() + pl.duration(days=1)).cast(pl.Datetime("us")) + pl.duration(
        hours=rules.start_hour
    )
    same_day_opening = earliest.dt.date().cast(pl.Datetime("us")) + pl.duration(hours=rules.start_hour)
    lawful = (
        pl.when(hour >= rules.end_hour)
        .then(next_day_opening)
        .when(hour < rules.start_hour)
        .then(same_day_opening)
        .otherwise(earliest)
    )
    capped = c("contacts_on_work_date").fill_null(0) >= rules.daily_cap_per_borrower
    lawful = (
        pl.when(capped & (lawful.dt.date() == work_date))
        .then(pl.lit(dt.datetime.combine(work_date + dt.timedelta(days=1), dt.time(rules.start_hour))))
        .otherwise(lawful)
    )
    return frame.with_columns(next_contact_at=lawful.cast(pl.Datetime("us")))


def prioritise(frame: pl.DataFrame, params: ScoreParams, *, work_date: dt.date) -> pl.DataFrame:
    """Expected value of each recommended contact and who gets one tomorrow within each channel's capacity.

    Value = uplift(channel) × amount at stake × responsiveness − cost; litigation and enforcement take
    their net value from :func:`litigation_economics`. One contact per borrower per day (the highest
    value), then each channel's capacity is filled by value, not by probability.
    """
    c = pl.col
    at_stake = (
        pl.when(c("channel").is_in(["sms", "call"]))
        .then(pl.when(c("arrears_amount") > 0).then(c("arrears_amount")).otherwise(c("instalment_amount")))
        .otherwise(c("exposure") + c("arrears_amount"))
    )
    responsiveness = (
        pl.when(c("days_past_due") > 0)
        .then(c("cure_probability").fill_null(params.late_responsiveness))
        .otherwise(c("ew_probability"))
    )
    uplift = c("channel").replace_strict(params.uplift, default=0.0, return_dtype=pl.Float64)
    cost = c("channel").replace_strict(params.cost, default=0.0, return_dtype=pl.Float64)
    value = (
        pl.when(c("channel").is_in(["litigation", "enforcement"]))
        .then(c("litigation_net_value"))
        .otherwise(uplift * at_stake * responsiveness.fill_null(0.0) - cost)
    )
    capacity = c("channel").replace_strict(params.capacity, default=0, return_dtype=pl.Int64)
    contactable = c("next_contact_at").dt.date() == work_date
    ranked = (
        frame.with_columns(expected_value=value)
        .with_columns(
            borrower_rank=pl.col("expected_value").rank("ordinal", descending=True).over("borrower_id"),
        )
        .with_columns(eligible=contactable & (c("borrower_rank") == 1) & (c("expected_value") > 0))
        .with_columns(
            channel_rank=pl.when(c("eligible")).then(
                c("expected_value").rank("ordinal", descending=True).over("channel", "eligible")
            )
        )
        .with_columns(scheduled=c("eligible") & (c("channel_rank") <= capacity))
        .sort(["scheduled", "expected_value", "loan_id"], descending=[True, True, False])
        .with_columns(priority_rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int64))
        .drop("borrower_rank", "eligible", "channel_rank")
    )
    return ranked


def collections_candidates(params: ScoreParams) -> pl.Expr:
    """The scored loans the collections queue weighs (those short of charge-off): overdue, or current and at risk
    by the early-warning model (``at_risk_threshold``)."""
    return (pl.col("days_past_due") > 0) | (pl.col("ew_probability") >= params.at_risk_threshold)


def build_collections_queue(
    scored: pl.DataFrame, params: ScoreParams, *, as_of: dt.date, labels: LabelParams = DEFAULT_LABELS
) -> pl.DataFrame:
    """Every active loan that is overdue (short of charge-off) or at risk, with type, next step, legal
    hand-over, economics, the next lawful contact time and tomorrow's priority within capacity.

    ``labels`` says where each model was trained: defaulted from ``default_dpd``, the early-warning model within
    its scope (:func:`~risk.features.labels.early_warning_scope`), the cure model beyond it."""
    work_date = as_of + dt.timedelta(days=1)
    c = pl.col
    in_scope = c("days_past_due") < params.charge_off_dpd
    wanted = collections_candidates(params)
    if "agreed_reminder_due" in scored.columns:  # a running agreement's reminder falls on the work day
        wanted = wanted | c("agreed_reminder_due")
    queue = scored.filter(in_scope & wanted)
    if "agreement_running" in queue.columns and queue["agreement_running"].null_count():
        # case evidence left ungathered (score_loans' evidence_for_decisions) would read as never silenced, under no
        # agreement, no promise: contact where the rules forbid it
        skipped = queue.filter(c("agreement_running").is_null())["loan_id"].head(5).to_list()
        msg = (
            f"{queue['agreement_running'].null_count()} queued loans have no case evidence (e.g. {skipped}): they"
            " were scored with evidence_for_decisions=True for other queue parameters; score every loan's evidence"
        )
        raise ValueError(msg)
    default_probability = (
        pl.when(c("days_past_due") >= labels.default_dpd)
        .then(1.0)
        .when(~early_warning_scope(c("days_past_due"), labels))
        .then(1.0 - c("cure_probability"))
        .otherwise(c("ew_probability"))
    )
    known = {"judgment_on": pl.Date, "response_deadline": pl.Date}
    queue = queue.with_columns(pl.lit(None, dtype=d).alias(k) for k, d in known.items() if k not in queue.columns)
    return (
        queue.with_columns(default_probability=default_probability, as_of_day=pl.lit(as_of))
        .with_columns(expected_loss=c("default_probability") * c("exposure") * params.lgd)
        .pipe(classify_overdue_type, params.overdue_types)
        .pipe(legal_referral, params.legal)
        .pipe(litigation_economics, params.legal)
        .pipe(next_action)
        .pipe(next_contact_at, params.contact, work_date=work_date)
        .pipe(prioritise, params, work_date=work_date)
        .with_columns(as_of=pl.lit(as_of), work_date=pl.lit(work_date))
    )
