"""The pure core of the validate stage: frames in, a :class:`ValidationReport` out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from risk.attributes import TABLE as ATTRIBUTES
from risk.attributes import Attribute, attributes_table
from risk.case_tables import WITHOUT
from risk.config import CollectionRules, ValidateParams
from risk.contract import CASE_TABLES, INPUT_TABLES
from risk.validate.attributes import check_attributes
from risk.validate.cross import check_cross_table
from risk.validate.profile import compare, profile_of
from risk.validate.report import RuleResult, ValidationReport
from risk.validate.rules import Rule, check_warn_only, severity
from risk.validate.structure import absent_nullable, check_structure
from risk.validate.suites import plausible_dates, run_suites

DEFAULT_RULES = CollectionRules()  # frozen: one shared default is safe


def validate_tables(
    tables: Mapping[str, pl.DataFrame],
    *,
    as_of: dt.date,
    params: ValidateParams,
    rules: CollectionRules = DEFAULT_RULES,
    source: str = "",
    previous: Mapping[str, Any] | None = None,
    attributes: Sequence[Attribute] = (),
) -> ValidationReport:
    """Check the five input tables and the case tables present against the contract and each other.

    Structural rules (table and columns present, castable types, finite floats) run first in polars;
    the columns that pass go through one Great Expectations suite per table, then the cross-table
    rules, the lawful-collection ones with the thresholds of ``rules``. A missing input table is an
    error (``table_present``); a missing case table is only noted (``table_absent``, severity info):
    the case tables are optional. Nothing is raised for bad data: call
    :meth:`ValidationReport.raise_for_errors`.

    ``previous`` is the profile of the last accepted export (:mod:`risk.validate.profile`); when it is of
    the same ``source``, the shift rules compare this export with it. The report holds this export's profile.
    ``attributes`` are the source's declared attributes: the ``attributes`` table is checked against the
    contract they make, with their missing-rate limits.

    Raises
    ------
    ConfigError
        When ``params.warn_only`` names no rule or a structural one.
    """
    check_warn_only(params.warn_only)
    warn_only = tuple(params.warn_only)
    results: list[RuleResult] = []
    checked: dict[str, pl.DataFrame] = {}
    absent: dict[str, list[str]] = {}  # nullable columns the source did not have, added as nulls
    for table in (*INPUT_TABLES, *CASE_TABLES):
        frame = tables.get(table.name)
        if frame is None:
            optional = table in CASE_TABLES
            rule = Rule.TABLE_ABSENT if optional else Rule.TABLE_PRESENT
            detail = f"optional table not in the export: {WITHOUT[table.name]}" if optional else "table is missing"
            results.append(
                RuleResult(
                    table.name,
                    None,
                    rule.value,
                    severity(table.name, None, rule, warn_only),
                    success=False,
                    detail=detail,
                )
            )
            continue
        found, checked[table.name] = check_structure(
            frame, table, max_examples=params.max_examples, warn_only=warn_only
        )
        absent[table.name] = absent_nullable(frame, table)
        results.extend(found)
    tables_by_name = {t.name: t for t in (*INPUT_TABLES, *CASE_TABLES)}
    if attributes and ATTRIBUTES in tables:
        declared = attributes_table(attributes)
        tables_by_name[ATTRIBUTES] = declared
        found, checked[ATTRIBUTES] = check_structure(
            tables[ATTRIBUTES], declared, max_examples=params.max_examples, warn_only=warn_only
        )
        results.extend(found)
    plausible = plausible_dates(as_of, params.first_day, params.max_years_ahead)
    results += run_suites(
        checked, tables_by_name, as_of=as_of, max_examples=params.max_examples, warn_only=warn_only, plausible=plausible
    )
    # a column added as nulls is not evidence: the cross-table rules that need it do not run
    known = {name: frame.drop(absent.get(name, [])) for name, frame in checked.items()}
    results += check_cross_table(known, max_examples=params.max_examples, warn_only=warn_only, rules=rules)
    if ATTRIBUTES in checked:
        results += check_attributes(
            checked[ATTRIBUTES],
            checked.get("applications"),
            attributes,
            max_examples=params.max_examples,
            warn_only=warn_only,
        )
    profile = profile_of(checked, source=source, as_of=as_of)
    shifts = compare(previous, profile, params.shift, warn_only=warn_only)
    results += shifts
    compared_with = f"{previous['as_of']} ({source})" if shifts and previous else None
    row_counts = {name: (tables[name].height if name in tables else None) for name in tables_by_name}
    return ValidationReport(
        as_of=as_of, row_counts=row_counts, results=tuple(results), profile=profile, compared_with=compared_with
    )
