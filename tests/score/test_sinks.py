"""Scored days are replaced whole and committed once: a rerun leaves one copy, a crash leaves both sinks on the
previous day or, once the database has committed, on the new one."""

import datetime as dt
import multiprocessing as mp
import os
import signal
import time

import duckdb
import polars as pl
import pytest

from risk.score import sinks
from risk.score.guard import DaySummary
from risk.score.sinks import day_folder, read_day, run_of_day, settle, write_day

DAY = dt.date(2025, 12, 31)


def _tables(n: int, tag: str) -> dict[str, pl.DataFrame]:
    return {"collections_queue": pl.DataFrame({"as_of": [DAY] * n, "loan_id": [f"{tag}{i}" for i in range(n)]})}


def _one_row(day: dt.date, loan_id: str) -> dict[str, pl.DataFrame]:
    return {"collections_queue": pl.DataFrame({"as_of": [day], "loan_id": [loan_id]})}


def test_rerun_of_a_day_leaves_exactly_one_copy(tmp_path):
    db = tmp_path / "risk.duckdb"
    write_day(_tables(5, "a"), scored=tmp_path, database=db, as_of=DAY)
    write_day(_tables(3, "b"), scored=tmp_path, database=db, as_of=DAY)
    assert sorted(read_day(db, "collections_queue", DAY)["loan_id"]) == ["b0", "b1", "b2"]
    assert pl.read_parquet(day_folder(tmp_path, DAY) / "collections_queue.parquet").height == 3


def test_other_days_are_kept(tmp_path):
    db = tmp_path / "risk.duckdb"
    other = dt.date(2025, 12, 30)
    write_day(_one_row(other, "x"), scored=tmp_path, database=db, as_of=other)
    write_day(_tables(2, "a"), scored=tmp_path, database=db, as_of=DAY)
    assert read_day(db, "collections_queue", other)["loan_id"].to_list() == ["x"]


def _slow_write(scored, db):
    import risk.score.sinks as sinks

    original = sinks._replace_day

    def stall(*args):
        os.kill(os.getpid(), signal.SIGKILL)  # die at the database write, the day's Parquet staged
        original(*args)

    sinks._replace_day = stall
    big = {"collections_queue": pl.DataFrame({"as_of": [DAY] * 10, "loan_id": [f"n{i}" for i in range(10)]})}
    sinks.write_day(big, scored=scored, database=db, as_of=DAY)


def test_killed_run_leaves_both_sinks_on_the_previous_day(tmp_path):
    db = tmp_path / "risk.duckdb"
    write_day(_tables(4, "old"), scored=tmp_path, database=db, as_of=DAY)
    proc = mp.get_context("spawn").Process(target=_slow_write, args=(tmp_path, db))
    proc.start()
    proc.join()
    assert proc.exitcode == -signal.SIGKILL
    assert sorted(read_day(db, "collections_queue", DAY)["loan_id"]) == ["old0", "old1", "old2", "old3"]
    assert pl.read_parquet(day_folder(tmp_path, DAY) / "collections_queue.parquet").height == 4
    assert not any(p.name.startswith(".") and "tmp" in p.name for p in tmp_path.iterdir())
    settle(tmp_path, db)  # the next writer or reader discards the uncommitted staged day
    assert not (tmp_path / sinks.STAGING).exists()
    assert pl.read_parquet(day_folder(tmp_path, DAY) / "collections_queue.parquet").height == 4


def committed_run(db, day) -> str:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT run_id FROM score_days WHERE as_of = ?", [day]).fetchone()[0]


def test_the_parquet_day_and_the_database_name_the_same_run(tmp_path):
    db = tmp_path / "risk.duckdb"
    first = write_day(_tables(2, "a"), scored=tmp_path, database=db, as_of=DAY)
    second = write_day(_tables(2, "b"), scored=tmp_path, database=db, as_of=DAY)
    assert first != second
    assert run_of_day(tmp_path, DAY)["run_id"] == committed_run(db, DAY) == second


def test_a_day_committed_by_a_run_killed_before_its_rename_is_finished_by_the_next_reader(tmp_path, monkeypatch):
    db = tmp_path / "risk.duckdb"
    write_day(_tables(4, "old"), scored=tmp_path, database=db, as_of=DAY)

    def killed(staged, target):
        raise SystemExit("killed after the commit")  # stands in for SIGKILL: the rename never happens

    with monkeypatch.context() as m:
        m.setattr(sinks, "_publish", killed)
        with pytest.raises(SystemExit):
            write_day(_tables(3, "new"), scored=tmp_path, database=db, as_of=DAY)
    assert sorted(read_day(db, "collections_queue", DAY)["loan_id"]) == ["new0", "new1", "new2"]
    settle(tmp_path, db)
    assert sorted(pl.read_parquet(day_folder(tmp_path, DAY) / "collections_queue.parquet")["loan_id"]) == [
        "new0",
        "new1",
        "new2",
    ]
    assert run_of_day(tmp_path, DAY)["run_id"] == committed_run(db, DAY)


def test_the_day_s_counts_are_kept_for_the_next_day_s_guard(tmp_path):
    db = tmp_path / "risk.duckdb"
    before = DaySummary(DAY - dt.timedelta(days=1), 1000, 20, 5, 60)
    write_day(_tables(1, "a"), scored=tmp_path, database=db, as_of=before.as_of, summary=before)
    with sinks.day_writer(tmp_path, db) as writer:
        assert writer.previous(DAY) == before
        assert writer.previous(before.as_of) is None


