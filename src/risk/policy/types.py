"""The overdue type from evidence (四类逾期): learned from cases whose type their outcome established.

No table says which borrowers were temporary, malicious, severe or insolvent. But a case that has run
its course tells: the one-off shock that passed (cured within 90 days, no agreement needed), the able
but unwilling who paid in a lump once pressed or who refused and evaded, the insolvent whose judgment
found nothing or who reported hardship and paid next to nothing, the severe who kept paying a little at
a time. :func:`established_types` reads that from the whole history of every episode at least
``settle_days`` old; :func:`fit_type_model` learns, from the evidence a collector had on each earlier
decision day of those cases, to tell the type before the outcome is known. The simulator's hidden types are
never read here (the evaluation compares against them afterwards).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import polars as pl

from risk.contract import AgreementKind, CloseReason, Outcome, OverdueType
from risk.delinquency import instalment_ledger

TYPES: tuple[str, ...] = tuple(t.value for t in OverdueType)
# every policy model trains on two threads, row-wise and deterministic, as the risk models do: the same
# log and seed give the same models on any machine
REPRODUCIBLE = {"num_threads": 2, "deterministic": True, "force_row_wise": True}
LATE_DAYS = 3  # an instalment more than this late starts an episode (the features' grace period)
# the features the type model reads: the payment pattern, contact outcomes, agreements, assets, income
TYPE_FEATURES: tuple[str, ...] = (
    "days_past_due",
    "months_on_book",
    "max_dpd_12m",
    "late_instalments",
    "missed_instalments",
    "partial_payments",
    "paid_to_due_all",
    "paid_to_due_3m",
    "days_since_last_payment",
    "arrears_amount",
    "outstanding_principal",
    "instalment_amount",
    "monthly_income",
    "existing_debt",
    "debt_to_income",
    "payment_to_income",
    "identity_verified",
    "income_verified",
    "other_active_loans",
    "reach_rate_90d",
    "promises_90d",
    "broken_promises_90d",
    "refusals_90d",
    "unreachable_90d",
    "max_ladder_step",
    "n_hardship_reported",
    "n_disputed",
    "n_complaint",
    "n_no_contact_requested",
    "n_refused",
    "n_unreachable",
    "n_reached",
    "n_promise_to_pay",
    "n_broken_promise",
    "hardship_job_loss",
    "hardship_illness",
    "hardship_family_event",
    "hardship_business_failure",
    "hardship_other",
    "agreements_kept",
    "agreements_broken",
    "plans_signed",
    "property_owned",
    "vehicle_owned",
    "social_insurance",
    "other_platform_loans",
)


def _episode_outcomes(tables: Mapping[str, pl.DataFrame], data_as_of: dt.date) -> pl.DataFrame:
    """Per loan with an episode: onset, worst lateness, whether still open, payments since, and the case's end."""
    t = {k: v.lazy() for k, v in tables.items()}
    ledger = instalment_ledger(t["loans"], t["schedule"], t["repayments"])
    late = (pl.coalesce("paid_on", pl.lit(data_as_of)) - pl.col("due_date")).dt.total_days()
    episodes = (
        ledger.with_columns(late=late)
        .filter(pl.col("late") > LATE_DAYS)
        .group_by("loan_id")
        .agg(
            onset=pl.col("due_date").min(),
            worst_late=pl.col("late").max(),
            still_open=pl.col("paid_on").is_null().any(),
        )
    )
    paid = (
        t["repayments"]
        .join(episodes.select("loan_id", "onset"), on="loan_id")
        .filter(pl.col("paid_at").dt.date() > pl.col("onset"))
        .group_by("loan_id")
        .agg(paid_since=pl.col("amount").sum(), payments_since=pl.len())
    )
    said = (
        t["collection_actions"]
        .group_by("loan_id")
        .agg(
            hardship=(pl.col("outcome") == Outcome.HARDSHIP_REPORTED.value).sum(),
            refused=(pl.col("outcome") == Outcome.REFUSED.value).sum(),
            unreachable=(pl.col("outcome") == Outcome.UNREACHABLE.value).sum(),
        )
    )
    out = (
        episodes.join(t["loans"].select("loan_id", "borrower_id", "principal"), on="loan_id")
        .join(paid, on="loan_id", how="left")
        .join(said, on="loan_id", how="left")
    )
    if "agreements" in t:
        plans = [
            k.value for k in (AgreementKind.INSTALMENT_PLAN, AgreementKind.EXTENSION, AgreementKind.INTEREST_RELIEF)
        ]
        out = out.join(
            t["agreements"].group_by("loan_id").agg(plans=pl.col("kind").is_in(plans).sum()), on="loan_id", how="left"
        )
    else:
        out = out.with_columns(plans=pl.lit(0, dtype=pl.UInt32))
    if "legal_cases" in t:
        legal = (
            t["legal_cases"]
            .group_by("loan_id")
            .agg(
                uncollectable=(pl.col("close_reason") == CloseReason.UNCOLLECTABLE.value).any(),
                judged_empty=(
                    pl.col("judgment_on").is_not_null()
                    & (pl.col("recovered_amount").fill_null(0.0) < 0.1 * pl.col("awarded_amount").fill_null(0.0))
                ).any(),
            )
        )
        out = out.join(legal, on="loan_id", how="left")
    else:
        out = out.with_columns(uncollectable=pl.lit(False), judged_empty=pl.lit(False))
    if "borrower_profiles" in t:
        debts = (
            t["borrower_profiles"]
            .sort("observed_on")
            .group_by("borrower_id")
            .agg(other_platform_loans=pl.col("other_platform_loans").drop_nulls().last())
        )
        out = out.join(debts, on="borrower_id", how="left")
    else:
        out = out.with_columns(other_platform_loans=pl.lit(None, dtype=pl.Int64))
    return out.with_columns(
        pl.col("paid_since", "payments_since", "hardship", "refused", "unreachable", "plans").fill_null(0),
        pl.col("uncollectable", "judged_empty").fill_null(False),
    ).collect()


