"""Days past due from the schedule and the repayments: the instalment ledger every stage shares.

Payments are allocated waterfall-style to the oldest unpaid instalment first (whatever a payment's
``instalment_no`` says); an instalment counts as paid once its unpaid amount is under
``PAID_TOLERANCE`` RMB. Days past due (逾期天数) at the end of day ``t`` is ``t`` minus the due date of
the oldest instalment not yet paid, 0 when none is overdue.

The ledger records, for every instalment, the day it became paid (``paid_on``, null if never). That
day depends only on payments up to it, so comparing it with an ``as_of`` is point-in-time safe: a
record dated after ``as_of`` can move ``paid_on`` only between dates after ``as_of``.
"""

from __future__ import annotations

import polars as pl

PAID_TOLERANCE = 1.0  # RMB
FAR_FUTURE = pl.date(9999, 12, 31)


def daily_payments(repayments: pl.LazyFrame) -> pl.LazyFrame:
    """Payments summed per loan and day, with the running total paid (``cum_paid``)."""
    return (
        repayments.group_by("loan_id", pl.col("paid_at").dt.date().alias("paid_on"))
        .agg(pl.col("amount").sum(), pl.len().alias("payments"))
        .sort("loan_id", "paid_on")
        .with_columns(cum_paid=pl.col("amount").cum_sum().over("loan_id"))
    )


def closed_on(loans: pl.LazyFrame, schedule: pl.LazyFrame, payments: pl.LazyFrame) -> pl.LazyFrame:
    """The day each loan was settled: all principal plus the interest already due were paid.

    Covers both the last regular instalment and an early repayment (提前还款), which waives future
    interest. Loans never settled are absent.
    """
    interest = (
        schedule.sort("loan_id", "due_date")
        .select(
            "loan_id",
            "due_date",
            pl.col("interest_due").cum_sum().over("loan_id").alias("cum_interest_due"),
        )
        .sort("due_date")
    )
    return (
        payments.sort("paid_on")
        .join_asof(
            interest, left_on="paid_on", right_on="due_date", by="loan_id", strategy="backward", check_sortedness=False
        )
        .join(loans.select("loan_id", "principal"), on="loan_id")
        .filter(pl.col("cum_paid") >= pl.col("principal") + pl.col("cum_interest_due").fill_null(0.0) - PAID_TOLERANCE)
        .group_by("loan_id")
        .agg(pl.col("paid_on").min().alias("closed_on"))
    )


def instalment_ledger(loans: pl.LazyFrame, schedule: pl.LazyFrame, repayments: pl.LazyFrame) -> pl.LazyFrame:
    """One row per instalment: amounts due, running totals and the day it became paid.

    Columns: loan_id, instalment_no, due_date, amount_due, principal_due, cum_due, paid_on (null when
    never paid), closed_on (the loan's settlement day, null when open).
    """
    payments = daily_payments(repayments)
    sched = (
        schedule.select("loan_id", "instalment_no", "due_date", "principal_due", "interest_due")
        .sort("loan_id", "instalment_no")
        .with_columns(amount_due=pl.col("principal_due") + pl.col("interest_due"))
        .with_columns(cum_due=pl.col("amount_due").cum_sum().over("loan_id"))
        .with_columns(target=pl.col("cum_due") - PAID_TOLERANCE)
    )
    paid = (
        sched.sort("target")
        .join_asof(
            payments.select("loan_id", "paid_on", "cum_paid").sort("cum_paid"),
            left_on="target",
            right_on="cum_paid",
            by="loan_id",
            strategy="forward",
            check_sortedness=False,
        )
        .select("loan_id", "instalment_no", "paid_on")
    )
    closed = closed_on(loans, schedule, payments)
    return (
        sched.join(paid, on=["loan_id", "instalment_no"], how="left")
        .join(closed, on="loan_id", how="left")
        .with_columns(
            # once the loan is settled, every instalment still open counts as paid that day
            paid_on=pl.min_horizontal(
                pl.col("paid_on").fill_null(FAR_FUTURE), pl.col("closed_on").fill_null(FAR_FUTURE)
            )
        )
        .with_columns(paid_on=pl.when(pl.col("paid_on") == FAR_FUTURE).then(None).otherwise("paid_on"))
        .select(
            "loan_id",
            "instalment_no",
            "due_date",
            "amount_due",
            "principal_due",
            "cum_due",
            "paid_on",
            "closed_on",
        )
        .sort("loan_id", "instalment_no")
    )


def paid_by(as_of: pl.Expr) -> pl.Expr:
    """True when the ledger row's instalment was paid by the end of day ``as_of``."""
    return pl.col("paid_on").is_not_null() & (pl.col("paid_on") <= as_of)


def days_past_due_expr(as_of: pl.Expr) -> pl.Expr:
    """Per ledger row: how many days this instalment is overdue at the end of ``as_of`` (0 if not)."""
    overdue = (pl.col("due_date") < as_of) & ~paid_by(as_of)
    return pl.when(overdue).then((as_of - pl.col("due_date")).dt.total_days()).otherwise(0)


def days_past_due_at(ledger: pl.LazyFrame, pairs: pl.LazyFrame) -> pl.LazyFrame:
    """Days past due for each (loan_id, as_of) pair in ``pairs``."""
    return (
        pairs.select("loan_id", "as_of")
        .join(ledger.select("loan_id", "due_date", "paid_on"), on="loan_id", how="left")
        .group_by("loan_id", "as_of")
        .agg(days_past_due_expr(pl.col("as_of")).max().fill_null(0).alias("days_past_due"))
    )
