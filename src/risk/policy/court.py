"""Litigation priced from the book's own court outcomes (诉讼经济性), not from invented recovery rates.

The claim is what a court would award: the unpaid principal plus interest on it for the days overdue at
the contract's rate, capped at the rate courts support (``policy.court_rate_cap``, 24% a year). What a
judgment recovers is learned from the legal cases the book already saw through (judged, and closed or a
year past judgment): the share of the claim recovered, as the mean of the cases whose borrower had the
same assets a judgment can reach when the suit was filed (property, an employer paying social insurance).
A suit's expected net value is that share of the claim, discounted over the book's own median time from
filing to recovery, minus court and lawyer fees.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from risk.config import LegalParams
from risk.policy.evidence import ASSETS, latest_observed

# what a judgment can reach (可供执行的财产): property, or wages an employer pays social insurance on (社保)
RECOVERY_CELLS = ("property_owned", "social_insurance")
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
            .group_by("case_id")
            .agg(latest_observed(x) for x in ASSETS)
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


@dataclass(frozen=True)
class RecoveryModel:
    """Share of the claim a judgment recovers, and the book's median months from filing to recovery.

    ``cells`` holds, per asset cell (:data:`RECOVERY_CELLS`, unknown a cell of its own), the closed cases and
    their mean share; ``None`` (too few closed cases) prices every suit at the book's mean share.
    """

    cells: pl.DataFrame | None
    mean_share: float
    months_to_recovery: float

    def share(self, frame: pl.DataFrame) -> np.ndarray:
        if self.cells is None or frame.is_empty():
            return np.full(frame.height, self.mean_share)
        keys = frame.select(pl.col(x).cast(pl.Boolean) for x in RECOVERY_CELLS)
        cells = self.cells.select(*RECOVERY_CELLS, "share")
        # a cell the closed cases never showed is priced at the book's mean (a cell of no cases, shrunk)
        shares = keys.join(cells, on=RECOVERY_CELLS, how="left", nulls_equal=True, maintain_order="left")["share"]
        return shares.fill_null(self.mean_share).to_numpy()

    def economics(self, frame: pl.DataFrame, legal: LegalParams, *, rate_cap: float) -> pl.DataFrame:
        """``frame`` with the claim, the suit's expected discounted recovery, its cost and its net value."""
        discount = (1 + legal.annual_discount_rate) ** (self.months_to_recovery / 12)
        out = frame.with_columns(court_claim=claim(frame, rate_cap=rate_cap))
        share = self.share(out)
        return out.with_columns(
            litigation_expected_recovery=pl.Series(share) * pl.col("court_claim") / discount,
            litigation_cost=legal.court_fee_fixed + legal.court_fee_rate * pl.col("court_claim") + legal.lawyer_fee,
        ).with_columns(litigation_net_value=pl.col("litigation_expected_recovery") - pl.col("litigation_cost"))


def recovery_cells(cases: pl.DataFrame) -> pl.DataFrame:
    """Per asset cell, the closed cases, their mean share, and that mean weighted by its credibility.

    A few hundred cases support a few cells, not a learned surface: on the default book, over 30 fold
    assignments, the cells' worst cross-validated decile was on average 11.5 points off, a shallow LightGBM's
    on the assets, income, debts and claim 16.5, and the cells' squared error was the lower
    (docs/collections_policy.md). A vehicle, other platforms' loans, income and debts moved the share by less
    than the noise, so they split no cell.

    A cell's ``share`` leans on the book's mean as much as its cases are few and noisy (Bühlmann-Straub
    credibility): ``n / (n + k)`` of the cell's mean and the rest the book's, where ``k`` is the variance of a
    case's share within its cell over the variance of the cells' true means, both estimated from the cases.
    Where the cells differ by no more than their noise, every cell gets the book's mean.
    """
    c = pl.col
    book = float(cases["recovered_share"].mean())
    by_cell = cases.group_by(RECOVERY_CELLS).agg(
        cases=pl.len(),
        observed=c("recovered_share").mean(),
        squares=((c("recovered_share") - c("recovered_share").mean()) ** 2).sum(),
    )
    k = _prior_cases(by_cell, book)
    weight = c("cases") / (c("cases") + k)  # k infinite: weight 0
    return (
        by_cell.with_columns(share=weight * c("observed") + (1 - weight) * book)
        .drop("squares")
        .sort(RECOVERY_CELLS, nulls_last=True)
    )


