"""Days past due: waterfall allocation, end-of-day semantics, early settlement."""

import datetime as dt

import numpy as np
import polars as pl
from tests.books import LoanSpec, book, pay_on_schedule

from risk.delinquency import (
    daily_payments,
    daily_payments_frame,
    days_past_due_at,
    in_loan_order,
    instalment_ledger,
    ledger_frame,
    running_sum_within,
)

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


def _paid_by_day(repayments: pl.DataFrame) -> dict[dt.date, float]:
    out: dict[dt.date, float] = {}
    for at, amount in repayments.select("paid_at", "amount").iter_rows():
        out[at.date()] = out.get(at.date(), 0.0) + amount
    return out


def _waterfall_paid_on(schedule: pl.DataFrame, repayments: pl.DataFrame) -> dict[int, dt.date | None]:
    """The specification, loan by loan in plain Python: the first day the payments to date cover an instalment
    and every one before it (within the tolerance); before any early settlement."""
    paid_by_day = _paid_by_day(repayments)
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


def _settled_on(principal: float, schedule: pl.DataFrame, repayments: pl.DataFrame) -> dt.date | None:
    """The first day the payments to date cover the principal and the interest fallen due by that day."""
    paid_by_day, total = _paid_by_day(repayments), 0.0
    for day in sorted(paid_by_day):
        total += paid_by_day[day]
        interest = schedule.filter(pl.col("due_date") <= day)["interest_due"].sum()
        if total >= principal + interest - 1.0:
            return day
    return None


def test_each_loans_ledger_depends_on_its_own_rows_only_in_any_row_order():
    """Loans whose running totals interleave, two instalments with interest due one day, a zero payment after a
    positive one (two days with the same total paid), early settlements, rows shuffled: every loan's ledger is
    the one it has alone, paid_on is the plain waterfall's day and closed_on the plain settlement day."""
    specs = [
        LoanSpec(
            "L3",
            D(2024, 1, 1),
            payments=[(T(2024, 2, 20, 9), 230.0), (T(2024, 2, 21, 9), 0.0), (T(2024, 3, 20, 9), 1000.0)],
        ),
        LoanSpec(
            "L1", D(2024, 1, 15), principal=600.0, payments=[(T(2024, 2, 15, 9), 100.0), (T(2024, 4, 1, 8), 250.0)]
        ),
        LoanSpec(
            "L2", D(2024, 1, 1), principal=3000.0, payments=[(T(2024, 5, 2, 9), 1000.0), (T(2024, 5, 2, 18), 1.0)]
        ),
        pay_on_schedule(LoanSpec("L4", D(2024, 1, 10)), late_days=3),
    ]
    tables = book(*specs)
    # L3 carries interest, and its first two instalments fall due on the same day
    l3 = pl.col("loan_id") == "L3"
    tables["schedule"] = tables["schedule"].with_columns(
        due_date=pl.when(l3 & (pl.col("instalment_no") == 1)).then(D(2024, 3, 1)).otherwise("due_date"),
        interest_due=pl.when(l3).then(15.0 * pl.col("instalment_no")).otherwise("interest_due"),
    )
    shuffled = {name: frame.sample(fraction=1.0, shuffle=True, seed=7) for name, frame in tables.items()}
    names = ("loans", "schedule", "repayments")
    together = instalment_ledger(*(shuffled[n].lazy() for n in names)).collect()
    assert together.select(pl.struct("loan_id", "instalment_no").is_sorted()).item()
    settled = []
    for spec in specs:
        own = {n: tables[n].filter(pl.col("loan_id") == spec.loan_id) for n in names}
        alone = instalment_ledger(*(own[n].lazy() for n in names)).collect()
        assert together.filter(pl.col("loan_id") == spec.loan_id).equals(alone), spec.loan_id
        closed = _settled_on(spec.principal, own["schedule"], own["repayments"])
        assert alone["closed_on"].unique().to_list() == [closed], spec.loan_id
        waterfall = _waterfall_paid_on(own["schedule"], own["repayments"]).items()
        expected = {no: min((d for d in (day, closed) if d is not None), default=None) for no, day in waterfall}
        assert dict(alone.select("instalment_no", "paid_on").iter_rows()) == expected, spec.loan_id
        settled.append(closed is not None)
    assert any(settled) and not all(settled)  # both kinds of loan are in the book


