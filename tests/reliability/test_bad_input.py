"""Bad exports through the real CLI: `risk ingest` then `risk validate` stop naming table, column and rule,
and leave the previous good data/raw and data/validated byte for byte as they were.

The corpus is generated here from a small simulated book written as a contract-format export; each case
breaks one thing. A fuzz test then feeds ingest arbitrary tables: it may succeed or raise the project's
own RiskError, never anything else.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import string
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.books import LoanSpec, book, pay_on_schedule
from typer.testing import CliRunner

from risk.cli import app
from risk.config import IngestParams, SimulateParams
from risk.contract import INPUT_TABLES, TABLES
from risk.exceptions import RiskError
from risk.ingest import ingest_tables
from risk.simulate import simulate

AS_OF = dt.date(2025, 12, 31)
Book = dict[str, pl.DataFrame]
runner = CliRunner()


# --- the export, the project, the CLI ------------------------------------------------------------------
def write_export(folder: Path, tables: Book, *, parquet: tuple[str, ...] = (), encoding: str = "utf-8") -> Path:
    """Write ``tables`` as a contract-format export: CSV in ``encoding``, or Parquet for tables in ``parquet``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        if name in parquet:
            frame.write_parquet(folder / f"{name}.parquet")
        else:
            text = frame.write_csv(datetime_format="%Y-%m-%d %H:%M:%S", date_format="%Y-%m-%d")
            (folder / f"{name}.csv").write_bytes(text.encode(encoding))
    return folder


def write_params(project: Path, export: Path, *, encoding: str = "utf-8", fmt: str = "contract") -> Path:
    project.mkdir(parents=True, exist_ok=True)
    params = {
        "data": {"source": "ingest", "as_of": AS_OF.isoformat()},
        "ingest": {"format": fmt, "path": str(export), "encoding": encoding},
    }
    path = project / "params.yaml"
    path.write_text(yaml.safe_dump(params), encoding="utf-8")
    return path


def risk(*args: str, env: dict[str, str] | None = None):
    """Run ``risk <args>`` in this process, as a shell would (exit code, stdout and stderr together)."""
    return runner.invoke(app, list(args), env=env)


def assert_no_traceback(result) -> None:
    """The CLI ended through its own exit (a code, never an uncaught exception)."""
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"uncaught {type(result.exception).__name__}: {result.exception}\n{result.output}"
    )
    assert "Traceback" not in result.output, result.output


def hashes(*folders: Path) -> dict[str, str]:
    """sha256 of every file under ``folders``, by path."""
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest()
        for folder in folders
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def leftovers(folder: Path) -> list[str]:
    """Temporary paths an atomic writer left behind."""
    return [str(p) for p in folder.rglob(".*.tmp-*")]


@pytest.fixture(scope="module")
def good() -> Book:
    """A small simulated book that passes validation (the truth table is the simulator's, not an export's)."""
    tables = simulate(SimulateParams(n_loans=300, pending_applications=10), as_of=AS_OF, seed=1)
    return {t.name: tables[t.name] for t in INPUT_TABLES}


@pytest.fixture(scope="module")
def good_project(tmp_path_factory, good: Book) -> Path:
    """A project whose data/raw and data/validated come from the good export, through the CLI."""
    root = tmp_path_factory.mktemp("good")
    params = write_params(root / "project", write_export(root / "export", good))
    for stage in ("ingest", "validate"):
        result = risk(stage, "--params", str(params))
        assert result.exit_code == 0, result.output
    return root / "project"


@pytest.fixture
def project(tmp_path: Path, good_project: Path) -> Path:
    """A fresh copy of the good project for one case."""
    return Path(shutil.copytree(good_project, tmp_path / "project"))


# --- the corpus ------------------------------------------------------------------------------------------
def _set(table: str, column: str, value: object, *, row: int = 0, dtype: pl.DataType | None = None):
    """Put ``value`` at ``row`` of ``table.column`` (cast to ``dtype`` first, for text in a number column)."""

    def corrupt(tables: Book) -> Book:
        frame = tables[table]
        series = frame[column] if dtype is None else frame[column].cast(dtype)
        return {**tables, table: frame.with_columns(series.scatter(row, value))}

    return corrupt


