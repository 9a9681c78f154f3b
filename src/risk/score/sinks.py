"""Where scored tables go: a Parquet folder per as_of and DuckDB tables with an as_of column, one commit per day.

A day becomes visible in both sinks together or in neither, also when the run is killed:

1. the day's Parquet folder is written whole to ``.staging/as_of=<day>`` with a ``_run.json`` naming the run
   (beside step 2's inserts, which wait for it before they commit);
2. one DuckDB transaction replaces the day's rows and records the run in ``score_days``: the commit point;
3. the staged folder is swapped onto ``as_of=<day>`` (one atomic rename).

A run killed before 2 leaves both sinks on the previous version (its staged folder is discarded by the
next writer or reader); a run killed between 2 and 3 has committed, and :func:`settle` (called by every
writer and reader of the scored days) finishes its swap. ``_run.json`` in a day folder and its
``score_days`` row name the same run, so any reader can check that the two sinks agree.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import shutil
import tempfile
import threading
import uuid
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from risk import io
from risk.exceptions import LockHeld
from risk.score.beside import Beside
from risk.score.guard import DaySummary

RUN_FILE = "_run.json"
STAGING = ".staging"
DAYS_TABLE = "score_days"  # one row per scored day: the run that wrote it and the counts the guard compares


def day_folder(scored: Path, as_of: dt.date) -> Path:
    return scored / f"as_of={as_of.isoformat()}"


def _staged_folder(scored: Path, as_of: dt.date) -> Path:
    return scored / STAGING / f"as_of={as_of.isoformat()}"


def _database_of(scored: Path) -> Path:
    return scored / "risk.duckdb"


@contextmanager
def _writer_lock(database: Path) -> Iterator[None]:
    """One writer at a time across days (blocking: another day's write takes seconds)."""
    database.parent.mkdir(parents=True, exist_ok=True)
    with open(database.with_name(database.name + ".lock"), "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


class DayWriter:
    """The scored days while the writer lock is held: what was scored before, and the day's one commit.

    One attachment of the database (:class:`_Attached`) serves both, made at the first use and detached with the
    lock, which checkpoints the day (attached, asked and detached: 1.3-1.5 ms, where a connection of its own cost
    10-12 ms to open; docs/performance.md). It writes, so from the look-back to the commit (the guard's check and
    staging the Parquet folder: a tenth of a second at 1.5M loans) no other process may open the database, and a
    notebook holding it open read-only stops the day with LockHeld (exit 75) before the guard has looked.
    """

    def __init__(self, scored: Path, database: Path) -> None:
        self.scored, self.database = Path(scored), Path(database)
        self._con: _Attached | None = None

    def _connection(self) -> _Attached:
        if self._con is None:
            self._con = _connect(self.database)
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def previous(self, as_of: dt.date) -> DaySummary | None:
        """The latest day scored before ``as_of`` with its counts, or None."""
        if not self.database.exists():  # nothing scored yet: no database made for a day that may still stop
            return None
        return _previous_summary(self._connection(), as_of)

    def write(self, tables: Mapping[str, pl.DataFrame], *, as_of: dt.date, summary: DaySummary | None = None) -> str:
        """Write each table for ``as_of`` to Parquet and DuckDB as one commit, replacing that day only.

        ``summary`` is recorded in ``score_days`` for the next day's guard. Returns the run's id.
        """
        run_id = uuid.uuid4().hex
        staged = _staged_folder(self.scored, as_of)
        manifest = {"run_id": run_id, "as_of": as_of.isoformat()}
        with Beside() as beside:  # Parquet staged beside the inserts, before the commit (a stopped one: settle's)
            staging = beside.submit(io.write_tables, tables, staged, manifest=manifest, manifest_name=RUN_FILE)
            _replace_day(tables, self._connection(), as_of, _day_row(as_of, run_id, summary), staging.result)
        _publish(staged, day_folder(self.scored, as_of))
        return run_id


@contextmanager
def day_writer(scored: Path, database: Path) -> Iterator[DayWriter]:
    """Hold the writer lock (one writer at a time across days), settle what a killed run left, yield the writer."""
    with _writer_lock(database):
        _settle(Path(scored), database)
        writer = DayWriter(scored, database)
        try:
            yield writer
        finally:
            writer.close()


def write_day(
    tables: Mapping[str, pl.DataFrame],
    *,
    scored: Path,
    database: Path,
    as_of: dt.date,
    summary: DaySummary | None = None,
) -> str:
    """:meth:`DayWriter.write` under the lock."""
    with day_writer(scored, database) as writer:
        return writer.write(tables, as_of=as_of, summary=summary)


def settle(scored: Path, database: Path | None = None) -> None:
    """Finish the swap of a day whose run committed and was killed before it, discard one that did not."""
    database = database or _database_of(scored)
    if not (Path(scored) / STAGING).is_dir():
        return
    with _writer_lock(database):
        _settle(Path(scored), database)


def _settle(scored: Path, database: Path) -> None:
    staging = scored / STAGING
    if not staging.is_dir():
        return
    io.remove_stale_in(staging)  # half-written folders of runs killed while staging
    committed = _committed_runs(database)
    for staged in sorted(staging.glob("as_of=*")):
        run = _run_of(staged)
        if run is not None and committed.get(run["as_of"]) == run["run_id"]:
            _publish(staged, scored / staged.name)
        else:
            shutil.rmtree(staged, ignore_errors=True)
    if staging.is_dir() and not any(staging.iterdir()):
        staging.rmdir()


def _publish(staged: Path, target: Path) -> None:
    io.replace_path(staged, target)
    if not any(staged.parent.iterdir()):
        staged.parent.rmdir()


def _run_of(folder: Path) -> dict[str, str] | None:
    try:
        return json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # staged by a run killed while writing it: never committed


def _committed_runs(database: Path) -> dict[str, str]:
    """as_of (ISO) -> the run committed for it."""
    if not database.exists():
        return {}
    con = _connect(database, read_only=True)
    try:
        if not _has_table(con, DAYS_TABLE):
            return {}
        return {d.isoformat(): run for d, run in con.execute(f"SELECT as_of, run_id FROM {DAYS_TABLE}").fetchall()}
    finally:
        con.close()


def _day_row(as_of: dt.date, run_id: str, summary: DaySummary | None) -> pl.DataFrame:
    counts = {
        k: getattr(summary, k) if summary else None for k in ("open_loans", "charged_off", "legal_referrals", "queued")
    }
    return pl.DataFrame(
        {
            "as_of": [as_of],
            "run_id": [run_id],
            "written_at": [dt.datetime.now()],
            **{k: [v] for k, v in counts.items()},
        },
        schema_overrides={k: pl.Int64 for k in counts},
    )


_PROCESS_DUCKDB: duckdb.DuckDBPyConnection | None = None  # see _Attached
_STARTING = threading.Lock()


def _process_duckdb() -> duckdb.DuckDBPyConnection:
    """The process's in-memory DuckDB, made at the first use; it spills, should a large day need to, to a folder of
    its own under the system's temporary folder (an in-memory database's default is ``.tmp`` in the working folder)."""
    global _PROCESS_DUCKDB
    with _STARTING:
        if _PROCESS_DUCKDB is None:
            spill = Path(tempfile.gettempdir()) / f"risk-duckdb-{os.getpid()}"
            _PROCESS_DUCKDB = duckdb.connect(":memory:", config={"temp_directory": str(spill)})
        return _PROCESS_DUCKDB


class _Attached:
    """A cursor on one in-memory DuckDB the process keeps, with ``database`` attached as its current database.

    Every new DuckDB database registers DuckDB's catalogue of functions first: about 10 ms even in memory, what
    opening the scored days cost each time, twice a day in a scorer that stays. Attaching the file to the one kept
    costs 1.3-1.5 ms, and :meth:`close` detaches it, which checkpoints what was written and releases the file for
    other processes, as closing a connection of its own did. It detaches whatever state the cursor was left in (a
    transaction broken midway too), and an attachment never closed is detached when it is collected or the process
    exits."""

    def __init__(self, database: Path, *, read_only: bool) -> None:
        alias = f"scored_{uuid.uuid4().hex}"
        self._cursor = cursor = _process_duckdb().cursor()
        self._detach = weakref.finalize(self, _detach, cursor, alias)
        path = str(database).replace("'", "''")
        try:
            cursor.execute(f"ATTACH '{path}' AS {alias}" + (" (READ_ONLY)" if read_only else ""))
            cursor.execute(f"USE {alias}")
        except BaseException as e:
            self.close()
            held = _held_elsewhere(database, e)
            if held is not None:
                raise held from None
            raise

    def execute(self, query: str, parameters: object = None) -> duckdb.DuckDBPyConnection:
        return self._cursor.execute(query, parameters)

    def sql(self, query: str, *, params: object = None) -> duckdb.DuckDBPyRelation:
        return self._cursor.sql(query, params=params)

    def register(self, name: str, frame: object) -> None:
        self._cursor.register(name, frame)

    def unregister(self, name: str) -> None:
        self._cursor.unregister(name)

    def close(self) -> None:
        self._detach()  # once: a second call does nothing


def _detach(cursor: duckdb.DuckDBPyConnection, alias: str) -> None:
    """Close ``cursor`` (which rolls back a transaction it left open), then detach ``alias`` from a fresh one."""
    try:
        cursor.close()
    finally:
        fresh = _process_duckdb().cursor()
        try:
            fresh.execute(f"DETACH DATABASE IF EXISTS {alias}")
        finally:
            fresh.close()


def _held_elsewhere(database: Path, error: BaseException) -> LockHeld | None:
    """LockHeld (exit 75, try again later) when ``error`` says another process holds the file's lock, or that this
    process has it open already (a connection of its own, as a notebook opens to read the queues, or a day being
    written from another thread); None for any other error (a file that is no database, a permission)."""
    first = str(error).splitlines()[0][:160] if str(error) else type(error).__name__
    if isinstance(error, duckdb.IOException) and "lock" in str(error).lower():
        return LockHeld(f"{database} is open in another process ({first}); close it and rerun")
    if isinstance(error, duckdb.ResourceInUseException):
        return LockHeld(f"{database} is open in this process already ({first}); close that connection and rerun")
    return None


def _connect(database: Path, *, read_only: bool = False) -> _Attached:
    """The scored days' database (:class:`_Attached`), or LockHeld (exit 75) while it is held elsewhere."""
    return _Attached(database, read_only=read_only)


def _replace_day(
    tables: Mapping[str, pl.DataFrame],
    con: _Attached,
    as_of: dt.date,
    day: pl.DataFrame,
    before_commit: Callable[[], object] = lambda: None,
) -> None:
    try:
        con.execute("BEGIN TRANSACTION")
        have: dict[str, set[str]] = {}
        for name, column in con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'main' "
            "AND database_name = current_database()"
        ).fetchall():
            have.setdefault(name, set()).add(column)
        # the day leaves every table a rerun no longer writes (another engine, a case table the export dropped)
        for name, columns in have.items():
            if "as_of" in columns and name not in tables and name != DAYS_TABLE:
                con.execute(f'DELETE FROM "{name}" WHERE as_of = ?', [as_of])
        for name, frame in {**tables, DAYS_TABLE: day}.items():
            con.register("incoming", frame.to_arrow())
            if name not in have:
                con.execute(f"CREATE TABLE {name} AS SELECT * FROM incoming LIMIT 0")
            elif not have[name].issuperset(frame.columns):
                _add_new_columns(con, name)
            con.execute(f"DELETE FROM {name} WHERE as_of = ?", [as_of])
            con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM incoming")
            con.unregister("incoming")
        before_commit()  # what must be done before the day is committed (its Parquet staged), or its error
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def read_table(database: Path, table: str) -> pl.DataFrame | None:
    """Every day of ``table``, or None when the database or the table does not exist yet."""
    if not database.exists():
        return None
    con = _connect(database, read_only=True)
    try:
        return con.sql(f"SELECT * FROM {table}").pl() if _has_table(con, table) else None
    finally:
        con.close()


def read_before(database: Path, table: str, columns: Sequence[str], before: dt.date) -> pl.DataFrame | None:
    """``columns`` of ``table`` for every day scored before ``before`` (None without the table)."""
    if not database.exists():
        return None
    con = _connect(database, read_only=True)
    try:
        if not _has_table(con, table):
            return None
        wanted = ", ".join(f'"{c}"' for c in columns)
        return con.sql(f"SELECT {wanted} FROM {table} WHERE as_of < ?", params=[before]).pl()
    finally:
        con.close()


def read_day(database: Path, table: str, as_of: dt.date) -> pl.DataFrame:
    con = _connect(database, read_only=True)
    try:
        return con.sql(f"SELECT * FROM {table} WHERE as_of = ?", params=[as_of]).pl()
    finally:
        con.close()


def _previous_summary(con: _Attached, as_of: dt.date) -> DaySummary | None:
    if not _has_table(con, DAYS_TABLE):
        return None
    row = con.execute(
        f"SELECT as_of, open_loans, charged_off, legal_referrals, queued FROM {DAYS_TABLE} "
        "WHERE as_of < ? AND open_loans IS NOT NULL ORDER BY as_of DESC LIMIT 1",
        [as_of],
    ).fetchone()
    if row is None:
        return None
    day, open_loans, charged_off, legal, queued = row
    return DaySummary(day, open_loans, charged_off, legal, queued)


def _has_table(con: _Attached, name: str) -> bool:
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND schema_name = 'main' "
        "AND database_name = current_database()",
        [name],
    ).fetchall()
    return bool(found and found[0][0])


def _add_new_columns(con: _Attached, name: str) -> None:
    """Columns a newer release added to a table: added to the database's table (earlier days get nulls)."""
    have = {row[0] for row in con.execute(f"DESCRIBE {name}").fetchall()}
    for column, kind, *_ in con.execute("DESCRIBE incoming").fetchall():
        if column not in have:
            con.execute(f'ALTER TABLE {name} ADD COLUMN "{column}" {kind}')


def run_of_day(scored: Path, as_of: dt.date) -> dict[str, Any] | None:
    """The run a day's Parquet folder holds (``_run.json``), to check against ``score_days``."""
    return _run_of(day_folder(scored, as_of))
