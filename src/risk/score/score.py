"""Score a book at one as_of: features with the training code, three models, both queues."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from risk.config import Params
from risk.contract import Decision, Outcome
from risk.features.build import application_snapshots, loan_snapshots
from risk.models.model import RiskModel
from risk.score.collections import build_collections_queue
from risk.score.reasons import top_reasons
from risk.score.review import build_review_queue

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
    "type_evidence",
    "next_action",
    "channel",
    "legal_referral",
    "legal_criteria",
    "litigation_expected_recovery",
    "litigation_cost",
    "litigation_net_value",
    "next_contact_at",
    "expected_value",
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
    "pd",
    "risk_grade",
    "scorecard_points",
    "recommended_decision",
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


def contact_history(actions: pl.LazyFrame, as_of: dt.date) -> pl.LazyFrame:
    """Per loan: the last refusal and the contacts already made on the work day (for the daily cap)."""
    work_date = as_of + dt.timedelta(days=1)
    return (
        actions.filter(pl.col("action_at").dt.date() <= work_date)
        .group_by("loan_id")
        .agg(
            last_refusal_at=pl.col("action_at").filter(pl.col("outcome") == Outcome.REFUSED.value).max(),
            contacts_on_work_date=(pl.col("action_at").dt.date() == work_date).sum().cast(pl.Int64),
        )
    )


def score_loans(
    tables: Mapping[str, pl.DataFrame],
    models: Models,
    params: Params,
    *,
    as_of: dt.date,
    ledger: pl.LazyFrame | None = None,
) -> pl.DataFrame:
    """Every active loan at ``as_of`` with its features and the three probabilities."""
    snap = loan_snapshots(
        tables, params.features, as_of_dates=[as_of], data_as_of=as_of, with_labels=False, ledger=ledger
    ).collect()
    dpd = snap["days_past_due"]
    ew = models.early_warning.predict_proba(snap)
    cure = models.cure.predict_proba(snap)
    loans = tables["loans"].select("loan_id", "product", "contract_max_overdue_days")
    history = contact_history(tables["collection_actions"].lazy(), as_of).collect()
    return (
        snap.drop("product")
        .with_columns(
            ew_probability=pl.Series(ew).fill_nan(None),
            cure_probability=pl.Series(cure).fill_nan(None),
            exposure=pl.col("outstanding_principal"),
        )
        .with_columns(
            ew_probability=pl.when(dpd < 30).then(pl.col("ew_probability")),
            # each model only where it was trained: early warning below 30 days past due, cure from 1 to
            # cure_max_dpd; beyond that, no probability rather than an extrapolation
            cure_probability=pl.when((dpd > 0) & (dpd <= params.features.labels.cure_max_dpd)).then(
                pl.col("cure_probability")
            ),
        )
        .join(loans, on="loan_id", how="left")
        .join(history, on="loan_id", how="left")
    )


def _with_reasons(frame: pl.DataFrame, model: RiskModel, n: int, sign: int) -> pl.DataFrame:
    return pl.concat([frame, top_reasons(model, frame, n=n, sign=sign)], how="horizontal")


def collections_queue(scored: pl.DataFrame, models: Models, params: Params, *, as_of: dt.date) -> pl.DataFrame:
    queue = build_collections_queue(scored, params.score, as_of=as_of)
    # reasons only for queue rows: early-warning reasons before 30 days past due, cure reasons after
    early = queue.filter(pl.col("days_past_due") < 30)
    late = queue.filter(pl.col("days_past_due") >= 30)
    queue = pl.concat(
        [
            _with_reasons(early, models.early_warning, params.score.reasons, +1),
            _with_reasons(late, models.cure, params.score.reasons, -1),
        ]
    ).sort("priority_rank")
    return queue.select(COLLECTIONS_COLUMNS)


def review_queue(
    tables: Mapping[str, pl.DataFrame],
    models: Models,
    params: Params,
    *,
    as_of: dt.date,
    ledger: pl.LazyFrame | None = None,
) -> pl.DataFrame:
    """Every application still pending at ``as_of``, scored by PD with points and reasons."""
    only_pending = {
        **tables,
        "applications": tables["applications"].filter(
            (pl.col("decision") == Decision.PENDING.value) & (pl.col("applied_at").dt.date() <= as_of)
        ),
    }
    pending = application_snapshots(
        only_pending, params.features, data_as_of=as_of, with_labels=False, ledger=ledger
    ).collect()
    scored = pending.with_columns(pd=pl.Series(models.pd.predict_proba(pending), dtype=pl.Float64))
    points = models.pd_scorecard.points(pending) if models.pd_scorecard is not None else None
    scored = scored.with_columns(
        scorecard_points=pl.Series(points, dtype=pl.Float64).round(0)
        if points is not None
        else pl.lit(None, dtype=pl.Float64)
    )
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
    return queue.select(REVIEW_COLUMNS)
