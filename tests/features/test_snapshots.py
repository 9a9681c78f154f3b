"""How the loan snapshots are computed never changes what they hold: the loans active at each date, found by two
binary searches per loan, are those a cross join of every loan with every date keeps; the families of features
stacked in memory beside the ordered pairs give the frame one streaming plan joins and sorts."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from risk import io
from risk.config import FeatureParams
from risk.delinquency import daily_payments, ledger_frame
from risk.exceptions import RiskDataError
from risk.features import build
from risk.features.build import _active_at, month_ends

AS_OF = dt.date(2025, 12, 31)
D0 = dt.date(2024, 1, 1)
day = st.integers(0, 400).map(lambda d: D0 + dt.timedelta(days=d))


def active_by_definition(loans: pl.DataFrame, ledger: pl.DataFrame, dates: list[dt.date]) -> pl.DataFrame:
    """Every loan with every date, kept where it was originated by then and not settled: each date once."""
    closed = ledger.group_by("loan_id").agg(pl.col("closed_on").first())
    return (
        loans.join(closed, on="loan_id", how="left")
        .join(pl.DataFrame({"as_of": dates}, schema={"as_of": pl.Date}).unique(), how="cross")
        .filter(
            (pl.col("originated_on") <= pl.col("as_of"))
            & (pl.col("closed_on").is_null() | (pl.col("closed_on") > pl.col("as_of")))
        )
        .select("loan_id", "borrower_id", "as_of")
    )


@settings(max_examples=100, deadline=None)
@given(
    loans=st.lists(st.tuples(day, st.one_of(st.none(), day), st.integers(0, 3)), max_size=8),
    dates=st.lists(day, max_size=8),  # in any order, repeated or none
)
def test_the_loans_active_at_each_date_are_those_originated_and_not_yet_settled(loans, dates) -> None:
    """Loans settled before, on and after a date, originated on it or after, never settled, without ledger rows."""
    book = pl.DataFrame(
        {
            "loan_id": [f"L{i}" for i in range(len(loans))],
            "borrower_id": [f"B{i % 3}" for i in range(len(loans))],
            "originated_on": [originated for originated, _, _ in loans],
        },
        schema={"loan_id": pl.String, "borrower_id": pl.String, "originated_on": pl.Date},
    )
    ledger = pl.DataFrame(  # a loan's closing day on each of its rows; a loan with none has no row
        {
            "loan_id": [f"L{i}" for i, (_, _, rows) in enumerate(loans) for _ in range(rows)],
            "closed_on": [closed for _, closed, rows in loans for _ in range(rows)],
        },
        schema={"loan_id": pl.String, "closed_on": pl.Date},
    )
    order = ["loan_id", "as_of"]
    got = _active_at(book.lazy(), ledger.lazy(), dates).collect().sort(order)
    assert_frame_equal(got, active_by_definition(book, ledger, dates).sort(order))


MONTH_ENDS = month_ends(dt.date(2024, 7, 1), AS_OF) + [dt.date(2025, 3, d) for d in (1, 4, 5)]


@pytest.mark.parametrize("with_labels", [True, False])
@pytest.mark.parametrize("dates", [MONTH_ENDS, [AS_OF]], ids=["month ends and due days", "one day"])
def test_families_stacked_in_memory_give_the_frame_of_one_streaming_plan(
    small_book, monkeypatch, dates, with_labels
) -> None:
    """On the simulated book, agreements (which re-age days past due) included; one day's frame sorted by loan alone."""
    assert "agreements" in small_book
    ledger = ledger_frame(small_book).lazy()

    def snapshots(stacked_up_to: int) -> pl.DataFrame:
        monkeypatch.setattr(build, "STACKED_SNAPSHOTS", stacked_up_to)
        return build.loan_snapshots(
            small_book, FeatureParams(), as_of_dates=dates, data_as_of=AS_OF, with_labels=with_labels, ledger=ledger
        ).collect()

    stacked, streamed = snapshots(10**9), snapshots(0)
    assert stacked.height > (20_000 if len(dates) > 1 else 1_000) and stacked["max_ladder_step"].max() > 0
    assert_frame_equal(stacked, streamed, check_exact=True)


