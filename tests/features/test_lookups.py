"""The repayment features have three ways to the same values: running totals read by as-of lookups (many as_of per
loan: month-end snapshots), every (loan, as_of) pair expanded against all the loan's instalments and payments, and,
for the loans open on one day (a scoring day), the ledger's open loans grouped by loan. They are equal, column for
column, wherever they are asked."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from tests.books import LoanSpec, book

from risk.config import FeatureParams
from risk.delinquency import daily_payments, instalment_ledger
from risk.features.build import (
    OVERDUE_COUNTS,
    _active_at,
    _overdue,
    loan_snapshots,
    month_ends,
    repayment_state,
)

GRACE = 3


def both(tables: dict[str, pl.DataFrame], dates: list[dt.date]) -> tuple[pl.DataFrame, pl.DataFrame]:
    t = {k: v.lazy() for k, v in tables.items()}
    ledger = instalment_ledger(t["loans"], t["schedule"], t["repayments"]).collect().lazy()
    payments = daily_payments(t["repayments"]).collect().lazy()
    pairs = t["loans"].select("loan_id").join(pl.LazyFrame({"as_of": dates}, schema={"as_of": pl.Date}), how="cross")
    fast, spec = (
        repayment_state(pairs, ledger, payments, grace_days=GRACE, lookups=lookups).collect().sort("loan_id", "as_of")
        for lookups in (True, False)
    )
    return fast, spec


def test_lookups_equal_the_expansion_on_a_simulated_book_at_month_ends_and_due_days(small_book) -> None:
    loans = small_book["loans"]
    dates = month_ends(loans["originated_on"].min(), dt.date(2025, 12, 31))
    dates += [dt.date(2025, 3, d) for d in (1, 2, 3, 4, 5, 15, 28)]  # days on and around due dates
    fast, spec = both(small_book, sorted(set(dates)))
    assert fast.height == spec.height > 100_000
    assert_frame_equal(fast, spec, check_exact=True)
    assert fast["days_past_due"].max() > 90 and fast["partial_payments"].max() > 0  # the cases are there


D0 = dt.date(2024, 1, 1)
payment = st.tuples(st.integers(0, 400), st.floats(1, 500, allow_nan=False).map(lambda x: round(x, 2)))


@st.composite
def loans(draw):
    specs = []
    for i in range(draw(st.integers(1, 3))):
        spec = LoanSpec(
            f"L{i}", D0 + dt.timedelta(days=draw(st.integers(0, 90))), term=draw(st.sampled_from([3, 6, 12]))
        )
        spec.payments = [
            (dt.datetime.combine(D0 + dt.timedelta(days=d), dt.time(10)), amount)
            for d, amount in draw(st.lists(payment, max_size=15))
            if D0 + dt.timedelta(days=d) > spec.originated_on
        ]
        specs.append(spec)
    return specs


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=loans(), days=st.lists(st.integers(0, 500), min_size=1, max_size=6, unique=True))
def test_lookups_equal_the_expansion_on_any_payments_at_any_day(specs, days) -> None:
    """Late, partial, early, over- and never-paid instalments, settled loans, and days before origination."""
    fast, spec = both(book(*specs), [D0 + dt.timedelta(days=d) for d in days])
    assert_frame_equal(fast, spec, check_exact=True)


def open_and_expanded(tables: dict[str, pl.DataFrame], day: dt.date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The loans open on ``day`` (as scoring asks), by the open-loans grouping and by the expansion."""
    t = {k: v.lazy() for k, v in tables.items()}
    ledger = instalment_ledger(t["loans"], t["schedule"], t["repayments"]).collect().lazy()
    payments = daily_payments(t["repayments"]).collect().lazy()
    pairs = _active_at(t["loans"], ledger, [day])
    grouped, spec = (
        repayment_state(pairs, ledger, payments, grace_days=GRACE, lookups=False, open_on=open_on)
        .collect()
        .sort("loan_id")
        for open_on in (day, None)
    )
    return grouped, spec