def test_the_ledger_numbers_only_the_loans_with_instalments_and_reads_interest_in_day_order():
    """The ledger looks loans up by a number given to each loan with instalments: a schedule whose instalment numbers
    run against its due days still counts the interest due by each day, a payment of a loan without instalments
    pays no other loan's, and a loan missing from ``loans`` has no principal to settle, so it never closes."""
    reversed_days, other, orphan = (
        LoanSpec(
            "L2",
            D(2024, 1, 1),
            principal=600.0,
            term=3,
            payments=[(T(2024, 2, 10, 9), 620.0), (T(2024, 3, 5, 9), 20.0)],
        ),
        LoanSpec("L3", D(2024, 1, 1), principal=600.0, term=3, payments=[(T(2024, 4, 2, 9), 600.0)]),
        LoanSpec("L4", D(2024, 1, 1), principal=600.0, term=3, payments=[(T(2024, 4, 2, 9), 600.0)]),
    )
    tables = book(reversed_days, other, orphan)
    l2 = pl.col("loan_id") == "L2"
    no = pl.col("instalment_no")
    tables["schedule"] = tables["schedule"].with_columns(  # L2: instalment 3 due first, with all the interest
        due_date=pl.when(l2).then(pl.date(2024, 4, 1) - pl.duration(days=31 * (no - 1))).otherwise("due_date"),
        interest_due=pl.when(l2 & (no == 3)).then(40.0).otherwise("interest_due"),
    )
    # a million paid on 01-20 by L0, which has no instalments: were it counted to any loan, that loan would close then
    stray = (
        tables["repayments"]
        .filter(pl.col("loan_id") == "L3")
        .with_columns(loan_id=pl.lit("L0"), paid_at=T(2024, 1, 20, 9), amount=1e6)
    )
    tables["repayments"] = pl.concat([tables["repayments"], stray])
    tables["loans"] = tables["loans"].filter(pl.col("loan_id") != "L4")
    ledger = ledger_frame(tables)
    closed = dict(ledger.group_by("loan_id").agg(pl.col("closed_on").first()).iter_rows())
    # L2's 620 on 02-10 falls short of the principal plus the 40 of interest due 01-30; 20 more on 03-05 settle it
    assert closed == {"L2": D(2024, 3, 5), "L3": D(2024, 4, 2), "L4": None}
    assert closed["L2"] == _settled_on(600.0, tables["schedule"].filter(l2), tables["repayments"].filter(l2))
    assert ledger.filter(pl.col("loan_id") == "L4")["paid_on"].to_list() == [D(2024, 4, 2)] * 3  # paid, not closed


def test_interest_without_a_due_day_is_due_from_the_start():
    """An instalment without a due day (validation's not_null downgraded) counts as due from the loan's start when the
    settlement day is sought, as a sort by loan and day puts it first: paying the principal alone does not settle."""
    loans = pl.DataFrame({"loan_id": ["A"], "principal": [100.0]})
    schedule = pl.DataFrame(
        {
            "loan_id": ["A", "A"],
            "instalment_no": [1, 2],
            "due_date": [None, D(2024, 3, 1)],
            "principal_due": [50.0, 50.0],
            "interest_due": [30.0, 0.0],
        }
    )
    repayments = pl.DataFrame({"loan_id": ["A"], "paid_at": [T(2024, 3, 5, 9)], "amount": [100.0]})
    ledger = ledger_frame({"loans": loans, "schedule": schedule, "repayments": repayments})
    assert ledger["closed_on"].to_list() == [None, None]
    assert ledger["paid_on"].to_list() == [D(2024, 3, 5), None]  # 100 covers the first 80 due, not the next 50


