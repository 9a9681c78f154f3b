"""Agreements followed up: a promise kept or broken at its date plus grace, a plan broken on its first
miss, reminders before each agreed date, the contract's consequence, and who may approve a write-down."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from risk.cases.agreements import agreed_dates, agreements_day, approver
from risk.config import CaseParams

AS_OF = dt.date(2026, 3, 10)
PARAMS = CaseParams(reminder_days_before=2, recent_days=7)
GRACE = 3
TERMS = {
    "promised_date": pl.Date,
    "promised_amount": pl.Float64,
    "plan_instalments": pl.Int64,
    "plan_first_due": pl.Date,
    "plan_instalment_amount": pl.Float64,
    "extension_days": pl.Int64,
    "relief_amount": pl.Float64,
    "settlement_amount": pl.Float64,
    "write_down_amount": pl.Float64,
    "certificate_on": pl.Date,
}


def agreement(agreement_id: str, kind: str, signed: dt.date, status: str = "active", status_on=None, **terms):
    row = {
        "agreement_id": agreement_id,
        "loan_id": "L1",
        "kind": kind,
        "channel": "phone",
        "signed_at": dt.datetime.combine(signed, dt.time(10)),
        "status": status,
        "status_on": status_on or signed,
        **{k: None for k in TERMS},
        **terms,
    }
    return row


def frame(*rows: dict) -> pl.DataFrame:
    schema = {
        "agreement_id": pl.String,
        "loan_id": pl.String,
        "kind": pl.String,
        "channel": pl.String,
        "signed_at": pl.Datetime("us"),
        "status": pl.String,
        "status_on": pl.Date,
        **TERMS,
    }
    return pl.DataFrame(list(rows), schema=schema)


def payments(*rows: tuple[dt.date, float]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "loan_id": ["L1"] * len(rows),
            "paid_at": [dt.datetime.combine(d, dt.time(12)) for d, _ in rows],
            "amount": [a for _, a in rows],
        },
        schema={"loan_id": pl.String, "paid_at": pl.Datetime("us"), "amount": pl.Float64},
    )


LOANS = pl.DataFrame({"loan_id": ["L1"], "borrower_id": ["B1"], "acceleration_clause": [True]})


def day(agreements: pl.DataFrame, repayments: pl.DataFrame, as_of: dt.date = AS_OF) -> dict:
    out = agreements_day(agreements, repayments, LOANS, PARAMS, grace_days=GRACE, as_of=as_of)
    return {r["agreement_id"]: r for r in out.iter_rows(named=True)}


def test_a_plan_asks_for_each_monthly_instalment():
    plan = frame(
        agreement(
            "P",
            "instalment_plan",
            dt.date(2026, 1, 5),
            plan_instalments=3,
            plan_first_due=dt.date(2026, 1, 31),
            plan_instalment_amount=100.0,
        )
    )
    got = agreed_dates(plan, PARAMS)
    assert got["agreed_date"].to_list() == [dt.date(2026, 1, 31), dt.date(2026, 2, 28), dt.date(2026, 3, 31)]
    assert got["cum_agreed"].to_list() == [100.0, 200.0, 300.0]


def test_a_promise_runs_until_its_date_then_is_kept_when_paid():
    promise = frame(
        agreement("A", "promise_to_pay", dt.date(2026, 3, 1), promised_date=dt.date(2026, 3, 12), promised_amount=500.0)
    )
    running = day(promise, payments())["A"]
    assert running["state"] == "due"  # the 12th is within two days of the work day (the 11th)
    assert running["next_agreed_date"] == dt.date(2026, 3, 12)
    assert running["reminder_on"] == dt.date(2026, 3, 10)
    kept = day(promise, payments((dt.date(2026, 3, 12), 500.0)), as_of=dt.date(2026, 3, 16))["A"]
    assert kept["detected_status"] == "kept"
    assert kept["state"] == "kept"


def test_an_unpaid_promise_is_broken_once_its_grace_has_passed_and_collection_resumes():
    promise = frame(
        agreement("A", "promise_to_pay", dt.date(2026, 3, 1), promised_date=dt.date(2026, 3, 5), promised_amount=500.0)
    )
    inside_grace = day(promise, payments((dt.date(2026, 3, 2), 100.0)), as_of=dt.date(2026, 3, 7))["A"]
    assert inside_grace["detected_status"] == "active"
    broken = day(promise, payments((dt.date(2026, 3, 2), 100.0)), as_of=dt.date(2026, 3, 8))["A"]
    assert broken["state"] == "broken"
    assert broken["state_on"] == dt.date(2026, 3, 8)
    assert broken["shortfall"] == pytest.approx(400.0)
    assert broken["next_step"] == "resume_collection"


def test_an_agreed_date_counts_only_what_was_paid_from_signing_to_its_grace():
    """A payment before the signing belongs to no agreement; one after the grace does not mend the miss; an
    earlier agreement on the same loan does not lend this one its payments."""
    promises = frame(
        agreement("A", "promise_to_pay", dt.date(2026, 2, 1), promised_date=dt.date(2026, 2, 26), promised_amount=300),
        agreement("B", "promise_to_pay", dt.date(2026, 3, 1), promised_date=dt.date(2026, 3, 5), promised_amount=500),
    )
    paid = payments((dt.date(2026, 2, 25), 500.0), (dt.date(2026, 3, 9), 500.0))
    late = day(promises, paid, as_of=dt.date(2026, 3, 10))
    assert "A" not in late  # kept on 25 Feb, within its own term, and past the recent week
    assert late["B"]["detected_status"] == "broken"  # 25 Feb was before B; 9 March after its grace (the 8th)
    assert late["B"]["state_on"] == dt.date(2026, 3, 8)
    assert late["B"]["paid_since_signing"] == pytest.approx(500.0)


def test_a_plan_kept_for_two_months_then_broken_on_its_first_miss_accelerates():
    plan = frame(
        agreement(
            "P",
            "instalment_plan",
            dt.date(2026, 1, 5),
            plan_instalments=6,
            plan_first_due=dt.date(2026, 1, 20),
            plan_instalment_amount=100.0,
        )
    )
    paid = payments((dt.date(2026, 1, 19), 100.0), (dt.date(2026, 2, 20), 100.0))
    kept = day(plan, paid, as_of=dt.date(2026, 3, 15))["P"]
    assert kept["detected_status"] == "active"
    assert kept["next_agreed_date"] == dt.date(2026, 3, 20)
    assert kept["reminder_on"] == dt.date(2026, 3, 18)
    broken = day(plan, paid, as_of=dt.date(2026, 3, 23))["P"]  # the 20 March instalment, grace to the 23rd
    assert broken["detected_status"] == "broken"
    assert broken["state_on"] == dt.date(2026, 3, 23)
    assert broken["consequence"] == "accelerate"  # the contract has an acceleration clause


def test_a_second_broken_agreement_goes_to_legal():
    plans = frame(
        agreement("P1", "extension", dt.date(2026, 1, 5), "broken", dt.date(2026, 2, 10), extension_days=30),
        agreement(
            "P2",
            "instalment_plan",
            dt.date(2026, 2, 15),
            plan_instalments=3,
            plan_first_due=dt.date(2026, 3, 1),
            plan_instalment_amount=100.0,
        ),
    )
    got = day(plans, payments(), as_of=dt.date(2026, 3, 5))
    assert got["P2"]["state"] == "broken"
    assert got["P2"]["next_step"] == "refer_to_legal"


def test_a_completed_settlement_without_a_certificate_asks_for_one():
    settled = frame(agreement("S", "settlement", dt.date(2026, 3, 1), settlement_amount=900.0, write_down_amount=100.0))
    got = day(settled, payments((dt.date(2026, 3, 4), 900.0)))["S"]
    assert got["state"] == "completed"
    assert got["write_down_share"] == pytest.approx(0.1)
    assert got["approver"] == "team_lead"  # above the collector's 5%, within the team lead's 15%
    assert got["next_step"] == "issue_settlement_certificate"


def test_agreements_resolved_long_ago_leave_the_days_table():
    old = frame(
        agreement(
            "A",
            "promise_to_pay",
            dt.date(2026, 1, 1),
            "kept",
            dt.date(2026, 1, 9),
            promised_date=dt.date(2026, 1, 8),
            promised_amount=10.0,
        )
    )
    assert day(old, payments((dt.date(2026, 1, 8), 10.0))) == {}


def test_the_lowest_authority_that_may_approve_a_write_down():
    shares = pl.DataFrame({"s": [0.0, 0.05, 0.2, 0.6, 0.7, None]})
    got = shares.select(approver(pl.col("s"), PARAMS.settlement_approval)).to_series().to_list()
    assert got == ["collector", "collector", "risk_manager", "committee", "beyond_authority", None]


def test_a_promise_the_payments_show_kept_is_dated_on_the_day_it_was_paid_and_leaves_the_table_a_week_later():
    promise = frame(
        agreement("A", "promise_to_pay", dt.date(2026, 3, 1), promised_date=dt.date(2026, 3, 12), promised_amount=50.0)
    )
    paid = payments((dt.date(2026, 3, 12), 50.0))
    assert day(promise, paid, as_of=dt.date(2026, 3, 16))["A"]["state_on"] == dt.date(2026, 3, 12)
    assert day(promise, paid, as_of=dt.date(2026, 3, 25)) == {}


def test_a_certificate_issued_after_as_of_is_not_known_yet():
    settled = frame(
        agreement(
            "S",
            "settlement",
            dt.date(2026, 3, 1),
            "completed",
            dt.date(2026, 3, 4),
            settlement_amount=900.0,
            write_down_amount=10.0,
            certificate_on=dt.date(2026, 3, 20),
        )
    )
    got = day(settled, payments((dt.date(2026, 3, 4), 900.0)))["S"]
    assert got["certificate_on"] is None
    assert got["next_step"] == "issue_settlement_certificate"
