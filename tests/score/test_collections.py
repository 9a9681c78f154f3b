"""Collections decisions: lawful contact times, legal hand-over, capacity, and value-based priority."""

import dataclasses
import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from risk.config import ContactRules, ScoreParams
from risk.score.collections import build_collections_queue, legal_referral, next_contact_at

AS_OF = dt.date(2025, 6, 30)
WORK = AS_OF + dt.timedelta(days=1)
PARAMS = ScoreParams()


def row(**over) -> dict:
    base = {
        "loan_id": "L",
        "borrower_id": "B",
        "days_past_due": 10,
        "exposure": 5000.0,
        "arrears_amount": 600.0,
        "instalment_amount": 600.0,
        "outstanding_principal": 5000.0,
        "ew_probability": 0.3,
        "cure_probability": 0.5,
        "refusals_90d": 0,
        "unreachable_90d": 0,
        "broken_promises_90d": 0,
        "promises_90d": 0,
        "reach_rate_90d": 1.0,
        "partial_payments": 0,
        "days_since_last_payment": 10,
        "paid_to_due_all": 0.8,
        "months_on_book": 6,
        "max_ladder_step": 1,
        "contract_max_overdue_days": 90,
        "last_refusal_at": None,
        "contacts_on_work_date": 0,
    }
    return {**base, **over}


def frame(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(
        [{"judgment_on": None, "response_deadline": None, **r} for r in rows],
        schema_overrides={"last_refusal_at": pl.Datetime("us"), "judgment_on": pl.Date, "response_deadline": pl.Date},
    )


def queue(*rows: dict, params: ScoreParams = PARAMS) -> pl.DataFrame:
    return build_collections_queue(frame(*rows), params, as_of=AS_OF)


@settings(max_examples=200, deadline=None)
@given(
    refusal=st.one_of(st.none(), st.datetimes(dt.datetime(2025, 6, 25), dt.datetime(2025, 7, 2, 23))),
    contacts=st.integers(0, 5),
    start=st.integers(6, 10),
    end=st.integers(17, 23),
    cooling=st.integers(0, 96),
)
def test_next_contact_is_always_lawful(refusal, contacts, start, end, cooling):
    """Within hours, after the cooling-off period, never on a day the daily cap is reached."""
    rules = ContactRules(start_hour=start, end_hour=end, cooling_off_hours_after_refusal=cooling)
    out = next_contact_at(frame(row(last_refusal_at=refusal, contacts_on_work_date=contacts)), rules, work_date=WORK)[
        "next_contact_at"
    ].item()
    assert start <= out.hour + out.minute / 60 < end
    assert out.date() >= WORK
    if refusal is not None:
        assert out >= refusal + dt.timedelta(hours=cooling)
    if contacts >= rules.daily_cap_per_borrower:
        assert out.date() > WORK


def test_each_legal_criterion_refers_the_case():
    rows = frame(
        row(loan_id="beyond", days_past_due=120),
        row(loan_id="refuses", refusals_90d=3),
        row(loan_id="broken", broken_promises_90d=3),
        row(loan_id="ordinary"),
    ).with_columns(overdue_type=pl.lit("temporary"))
    out = legal_referral(rows, PARAMS.legal)
    got = dict(zip(out["loan_id"], out["legal_criteria"].to_list(), strict=True))
    assert got == {
        "beyond": ["overdue_beyond_contract_max"],
        "refuses": ["refuses_to_communicate"],
        "broken": ["unreasonable_proposal"],
        "ordinary": [],
    }
    assert out["legal_referral"].to_list() == [True, True, True, False]


def test_refusing_borrower_is_malicious_and_goes_to_legal():
    out = queue(row(refusals_90d=3))
    assert out["overdue_type"].item() == "malicious"
    assert out["legal_referral"].item()
    assert out["next_action"].item() == "lawyers_letter"
    assert "refused 3 times" in out["type_evidence"].item()


def test_the_four_overdue_types():
    out = queue(
        row(loan_id="t", days_past_due=5),
        row(loan_id="m", refusals_90d=2),
        row(loan_id="s", days_past_due=70, partial_payments=3),
        row(loan_id="i", days_past_due=150, cure_probability=0.01, days_since_last_payment=120),
    )
    assert dict(zip(out["loan_id"], out["overdue_type"], strict=True)) == {
        "t": "temporary",
        "m": "malicious",
        "s": "severe",
        "i": "insolvent",
    }
    actions = dict(zip(out["loan_id"], out["next_action"], strict=True))
    assert actions["t"] == "sms" and actions["s"] == "instalment_plan"


def test_litigation_only_where_it_pays():
    letter = {"response_deadline": AS_OF - dt.timedelta(days=5)}  # the lawyer's letter's deadline has passed
    big = row(
        loan_id="big",
        borrower_id="B1",
        days_past_due=150,
        max_ladder_step=3,
        exposure=50000.0,
        refusals_90d=3,
        **letter,
    )
    small = row(
        loan_id="small",
        borrower_id="B2",
        days_past_due=150,
        max_ladder_step=3,
        exposure=300.0,
        arrears_amount=100.0,
        refusals_90d=3,
        **letter,
    )
    out = queue(big, small)
    actions = dict(zip(out["loan_id"], out["next_action"], strict=True))
    assert actions == {"big": "litigation", "small": "settlement"}
    net = dict(zip(out["loan_id"], out["litigation_net_value"], strict=True))
    assert net["big"] > 0 > net["small"]


def test_no_suit_before_the_letters_deadline_and_no_enforcement_without_a_judgment():
    case = {"borrower_id": "B1", "days_past_due": 150, "max_ladder_step": 5, "exposure": 50000.0, "refusals_90d": 3}
    waiting = row(loan_id="waiting", response_deadline=AS_OF + dt.timedelta(days=3), **case)
    judged = row(loan_id="judged", judgment_on=AS_OF - dt.timedelta(days=30), **{**case, "borrower_id": "B2"})
    sued_before = row(loan_id="no_letter", **{**case, "borrower_id": "B3"})  # the log says enforcement, no judgment
    out = queue(waiting, judged, sued_before)
    actions = dict(zip(out["loan_id"], out["next_action"], strict=True))
    assert actions == {"waiting": "settlement", "judged": "enforcement", "no_letter": "lawyers_letter"}


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 60), cap=st.integers(0, 10), borrowers=st.integers(1, 30), seed=st.integers(0, 10_000))
def test_capacity_is_never_exceeded_and_one_contact_per_borrower(n, cap, borrowers, seed):
    import random

    rnd = random.Random(seed)
    rows = [
        row(
            loan_id=f"L{i}",
            borrower_id=f"B{rnd.randrange(borrowers)}",
            days_past_due=rnd.randrange(1, 30),
            arrears_amount=rnd.uniform(100, 5000),
            cure_probability=rnd.random(),
        )
        for i in range(n)
    ]
    params = ScoreParams(capacity={"sms": cap, "call": cap})
    out = queue(*rows, params=params)
    per_channel = out.filter("scheduled").group_by("channel").len()
    assert all(count <= cap for count in per_channel["len"])
    assert out.filter("scheduled")["borrower_id"].is_unique().all()


