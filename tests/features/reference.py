"""The features as first written: every (loan, as_of) pair expanded against all of the loan's rows.

Slow (memory-bound) and obviously right, so it stays as the specification the fast lookups in
:mod:`risk.features.build` are held to, column for column (tests/features/test_lookups.py).
"""

from __future__ import annotations

import polars as pl

from risk.delinquency import days_past_due_expr, paid_by


def repayment_state_by_expansion(
    pairs: pl.LazyFrame, ledger: pl.LazyFrame, payments: pl.LazyFrame, *, grace_days: int
) -> pl.LazyFrame:
    """The first release's repayment state: every (loan, as_of) pair joined to every instalment and payment."""
    a = pl.col("as_of")
    grace = pl.duration(days=grace_days)
    # last day instalment k was unpaid within history up to as_of
    unpaid_until = pl.min_horizontal((pl.col("paid_on") - pl.duration(days=1)).fill_null(a), a)
    overdue_days = pl.when(unpaid_until > pl.col("due_date")).then((unpaid_until - pl.col("due_date")).dt.total_days())

    def max_dpd(days: int) -> pl.Expr:
        in_window = unpaid_until >= a - pl.duration(days=days - 1)
        return overdue_days.filter(in_window).max().fill_null(0)

    due_by = pl.col("due_date") <= a
    by_instalment = (
        pairs.select("loan_id", "as_of")
        .join(ledger, on="loan_id")
        .group_by("loan_id", "as_of")
        .agg(
            days_past_due=days_past_due_expr(a).max(),
            max_dpd_3m=max_dpd(90),
            max_dpd_6m=max_dpd(180),
            max_dpd_12m=max_dpd(365),
            late_instalments=(
                (pl.col("due_date") + grace < a)
                & (pl.col("paid_on").is_null() | (pl.col("paid_on") > pl.col("due_date") + grace))
            ).sum(),
            missed_instalments=((pl.col("due_date") + grace < a) & ~paid_by(a)).sum(),
            # money sums are rounded to the fen so the order of addition (which differs between engines
            # and partitions) cannot turn an exact 0.00 of arrears into 1e-13
            due_total=pl.col("amount_due").filter(due_by).sum().round(2),
            due_3m=pl.col("amount_due").filter(due_by & (pl.col("due_date") > a - pl.duration(days=90))).sum().round(2),
            outstanding_principal=pl.col("principal_due").filter(~paid_by(a)).sum().round(2),
            remaining_term=(pl.col("due_date") > a).sum(),
            term=pl.len(),
            instalment_amount=pl.col("amount_due").sort_by("instalment_no").first(),
        )
    )
    by_payment = (
        pairs.select("loan_id", "as_of")
        .join(payments, on="loan_id")
        .filter(pl.col("paid_on") <= a)
        .join(by_instalment.select("loan_id", "as_of", "instalment_amount"), on=["loan_id", "as_of"])
        .group_by("loan_id", "as_of")
        .agg(
            paid_total=pl.col("amount").sum().round(2),
            paid_3m=pl.col("amount").filter(pl.col("paid_on") > a - pl.duration(days=90)).sum().round(2),
            last_paid_on=pl.col("paid_on").max(),
            partial_payments=(pl.col("amount") < 0.95 * pl.col("instalment_amount")).sum(),
        )
    )
    return (
        by_instalment.join(by_payment, on=["loan_id", "as_of"], how="left")
        .with_columns(
            pl.col("paid_total", "paid_3m").fill_null(0.0),
            pl.col("partial_payments").fill_null(0).cast(pl.Int64),
        )
        .with_columns(
            arrears_amount=(pl.col("due_total") - pl.col("paid_total")).clip(lower_bound=0.0),
            prepaid_amount=(pl.col("paid_total") - pl.col("due_total")).clip(lower_bound=0.0),
            paid_to_due_3m=pl.when(pl.col("due_3m") > 0).then(pl.col("paid_3m") / pl.col("due_3m")),
            paid_to_due_all=pl.when(pl.col("due_total") > 0).then(pl.col("paid_total") / pl.col("due_total")),
            term_elapsed_share=1.0 - pl.col("remaining_term") / pl.col("term"),
        )
        .drop("due_total", "due_3m", "paid_total", "paid_3m", "term")
    )
