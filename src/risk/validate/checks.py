"""What every cross-table rule shares: the frames it reads, and a reporter that turns a row mask into a result.

A check is a function of the checked frames (usable columns, contract types) and a :class:`Reporter`;
it declares the columns it needs beside it (``Check``), and runs only when they all passed the
structural rules and were in the source (a nullable column added as nulls is not evidence).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import polars as pl

from risk.config import CollectionRules
from risk.contract import TABLES
from risk.validate.report import RuleResult
from risk.validate.rules import Rule, describe, severity
from risk.validate.structure import example_rows

Frames = Mapping[str, pl.DataFrame]
# (columns needed per table, check)
Check = tuple[dict[str, tuple[str, ...]], Callable[[Frames, "Reporter"], RuleResult]]


@dataclass(frozen=True)
class Reporter:
    max_examples: int
    warn_only: tuple[str, ...]
    rules: CollectionRules = field(default_factory=CollectionRules)  # thresholds of the lawful-collection rules

    def detail(self, rule: Rule) -> str:
        return describe(rule, self.rules)

    def rows(
        self,
        table: str,
        column: str,
        rule: Rule,
        frame: pl.DataFrame,
        bad: pl.Expr,
        show: tuple[str, ...] = (),
    ) -> RuleResult:
        """A row-level result: rows of ``frame`` (one per row of ``table``) where ``bad`` holds fail.

        Examples hold the table's key, ``column`` and the ``show`` columns of the first failing rows.
        """
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
            detail=self.detail(rule),
        )


def with_origination(frame: pl.DataFrame, loans: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with its loan's ``originated_on``; null for an unknown loan, see ``fk_loan_exists``."""
    origination = loans.select("loan_id", "originated_on").unique("loan_id", keep="first")
    return frame.join(origination, on="loan_id", how="left", maintain_order="left")


def with_borrower(frame: pl.DataFrame, loans: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with its loan's ``borrower_id``; null for an unknown loan, see ``fk_loan_exists``."""
    borrower = loans.select("loan_id", "borrower_id").unique("loan_id", keep="first")
    return frame.join(borrower, on="loan_id", how="left", maintain_order="left")


def runnable(needs: dict[str, tuple[str, ...]], frames: Frames) -> bool:
    """Whether every table ``needs`` names is in ``frames`` with every column it names."""
    return all(name in frames and set(cols) <= set(frames[name].columns) for name, cols in needs.items())
