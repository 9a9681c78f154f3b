"""Score a book at one as_of: features with the training code, three models, both queues."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from risk import io
from risk.cases.agreements import AGREEMENT_STATE_ORDER
from risk.config import Params
from risk.contract import CONTACT_CHANNELS, REACHED_OUTCOMES, VOICE_CHANNELS, Action, Decision, Outcome
from risk.features.build import application_snapshots, loan_snapshots
from risk.features.labels import cure_scope, early_warning_scope
from risk.models.model import RiskModel, require_features
from risk.policy.court import claim
from risk.policy.evidence import case_evidence
from risk.policy.fit import PolicyModels
from risk.policy.history import balance
from risk.policy.queue import plan_collections
from risk.score.collections import build_collections_queue, collections_candidates
from risk.score.reasons import top_reasons
from risk.score.review import build_review_queue
from risk.score.review_rules import review_facts, with_policy_reasons

COLLECTIONS_COLUMNS = [
    "as_of",
    "work_date",
    "priority_rank",
    "scheduled",
    "loan_id",
    "borrower_id",
    "product",
    "days_past_due",
    "exposure",
    "arrears_amount",
    "ew_probability",
    "cure_probability",
    "default_probability",
    "expected_loss",
    "overdue_type",
    "type_confidence",
    "type_evidence",
    "type_evidence_zh",
    "next_action",
    "channel",
    "policy",
    "assignment_probability",
    "legal_referral",
    "legal_criteria",
    "litigation_expected_recovery",
    "litigation_cost",
    "litigation_net_value",
    "next_contact_at",
    "expected_gain",
    "action_cost",
    "expected_value",
    "settlement_offer_amount",
    "settlement_approver",
    "barred_because",
    "promise_until",
    "agreement_state",
    "next_agreed_date",
    "rule_overdue_type",
    "rule_action",
    "rule_value",
    "action_reason_en",
    "action_reason_zh",
    "reason_codes",
    "reasons_en",
    "reasons_zh",
]
REVIEW_COLUMNS = [
    "as_of",
    "review_order",
    "application_id",
    "borrower_id",
    "product",
    "channel",
    "requested_amount",
    "requested_term",
    # the facts the policy rules read (risk.score.review_rules): a reviewer sees what a rule saw
    "age",
    "identity_verified",
    "income_verified",
    "other_active_loans",
    "other_platform_loans",
    "dishonest_debtor_listed",
    "pd",
    "risk_grade",
    "scorecard_points",
    "scorecard_pd",
    "scorecard_grade",
    "grades_agree",
    "recommended_decision",
    "decided_by",
    "policy_rule",
    "policy_decision",
    "policy_not_checked",
    "expected_loss",
    "reason_codes",
    "reasons_en",
    "reasons_zh",
]


@dataclass(frozen=True)
class Models:
    """The models scoring uses: the aliased PD, early-warning and cure models, and a PD scorecard for points."""

    pd: RiskModel
    early_warning: RiskModel
    cure: RiskModel
    pd_scorecard: RiskModel | None = None
    policy: PolicyModels | None = None  # the learned collections policy; None: the rule cascade plans


def contact_history(actions: pl.LazyFrame, loans: pl.LazyFrame, as_of: dt.date) -> pl.LazyFrame:
    """Per borrower, all their loans together: contacts, voice contacts and unanswered attempts already
    logged for the work day (the daily caps count per debtor, not per loan)."""
    work_date = as_of + dt.timedelta(days=1)
    c = pl.col
    voice = c("channel").is_in(VOICE_CHANNELS)
    return (
        actions.filter(c("action_at").dt.date() == work_date, c("channel").is_in(CONTACT_CHANNELS))
        .join(loans.select("loan_id", "borrower_id"), on="loan_id")
        .group_by("borrower_id")
        .agg(
            contacts_on_work_date=pl.len().cast(pl.Int64),
            voice_contacts_on_work_date=(voice & c("outcome").is_in(REACHED_OUTCOMES)).sum().cast(pl.Int64),
            unanswered_on_work_date=(voice & (c("outcome") == Outcome.UNREACHABLE.value)).sum().cast(pl.Int64),
        )
    )


def score_loans(
    tables: Mapping[str, pl.DataFrame],
    models: Models,
    params: Params,
    *,
    as_of: dt.date,
    ledger: pl.LazyFrame | None = None,
    payments: pl.LazyFrame | None = None,
    evidence_for_decisions: bool = False,
) -> pl.DataFrame:
    """Every active loan at ``as_of`` with its features, the three probabilities and its case evidence
    (:func:`~risk.policy.evidence.case_evidence`); ``ledger`` and ``payments``, the daily payments, when the caller
    made them already.

    With ``evidence_for_decisions`` the evidence is gathered only for the loans the day's decisions read it for
    (:func:`decided_loans`) and is null on the others: what a day's run wants (at 984,361 active loans, 0.3 s
    against 1.1 s), not a what-if that lowers ``at_risk_threshold`` on the same frame."""
    snap = loan_snapshots(
        tables,
        params.features,
        as_of_dates=[as_of],
        data_as_of=as_of,
        with_labels=False,
        ledger=ledger,
        payments=payments,
    ).collect()
    dpd, lp = pl.col("days_past_due"), params.features.labels
    # each model only where it was trained (its label's scope); elsewhere no probability rather than an
    # extrapolation, and no model call either (most active loans are current: the cure model scores a few percent)
    ew = _proba_within(models.early_warning, snap, early_warning_scope(dpd, lp))
    cure = _proba_within(models.cure, snap, cure_scope(dpd, lp))
    loans = tables["loans"].select("loan_id", "product", "contract_max_overdue_days")
    history = contact_history(tables["collection_actions"].lazy(), tables["loans"].lazy(), as_of).collect()
    snap = snap.drop("product").with_columns(
        ew_probability=ew, cure_probability=cure, exposure=pl.col("outstanding_principal")
    )
    pairs = snap.filter(decided_loans(tables, params)) if evidence_for_decisions else snap
    evidence = case_evidence(
        tables,
        pairs.select("loan_id", "borrower_id", "as_of").lazy(),
        grace_days=params.collection_rules.promise_grace_days,
    ).collect(engine=io.engine_for(pairs.height))
    return (
        snap.join(loans, on="loan_id", how="left")
        .join(history, on="borrower_id", how="left")
        .join(evidence.drop("borrower_id", "as_of"), on="loan_id", how="left")
        .with_columns(
            pl.col("contacts_on_work_date", "voice_contacts_on_work_date", "unanswered_on_work_date").fill_null(0),
            balance=balance(),
        )
    )


def decided_loans(tables: Mapping[str, pl.DataFrame], params: Params) -> pl.Expr:
    """The scored loans some decision of the day reads the case evidence of: the collections queue's candidates
    (:func:`~risk.score.collections.collections_candidates`; the recovery queue's charged-off loans are overdue
    too), and every loan under an agreement or a legal case (their reminders and the legal queue)."""
    cased = [tables[name]["loan_id"] for name in ("agreements", "legal_cases") if name in tables]
    under_case = pl.col("loan_id").is_in(pl.concat(cased).unique().implode()) if cased else pl.lit(False)
    return (collections_candidates(params.score) | under_case).fill_null(False)


def _proba_within(model: RiskModel, snap: pl.DataFrame, scope: pl.Expr) -> pl.Series:
    """``model``'s calibrated probability for the rows of ``snap`` in ``scope``; null elsewhere and where the
    model gives NaN. The model is called on the rows in scope only."""
    require_features(snap.columns, model.features)  # also on a day with no row in scope
    inside = snap.select(scope.fill_null(False)).to_series()
    proba = np.full(snap.height, np.nan)
    proba[inside.to_numpy()] = model.predict_proba(snap.select(model.features).filter(inside))
    return pl.Series(proba, dtype=pl.Float64).fill_nan(None)


def _with_reasons(frame: pl.DataFrame, model: RiskModel, n: int, sign: int) -> pl.DataFrame:
    return pl.concat([frame, top_reasons(model, frame, n=n, sign=sign)], how="horizontal")


def rules_only(queue: pl.DataFrame) -> pl.DataFrame:
    """The cascade's queue in the learned queue's columns: the rule decides, nothing is learned."""
    return queue.with_columns(
        type_confidence=pl.lit(None, dtype=pl.Float64),
        type_evidence_zh=pl.lit(None, dtype=pl.String),
        policy=pl.lit("rules"),
        assignment_probability=pl.lit(1.0),
        expected_gain=pl.lit(None, dtype=pl.Float64),
        action_cost=pl.lit(None, dtype=pl.Float64),
        barred_because=pl.lit(""),
        rule_overdue_type=pl.col("overdue_type"),
        rule_action=pl.col("next_action"),
        rule_value=pl.col("expected_value"),
        action_reason_en=pl.lit(None, dtype=pl.String),
        action_reason_zh=pl.lit(None, dtype=pl.String),
    )


def plan_queue(
    scored: pl.DataFrame,
    models: Models,
    params: Params,
    *,
    as_of: dt.date,
    agreements: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """The collections queue and, when the learned policy planned it, every lawful option it weighed.

    ``agreements`` is the day's agreements table (case management): each queued loan shows its agreement's
    state and next agreed date, and the learned plan sends the reminders that fall on the work day.
    """
    reminders = agreements.filter(pl.col("remind_on_work_date")) if agreements is not None else None
    if reminders is not None:  # a loan a kept plan re-aged to current still gets its agreed reminder
        scored = scored.with_columns(agreed_reminder_due=pl.col("loan_id").is_in(reminders["loan_id"].implode()))
    queue = build_collections_queue(scored, params.score, as_of=as_of, labels=params.features.labels)
    options = None
    if models.policy is not None and params.policy.strategy == "learned":
        queue, options = plan_collections(queue, models.policy, params, as_of=as_of, agreed_reminders=reminders)
    else:
        queue = rules_only(queue)
    # reasons for the rows someone acts on today (contributions cost far more than scores): early-warning
    # reasons where that model scores, cure reasons from there on; the other queued rows carry none
    decided = pl.col("scheduled") | pl.col("legal_referral")
    if params.score.reasons_for == "queue":
        decided = pl.lit(True)
    early_scope = early_warning_scope(pl.col("days_past_due"), params.features.labels)
    early = queue.filter(decided, early_scope)
    late = queue.filter(decided, ~early_scope)
    rest = queue.filter(~decided).with_columns(
        pl.lit([], dtype=pl.List(pl.String)).alias(c) for c in ("reason_codes", "reasons_en", "reasons_zh")
    )
    queue = pl.concat(
        [
            _with_reasons(early, models.early_warning, params.score.reasons, +1),
            _with_reasons(late, models.cure, params.score.reasons, -1),
            rest,
        ]
    ).sort("priority_rank")
    return (
        queue.pipe(with_agreement_state, agreements).pipe(with_settlement_terms, params).select(COLLECTIONS_COLUMNS),
        options,
    )


def with_settlement_terms(queue: pl.DataFrame, params: Params) -> pl.DataFrame:
    """For a loan offered a settlement, the amount to offer and who approves it: the claim as a court would
    award it, less the largest write-down the lowest authority of ``cases.settlement_approval`` (the
    collector) may grant on its own; deeper write-downs are the recovery book's, with its own approver."""
    who, share = next(iter(params.cases.settlement_approval.items()))
    offered = pl.col("next_action") == Action.SETTLEMENT.value
    amount = claim(queue, rate_cap=params.policy.court_rate_cap) * (1.0 - share)
    return queue.with_columns(
        settlement_offer_amount=pl.when(offered).then(amount.round(2)),
        settlement_approver=pl.when(offered).then(pl.lit(who)),
    )


