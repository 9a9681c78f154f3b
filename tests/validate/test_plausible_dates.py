"""Dates a lender's business cannot hold stop the run: before the platform's first day, far past as_of, or an
as_of in the future."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from tests.books import tiny_book

from risk.config import DataParams, ValidateParams
from risk.exceptions import ConfigError
from risk.validate import Rule, Severity, validate_tables

AS_OF = dt.date(2025, 6, 30)
DEFAULTS = ValidateParams()


def failures(book, params: ValidateParams = DEFAULTS):
    report = validate_tables(book, as_of=AS_OF, params=params)
    return [r for r in report.results if r.rule == Rule.DATE_PLAUSIBLE.value and not r.success]


def set_first(book, table: str, column: str, value) -> None:
    frame = book[table]
    book[table] = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit(value, dtype=frame[column].dtype))
        .otherwise(pl.col(column))
        .alias(column)
    )


def test_the_consistent_book_has_plausible_dates() -> None:
    assert failures(tiny_book()) == []


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("loans", "originated_on", dt.date(1900, 1, 1)),  # a placeholder date in the source system
        ("repayments", "paid_at", dt.datetime(24, 3, 5, 10)),  # '24-03-05' read as the year 24
        ("schedule", "due_date", dt.date(9999, 12, 31)),  # an open-ended due date
    ],
)
def test_a_date_outside_the_business_range_fails_by_name(table: str, column: str, value) -> None:
    book = tiny_book()
    set_first(book, table, column, value)
    (failure,) = failures(book)
    assert (failure.table, failure.column, failure.severity) == (table, column, Severity.ERROR)
    assert failure.failing_rows == 1 and "validate.first_day" in failure.detail


def test_the_range_follows_the_params() -> None:
    book = tiny_book()
    first = book["loans"]["originated_on"].min()
    found = failures(book, ValidateParams(first_day=first + dt.timedelta(days=1)))
    assert ("loans", "originated_on") in {(f.table, f.column) for f in found}


def test_an_as_of_in_the_future_is_refused() -> None:
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    with pytest.raises(ConfigError, match="data.as_of .* is after today"):
        DataParams(as_of=tomorrow)


def test_a_leap_day_as_of_looks_ten_years_ahead_too() -> None:
    from risk.validate.suites import plausible_dates

    assert plausible_dates(dt.date(2028, 2, 29), dt.date(2000, 1, 1), 10) == (dt.date(2000, 1, 1), dt.date(2038, 2, 28))
