"""The recovery book: charged-off loans priced option by option; the best above write-off recommended."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from risk.cases.recovery import recovery_queue
from risk.config import CaseParams, LegalParams, RecoveryParams

AS_OF = dt.date(2026, 1, 31)
PARAMS = CaseParams(
    recovery=RecoveryParams(
        agency_commission=0.3, agency_recovery_rate=0.1, placement_cost=30.0, settlement_write_down=0.3
    )
)
LEGAL = LegalParams(annual_discount_rate=0.0)


def charged_off(**over) -> pl.DataFrame:
    base = {
        "loan_id": "L1",
        "borrower_id": "B1",
        "product": "cash_loan",
        "days_past_due": 250,
        "outstanding_principal": 10_000.0,
        "court_claim": 11_000.0,
        "litigation_net_value": -500.0,
    }
    return pl.DataFrame([{**base, **over}])


def legal(state: str | None = None, award: float | None = None, step: str = "await_judgment") -> pl.DataFrame:
    rows = (
        []
        if state is None
        else [
            {
                "loan_id": "L1",
                "state": state,
                "next_step": step,
                "awarded_amount": award,
                "recovered_amount": 0.0,
                "fileable": True,
            }
        ]
    )
    schema = {
        "loan_id": pl.String,
        "state": pl.String,
        "next_step": pl.String,
        "awarded_amount": pl.Float64,
        "recovered_amount": pl.Float64,
        "fileable": pl.Boolean,
    }
    return pl.DataFrame(rows, schema=schema)


def queue(frame: pl.DataFrame, cases: pl.DataFrame, gain: float | None, share: float = 0.4) -> dict:
    gains = None if gain is None else pl.DataFrame({"loan_id": ["L1"], "expected_gain": [gain]})
    out = recovery_queue(
        frame,
        cases,
        gains,
        PARAMS,
        LEGAL,
        recovery_share=pl.Series([share]),
        months_to_recovery=6.0,
        settlement_cost=15.0,
        as_of=AS_OF,
    )
    return out.row(0, named=True)


def test_each_option_priced_by_hand_and_the_best_recommended():
    row = queue(charged_off(), legal(), gain=900.0)
    # the agency's quote less its commission and the placement's cost
    assert row["value_outsource"] == pytest.approx(11_000 * 0.1 * 0.7 - 30)
    assert row["value_settlement_offer"] == pytest.approx(900.0 - 15.0)
    assert row["value_litigation"] == pytest.approx(-500.0)
    assert row["value_enforcement"] is None  # no judgment, nothing to enforce
    assert row["recommended_action"] == "settlement_offer"
    assert row["settlement_offer_amount"] == pytest.approx(11_000 * 0.7)
    assert row["approver"] == "risk_manager"  # a 30% write-down
    assert "settlement offer 885" in row["reason_en"]


def test_a_judgment_is_enforced_when_the_borrowers_assets_pay_for_it():
    row = queue(charged_off(), legal("judged", award=10_000.0, step="apply_enforcement"), gain=None, share=0.4)
    assert row["value_enforcement"] == pytest.approx(10_000 * 0.4 - 500)
    assert row["recommended_action"] == "enforcement"
    # inside the appeal period the judgment cannot be enforced yet: the case stays on its legal track
    waiting = queue(charged_off(), legal("judged", award=10_000.0, step="await_appeal_period"), gain=None)
    assert waiting["value_enforcement"] is None
    assert waiting["recommended_action"] == "litigation"


def test_nothing_worth_its_cost_is_written_off():
    row = queue(charged_off(court_claim=100.0, litigation_net_value=-2_000.0), legal(), gain=-5.0)
    assert row["recommended_action"] == "write_off"
    assert row["expected_value"] == 0.0


def test_a_case_in_court_stays_on_its_legal_track():
    row = queue(charged_off(litigation_net_value=3_000.0), legal("filed"), gain=5_000.0)
    assert row["recommended_action"] == "litigation"
    assert row["value_outsource"] is None  # a case in court is not placed with an agency
