"""Per-table rules as Great Expectations 1.x suites, generated from the contract.

One :class:`~great_expectations.ExpectationSuite` per table: not-null for non-nullable columns, a unique
key (compound where the key is), categorical domains, numeric ranges, no date after ``as_of`` and every date
within the business's plausible range.
Great Expectations has no polars source, so frames go in as pandas. It is imported inside the functions:
the import takes several seconds, and ``risk --help`` should not pay for it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import polars as pl

from risk.contract import Table
from risk.validate.report import RuleResult
from risk.validate.rules import Rule, severity
from risk.validate.structure import example_rows

if TYPE_CHECKING:
    import great_expectations as gx

# Dates that may lie after as_of: instalments of active loans fall due in the future, and so may a promise's
# date, a plan's first new instalment and the deadline a recent lawyer's letter gives.
MAY_BE_FUTURE: frozenset[str] = frozenset(
    {"schedule.due_date", "agreements.promised_date", "agreements.plan_first_due", "legal_cases.response_deadline"}
)


def plausible_dates(as_of: dt.date, first_day: dt.date, max_years_ahead: int) -> tuple[dt.date, dt.date]:
    """The first and last date any column may hold: the platform's first day, ``max_years_ahead`` after as_of."""
    leap_day = (as_of.month, as_of.day) == (2, 29)  # the same day ``max_years_ahead`` later may not exist
    last = as_of.replace(year=as_of.year + max_years_ahead, day=28 if leap_day else as_of.day)
    return first_day, last


def build_suite(
    table: Table,
    columns: Iterable[str],
    *,
    as_of: dt.date,
    plausible: tuple[dt.date, dt.date] | None = None,
) -> gx.ExpectationSuite:
    """The expectation suite of ``table``, restricted to ``columns`` (the usable ones).

    ``plausible`` is the first and last date any date may hold (:func:`plausible_dates`); None checks no range.

    Each expectation's ``meta`` holds its rule name and a description, to map results back.
    """
    import great_expectations as gx
    import great_expectations.expectations as gxe

    present = set(columns)
    suite = gx.ExpectationSuite(name=table.name)

    def add(expectation_cls: Any, rule: Rule, detail: str, **kwargs: Any) -> None:
        suite.add_expectation(expectation_cls(**kwargs, meta={"rule": rule.value, "detail": detail}))

    if set(table.key) <= present:
        detail = f"expected a unique key ({', '.join(table.key)})"
        if len(table.key) == 1:
            add(gxe.ExpectColumnValuesToBeUnique, Rule.UNIQUE_KEY, detail, column=table.key[0])
        else:
            add(gxe.ExpectCompoundColumnsToBeUnique, Rule.UNIQUE_KEY, detail, column_list=list(table.key))
    end_of_as_of = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    for col in table.columns:
        if col.name not in present:
            continue
        if not col.nullable:
            add(gxe.ExpectColumnValuesToNotBeNull, Rule.NOT_NULL, "expected no nulls", column=col.name)
        if col.domain is not None:
            add(
                gxe.ExpectColumnValuesToBeInSet,
                Rule.IN_DOMAIN,
                f"expected one of {list(col.domain)}",
                column=col.name,
                value_set=list(col.domain),
            )
        if col.minimum is not None or col.maximum is not None:
            add(
                gxe.ExpectColumnValuesToBeBetween,
                Rule.IN_RANGE,
                _range_text(col.minimum, col.maximum),
                column=col.name,
                min_value=col.minimum,
                max_value=col.maximum,
            )
        if col.dtype.is_temporal() and f"{table.name}.{col.name}" not in MAY_BE_FUTURE:
            add(
                gxe.ExpectColumnValuesToBeBetween,
                Rule.NOT_AFTER_AS_OF,
                f"expected no date after as_of {as_of}",
                column=col.name,
                max_value=end_of_as_of,
                strict_max=True,
            )
        if col.dtype.is_temporal() and plausible is not None:
            first, last = plausible
            add(
                gxe.ExpectColumnValuesToBeBetween,
                Rule.DATE_PLAUSIBLE,
                f"expected dates from {first} (validate.first_day) to {last} (validate.max_years_ahead after as_of)",
                column=col.name,
                min_value=dt.datetime.combine(first, dt.time()),
                max_value=dt.datetime.combine(last + dt.timedelta(days=1), dt.time()),
                strict_max=True,
            )
    return suite


