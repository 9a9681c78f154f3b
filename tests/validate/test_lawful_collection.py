"""Lawful collection (合规催收) on the recorded contacts: each breach is a warning that names and counts the
contacts; the book at every limit passes; the limits come from params' collection_rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from tests.books import Book, add_actions, set_value, tiny_case_book

from risk.config import CollectionRules, ValidateParams
from risk.validate import Rule, Severity, ValidationReport, validate_tables
from risk.validate.rules import LAWFUL_COLLECTION, describe

AS_OF = dt.date(2025, 6, 30)
PARAMS = ValidateParams()
ts = dt.datetime


@dataclass(frozen=True)
class Case:
    corrupt: Callable[[Book], Book]
    column: str
    rule: Rule
    flagged: tuple[str, ...]  # the action_id of every contact reported


CASES = {
    "an SMS at 22:00": Case(
        add_actions(("X1", "L2", ts(2025, 6, 24, 22), "sms", "sms", "delivered")),
        "action_at",
        Rule.CONTACT_IN_QUIET_HOURS,
        ("X1",),
    ),
    "a call at 07:59": Case(
        add_actions(("X1", "L1", ts(2025, 3, 17, 7, 59), "call", "phone", "unreachable")),
        "action_at",
        Rule.CONTACT_IN_QUIET_HOURS,
        ("X1",),
    ),
    "a fourth effective voice contact in a day, on the borrower's other loan": Case(
        add_actions(("X1", "L3", ts(2025, 3, 18, 17), "negotiation", "video", "disputed")),
        "action_at",
        Rule.VOICE_CONTACTS_OVER_DAILY_CAP,
        ("X1",),
    ),
    "a seventh unanswered call in a day": Case(
        add_actions(("X1", "L2", ts(2025, 6, 23, 16), "call", "phone", "unreachable")),
        "action_at",
        Rule.UNANSWERED_OVER_DAILY_CAP,
        ("X1",),
    ),
    "a third party contacted after a delivered SMS only": Case(
        add_actions(("X1", "L1", ts(2025, 3, 17, 10), "third_party_contact", "phone", "reached")),
        "action",
        Rule.THIRD_PARTY_BEFORE_UNREACHABLE,
        ("X1",),
    ),
    "a third party contacted after the debtor was reached again": Case(
        add_actions(
            ("X1", "L2", ts(2025, 6, 24, 10), "call", "phone", "refused"),
            ("X2", "L2", ts(2025, 6, 24, 11), "call", "phone", "unreachable"),
            ("X3", "L2", ts(2025, 6, 24, 12), "third_party_contact", "phone", "unreachable"),
        ),
        "action",
        Rule.THIRD_PARTY_BEFORE_UNREACHABLE,
        ("X3",),
    ),
    "an SMS within 30 days of a no-contact request": Case(
        add_actions(("X1", "L2", ts(2025, 6, 10, 10), "sms", "sms", "delivered")),
        "action_at",
        Rule.CONTACT_AFTER_NO_CONTACT_REQUEST,
        ("X1",),
    ),
    "a call on another loan of a borrower who complained": Case(
        add_actions(
            ("X1", "L3", ts(2025, 3, 22, 10), "call", "phone", "complaint"),
            ("X2", "L1", ts(2025, 4, 20, 10), "call", "phone", "unreachable"),  # day 29 after the complaint
            ("X3", "L1", ts(2025, 4, 21, 10, 0, 1), "sms", "sms", "delivered"),  # 30 days and a second after it
        ),
        "action_at",
        Rule.CONTACT_AFTER_NO_CONTACT_REQUEST,
        ("X2",),
    ),
}


@pytest.fixture(scope="module")
def clean() -> ValidationReport:
    return validate_tables(tiny_case_book(), as_of=AS_OF, params=PARAMS)


def _result(report: ValidationReport, rule: Rule):
    (result,) = [r for r in report.results if r.rule == rule.value]
    return result


@pytest.mark.parametrize("rule", sorted(LAWFUL_COLLECTION), ids=str)
def test_the_book_at_every_limit_passes(clean: ValidationReport, rule: Rule) -> None:
    """3 voice contacts a day, 6 unanswered calls, a third party after 6 unanswered, contact again after
    30 days, 21:59 and 08:00: all lawful."""
    result = _result(clean, rule)
    assert (result.table, result.success, result.failing_rows) == ("collection_actions", True, 0)


@pytest.mark.parametrize("name", list(CASES))
def test_a_breach_is_a_warning_naming_and_counting_the_contacts(name: str) -> None:
    case = CASES[name]
    report = validate_tables(case.corrupt(tiny_case_book()), as_of=AS_OF, params=PARAMS)
    assert report.passed, "lawful-collection breaches are warnings: a real history has a few"
    result = _result(report, case.rule)
    assert (result.table, result.column, result.severity, result.success) == (
        "collection_actions",
        case.column,
        Severity.WARNING,
        False,
    )
    assert result in report.warnings
    assert result.failing_rows == len(case.flagged)
    assert tuple(e["action_id"] for e in result.examples) == case.flagged
    assert result.detail == describe(case.rule)


def test_per_day_examples_show_the_borrower_and_the_day_count() -> None:
    report = validate_tables(
        CASES["a fourth effective voice contact in a day, on the borrower's other loan"].corrupt(tiny_case_book()),
        as_of=AS_OF,
        params=PARAMS,
    )
    (example,) = _result(report, Rule.VOICE_CONTACTS_OVER_DAILY_CAP).examples
    assert example == {
        "action_id": "X1",
        "action_at": ts(2025, 3, 18, 17),
        "loan_id": "L3",
        "borrower_id": "B1",
        "channel": "video",
        "outcome": "disputed",
        "that_day": 4,
    }


def test_unanswered_rule_says_the_borrower_stands_in_for_the_phone_number() -> None:
    assert "the contract has no phone number, so the borrower stands in for it" in describe(
        Rule.UNANSWERED_OVER_DAILY_CAP
    )


@pytest.mark.parametrize(
    ("rules", "rule", "failing"),
    [
        (CollectionRules(quiet_start_hour=21), Rule.CONTACT_IN_QUIET_HOURS, 1),  # the SMS at 21:59
        (CollectionRules(quiet_end_hour=9), Rule.CONTACT_IN_QUIET_HOURS, 1),  # the call at 08:00
        (CollectionRules(max_voice_contacts_per_day=2), Rule.VOICE_CONTACTS_OVER_DAILY_CAP, 1),
        (CollectionRules(max_unanswered_per_day=4), Rule.UNANSWERED_OVER_DAILY_CAP, 2),
        (CollectionRules(third_party_after_failed_attempts=7), Rule.THIRD_PARTY_BEFORE_UNREACHABLE, 1),
        (CollectionRules(no_contact_days_after_request=31), Rule.CONTACT_AFTER_NO_CONTACT_REQUEST, 1),
    ],
)
def test_the_limits_come_from_collection_rules(rules: CollectionRules, rule: Rule, failing: int) -> None:
    """Tighter collection_rules turn the book's contacts at the default limits into reported breaches."""
    report = validate_tables(tiny_case_book(), as_of=AS_OF, params=PARAMS, rules=rules)
    result = _result(report, rule)
    assert (result.success, result.failing_rows) == (False, failing)
    assert result.detail == describe(rule, rules)


def test_hold_outs_and_legal_steps_are_no_contacts() -> None:
    """A hold-out after midnight and a lawyer's letter at 23:00, both within a no-contact period, break no
    collection rule; the same hold-out row sending an SMS breaks two."""
    book = add_actions(
        ("X1", "L2", ts(2025, 6, 5, 0, 30), "hold_out", "none", "not_contacted"),
        ("X2", "L2", ts(2025, 5, 25, 23), "lawyers_letter", "letter", "delivered"),
    )(tiny_case_book())
    report = validate_tables(book, as_of=AS_OF, params=PARAMS)
    assert report.warnings == [] and report.passed
    broken = set_value("collection_actions", "X1", "channel", "sms")(book)
    report = validate_tables(broken, as_of=AS_OF, params=PARAMS)
    assert [r.rule for r in report.errors] == ["hold_out_not_a_contact"]
    assert [r.rule for r in report.warnings] == [
        "contact_in_quiet_hours",
        "contact_after_no_contact_request",
    ]
