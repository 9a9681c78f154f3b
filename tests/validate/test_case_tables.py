"""Case tables and the new cross-table rules: each rule passes on a consistent book and fails on one broken
row, naming table, column and rule with the row as an example; absent case tables and absent nullable
columns are noted, never errors."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from tests.books import Book, set_value, tiny_book, tiny_case_book

from risk import io
from risk.case_tables import WITHOUT
from risk.config import CollectionRules, ValidateParams
from risk.contract import CASE_TABLES, TABLES, conform
from risk.exceptions import ValidationFailed
from risk.validate import Rule, Severity, ValidationReport, run, validate_tables
from risk.validate.profile import profile_of
from risk.validate.rules import DESCRIPTIONS, LAWFUL_COLLECTION, describe

AS_OF = dt.date(2025, 6, 30)
PARAMS = ValidateParams()
ts = dt.datetime


def _then(*corruptions: Callable[[Book], Book]) -> Callable[[Book], Book]:
    def corrupt(book: Book) -> Book:
        for c in corruptions:
            book = c(book)
        return book

    return corrupt


@dataclass(frozen=True)
class Case:
    corrupt: Callable[[Book], Book]
    table: str
    column: str
    rule: Rule
    failing: int = 1
    key: str | None = None  # the key of the failing row an example must show


CASES = {
    "agreement for an unknown loan": Case(
        set_value("agreements", "G1", "loan_id", "L9"), "agreements", "loan_id", Rule.FK_LOAN_EXISTS, key="G1"
    ),
    "legal case for an unknown loan": Case(
        set_value("legal_cases", "K1", "loan_id", "L9"), "legal_cases", "loan_id", Rule.FK_LOAN_EXISTS, key="K1"
    ),
    "profile of an unknown borrower": Case(
        set_value("borrower_profiles", "B2", "borrower_id", "B9"),
        "borrower_profiles",
        "borrower_id",
        Rule.FK_BORROWER_EXISTS,
        key="B9",
    ),
    "agreement signed before origination": Case(
        set_value("agreements", "G4", "signed_at", ts(2025, 5, 19, 18)),
        "agreements",
        "signed_at",
        Rule.AGREEMENT_AFTER_ORIGINATION,
        key="G4",
    ),
    "promise without an amount": Case(
        set_value("agreements", "G1", "promised_amount", None),
        "agreements",
        "kind",
        Rule.AGREEMENT_TERMS_MATCH_KIND,
        key="G1",
    ),
    "plan without its first due date": Case(
        set_value("agreements", "G4", "plan_first_due", None),
        "agreements",
        "kind",
        Rule.AGREEMENT_TERMS_MATCH_KIND,
        key="G4",
    ),
    "extension without its days": Case(
        set_value("agreements", "G3", "extension_days", None),
        "agreements",
        "kind",
        Rule.AGREEMENT_TERMS_MATCH_KIND,
        key="G3",
    ),
    "settlement without its amount": Case(
        _then(set_value("agreements", "G2", "settlement_amount", None)),
        "agreements",
        "kind",
        Rule.AGREEMENT_TERMS_MATCH_KIND,
        key="G2",
    ),
    "promise dated before signing": Case(
        set_value("agreements", "G1", "promised_date", dt.date(2025, 3, 17)),
        "agreements",
        "promised_date",
        Rule.PROMISE_AFTER_SIGNING,
        key="G1",
    ),
    "settlement above the open balance": Case(
        set_value("agreements", "G2", "settlement_amount", 2061.5),  # 3120 scheduled - 1060 repaid before = 2060, + 1
        "agreements",
        "settlement_amount",
        Rule.SETTLEMENT_WITHIN_BALANCE,
        key="G2",
    ),
    "certificate for interest relief": Case(
        set_value("agreements", "G5", "certificate_on", dt.date(2025, 4, 16)),
        "agreements",
        "certificate_on",
        Rule.CERTIFICATE_ONLY_WHEN_SETTLED,
        key="G5",
    ),
    "certificate for a settlement not completed": Case(
        set_value("agreements", "G2", "status", "active"),
        "agreements",
        "certificate_on",
        Rule.CERTIFICATE_ONLY_WHEN_SETTLED,
        key="G2",
    ),
    "certificate before signing": Case(
        set_value("agreements", "G2", "certificate_on", dt.date(2025, 6, 25)),
        "agreements",
        "certificate_on",
        Rule.CERTIFICATE_ONLY_WHEN_SETTLED,
        key="G2",
    ),
    "case registered before origination": Case(
        set_value("legal_cases", "K1", "registered_on", dt.date(2024, 6, 30)),
        "legal_cases",
        "registered_on",
        Rule.LEGAL_CASE_AFTER_ORIGINATION,
        key="K1",
    ),
    "letter before registration": Case(
        set_value("legal_cases", "K2", "letter_sent_on", dt.date(2025, 3, 24)),
        "legal_cases",
        "letter_sent_on",
        Rule.LETTER_AFTER_REGISTRATION,
        key="K2",
    ),
    "deadline on the letter's day": Case(
        set_value("legal_cases", "K2", "response_deadline", dt.date(2025, 3, 26)),
        "legal_cases",
        "response_deadline",
        Rule.DEADLINE_AFTER_LETTER,
        key="K2",
    ),
    "filed without a letter": Case(
        _then(
            set_value("legal_cases", "K1", "letter_sent_on", None),
            set_value("legal_cases", "K1", "response_deadline", None),
        ),
        "legal_cases",
        "filed_on",
        Rule.FILED_AFTER_LETTER,
        key="K1",
    ),
    "filed before the letter": Case(
        set_value("legal_cases", "K1", "letter_sent_on", dt.date(2024, 11, 20)),
        "legal_cases",
        "filed_on",
        Rule.FILED_AFTER_LETTER,
        key="K1",
    ),
    "filed on the deadline, before it passed": Case(
        set_value("legal_cases", "K1", "filed_on", dt.date(2024, 11, 17)),
        "legal_cases",
        "filed_on",
        Rule.FILED_AFTER_DEADLINE,
        key="K1",
    ),
    "judgment without a suit": Case(
        set_value("legal_cases", "K1", "filed_on", None),
        "legal_cases",
        "judgment_on",
        Rule.JUDGMENT_AFTER_FILING,
        key="K1",
    ),
    "award above the claim": Case(
        set_value("legal_cases", "K1", "awarded_amount", 3300.5),
        "legal_cases",
        "awarded_amount",
        Rule.AWARDED_WITHIN_CLAIM,
        key="K1",
    ),
    "enforcement without judgment": Case(
        set_value("legal_cases", "K1", "judgment_on", None),
        "legal_cases",
        "enforcement_on",
        Rule.ENFORCEMENT_AFTER_JUDGMENT,
        key="K1",
    ),
    "enforcement before judgment": Case(
        set_value("legal_cases", "K1", "enforcement_on", dt.date(2025, 2, 1)),
        "legal_cases",
        "enforcement_on",
        Rule.ENFORCEMENT_AFTER_JUDGMENT,
        key="K1",
    ),
    "listed before enforcement": Case(
        set_value("legal_cases", "K1", "listed_on", dt.date(2025, 3, 15)),
        "legal_cases",
        "dishonest_debtor_listed",
        Rule.LISTED_AFTER_ENFORCEMENT,
        key="K1",
    ),
    "listed without enforcement": Case(
        _then(
            set_value("legal_cases", "K2", "dishonest_debtor_listed", True),
            set_value("legal_cases", "K2", "listed_on", dt.date(2025, 4, 12)),
        ),
        "legal_cases",
        "dishonest_debtor_listed",
        Rule.LISTED_AFTER_ENFORCEMENT,
        key="K2",
    ),
    "closed before its letter": Case(
        set_value("legal_cases", "K2", "closed_on", dt.date(2025, 3, 25)),
        "legal_cases",
        "closed_on",
        Rule.CLOSED_AFTER_LAST_STEP,
        key="K2",
    ),
    "hardship without a reason": Case(
        set_value("collection_actions", "C13", "hardship_reason", None),
        "collection_actions",
        "hardship_reason",
        Rule.HARDSHIP_REASON_WITH_HARDSHIP,
        key="C13",
    ),
    "a reason without hardship": Case(
        set_value("collection_actions", "C11", "hardship_reason", "illness"),
        "collection_actions",
        "hardship_reason",
        Rule.HARDSHIP_REASON_WITH_HARDSHIP,
        key="C11",
    ),
    "a hold-out that sent an SMS": Case(
        set_value("collection_actions", "C14", "channel", "sms"),
        "collection_actions",
        "action",
        Rule.HOLD_OUT_NOT_A_CONTACT,
        key="C14",
    ),
    "channel none on a call": Case(
        set_value("collection_actions", "C11", "channel", "none"),
        "collection_actions",
        "action",
        Rule.HOLD_OUT_NOT_A_CONTACT,
        key="C11",
    ),
}


@pytest.fixture(scope="module")
def clean() -> ValidationReport:
    """The case book, compared with its own profile as the previous export (so the shift rules run too)."""
    book = tiny_case_book()
    previous = profile_of(book, source="case book", as_of=AS_OF)
    return validate_tables(book, as_of=AS_OF, params=PARAMS, source="case book", previous=previous)


def _result(report: ValidationReport, table: str, column: str | None, rule: Rule, *, success: bool):
    return next(
        (r for r in report.results if (r.table, r.column, r.rule, r.success) == (table, column, rule.value, success)),
        None,
    )


def test_the_case_book_passes_every_rule(clean: ValidationReport) -> None:
    """With every case table, every rule runs, and the consistent book passes them all (no note, no warning)."""
    assert clean.errors == [] and clean.warnings == [] and clean.notes == []
    only_on_failure = {Rule.TABLE_PRESENT, Rule.TABLE_ABSENT, Rule.OPTIONAL_COLUMN_ABSENT}
    declared_only = {Rule.ATTRIBUTE_MISSING_RATE}  # a source's declared attributes: tests/ingest/test_own_data.py
    assert set(Rule) - only_on_failure - declared_only <= {r.rule for r in clean.results}
    assert {t.name for t in CASE_TABLES} <= {r.table for r in clean.results if r.rule == "unique_key"}


@pytest.mark.parametrize("name", list(CASES))
def test_broken_case_fails_naming_table_column_and_rule(clean: ValidationReport, name: str) -> None:
    """The clean book passes the rule; the broken row fails it as an error naming table.column and the rule,
    with the row among the examples."""
    case = CASES[name]
    assert _result(clean, case.table, case.column, case.rule, success=True) is not None
    report = validate_tables(case.corrupt(tiny_case_book()), as_of=AS_OF, params=PARAMS)
    failure = _result(report, case.table, case.column, case.rule, success=False)
    assert failure is not None, [(r.table, r.column, r.rule) for r in report.errors]
    assert failure.severity is Severity.ERROR and failure.failing_rows == case.failing
    assert failure.detail == DESCRIPTIONS[case.rule]
    key = TABLES[case.table].key[0]
    assert [e[key] for e in failure.examples] == [case.key]
    assert case.column in failure.examples[0]
    with pytest.raises(ValidationFailed, match=rf"{case.table}\.{case.column}: .*\[rule: {case.rule.value}\]"):
        report.raise_for_errors()


def test_examples_show_what_the_rule_compared() -> None:
    """A settlement example shows the balance it was compared with; a missing term is named."""
    report = validate_tables(
        CASES["settlement above the open balance"].corrupt(tiny_case_book()), as_of=AS_OF, params=PARAMS
    )
    (error,) = report.errors
    assert error.examples[0] | {"signed_at": None} == {
        "agreement_id": "G2",
        "settlement_amount": 2061.5,
        "loan_id": "L2",
        "signed_at": None,
        "scheduled": 3120.0,
        "repaid_before": 1060.0,
        "balance": 2060.0,
    }
    report = validate_tables(CASES["promise without an amount"].corrupt(tiny_case_book()), as_of=AS_OF, params=PARAMS)
    (error,) = report.errors
    assert error.examples == ({"agreement_id": "G1", "kind": "promise_to_pay", "missing_terms": "promised_amount"},)


def test_warn_only_downgrades_a_case_table_rule() -> None:
    params = ValidateParams(warn_only=("legal_cases.filed_after_letter",))
    report = validate_tables(CASES["filed without a letter"].corrupt(tiny_case_book()), as_of=AS_OF, params=params)
    assert report.passed
    assert [(r.table, r.rule) for r in report.warnings] == [("legal_cases", "filed_after_letter")]


def test_future_promise_plan_and_deadline_are_allowed() -> None:
    """A promise, a plan's first due date and a letter's deadline may lie after as_of; a signing may not."""
    book = _then(
        set_value("agreements", "G1", "promised_date", dt.date(2025, 7, 5)),
        set_value("legal_cases", "K2", "response_deadline", dt.date(2025, 7, 10)),
    )(tiny_case_book())
    assert validate_tables(book, as_of=AS_OF, params=PARAMS).passed
    late = set_value("agreements", "G4", "signed_at", ts(2025, 7, 1, 9))(tiny_case_book())
    report = validate_tables(late, as_of=AS_OF, params=PARAMS)
    assert ("agreements", "signed_at", "not_after_as_of") in {(r.table, r.column, r.rule) for r in report.errors}


# --- absent case tables, absent nullable columns -------------------------------------------------------------
def test_absent_case_tables_are_notes_naming_what_is_not_known() -> None:
    """Without case tables validation passes; each is a note (table_absent) saying what the pipeline cannot know."""
    report = validate_tables(tiny_book(), as_of=AS_OF, params=PARAMS)
    assert report.passed and report.warnings == []
    notes = {r.table: r for r in report.notes}
    assert set(notes) == {"agreements", "legal_cases", "borrower_profiles"}
    for name, note in notes.items():
        assert (note.rule, note.severity, note.success) == ("table_absent", Severity.INFO, False)
        assert WITHOUT[name] in note.detail
    summary = report.to_dict()
    assert summary["n_notes"] == 3 and summary["tables"]["agreements"]["rows"] is None
    assert "absent, optional" in report.to_html() and '<tr class="info">' in report.to_html()


def test_a_missing_input_table_is_still_an_error() -> None:
    book = {k: v for k, v in tiny_case_book().items() if k != "repayments"}
    report = validate_tables(book, as_of=AS_OF, params=PARAMS)
    assert [(r.table, r.rule) for r in report.errors] == [("repayments", "table_present")]


def test_an_older_export_without_the_new_nullable_columns_passes_with_warnings() -> None:
    """Nullable columns the contract gained later are added as nulls with a warning naming each; the rules
    that would read them do not run on nulls the export never wrote."""
    old = tiny_book()
    old = {
        **old,
        "loans": old["loans"].drop("acceleration_clause"),
        "collection_actions": old["collection_actions"].drop("hardship_reason", "policy", "assignment_probability"),
    }
    report = validate_tables(old, as_of=AS_OF, params=PARAMS)
    assert report.passed
    assert sorted((r.table, r.column, r.rule, r.severity) for r in report.warnings) == [
        ("collection_actions", c, "optional_column_absent", Severity.WARNING)
        for c in ("assignment_probability", "hardship_reason", "policy")
    ] + [("loans", "acceleration_clause", "optional_column_absent", Severity.WARNING)]
    assert not [r for r in report.results if r.rule == "hardship_reason_with_hardship"]


def test_a_missing_required_column_of_a_case_table_is_an_error() -> None:
    book = tiny_case_book()
    book = {**book, "agreements": book["agreements"].drop("signed_at")}
    report = validate_tables(book, as_of=AS_OF, params=PARAMS)
    assert ("agreements", "signed_at", "required_column") in {(r.table, r.column, r.rule) for r in report.errors}


def test_run_writes_the_case_tables_present_and_nulls_for_absent_columns(tmp_path) -> None:
    """The stage validates and writes the case tables it finds, and writes nothing for an absent one."""
    raw, validated, reports = tmp_path / "raw", tmp_path / "validated", tmp_path / "reports"
    book = tiny_case_book()
    book = {k: v for k, v in book.items() if k != "borrower_profiles"}
    book["loans"] = book["loans"].drop("acceleration_clause")
    io.write_tables(book, raw)
    report = run(raw, validated, reports, as_of=AS_OF, params=PARAMS, rules=CollectionRules())
    assert report.passed and [r.table for r in report.notes] == ["borrower_profiles"]
    assert not (validated / "borrower_profiles.parquet").exists()
    for name in ("agreements", "legal_cases"):
        assert_frame_equal(pl.read_parquet(validated / f"{name}.parquet"), conform(book[name], TABLES[name]))
    loans = pl.read_parquet(validated / "loans.parquet")
    assert loans.schema == pl.Schema(TABLES["loans"].schema) and loans["acceleration_clause"].null_count() == 3
    summary = json.loads((reports / "validation.json").read_text())
    assert summary["tables"]["borrower_profiles"] == {
        "rows": None,
        "results": [
            {
                "table": "borrower_profiles",
                "column": None,
                "rule": "table_absent",
                "severity": "info",
                "success": False,
                "failing_rows": 0,
                "detail": f"optional table not in the export: {WITHOUT['borrower_profiles']}",
                "examples": [],
            }
        ],
    }
    assert io.read_tables(validated, CASE_TABLES).keys() == {"agreements", "legal_cases"}


def test_every_rule_says_what_it_expects() -> None:
    assert set(DESCRIPTIONS) == set(Rule)
    for rule in LAWFUL_COLLECTION:
        assert "{" not in describe(rule) and "collection_rules." in describe(rule)
    assert set(WITHOUT) == {t.name for t in CASE_TABLES}
    assert re.search(r"at most 3 effective voice contacts", describe(Rule.VOICE_CONTACTS_OVER_DAILY_CAP))
