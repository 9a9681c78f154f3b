"""Re-ageing: while a plan or an extension is kept, days past due, features and labels follow the agreed
schedule; a plan breaks on its first miss and the loan is back on its contract; nothing signed later counts."""

from __future__ import annotations

import datetime as dt

import polars as pl
from tests.books import LoanSpec, book

from risk.config import FeatureParams
from risk.contract import TABLES
from risk.features.build import loan_snapshots

PARAMS = FeatureParams()  # late_grace_days 3
D = dt.date


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(10))


# 1,200 over 6 months from 1 January 2024: 200 due on the 1st of February to July; paid in February only
LOAN = LoanSpec("L1", D(2024, 1, 1), payments=[(at(D(2024, 2, 1)), 200.0)])


def agreement(kind: str, signed: dt.date, status: str = "active", status_on: dt.date | None = None, **terms) -> dict:
    return {
        "agreement_id": f"G-{kind}",
        "loan_id": "L1",
        "kind": kind,
        "channel": "phone",
        "signed_at": at(signed),
        "status": status,
        "status_on": status_on or signed,
        **terms,
    }


# signed on 15 April at 45 days past due: four instalments of 250 from 1 May
PLAN = agreement(
    "instalment_plan", D(2024, 4, 15), plan_instalments=4, plan_first_due=D(2024, 5, 1), plan_instalment_amount=250.0
)


def dpd(spec: LoanSpec, agreements: list[dict], *days: dt.date) -> list[int]:
    tables = book(spec)
    if agreements:
        tables["agreements"] = pl.DataFrame(agreements, schema=TABLES["agreements"].schema)
    snap = loan_snapshots(tables, PARAMS, as_of_dates=list(days), data_as_of=D(2026, 1, 1)).collect()
    return snap.sort("as_of")["days_past_due"].to_list()


def labelled(spec: LoanSpec, agreements: list[dict], day: dt.date) -> dict:
    tables = book(spec)
    if agreements:
        tables["agreements"] = pl.DataFrame(agreements, schema=TABLES["agreements"].schema)
    snap = loan_snapshots(tables, PARAMS, as_of_dates=[day], data_as_of=D(2026, 1, 1)).collect()
    return snap.row(0, named=True)


def kept_then_missed() -> LoanSpec:
    """The plan's May and June instalments paid on their dates; July's never."""
    return LoanSpec(
        "L1", D(2024, 1, 1), payments=[*LOAN.payments, (at(D(2024, 5, 1)), 250.0), (at(D(2024, 6, 1)), 250.0)]
    )


def test_a_kept_plan_re_ages_the_loan_and_its_first_miss_puts_it_back_on_the_contract():
    days = D(2024, 4, 10), D(2024, 5, 20), D(2024, 7, 2), D(2024, 7, 10)
    assert dpd(kept_then_missed(), [], *days) == [40, 49, 62, 70]  # the contract (payments to the oldest first)
    # before signing: the contract; kept: current; the July instalment a day late, within grace: 1; past grace,
    # the plan broke on that first miss (the record still says active) and the contract's 70 days stand
    assert dpd(kept_then_missed(), [PLAN], *days) == [40, 0, 1, 70]


def test_a_plan_the_record_says_broke_stops_re_ageing_on_that_day():
    broken = {**PLAN, "status": "broken", "status_on": D(2024, 5, 10)}
    assert dpd(kept_then_missed(), [broken], D(2024, 5, 9), D(2024, 5, 11)) == [0, 40]


def test_an_agreement_signed_after_as_of_changes_nothing_at_as_of():
    later = {**PLAN, "signed_at": at(D(2024, 5, 21))}
    assert dpd(kept_then_missed(), [later], D(2024, 5, 20)) == dpd(kept_then_missed(), [], D(2024, 5, 20))


def test_an_extension_defers_the_overdue_instalments_only():
    # signed on 15 April: the March and April instalments (overdue then) fall due 30 days later, on 15 May
    extension = agreement("extension", D(2024, 4, 15), extension_days=30)
    # 20 April: nothing is due; 3 May: May's own instalment (not deferred) is 2 days late; 20 May: the
    # deferred arrears are past 15 May and its grace: the extension broke, the contract's 80 days stand
    assert dpd(LOAN, [extension], D(2024, 4, 20), D(2024, 5, 3), D(2024, 5, 20)) == [0, 2, 80]


def test_labels_follow_the_agreed_schedule():
    # at 10 April the loan is 40 days late; the plan signed on 15 April brings it current: cured within 30 days
    row = labelled(kept_then_missed(), [PLAN], D(2024, 4, 10))
    assert row["cure_30d"] == 1
    assert labelled(kept_then_missed(), [], D(2024, 4, 10))["cure_30d"] == 0
    # at 20 May the loan is current under the plan; the plan breaks in July: 30+ days past due within 90 days
    row = labelled(kept_then_missed(), [PLAN], D(2024, 5, 20))
    assert row["days_past_due"] == 0
    assert row["dpd30_next_90d"] == 1


def test_a_broken_plan_stays_broken_when_the_borrower_catches_up_later():
    late = kept_then_missed()
    late.payments.append((at(D(2024, 7, 20)), 250.0))  # July's plan instalment, 19 days late
    # on 25 July the plan's instalments are all paid, but it broke on 4 July: the contract's 54 days stand
    assert dpd(late, [PLAN], D(2024, 7, 25)) == dpd(late, [], D(2024, 7, 25)) == [54]
