"""An identifier with a NUL byte or another control character stops validation, whatever the source."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from tests.books import tiny_book

from risk import io
from risk.config import ValidateParams
from risk.contract import TABLES
from risk.exceptions import ConfigError, ValidationFailed
from risk.validate import Rule, Severity, validate_tables
from risk.validate.structure import check_structure

AS_OF = dt.date(2025, 6, 30)
RULE = Rule.ID_CONTROL_CHARACTERS.value


def _with_id(table: str, column: str, value: str) -> dict[str, pl.DataFrame]:
    """:func:`tiny_book` with ``value`` in the first row of ``table.column``."""
    book = tiny_book()
    first = pl.int_range(pl.len()) == 0
    book[table] = book[table].with_columns(pl.when(first).then(pl.lit(value)).otherwise(column).alias(column))
    return book


def _failures(book: dict[str, pl.DataFrame], table: str):
    results, _ = check_structure(book[table], TABLES[table], max_examples=5, warn_only=())
    return [r for r in results if r.rule == RULE and not r.success]


def test_clean_ids_pass():
    book = tiny_book()
    for table in book:
        results, _ = check_structure(book[table], TABLES[table], max_examples=5, warn_only=())
        checked = [r for r in results if r.rule == RULE]
        assert checked and all(r.success for r in checked), table


@pytest.mark.parametrize("char", ["\x00", "\t", "\n", "\r", "\x1b", "\x1f", "\x7f"])
def test_an_id_with_a_control_character_fails(char):
    (failure,) = _failures(_with_id("repayments", "repayment_id", f"R1{char}"), "repayments")
    assert (failure.table, failure.column, failure.severity) == ("repayments", "repayment_id", Severity.ERROR)


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("applications", "application_id"),
        ("applications", "borrower_id"),
        ("loans", "application_id"),
        ("schedule", "loan_id"),
        ("collection_actions", "action_id"),
        ("collection_actions", "loan_id"),
    ],
)
def test_every_key_and_id_column_is_checked(table, column):
    (failure,) = _failures(_with_id(table, column, "X\x00"), table)
    assert failure.column == column


def test_a_control_character_outside_an_id_is_not_this_rules_concern():
    """collection_actions.policy is free text, not an identifier."""
    assert _failures(_with_id("collection_actions", "policy", "champion\t"), "collection_actions") == []


def test_the_failure_counts_rows_and_shows_the_nul_escaped():
    book = tiny_book()
    book["repayments"] = book["repayments"].with_columns(
        loan_id=pl.when(pl.col("repayment_id").is_in(["R1", "R2"])).then(pl.lit("L1\x00")).otherwise("loan_id")
    )
    (failure,) = _failures(book, "repayments")
    assert failure.failing_rows == 2
    assert [e["loan_id"] for e in failure.examples] == ["'L1\\x00'", "'L1\\x00'"]
    assert [e["repayment_id"] for e in failure.examples] == ["R1", "R2"]


def test_a_contract_parquet_with_a_nul_in_an_id_stops_validation(tmp_path):
    """The rule sees what the contract's own Parquet holds (NUL survives the round trip), and stops the run."""
    for name, frame in _with_id("loans", "loan_id", "L1\x00").items():
        frame.write_parquet(tmp_path / f"{name}.parquet")
    report = validate_tables(io.read_tables(tmp_path), as_of=AS_OF, params=ValidateParams())
    (failure,) = [r for r in report.errors if r.rule == RULE]
    assert (failure.where, failure.failing_rows) == ("loans.loan_id", 1)
    with pytest.raises(ValidationFailed) as e:
        report.raise_for_errors()
    message = str(e.value)
    assert "loans.loan_id: expected identifiers without a NUL byte" in message and f"[rule: {RULE}]" in message
    assert "\\x00" in message and "\x00" not in message


def test_the_rule_cannot_be_downgraded():
    with pytest.raises(ConfigError, match=f"validate.warn_only: '{RULE}' cannot be downgraded"):
        validate_tables(tiny_book(), as_of=AS_OF, params=ValidateParams(warn_only=(RULE,)))
