"""A daily run reuses the last run's instalment ledger: only loans whose ledger inputs changed are rebuilt, and
the ledger it gives equals the one built from scratch, row for row."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from risk import io
from risk.delinquency import daily_payments_frame
from risk.score import ledger_state
from risk.score.ledger_state import LEDGER_INPUTS, build, fingerprints, load, save

AS_OF = dt.date(2025, 12, 31)


def held_at(book: dict[str, pl.DataFrame], day: dt.date) -> dict[str, pl.DataFrame]:
    """The ledger's input tables as the lender's system held them at the end of ``day``."""
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
    loans = book["loans"].filter(pl.col("originated_on") <= day)
    booked = loans.select("loan_id")
    return {
        "loans": loans,
        "schedule": book["schedule"].join(booked, on="loan_id", how="semi"),
        "repayments": book["repayments"].filter(pl.col("paid_at") < end).join(booked, on="loan_id", how="semi"),
    }


@pytest.fixture(scope="module")
def days(small_book):
    yesterday, today = AS_OF - dt.timedelta(days=1), AS_OF
    return held_at(small_book, yesterday), held_at(small_book, today)


def test_the_next_day_rebuilds_only_the_loans_with_new_rows_and_equals_a_full_build(days, tmp_path) -> None:
    yesterday, today = days
    save(tmp_path, build(yesterday))
    incremental = build(today, load(tmp_path))
    full = build(today)
    assert incremental.incremental and not full.incremental
    assert incremental.frame.equals(full.frame)
    new_rows = pl.concat(
        [
            today["repayments"].join(yesterday["repayments"], on=list(LEDGER_INPUTS["repayments"]), how="anti"),
            today["loans"].join(yesterday["loans"], on="loan_id", how="anti"),
        ],
        how="diagonal",
    )["loan_id"].n_unique()
    assert 0 < incremental.rebuilt == new_rows < today["loans"].height / 10
    assert incremental.summary() == f"ledger reused, {new_rows:,} of {today['loans'].height:,} loans rebuilt"


def test_a_full_build_from_the_days_payments_equals_one_that_sums_the_repayments_itself(days) -> None:
    """A scoring day sums its repayments per loan and day once, for the ledger and the features alike."""
    _, today = days
    payments = daily_payments_frame(today["repayments"])
    assert build(today, payments=payments).frame.equals(build(today).frame)
    assert not build(today, payments=payments.head(0)).frame.equals(build(today).frame)  # they are read


def test_a_restated_repayment_and_a_removed_loan_are_not_carried_over(days, tmp_path) -> None:
    """History is not trusted to be append-only: an edited old payment rebuilds its loan; a loan gone from the
    export leaves the ledger."""
    _, today = days
    save(tmp_path, build(today))
    restated_loan = today["repayments"]["loan_id"][0]
    gone = today["loans"].filter(pl.col("loan_id") != restated_loan)["loan_id"][-1]
    edited = {
        "loans": today["loans"].filter(pl.col("loan_id") != gone),
        "schedule": today["schedule"].filter(pl.col("loan_id") != gone),
        "repayments": today["repayments"]
        .filter(pl.col("loan_id") != gone)
        .with_columns(
            amount=pl.when(pl.int_range(pl.len()) == 0).then(pl.col("amount") / 2).otherwise(pl.col("amount"))
        ),
    }
    incremental = build(edited, load(tmp_path))
    assert incremental.rebuilt == 1
    assert incremental.frame.equals(build(edited).frame)
    assert gone not in incremental.frame["loan_id"]


def test_fingerprints_ignore_row_order_and_columns_the_ledger_does_not_read(days) -> None:
    _, today = days
    shuffled = {name: frame.sample(fraction=1.0, shuffle=True, seed=3) for name, frame in today.items()}
    shuffled["loans"] = shuffled["loans"].with_columns(product=pl.lit("renamed"))
    by_loan = lambda f: f.sort("loan_id")  # noqa: E731
    assert by_loan(fingerprints(shuffled)).equals(by_loan(fingerprints(today)))


def test_a_ledger_kept_by_other_code_is_never_loaded_and_is_cleaned_up(days, tmp_path, monkeypatch) -> None:
    _, today = days
    save(tmp_path, build(today))
    monkeypatch.setattr(ledger_state, "state_key", lambda: "another-version")
    assert load(tmp_path) is None
    save(tmp_path, build(today))
    assert [p.name for p in tmp_path.glob("ledger-*.parquet")] == ["ledger-another-version.parquet"]


def test_a_damaged_kept_ledger_is_rebuilt_not_trusted(days, tmp_path) -> None:
    _, today = days
    ledger_state.state_path(tmp_path).write_bytes(b"not parquet")
    assert load(tmp_path) is None


def test_a_kept_ledger_in_another_row_order_gives_the_same_ledger(days, tmp_path) -> None:
    yesterday, today = days
    save(tmp_path, build(yesterday))
    shuffled = load(tmp_path).sample(fraction=1.0, shuffle=True, seed=5)
    assert build(today, shuffled).frame.equals(build(today).frame)


def test_a_kept_ledger_sorted_by_loan_with_two_instalments_swapped_is_put_back_in_order(days, tmp_path) -> None:
    yesterday, today = days
    save(tmp_path, build(yesterday))
    kept = load(tmp_path)
    assert kept["loan_id"].flags["SORTED_ASC"]  # what the check trusts first: the loans are still in order
    swapped = kept.with_row_index("row").with_columns(
        pl.when(pl.col("row") == 0).then(1).when(pl.col("row") == 1).then(0).otherwise("row").alias("at")
    )
    first = swapped["loan_id"][0]
    assert swapped["loan_id"][1] == first  # the first loan has two instalments: swap them
    today_print = fingerprints(today).filter(pl.col("loan_id") == first).drop("loan_id")
    assert kept.filter(pl.col("loan_id") == first).head(1).select(today_print.columns).equals(today_print)  # reused
    out_of_order = swapped.sort("at").drop("row", "at").with_columns(pl.col("loan_id").set_sorted())
    assert build(today, out_of_order).frame.equals(build(today).frame)


def test_tables_read_in_loan_order_and_in_any_order_give_the_same_ledger_and_fingerprints(days, tmp_path) -> None:
    yesterday, today = days
    in_order = {name: io.flag_sorted(frame.sort("loan_id"), io.LOAN_KEY) for name, frame in today.items()}
    assert all(frame["loan_id"].flags["SORTED_ASC"] for frame in in_order.values())
    shuffled = {name: frame.sample(fraction=1.0, shuffle=True, seed=11) for name, frame in today.items()}
    by_loan = lambda f: f.sort("loan_id")  # noqa: E731
    assert by_loan(fingerprints(in_order)).equals(by_loan(fingerprints(shuffled)))
    save(tmp_path, build(yesterday))
    assert build(in_order, load(tmp_path)).frame.equals(build(shuffled).frame)


def test_rows_of_a_loan_missing_from_loans_are_in_no_ledger(days, tmp_path) -> None:
    """When fk_loan_exists is only a warning, an orphan's schedule is not a ledger, whichever way it is built."""
    yesterday, today = days
    orphan = today["schedule"].head(3).with_columns(loan_id=pl.lit("ORPHAN"))
    with_orphan = {**today, "schedule": pl.concat([today["schedule"], orphan])}
    save(tmp_path, build({**yesterday, "schedule": pl.concat([yesterday["schedule"], orphan])}))
    incremental, full = build(with_orphan, load(tmp_path)), build(with_orphan)
    assert "ORPHAN" not in full.frame["loan_id"]
    assert incremental.frame.equals(full.frame)


