"""Lawful options: what the collection rules and the legal ladder allow on the work day, and why not."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from risk.config import CollectionRules, ContactRules, PolicyParams, ScoreParams
from risk.policy.options import case_gates, options
from risk.policy.plan import assign

WORK = dt.date(2026, 1, 1)
RULES, CONTACT, POLICY = CollectionRules(), ContactRules(), PolicyParams()


def case(**over) -> dict:
    base = {
        "loan_id": "L1",
        "borrower_id": "B1",
        "days_past_due": 45,
        "promise_until": None,
        "agreement_running": False,
        "last_silenced_on": None,
        "last_refusal_at": None,
        "contacts_on_work_date": 0,
        "voice_contacts_on_work_date": 0,
        "unanswered_on_work_date": 0,
        "letter_sent_on": None,
        "response_deadline": None,
        "filed_on": None,
        "legal_criteria": [],
        "litigation_cost": 2000.0,
        "litigation_net_value": 500.0,
    }
    return {**base, **over}


def frame(**over) -> pl.DataFrame:
    return pl.DataFrame(
        [case(**over)],
        schema_overrides={
            "promise_until": pl.Date,
            "last_silenced_on": pl.Date,
            "last_refusal_at": pl.Datetime("us"),
            "letter_sent_on": pl.Date,
            "response_deadline": pl.Date,
            "filed_on": pl.Date,
            "legal_criteria": pl.List(pl.String),
        },
    )


def gates(**over) -> dict:
    return case_gates(frame(**over), RULES, CONTACT, POLICY, work_date=WORK).row(0, named=True)


def lawful_actions(**over) -> set[str]:
    f = frame(**over)
    g = case_gates(f, RULES, CONTACT, POLICY, work_date=WORK)
    actions = ["sms", "call", "settlement", "lawyers_letter", "litigation"]
    effects = pl.DataFrame(
        {"loan_id": ["L1"] * 5, "action": actions, "expected_paid": [1.0] * 5, "expected_gain": [1.0] * 5}
    )
    return set(options(f, effects, g, ScoreParams())["action"].to_list())


def test_an_ordinary_overdue_case_may_be_reminded_called_offered_and_sent_a_letter_but_not_sued():
    assert lawful_actions() == {"sms", "call", "settlement", "lawyers_letter"}


def test_a_running_promise_holds_every_action_until_its_date_plus_grace():
    assert lawful_actions(promise_until=WORK + dt.timedelta(days=2)) == set()
    assert "promise to pay running" in gates(promise_until=WORK)["barred_because"]
    assert lawful_actions(promise_until=WORK - dt.timedelta(days=1)) != set()


def test_an_agreement_being_executed_holds_every_action():
    assert lawful_actions(agreement_running=True) == set()


@pytest.mark.parametrize("days_ago", [0, 10, 29])
def test_no_contact_after_a_request_or_complaint_but_a_suit_may_proceed(days_ago):
    silenced = WORK - dt.timedelta(days=days_ago)
    ready = {"letter_sent_on": WORK - dt.timedelta(days=30), "response_deadline": WORK - dt.timedelta(days=15)}
    got = lawful_actions(last_silenced_on=silenced, legal_criteria=["refuses_to_communicate"], **ready)
    assert got == {"litigation"}


def test_a_refusal_yesterday_cools_off_every_contact_for_the_work_day():
    refused = dt.datetime.combine(WORK - dt.timedelta(days=1), dt.time(15))
    assert lawful_actions(last_refusal_at=refused) == set()
    long_ago = dt.datetime.combine(WORK - dt.timedelta(days=5), dt.time(15))
    assert "call" in lawful_actions(last_refusal_at=long_ago)


def test_the_daily_voice_cap_counts_the_borrowers_contacts_already_made():
    got = lawful_actions(voice_contacts_on_work_date=RULES.max_voice_contacts_per_day)
    assert "call" not in got and "settlement" not in got and "sms" in got
    assert "call" not in lawful_actions(unanswered_on_work_date=RULES.max_unanswered_per_day)
    assert lawful_actions(contacts_on_work_date=CONTACT.daily_cap_per_borrower) <= {"litigation"}


def test_the_legal_ladder_in_order():
    assert "lawyers_letter" not in lawful_actions(days_past_due=POLICY.letter_min_dpd - 1)
    recent_letter = {"letter_sent_on": WORK - dt.timedelta(days=5), "response_deadline": WORK + dt.timedelta(days=10)}
    got = lawful_actions(legal_criteria=["fraud_or_malicious_evasion"], **recent_letter)
    assert "lawyers_letter" not in got and "litigation" not in got  # no second letter, no suit before the deadline
    past_deadline = {"letter_sent_on": WORK - dt.timedelta(days=30), "response_deadline": WORK - dt.timedelta(days=15)}
    assert "litigation" in lawful_actions(legal_criteria=["fraud_or_malicious_evasion"], **past_deadline)
    assert "litigation" not in lawful_actions(**past_deadline)  # no legal criterion met
    losing = lawful_actions(legal_criteria=["fraud_or_malicious_evasion"], litigation_net_value=-1.0, **past_deadline)
    assert "litigation" not in losing  # a suit that costs more than it would recover in court
    filed = {**past_deadline, "filed_on": WORK - dt.timedelta(days=3)}
    assert "litigation" not in lawful_actions(legal_criteria=["fraud_or_malicious_evasion"], **filed)


def test_an_options_value_is_its_gain_minus_its_cost():
    f = frame()
    g = case_gates(f, RULES, CONTACT, POLICY, work_date=WORK)
    effects = pl.DataFrame({"loan_id": ["L1"], "action": ["call"], "expected_paid": [90.0], "expected_gain": [40.0]})
    row = options(f, effects, g, ScoreParams(cost={"call": 3.0})).row(0, named=True)
    assert (row["team"], row["cost"], row["value"]) == ("call", 3.0, 37.0)


@st.composite
def books(draw):
    """Up to 8 loans of up to 4 borrowers, each with random promises, agreements, silences, refusals and caps."""
    rows = []
    for i in range(draw(st.integers(1, 8))):
        maybe_day = st.one_of(st.none(), st.integers(-40, 10).map(lambda d: WORK + dt.timedelta(days=d)))
        refusal = st.one_of(
            st.none(),
            st.integers(-120, 0).map(lambda h: dt.datetime.combine(WORK, dt.time(12)) + dt.timedelta(hours=h)),
        )
        rows.append(
            case(
                loan_id=f"L{i}",
                borrower_id=f"B{draw(st.integers(0, 3))}",
                days_past_due=draw(st.integers(1, 179)),
                promise_until=draw(maybe_day),
                agreement_running=draw(st.booleans()),
                last_silenced_on=draw(maybe_day),
                last_refusal_at=draw(refusal),
                voice_contacts_on_work_date=draw(st.integers(0, 4)),
                letter_sent_on=draw(maybe_day),
                response_deadline=draw(maybe_day),
                legal_criteria=draw(st.lists(st.sampled_from(["refuses_to_communicate"]), max_size=1)),
            )
        )
    return pl.DataFrame(rows, schema_overrides=frame().schema)


@settings(max_examples=150, deadline=None)
@given(books(), st.integers(0, 3))
def test_the_plan_never_takes_an_option_the_rules_bar(book, cap):
    g = case_gates(book, RULES, CONTACT, POLICY, work_date=WORK)
    actions = ["sms", "call", "settlement", "lawyers_letter", "litigation"]
    effects = pl.DataFrame(
        {
            "loan_id": [loan for loan in book["loan_id"] for _ in actions],
            "action": actions * book.height,
            "expected_paid": 100.0,
            "expected_gain": 100.0,
        }
    )
    taken = assign(
        options(book, effects, g, ScoreParams()),
        {t: cap for t in ("sms", "call", "negotiation", "lawyers_letter", "litigation")},
    )
    assert taken["borrower_id"].is_unique().all()
    state = taken.join(book, on="loan_id")
    for row in state.iter_rows(named=True):
        assert not row["agreement_running"]
        assert row["promise_until"] is None or row["promise_until"] < WORK
        if row["action"] not in ("lawyers_letter", "litigation"):  # a no-contact request stops collection, not the law
            silenced = row["last_silenced_on"]
            assert silenced is None or silenced + dt.timedelta(days=RULES.no_contact_days_after_request) < WORK
        if row["action"] in ("call", "settlement"):
            assert row["voice_contacts_on_work_date"] < RULES.max_voice_contacts_per_day
        if row["action"] == "litigation":
            assert row["response_deadline"] is not None and row["response_deadline"] < WORK
