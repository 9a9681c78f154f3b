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
from typing import TYPE_CHECKING

import lightgbm as lgb
import numpy as np
import polars as pl

from risk.contract import AgreementKind, CloseReason, Outcome, OverdueType
from risk.delinquency import instalment_ledger
from risk.policy.evidence import latest_observed

if TYPE_CHECKING:
    from risk.models.compiled import CompiledBooster

TYPES: tuple[str, ...] = tuple(t.value for t in OverdueType)
# every policy model trains on one thread, row-wise and deterministic: the same log and seed give the same models
# on any machine. One thread, not two: these models are small (thousands of decision days), and two threads spend
# their time waking each other at OpenMP's barriers, asleep under the passive wait the CLI sets (risk.cli). The trees
# are the same on one thread or two; `risk policy` took 10.7 s against 28.9 s on the tests' 6,000-loan book and 40 s
# against 46 s on the default book.
REPRODUCIBLE = {"num_threads": 1, "deterministic": True, "force_row_wise": True}
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


def _episodes(ledger: pl.LazyFrame, data_as_of: dt.date) -> pl.LazyFrame:
    """Every spell of lateness per loan: onset, worst lateness, whether still open, and the day it ended.

    An instalment more than ``LATE_DAYS`` late starts a new episode when it falls due after every earlier
    late one was paid; otherwise it belongs to the running one. A loan paid a few days late once and
    delinquent in earnest a year later has two episodes, not one from the first to the last.
    """
    end = pl.coalesce("paid_on", pl.lit(data_as_of))
    return (
        ledger.with_columns(late=(end - pl.col("due_date")).dt.total_days(), end=end)
        .filter(pl.col("late") > LATE_DAYS)
        .sort("loan_id", "due_date")
        .with_columns(before=pl.col("end").cum_max().shift(1).over("loan_id"))
        .with_columns(
            episode=(pl.col("before").is_null() | (pl.col("due_date") > pl.col("before")))
            .cast(pl.Int32)
            .cum_sum()
            .over("loan_id")
        )
        .group_by("loan_id", "episode")
        .agg(
            onset=pl.col("due_date").min(),
            worst_late=pl.col("late").max(),
            still_open=pl.col("paid_on").is_null().any(),
            ended_on=pl.col("paid_on").max(),
        )
        .with_columns(ended_on=pl.when(pl.col("still_open")).then(None).otherwise(pl.col("ended_on")))
    )


def _own_payments(
    repayments: pl.LazyFrame, episodes: pl.LazyFrame, agreements: pl.LazyFrame | None, data_as_of: dt.date
) -> pl.LazyFrame:
    """Per episode: payments after the onset up to the day it ended, in all and outside a running plan.

    A plan's monthly instalments are the plan's doing, whoever signed it; what a borrower pays of their own
    accord while past due is what tells the severe, who pay a little now and then.
    """
    on = pl.col("paid_at").dt.date()
    rows = (
        repayments.join(episodes.select("loan_id", "onset", "ended_on"), on="loan_id")
        .filter(on > pl.col("onset"), on <= pl.coalesce("ended_on", pl.lit(data_as_of)))
        .select("loan_id", "amount", paid_on=on)
        .with_row_index("row")
    )
    if agreements is None:
        in_plan = rows.filter(pl.lit(False)).select("row")
    else:
        plans = agreements.filter(pl.col("kind") == AgreementKind.INSTALMENT_PLAN.value).select(
            "loan_id", start=pl.col("signed_at").dt.date(), stop=pl.coalesce("status_on", pl.lit(data_as_of))
        )
        in_plan = (
            rows.join(plans, on="loan_id")
            .filter(pl.col("paid_on") >= pl.col("start"), pl.col("paid_on") <= pl.col("stop"))
            .select("row")
            .unique()
        )
    return (
        rows.join(in_plan.with_columns(in_plan=pl.lit(True)), on="row", how="left")
        .group_by("loan_id")
        .agg(
            paid_since=pl.col("amount").sum(),
            payments_since=pl.len(),
            own_payments=pl.col("in_plan").is_null().sum(),
        )
    )