def test_a_ledger_built_not_to_be_kept_is_the_same_ledger_without_fingerprints(days) -> None:
    """With score.incremental off the day keeps no ledger, so it skips the fingerprints, orphans still dropped."""
    _, today = days
    orphan = today["schedule"].head(3).with_columns(loan_id=pl.lit("ORPHAN"))
    with_orphan = {**today, "schedule": pl.concat([today["schedule"], orphan])}
    once, kept = build(with_orphan, keep=False), build(with_orphan)
    assert once.fingerprints is None and not once.incremental
    assert once.frame.equals(kept.frame) and once.frame["loan_id"].flags["SORTED_ASC"]
    assert once.summary() == kept.summary()
    with pytest.raises(ValueError, match="not to be kept"):
        ledger_state.kept_frame(once)


@pytest.mark.parametrize(
    ("table", "column"),
    [("loans", "principal"), ("schedule", "due_date"), ("schedule", "interest_due"), ("repayments", "paid_at")],
)
def test_an_edit_to_any_column_the_ledger_reads_rebuilds_that_loan_only(days, tmp_path, table, column) -> None:
    """Every part of the one fingerprint counts: each table's rows and their hashes."""
    _, today = days
    save(tmp_path, build(today))
    frame = today[table]
    first_row = pl.int_range(pl.len()) == 0
    edited = pl.when(first_row).then(
        pl.col(column) + pl.duration(days=1) if frame[column].dtype.is_temporal() else pl.col(column) * 2
    )
    tables = {**today, table: frame.with_columns(edited.otherwise(pl.col(column)).alias(column))}
    incremental = build(tables, load(tmp_path))
    assert incremental.rebuilt == 1
    assert incremental.frame.equals(build(tables).frame)


def test_a_removed_repayment_rebuilds_its_loan(days, tmp_path) -> None:
    _, today = days
    save(tmp_path, build(today))
    tables = {**today, "repayments": today["repayments"].slice(1)}
    assert build(tables, load(tmp_path)).rebuilt == 1


def test_a_staged_ledger_is_kept_only_once_put_in_its_place_and_a_discarded_one_leaves_nothing(days, tmp_path):
    """The ledger is written while the day is, beside its place: the next run finds it only once the day is
    written (keep), and a day that stops removes it (discard), leaving the ledger kept before as it was."""
    yesterday, today = days
    save(tmp_path, build(yesterday))
    before = load(tmp_path)
    staged = ledger_state.stage(tmp_path, build(today))
    assert staged.path is not None and staged.path.exists() and staged.path.parent == tmp_path
    assert load(tmp_path).equals(before)  # not yet kept
    ledger_state.discard(staged)
    assert not staged.path.exists() and load(tmp_path).equals(before)
    staged = ledger_state.stage(tmp_path, build(today))
    ledger_state.keep(tmp_path, staged)
    assert load(tmp_path).equals(staged.frame) and not staged.path.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [ledger_state.state_path(tmp_path).name]


def test_a_ledger_that_cannot_be_written_is_said_when_it_is_kept_and_the_frame_is_still_handed_on(days, tmp_path):
    scored = tmp_path / "a-file" / "scored"
    scored.parent.write_text("not a folder")
    staged = ledger_state.stage(scored, build(days[1]))
    assert staged.path is None and isinstance(staged.error, OSError)
    assert staged.frame.height > 0  # a scorer that stays still hands it to its next day
    with pytest.raises(OSError):
        ledger_state.keep(scored, staged)