def _edit(table: str, make: Callable[[pl.DataFrame], pl.DataFrame]):
    return lambda tables: {**tables, table: make(tables[table])}


def _pay_before_origination(tables: Book) -> Book:
    rep = tables["repayments"]
    originated = tables["loans"].filter(pl.col("loan_id") == rep["loan_id"][0])["originated_on"][0]
    early = dt.datetime.combine(originated - dt.timedelta(days=1), dt.time(12))
    return {**tables, "repayments": rep.with_columns(rep["paid_at"].scatter(0, early))}


def _schedule_gap(tables: Book) -> Book:
    first = tables["schedule"]["loan_id"][0]
    gap = (pl.col("loan_id") == first) & (pl.col("instalment_no") == 2)
    return {**tables, "schedule": tables["schedule"].filter(~gap)}


def _chinese_note(tables: Book) -> Book:
    """Applications with a Chinese column (extra, but the file is decoded before anything else)."""
    apps = tables["applications"]
    return {**tables, "applications": apps.with_columns(pl.lit("首次借款，客户来自深圳").alias("备注"))}


@dataclass(frozen=True)
class Case:
    corrupt: Callable[[Book], Book]
    stage: str  # the stage that must stop
    table: str
    column: str | None
    rule: str
    parquet: tuple[str, ...] = ()
    write_encoding: str = "utf-8"
    declared_encoding: str = "utf-8"
    damage: Callable[[Path], None] | None = None  # applied to the written export folder