def test_a_negative_interest_lowers_what_settles_the_loan():
    """Interest below zero (a refund entered as negative interest, possible only when validation's minimum is
    downgraded to a warning) lowers what settles its loan: the settlement day is still found although the total paid
    never reaches the principal. Another loan without it settles only on the principal and its interest."""
    loans = pl.DataFrame({"loan_id": ["A", "B"], "principal": [100.0, 100.0]})
    schedule = pl.DataFrame(
        {
            "loan_id": ["A", "A", "B", "B"],
            "instalment_no": [1, 2, 1, 2],
            "due_date": [D(2024, 2, 1), D(2024, 3, 1), D(2024, 2, 1), D(2024, 3, 1)],
            "principal_due": [50.0, 50.0, 50.0, 50.0],
            "interest_due": [-30.0, 0.0, 5.0, 0.0],
        }
    )
    repayments = pl.DataFrame(
        {
            "loan_id": ["A", "B", "B"],
            "paid_at": [T(2024, 2, 10, 9), T(2024, 2, 10, 9), T(2024, 2, 20, 9)],
            "amount": [72.0, 100.0, 5.0],
        }
    )
    tables = {"loans": loans, "schedule": schedule, "repayments": repayments}
    closed = dict(ledger_frame(tables).group_by("loan_id").agg(pl.col("closed_on").first()).iter_rows())
    # A: 72 paid covers 100 - 30 of interest due by then, less the 1 RMB tolerance; B: 100 falls short of 105 - 1
    assert closed == {"A": D(2024, 2, 10), "B": D(2024, 2, 20)}
    for loan_id, day in closed.items():
        own = pl.col("loan_id") == loan_id
        assert day == _settled_on(100.0, schedule.filter(own), repayments.filter(own))


