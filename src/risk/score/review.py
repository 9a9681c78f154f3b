"""The review queue (贷前审核队列): every pending application with PD, grade, points and a decision."""

from __future__ import annotations

import datetime as dt

import polars as pl

from risk.config import ScoreParams
from risk.contract import Decision

GRADES = ("A", "B", "C", "D", "E")


def grade(pd_expr: pl.Expr, cutoffs: tuple[float, ...]) -> pl.Expr:
    """Risk grade A..E from PD upper bounds: below cutoffs[0] is A, at or above cutoffs[-1] is E."""
    expr = pl.lit(GRADES[-1])
    for g, bound in reversed(list(zip(GRADES[:-1], cutoffs, strict=True))):
        expr = pl.when(pd_expr < bound).then(pl.lit(g)).otherwise(expr)
    return expr


def decide(pd_expr: pl.Expr, params: ScoreParams) -> pl.Expr:
    """Approve below ``approve_below``, decline at or above ``decline_above``, manual review between."""
    return (
        pl.when(pd_expr < params.approve_below)
        .then(pl.lit(Decision.APPROVED.value))
        .when(pd_expr >= params.decline_above)
        .then(pl.lit(Decision.DECLINED.value))
        .otherwise(pl.lit("manual_review"))
    )


def build_review_queue(scored: pl.DataFrame, params: ScoreParams, *, as_of: dt.date) -> pl.DataFrame:
    """Pending applications with ``pd``, ``risk_grade``, ``decision`` and a manual-review order.

    Manual reviews come first, the largest expected loss (PD × requested amount × LGD) first, so a
    reviewer's first hour goes where a wrong call costs most.
    """
    c = pl.col
    out = scored.with_columns(
        risk_grade=grade(c("pd"), params.grade_cutoffs),
        recommended_decision=decide(c("pd"), params),
        expected_loss=c("pd") * c("requested_amount") * params.lgd,
    )
    review = c("recommended_decision") == "manual_review"
    return out.sort([review, "expected_loss", "application_id"], descending=[True, True, False]).with_columns(
        review_order=pl.when(review).then(pl.int_range(1, pl.len() + 1, dtype=pl.Int64)),
        as_of=pl.lit(as_of),
    )
