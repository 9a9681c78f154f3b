"""Structural rules, checked in polars before Great Expectations: columns present, castable, finite, and
identifiers free of control characters.

Great Expectations crashes on a missing column and compares strings with numbers as best it can, so
these come first; only the columns that pass go on to the suites and the cross-table rules, cast to
the contract's types.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl

from risk.contract import Table
from risk.validate.report import RuleResult
from risk.validate.rules import Rule, severity

# ASCII control characters, NUL included: in an id they print as nothing, yet make it differ from its look-alike
CONTROL_CHARACTERS = r"[\x00-\x1f\x7f]"


def example_rows(
    frame: pl.DataFrame, mask: pl.Series | pl.Expr, columns: Sequence[str], n: int
) -> tuple[dict[str, Any], ...]:
    """The first ``n`` rows of ``frame`` where ``mask`` holds, as dicts of (the distinct) ``columns``."""
    cols = [c for c in dict.fromkeys(columns) if c in frame.columns]
    return tuple(frame.filter(mask).head(n).select(cols).to_dicts())


def check_structure(
    frame: pl.DataFrame, table: Table, *, max_examples: int, warn_only: Iterable[str]
) -> tuple[list[RuleResult], pl.DataFrame]:
    """Results of the structural rules, and the usable columns of ``frame`` cast to the contract's types.

    A column is usable when it is present and every value casts to the contract's type. A nullable
    column that is absent is no error: it is reported as ``optional_column_absent`` (a warning) and
    added as nulls, which is what an export from before the contract gained it needs; only a
    non-nullable column is ``required_column``.
    """
    warn_only = tuple(warn_only)
    results: list[RuleResult] = []
    usable: list[pl.Series] = []

    def result(column: str | None, rule: Rule, failing: int, detail: str, examples=()) -> RuleResult:
        return RuleResult(
            table.name,
            column,
            rule.value,
            severity(table.name, column, rule, warn_only),
            success=failing == 0,
            failing_rows=failing,
            examples=tuple(examples),
            detail=detail,
        )

    for col in table.columns:
        if col.name not in frame.columns and col.nullable:
            # an older export, from before the contract gained the column: known to be unknown, not wrong
            detail = f"nullable column is absent (added as nulls of {col.dtype}): the pipeline has no signal from it"
            results.append(result(col.name, Rule.OPTIONAL_COLUMN_ABSENT, frame.height, detail))
            usable.append(pl.Series(col.name, [None] * frame.height, dtype=col.dtype))
            continue
        if col.name not in frame.columns:
            results.append(
                result(
                    col.name,
                    Rule.REQUIRED_COLUMN,
                    frame.height,
                    f"required column is missing (contract type {col.dtype})",
                )
            )
            continue
        results.append(result(col.name, Rule.REQUIRED_COLUMN, 0, "column is present"))
        series = frame[col.name]
        bad = cast_failures(series, col.dtype)
        detail = f"expected values castable to {col.dtype}, got {series.dtype}"
        examples = example_rows(frame, bad, [*table.key, col.name], max_examples)
        n_bad = int(bad.sum())
        results.append(result(col.name, Rule.DTYPE, n_bad, detail, examples))
        if n_bad == 0:
            usable.append(series.cast(col.dtype))

    extra = [c for c in frame.columns if c not in table.schema]
    results.append(
        result(
            None,
            Rule.EXTRA_COLUMNS,
            len(extra),
            "expected only the contract's columns (extra ones are dropped from the validated tables)",
            [{"column": c, "dtype": str(frame.schema[c])} for c in extra][:max_examples],
        )
    )

    checked = pl.DataFrame(usable)
    for s in usable:
        if s.dtype.is_float():
            bad = (~s.is_finite()).fill_null(False)
            examples = example_rows(checked, bad, [*table.key, s.name], max_examples)
            results.append(
                result(s.name, Rule.FINITE, int(bad.sum()), "expected finite numbers (no NaN or ±inf)", examples)
            )
    for name in id_columns(table):
        if name in checked.columns:
            bad = checked[name].str.contains(CONTROL_CHARACTERS).fill_null(False)
            examples = [e | {name: repr(e[name])} for e in example_rows(checked, bad, [*table.key, name], max_examples)]
            detail = "expected identifiers without a NUL byte or other control character (\\x00-\\x1f, \\x7f)"
            results.append(result(name, Rule.ID_CONTROL_CHARACTERS, int(bad.sum()), detail, examples))
    return results, checked


def id_columns(table: Table) -> tuple[str, ...]:
    """The text columns of ``table`` that identify something: its key's, and every one named ``*_id``."""
    named = [c for c in table.columns if c.name in table.key or c.name.endswith("_id")]
    return tuple(c.name for c in named if c.dtype == pl.String)


def absent_nullable(frame: pl.DataFrame, table: Table) -> list[str]:
    """The nullable contract columns of ``table`` that ``frame`` lacks."""
    return [c.name for c in table.columns if c.nullable and c.name not in frame.columns]


def with_absent_nullable(frame: pl.DataFrame, table: Table) -> pl.DataFrame:
    """``frame`` with every nullable contract column it lacks added as nulls (so that it can be conformed)."""
    return frame.with_columns(pl.lit(None, dtype=table.schema[c]).alias(c) for c in absent_nullable(frame, table))


def cast_failures(series: pl.Series, target: pl.DataType) -> pl.Series:
    """Mask of the values of ``series`` that do not cast to ``target`` without loss.

    A column of the wrong kind (strings for a number, numbers for a date, a time-zone-aware timestamp
    for the contract's naive local time) fails on every non-null value; a column of the right kind
    fails where a value overflows or, for an integer, has a fraction.
    """
    src = series.dtype
    if src == pl.Null:
        return pl.Series(series.name, [False] * len(series), dtype=pl.Boolean)
    if not _same_kind(src, target):
        return series.is_not_null()
    cast = series.cast(target, strict=False)
    bad = cast.is_null() & series.is_not_null()
    if target.is_integer() and src.is_float():
        bad = bad | (series % 1 != 0).fill_null(False)
    return bad


def _same_kind(src: pl.DataType, target: pl.DataType) -> bool:
    if target == pl.String:
        return src == pl.String or isinstance(src, pl.Categorical | pl.Enum)
    if target.is_integer():
        return src.is_integer() or src.is_float()
    if target.is_float():
        return src.is_numeric()
    if isinstance(target, pl.Datetime):
        return src == pl.Date or (isinstance(src, pl.Datetime) and src.time_zone is None)
    return src == target