def test_the_settlement_search_skips_no_day_that_settles():
    """The settlement day is sought only where the total paid could settle the loan, and that bound never drops a
    day that does: not when another loan's interest is NaN (validation's finite rule downgraded), not when the
    book's negative interest, summed in polars' order, lands an ulp above the loan's own running sum (a payment of
    exactly the principal and interest due less 1 RMB), and not on the streaming engine beside undated payments."""
    # a NaN interest on A: B still settles on its 100 paid
    loans = pl.DataFrame({"loan_id": ["A", "B"], "principal": [100.0, 100.0]})
    schedule = pl.DataFrame(
        {
            "loan_id": ["A", "B"],
            "instalment_no": [1, 1],
            "due_date": [D(2024, 2, 1)] * 2,
            "principal_due": [100.0, 100.0],
            "interest_due": [float("nan"), 0.0],
        }
    )
    repayments = pl.DataFrame({"loan_id": ["B"], "paid_at": [T(2024, 1, 10, 9)], "amount": [100.0]})
    ledger = ledger_frame({"loans": loans, "schedule": schedule, "repayments": repayments})
    assert ledger.filter(pl.col("loan_id") == "B")["closed_on"].to_list() == [D(2024, 1, 10)]

    # 129 instalments, so polars sums the book's interest in another order than L00's running sum: -28.27 running,
    # -28.269999999999996 summed; L00 pays exactly 195 - 28.27 - 1
    ids = [f"L{i:02d}" for i in range(43)]
    interest = [-10.4, -7.67, -10.2] + [5.0] * 126
    loans = pl.DataFrame({"loan_id": ids, "principal": [195.0] + [300.0] * 42})
    schedule = pl.DataFrame(
        {
            "loan_id": [i for i in ids for _ in range(3)],
            "instalment_no": [1, 2, 3] * 43,
            "due_date": [D(2024, m, 1) for m in (2, 3, 4)] * 43,
            "principal_due": [65.0] * 3 + [100.0] * 126,
            "interest_due": interest,
        }
    )
    repayments = pl.DataFrame({"loan_id": ["L00"], "paid_at": [T(2024, 5, 1, 9)], "amount": [165.73]})
    ledger = ledger_frame({"loans": loans, "schedule": schedule, "repayments": repayments})
    assert ledger.filter(pl.col("loan_id") == "L00")["closed_on"].to_list() == [D(2024, 5, 1)] * 3

    # undated payments (not_null downgraded) beside C's: on the streaming engine, C's settlement on 02-01 (100 undated
    # and 26.5 paid against its 150 less 33 of negative interest) was lost while the undated days were looked up
    loans = pl.LazyFrame({"loan_id": ["A", "B", "C"], "principal": [None, 100.0, 150.0]})
    schedule = pl.LazyFrame(
        {
            "loan_id": ["A", "A", "A", "A", "C", "C", "D", "D"],
            "instalment_no": [1, 2, 3, 4, 1, 2, 1, 2],
            "due_date": [D(2024, 4, 1), D(2024, 2, 1), D(2024, 3, 1), D(2024, 4, 1)]
            + [D(2024, 1, 15), D(2024, 2, 1)] * 2,
            "principal_due": [10.0, 0.0, 10.0, 33.33, 33.33, 33.33, 10.0, None],
            "interest_due": [-30.0, -30.0, 5.0, 0.0, -3.0, -30.0, None, None],
        }
    )
    feb1, feb20, mar1, apr2 = T(2024, 2, 1, 18), T(2024, 2, 20, 9), T(2024, 3, 1, 9), T(2024, 4, 2, 9)
    repayments = pl.LazyFrame(
        {
            "loan_id": ["A", "C", "C", "D", "A", "D", "A", "B", "D", "B", "A", "C", "A", "B"],
            "paid_at": [feb20, feb20, None, None, mar1, None, feb1, apr2, apr2, feb1, None, feb1, None, None],
            "amount": [72.0, None, 100.0, 0.0, 101.0, 72.0, None, 0.0, None, 26.5, 0.0, 26.5, 101.0, 25.0],
        }
    )
    plan = instalment_ledger(loans, schedule, repayments)
    in_memory, streaming = plan.collect(engine="in-memory"), plan.collect(engine="streaming")
    assert in_memory.filter(pl.col("loan_id") == "C")["closed_on"].to_list() == [D(2024, 2, 1)] * 2
    assert streaming.equals(in_memory)

    # G's payment has no date; D's 26.5 covers its principal and the -27.75 of interest due
    loans = pl.LazyFrame({"loan_id": ["D", "G"], "principal": [50.0, 50.0]})
    schedule = pl.LazyFrame(
        {
            "loan_id": ["C", "D", "D", "G"],
            "instalment_no": [2, 1, 2, 2],
            "due_date": [D(2024, 2, 1), D(2024, 1, 15), D(2024, 2, 1), D(2024, 2, 1)],
            "principal_due": [0.0, 50.0, 25.0, 50.0],
            "interest_due": [None, 2.25, -30.0, None],
        }
    )
    repayments = pl.LazyFrame({"loan_id": ["G", "D"], "paid_at": [None, T(2024, 2, 20, 9)], "amount": [49.0, 26.5]})
    plan = instalment_ledger(loans, schedule, repayments)
    for engine in ("in-memory", "streaming"):
        d = plan.collect(engine=engine).filter(pl.col("loan_id") == "D")
        assert d["closed_on"].to_list() == [D(2024, 2, 20)] * 2, engine


