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
from risk.delinquency import FAR_FUTURE, days_past_due_at, days_past_due_expr, reaged_days_past_due

APPLICATION_LABELS = ("default_12m",)
LOAN_LABELS = ("dpd30_next_90d", "cure_30d")


# Where each loan model is labelled is where it scores: one definition for training, scoring and the queue.
def early_warning_scope(days_past_due: pl.Expr, lp: LabelParams) -> pl.Expr:
    """The loans the early-warning model learns from and scores: below ``early_warning_dpd`` days past due
    (current loans included); null where days past due is unknown."""
    return days_past_due < lp.early_warning_dpd


def cure_scope(days_past_due: pl.Expr, lp: LabelParams) -> pl.Expr:
    """The loans the cure model learns from and scores: 1 to ``cure_max_dpd`` days past due (催收中);
    null where days past due is unknown."""
    return (days_past_due >= 1) & (days_past_due <= lp.cure_max_dpd)


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


def loan_labels(
    pairs: pl.LazyFrame,
    ledger: pl.LazyFrame,
    lp: LabelParams,
    *,
    data_as_of: dt.date,
    reageing: pl.LazyFrame | None = None,
    payments: pl.LazyFrame | None = None,
    grace_days: int = 0,
) -> pl.LazyFrame:
    """``dpd30_next_90d`` and ``cure_30d`` for each (loan_id, as_of) pair.

    With ``reageing`` (the plans' and extensions' windows; ``payments`` the daily payments), a pair whose loan is
    re-aged at as_of or within the horizon is labelled day by day from the days past due in force each day
    (the agreed schedule while the agreement holds, the contract's before and after), as the features see it.
    """
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
    if reageing is not None and payments is not None:
        state = _reaged_state(state, pairs, ledger, reageing, payments, lp, grace_days=grace_days)
    ew_ok = early_warning_scope(pl.col("dpd"), lp) & (a + ew_days <= data_as_of)
    cure_ok = cure_scope(pl.col("dpd"), lp) & (a + cure_days <= data_as_of)
    return state.select(
        "loan_id",
        "as_of",
        dpd30_next_90d=pl.when(ew_ok).then(pl.col("ew_bad").cast(pl.Int8)),
        cure_30d=pl.when(cure_ok).then(pl.col("cured").cast(pl.Int8)),
    )


def _reaged_state(
    state: pl.LazyFrame,
    pairs: pl.LazyFrame,
    ledger: pl.LazyFrame,
    windows: pl.LazyFrame,
    payments: pl.LazyFrame,
    lp: LabelParams,
    *,
    grace_days: int,
) -> pl.LazyFrame:
    """``state`` (dpd, ew_bad, cured per pair) recomputed day by day for the pairs an agreement re-ages at
    as_of or within the horizon; every other pair keeps its closed-form state."""
    c = pl.col
    horizon = max(lp.early_warning_horizon_days, lp.cure_horizon_days)
    a = c("as_of")
    touched = (
        pairs.select("loan_id", "as_of")
        .join(windows.select("loan_id", "signed_on", "ends_on"), on="loan_id")
        .filter(c("signed_on") <= a + pl.duration(days=horizon), c("ends_on").is_null() | (c("ends_on") > a))
        .select("loan_id", "as_of")
        .unique()
    )
    days = touched.with_columns(day=pl.date_ranges(a, a + pl.duration(days=horizon))).explode("day")
    on_day = days.select("loan_id", as_of=c("day")).unique()
    contract = days_past_due_at(ledger, on_day)
    agreed = reaged_days_past_due(ledger, payments, windows, on_day, grace_days=grace_days).rename(
        {"days_past_due": "agreed"}
    )
    daily = contract.join(agreed, on=["loan_id", "as_of"], how="left").select(
        "loan_id", day="as_of", dpd=pl.coalesce("agreed", "days_past_due")
    )
    offset = (c("day") - a).dt.total_days()
    redone = (
        days.join(daily, on=["loan_id", "day"])
        .group_by("loan_id", "as_of")
        .agg(
            dpd=c("dpd").filter(offset == 0).first(),
            ew_bad=(
                (offset >= 1) & (offset <= lp.early_warning_horizon_days) & (c("dpd") >= lp.early_warning_dpd)
            ).any(),
            cured=((offset >= 1) & (offset <= lp.cure_horizon_days) & (c("dpd") == 0)).any(),
        )
    )
    return (
        state.join(redone, on=["loan_id", "as_of"], how="left", suffix="_reaged")
        .with_columns(
            dpd=pl.coalesce("dpd_reaged", "dpd"),
            ew_bad=pl.coalesce("ew_bad_reaged", "ew_bad"),
            cured=pl.coalesce("cured_reaged", "cured"),
        )
        .drop("dpd_reaged", "ew_bad_reaged", "cured_reaged")
    )
