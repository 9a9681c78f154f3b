"""A settlement in the daily queue names its amount and its approver: the claim less what a collector may grant."""

from __future__ import annotations

import polars as pl
import pytest

from risk.config import Params
from risk.score.score import with_settlement_terms


def test_the_offer_is_the_courts_claim_less_the_collectors_write_down():
    queue = pl.DataFrame(
        {
            "next_action": ["settlement", "call"],
            "outstanding_principal": [10_000.0, 10_000.0],
            "annual_rate": [0.36, 0.36],
            "days_past_due": [73, 73],
        }
    )
    out = with_settlement_terms(queue, Params()).to_dicts()
    # 24% a year (the court cap) for 73 days: 10,480; a collector may write down 5% on their own
    assert out[0]["settlement_offer_amount"] == pytest.approx(10_480 * 0.95)
    assert out[0]["settlement_approver"] == "collector"
    assert out[1]["settlement_offer_amount"] is None and out[1]["settlement_approver"] is None