@pytest.mark.parametrize("dates", [MONTH_ENDS, [AS_OF]], ids=["month ends and due days", "one day"])
def test_the_snapshots_come_in_date_and_loan_order_whatever_the_loans_order(small_book, dates) -> None:
    """The pairs are put in order by a stable sort by day of the pairs found in loan order: loans exported in any
    order give the same frame, row for row."""
    assert small_book["loans"]["loan_id"].is_sorted()
    shuffled = {**small_book, "loans": small_book["loans"].sample(fraction=1.0, shuffle=True, seed=7)}
    assert not shuffled["loans"]["loan_id"].is_sorted()

    def snapshots(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
        return build.loan_snapshots(
            tables, FeatureParams(), as_of_dates=dates, data_as_of=AS_OF, with_labels=False
        ).collect()

    ordered = snapshots(small_book)
    assert ordered.height > 1_000
    assert ordered.select(pl.struct("as_of", "loan_id").is_sorted()).item()
    assert_frame_equal(snapshots(shuffled), ordered, check_exact=True)


@pytest.mark.parametrize("open_on", [None, AS_OF], ids=["lookups", "the day's open loans"])
def test_a_loan_and_day_asked_twice_of_loan_state_get_the_same_features_twice(small_book, open_on) -> None:
    """The policy's history may ask for one loan on one day twice: the families are built per numbered pair, so each
    asking gets the row the pair gets asked once (a day's open loans grouped by loan, their payments counted once)."""
    ledger = ledger_frame(small_book).lazy()
    pairs = _active_at(small_book["loans"].lazy(), ledger, [AS_OF]).collect().head(300)

    def state(asked: pl.DataFrame) -> pl.DataFrame:
        frame = build.loan_state(small_book, asked.lazy(), FeatureParams(), ledger=ledger, open_on=open_on)
        return frame.collect().sort("loan_id")

    once = state(pairs)
    assert once.height == 300 and once["paid_to_due_all"].is_not_null().sum() > 100
    assert_frame_equal(state(pl.concat([pairs, pairs])), pl.concat([once, once]).sort("loan_id"), check_exact=True)


def test_the_collections_read_a_datetime_as_of_as_its_day(small_book) -> None:
    """A caller's as_of may come as a datetime: the collections count it as its day, whatever the time, as the
    actions' times count as theirs."""
    days = [dt.date(2025, 3, 31), AS_OF]
    pairs = build._active_at(small_book["loans"].lazy(), ledger_frame(small_book).lazy(), days).collect()
    pairs = pairs.with_columns(days_past_due=pl.lit(45, dtype=pl.Int64))  # an episode of 45 days for every pair

    def counted(as_of: pl.Expr) -> pl.DataFrame:
        asked = pairs.with_columns(as_of=as_of).lazy()
        return build.collection_state(asked, small_book["collection_actions"].lazy()).collect().sort("loan_id", "as_of")

    by_day = counted(pl.col("as_of"))
    assert by_day.height > 500 and by_day["contacts_30d"].sum() > 0 and by_day["max_ladder_step"].max() > 0
    for hour in (0, 12):
        at = counted(pl.col("as_of").cast(pl.Datetime) + pl.duration(hours=hour))
        assert_frame_equal(at.with_columns(pl.col("as_of").cast(pl.Date)), by_day, check_exact=True)


def test_a_family_with_two_rows_for_one_key_stops_rather_than_shift_the_rows_after_it() -> None:
    frame = pl.DataFrame({"loan_id": ["L1", "L2"], "as_of": [D0, D0]})
    family = pl.DataFrame({"loan_id": ["L1", "L1", "L2"], "as_of": [D0, D0, D0], "x": [1, 2, 3]})
    with pytest.raises(RiskDataError, match="more than one row"):
        build._stacked(frame, [family.lazy()], [["loan_id", "as_of"]])
    stacked = build._stacked(frame, [family.filter(pl.col("x") > 1).lazy()], [["loan_id", "as_of"]])
    assert stacked.to_dict(as_series=False) == {"loan_id": ["L1", "L2"], "as_of": [D0, D0], "x": [2, 3]}


@pytest.mark.parametrize("with_labels", [True, False])
@pytest.mark.parametrize("dates", [MONTH_ENDS, [AS_OF]], ids=["month ends and due days", "one day"])
def test_a_ledger_given_without_its_payments_gives_the_frame_of_every_payment(small_book, dates, with_labels) -> None:
    """An incremental day hands over its ledger alone: the payments are then summed for the pairs' loans only, and
    the frame is the one built from every loan's payments, or from nothing handed over."""
    ledger = ledger_frame(small_book).lazy()

    def snapshots(**given: pl.LazyFrame) -> pl.DataFrame:
        return build.loan_snapshots(
            small_book, FeatureParams(), as_of_dates=dates, data_as_of=AS_OF, with_labels=with_labels, **given
        ).collect()

    alone = snapshots(ledger=ledger)
    assert alone.height > 1_000 and alone["paid_to_due_all"].is_not_null().sum() > 1_000
    assert_frame_equal(alone, snapshots(ledger=ledger, payments=daily_payments(small_book["repayments"].lazy())))
    assert_frame_equal(alone, snapshots())


def test_a_small_day_on_the_in_memory_engine_gives_the_frame_of_polars_default(small_book, monkeypatch) -> None:
    """A day of few open loans has its families collected on polars' in-memory engine (quicker to start than the
    streaming one), to the frame the default engine gives."""
    ledger = ledger_frame(small_book).lazy()
    collect_all, engines = pl.collect_all, []

    def recorded(frames, **options):
        engines.append(options.get("engine", "auto"))
        return collect_all(frames, **options)

    monkeypatch.setattr(pl, "collect_all", recorded)

    def snapshots(in_memory_up_to: int) -> pl.DataFrame:
        monkeypatch.setattr(io, "IN_MEMORY_ROWS", in_memory_up_to)
        return build.loan_snapshots(
            small_book, FeatureParams(), as_of_dates=[AS_OF], data_as_of=AS_OF, with_labels=False, ledger=ledger
        ).collect()

    in_memory = snapshots(10**9)
    assert engines == ["in-memory"]
    default = snapshots(0)
    assert engines == ["in-memory", "auto"]
    assert in_memory.height > 1_000
    assert_frame_equal(in_memory, default, check_exact=True)