@pytest.mark.parametrize("day", [dt.date(2025, 3, d) for d in (1, 4, 5)] + [dt.date(2025, 12, 31)])
def test_a_days_open_loans_grouped_by_loan_equal_the_expansion(small_book, day) -> None:
    grouped, spec = open_and_expanded(small_book, day)
    assert grouped.height == spec.height > 500
    assert spec["days_past_due"].max() > 90 and spec["partial_payments"].max() > 0  # the cases are there
    assert_frame_equal(grouped, spec, check_exact=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=loans(), day=st.integers(0, 500))
def test_a_days_open_loans_grouped_by_loan_equal_the_expansion_on_any_payments(specs, day) -> None:
    """Loans settled before, on and after the day, not yet originated, over- and never-paid."""
    grouped, spec = open_and_expanded(book(*specs), D0 + dt.timedelta(days=day))
    assert_frame_equal(grouped, spec, check_exact=True)


def test_the_overdue_counts_need_only_the_late_instalments(small_book) -> None:
    """Both ways count days past due, the worst overdue in a window and the late and missed instalments over the
    instalments paid late or never: counted over every instalment of the loan, they are the same."""
    dates = [dt.date(2025, 3, d) for d in (1, 4, 5)] + month_ends(dt.date(2024, 1, 1), dt.date(2025, 12, 31))
    fast, spec = both(small_book, dates)
    t = {k: v.lazy() for k, v in small_book.items()}
    every = (
        instalment_ledger(t["loans"], t["schedule"], t["repayments"])
        .join(pl.LazyFrame({"as_of": dates}, schema={"as_of": pl.Date}), how="cross")
        .pipe(_overdue, ["loan_id", "as_of"], GRACE)
        .with_columns(pl.col(OVERDUE_COUNTS).fill_null(0))
        .collect()
    )
    counted = spec.select("loan_id", "as_of", *OVERDUE_COUNTS).join(every, on=["loan_id", "as_of"], suffix="_every")
    assert counted.height == spec.height and counted["late_instalments"].max() > 0
    for column in OVERDUE_COUNTS:
        assert counted[column].cast(pl.Int64).equals(counted[f"{column}_every"].cast(pl.Int64)), column
    assert_frame_equal(fast, spec, check_exact=True)


def test_a_pair_asked_twice_is_answered_once_either_way(small_book) -> None:
    fast, spec = both(small_book, [dt.date(2025, 6, 30), dt.date(2025, 6, 30)])
    assert fast.height == spec.height == small_book["loans"].height
    assert_frame_equal(fast, spec, check_exact=True)


@pytest.mark.parametrize(
    ("days", "with_labels"),
    [([dt.date(2025, 9, 30)], False), ([dt.date(2025, 6, 30), dt.date(2025, 9, 30)], True)],
    ids=["a scoring day", "month ends with labels"],
)
def test_snapshots_read_the_daily_payments_they_are_given(small_book, days, with_labels) -> None:
    """Scoring hands the day's daily payments to the features (summed once for the ledger too): the same frame as
    when the snapshots sum the repayments themselves, labels and re-aged days past due included; and they are read."""
    params, known = FeatureParams(), dt.date(2025, 12, 31)
    payments = daily_payments(small_book["repayments"].lazy()).collect()

    def snapshots(given: pl.DataFrame | None) -> pl.DataFrame:
        lazy = None if given is None else given.lazy()
        kw = {"as_of_dates": days, "data_as_of": known, "with_labels": with_labels, "payments": lazy}
        return loan_snapshots(small_book, params, **kw).collect()

    shared = snapshots(payments)
    assert shared.height > 1000 and shared["days_past_due"].max() > 0
    assert_frame_equal(shared, snapshots(None), check_exact=True)
    assert not shared.equals(snapshots(payments.head(0)))


def test_a_scoring_day_given_as_a_datetime_is_its_date(small_book) -> None:
    """A day passed with a time of day (a datetime is a date) is featured as its date, as the pairs hold it: the time
    never moves an overdue window."""
    params, day = FeatureParams(), dt.date(2025, 6, 15)

    def snapshots(as_of: dt.date) -> pl.DataFrame:
        return loan_snapshots(small_book, params, as_of_dates=[as_of], data_as_of=day, with_labels=False).collect()

    want = snapshots(day)
    assert want.height > 500 and want["max_dpd_3m"].max() > 0
    assert_frame_equal(snapshots(dt.datetime(2025, 6, 15, 18, 30)), want, check_exact=True)