def test_capacity_goes_to_the_most_valuable_contacts_not_the_likeliest():
    """With one call a day, a likely-to-pay small debt loses to a less likely but much larger one."""
    likely_small = row(loan_id="small", borrower_id="B1", days_past_due=20, arrears_amount=200.0, cure_probability=0.9)
    larger = row(loan_id="large", borrower_id="B2", days_past_due=20, arrears_amount=8000.0, cure_probability=0.4)
    out = queue(likely_small, larger, params=ScoreParams(capacity={"call": 1}))
    assert out.filter("scheduled")["loan_id"].to_list() == ["large"]
    assert out["priority_rank"].to_list() == [1, 2]


def test_current_loan_joins_the_queue_only_when_at_risk():
    out = queue(
        row(loan_id="risky", days_past_due=0, ew_probability=0.4),
        row(loan_id="safe", borrower_id="B2", days_past_due=0, ew_probability=0.01),
    )
    assert out["loan_id"].to_list() == ["risky"]
    assert out["overdue_type"].to_list() == [None]
    assert out["next_action"].to_list() == ["sms"]


def test_charged_off_loans_leave_the_daily_queue():
    out = queue(
        row(loan_id="recent", days_past_due=100),
        row(loan_id="written_off", borrower_id="B2", days_past_due=PARAMS.charge_off_dpd),
    )
    assert out["loan_id"].to_list() == ["recent"]


def test_a_queued_loan_whose_case_evidence_was_never_gathered_stops_the_queue():
    """The stage's score_loans gathers case evidence only for the day's candidates and leaves the rest null; queued
    under a lower at_risk_threshold such a loan would read as never silenced and under no agreement, so the queue
    refuses it rather than plan a contact the rules may forbid."""
    gathered = row(loan_id="gathered", agreement_running=False)
    skipped = row(loan_id="skipped", borrower_id="B2", days_past_due=0, ew_probability=0.1, agreement_running=None)
    assert queue(gathered, skipped)["loan_id"].to_list() == ["gathered"]  # not a candidate at the day's threshold
    with pytest.raises(ValueError, match="skipped"):
        queue(gathered, skipped, params=dataclasses.replace(PARAMS, at_risk_threshold=0.05))