def with_agreement_state(queue: pl.DataFrame, agreements: pl.DataFrame | None) -> pl.DataFrame:
    """``agreement_state`` and ``next_agreed_date`` of each loan's most pressing agreement (one due for a
    reminder, then one running, then the latest broken, kept or completed); null without one."""
    if agreements is None or agreements.is_empty():
        return queue.with_columns(
            agreement_state=pl.lit(None, dtype=pl.String), next_agreed_date=pl.lit(None, dtype=pl.Date)
        )
    order = {state: i for i, state in enumerate(AGREEMENT_STATE_ORDER)}
    latest = (
        agreements.sort(
            pl.col("state").replace_strict(order, default=len(order), return_dtype=pl.Int64),
            pl.col("state_on"),
            "agreement_id",
            descending=[False, True, False],
        )
        .group_by("loan_id", maintain_order=True)
        .first()
        .select("loan_id", agreement_state="state", next_agreed_date="next_agreed_date")
    )
    return queue.join(latest, on="loan_id", how="left")


def collections_queue(scored: pl.DataFrame, models: Models, params: Params, *, as_of: dt.date) -> pl.DataFrame:
    return plan_queue(scored, models, params, as_of=as_of)[0]


def pending_applications(
    tables: Mapping[str, pl.DataFrame], params: Params, *, as_of: dt.date, ledger: pl.LazyFrame | None = None
) -> pl.DataFrame:
    """The application snapshots (features, no labels) of every application still pending at ``as_of``."""
    only_pending = {
        **tables,
        "applications": tables["applications"].filter(
            (pl.col("decision") == Decision.PENDING.value) & (pl.col("applied_at").dt.date() <= as_of)
        ),
    }
    return application_snapshots(
        only_pending, params.features, data_as_of=as_of, with_labels=False, ledger=ledger
    ).collect()