def _episode_outcomes(tables: Mapping[str, pl.DataFrame], data_as_of: dt.date, settle_days: int) -> pl.DataFrame:
    """Per loan, its worst episode at least ``settle_days`` old: onset, end, payments in it, and the case's end.

    The worst episode (the latest of equals) is the one whose outcome tells the type; payments are
    counted from its onset to the day it ended, so instalments paid on time after a cure do not pass for
    paying a little at a time.
    """
    t = {k: v.lazy() for k, v in tables.items()}
    ledger = instalment_ledger(t["loans"], t["schedule"], t["repayments"])
    episodes = (
        _episodes(ledger, data_as_of)
        .filter(pl.col("onset") <= data_as_of - dt.timedelta(days=settle_days))
        .sort("loan_id", "worst_late", "onset", descending=[False, True, True])
        .group_by("loan_id")
        .first()
        .drop("episode")
    )
    paid = _own_payments(t["repayments"], episodes, t.get("agreements"), data_as_of)
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
        debts = t["borrower_profiles"].group_by("borrower_id").agg(latest_observed("other_platform_loans"))
        out = out.join(debts, on="borrower_id", how="left")
    else:
        out = out.with_columns(other_platform_loans=pl.lit(None, dtype=pl.Int64))
    counts = ("paid_since", "payments_since", "own_payments", "hardship", "refused", "unreachable", "plans")
    return out.with_columns(
        pl.col(*counts).fill_null(0), pl.col("uncollectable", "judged_empty").fill_null(False)
    ).collect()


def established_types(
    tables: Mapping[str, pl.DataFrame], *, data_as_of: dt.date, settle_days: int = 180
) -> pl.DataFrame:
    """The type each loan's worst episode at least ``settle_days`` old established by its outcome.

    First match: cured within 90 days with no agreement: temporary; a judgment that found nothing or a
    case closed as uncollectable: insolvent; a lump sum of half the principal in at most two payments,
    or refusals or evasion with at most one hardship report: malicious; three or more payments of their
    own while past due (a plan's instalments are not theirs): severe; hardship reported twice and under
    30% of the principal paid, or three other platforms' loans and under half paid: insolvent. Cases that
    fit none stay unlabelled. Payments count from the onset to the day the episode ended (``ended_on``,
    null while open). The severe come before the hardship rules: a borrower who keeps paying a little is
    not one who cannot pay, though both report hardship (docs/collections_policy.md, section 2).
    """
    c = pl.col
    o = _episode_outcomes(tables, data_as_of, settle_days)
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
        .when(c("own_payments") >= 3)
        .then(pl.lit(OverdueType.SEVERE.value))
        .when((c("hardship") >= 2) & (paid_share < 0.3))
        .then(pl.lit(OverdueType.INSOLVENT.value))
        .when((c("other_platform_loans").fill_null(0) >= 3) & (paid_share < 0.5))
        .then(pl.lit(OverdueType.INSOLVENT.value))
    )
    return (
        o.with_columns(established_type=kind)
        .filter(c("established_type").is_not_null())
        .select("loan_id", "onset", "ended_on", "established_type")
    )


def type_matrix(frame: pl.DataFrame) -> np.ndarray:
    """The type model's inputs as floats (booleans 0/1, missing NaN), in ``TYPE_FEATURES`` order."""
    cols = [pl.col(c).cast(pl.Float64) for c in TYPE_FEATURES]
    return frame.select(cols).to_numpy()


def booster_predict(booster: lgb.Booster, compiled: CompiledBooster | None, X: np.ndarray) -> np.ndarray:
    """``booster``'s prediction for ``X``, through its compiled copy when there is one (the same, bit for bit)."""
    return np.asarray(compiled.predict_matrix(X) if compiled is not None else booster.predict(X))


@dataclass(frozen=True)
class TypeModel:
    """A multiclass LightGBM over ``TYPE_FEATURES``; classes in ``TYPES`` order. ``compiled``: the booster's
    compiled copy (:meth:`risk.policy.fit.PolicyModels.compiled`), which predicts in its place."""

    booster: lgb.Booster
    compiled: CompiledBooster | None = None

    def probabilities(self, frame: pl.DataFrame) -> np.ndarray:
        if frame.is_empty():
            return np.zeros((0, len(TYPES)))
        return booster_predict(self.booster, self.compiled, type_matrix(frame))

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


def fit_type_model(history: pl.DataFrame, labels: pl.DataFrame, *, seed: int, rounds: int = 100) -> TypeModel:
    """Learn the established type from the evidence on each decision day of the episode that established it.

    ``labels`` is :func:`established_types`' frame; a decision day counts from the episode's onset to the
    day it ended (a later spell of lateness is another episode, with a type of its own). Every decision day
    counts once, so a long case counts more than a short one: the queue the model classifies is a
    cross-section of overdue loan-days, where long cases are as common as that. (Counting each case once
    and each type equally instead cost 5 points of accuracy on the default book.) The labels are noisy
    (about one case in three that is not temporary is established as another type), so the model stops
    at ``rounds`` = 100: more rounds learn the noise (a point of accuracy lost at 200 on past days' queues).
    """
    c = pl.col
    rows = history.join(labels, on="loan_id").filter(
        c("decided_on") >= c("onset"), c("ended_on").is_null() | (c("decided_on") <= c("ended_on"))
    )
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
