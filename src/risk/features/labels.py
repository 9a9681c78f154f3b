"""Labels: what happens after as_of. A snapshot whose horizon is not fully observed gets a null label.

- ``default_12m``: 90+ days past due within 12 months of origination (by maturity + 90 days for
  shorter loans), for application PD;
- ``dpd30_next_90d``: for loans 0-29 days past due at as_of, reaching 30+ within 90 days (early warning);
- ``cure_30d``: for loans 1-89 days past due at as_of, back to current within 30 days (collections).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from risk.config import LabelParams
from risk.delinquency import FAR_FUTURE, days_past_due_expr

APPLICATION_LABELS = ("default_12m",)
LOAN_LABELS = ("dpd30_next_90d", "cure_30d")


def _unpaid_at(day: pl.Expr) -> pl.Expr:
    return pl.col("paid_on").is_null() | (pl.col("paid_on") > day)


def default_labels(loans: pl.LazyFrame, ledger: pl.LazyFrame, lp: LabelParams, *, data_as_of: dt.date) -> pl.LazyFrame:
    """``default_12m`` per loan; null when the horizon ends after ``data_as_of``."""
    dpd = pl.duration(days=lp.default_dpd)
    horizon_end = pl.min_horizontal(
        pl.col("originated_on").dt.offset_by(f"{lp.default_horizon_months}mo"),
        pl.col("originated_on").dt.offset_by(pl.format("{}mo", pl.col("term_months"))) + dpd,
    )
    return (
        loans.select("loan_id", "originated_on", "term_months")
        .with_columns(horizon_end=horizon_end)
        .join(ledger.select("loan_id", "due_date", "paid_on"), on="loan_id")
        .group_by("loan_id")
        .agg(
            bad=((pl.col("due_date") + dpd <= pl.col("horizon_end")) & _unpaid_at(pl.col("due_date") + dpd)).any(),
            observed=(pl.col("horizon_end") <= data_as_of).first(),
        )
        .select(
            "loan_id",
            default_12m=pl.when(pl.col("observed")).then(pl.col("bad").cast(pl.Int8)),
        )
    )


def loan_labels(pairs: pl.LazyFrame, ledger: pl.LazyFrame, lp: LabelParams, *, data_as_of: dt.date) -> pl.LazyFrame:
    """``dpd30_next_90d`` and ``cure_30d`` for each (loan_id, as_of) pair."""
    a = pl.col("as_of")
    ew_days = pl.duration(days=lp.early_warning_horizon_days)
    cure_days = pl.duration(days=lp.cure_horizon_days)
    x = pl.duration(days=lp.early_warning_dpd)
    ledger = ledger.select(
        "loan_id",
        "due_date",
        "paid_on",
        next_due=pl.col("due_date").shift(-1).over("loan_id", order_by="due_date").fill_null(FAR_FUTURE),
        paid_through=pl.col("paid_on").fill_null(FAR_FUTURE).cum_max().over("loan_id", order_by="due_date"),
    )
    state = (
        pairs.select("loan_id", "as_of")
        .join(ledger, on="loan_id")
        .group_by("loan_id", "as_of")
        .agg(
            dpd=days_past_due_expr(a).max(),
            # the first day instalment k can have reached X days past due after as_of
            ew_bad=(
                (pl.col("due_date") + x <= a + ew_days)
                & _unpaid_at(pl.max_horizontal(pl.col("due_date") + x, a + pl.duration(days=1)))
            ).any(),
            # on some day t in (as_of, as_of + H], every instalment due before t was paid by t
            cured=(
                pl.max_horizontal(
                    pl.col("paid_through"), pl.col("due_date") + pl.duration(days=1), a + pl.duration(days=1)
                )
                <= pl.min_horizontal(pl.col("next_due"), a + cure_days)
            ).any(),
        )
    )
    ew_ok = (pl.col("dpd") < lp.early_warning_dpd) & (a + ew_days <= data_as_of)
    cure_ok = (pl.col("dpd") >= 1) & (pl.col("dpd") <= lp.cure_max_dpd) & (a + cure_days <= data_as_of)
    return state.select(
        "loan_id",
        "as_of",
        dpd30_next_90d=pl.when(ew_ok).then(pl.col("ew_bad").cast(pl.Int8)),
        cure_30d=pl.when(cure_ok).then(pl.col("cured").cast(pl.Int8)),
    )
