"""Days past due: waterfall allocation, end-of-day semantics, early settlement."""

import datetime as dt

import polars as pl
from tests.books import LoanSpec, book, pay_on_schedule

from risk.delinquency import days_past_due_at, instalment_ledger

D = dt.date
T = dt.datetime


def _dpd(tables, loan_id, *days):
    ledger = instalment_ledger(*(tables[t].lazy() for t in ("loans", "schedule", "repayments")))
    pairs = pl.LazyFrame({"loan_id": [loan_id] * len(days), "as_of": list(days)})
    return days_past_due_at(ledger, pairs).sort("as_of").collect()["days_past_due"].to_list()


def test_unpaid_instalment_ages_one_day_per_day():
    tables = book(LoanSpec("L1", D(2024, 1, 1)))
    assert _dpd(tables, "L1", D(2024, 2, 1), D(2024, 2, 2), D(2024, 3, 2)) == [0, 1, 30]


def test_payment_goes_to_the_oldest_instalment_first():
    """Paying one instalment's worth when two are due leaves the later one overdue, not the older."""
    tables = book(LoanSpec("L1", D(2024, 1, 1), payments=[(T(2024, 3, 5, 9), 200.0)]))
    # due 2024-02-01 and 2024-03-01; the payment on 03-05 clears February only
    assert _dpd(tables, "L1", D(2024, 3, 4), D(2024, 3, 5)) == [32, 4]


def test_payment_counts_from_the_end_of_its_day():
    tables = book(pay_on_schedule(LoanSpec("L1", D(2024, 1, 1)), late_days=10))
    assert _dpd(tables, "L1", D(2024, 2, 10), D(2024, 2, 11)) == [9, 0]


def test_early_settlement_closes_the_loan():
    """Paying the remaining principal settles the loan; later due dates are not overdue."""
    spec = pay_on_schedule(LoanSpec("L1", D(2024, 1, 1)), through=2)
    spec.payments.append((T(2024, 3, 10, 9), 800.0))
    tables = book(spec)
    assert _dpd(tables, "L1", D(2024, 6, 30), D(2024, 12, 31)) == [0, 0]


def test_shortfall_under_one_yuan_counts_as_paid():
    tables = book(LoanSpec("L1", D(2024, 1, 1), payments=[(T(2024, 2, 1, 9), 199.5)]))
    assert _dpd(tables, "L1", D(2024, 2, 20)) == [0]
