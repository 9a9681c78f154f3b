"""Scored days are replaced whole: a rerun leaves one copy, a crash leaves the previous day intact."""

import datetime as dt
import multiprocessing as mp
import os
import signal

import polars as pl

from risk.score.sinks import day_folder, read_day, write_day

DAY = dt.date(2025, 12, 31)


def _tables(n: int, tag: str) -> dict[str, pl.DataFrame]:
    return {"collections_queue": pl.DataFrame({"as_of": [DAY] * n, "loan_id": [f"{tag}{i}" for i in range(n)]})}


def test_rerun_of_a_day_leaves_exactly_one_copy(tmp_path):
    db = tmp_path / "risk.duckdb"
    write_day(_tables(5, "a"), scored=tmp_path, database=db, as_of=DAY)
    write_day(_tables(3, "b"), scored=tmp_path, database=db, as_of=DAY)
    assert sorted(read_day(db, "collections_queue", DAY)["loan_id"]) == ["b0", "b1", "b2"]
    assert pl.read_parquet(day_folder(tmp_path, DAY) / "collections_queue.parquet").height == 3


def test_other_days_are_kept(tmp_path):
    db = tmp_path / "risk.duckdb"
    other = dt.date(2025, 12, 30)
    write_day(
        {"collections_queue": pl.DataFrame({"as_of": [other], "loan_id": ["x"]})},
        scored=tmp_path,
        database=db,
        as_of=other,
    )
    write_day(_tables(2, "a"), scored=tmp_path, database=db, as_of=DAY)
    assert read_day(db, "collections_queue", other)["loan_id"].to_list() == ["x"]


def _slow_write(scored, db):
    import risk.score.sinks as sinks

    original = sinks._replace_day

    def stall(tables, database, as_of):
        os.kill(os.getpid(), signal.SIGKILL)  # die between the Parquet swap and the database commit
        original(tables, database, as_of)

    sinks._replace_day = stall
    big = {"collections_queue": pl.DataFrame({"as_of": [DAY] * 10, "loan_id": [f"n{i}" for i in range(10)]})}
    sinks.write_day(big, scored=scored, database=db, as_of=DAY)


def test_killed_run_leaves_the_previous_database_day_intact(tmp_path):
    db = tmp_path / "risk.duckdb"
    write_day(_tables(4, "old"), scored=tmp_path, database=db, as_of=DAY)
    proc = mp.get_context("spawn").Process(target=_slow_write, args=(tmp_path, db))
    proc.start()
    proc.join()
    assert proc.exitcode == -signal.SIGKILL
    assert sorted(read_day(db, "collections_queue", DAY)["loan_id"]) == ["old0", "old1", "old2", "old3"]
    assert not any(p.name.startswith(".") and "tmp" in p.name for p in tmp_path.iterdir())
