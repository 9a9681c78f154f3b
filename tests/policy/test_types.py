"""The overdue type an episode's outcome establishes, on loans built by hand."""

from __future__ import annotations

import datetime as dt

import polars as pl
from tests.books import LoanSpec, add_months, book

from risk.contract import AGREEMENTS, Action, AgreementKind, AgreementStatus, ContactChannel, Outcome
from risk.policy.types import established_types

AS_OF = dt.date(2025, 1, 31)
START = dt.date(2024, 1, 1)  # 12 instalments of 100 due on the 1st of each month from 2024-02-01


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(10))


def hardship(*days: dt.date) -> list[tuple[dt.datetime, str, str, str]]:
    return [(at(d), Action.CALL.value, ContactChannel.PHONE.value, Outcome.HARDSHIP_REPORTED.value) for d in days]


def instalment_plan(loan_id: str, signed: dt.date, broken: dt.date) -> pl.DataFrame:
    row = {
        "agreement_id": f"G-{loan_id}",
        "loan_id": loan_id,
        "kind": AgreementKind.INSTALMENT_PLAN.value,
        "channel": ContactChannel.PHONE.value,
        "signed_at": at(signed),
        "plan_instalments": 6,
        "plan_first_due": signed + dt.timedelta(days=20),
        "plan_instalment_amount": 50.0,
        "status": AgreementStatus.BROKEN.value,
        "status_on": broken,
    }
    return pl.DataFrame([row], schema=AGREEMENTS.schema)


def test_small_payments_of_their_own_while_past_due_establish_severe_from_the_episode_itself():
    """A few days late once, current again, then past due for good and paying a little each month: the
    episode starts at the second miss, and paying a little is severe though hardship was reported."""
    spec = LoanSpec("L1", START, principal=1200.0, term=12)
    spec.payments += [(at(dt.date(2024, 2, 6)), 100.0), (at(dt.date(2024, 3, 1)), 100.0)]
    spec.payments += [(at(add_months(dt.date(2024, 5, 1), k)), 20.0) for k in range(3)]
    spec.actions += hardship(dt.date(2024, 4, 20), dt.date(2024, 6, 20))
    labels = established_types(book(spec), data_as_of=AS_OF)
    row = labels.row(0, named=True)
    assert row["onset"] == dt.date(2024, 4, 1), "the first spell (5 days late, then current) is another episode"
    assert row["ended_on"] is None
    assert row["established_type"] == "severe"


def test_a_plans_instalments_are_not_the_borrowers_own_payments():
    """The same little payments made as a plan's instalments, the plan then broken: hardship and next to
    nothing paid is insolvent; the plan paid, not the borrower of their own accord."""
    spec = LoanSpec("L2", START, principal=1200.0, term=12)
    spec.payments += [(at(add_months(dt.date(2024, 4, 1), k)), 50.0) for k in range(4)]
    spec.actions += hardship(dt.date(2024, 2, 20), dt.date(2024, 3, 5))
    tables = book(spec) | {"agreements": instalment_plan("L2", dt.date(2024, 3, 10), dt.date(2024, 8, 15))}
    row = established_types(tables, data_as_of=AS_OF).row(0, named=True)
    assert row["onset"] == dt.date(2024, 2, 1)
    assert row["established_type"] == "insolvent"
    without_the_plan = established_types(book(spec), data_as_of=AS_OF).row(0, named=True)
    assert without_the_plan["established_type"] == "severe"
