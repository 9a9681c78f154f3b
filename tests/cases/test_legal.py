"""The legal queue: a case walked through every state in order, never a step before the one it needs."""

from __future__ import annotations

import datetime as dt

import polars as pl

from risk.cases.legal import legal_queue
from risk.config import CaseParams

PARAMS = CaseParams(appeal_days=15, enforcement_fail_days=180)
REGISTERED = dt.date(2025, 1, 10)
CASE = {
    "case_id": "C1",
    "loan_id": "L1",
    "registered_on": REGISTERED,
    "evidence_contract": True,
    "evidence_identity": True,
    "evidence_disbursement": True,
    "evidence_repayments": True,
    "evidence_contacts": False,
    "letter_sent_on": dt.date(2025, 1, 12),
    "response_deadline": dt.date(2025, 1, 27),
    "filed_on": dt.date(2025, 3, 1),
    "claim_amount": 12_000.0,
    "judgment_on": dt.date(2025, 6, 1),
    "awarded_amount": 11_000.0,
    "enforcement_on": dt.date(2025, 7, 1),
    "recovered_amount": 0.0,
    "last_recovery_on": None,
    "closed_on": None,
    "close_reason": None,
    "dishonest_debtor_listed": True,
    "listed_on": dt.date(2026, 2, 1),
}
LOANS = pl.DataFrame({"loan_id": ["L1"], "borrower_id": ["B1"]})


def scored(net_value: float = 2_000.0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "loan_id": ["L1"],
            "days_past_due": [200],
            "outstanding_principal": [10_000.0],
            "court_claim": [11_500.0],
            "litigation_net_value": [net_value],
        }
    )


def step(as_of: dt.date, *, net_value: float = 2_000.0, **over) -> dict:
    cases = pl.DataFrame([{**CASE, **over}])
    out = legal_queue(cases, LOANS, scored(net_value), PARAMS, as_of=as_of)
    return out.row(0, named=True) if out.height else {}


def test_a_case_walks_through_every_state_in_order():
    walk = [
        (dt.date(2025, 1, 10), "registered", "send_lawyers_letter"),
        (dt.date(2025, 1, 20), "letter_sent", "await_response"),
        (dt.date(2025, 2, 1), "deadline_passed", "file_suit"),
        (dt.date(2025, 4, 1), "filed", "await_judgment"),
        (dt.date(2025, 6, 5), "judged", "await_appeal_period"),
        (dt.date(2025, 6, 20), "judged", "apply_enforcement"),
        (dt.date(2025, 8, 1), "enforcing", "monitor_enforcement"),
        (dt.date(2026, 1, 5), "enforcing", "request_dishonest_listing"),
        (dt.date(2026, 3, 1), "listed_dishonest", "monitor_listing"),
    ]
    got = [(as_of, step(as_of)["state"], step(as_of)["next_step"]) for as_of, _, _ in walk]
    assert got == walk


def test_steps_dated_after_as_of_are_unknown():
    # on 2025-01-20 the suit of March and the judgment of June have not happened yet
    row = step(dt.date(2025, 1, 20))
    assert row["state"] == "letter_sent"
    assert row["next_step_on"] == dt.date(2025, 1, 28)  # the day after the letter's deadline
    assert row["awarded_amount"] is None  # the award of June is not known in January


def test_no_suit_without_the_contract_identity_and_disbursement_proof():
    row = step(dt.date(2025, 2, 1), evidence_identity=False)
    assert row["next_step"] == "collect_filing_evidence"
    assert not row["fileable"]
    assert row["evidence_missing"] == ["identity", "contacts"]
    assert "identity" in row["reason_en"]


def test_a_suit_that_does_not_pay_turns_to_settlement():
    row = step(dt.date(2025, 2, 1), net_value=-300.0)
    assert row["next_step"] == "negotiate_settlement"
    assert row["reason_en"].endswith("lose RMB 300: settle instead")


def test_enforcement_waits_for_the_appeal_period_after_judgment():
    row = step(dt.date(2025, 6, 5))
    assert row["next_step"] == "await_appeal_period"
    assert row["next_step_on"] == dt.date(2025, 6, 17)  # judgment + 15 days of appeal, from the next day
    assert step(dt.date(2025, 6, 16))["next_step"] == "apply_enforcement"  # the work day is the 17th


def test_closed_cases_leave_the_queue():
    assert step(dt.date(2025, 4, 1), closed_on=dt.date(2025, 3, 20), close_reason="settled") == {}
