"""The plausibility gates on the way in: time zones, file size, files outside the source folder.

Each gate refuses bad input with a message naming the table, the rule and what to do, or converts it to
what the contract means (timestamps are naive local time).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
import yaml
from tests.books import tiny_book
from typer.testing import CliRunner

from risk.cli import app
from risk.config import IngestParams, Params
from risk.contract import REPAYMENTS
from risk.exceptions import ConfigError, RiskDataError
from risk.ingest import ingest_tables, read_source
from risk.ingest.coerce import to_contract
from risk.ingest.readers import find_table_file, read_folder, read_single, read_table_file

TEN_AM = dt.datetime(2025, 3, 5, 10)
MB = 2**20


def _repayments(paid_at: list[str]) -> pl.DataFrame:
    """Repayments as an export has them, every column text, one row per ``paid_at``."""
    n = len(paid_at)
    return pl.DataFrame(
        {
            "repayment_id": [f"r{i}" for i in range(n)],
            "loan_id": ["l1"] * n,
            "paid_at": paid_at,
            "amount": ["100"] * n,
            "instalment_no": [""] * n,
        }
    )


def _paid_at(paid_at: list[str], **kwargs: str) -> list[dt.datetime]:
    frame, _, _ = to_contract(_repayments(paid_at), REPAYMENTS, **kwargs)
    return frame["paid_at"].to_list()


def _oversized(path: Path, size: int = MB + 1) -> Path:
    """A file of ``size`` bytes that is no table at all (sparse: nothing is written), so reading it would fail."""
    with path.open("wb") as f:
        f.truncate(size)
    return path


# --- time zones -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    ["2025-03-05T02:00:00Z", "2025-03-05T10:00:00+08:00", "2025-03-05T10:00:00+0800", "2025-03-04T21:00:00-05:00"],
)
def test_a_timestamp_with_an_offset_is_stored_as_local_wall_time(text):
    """'02:00Z' is 10:00 in Asia/Shanghai: stored as 10:00, never as the UTC wall time 02:00."""
    assert _paid_at([text]) == [TEN_AM]


def test_a_naive_timestamp_is_taken_as_local_and_left_unchanged():
    assert _paid_at(["2025-03-05 10:00:00"]) == [TEN_AM]


def test_each_offset_in_one_column_is_converted_on_its_own():
    texts = ["2025-03-05 02:00:00Z", "2025-03-05 10:00:00+08:00", "2025-03-04 21:00:00 -0500", "2025-03-05 10:00:00"]
    assert _paid_at(texts) == [TEN_AM] * 4


def test_a_timestamp_converts_to_the_configured_timezone():
    assert _paid_at(["2025-03-05 02:00:00Z"], timezone="Europe/London") == [dt.datetime(2025, 3, 5, 2)]


def test_an_offset_out_of_range_is_a_date_format_error():
    with pytest.raises(RiskDataError, match="repayments.paid_at: dates that do not parse") as e:
        _paid_at(["2025-03-05 10:00:00+25:00"])
    assert (e.value.rule, e.value.examples) == ("date_format", ["2025-03-05 10:00:00+25:00"])


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Europe/London"])
def test_a_time_zone_aware_parquet_column_is_stored_as_local_wall_time(tmp_path, zone):
    """A contract-format Parquet export whose action_at is UTC-aware comes back as the platform's wall time."""
    book = tiny_book()
    local = book["collection_actions"]["action_at"]
    book["collection_actions"] = book["collection_actions"].with_columns(
        pl.col("action_at").dt.replace_time_zone(zone).dt.convert_time_zone("UTC")
    )
    for name, frame in book.items():
        frame.write_parquet(tmp_path / f"{name}.parquet")
    frames = read_folder(tmp_path, tuple(book))
    assert frames["collection_actions"]["action_at"].dtype.time_zone == "UTC"
    result = ingest_tables(frames, "contract", IngestParams(timezone=zone))
    assert result.tables["collection_actions"]["action_at"].to_list() == local.to_list()


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "", "../../etc/passwd", "UTC+8"])
def test_an_unknown_timezone_is_a_config_error_naming_the_key(zone):
    with pytest.raises(ConfigError, match=r"ingest.timezone: must be a known IANA time zone"):
        IngestParams(timezone=zone)


# --- bounded reading ------------------------------------------------------------------------------------
@pytest.mark.parametrize("limit", [0, -1])
def test_max_file_mb_must_be_positive(limit):
    with pytest.raises(ConfigError, match=r"ingest.max_file_mb: must be > 0"):
        IngestParams(max_file_mb=limit)


