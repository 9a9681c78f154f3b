"""Each case's lawful options for the work day, with their expected value (合规选项).

An option is an action the rules allow on the work day: no action while a promise to pay runs (its date
plus the grace period) or an agreement is being executed (case management follows those up); no
collection contact for ``collection_rules.no_contact_days_after_request`` days after a no-contact
request or a complaint (the legal route, a lawyer's letter or a suit, is not collection contact and
goes on), nor while the cooling-off after a refusal runs past the work day's contact hours, nor once
the borrower's contacts that day reach ``score.contact.daily_cap_per_borrower``; no voice contact once
their voice contacts or unanswered attempts that day (all loans together) reach their caps; the legal
ladder in order: a lawyer's letter from ``policy.letter_min_dpd`` days and not twice within
``policy.letter_repeat_days``, a suit only after the letter's response deadline with a legal criterion
met, no suit already filed and a positive expected net value in court (``court.py``). The value of an
option is its expected gain over doing nothing in the next 30 days minus its cost.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import polars as pl

from risk.config import CollectionRules, ContactRules, PolicyParams, ScoreParams
from risk.contract import Action
from risk.policy.plan import TEAM_OF_ACTION

CONTACT_ACTIONS = (
    Action.SMS.value,
    Action.EMAIL.value,
    Action.CALL.value,
    Action.INSTALMENT_PLAN.value,
    Action.EXTENSION.value,
    Action.INTEREST_RELIEF.value,
    Action.SETTLEMENT.value,
)
VOICE_ACTIONS = (
    Action.CALL.value,
    Action.INSTALMENT_PLAN.value,
    Action.EXTENSION.value,
    Action.INTEREST_RELIEF.value,
    Action.SETTLEMENT.value,
)


def case_gates(
    frame: pl.DataFrame,
    rules: CollectionRules,
    contact: ContactRules,
    policy: PolicyParams,
    *,
    work_date: dt.date,
) -> pl.DataFrame:
    """Per loan: which kinds of action the rules allow on ``work_date`` and, when one is barred, why."""
    c = pl.col
    day = pl.lit(work_date)
    closing = pl.lit(dt.datetime.combine(work_date, dt.time(contact.end_hour)))
    promise = c("promise_until").is_not_null() & (c("promise_until") >= day)
    agreement = c("agreement_running")
    silenced_until = c("last_silenced_on") + pl.duration(days=rules.no_contact_days_after_request)
    silenced = c("last_silenced_on").is_not_null() & (silenced_until >= day)
    cooling = c("last_refusal_at") + pl.duration(hours=contact.cooling_off_hours_after_refusal)
    cooling_all_day = c("last_refusal_at").is_not_null() & (cooling >= closing)
    contact_capped = c("contacts_on_work_date") >= contact.daily_cap_per_borrower
    voice_capped = (c("voice_contacts_on_work_date") >= rules.max_voice_contacts_per_day) | (
        c("unanswered_on_work_date") >= rules.max_unanswered_per_day
    )
    letter_recent = c("letter_sent_on").is_not_null() & (
        c("letter_sent_on") > day - pl.duration(days=policy.letter_repeat_days)
    )
    deadline_passed = c("letter_sent_on").is_not_null() & (c("response_deadline") < day)
    legal_ground = c("legal_criteria").list.len() > 0
    why = pl.concat_list(
        pl.when(promise).then(pl.format("promise to pay running until {}", c("promise_until"))),
        pl.when(agreement).then(pl.lit("agreement being executed")),
        pl.when(silenced).then(pl.format("no contact until {} (request or complaint)", silenced_until)),
        pl.when(cooling_all_day).then(pl.lit("cooling-off after a refusal")),
        pl.when(contact_capped).then(pl.lit("contacts for the day used up")),
        pl.when(voice_capped).then(pl.lit("voice contacts for the day used up")),
    ).list.drop_nulls()
    held = promise | agreement
    return frame.select(
        "loan_id",
        may_contact=~held & ~silenced & ~cooling_all_day & ~contact_capped,
        may_call=~held & ~silenced & ~cooling_all_day & ~contact_capped & ~voice_capped,
        may_letter=~held
        & ~cooling_all_day
        & ~contact_capped
        & (c("days_past_due") >= policy.letter_min_dpd)
        & ~letter_recent
        & c("filed_on").is_null(),
        may_sue=~held & deadline_passed & legal_ground & c("filed_on").is_null() & (c("litigation_net_value") > 0),
        # an agreed reminder is the one contact a running promise or agreement allows (case management)
        may_remind=~silenced & ~cooling_all_day & ~contact_capped,
        barred_because=why.list.join("; "),
    )


def gate_of(action: str) -> str | None:
    """The column of :func:`case_gates` that allows ``action``, or None: an action no team takes is never an option."""
    if action not in TEAM_OF_ACTION:
        return None
    if action == Action.LITIGATION.value:
        return "may_sue"
    if action == Action.LAWYERS_LETTER.value:
        return "may_letter"
    if action in VOICE_ACTIONS:
        return "may_call"
    return "may_contact" if action in CONTACT_ACTIONS else None


def allowed_rows(loan_ids: pl.Series, gates: pl.DataFrame, actions: Iterable[str]) -> dict[str, np.ndarray]:
    """Per action, which of ``loan_ids`` (in their order) :func:`options` could offer it to: the effect model
    prices only those rows (a quarter of the (loan, action) pairs at a million active loans are barred)."""
    gated = loan_ids.to_frame("loan_id").join(gates, on="loan_id", how="left", maintain_order="left")
    out = {}
    for action in actions:
        gate = gate_of(action)
        out[action] = np.zeros(len(gated), bool) if gate is None else gated[gate].fill_null(False).to_numpy()
    return out


def options(
    frame: pl.DataFrame,
    effects: pl.DataFrame,
    gates: pl.DataFrame,
    score: ScoreParams,
) -> pl.DataFrame:
    """Every lawful (loan, action) with its team, expected gain, cost and value.

    ``effects`` is the effect model's long frame (loan_id, action, expected_paid, expected_gain);
    ``frame`` carries borrower_id and the litigation cost.
    """
    c = pl.col
    allowed = pl.lit(False)
    for action in TEAM_OF_ACTION:
        gate = gate_of(action)
        if gate is not None:
            allowed = pl.when(c("action") == action).then(c(gate)).otherwise(allowed)
    team = c("action").replace_strict(TEAM_OF_ACTION, default=None, return_dtype=pl.String)
    cost = (
        pl.when(c("action") == Action.LITIGATION.value)
        .then(c("litigation_cost"))
        .otherwise(c("team").replace_strict(score.cost, default=0.0, return_dtype=pl.Float64))
    )
    return (
        effects.filter(c("action").is_in(list(TEAM_OF_ACTION)))
        .join(gates, on="loan_id")
        .join(frame.select("loan_id", "borrower_id", "litigation_cost"), on="loan_id")
        .filter(allowed)
        .with_columns(team=team)
        .with_columns(cost=cost)
        .with_columns(value=c("expected_gain") - c("cost"))
        .select("loan_id", "borrower_id", "action", "team", "expected_paid", "expected_gain", "cost", "value")
        .sort("loan_id", "action")
    )
