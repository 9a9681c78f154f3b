"""Rules across tables, as polars joins (Great Expectations has no cross-table expectation for pandas).

Each rule declares the columns it needs and runs only when they all passed the structural rules: a
missing or mistyped column is already an error of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

import polars as pl

from risk.contract import TABLES, Decision
from risk.validate.report import RuleResult
from risk.validate.rules import Rule, severity
from risk.validate.structure import example_rows

Frames = Mapping[str, pl.DataFrame]


@dataclass(frozen=True)
class _Reporter:
    max_examples: int
    warn_only: tuple[str, ...]

    def rows(
        self,
        table: str,
        column: str,
        rule: Rule,
        detail: str,
        frame: pl.DataFrame,
        bad: pl.Expr,
        show: tuple[str, ...] = (),
    ) -> RuleResult:
        """A row-level result: rows of ``frame`` (one per row of ``table``) where ``bad`` holds fail."""
        flagged = frame.select(bad.fill_null(False).alias("bad"))["bad"]
        examples = example_rows(frame, flagged, [*TABLES[table].key, column, *show], self.max_examples)
        return RuleResult(
            table,
            column,
            rule.value,
            severity(table, column, rule, self.warn_only),
            success=not flagged.any(),
            failing_rows=int(flagged.sum()),
            examples=examples,
            detail=detail,
        )


def _fk_loan_exists(child: str, t: Frames, r: _Reporter) -> RuleResult:
    known = t["loans"]["loan_id"].implode()
    bad = pl.col("loan_id").is_not_null() & ~pl.col("loan_id").is_in(known)
    return r.rows(child, "loan_id", Rule.FK_LOAN_EXISTS, "expected loan_id to exist in loans", t[child], bad)


def _fk_application_exists(t: Frames, r: _Reporter) -> RuleResult:
    known = t["applications"]["application_id"].implode()
    bad = pl.col("application_id").is_not_null() & ~pl.col("application_id").is_in(known)
    return r.rows(
        "loans",
        "application_id",
        Rule.FK_APPLICATION_EXISTS,
        "expected application_id to exist in applications",
        t["loans"],
        bad,
    )


def _application_approved(t: Frames, r: _Reporter) -> RuleResult:
    decisions = t["applications"].select("application_id", "decision").unique("application_id", keep="first")
    joined = t["loans"].join(decisions, on="application_id", how="left", maintain_order="left")
    bad = pl.col("decision").is_not_null() & (pl.col("decision") != Decision.APPROVED.value)
    return r.rows(
        "loans",
        "application_id",
        Rule.APPLICATION_APPROVED,
        "expected the loan's application to be approved",
        joined,
        bad,
        ("decision",),
    )


def _with_origination(frame: pl.DataFrame, loans: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with its loan's ``originated_on``; null for an unknown loan, see ``fk_loan_exists``."""
    origination = loans.select("loan_id", "originated_on").unique("loan_id", keep="first")
    return frame.join(origination, on="loan_id", how="left", maintain_order="left")


def _paid_not_before_origination(t: Frames, r: _Reporter) -> RuleResult:
    joined = _with_origination(t["repayments"], t["loans"])
    bad = pl.col("paid_at").dt.date() < pl.col("originated_on")
    return r.rows(
        "repayments",
        "paid_at",
        Rule.PAID_NOT_BEFORE_ORIGINATION,
        "expected paid_at on or after the loan's originated_on",
        joined,
        bad,
        ("loan_id", "originated_on"),
    )


def _due_after_origination(t: Frames, r: _Reporter) -> RuleResult:
    joined = _with_origination(t["schedule"], t["loans"])
    bad = pl.col("due_date") <= pl.col("originated_on")
    return r.rows(
        "schedule",
        "due_date",
        Rule.DUE_AFTER_ORIGINATION,
        "expected due_date after the loan's originated_on",
        joined,
        bad,
        ("originated_on",),
    )


def _instalments_contiguous(t: Frames, r: _Reporter) -> RuleResult:
    """Each loan's instalments are exactly 1..term_months, once each; ``failing_rows`` counts loans.

    A loan without any schedule row fails too; schedule rows of unknown loans are ``fk_loan_exists``'s.
    """
    per_loan = (
        t["schedule"]
        .filter(pl.col("loan_id").is_not_null())
        .group_by("loan_id")
        .agg(instalments=pl.col("instalment_no").drop_nulls().unique().sort(), n_rows=pl.len())
    )
    joined = (
        t["loans"]
        .select("loan_id", "term_months")
        .filter(pl.col("loan_id").is_not_null())
        .join(per_loan, on="loan_id", how="left", maintain_order="left")
        .with_columns(pl.col("n_rows").fill_null(0), pl.col("instalments").fill_null([]))
    )
    expected = pl.int_ranges(1, pl.col("term_months") + 1)
    bad = joined.filter((pl.col("n_rows") != pl.col("term_months")) | (pl.col("instalments") != expected))
    examples = []
    for row in bad.head(r.max_examples).iter_rows(named=True):
        want, got = set(range(1, row["term_months"] + 1)), set(row["instalments"])
        examples.append(
            {
                "loan_id": row["loan_id"],
                "term_months": row["term_months"],
                "schedule_rows": row["n_rows"],
                "missing": sorted(want - got)[:10],
                "unexpected": sorted(got - want)[:10],
            }
        )
    rule = Rule.INSTALMENTS_CONTIGUOUS
    return RuleResult(
        "schedule",
        "instalment_no",
        rule.value,
        severity("schedule", "instalment_no", rule, r.warn_only),
        success=bad.height == 0,
        failing_rows=bad.height,
        examples=tuple(examples),
        detail="expected instalment_no 1..term_months once each per loan (failing counts loans)",
    )


# (columns needed per table, check)
CHECKS: tuple[tuple[dict[str, tuple[str, ...]], Callable[[Frames, _Reporter], RuleResult]], ...] = (
    *(
        ({child: ("loan_id",), "loans": ("loan_id",)}, partial(_fk_loan_exists, child))
        for child in ("schedule", "repayments", "collection_actions")
    ),
    ({"loans": ("application_id",), "applications": ("application_id",)}, _fk_application_exists),
    ({"loans": ("application_id",), "applications": ("application_id", "decision")}, _application_approved),
    (
        {"repayments": ("loan_id", "paid_at"), "loans": ("loan_id", "originated_on")},
        _paid_not_before_origination,
    ),
    ({"schedule": ("loan_id", "due_date"), "loans": ("loan_id", "originated_on")}, _due_after_origination),
    (
        {"schedule": ("loan_id", "instalment_no"), "loans": ("loan_id", "term_months")},
        _instalments_contiguous,
    ),
)


def check_cross_table(checked: Frames, *, max_examples: int, warn_only: tuple[str, ...]) -> list[RuleResult]:
    """Results of the cross-table rules on ``checked`` (usable columns, contract types)."""
    reporter = _Reporter(max_examples, tuple(warn_only))
    return [
        check(checked, reporter)
        for needs, check in CHECKS
        if all(name in checked and set(cols) <= set(checked[name].columns) for name, cols in needs.items())
    ]
