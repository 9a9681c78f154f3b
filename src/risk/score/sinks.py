"""Where scored tables go: a Parquet folder per as_of and DuckDB tables with an as_of column.

Rerunning a day replaces that day: the Parquet folder is swapped in by rename and the DuckDB rows are
deleted and inserted in one transaction, so a run that dies leaves the previous day's tables whole.
"""

from __future__ import annotations

import datetime as dt
import fcntl
from collections.abc import Mapping
from pathlib import Path

import duckdb
import polars as pl

from risk import io


def day_folder(scored: Path, as_of: dt.date) -> Path:
    return scored / f"as_of={as_of.isoformat()}"


def write_day(tables: Mapping[str, pl.DataFrame], *, scored: Path, database: Path, as_of: dt.date) -> None:
    """Write each table for ``as_of`` to Parquet and DuckDB, replacing that day only."""
    io.write_tables(tables, day_folder(scored, as_of))
    database.parent.mkdir(parents=True, exist_ok=True)
    with open(database.with_name(database.name + ".lock"), "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)  # one writer at a time across days
        try:
            _replace_day(tables, database, as_of)
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _replace_day(tables: Mapping[str, pl.DataFrame], database: Path, as_of: dt.date) -> None:
    con = duckdb.connect(str(database))
    try:
        con.execute("BEGIN TRANSACTION")
        for name, frame in tables.items():
            con.register("incoming", frame.to_arrow())
            con.execute(f"CREATE TABLE IF NOT EXISTS {name} AS SELECT * FROM incoming LIMIT 0")
            _add_new_columns(con, name)
            con.execute(f"DELETE FROM {name} WHERE as_of = ?", [as_of])
            con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM incoming")
            con.unregister("incoming")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.close()


def read_day(database: Path, table: str, as_of: dt.date) -> pl.DataFrame:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return con.sql(f"SELECT * FROM {table} WHERE as_of = ?", params=[as_of]).pl()
    finally:
        con.close()


def _add_new_columns(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Columns a newer release added to a table: added to the database's table (earlier days get nulls)."""
    have = {row[0] for row in con.execute(f"DESCRIBE {name}").fetchall()}
    for column, kind, *_ in con.execute("DESCRIBE incoming").fetchall():
        if column not in have:
            con.execute(f'ALTER TABLE {name} ADD COLUMN "{column}" {kind}')