def test_an_instalment_without_an_amount_leaves_the_other_paid_days_as_they_are():
    """A null amount (possible only when validation's not_null is downgraded to a warning) gives that instalment
    no running total and no paid day; its loan's other instalments keep theirs, on every engine (the streaming
    engine once lost them when the null was a loan's last instalment and another loan followed)."""
    loans = pl.LazyFrame({"loan_id": ["A", "B"], "principal": [400.0, 50.0]})
    schedule = pl.LazyFrame(
        {
            "loan_id": ["A", "A", "B"],
            "instalment_no": [1, 2, 1],
            "due_date": [D(2024, 7, 21), D(2024, 9, 19), D(2024, 4, 1)],
            "principal_due": [200.0, None, 50.0],
            "interest_due": [5.5, 0.0, 10.0],
        }
    )
    repayments = pl.LazyFrame(
        {
            "loan_id": ["A", "A", "A"],
            "paid_at": [T(2024, 9, 17, 17), T(2024, 11, 9, 22), T(2024, 12, 5, 13)],
            "amount": [99.5, 99.5, 50.0],
        }
    )
    plan = instalment_ledger(loans, schedule, repayments)
    for engine in ("auto", "in-memory", "streaming"):
        a = plan.collect(engine=engine).filter(pl.col("loan_id") == "A")
        assert a["paid_on"].to_list() == [D(2024, 12, 5), None], engine
        assert a["cum_due"].to_list() == [205.5, None], engine


def test_a_running_sum_within_each_loan_is_polars_window_sum_to_the_bit():
    """The ledger's running sums skip polars' window grouping but add the same floats in the same order: equal to
    ``cum_sum().over(loan)`` bit for bit, nulls kept where they were, a run of null loans one run as in the window,
    on runs of 1 to 39 rows and one of 70,000, on either engine."""
    rng = np.random.default_rng(7)
    lengths = np.concatenate([rng.integers(1, 40, size=3000), [1, 1, 70_000]])
    loans = [None, None, *np.repeat([f"L{i:05d}" for i in range(len(lengths))], lengths)]
    amounts = rng.integers(1, 10**7, size=len(loans)) / 100.0 * rng.choice([1e-3, 1.0, 1e5], size=len(loans))
    frame = pl.DataFrame({"loan_id": loans, "amount": amounts}).with_columns(
        amount=pl.when(pl.int_range(pl.len()) % 97 == 5).then(None).otherwise("amount")
    )
    window = frame.select(pl.col("amount").cum_sum().over("loan_id"))["amount"]
    total, amount = pl.col("total"), pl.col("amount").fill_null(0.0)
    global_less_offset = frame.with_columns(total=amount.cum_sum()).select(
        total - (total - amount).first().over("loan_id")
    )["total"]
    summed = window.is_not_null()
    assert not window.filter(summed).equals(global_less_offset.filter(summed))  # nor would a global sum less offsets
    for engine in ("in-memory", "streaming"):
        ours = frame.lazy().select(running_sum_within("amount", "loan_id")).collect(engine=engine).to_series()
        assert ours.is_null().to_list() == window.is_null().to_list(), engine
        assert ours.fill_null(-1.0).to_numpy().tobytes() == window.fill_null(-1.0).to_numpy().tobytes(), engine
        empty = frame.head(0).lazy().select(running_sum_within("amount", "loan_id")).collect(engine=engine)
        assert empty.height == 0 and empty.dtypes == [pl.Float64], engine


def test_daily_payments_sum_each_loans_day_in_loan_and_day_order_whatever_the_export_order():
    repayments = pl.DataFrame(
        {
            "repayment_id": ["r1", "r2", "r3", "r4", "r5"],
            "loan_id": ["L2", "L1", "L2", "L1", "L1"],
            "paid_at": [T(2024, 3, 1, 18), T(2024, 2, 1, 9), T(2024, 3, 1, 8), T(2024, 1, 5, 23), T(2024, 2, 1, 20)],
            "amount": [10.0, 100.0, 5.0, 50.0, 0.5],
        }
    )
    days = daily_payments(repayments.lazy()).collect()
    assert days.to_dicts() == [
        {"loan_id": "L1", "paid_on": D(2024, 1, 5), "amount": 50.0, "payments": 1, "cum_paid": 50.0},
        {"loan_id": "L1", "paid_on": D(2024, 2, 1), "amount": 100.5, "payments": 2, "cum_paid": 150.5},
        {"loan_id": "L2", "paid_on": D(2024, 3, 1), "amount": 15.0, "payments": 2, "cum_paid": 15.0},
    ]


