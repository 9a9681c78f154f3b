"""Litigation priced from the book's own court outcomes (诉讼经济性), not from invented recovery rates.

The claim is what a court would award: the unpaid principal plus interest on it for the days overdue at
the contract's rate, capped at the rate courts support (``policy.court_rate_cap``, 24% a year). What a
judgment recovers is learned from the legal cases the book already saw through (judged, and closed or a
year past judgment): the share of the claim recovered, from the borrower's assets, income and other
debts as known when the suit was filed. A suit's expected net value is that share of the claim,
discounted over the book's own median time from filing to recovery, minus court and lawyer fees.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import polars as pl

from risk.config import LegalParams
from risk.policy.types import REPRODUCIBLE

RECOVERY_FEATURES = (
    "property_owned",
    "vehicle_owned",
    "social_insurance",
    "other_platform_loans",
    "monthly_income",
    "existing_debt",
    "claim",
    "principal",
)
SETTLED_AFTER_DAYS = 365  # a judgment this old has recovered what it will
MIN_CASES = 30


def claim(frame: pl.DataFrame, *, rate_cap: float) -> pl.Expr:
    """What a court would award: unpaid principal plus capped interest on it for the days overdue."""
    rate = pl.min_horizontal(pl.col("annual_rate"), pl.lit(rate_cap))
    return pl.col("outstanding_principal") * (1.0 + rate * pl.col("days_past_due") / 365.0)


def closed_cases(tables: Mapping[str, pl.DataFrame], *, data_as_of: dt.date) -> pl.DataFrame:
    """Judged cases whose recovery is known, with the borrower's circumstances when the suit was filed."""
    c = pl.col
    cases = tables["legal_cases"].filter(
        c("judgment_on").is_not_null(),
        c("closed_on").is_not_null() | (c("judgment_on") <= data_as_of - dt.timedelta(days=SETTLED_AFTER_DAYS)),
        c("claim_amount") > 0,
    )
    loans = tables["loans"].select("loan_id", "borrower_id", "application_id", "principal")
    apps = tables["applications"].select("application_id", "monthly_income", "existing_debt")
    rows = cases.join(loans, on="loan_id").join(apps, on="application_id", how="left")
    if "borrower_profiles" in tables:
        seen = (
            rows.select("case_id", "borrower_id", "filed_on")
            .join(tables["borrower_profiles"], on="borrower_id")
            .filter(c("observed_on") <= c("filed_on"))
            .sort("observed_on")
            .group_by("case_id")
            .agg(
                c(x).drop_nulls().last()
                for x in ("property_owned", "vehicle_owned", "social_insurance", "other_platform_loans")
            )
        )
        rows = rows.join(seen, on="case_id", how="left")
    else:
        rows = rows.with_columns(
            *(pl.lit(None, dtype=pl.Boolean).alias(x) for x in ("property_owned", "vehicle_owned", "social_insurance")),
            other_platform_loans=pl.lit(None, dtype=pl.Int64),
        )
    months = (c("last_recovery_on") - c("filed_on")).dt.total_days() / 30.4
    return rows.with_columns(
        claim=c("claim_amount"),
        recovered_share=(c("recovered_amount").fill_null(0.0) / c("claim_amount")).clip(0.0, 1.0),
        months_to_recovery=pl.when(c("recovered_amount") > 0).then(months),
    )


def _matrix(frame: pl.DataFrame) -> np.ndarray:
    return frame.select(pl.col(x).cast(pl.Float64) for x in RECOVERY_FEATURES).to_numpy()


@dataclass(frozen=True)
class RecoveryModel:
    """Share of the claim a judgment recovers, and the book's median months from filing to recovery."""

    booster: lgb.Booster | None
    mean_share: float
    months_to_recovery: float

    def share(self, frame: pl.DataFrame) -> np.ndarray:
        if self.booster is None or frame.is_empty():
            return np.full(frame.height, self.mean_share)
        return np.clip(np.asarray(self.booster.predict(_matrix(frame))), 0.0, 1.0)

    def economics(self, frame: pl.DataFrame, legal: LegalParams, *, rate_cap: float) -> pl.DataFrame:
        """``frame`` with the claim, the suit's expected discounted recovery, its cost and its net value."""
        discount = (1 + legal.annual_discount_rate) ** (self.months_to_recovery / 12)
        out = frame.with_columns(court_claim=claim(frame, rate_cap=rate_cap))
        share = self.share(out.with_columns(claim=pl.col("court_claim")))
        return out.with_columns(
            litigation_expected_recovery=pl.Series(share) * pl.col("court_claim") / discount,
            litigation_cost=legal.court_fee_fixed + legal.court_fee_rate * pl.col("court_claim") + legal.lawyer_fee,
        ).with_columns(litigation_net_value=pl.col("litigation_expected_recovery") - pl.col("litigation_cost"))


def _train(rows: pl.DataFrame, seed: int) -> lgb.Booster:
    params = {
        "objective": "cross_entropy",
        "learning_rate": 0.05,
        "num_leaves": 3,  # a few hundred cases: shallow trees, or the top decile is promised what it never gets
        "min_data_in_leaf": 30,
        "seed": seed,
        **REPRODUCIBLE,
        "verbose": -1,
    }
    return lgb.train(params, lgb.Dataset(_matrix(rows), label=rows["recovered_share"].to_numpy()), 60)


def fit_recovery(cases: pl.DataFrame, *, seed: int, folds: int = 5) -> tuple[RecoveryModel, dict[str, object]]:
    """The recovery model and its calibration by decile on the closed cases (cross-validated predictions)."""
    months = cases["months_to_recovery"].drop_nulls()
    median_months = float(months.median()) if months.len() else 12.0
    mean_share = float(cases["recovered_share"].mean()) if cases.height else 0.0
    if cases.height < MIN_CASES:
        figures = {"cases": cases.height, "note": f"fewer than {MIN_CASES} closed judged cases: the book's mean share"}
        return RecoveryModel(None, mean_share, median_months), figures
    fold = (cases["case_id"].hash(seed=seed) % folds).to_numpy()
    predicted = np.zeros(cases.height)
    for k in range(folds):
        booster = _train(cases.filter(pl.Series(fold != k)), seed)
        predicted[fold == k] = np.clip(booster.predict(_matrix(cases.filter(pl.Series(fold == k)))), 0.0, 1.0)
    by_decile = (
        pl.DataFrame({"predicted": predicted, "observed": cases["recovered_share"]})
        .with_columns(decile=(pl.col("predicted").rank("ordinal") * 10 / (cases.height + 1)).floor().cast(pl.Int64) + 1)
        .group_by("decile")
        .agg(pl.len().alias("cases"), pl.col("predicted").mean(), pl.col("observed").mean())
        .sort("decile")
    )
    gap = (by_decile["predicted"] - by_decile["observed"]).abs()
    figures = {
        "cases": cases.height,
        "mean_recovered_share": round(mean_share, 3),
        "median_months_to_recovery": round(median_months, 1),
        "calibration_by_decile": [
            {k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}
            for row in by_decile.iter_rows(named=True)
        ],
        "max_decile_gap": round(float(gap.max()), 3),
        "deciles_within_5_points": int((gap <= 0.05).sum()),
    }
    return RecoveryModel(_train(cases, seed), mean_share, median_months), figures
