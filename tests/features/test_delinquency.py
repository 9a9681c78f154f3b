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


def _waterfall_paid_on(schedule: pl.DataFrame, repayments: pl.DataFrame) -> dict[int, dt.date | None]:
    """The specification, loan by loan in plain Python: the first day the payments to date cover an instalment
    and every one before it (within the tolerance); before any early settlement."""
    paid_by_day: dict[dt.date, float] = {}
    for at, amount in repayments.select("paid_at", "amount").iter_rows():
        paid_by_day[at.date()] = paid_by_day.get(at.date(), 0.0) + amount
    out, due = {}, 0.0
    for no, principal, interest in (
        schedule.sort("instalment_no").select("instalment_no", "principal_due", "interest_due").iter_rows()
    ):
        due += principal + interest
        total, out[no] = 0.0, None
        for day in sorted(paid_by_day):
            total += paid_by_day[day]
            if total >= due - 1.0:
                out[no] = day
                break
    return out


def test_each_loans_ledger_depends_on_its_own_rows_only_in_any_row_order():
    """Loans whose running totals interleave, two instalments due one day, a day with a zero payment, rows
    shuffled: every loan's ledger is the one it has alone, and paid_on is the plain waterfall's day."""
    specs = [
        LoanSpec("L3", D(2024, 1, 1), payments=[(T(2024, 2, 1, 9), 0.0), (T(2024, 3, 20, 9), 450.0)]),
        LoanSpec(
            "L1", D(2024, 1, 15), principal=600.0, payments=[(T(2024, 2, 15, 9), 100.0), (T(2024, 4, 1, 8), 250.0)]
        ),
        LoanSpec(
            "L2", D(2024, 1, 1), principal=3000.0, payments=[(T(2024, 5, 2, 9), 1000.0), (T(2024, 5, 2, 18), 1.0)]
        ),
        pay_on_schedule(LoanSpec("L4", D(2024, 1, 10)), late_days=3),
    ]
    tables = book(*specs)
    # L3's first two instalments fall due on the same day
    first = pl.col("instalment_no") == 1
    tables["schedule"] = tables["schedule"].with_columns(
        due_date=pl.when((pl.col("loan_id") == "L3") & first).then(D(2024, 3, 1)).otherwise("due_date")
    )
    shuffled = {name: frame.sample(fraction=1.0, shuffle=True, seed=7) for name, frame in tables.items()}
    names = ("loans", "schedule", "repayments")
    together = instalment_ledger(*(shuffled[n].lazy() for n in names)).collect()
    assert together.select(pl.struct("loan_id", "instalment_no").is_sorted()).item()
    for spec in specs:
        own = {n: tables[n].filter(pl.col("loan_id") == spec.loan_id) for n in names}
        alone = instalment_ledger(*(own[n].lazy() for n in names)).collect()
        assert together.filter(pl.col("loan_id") == spec.loan_id).equals(alone), spec.loan_id
        closed = alone["closed_on"][0]
        expected = {
            no: day if closed is None or (day is not None and day <= closed) else closed
            for no, day in _waterfall_paid_on(own["schedule"], own["repayments"]).items()
        }
        if closed is not None:
            expected = {no: closed if day is None else day for no, day in expected.items()}
        assert dict(alone.select("instalment_no", "paid_on").iter_rows()) == expected, spec.loan_id
