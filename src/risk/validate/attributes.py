"""Rules for the ``attributes`` table (a lender's declared source attributes, :mod:`risk.attributes`).

Its contract is built from the declarations, so the structural rules and the Great Expectations suite check
each attribute's type, declared values (``in_domain``) and range (``in_range``) like any contract column; these
add what only a declaration can say: the share of empty values an attribute may have (``max_missing``), and
that every row belongs to an application.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import polars as pl

from risk.attributes import TABLE, Attribute
from risk.validate.report import RuleResult
from risk.validate.rules import Rule, describe, severity
from risk.validate.structure import example_rows


def check_attributes(
    attributes: pl.DataFrame,
    applications: pl.DataFrame | None,
    declared: Sequence[Attribute],
    *,
    max_examples: int,
    warn_only: Iterable[str],
) -> list[RuleResult]:
    """``attribute_missing_rate`` per attribute and ``fk_application_exists`` for the table."""
    warn_only = tuple(warn_only)
    out = []
    n = max(attributes.height, 1)
    for a in declared:
        if a.name not in attributes.columns:
            continue
        empty = attributes[a.name].is_null()
        if attributes[a.name].dtype.is_float():
            empty = empty | attributes[a.name].is_nan()
        share = float(empty.sum()) / n
        out.append(
            RuleResult(
                TABLE,
                a.name,
                Rule.ATTRIBUTE_MISSING_RATE.value,
                severity(TABLE, a.name, Rule.ATTRIBUTE_MISSING_RATE, warn_only),
                success=share <= a.max_missing,
                failing_rows=int(empty.sum()) if share > a.max_missing else 0,
                examples=example_rows(attributes, empty, ["application_id", a.name], max_examples)
                if share > a.max_missing
                else (),
                detail=f"{describe(Rule.ATTRIBUTE_MISSING_RATE)}: {share:.1%} empty, at most {a.max_missing:.0%} "
                f"(ingest.attributes.{a.name}.max_missing)",
            )
        )
    if applications is not None and "application_id" in attributes.columns:
        unknown = ~attributes["application_id"].is_in(applications["application_id"].implode())
        out.append(
            RuleResult(
                TABLE,
                "application_id",
                Rule.FK_APPLICATION_EXISTS.value,
                severity(TABLE, "application_id", Rule.FK_APPLICATION_EXISTS, warn_only),
                success=not unknown.any(),
                failing_rows=int(unknown.sum()),
                examples=example_rows(attributes, unknown, ["application_id"], max_examples),
                detail=describe(Rule.FK_APPLICATION_EXISTS),
            )
        )
    return out
