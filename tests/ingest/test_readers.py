"""Reading CSV and Parquet robustly: encodings, damaged files, missing columns, bad numbers, extra columns."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from risk.case_tables import WITHOUT
from risk.config import IngestParams
from risk.contract import APPLICATIONS, REPAYMENTS
from risk.exceptions import RiskDataError
from risk.ingest import ingest_tables
from risk.ingest.coerce import parse_datetime, parse_number, to_contract
from risk.ingest.readers import read_folder, read_table_file

CHINESE_CSV = '借据号,还款金额,备注\nJJ001,"1,200.50",首期还款\nJJ002,300,提前还款\n'


def _write(tmp_path: Path, name: str, text: str, encoding: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _repayments(**overrides: list) -> pl.DataFrame:
    """Two repayments as an export would have them: every column text."""
    columns = {
        "repayment_id": ["r1", "r2"],
        "loan_id": ["l1", "l1"],
        "paid_at": ["2024-02-05 10:00:00", "2024-03-05 09:30:00"],
        "amount": ["100.5", "200"],
        "instalment_no": ["1", ""],
    }
    return pl.DataFrame(columns | overrides)


@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_gbk_file_reads_with_declared_gbk(tmp_path, encoding):
    path = _write(tmp_path, "还款流水.csv", CHINESE_CSV, "gbk")
    frame = read_table_file(path, table="repayments", encoding=encoding)
    assert frame.columns == ["借据号", "还款金额", "备注"]
    assert frame["备注"].to_list() == ["首期还款", "提前还款"]
    assert frame.dtypes == [pl.String] * 3  # nothing guessed: coerce parses per contract column


def test_utf8_file_with_byte_order_mark_reads(tmp_path):
    path = _write(tmp_path, "repayments.csv", "\ufeff" + CHINESE_CSV, "utf-8")
    assert read_table_file(path, table="repayments", encoding="utf-8").columns[0] == "借据号"


def test_gbk_file_declared_utf8_fails_on_encoding(tmp_path):
    path = _write(tmp_path, "repayments.csv", CHINESE_CSV, "gbk")
    with pytest.raises(RiskDataError, match=r"repayments: file .*repayments.csv is not valid UTF-8.*gbk") as e:
        read_table_file(path, table="repayments", encoding="utf-8")
    assert e.value.rule == "encoding"
    assert e.value.table == "repayments"


@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_utf8_file_declared_gbk_fails_instead_of_mojibake(tmp_path, encoding):
    """UTF-8 Chinese decodes as GBK into nonsense without error; ingest refuses it rather than garble it."""
    path = _write(tmp_path, "repayments.csv", CHINESE_CSV, "utf-8")
    with pytest.raises(RiskDataError, match="text is UTF-8.*set ingest.encoding: utf-8") as e:
        read_table_file(path, table="repayments", encoding=encoding)
    assert e.value.rule == "encoding"


def test_ascii_file_reads_under_any_declared_encoding(tmp_path):
    path = _write(tmp_path, "repayments.csv", "repayment_id,amount\nr1,10\n", "ascii")
    for encoding in ("utf-8", "gbk", "gb18030"):
        assert read_table_file(path, table="repayments", encoding=encoding).height == 1


@pytest.mark.parametrize("content", [b"", b"  \n\n", b"\xef\xbb\xbf"])
def test_empty_csv_file_fails(tmp_path, content):
    path = tmp_path / "loans.csv"
    path.write_bytes(content)
    with pytest.raises(RiskDataError, match="loans: file .*loans.csv is empty") as e:
        read_table_file(path, table="loans")
    assert e.value.rule == "empty_file"


def test_truncated_parquet_fails(tmp_path):
    path = tmp_path / "repayments.parquet"
    _repayments().write_parquet(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(RiskDataError, match="repayments: cannot read Parquet") as e:
        read_table_file(path, table="repayments")
    assert e.value.rule == "readable_parquet"


def test_ragged_csv_fails_as_unreadable(tmp_path):
    path = _write(tmp_path, "loans.csv", "loan_id,principal\nl1,100,extra,fields\n", "utf-8")
    with pytest.raises(RiskDataError, match="loans: cannot parse CSV") as e:
        read_table_file(path, table="loans")
    assert e.value.rule == "readable_csv"


def test_missing_required_column_is_named():
    with pytest.raises(RiskDataError, match="repayments.amount: required column 'amount' is missing") as e:
        to_contract(_repayments().drop("amount"), REPAYMENTS)
    assert (e.value.column, e.value.rule) == ("amount", "missing_column")


def test_missing_nullable_column_is_filled_and_reported():
    frame, lacks, _ = to_contract(_repayments().drop("instalment_no"), REPAYMENTS)
    assert frame["instalment_no"].null_count() == 2
    assert lacks == ["repayments.instalment_no is not in the source (left empty)."]


def test_non_numeric_amount_is_named_with_examples():
    bad = _repayments(amount=["100", "一百元"])
    with pytest.raises(RiskDataError, match=r"repayments.amount: non-numeric text.*\['一百元'\]") as e:
        to_contract(bad, REPAYMENTS)
    assert (e.value.table, e.value.column, e.value.rule, e.value.failing_rows) == ("repayments", "amount", "numeric", 1)


def test_fractional_instalment_number_is_an_error():
    with pytest.raises(RiskDataError, match="repayments.instalment_no: fractional") as e:
        to_contract(_repayments(instalment_no=["1", "2.5"]), REPAYMENTS)
    assert e.value.rule == "integer"


def test_unparseable_date_is_named():
    with pytest.raises(RiskDataError, match="repayments.paid_at: dates that do not parse") as e:
        to_contract(_repayments(paid_at=["2024-02-05 10:00:00", "5th of March"]), REPAYMENTS)
    assert e.value.rule == "date_format"
    assert e.value.examples == ["5th of March"]


def test_extra_column_is_left_out_with_a_warning():
    frame, _, warnings = to_contract(_repayments(channel=["app", "bank"]), REPAYMENTS)
    assert "channel" not in frame.columns
    assert warnings == ["repayments: 1 column(s) not in the contract were left out: channel."]


def test_text_is_parsed_into_contract_types():
    frame, _, _ = to_contract(_repayments(amount=["1,200.50", "¥300"]), REPAYMENTS)
    assert frame.schema == pl.Schema(REPAYMENTS.schema)
    assert frame["amount"].to_list() == [1200.5, 300.0]
    assert frame["paid_at"][1] == dt.datetime(2024, 3, 5, 9, 30)
    assert frame["instalment_no"].to_list() == [1, None]


@pytest.mark.parametrize(
    ("text", "value"), [("12%", 0.12), ("1.00E+05", 100000.0), ("nan", None), (" NA ", None), ("", None), ("-3", -3.0)]
)
def test_number_formats(text, value):
    assert parse_number(pl.Series("x", [text]), table="t")[0] == value


def test_explicit_date_format_is_used():
    s = parse_datetime(pl.Series("d", ["2024年03月05日"]), table="loans", fmt="%Y年%m月%d日")
    assert s[0] == dt.datetime(2024, 3, 5)


def test_contract_folder_with_extra_column_ingests_with_warning(tmp_path):
    """A contract-format folder: CSV and Parquet mixed, an extra column warned about, no collections file."""
    _write(tmp_path, "applications.csv", _csv(_application_row() | {"note": "vip"}), "utf-8")
    _write(tmp_path, "loans.csv", _csv(_loan_row()), "utf-8")
    _write(
        tmp_path,
        "schedule.csv",
        _csv(
            {
                "loan_id": "l1",
                "instalment_no": "1",
                "due_date": "2024-02-01",
                "principal_due": "1000",
                "interest_due": "20",
            }
        ),
        "utf-8",
    )
    _repayments().write_parquet(tmp_path / "repayments.parquet")
    frames = read_folder(tmp_path, ("applications", "loans", "schedule", "repayments", "collection_actions"))
    result = ingest_tables(frames, "contract", IngestParams())
    assert result.mode == "full"
    assert {k: v.height for k, v in result.tables.items()} == {
        "applications": 1,
        "loans": 1,
        "schedule": 1,
        "repayments": 2,
        "collection_actions": 0,
    }
    assert result.tables["applications"].schema == pl.Schema(APPLICATIONS.schema)
    assert result.warnings == ["applications: 1 column(s) not in the contract were left out: note."]
    assert result.lacks == [
        "loans.acceleration_clause is not in the source (left empty).",
        "collection_actions: not in the source (written empty).",
        *(
            f"{name}: not in the source ({WITHOUT[name]})."
            for name in ("agreements", "legal_cases", "borrower_profiles")
        ),
    ]


def test_contract_folder_without_repayments_fails(tmp_path):
    _write(tmp_path, "applications.csv", _csv(_application_row()), "utf-8")
    frames = read_folder(tmp_path, ("applications", "loans", "schedule", "repayments"))
    with pytest.raises(RiskDataError, match="no file for table.*loans, schedule, repayments") as e:
        ingest_tables(frames, "contract", IngestParams())
    assert e.value.rule == "file_exists"


def _csv(row: dict[str, str]) -> str:
    return ",".join(row) + "\n" + ",".join(row.values()) + "\n"


def _application_row() -> dict[str, str]:
    return {
        "application_id": "a1",
        "borrower_id": "b1",
        "applied_at": "2024-01-01 09:00:00",
        "requested_amount": "1000",
        "requested_term": "1",
        "product": "cash_loan",
        "channel": "app_organic",
        "age": "30",
        "monthly_income": "8000",
        "employment_type": "white_collar",
        "employment_years": "2.5",
        "city_tier": "2",
        "education": "bachelor",
        "credit_history_months": "40",
        "existing_debt": "0",
        "credit_inquiries_6m": "1",
        "prior_loans": "0",
        "identity_verified": "true",
        "income_verified": "false",
        "decision": "approved",
        "loan_id": "l1",
    }


def _loan_row() -> dict[str, str]:
    return {
        "loan_id": "l1",
        "borrower_id": "b1",
        "application_id": "a1",
        "originated_on": "2024-01-01",
        "principal": "1000",
        "annual_rate": "0.24",
        "term_months": "1",
        "repayment_method": "equal_instalment",
        "product": "cash_loan",
        "contract_max_overdue_days": "90",
        "status": "repaid",
    }
