"""The instalment ledger in numpy: the same waterfall rule as ``risk.delinquency``, for the simulator.

Payments go to the oldest unpaid instalment first; an instalment is paid once less than
``PAID_TOLERANCE`` RMB of it is left; a loan is settled once all principal plus the interest already
due is paid (early repayment waives future interest). The simulator uses this to know each loan's
days past due (逾期天数) on any day, and so its status, charge-off day and collection ladder step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from risk.simulate.loans import Book

PAID_TOLERANCE = 1.0
NEVER = 10**6  # a day far beyond any as_of
_STRIDE = 2 * NEVER


@dataclass(frozen=True)
class Payments:
    """Payment rows sorted by loan then day."""

    loan: np.ndarray
    day: np.ndarray
    amount: np.ndarray
    instalment_no: np.ndarray  # 0 where the allocation is unknown
    seconds: np.ndarray  # time of day

    def take(self, index: np.ndarray) -> Payments:
        return Payments(*(getattr(self, f)[index] for f in ("loan", "day", "amount", "instalment_no", "seconds")))


@dataclass(frozen=True)
class Ledger:
    """When each instalment became paid and when each loan was settled (``NEVER`` if not yet)."""

    paid_on: np.ndarray  # per schedule row, non-decreasing within a loan
    closed_on: np.ndarray  # per loan


def _cumsum_by(group: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Running sum of ``values`` within runs of equal, sorted ``group``."""
    cum = np.cumsum(values)
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    offset = np.repeat(np.r_[0.0, cum[starts[1:] - 1]], np.diff(np.r_[starts, len(group)]))
    return cum - offset


def build_ledger(book: Book, payments: Payments) -> Ledger:
    """Allocate ``payments`` (sorted by loan, day) to ``book``'s schedule waterfall-style."""
    n = len(book.principal)
    cum_paid = _cumsum_by(payments.loan, payments.amount)
    # global search keys: loan index times a stride plus a within-loan running amount
    stride = float(book.row_cum_due.max() + cum_paid.max(initial=0.0) + 10.0) if len(cum_paid) else 1.0
    pay_key = payments.loan * stride + cum_paid
    row_key = book.row_loan * stride + book.row_cum_due - PAID_TOLERANCE
    hit = np.searchsorted(pay_key, row_key, side="left")
    found = hit < len(pay_key)
    found[found] &= payments.loan[hit[found]] == book.row_loan[found]
    paid_on = np.full(len(row_key), NEVER, dtype=np.int64)
    paid_on[found] = payments.day[hit[found]]
    # settlement: all principal plus the interest due by that day
    cum_interest = np.cumsum(book.row_interest)
    interest_before = np.r_[0.0, cum_interest][book.first_row][book.row_loan]
    due_key = book.row_loan.astype(np.int64) * _STRIDE + book.row_due
    last_due = np.searchsorted(due_key, payments.loan.astype(np.int64) * _STRIDE + payments.day, side="right") - 1
    same = (last_due >= 0) & (book.row_loan[np.maximum(last_due, 0)] == payments.loan)
    interest_due = np.where(same, cum_interest[np.maximum(last_due, 0)] - interest_before[np.maximum(last_due, 0)], 0.0)
    settled = cum_paid >= book.principal[payments.loan] + interest_due - PAID_TOLERANCE
    closed_on = np.full(n, NEVER, dtype=np.int64)
    np.minimum.at(closed_on, payments.loan[settled], payments.day[settled])
    return Ledger(paid_on=np.minimum(paid_on, closed_on[book.row_loan]), closed_on=closed_on)


def last_row_due_by(book: Book, loan: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Index of the loan's last schedule row due on or before ``day``: -1 or another loan's row when none is.

    Callers that may ask before a loan's first due date check ``book.row_loan[row] == loan``.
    """
    key = book.row_loan.astype(np.int64) * _STRIDE + book.row_due
    return np.searchsorted(key, loan.astype(np.int64) * _STRIDE + day, side="right") - 1


def days_past_due(book: Book, ledger: Ledger, loan: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days past due of ``loan`` at the end of ``day``: ``day`` minus the oldest unpaid instalment's due."""
    row_key = book.row_loan.astype(np.int64) * _STRIDE + ledger.paid_on
    oldest = np.searchsorted(row_key, loan.astype(np.int64) * _STRIDE + day + 1, side="left")
    safe = np.minimum(oldest, len(row_key) - 1)
    unpaid = (oldest < len(row_key)) & (book.row_loan[safe] == loan)
    return np.where(unpaid, np.maximum(day - book.row_due[safe], 0), 0)


def first_day_at_dpd(book: Book, ledger: Ledger, dpd: int) -> np.ndarray:
    """Per loan, the first day it was ``dpd`` or more days past due (``NEVER`` if not)."""
    reached = book.row_due + dpd
    late = ledger.paid_on > reached
    first = np.full(len(book.principal), NEVER, dtype=np.int64)
    np.minimum.at(first, book.row_loan[late], reached[late])
    return first
