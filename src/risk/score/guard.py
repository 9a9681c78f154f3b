"""The blast-radius guard: a scored day that moves far from the previous one stops before it is written.

A well-formed but wrong export (repayments missing, amounts in fen) does not fail a rule of its own table;
it shows as a day on which thousands of loans are suddenly charged off or sent to legal. Scoring compares
the day's counts with the latest day scored shortly before; beyond ``score.guard`` it writes nothing and
says what moved, until a person confirms the change (``risk score --accept-shift``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from risk.config import GuardParams

# what each measure counts, in the words of the stop message
MEASURES = {
    "charged_off": "charged off (核销)",
    "legal_referrals": "referred to legal",
    "queued": "in the collections queue",
}


@dataclass(frozen=True)
class DaySummary:
    """The counts of one scored day the guard compares (None: the engine does not count it)."""

    as_of: dt.date
    open_loans: int
    charged_off: int | None
    legal_referrals: int
    queued: int

    def share(self, measure: str) -> float | None:
        count = getattr(self, measure)
        return None if count is None else count / max(self.open_loans, 1)


def breaches(today: DaySummary, previous: DaySummary | None, params: GuardParams) -> list[str]:
    """Each measure that moved beyond ``params`` from ``previous``, in words with both days' figures.

    Nothing is compared without a previous day, or with one more than ``window_days`` before.
    """
    if previous is None or not 0 < (today.as_of - previous.as_of).days <= params.window_days:
        return []
    out = []
    for measure, words in MEASURES.items():
        now, before = getattr(today, measure), getattr(previous, measure)
        if now is None or before is None:
            continue
        change = abs(today.share(measure) - previous.share(measure))
        larger, smaller = max(now, before), min(now, before)
        ratio = larger / smaller if smaller else float("inf")
        if change > params.max_share_change or (larger >= params.min_count and ratio > params.max_ratio):
            out.append(
                f"{words}: {now:,} of {today.open_loans:,} open loans ({today.share(measure):.1%}) against "
                f"{before:,} of {previous.open_loans:,} ({previous.share(measure):.1%}) on {previous.as_of}"
            )
    return out


def stop_message(today: DaySummary, found: list[str], params: GuardParams) -> str:
    return (
        f"score {today.as_of}: stopped before writing, the day moved too far from the previous one: "
        + "; ".join(found)
        + f". Limits (score.guard): {params.max_share_change:.0%} of open loans, or a factor {params.max_ratio:g} "
        f"once a count reaches {params.min_count}. Check the export (a missing or rescaled file looks like this); "
        f"if the change is real, rerun the day with --accept-shift (`risk run --as-of {today.as_of} --accept-shift`, "
        "or `risk score --accept-shift` in the DVC pipeline)"
    )
