"""The validate stage: a consistent book passes, each kind of corruption fails naming table, column and rule."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable

import polars as pl
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal
from tests.books import LoanSpec, pay_on_schedule, tiny_book
from tests.books import book as book_of

from risk import io
from risk.config import ValidateParams
from risk.contract import INPUT_TABLES, conform
from risk.exceptions import ConfigError, ValidationFailed
from risk.validate import Rule, Severity, ValidationReport, run, validate_tables

AS_OF = dt.date(2025, 6, 30)
PARAMS = ValidateParams()
# rules on agreements, legal_cases and borrower_profiles: they run only when those tables are present
CASE_TABLE_RULES = {
    Rule.FK_BORROWER_EXISTS,
    Rule.AGREEMENT_AFTER_ORIGINATION,
    Rule.AGREEMENT_TERMS_MATCH_KIND,
    Rule.PROMISE_AFTER_SIGNING,
    Rule.SETTLEMENT_WITHIN_BALANCE,
    Rule.CERTIFICATE_ONLY_WHEN_SETTLED,
    Rule.LEGAL_CASE_AFTER_ORIGINATION,
    Rule.LETTER_AFTER_REGISTRATION,
    Rule.DEADLINE_AFTER_LETTER,
    Rule.FILED_AFTER_LETTER,
    Rule.FILED_AFTER_DEADLINE,
    Rule.JUDGMENT_AFTER_FILING,
    Rule.AWARDED_WITHIN_CLAIM,
    Rule.ENFORCEMENT_AFTER_JUDGMENT,
    Rule.LISTED_AFTER_ENFORCEMENT,
    Rule.CLOSED_AFTER_LAST_STEP,
}
Book = dict[str, pl.DataFrame]


def _set(table: str, column: str, row: int, value: object) -> Callable[[Book], Book]:
    """A corruption that puts ``value`` into ``table.column`` at ``row`` (keeping the column's type)."""

    def corrupt(book: Book) -> Book:
        frame = book[table]
        series = frame[column].scatter(row, value) if value is not None else frame[column].scatter(row, None)
        return {**book, table: frame.with_columns(series)}

    return corrupt


def _replace(table: str, make: Callable[[pl.DataFrame], pl.DataFrame]) -> Callable[[Book], Book]:
    return lambda book: {**book, table: make(book[table])}


def _failure(report: ValidationReport, table: str, column: str | None, rule: str):
    return next(
        (r for r in report.results if (r.table, r.column, r.rule) == (table, column, rule) and not r.success),
        None,
    )


CORRUPTIONS = {
    "missing required column": (
        _replace("loans", lambda f: f.drop("principal")),
        ("loans", "principal", "required_column"),
    ),
    "wrong type: strings in an amount": (
        _replace("repayments", lambda f: f.with_columns(pl.col("amount").cast(pl.String))),
        ("repayments", "amount", "dtype"),
    ),
    "integer column with a fraction": (
        _replace("loans", lambda f: f.with_columns(pl.Series("term_months", [3.0, 3.5]))),
        ("loans", "term_months", "dtype"),
    ),
    "duplicate key": (
        _set("repayments", "repayment_id", 1, "R1"),
        ("repayments", "repayment_id", "unique_key"),
    ),
    "duplicate compound key": (
        _set("schedule", "instalment_no", 1, 1),
        ("schedule", "loan_id,instalment_no", "unique_key"),
    ),
    "negative amount": (
        _set("repayments", "amount", 2, -5.0),
        ("repayments", "amount", "in_range"),
    ),
    "rate above the cap": (
        _set("loans", "annual_rate", 0, 0.48),
        ("loans", "annual_rate", "in_range"),
    ),
    "NaN": (
        _set("loans", "principal", 1, float("nan")),
        ("loans", "principal", "finite"),
    ),
    "infinity": (
        _set("repayments", "amount", 0, float("inf")),
        ("repayments", "amount", "finite"),
    ),
    "unknown product code": (
        _set("applications", "product", 2, "payday_loan"),
        ("applications", "product", "in_domain"),
    ),
    "unknown action code": (
        _set("collection_actions", "action", 1, "threaten"),
        ("collection_actions", "action", "in_domain"),
    ),
    "null in a required column": (
        _set("applications", "borrower_id", 0, None),
        ("applications", "borrower_id", "not_null"),
    ),
    "date after as_of": (
        _set("collection_actions", "action_at", 2, dt.datetime(2025, 7, 1, 0, 0, 1)),
        ("collection_actions", "action_at", "not_after_as_of"),
    ),
    "origination after as_of": (
        _set("loans", "originated_on", 1, dt.date(2025, 7, 1)),
        ("loans", "originated_on", "not_after_as_of"),
    ),
    "repayment for unknown loan": (
        _set("repayments", "loan_id", 3, "L9"),
        ("repayments", "loan_id", "fk_loan_exists"),
    ),
    "schedule row for unknown loan": (
        _set("schedule", "loan_id", 5, "L9"),
        ("schedule", "loan_id", "fk_loan_exists"),
    ),
    "action for unknown loan": (
        _set("collection_actions", "loan_id", 0, "L9"),
        ("collection_actions", "loan_id", "fk_loan_exists"),
    ),
    "loan from unknown application": (
        _set("loans", "application_id", 1, "A9"),
        ("loans", "application_id", "fk_application_exists"),
    ),
    "loan from a declined application": (
        _set("loans", "application_id", 1, "A3"),
        ("loans", "application_id", "application_approved"),
    ),
    "payment before origination": (
        _set("repayments", "paid_at", 3, dt.datetime(2025, 5, 19, 23)),
        ("repayments", "paid_at", "paid_not_before_origination"),
    ),
    "schedule gap": (
        _replace("schedule", lambda f: f.filter(~((pl.col("loan_id") == "L1") & (pl.col("instalment_no") == 2)))),
        ("schedule", "instalment_no", "instalments_contiguous"),
    ),
    "instalment beyond the term": (
        _set("schedule", "instalment_no", 5, 4),
        ("schedule", "instalment_no", "instalments_contiguous"),
    ),
    "due date before origination": (
        _set("schedule", "due_date", 3, dt.date(2025, 5, 1)),
        ("schedule", "due_date", "due_after_origination"),
    ),
    "missing table": (
        lambda book: {k: v for k, v in book.items() if k != "collection_actions"},
        ("collection_actions", None, "table_present"),
    ),
}


@pytest.fixture(scope="module")
def book() -> Book:
    return tiny_book()


def test_tiny_book_passes(book: Book) -> None:
    """A consistent book passes every rule, including due dates after as_of on the active loan.

    It has no case tables: each is noted as absent (severity info), which is neither an error nor a warning.
    """
    report = validate_tables(book, as_of=AS_OF, params=PARAMS)
    assert report.errors == [] and report.warnings == []
    assert report.passed
    assert [(r.table, r.rule, r.severity) for r in report.notes] == [
        (name, "table_absent", Severity.INFO) for name in ("agreements", "legal_cases", "borrower_profiles")
    ]
    checked = {r.rule for r in report.results}
    # every rule of the input tables ran on the valid book (tests/validate/test_case_tables.py: all of them)
    only_on_failure = {Rule.TABLE_PRESENT, Rule.TABLE_ABSENT, Rule.OPTIONAL_COLUMN_ABSENT}
    with_a_previous_export = {r for r in Rule if r.value.endswith("_shift")}  # tests/validate/test_export_shift.py
    declared_only = {Rule.ATTRIBUTE_MISSING_RATE}  # a source's declared attributes: tests/ingest/test_own_data.py
    assert set(Rule) - only_on_failure - CASE_TABLE_RULES - with_a_previous_export - declared_only <= checked
    report.raise_for_errors()


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_corruption_fails_naming_table_column_and_rule(book: Book, name: str) -> None:
    """Each corruption is an error whose message names table.column, the rule, the count and an example."""
    corrupt, (table, column, rule) = CORRUPTIONS[name]
    report = validate_tables(corrupt(book), as_of=AS_OF, params=PARAMS)
    where = re.escape(".".join(p for p in (table, column) if p))
    with pytest.raises(ValidationFailed, match=rf"{where}: .*\[rule: {rule}\]") as info:
        report.raise_for_errors()
    failure = next(f for f in info.value.failures if (f.table, f.column, f.rule) == (table, column, rule))
    if rule != "table_present":
        assert failure.failing_rows >= 1
    if column and rule not in ("required_column", "table_present"):
        assert failure.examples, "a failing row should be shown"


def test_shared_test_books_pass() -> None:
    """The books other stages' tests build (tests/books.py) satisfy the contract, so they test real data."""
    paid = pay_on_schedule(LoanSpec("L1", dt.date(2024, 1, 10)), through=3)
    report = validate_tables(book_of(paid, LoanSpec("L2", dt.date(2024, 3, 5)), pending=2), as_of=AS_OF, params=PARAMS)
    assert report.errors == []


def test_one_bad_value_is_one_error(book: Book) -> None:
    """A NaN is reported by `finite` only, not again as a null or an out-of-range value."""
    report = validate_tables(CORRUPTIONS["NaN"][0](book), as_of=AS_OF, params=PARAMS)
    assert [(r.table, r.column, r.rule) for r in report.errors] == [("loans", "principal", "finite")]
    (example,) = report.errors[0].examples
    assert example["loan_id"] == "L2" and math.isnan(example["principal"])


def test_examples_show_key_and_offending_value(book: Book) -> None:
    """Examples hold the key columns and the offending column of the failing rows."""
    report = validate_tables(CORRUPTIONS["negative amount"][0](book), as_of=AS_OF, params=PARAMS)
    (error,) = report.errors
    assert error.failing_rows == 1
    assert error.examples == ({"repayment_id": "R3", "amount": -5.0},)


def test_examples_are_capped_at_max_examples(book: Book) -> None:
    bad = {**book, "repayments": book["repayments"].with_columns(pl.lit(-1.0).alias("amount"))}
    report = validate_tables(bad, as_of=AS_OF, params=ValidateParams(max_examples=2))
    (error,) = report.errors
    assert error.failing_rows == 4
    assert len(error.examples) == 2


def test_extra_column_is_a_warning(book: Book) -> None:
    """An unexpected column is reported as a warning and validation passes."""
    extra = {**book, "loans": book["loans"].with_columns(pl.lit("x").alias("branch"))}
    report = validate_tables(extra, as_of=AS_OF, params=PARAMS)
    assert report.passed
    (warning,) = report.warnings
    assert (warning.table, warning.rule, warning.severity) == ("loans", "extra_columns", Severity.WARNING)
    assert warning.examples == ({"column": "branch", "dtype": "String"},)


def test_castable_types_pass(book: Book) -> None:
    """Types that cast to the contract's without loss are accepted: Categorical, Int32, ns timestamps."""
    loose = {
        **book,
        "applications": book["applications"].with_columns(
            pl.col("product").cast(pl.Categorical),
            pl.col("age").cast(pl.Int32),
            pl.col("applied_at").cast(pl.Datetime("ns")),
        ),
        "loans": book["loans"].with_columns(pl.col("term_months").cast(pl.Float64)),
    }
    assert validate_tables(loose, as_of=AS_OF, params=PARAMS).passed


@pytest.mark.parametrize(
    "warn_only", ["in_range", "repayments.in_range", "repayments.amount.in_range"], ids=["rule", "table", "column"]
)
def test_warn_only_downgrades_to_warning(book: Book, warn_only: str) -> None:
    report = validate_tables(
        CORRUPTIONS["negative amount"][0](book), as_of=AS_OF, params=ValidateParams(warn_only=(warn_only,))
    )
    assert report.passed
    assert [(r.column, r.rule, r.severity) for r in report.warnings] == [("amount", "in_range", "warning")]


def test_warn_only_on_another_column_does_not_downgrade(book: Book) -> None:
    params = ValidateParams(warn_only=("repayments.instalment_no.in_range",))
    report = validate_tables(CORRUPTIONS["negative amount"][0](book), as_of=AS_OF, params=params)
    assert not report.passed


@pytest.mark.parametrize(
    ("warn_only", "match"), [("no_such_rule", "names no rule"), ("loans.dtype", "cannot be downgraded")]
)
def test_bad_warn_only_is_a_config_error(book: Book, warn_only: str, match: str) -> None:
    with pytest.raises(ConfigError, match=f"validate.warn_only: .*{match}"):
        validate_tables(book, as_of=AS_OF, params=ValidateParams(warn_only=(warn_only,)))


def test_arguments_are_not_changed(book: Book) -> None:
    """validate_tables returns a report and leaves its input frames as they were."""
    bad = CORRUPTIONS["NaN"][0](book)
    before = {k: v.clone() for k, v in bad.items()}
    validate_tables(bad, as_of=AS_OF, params=PARAMS)
    for name, frame in before.items():
        assert_frame_equal(bad[name], frame)


def test_report_dict_is_strict_json(book: Book) -> None:
    report = validate_tables(CORRUPTIONS["infinity"][0](book), as_of=AS_OF, params=PARAMS)
    summary = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert summary["passed"] is False and summary["n_errors"] == 1
    assert summary["tables"]["schedule"]["rows"] == 6
    (finite,) = [r for r in summary["tables"]["repayments"]["results"] if r["rule"] == "finite" and not r["success"]]
    assert finite["examples"] == [{"repayment_id": "R1", "amount": "inf"}]


def test_html_names_table_column_and_rule(book: Book) -> None:
    report = validate_tables(CORRUPTIONS["unknown action code"][0](book), as_of=AS_OF, params=PARAMS)
    page = report.to_html()
    assert page.startswith("<!DOCTYPE html>") and "FAILED" in page
    section = re.search(r'<section id="collection_actions">.*?</section>', page, re.S)
    assert section is not None
    row = re.search(r'<tr class="error">(.*?)</tr>', section.group(0), re.S)
    assert row is not None
    assert "<td>action</td>" in row.group(1) and "<td>in_domain</td>" in row.group(1)
    assert "threaten" in row.group(1)


# --- the edge: files in, files out ------------------------------------------------------------------
def test_run_writes_report_and_conformed_tables(tmp_path, book: Book) -> None:
    raw, validated, reports = tmp_path / "raw", tmp_path / "validated", tmp_path / "reports"
    extra = {**book, "loans": book["loans"].with_columns(pl.lit("x").alias("branch"))}
    io.write_tables(extra, raw)
    report = run(raw, validated, reports, as_of=AS_OF, params=PARAMS)
    assert report.passed and len(report.warnings) == 1
    assert json.loads((reports / "validation.json").read_text())["passed"] is True
    assert (reports / "validation.html").read_text().startswith("<!DOCTYPE html>")
    for table in INPUT_TABLES:
        assert_frame_equal(pl.read_parquet(validated / f"{table.name}.parquet"), conform(book[table.name], table))
        # read by every later stage and each scored day: compressed to decode fast (io.READ_OFTEN), not to be small
        column = pq.ParquetFile(validated / f"{table.name}.parquet").metadata.row_group(0).column(0)
        assert column.compression.startswith("LZ4"), table.name


def test_run_on_failure_writes_report_but_keeps_earlier_validated(tmp_path, book: Book) -> None:
    """A failing run writes the report, raises, and leaves the previous validated folder as it was."""
    raw, validated, reports = tmp_path / "raw", tmp_path / "validated", tmp_path / "reports"
    io.write_tables(book, raw)
    run(raw, validated, reports, as_of=AS_OF, params=PARAMS)
    before = {p.name: p.read_bytes() for p in validated.iterdir()}

    io.write_tables(CORRUPTIONS["repayment for unknown loan"][0](book), raw)
    with pytest.raises(ValidationFailed, match=r"repayments\.loan_id: .*\[rule: fk_loan_exists\]"):
        run(raw, validated, reports, as_of=AS_OF, params=PARAMS)
    assert {p.name: p.read_bytes() for p in validated.iterdir()} == before
    summary = json.loads((reports / "validation.json").read_text())
    assert summary["passed"] is False
    assert "fk_loan_exists" in (reports / "validation.html").read_text()


def test_run_on_first_failure_writes_no_validated_folder(tmp_path, book: Book) -> None:
    raw, validated, reports = tmp_path / "raw", tmp_path / "validated", tmp_path / "reports"
    io.write_tables({k: v for k, v in book.items() if k != "schedule"}, raw)
    with pytest.raises(ValidationFailed, match=r"schedule: .*\[rule: table_present\]"):
        run(raw, validated, reports, as_of=AS_OF, params=PARAMS)
    assert not validated.exists()
    assert (reports / "validation.html").exists() and (reports / "validation.json").exists()
