"""The replay names every rule a plan breaks, from the tables alone (so a planner cannot hide behind its gates)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from risk.config import CollectionRules, ContactRules
from risk.policy.replay import violations

WORK = dt.date(2026, 1, 1)
RULES, CONTACT = CollectionRules(), ContactRules()


def at(hour: int, day: dt.date = WORK) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour))


def queue(*rows: tuple[str, str, str, dt.datetime]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {"loan_id": loan, "borrower_id": b, "next_action": a, "next_contact_at": t, "scheduled": True}
            for loan, b, a, t in rows
        ],
        schema={
            "loan_id": pl.String,
            "borrower_id": pl.String,
            "next_action": pl.String,
            "next_contact_at": pl.Datetime("us"),
            "scheduled": pl.Boolean,
        },
    )


def tables() -> dict[str, pl.DataFrame]:
    loans = pl.DataFrame(
        {"loan_id": [f"L{i}" for i in range(1, 9)], "borrower_id": ["B1", "B2", "B2", "B3", "B4", "B5", "B6", "B7"]}
    )
    actions = pl.DataFrame(
        {
            "loan_id": ["L4", "L8"],
            "action_at": [at(11, WORK - dt.timedelta(days=3)), at(18, WORK - dt.timedelta(days=1))],
            "outcome": ["complaint", "refused"],
            "channel": ["phone", "phone"],
        }
    )
    agreements = pl.DataFrame(
        {
            "loan_id": ["L5", "L7"],
            "kind": ["promise_to_pay", "instalment_plan"],
            "signed_at": [at(10, WORK - dt.timedelta(days=2)), at(10, WORK - dt.timedelta(days=40))],
            "promised_date": [WORK + dt.timedelta(days=1), None],
            "status": ["active", "active"],
            "status_on": [None, None],
        },
        schema_overrides={"status_on": pl.Date, "promised_date": pl.Date},
    )
    legal = pl.DataFrame(
        {
            "loan_id": ["L6"],
            "letter_sent_on": [WORK - dt.timedelta(days=3)],
            "response_deadline": [WORK + dt.timedelta(days=12)],
            "filed_on": [None],
        },
        schema_overrides={"filed_on": pl.Date},
    )
    return {"loans": loans, "collection_actions": actions, "agreements": agreements, "legal_cases": legal}


def test_a_lawful_plan_has_no_violations():
    plan = queue(("L1", "B1", "call", at(10)), ("L2", "B2", "sms", at(9)))
    assert violations(plan, tables(), RULES, CONTACT, work_date=WORK).is_empty()


def test_each_broken_rule_is_named():
    plan = queue(
        ("L1", "B1", "call", at(23)),  # quiet hours
        ("L2", "B2", "sms", at(9)),
        ("L3", "B2", "call", at(10)),  # a second action for B2
        ("L4", "B3", "sms", at(9)),  # complained three days ago
        ("L5", "B4", "call", at(9)),  # promised to pay tomorrow
        ("L6", "B5", "litigation", at(9)),  # the letter's deadline has not passed
        ("L7", "B6", "sms", at(9)),  # an instalment plan is running
        ("L8", "B7", "call", at(9)),  # refused yesterday evening: cooling off for 48 hours
    )
    found = violations(plan, tables(), RULES, CONTACT, work_date=WORK)
    assert set(found.select("loan_id", "rule").iter_rows()) == {
        ("L1", "contact_in_quiet_hours"),
        ("L2", "more_than_one_action_per_borrower"),
        ("L4", "contact_after_no_contact_request_or_complaint"),
        ("L5", "action_during_a_running_promise"),
        ("L6", "suit_before_the_letters_deadline"),
        ("L7", "action_during_a_running_agreement"),
        ("L8", "contact_during_the_cooling_off_after_a_refusal"),
    }


def test_a_planned_contact_pushed_to_another_day_is_not_tomorrows_plan():
    found = violations(
        queue(("L1", "B1", "call", at(10, WORK + dt.timedelta(days=1)))), tables(), RULES, CONTACT, work_date=WORK
    )
    assert found["rule"].to_list() == ["contact_in_quiet_hours"]