def _empty(name: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_bytes(b"")


def _truncate(name: str) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        data = (folder / name).read_bytes()
        (folder / name).write_bytes(data[: len(data) // 2])

    return damage


CASES = {
    "missing required column": Case(
        _edit("loans", lambda f: f.drop("principal")), "ingest", "loans", "principal", "missing_column"
    ),
    "wrong type: dates stored as integers": Case(
        _edit("loans", lambda f: f.with_columns(pl.col("originated_on").cast(pl.Int32))),
        "ingest",
        "loans",
        "originated_on",
        "date_format",
        parquet=("loans",),
    ),
    "wrong type: amounts stored as dates": Case(
        _edit("repayments", lambda f: f.with_columns(pl.col("paid_at").dt.date().alias("amount"))),
        "ingest",
        "repayments",
        "amount",
        "numeric",
        parquet=("repayments",),
    ),
    "empty CSV file": Case(lambda t: t, "ingest", "repayments", None, "empty_file", damage=_empty("repayments.csv")),
    "empty Parquet file": Case(
        lambda t: t, "ingest", "schedule", None, "empty_file", parquet=("schedule",), damage=_empty("schedule.parquet")
    ),
    "truncated Parquet": Case(
        lambda t: t, "ingest", "loans", None, "readable_parquet", parquet=("loans",), damage=_truncate("loans.parquet")
    ),
    "GBK declared as UTF-8": Case(
        _chinese_note, "ingest", "applications", None, "encoding", write_encoding="gbk", declared_encoding="utf-8"
    ),
    "UTF-8 declared as GBK": Case(
        _chinese_note, "ingest", "applications", None, "encoding", write_encoding="utf-8", declared_encoding="gbk"
    ),
    "non-numeric amount": Case(
        _set("repayments", "amount", "12O.5", dtype=pl.String), "ingest", "repayments", "amount", "numeric"
    ),
    "duplicate key": Case(
        _set("repayments", "repayment_id", "R0000", row=1), "validate", "repayments", "repayment_id", "unique_key"
    ),
    "duplicate compound key": Case(
        _set("schedule", "instalment_no", 1, row=1), "validate", "schedule", "loan_id,instalment_no", "unique_key"
    ),
    "negative amount": Case(_set("repayments", "amount", -5.0, row=2), "validate", "repayments", "amount", "in_range"),
    "NaN in Parquet": Case(
        _set("loans", "principal", float("nan"), row=3), "validate", "loans", "principal", "finite", parquet=("loans",)
    ),
    "NaN in CSV is a missing value": Case(
        _set("loans", "principal", "NaN", row=3, dtype=pl.String), "validate", "loans", "principal", "not_null"
    ),
    "infinity in CSV": Case(
        _set("repayments", "amount", "inf", row=4, dtype=pl.String), "validate", "repayments", "amount", "finite"
    ),
    "infinity in Parquet": Case(
        _set("repayments", "amount", float("-inf"), row=4),
        "validate",
        "repayments",
        "amount",
        "finite",
        parquet=("repayments",),
    ),
    "repayment for unknown loan": Case(
        _set("repayments", "loan_id", "L-NOT-BOOKED"), "validate", "repayments", "loan_id", "fk_loan_exists"
    ),
    "date after as_of": Case(
        _set("collection_actions", "action_at", dt.datetime(2026, 1, 1, 9)),
        "validate",
        "collection_actions",
        "action_at",
        "not_after_as_of",
    ),
    "payment before origination": Case(
        _pay_before_origination, "validate", "repayments", "paid_at", "paid_not_before_origination"
    ),
    "unknown product code": Case(
        _set("applications", "product", "payday_loan"), "validate", "applications", "product", "in_domain"
    ),
    "unknown action code": Case(
        _set("collection_actions", "action", "threaten"), "validate", "collection_actions", "action", "in_domain"
    ),
    "schedule with a gap": Case(_schedule_gap, "validate", "schedule", "instalment_no", "instalments_contiguous"),
    # well-formed, but not what the previous export of this source looked like (validate.shift)
    "repayments with a header and no rows": Case(
        _edit("repayments", lambda f: f.clear()), "validate", "repayments", None, "row_count_shift"
    ),
    "a remapped channel code": Case(
        _edit("applications", lambda f: f.with_columns(channel=pl.lit("online_ads"))),
        "validate",
        "applications",
        "channel",
        "category_share_shift",
    ),
    "a loan originated in 1900": Case(
        _set("loans", "originated_on", dt.date(1900, 1, 1)), "validate", "loans", "originated_on", "date_plausible"
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_export_stops_naming_table_column_and_rule(tmp_path: Path, project: Path, good: Book, name: str):
    """The stage that meets the bad input exits non-zero, names table, column and rule, and keeps earlier outputs."""
    case = CASES[name]
    export = write_export(tmp_path / "export", case.corrupt(good), parquet=case.parquet, encoding=case.write_encoding)
    if case.damage:
        case.damage(export)
    params = write_params(project, export, encoding=case.declared_encoding)
    raw, validated = project / "data" / "raw", project / "data" / "validated"
    before_raw, before_validated = hashes(raw), hashes(validated)

    ingest = risk("ingest", "--params", str(params))
    assert_no_traceback(ingest)
    if case.stage == "ingest":
        failed = ingest
    else:
        assert ingest.exit_code == 0, f"ingest should pass {name} on to validate:\n{ingest.output}"
        failed = risk("validate", "--params", str(params))
        assert_no_traceback(failed)

    assert failed.exit_code == 3, failed.output  # RiskDataError
    message = failed.output
    assert f"risk {case.stage}: error:" in message
    where = f"{case.table}.{case.column}" if case.column else case.table
    assert where in message, message
    assert f"[rule: {case.rule}]" in message, message
    # what the failing stage would have replaced is untouched; raw holds a newly ingested export only when
    # ingest itself passed (raw is the record of what arrived; validate is the gate that keeps it out)
    if case.stage == "ingest":
        assert hashes(raw) == before_raw
    assert hashes(validated) == before_validated
    assert leftovers(project / "data") == []


def test_validate_failure_is_in_the_report(tmp_path: Path, project: Path, good: Book):
    """The failing rule is in reports/validation.json, so the user can see every row to fix."""
    export = write_export(tmp_path / "export", _set("repayments", "amount", -5.0, row=2)(good))
    params = write_params(project, export)
    assert risk("ingest", "--params", str(params)).exit_code == 0
    assert risk("validate", "--params", str(params)).exit_code == 3
    report = (project / "reports" / "validation.json").read_text(encoding="utf-8")
    assert '"in_range"' in report and '"repayments"' in report


def test_extra_column_is_a_warning_and_the_run_succeeds(tmp_path: Path, project: Path, good: Book):
    """A column the contract does not know is named in a warning and left out; both stages succeed."""
    tables = _edit("repayments", lambda f: f.with_columns(pl.lit("wechat").alias("pay_channel")))(good)
    params = write_params(project, write_export(tmp_path / "export", tables))
    ingest = risk("ingest", "--params", str(params))
    assert ingest.exit_code == 0, ingest.output
    assert "Warnings:" in ingest.output and "repayments" in ingest.output and "pay_channel" in ingest.output
    validate = risk("validate", "--params", str(params))
    assert validate.exit_code == 0, validate.output
    written = pl.read_parquet(project / "data" / "validated" / "repayments.parquet")
    assert "pay_channel" not in written.columns
    assert written.height == good["repayments"].height


def test_the_good_export_round_trips(good_project: Path, good: Book):
    """The starting point of every case: the export ingests and validates to the book it came from."""
    for t in INPUT_TABLES:
        written = pl.read_parquet(good_project / "data" / "validated" / f"{t.name}.parquet")
        assert written.height == good[t.name].height, t.name


# --- fuzz: ingest either succeeds or raises RiskError --------------------------------------------------
GARBAGE = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            " ",
            "nan",
            "NaN",
            "inf",
            "-inf",
            "1e400",
            "99999999999999999999",
            "-0",
            "1,2,3",
            "¥",
            "12%",
            "%",
            "1.5.2",
            "2024-02-30",
            "2024/13/01",
            "0000-00-00",
            "是",
            "否",
            "null",
            "\x00",
            "\u200b",
            "𠀀𠀁",
            "Ｌ０００",
            "١٢٣",
            "e",
            "1e",
            "--1",
            "﻿",
            "\r",
            '"',
            "'",
            ",",
            "\n",
        ]
    ),
)
DTYPES = st.sampled_from(["text", "int", "float", "bool", "date", "datetime", "list", "null"])


@st.composite
def columns(draw, n: int) -> pl.Series:
    """One column of ``n`` values of a random type, garbage strings and odd unicode included."""
    kind = draw(DTYPES)
    opt = lambda s: st.one_of(st.none(), s)  # noqa: E731
    if kind == "text":
        return pl.Series(draw(st.lists(opt(GARBAGE), min_size=n, max_size=n)), dtype=pl.String)
    if kind == "int":
        return pl.Series(draw(st.lists(opt(st.integers(-(2**63), 2**63 - 1)), min_size=n, max_size=n)), dtype=pl.Int64)
    if kind == "float":
        return pl.Series(draw(st.lists(opt(st.floats()), min_size=n, max_size=n)), dtype=pl.Float64)
    if kind == "bool":
        return pl.Series(draw(st.lists(opt(st.booleans()), min_size=n, max_size=n)), dtype=pl.Boolean)
    if kind == "date":
        return pl.Series(draw(st.lists(opt(st.dates()), min_size=n, max_size=n)), dtype=pl.Date)
    if kind == "datetime":
        return pl.Series(draw(st.lists(opt(st.datetimes()), min_size=n, max_size=n)), dtype=pl.Datetime("us"))
    if kind == "list":
        return pl.Series(
            draw(st.lists(opt(st.lists(st.integers(-5, 5), max_size=2)), min_size=n, max_size=n)),
            dtype=pl.List(pl.Int64),
        )
    return pl.Series([None] * n, dtype=pl.Null)


@st.composite
def random_frame(draw, table: str) -> pl.DataFrame:
    """A frame for ``table``: some of its contract columns, maybe personal or unknown ones, any types."""
    n = draw(st.integers(0, 4))
    names = draw(
        st.lists(
            st.sampled_from([*TABLES[table].schema, "id_number", "phone", "name", "备注"]),
            unique=True,
            max_size=len(TABLES[table].schema) + 2,
        )
    )
    names += draw(st.lists(st.text(min_size=1, max_size=6), unique=True, max_size=2))
    names = list(dict.fromkeys(names))
    return pl.DataFrame([draw(columns(n)).alias(c) for c in names]) if names else pl.DataFrame()


def tiny_text_book() -> Book:
    """A consistent two-loan book as an export would hand it over: every column as text."""
    b = book(
        pay_on_schedule(LoanSpec("L1", dt.date(2024, 1, 15)), through=3), LoanSpec("L2", dt.date(2024, 6, 1)), pending=1
    )
    return {name: f.with_columns(pl.all().cast(pl.String)) for name, f in b.items()}


TEXT_BOOK = tiny_text_book()


@st.composite
def damaged_book(draw) -> Book:
    """The tiny book with a few cells replaced by garbage, columns dropped or retyped, or rows emptied."""
    tables = dict(TEXT_BOOK)
    for _ in range(draw(st.integers(1, 4))):
        name = draw(st.sampled_from(sorted(tables)))
        frame = tables[name]
        action = draw(st.sampled_from(["cell", "cell", "cell", "drop", "retype", "empty", "rename"]))
        column = draw(st.sampled_from(frame.columns)) if frame.width else None
        if action == "cell" and frame.height and column and frame.schema[column] == pl.String:
            row = draw(st.integers(0, frame.height - 1))
            frame = frame.with_columns(frame[column].scatter(row, draw(GARBAGE)))
        elif action == "drop" and column:
            frame = frame.drop(column)
        elif action == "retype" and column:
            frame = frame.with_columns(draw(columns(frame.height)).alias(column))
        elif action == "empty":
            frame = frame.clear()
        elif action == "rename" and column:
            frame = frame.rename(
                {column: draw(st.text(min_size=1, max_size=6).filter(lambda s, f=frame: s not in f.columns))}
            )
        tables[name] = frame
    return tables


def salts() -> st.SearchStrategy[str | None]:
    return st.one_of(st.none(), st.text(alphabet=string.ascii_letters, min_size=1, max_size=8))


def _ingest_or_risk_error(frames: Book, fmt: str, salt: str | None) -> None:
    try:
        result = ingest_tables(frames, fmt, IngestParams(format=fmt), pii_salt=salt)
    except RiskError:
        return
    for t in INPUT_TABLES:  # success means the contract's columns and types, nothing else
        assert result.tables[t.name].schema == pl.Schema(t.schema), t.name


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(
    frames=st.fixed_dictionaries({}, optional={t.name: random_frame(t.name) for t in INPUT_TABLES}),
    fmt=st.sampled_from(["contract", "mapping"]),
    salt=salts(),
)
def test_ingest_of_random_tables_succeeds_or_raises_risk_error(frames: Book, fmt: str, salt: str | None):
    """Any tables at all, of any column types: ingest conforms them or raises RiskError, nothing else."""
    _ingest_or_risk_error(frames, fmt, salt)


@FUZZ
@given(frames=damaged_book(), salt=salts())
def test_ingest_of_a_damaged_book_succeeds_or_raises_risk_error(frames: Book, salt: str | None):
    """A consistent book with garbage in a few places: ingest conforms it or raises RiskError, nothing else."""
    _ingest_or_risk_error(frames, "contract", salt)


def _text_csv(frame: pl.DataFrame) -> bytes:
    """``frame`` as CSV text, as an export would write it (lists in a cell become their text)."""
    # Series, not pl.col: a generated column may be named "*"
    text = [
        s.cast(pl.List(pl.String)).list.join("|") if isinstance(s.dtype, pl.List) else s for s in frame.get_columns()
    ]
    return pl.DataFrame(text).write_csv().encode("utf-8") if frame.width else b""


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(
    frames=st.one_of(
        damaged_book(),
        st.fixed_dictionaries({t: random_frame(t) for t in ("applications", "loans", "schedule", "repayments")}),
    )
)
def test_cli_ingest_of_written_csvs_exits_with_a_message_not_a_traceback(tmp_path: Path, frames: Book):
    """`risk ingest` on any CSV folder exits 0 or with a RiskError's code and message, never a traceback."""
    folder = tmp_path / "fuzz"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "export").mkdir(parents=True)
    for name, frame in frames.items():
        (folder / "export" / f"{name}.csv").write_bytes(_text_csv(frame))
    params = write_params(folder / "project", folder / "export")
    result = risk("ingest", "--params", str(params), env={"RISK_PII_SALT": "fuzz-salt"})
    assert_no_traceback(result)
    assert result.exit_code in (0, 2, 3), result.output
    if result.exit_code:
        assert "risk ingest: error:" in result.output
