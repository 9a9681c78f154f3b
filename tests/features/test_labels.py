"""Labels read the future only, and only when its horizon is fully observed."""

import datetime as dt

import polars as pl
from tests.books import LoanSpec, book, pay_on_schedule

from risk.config import FeatureParams
from risk.features import build_features

D = dt.date
T = dt.datetime
PARAMS = FeatureParams()


def _loan_rows(tables, data_as_of, *as_of):
    fs = build_features(tables, PARAMS, data_as_of=data_as_of, as_of_dates=list(as_of))
    return fs.loan_snapshots.sort("loan_id", "as_of")


def test_loan_that_stops_paying_is_an_early_warning_bad():
    tables = book(pay_on_schedule(LoanSpec("L1", D(2024, 1, 1), term=12), through=3))
    rows = _loan_rows(tables, D(2025, 6, 30), D(2024, 3, 31), D(2024, 4, 30))
    # instalment 4 (due 05-01) is never paid: 30 days past due on 05-31, inside both 90-day horizons
    assert rows["dpd30_next_90d"].to_list() == [1, 1]


def test_loan_paid_on_time_is_an_early_warning_good():
    tables = book(pay_on_schedule(LoanSpec("L1", D(2024, 1, 1), term=12)))
    rows = _loan_rows(tables, D(2025, 6, 30), D(2024, 3, 31))
    assert rows["dpd30_next_90d"].to_list() == [0]


def test_horizon_not_observed_gives_no_label():
    tables = book(pay_on_schedule(LoanSpec("L1", D(2024, 1, 1), term=12)))
    rows = _loan_rows(tables, D(2024, 5, 31), D(2024, 3, 31))
    assert rows["dpd30_next_90d"].to_list() == [None]


def test_cure_needs_every_overdue_instalment_paid_within_30_days():
    spec = pay_on_schedule(LoanSpec("L1", D(2024, 1, 1), term=12), through=1)
    # instalment 1 (02-01) paid; 2 (03-01) missed; on 04-10 both 2 and 3 (04-01) are paid, 100 each
    spec.payments.append((T(2024, 4, 10, 9), 200.0))
    tables = book(spec)
    rows = _loan_rows(tables, D(2025, 6, 30), D(2024, 3, 31))
    assert rows["days_past_due"].to_list() == [30]
    assert rows["cure_30d"].to_list() == [1]


def test_partial_catch_up_is_not_a_cure():
    spec = pay_on_schedule(LoanSpec("L1", D(2024, 1, 1), term=12), through=1)
    spec.payments.append((T(2024, 4, 10, 9), 100.0))  # pays March, April stays overdue
    tables = book(spec)
    rows = _loan_rows(tables, D(2025, 6, 30), D(2024, 3, 31))
    assert rows["cure_30d"].to_list() == [0]


def test_current_loan_has_no_cure_label():
    tables = book(pay_on_schedule(LoanSpec("L1", D(2024, 1, 1), term=12)))
    rows = _loan_rows(tables, D(2025, 6, 30), D(2024, 3, 31))
    assert rows["cure_30d"].to_list() == [None]


def test_default_12m_is_ninety_days_past_due_within_the_horizon():
    bad = pay_on_schedule(LoanSpec("BAD", D(2024, 1, 1), term=12), through=2)
    good = pay_on_schedule(LoanSpec("GOOD", D(2024, 1, 1), term=12))
    late = pay_on_schedule(LoanSpec("LATE", D(2024, 1, 1), term=12), through=9)  # misses from instalment 10
    fs = build_features(book(bad, good, late), PARAMS, data_as_of=D(2025, 6, 30))
    labels = dict(fs.application_snapshots.select("loan_id", "default_12m").iter_rows())
    # LATE's first miss is due 2024-11-01: 90 days later is past the 12-month horizon
    assert labels == {"BAD": 1, "GOOD": 0, "LATE": 0}


def test_default_12m_is_unknown_until_the_horizon_has_passed():
    tables = book(pay_on_schedule(LoanSpec("L1", D(2024, 1, 1), term=12), through=2))
    fs = build_features(tables, PARAMS, data_as_of=D(2024, 12, 1))
    assert fs.application_snapshots["default_12m"].to_list() == [None]


def test_settled_loan_leaves_the_snapshots():
    spec = pay_on_schedule(LoanSpec("L1", D(2024, 1, 1)), through=1)
    spec.payments.append((T(2024, 2, 15, 9), 1000.0))
    rows = _loan_rows(book(spec), D(2025, 6, 30), D(2024, 1, 31), D(2024, 2, 29), D(2024, 3, 31))
    assert rows["as_of"].to_list() == [D(2024, 1, 31)]
    assert pl.Series(rows["loan_id"]).to_list() == ["L1"]