def established_types(
    tables: Mapping[str, pl.DataFrame], *, data_as_of: dt.date, settle_days: int = 180
) -> pl.DataFrame:
    """The type each episode's outcome established, for episodes at least ``settle_days`` old.

    First match: cured within 90 days with no agreement: temporary; a judgment that found nothing or a
    case closed as uncollectable: insolvent; a lump sum of half the principal in at most two payments,
    or refusals or evasion with at most one hardship report: malicious; hardship reported twice and
    under 30% of the principal paid since, or three other platforms' loans and under half paid:
    insolvent; four or more payments since the onset: severe. Cases that fit none stay unlabelled.
    """
    c = pl.col
    o = _episode_outcomes(tables, data_as_of).filter(c("onset") <= data_as_of - dt.timedelta(days=settle_days))
    paid_share = c("paid_since") / c("principal")
    unwilling = c("hardship") <= 1
    kind = (
        pl.when(~c("still_open") & (c("worst_late") <= 90) & (c("plans") == 0))
        .then(pl.lit(OverdueType.TEMPORARY.value))
        .when(c("uncollectable") | c("judged_empty"))
        .then(pl.lit(OverdueType.INSOLVENT.value))
        .when((c("payments_since") <= 2) & (paid_share >= 0.5))
        .then(pl.lit(OverdueType.MALICIOUS.value))
        .when(((c("refused") >= 2) | (c("unreachable") >= 8)) & unwilling)
        .then(pl.lit(OverdueType.MALICIOUS.value))
        .when((c("hardship") >= 2) & (paid_share < 0.3))
        .then(pl.lit(OverdueType.INSOLVENT.value))
        .when((c("other_platform_loans").fill_null(0) >= 3) & (paid_share < 0.5))
        .then(pl.lit(OverdueType.INSOLVENT.value))
        .when(c("payments_since") >= 4)
        .then(pl.lit(OverdueType.SEVERE.value))
    )
    return (
        o.with_columns(established_type=kind)
        .filter(c("established_type").is_not_null())
        .select("loan_id", "onset", "established_type")
    )


