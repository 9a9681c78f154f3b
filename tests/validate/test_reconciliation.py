"""Tables that are each well-formed but cannot all be true stop the run: the reconciliation rules."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from tests.books import tiny_book

from risk.config import ValidateParams
from risk.validate import Rule, Severity, validate_tables

AS_OF = dt.date(2025, 6, 30)
PARAMS = ValidateParams()


def failures(book, rule: Rule):
    report = validate_tables(book, as_of=AS_OF, params=PARAMS)
    return [r for r in report.results if r.rule == rule.value and not r.success]


@pytest.mark.parametrize(
    "rule", [Rule.SCHEDULE_MATCHES_PRINCIPAL, Rule.REPAID_WITHIN_SCHEDULE, Rule.REPAYMENTS_PRESENT]
)
def test_the_consistent_book_passes(rule: Rule) -> None:
    assert failures(tiny_book(), rule) == []


@pytest.mark.parametrize("principal", [0.0, 6_000_000.0, 1e18])
def test_a_principal_the_schedule_does_not_add_up_to_fails(principal: float) -> None:
    book = tiny_book()
    book["loans"] = book["loans"].with_columns(
        principal=pl.when(pl.col("loan_id") == "L1").then(principal).otherwise(pl.col("principal"))
    )
    (failure,) = failures(book, Rule.SCHEDULE_MATCHES_PRINCIPAL)
    assert failure.severity is Severity.ERROR and (failure.table, failure.column) == ("loans", "principal")
    assert [e["loan_id"] for e in failure.examples] == ["L1"] and "scheduled_principal" in failure.examples[0]


def test_repayments_in_fen_instead_of_yuan_fail() -> None:
    book = tiny_book()
    book["repayments"] = book["repayments"].with_columns(pl.col("amount") * 100)
    (failure,) = failures(book, Rule.REPAID_WITHIN_SCHEDULE)
    assert failure.severity is Severity.ERROR and failure.failing_rows == book["repayments"].height
    assert {"repaid", "scheduled_total"} <= set(failure.examples[0])


def test_an_empty_repayments_file_fails_when_instalments_fell_due() -> None:
    book = tiny_book()
    book["repayments"] = book["repayments"].clear()
    (failure,) = failures(book, Rule.REPAYMENTS_PRESENT)
    assert failure.severity is Severity.ERROR and failure.table == "repayments"
    assert failure.failing_rows > 0 and failure.examples[0]["loan_id"] == "L1"


def test_the_rules_can_be_downgraded_by_name() -> None:
    book = tiny_book()
    book["repayments"] = book["repayments"].clear()
    report = validate_tables(book, as_of=AS_OF, params=ValidateParams(warn_only=("repayments_present",)))
    (result,) = [r for r in report.results if r.rule == "repayments_present"]
    assert result.severity is Severity.WARNING
