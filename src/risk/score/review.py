"""The review queue (贷前审核队列): every pending application with PD, grade, points and a decision.

The hard policy rules (:mod:`risk.score.review_rules`) are checked first; the PD decides only where none hits.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from risk.config import ScoreParams
from risk.contract import Decision
from risk.score.review_rules import DecidedBy, PolicyDecision, apply_review_rules

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
        .otherwise(pl.lit(PolicyDecision.MANUAL_REVIEW.value))
    )


def build_review_queue(scored: pl.DataFrame, params: ScoreParams, *, as_of: dt.date) -> pl.DataFrame:
    """Pending applications with ``pd``, ``risk_grade``, ``recommended_decision`` and a manual-review order.

    A policy rule that hits decides (``policy_rule``, ``policy_decision``, ``decided_by`` "policy_rule"),
    otherwise the PD does (``decided_by`` "model"); a rule never softens the PD's decision, so a rule's manual
    review leaves a PD decline declined (the most severe outcome wins, as in a decision engine's hierarchy).
    ``policy_not_checked`` names the rules the row's data could not check. ``scored`` needs the columns of
    :data:`~risk.score.review_rules.REQUIRED`.
    Manual reviews come first, the largest expected loss (PD × requested amount × LGD) first, so a
    reviewer's first hour goes where a wrong call costs most. With ``scorecard_pd`` (the scorecard's own PD,
    behind ``scorecard_points``) its grade is shown beside the deciding model's, and ``grades_agree`` says
    where the two disagree.
    """
    c = pl.col
    model = decide(c("pd"), params)
    softer = (c("policy_decision") == PolicyDecision.MANUAL_REVIEW.value) & (model == Decision.DECLINED.value)
    ruled = c("policy_rule").is_not_null() & ~softer
    out = apply_review_rules(scored, params.review_rules).with_columns(
        risk_grade=grade(c("pd"), params.grade_cutoffs),
        recommended_decision=pl.when(ruled).then(c("policy_decision")).otherwise(model),
        decided_by=pl.when(ruled).then(pl.lit(DecidedBy.POLICY_RULE.value)).otherwise(pl.lit(DecidedBy.MODEL.value)),
        expected_loss=c("pd") * c("requested_amount") * params.lgd,
    )
    if "scorecard_pd" in out.columns:  # the points come from the scorecard: show where its grade differs
        card_grade = pl.when(c("scorecard_pd").is_not_null()).then(grade(c("scorecard_pd"), params.grade_cutoffs))
        out = out.with_columns(scorecard_grade=card_grade).with_columns(
            grades_agree=c("risk_grade") == c("scorecard_grade")
        )
    review = c("recommended_decision") == PolicyDecision.MANUAL_REVIEW.value
    return out.sort([review, "expected_loss", "application_id"], descending=[True, True, False]).with_columns(
        review_order=pl.when(review).then(pl.int_range(1, pl.len() + 1, dtype=pl.Int64)),
        as_of=pl.lit(as_of),
    )