def type_matrix(frame: pl.DataFrame) -> np.ndarray:
    """The type model's inputs as floats (booleans 0/1, missing NaN), in ``TYPE_FEATURES`` order."""
    cols = [pl.col(c).cast(pl.Float64) for c in TYPE_FEATURES]
    return frame.select(cols).to_numpy()


@dataclass(frozen=True)
class TypeModel:
    """A multiclass LightGBM over ``TYPE_FEATURES``; classes in ``TYPES`` order."""

    booster: lgb.Booster

    def probabilities(self, frame: pl.DataFrame) -> np.ndarray:
        if frame.is_empty():
            return np.zeros((0, len(TYPES)))
        return np.asarray(self.booster.predict(type_matrix(frame)))

    def classify(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``overdue_type`` (most probable), ``type_confidence`` and each type's probability."""
        p = self.probabilities(frame)
        best = p.argmax(axis=1) if len(p) else np.zeros(0, dtype=int)
        return pl.DataFrame(
            {
                "overdue_type": np.array(TYPES, dtype=object)[best] if len(p) else np.array([], dtype=object),
                "type_confidence": p.max(axis=1) if len(p) else np.zeros(0),
                **{f"p_{t}": p[:, i] for i, t in enumerate(TYPES)},
            },
            schema={
                "overdue_type": pl.String,
                "type_confidence": pl.Float64,
                **{f"p_{t}": pl.Float64 for t in TYPES},
            },
        )


def fit_type_model(history: pl.DataFrame, labels: pl.DataFrame, *, seed: int, rounds: int = 200) -> TypeModel:
    """Learn the established type from the evidence on each decision day before it was established.

    Every decision day counts once, so a long case counts more than a short one: the queue the model
    classifies is a cross-section of overdue loan-days, where long cases are as common as that. (Counting
    each case once and each type equally instead cost 5 points of accuracy on the default book.)
    """
    rows = history.join(labels, on="loan_id").filter(pl.col("decided_on") >= pl.col("onset"))
    if rows.is_empty():
        raise ValueError("no decision days on cases with an established type")
    y = rows["established_type"].replace_strict({t: i for i, t in enumerate(TYPES)}, return_dtype=pl.Int64)
    data = lgb.Dataset(type_matrix(rows), label=y.to_numpy())
    booster = lgb.train(
        {
            "objective": "multiclass",
            "num_class": len(TYPES),
            "learning_rate": 0.05,
            "num_leaves": 15,
            "min_data_in_leaf": 40,
            "feature_fraction": 0.8,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "seed": seed,
            **REPRODUCIBLE,
            "verbose": -1,
        },
        data,
        num_boost_round=rounds,
    )
    return TypeModel(booster)


def cross_fitted_probabilities(history: pl.DataFrame, labels: pl.DataFrame, *, seed: int, folds: int = 3) -> np.ndarray:
    """Each decision day's type probabilities from a model that never saw its loan (by loan, ``folds`` folds).

    The effect model learns from these: probabilities a type model gives the cases it was fitted on are
    sharper than it gives a new case (its labels come from those cases' outcomes), and the effect model
    would learn to trust them more than scoring can.
    """
    fold = (history["loan_id"].hash(seed=seed) % folds).to_numpy()
    out = np.zeros((history.height, len(TYPES)))
    for k in range(folds):
        train = history.filter(pl.Series(fold != k))
        out[fold == k] = fit_type_model(train, labels, seed=seed).probabilities(history.filter(pl.Series(fold == k)))
    return out