def run_suites(
    checked: Mapping[str, pl.DataFrame],
    tables: Mapping[str, Table],
    *,
    as_of: dt.date,
    max_examples: int,
    warn_only: Iterable[str],
    plausible: tuple[dt.date, dt.date] | None = None,
) -> list[RuleResult]:
    """Validate each frame in ``checked`` (usable columns, contract types) against its table's suite."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    warn_only = tuple(warn_only)
    # An ephemeral, in-memory context: nothing written to disk, no analytics, no progress bars.
    config = DataContextConfig(
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        store_backend_defaults=InMemoryStoreBackendDefaults(),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    source = context.data_sources.add_pandas("risk")
    result_format = {"result_format": "SUMMARY", "partial_unexpected_count": max(max_examples, 1)}
    results: list[RuleResult] = []
    for name, frame in checked.items():
        if frame.width == 0:
            continue
        table = tables[name]
        suite = context.suites.add(build_suite(table, frame.columns, as_of=as_of, plausible=plausible))
        batch = (
            source.add_dataframe_asset(name)
            .add_batch_definition_whole_dataframe("all")
            .get_batch(batch_parameters={"dataframe": _for_gx(frame, table)})
        )
        outcome = batch.validate(suite, result_format=result_format)
        results.extend(_to_result(r, frame, table, max_examples, warn_only) for r in outcome.results)
    return results


def _for_gx(frame: pl.DataFrame, table: Table) -> Any:
    """``frame`` as pandas, with NaN and ±inf replaced by a value inside the column's range.

    pandas counts NaN as null and +inf passes a lower bound; the ``finite`` rule reports them once, so the
    suites should neither report them again as nulls nor let them hide other failures.
    """
    masks = []
    for name, dtype in frame.schema.items():
        if dtype.is_float():
            col = table.column(name)
            fill = next((v for v in (col.minimum, col.maximum) if v is not None), 0.0)
            masks.append(pl.when(pl.col(name).is_finite().not_()).then(fill).otherwise(pl.col(name)).alias(name))
    return frame.with_columns(masks).to_pandas()


def _to_result(r: Any, frame: pl.DataFrame, table: Table, max_examples: int, warn_only: tuple[str, ...]) -> RuleResult:
    config = r.expectation_config
    rule = Rule(config.meta["rule"])
    column = config.kwargs.get("column") or ",".join(config.kwargs.get("column_list", []))
    sev = severity(table.name, column, rule, warn_only)
    if r.exception_info.get("raised_exception"):
        # never pass a rule that could not be checked
        message = str(r.exception_info.get("exception_message", ""))[:300]
        detail = f"{config.meta['detail']}; Great Expectations raised: {message}"
        return RuleResult(table.name, column, rule.value, sev, success=False, failing_rows=0, detail=detail)
    res = r.result
    rows = [int(i) for i in res.get("partial_unexpected_index_list") or []][:max_examples]
    mask = pl.int_range(pl.len()).is_in(rows)
    examples = example_rows(frame, mask, [*table.key, *column.split(",")], max_examples)
    return RuleResult(
        table.name,
        column,
        rule.value,
        sev,
        success=bool(r.success),
        failing_rows=int(res.get("unexpected_count") or 0),
        examples=examples,
        detail=config.meta["detail"],
    )


def _range_text(minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f"expected values between {minimum:g} and {maximum:g}"
    return f"expected values >= {minimum:g}" if minimum is not None else f"expected values <= {maximum:g}"