def test_a_rerun_that_no_longer_writes_a_table_removes_that_day_from_it(tmp_path):
    db = tmp_path / "risk.duckdb"
    with_options = {**_tables(2, "a"), "collections_options": pl.DataFrame({"as_of": [DAY], "loan_id": ["a0"]})}
    write_day(with_options, scored=tmp_path, database=db, as_of=DAY)
    write_day(_tables(2, "b"), scored=tmp_path, database=db, as_of=DAY)  # e.g. the Spark engine: no options
    assert read_day(db, "collections_options", DAY).height == 0
    assert not (day_folder(tmp_path, DAY) / "collections_options.parquet").exists()


def test_a_column_a_newer_release_adds_is_added_to_the_table_and_earlier_days_read_null(tmp_path):
    db = tmp_path / "risk.duckdb"
    other = dt.date(2025, 12, 30)
    write_day(_one_row(other, "x"), scored=tmp_path, database=db, as_of=other)
    newer = {"collections_queue": _tables(1, "a")["collections_queue"].with_columns(pl.lit(0.5).alias("p"))}
    write_day(newer, scored=tmp_path, database=db, as_of=DAY)
    assert read_day(db, "collections_queue", DAY).select("loan_id", "p").rows() == [("a0", 0.5)]
    assert read_day(db, "collections_queue", other).select("loan_id", "p").rows() == [("x", None)]


def test_a_database_held_open_elsewhere_is_a_lock_not_a_traceback(tmp_path):
    from risk.exceptions import LockHeld

    db = tmp_path / "risk.duckdb"
    write_day(_tables(1, "a"), scored=tmp_path, database=db, as_of=DAY)
    holder = mp.get_context("spawn").Process(target=_hold_open, args=(str(db), str(tmp_path / "held")))
    holder.start()
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "held").exists():
            assert time.monotonic() < deadline, "the process holding the database never started"
            time.sleep(0.05)
        with pytest.raises(LockHeld, match="open in another process"):
            write_day(_tables(1, "b"), scored=tmp_path, database=db, as_of=DAY)
    finally:
        holder.kill()
        holder.join()


def test_a_database_a_notebook_holds_open_in_this_process_is_a_lock_too(tmp_path):
    """The scored days are attached to one DuckDB the process keeps: a connection of its own to the same file, as a
    notebook opens to read the queues, makes DuckDB refuse, which is LockHeld, and the day is written once it is
    closed."""
    from risk.exceptions import LockHeld

    db = tmp_path / "risk.duckdb"
    write_day(_tables(1, "a"), scored=tmp_path, database=db, as_of=DAY)
    notebook = duckdb.connect(str(db), read_only=True)
    try:
        with pytest.raises(LockHeld, match="open in this process"):
            write_day(_tables(1, "b"), scored=tmp_path, database=db, as_of=DAY)
        assert notebook.execute("SELECT count(*) FROM score_days").fetchone() == (1,)
    finally:
        notebook.close()
    write_day(_tables(1, "b"), scored=tmp_path, database=db, as_of=DAY)
    assert (
        read_day(db, "collections_queue", DAY)["loan_id"].to_list()
        == _tables(1, "b")["collections_queue"]["loan_id"].to_list()
    )


def test_a_write_broken_midway_through_its_transaction_still_releases_the_file(tmp_path):
    """Whatever state a statement left the attachment in, closing it detaches the file: this process writes the
    next day and another process can open it."""
    db = tmp_path / "risk.duckdb"
    write_day(_tables(1, "a"), scored=tmp_path, database=db, as_of=DAY)
    con = sinks._connect(db)
    con.execute("BEGIN TRANSACTION")
    with pytest.raises(duckdb.CatalogException):
        con.execute("DELETE FROM no_such_table")
    con.close()
    con.close()  # once is enough; again does nothing
    write_day(_tables(2, "b"), scored=tmp_path, database=db, as_of=DAY)
    other = mp.get_context("spawn").Process(target=_connects_read_write, args=(str(db),))
    other.start()
    other.join(60)
    assert other.exitcode == 0


def test_a_file_that_is_no_database_is_its_own_error_not_a_lock_to_wait_for(tmp_path):
    from risk.exceptions import LockHeld

    db = tmp_path / "risk.duckdb"
    db.write_bytes(b"not a database" * 1000)
    with pytest.raises(duckdb.IOException) as raised:
        sinks.read_table(db, "collections_queue")
    assert not isinstance(raised.value, LockHeld)


def _hold_open(db: str, marker: str) -> None:
    import pathlib
    import time

    con = duckdb.connect(db)
    pathlib.Path(marker).touch()
    time.sleep(60)
    con.close()


def _connects_read_write(db: str) -> None:
    duckdb.connect(db).close()  # raises (exit 1) while another process holds the file


def test_a_day_stopped_by_its_guard_releases_the_database(tmp_path):
    """The writer's one connection (the look-back, then the commit) is closed with the lock, also when the day
    stops between the two; before any day is scored the look-back makes no database at all."""
    db = tmp_path / "risk.duckdb"
    with sinks.day_writer(tmp_path, db) as writer:
        assert writer.previous(DAY) is None
    assert not db.exists()
    before = DAY - dt.timedelta(days=1)
    only_before = {"collections_queue": pl.DataFrame({"as_of": [before], "loan_id": ["a"]})}
    write_day(only_before, scored=tmp_path, database=db, as_of=before)
    with pytest.raises(RuntimeError, match="stopped"), sinks.day_writer(tmp_path, db) as writer:
        assert writer.previous(DAY) is None  # no counts recorded for that day
        raise RuntimeError("stopped by the guard")
    other = mp.get_context("spawn").Process(target=_connects_read_write, args=(str(db),))
    other.start()
    other.join()
    assert other.exitcode == 0
    assert read_day(db, "collections_queue", before)["loan_id"].to_list() == ["a"]  # the day before as it was
