"""The pure core of the validate stage: frames in, a :class:`ValidationReport` out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import polars as pl

from risk.config import ValidateParams
from risk.contract import INPUT_TABLES
from risk.validate.cross import check_cross_table
from risk.validate.report import RuleResult, ValidationReport
from risk.validate.rules import Rule, check_warn_only, severity
from risk.validate.structure import check_structure
from risk.validate.suites import run_suites


def validate_tables(tables: Mapping[str, pl.DataFrame], *, as_of: dt.date, params: ValidateParams) -> ValidationReport:
    """Check the five input tables against the contract and each other; report every rule's result.

    Structural rules (table and columns present, castable types, finite floats) run first in polars;
    the columns that pass go through one Great Expectations suite per table, then the cross-table
    rules. Nothing is raised for bad data: call :meth:`ValidationReport.raise_for_errors`.

    Raises
    ------
    ConfigError
        When ``params.warn_only`` names no rule or a structural one.
    """
    check_warn_only(params.warn_only)
    warn_only = tuple(params.warn_only)
    results: list[RuleResult] = []
    checked: dict[str, pl.DataFrame] = {}
    for table in INPUT_TABLES:
        frame = tables.get(table.name)
        if frame is None:
            rule = Rule.TABLE_PRESENT
            results.append(
                RuleResult(
                    table.name,
                    None,
                    rule.value,
                    severity(table.name, None, rule, warn_only),
                    success=False,
                    detail="table is missing",
                )
            )
            continue
        found, checked[table.name] = check_structure(
            frame, table, max_examples=params.max_examples, warn_only=warn_only
        )
        results.extend(found)
    tables_by_name = {t.name: t for t in INPUT_TABLES}
    results += run_suites(checked, tables_by_name, as_of=as_of, max_examples=params.max_examples, warn_only=warn_only)
    results += check_cross_table(checked, max_examples=params.max_examples, warn_only=warn_only)
    row_counts = {t.name: (tables[t.name].height if t.name in tables else None) for t in INPUT_TABLES}
    return ValidationReport(as_of=as_of, row_counts=row_counts, results=tuple(results))