def _prior_cases(by_cell: pl.DataFrame, book: float) -> float:
    """How many cases at the book's mean a cell's own cases are weighed against (Bühlmann-Straub ``k``)."""
    n, observed = by_cell["cases"].to_numpy().astype(float), by_cell["observed"].to_numpy()
    total, groups = n.sum(), n.size
    if groups < 2:
        return 0.0  # one cell: its mean is the book's
    within = by_cell["squares"].sum() / max(total - groups, 1.0)
    between = ((n * (observed - book) ** 2).sum() - (groups - 1) * within) / (total - (n**2).sum() / total)
    return within / between if between > 0 else float("inf")


def _rounded(row: dict[str, object]) -> dict[str, object]:
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}


def _interval(observed: np.ndarray, rng: np.random.Generator, *, draws: int = 2000) -> tuple[float, float]:
    """The 90% bootstrap interval of a mean: how far a decile's observed share wanders from sampling alone."""
    means = rng.choice(observed, (draws, observed.size)).mean(axis=1)
    low, high = np.quantile(means, [0.05, 0.95])
    return float(low), float(high)


def _calibration(predicted: np.ndarray, observed: pl.Series, *, seed: int) -> dict[str, object]:
    """Predicted against observed share by decile of the predictions, each observed mean with its 90% interval.

    With 27 cases a decile (the default book) an observed mean's sampling error is itself 6-7 points: a decile
    counts as within its interval when its mean prediction lies in the bootstrap interval of its observed mean.
    Tied predictions fall into deciles in the order they come (sort the cases first for a stable split).
    """
    n = predicted.size
    frame = pl.DataFrame({"predicted": predicted, "observed": observed}).with_columns(
        decile=(pl.col("predicted").rank("ordinal") * 10 / (n + 1)).floor().cast(pl.Int64) + 1
    )
    rng = np.random.default_rng(seed)
    rows = []
    for (decile,), part in frame.sort("decile").group_by("decile", maintain_order=True):
        low, high = _interval(part["observed"].to_numpy(), rng)
        rows.append(
            {
                "decile": decile,
                "cases": part.height,
                "predicted": part["predicted"].mean(),
                "observed": part["observed"].mean(),
                "observed_low": low,
                "observed_high": high,
            }
        )
    by_decile = pl.DataFrame(rows)
    gap = (by_decile["predicted"] - by_decile["observed"]).abs()
    inside = by_decile["predicted"].is_between(by_decile["observed_low"], by_decile["observed_high"])
    return {
        "calibration_by_decile": [_rounded(row) for row in by_decile.iter_rows(named=True)],
        "max_decile_gap": round(float(gap.max()), 3),
        "mean_decile_gap": round(float((gap * by_decile["cases"]).sum() / n), 3),
        "deciles_within_5_points": int((gap <= 0.05).sum()),
        "deciles_within_interval": int(inside.sum()),
        "share_mse": round(float(((predicted - observed.to_numpy()) ** 2).mean()), 4),
    }


def fit_recovery(cases: pl.DataFrame, *, seed: int, folds: int = 5) -> tuple[RecoveryModel, dict[str, object]]:
    """The recovery model and its calibration by decile on the closed cases (cross-validated predictions)."""
    months = cases["months_to_recovery"].drop_nulls()
    median_months = float(months.median()) if months.len() else 12.0
    mean_share = float(cases["recovered_share"].mean()) if cases.height else 0.0
    if cases.height < MIN_CASES:
        figures = {"cases": cases.height, "note": f"fewer than {MIN_CASES} closed judged cases: the book's mean share"}
        return RecoveryModel(None, mean_share, median_months), figures
    cases = cases.sort("case_id")  # tied predictions split into deciles by case id, whatever order they came in
    fold = (cases["case_id"].hash(seed=seed) % folds).to_numpy()
    predicted = np.zeros(cases.height)
    for k in range(folds):
        train = cases.filter(pl.Series(fold != k))
        model = RecoveryModel(recovery_cells(train), float(train["recovered_share"].mean()), median_months)
        predicted[fold == k] = model.share(cases.filter(pl.Series(fold == k)))
    cells = recovery_cells(cases)
    figures = {
        "cases": cases.height,
        "mean_recovered_share": round(mean_share, 3),
        "median_months_to_recovery": round(median_months, 1),
        "recovery_by_assets": [_rounded(row) for row in cells.iter_rows(named=True)],
        **_calibration(predicted, cases["recovered_share"], seed=seed),
    }
    return RecoveryModel(cells, mean_share, median_months), figures
