"""The blast-radius guard names what moved too far from the previous scored day; ordinary days pass."""

from __future__ import annotations

import datetime as dt

from risk.config import GuardParams
from risk.score.guard import DaySummary, breaches

DAY = dt.date(2025, 12, 31)
YESTERDAY = DaySummary(
    DAY - dt.timedelta(days=1), open_loans=40_000, charged_off=4_000, legal_referrals=247, queued=625
)
PARAMS = GuardParams()


def today(**counts) -> DaySummary:
    return DaySummary(
        DAY, **{"open_loans": 40_000, "charged_off": 4_010, "legal_referrals": 250, "queued": 640, **counts}
    )


def test_an_ordinary_day_passes() -> None:
    assert breaches(today(), YESTERDAY, PARAMS) == []


def test_a_book_suddenly_charged_off_is_named_with_both_days() -> None:
    (found,) = breaches(today(charged_off=32_429), YESTERDAY, PARAMS)
    assert found.startswith("charged off") and "32,429 of 40,000" in found and "4,000 of 40,000" in found


def test_thousands_sent_to_legal_are_named() -> None:
    (found,) = breaches(today(legal_referrals=5_636), YESTERDAY, PARAMS)
    assert found.startswith("referred to legal") and "(14.1%)" in found


def test_a_queue_that_shrinks_to_a_quarter_is_named_though_its_share_barely_moves() -> None:
    (found,) = breaches(today(queued=152), YESTERDAY, PARAMS)
    assert found.startswith("in the collections queue")


def test_small_counts_may_double_without_a_stop() -> None:
    assert breaches(today(legal_referrals=12), DaySummary(YESTERDAY.as_of, 40_000, 4_000, 5, 625), PARAMS) == []


def test_nothing_is_compared_without_a_recent_previous_day() -> None:
    assert breaches(today(charged_off=32_429), None, PARAMS) == []
    month_ago = DaySummary(DAY - dt.timedelta(days=30), 40_000, 4_000, 247, 625)
    assert breaches(today(charged_off=32_429), month_ago, PARAMS) == []


def test_an_engine_that_does_not_count_charge_offs_is_judged_on_the_rest() -> None:
    assert breaches(today(charged_off=None), YESTERDAY, PARAMS) == []