def review_queue(
    tables: Mapping[str, pl.DataFrame],
    models: Models,
    params: Params,
    *,
    as_of: dt.date,
    ledger: pl.LazyFrame | None = None,
    pending: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Every application still pending at ``as_of``, checked by the policy rules, scored by PD with points and
    reasons (a deciding rule's first). ``pending`` is :func:`pending_applications` when already built."""
    if pending is None:
        pending = pending_applications(tables, params, as_of=as_of, ledger=ledger)
    scored = pending.with_columns(pd=pl.Series(models.pd.predict_proba(pending), dtype=pl.Float64))
    card = models.pd_scorecard
    points = card.points(pending) if card is not None else None
    scored = scored.with_columns(
        scorecard_points=pl.Series(points, dtype=pl.Float64).round(0)
        if points is not None
        else pl.lit(None, dtype=pl.Float64),
        # the scorecard's own calibrated PD: its grade is set beside the deciding model's (grades_agree)
        scorecard_pd=pl.Series(card.predict_proba(pending), dtype=pl.Float64)
        if card is not None
        else pl.lit(None, dtype=pl.Float64),
    )
    scored = review_facts(tables, scored, params.score.review_rules, as_of=as_of)
    queue = build_review_queue(scored, params.score, as_of=as_of)
    needs = queue.filter(pl.col("recommended_decision") != Decision.APPROVED.value)
    fine = queue.filter(pl.col("recommended_decision") == Decision.APPROVED.value)
    no_reasons = [pl.lit([], dtype=pl.List(pl.String)).alias(c) for c in ("reason_codes", "reasons_en", "reasons_zh")]
    queue = pl.concat(
        [
            _with_reasons(needs, models.pd, params.score.reasons, +1),
            fine.with_columns(no_reasons),  # approvals need no adverse-action reasons
        ]
    ).sort(pl.col("review_order").is_null(), "review_order", "application_id")
    return queue.pipe(with_policy_reasons).select(REVIEW_COLUMNS)
