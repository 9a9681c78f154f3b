"""No leakage: features at as_of are blind to every record dated after it, and see records before it."""

import datetime as dt

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from tests.books import PAYMENT, LoanSpec, at_day, book, loan_specs

from risk.config import FeatureParams
from risk.features import build_features
from risk.features.labels import APPLICATION_LABELS, LOAN_LABELS

AS_OF = dt.date(2024, 6, 30)
PARAMS = FeatureParams()
ACTIONS = [
    ("sms", "sms", "delivered"),
    ("call", "phone", "reached"),
    ("call", "phone", "refused"),
    ("call", "phone", "promise_to_pay"),
    ("negotiation", "phone", "broken_promise"),
    ("lawyers_letter", "letter", "delivered"),
]


payment = PAYMENT
action = st.tuples(st.integers(0, 400), st.sampled_from(ACTIONS))
_at = at_day


def loans():
    return loan_specs(st.sampled_from(ACTIONS))


def _features(specs, as_of=AS_OF):
    fs = build_features(book(*specs), PARAMS, data_as_of=dt.date(2026, 1, 1), as_of_dates=[as_of])
    loans_ = fs.loan_snapshots.drop(*LOAN_LABELS).sort("loan_id")
    apps = (
        fs.application_snapshots.filter(pl.col("as_of") <= as_of)
        .drop(*APPLICATION_LABELS, "originated_on")
        .sort("application_id")
    )
    return loans_, apps


def _after(at: dt.datetime) -> bool:
    return at.date() > AS_OF


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=loans(), data=st.data())
def test_records_after_as_of_do_not_change_features(specs, data):
    """Change, add or delete any payment or action dated after as_of, or book a new loan after it:
    every feature at as_of stays identical."""
    before = _features(specs)
    changed = []
    for s in specs:
        payments = [
            (at, amt * data.draw(st.sampled_from([0.5, 2.0]))) if _after(at) else (at, amt)
            for at, amt in s.payments
            if not (_after(at) and data.draw(st.booleans()))
        ]
        payments += [(_at(200 + d), a) for d, a in data.draw(st.lists(payment, max_size=3))]
        actions = [a for a in s.actions if not (_after(a[0]) and data.draw(st.booleans()))]
        actions += [(_at(200 + d, 10), *act) for d, act in data.draw(st.lists(action, max_size=3))]
        changed.append(
            LoanSpec(s.loan_id, s.originated_on, s.principal, s.term, s.annual_rate, s.borrower_id, payments, actions)
        )
    changed.append(LoanSpec("LATE", AS_OF + dt.timedelta(days=5), borrower_id="B0", payments=[(_at(250), 100.0)]))
    after = _features(changed)
    assert_frame_equal(before[0], after[0])
    assert_frame_equal(before[1], after[1])


def test_payment_moved_before_as_of_is_seen():
    """Moving a payment from after as_of to before it changes the repayment features that count it."""
    late = LoanSpec("L0", dt.date(2024, 1, 15), term=6, payments=[(_at(200), 200.0)])
    early = LoanSpec("L0", dt.date(2024, 1, 15), term=6, payments=[(_at(100), 200.0)])  # 2024-04-10
    a, b = _features([late])[0], _features([early])[0]
    assert a["days_past_due"].item() > b["days_past_due"].item()
    assert a["arrears_amount"].item() > b["arrears_amount"].item()
    assert b["days_since_last_payment"].item() == (AS_OF - dt.date(2024, 4, 10)).days


def test_action_moved_before_as_of_is_seen():
    far = LoanSpec("L0", dt.date(2024, 1, 15), actions=[(_at(300), "call", "phone", "refused")])
    near = LoanSpec("L0", dt.date(2024, 1, 15), actions=[(_at(175), "call", "phone", "refused")])
    a, b = _features([far])[0], _features([near])[0]
    assert (a["refusals_90d"].item(), b["refusals_90d"].item()) == (0, 1)
    assert (a["contacts_7d"].item(), b["contacts_7d"].item()) == (0, 1)