def test_a_file_over_max_file_mb_is_refused_before_it_is_read(tmp_path):
    """The file is no Parquet at all: refused on its size, it is never opened (else: readable_parquet)."""
    path = _oversized(tmp_path / "loans.parquet")
    with pytest.raises(RiskDataError, match=r"loans: file .*loans.parquet is 1,048,577 bytes") as e:
        read_folder(tmp_path, ("loans",), max_file_mb=1)
    assert e.value.rule == "file_size"
    assert "over the limit of 1 MB" in str(e.value) and "raise ingest.max_file_mb in params.yaml" in str(e.value)
    assert path.exists()


def test_a_file_at_max_file_mb_is_read(tmp_path):
    path = tmp_path / "loans.csv"
    path.write_text("loan_id\n" + "l" * (MB - len("loan_id\n") - 1) + "\n", encoding="utf-8")
    assert path.stat().st_size == MB
    assert read_table_file(path, table="loans", max_file_mb=1).height == 1


def test_a_one_file_source_over_max_file_mb_is_refused(tmp_path):
    _oversized(tmp_path / "LoanStats3a.csv")
    with pytest.raises(RiskDataError, match="lendingclub: file .*LoanStats3a.csv is 1,048,577 bytes") as e:
        read_single(tmp_path, "LoanStats3a.csv", table="lendingclub", max_file_mb=1)
    assert e.value.rule == "file_size"


def test_read_source_takes_the_limit_from_ingest_max_file_mb(tmp_path):
    _oversized(tmp_path / "applications.csv")
    with pytest.raises(RiskDataError, match="applications: file .*over the limit of 1 MB") as e:
        read_source(tmp_path, "contract", Params(ingest=IngestParams(max_file_mb=1)))
    assert e.value.rule == "file_size"


# --- ingest.files confined to ingest.path ---------------------------------------------------------------
def _named_outside(source: Path, how: str) -> str:
    """A name for ingest.files that leads out of ``source`` to a real file, ``how``: by .., absolutely or by link."""
    outside = source.parent / "outside.csv"
    outside.write_text("loan_id\nl1\n", encoding="utf-8")
    if how == "dotdot":
        return "../outside.csv"
    if how == "absolute":
        return str(outside)
    (source / "loans.csv").symlink_to(outside)
    return "loans.csv"


@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlink"])
def test_a_file_named_outside_the_source_folder_is_refused(tmp_path, how):
    source = tmp_path / "export"
    source.mkdir()
    name = _named_outside(source, how)
    with pytest.raises(RiskDataError, match=r"loans: ingest.files.loans: .* is outside the source folder") as e:
        read_folder(source, ("loans",), files={"loans": name})
    assert e.value.rule == "file_outside_source"
    assert repr(name) in str(e.value)


@pytest.mark.parametrize("name", ["借据/loans.csv", "./借据/../借据/loans.csv"])
def test_a_file_named_inside_the_source_folder_is_read(tmp_path, name):
    (tmp_path / "借据").mkdir()
    (tmp_path / "借据" / "loans.csv").write_text("loan_id\nl1\n", encoding="utf-8")
    assert find_table_file(tmp_path, "loans", name) == tmp_path / name
    assert read_folder(tmp_path, ("loans",), files={"loans": name})["loans"]["loan_id"].to_list() == ["l1"]


# --- through the CLI: a message and an exit code, never a traceback --------------------------------------
def _risk_ingest(project: Path, ingest: dict) -> object:
    params = project / "params.yaml"
    params.write_text(yaml.safe_dump({"data": {"source": "ingest"}, "ingest": ingest}), encoding="utf-8")
    return CliRunner().invoke(app, ["ingest", "--params", str(params)])


def test_the_cli_reports_a_file_over_the_limit_with_a_message_and_exit_code(tmp_path):
    export = tmp_path / "export"
    export.mkdir()
    _oversized(export / "applications.csv")
    result = _risk_ingest(tmp_path, {"path": str(export), "max_file_mb": 1})
    assert result.exit_code == RiskDataError.exit_code
    assert "risk ingest: error: applications: file" in result.output and "[rule: file_size]" in result.output
    assert "Traceback" not in result.output


def test_the_cli_reports_an_unknown_timezone_with_a_message_and_exit_code(tmp_path):
    result = _risk_ingest(tmp_path, {"path": str(tmp_path), "timezone": "Asia/Shanghia"})
    assert result.exit_code == ConfigError.exit_code
    assert "ingest.timezone: must be a known IANA time zone" in result.output and "'Asia/Shanghia'" in result.output
    assert "Traceback" not in result.output