def test_the_collected_daily_payments_are_the_lazy_ones_in_or_out_of_order(small_book):
    """daily_payments_frame sums each loan's day as a run of rows in (loan, day) order, sorting only rows out of it:
    the frame the hashed grouping gives, for rows as exported, shuffled, with a day's payments adding up differently
    in another order, and with a null loan or day (sorted as polars sorts nulls)."""
    exported = small_book["repayments"]
    nulls = exported.with_columns(
        loan_id=pl.when(pl.int_range(pl.len()) % 50 == 1).then(None).otherwise("loan_id"),
        paid_at=pl.when(pl.int_range(pl.len()) % 70 == 2).then(None).otherwise("paid_at"),
    )
    for repayments in (
        exported,
        exported.sample(fraction=1.0, shuffle=True, seed=5),
        nulls,
        _three_payments_a_day()["repayments"],
    ):
        hashed = daily_payments(repayments.lazy()).collect(engine="streaming")
        assert daily_payments_frame(repayments).equals(hashed)
    assert daily_payments_frame(exported.head(0)).height == 0


def test_the_collected_ledger_is_the_lazy_ledger_whichever_engine_runs_it(small_book):
    """ledger_frame picks the in-memory engine, and skips sorting a schedule already in order, for speed only: the
    frame is the streaming engine's, to the bit, on a book shuffled out of loan order too, on one whose loans are in
    order but their instalments backwards, and where a day's payments add up differently in another order."""
    tables = {t: small_book[t] for t in ("loans", "schedule", "repayments")}
    assert in_loan_order(tables["schedule"], "instalment_no")  # the sort is skipped here
    shuffled = {t: frame.sample(fraction=1.0, shuffle=True, seed=3) for t, frame in tables.items()}
    backwards = tables["schedule"].sort("loan_id", "instalment_no", descending=[False, True])
    backwards_within = {**tables, "schedule": backwards.with_columns(pl.col("loan_id").set_sorted())}
    for book_tables in (tables, shuffled, backwards_within, _three_payments_a_day()):
        lazy = [book_tables[t].lazy() for t in ("loans", "schedule", "repayments")]
        streamed = instalment_ledger(*lazy).collect(engine="streaming")
        assert ledger_frame(book_tables).equals(streamed)
        assert streamed.height == book_tables["schedule"].height


def _three_payments_a_day(n: int = 2000) -> dict[str, pl.DataFrame]:
    """Loans whose first instalment is due exactly 1 yuan more than three payments made on its due day: in export
    order 132.12 + 159.65 + 94.96 is 386.72999999999996, in another 386.73, so unrounded sums would put the
    instalment on either side of the tolerance depending on the order of addition."""
    rng = np.random.default_rng(1)
    cents = rng.integers(1000, 30000, size=(n, 3))
    due = (cents.sum(axis=1) + 100) / 100.0  # the payments plus PAID_TOLERANCE
    ids = [f"L{i:05d}" for i in range(n)]
    loans = pl.DataFrame({"loan_id": ids, "principal": due + 50.0})
    schedule = pl.DataFrame(
        {
            "loan_id": np.repeat(ids, 2),
            "instalment_no": np.tile([1, 2], n),
            "due_date": [D(2024, 2, 1), D(2024, 3, 1)] * n,
            "principal_due": np.column_stack([due, np.full(n, 50.0)]).ravel(),
            "interest_due": np.zeros(2 * n),
        }
    )
    repayments = pl.DataFrame(
        {
            "loan_id": np.repeat(ids, 3),
            "paid_at": [T(2024, 2, 1, 9), T(2024, 2, 1, 10), T(2024, 2, 1, 11)] * n,
            "amount": (cents / 100.0).ravel(),
        }
    )
    return {"loans": loans, "schedule": schedule, "repayments": repayments}
