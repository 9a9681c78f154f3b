"""The public data sets (LendingClub 2007-2011, UCI Taiwan credit cards) in application-only mode."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import polars as pl
import pytest

from risk.case_tables import WITHOUT
from risk.config import IngestParams, Params
from risk.contract import CASE_TABLES, INPUT_TABLES
from risk.exceptions import RiskDataError
from risk.ingest import OUTCOMES, ingest_tables, read_source, run
from risk.ingest.lendingclub import equal_instalment_schedule
from risk.ingest.readers import read_single
from risk.paths import Paths

SHARED = Path(os.environ.get("RISK_SHARED_DATA") or Path(__file__).parents[2] / "../shared/data").resolve()
LC = SHARED / "lendingclub-2007-2011"
TW = SHARED / "uci-taiwan-credit-card"
needs_data = pytest.mark.skipif(
    not SHARED.is_dir(), reason="../shared/data not present: real-data adapter tests need it (or set RISK_SHARED_DATA)"
)


def _real(fmt: str, folder: Path):
    frames = read_source(folder, fmt, Params(ingest=IngestParams(format=fmt)))
    return ingest_tables(frames, fmt, IngestParams(format=fmt))


@pytest.fixture(scope="module")
def lendingclub():
    if not SHARED.is_dir():
        pytest.skip("../shared/data not present: real-data adapter tests need it")
    return _real("lendingclub", LC)


@pytest.fixture(scope="module")
def taiwan():
    if not SHARED.is_dir():
        pytest.skip("../shared/data not present: real-data adapter tests need it")
    return _real("taiwan", TW)


def _assert_conforms(result):
    for table in INPUT_TABLES:
        assert result.tables[table.name].schema == pl.Schema(table.schema), table.name
    assert result.tables["outcomes"].schema == pl.Schema(OUTCOMES.schema)
    # the public data sets have no case tables: none is written, each is named in what the source lacks
    assert not {t.name for t in CASE_TABLES} & set(result.tables)
    for t in CASE_TABLES:
        assert f"{t.name}: not in the source ({WITHOUT[t.name]})." in result.lacks
    apps, outcomes = result.tables["applications"], result.tables["outcomes"]
    assert apps["application_id"].is_unique().all()
    assert outcomes["application_id"].is_in(apps["application_id"].implode()).all()


@needs_data
def test_lendingclub_rows_label_rate_and_mode(lendingclub):
    result = lendingclub
    _assert_conforms(result)
    assert result.mode == "application_only"
    assert result.currency == "USD"
    assert {k: v.height for k, v in result.tables.items()} == {
        "applications": 39_786,
        "loans": 0,
        "schedule": 0,
        "repayments": 0,
        "collection_actions": 0,
        "outcomes": 39_786,
        "attributes": 39_786,
    }
    assert result.tables["outcomes"]["default_flag"].sum() == 5_670  # Charged Off, as SOURCE.md states
    assert result.tables["outcomes"]["default_flag"].mean() == pytest.approx(0.1425, abs=0.0005)
    assert any("no payment history" in s for s in result.lacks)


@needs_data
def test_lendingclub_maps_what_maps(lendingclub):
    apps = lendingclub.tables["applications"]
    first = apps.row(0, named=True)  # 5000, 36 months, 10+ years, 24000 a year, Verified, 1 inquiry, 13648
    assert (first["requested_amount"], first["requested_term"], first["employment_years"]) == (5000.0, 36, 10.0)
    assert (first["monthly_income"], first["income_verified"], first["credit_inquiries_6m"]) == (2000.0, True, 1)
    assert first["existing_debt"] == 13648.0
    assert set(apps["requested_term"].unique()) == {36, 60}
    assert set(apps["product"].unique()) == {"cash_loan"}
    assert apps["employment_years"].drop_nulls().is_between(0, 10).all()
    assert apps["monthly_income"].null_count() == 0
    assert apps["employment_years"].null_count() == 1_078  # emp_length n/a, reported
    assert any("1078 loan(s) with emp_length n/a" in w for w in lendingclub.warnings)


@needs_data
def test_lendingclub_location_is_dropped(lendingclub):
    assert lendingclub.dropped == ["zip_code", "addr_state"]
    columns = {c for t in lendingclub.tables.values() for c in t.columns}
    assert not columns & {"zip_code", "addr_state"}


@needs_data
def test_lendingclub_carries_every_usable_column_as_an_attribute(lendingclub):
    """The six columns the contract has no place for are features, not left out (they are worth 0.025 AUC)."""
    attrs = lendingclub.tables["attributes"]
    assert [a.column for a in lendingclub.attributes] == [
        "home_ownership", "delinq_2yrs", "open_acc", "pub_rec", "revol_util", "total_acc",
    ]  # fmt: skip
    first = attrs.row(0, named=True)  # RENT, 0 delinquencies, 3 open, 0 records, 83.70%, 9 lines
    assert (first["home_ownership"], first["open_credit_lines"], first["total_credit_lines"]) == ("RENT", 3.0, 9.0)
    assert first["revolving_utilisation"] == pytest.approx(0.837)
    assert attrs["revolving_utilisation"].null_count() == 50  # empty in the file, as SOURCE.md says
    assert lendingclub.attributes[0].categories == ("MORTGAGE", "NONE", "OTHER", "OWN", "RENT")
    assert not any("left out" in w for w in lendingclub.warnings)


@needs_data
def test_taiwan_carries_the_six_statements_as_attributes(taiwan):
    attrs = taiwan.tables["attributes"]
    assert attrs.width == 1 + 18 and attrs.height == 30_000
    first = attrs.row(0, named=True)  # client 1: PAY_0 2, PAY_2 2, BILL_AMT1 3913, PAY_AMT2 689
    assert (first["repayment_status_m1"], first["repayment_status_m2"]) == (2.0, 2.0)
    assert (first["bill_amount_m1"], first["payment_amount_m2"]) == (3913.0, 689.0)


@needs_data
def test_taiwan_statements_become_a_ledger_that_reproduces_the_status():
    """Amounts due reconstructed from the delinquency status: the ledger agrees with the bank's status on most
    client-months (a status that improves without a payment cannot be reproduced), every card is open at as_of,
    and the schedule adds up to each loan's principal."""
    from risk.ingest.taiwan import statements_ledger, status_agreement

    source = pl.read_csv(TW / "UCI_Credit_Card.csv", infer_schema=False)
    ledger = statements_ledger(source)
    assert status_agreement(ledger) > 0.8
    schedule = ledger["schedule"]
    assert schedule["principal_due"].min() >= 0 and schedule.height == 7 * 30_000
    october = schedule.filter(pl.col("instalment_no") == 7)
    assert (october["principal_due"] >= 100).all()  # September's balance falls due after as_of: the card is open
    totals = schedule.group_by("loan_id").agg(pl.col("principal_due").sum())
    joined = ledger["loans"].join(totals, on="loan_id")
    assert (joined["principal"] - joined["principal_due"]).abs().max() < 1e-6
    first = schedule.filter(pl.col("loan_id") == "tw-1")["principal_due"].to_list()
    # client 1: nothing due April-July (no use, paid in full), 689 paid in August against two open months
    assert first[:4] == [0.0, 0.0, 0.0, 0.0] and first[4] > 689


@needs_data
def test_taiwan_rows_label_rate_and_mode(taiwan):
    _assert_conforms(taiwan)
    assert taiwan.mode == "application_only"
    assert taiwan.currency == "TWD"
    assert taiwan.tables["applications"].height == 30_000
    assert taiwan.tables["outcomes"].height == 30_000
    assert taiwan.tables["outcomes"]["default_flag"].mean() == pytest.approx(0.2212, abs=0.0005)
    assert all(taiwan.tables[t].height == 0 for t in ("loans", "schedule", "repayments", "collection_actions"))


@needs_data
def test_taiwan_protected_attributes_are_absent(taiwan):
    assert taiwan.dropped == ["SEX", "MARRIAGE"]
    columns = {c for t in taiwan.tables.values() for c in t.columns}
    assert not columns & {"SEX", "MARRIAGE", "sex", "marriage"}


@needs_data
def test_taiwan_maps_what_maps(taiwan):
    apps = taiwan.tables["applications"]
    first = apps.row(0, named=True)
    assert (first["application_id"], first["requested_amount"], first["age"], first["education"]) == (
        "tw-1",
        20000.0,
        24,
        "bachelor",
    )
    assert apps["age"].null_count() == 2  # the file writes "nan" for two ages
    assert set(apps["education"].drop_nulls().unique()) <= {"postgraduate", "bachelor", "high_school"}
    assert any("carried as source attributes" in s for s in taiwan.lacks)


@needs_data
def test_run_writes_outcomes_and_manifest_beside_the_five_tables(tmp_path):
    paths = Paths.at(tmp_path)
    summary = run(paths, Params(), source=str(TW / "UCI_Credit_Card.csv"), fmt="taiwan")
    assert "mode application_only" in summary and "bad rate 22.12%" in summary
    assert "Dropped personal or protected columns: SEX, MARRIAGE" in summary
    assert "TWD" in summary
    assert (paths.raw / "outcomes.parquet").is_file()
    manifest = json.loads((paths.raw / "_ingest.json").read_text(encoding="utf-8"))
    assert manifest["mode"] == "application_only" and manifest["rows"]["outcomes"] == 30_000


# --- the full LoanStats3a layout, built in code (it is not in shared/data) ----------------------------
FULL_LC = (
    '"Notes offered by Prospectus (https://www.lendingclub.com/info/prospectus.action)"\n'
    "id,member_id,loan_amnt,funded_amnt,term,int_rate,issue_d,purpose,emp_length,annual_inc,"
    "verification_status,zip_code,addr_state,inq_last_6mths,revol_bal,earliest_cr_line,grade,loan_status\n"
    "1077501,1296599,5000,5000, 36 months, 10.65%,Dec-2011,credit_card,10+ years,24000,Verified,860xx,AZ,1,"
    "13648,Jan-1985,B,Fully Paid\n"
    "1077430,1314167,2500,2500, 60 months, 15.27%,Dec-2011,small_business,< 1 year,30000,Source Verified,309xx,"
    "GA,5,1687,Apr-1999,C,Charged Off\n"
    "1077175,1313524,2400,2400, 36 months, 15.96%,Dec-2011,car,n/a,12252,Not Verified,606xx,IL,2,2956,Nov-2001,"
    "C,Does not meet the credit policy. Status:Current\n"
    "\n"
    "Total amount funded in policy code 1: 460296150,,,,,,,,,,,,,,,,,\n"
)


@pytest.fixture
def full_lc(tmp_path):
    path = tmp_path / "LoanStats3a.csv"
    path.write_text(FULL_LC, encoding="utf-8")
    return ingest_tables(
        {"lendingclub": read_single(tmp_path, "LoanStats3a.csv", table="lendingclub")}, "lendingclub", IngestParams()
    )


def test_full_lendingclub_file_builds_loans_and_schedule(full_lc):
    """With int_rate, issue_d and funded_amnt the adapter books loans and an equal-instalment schedule."""
    _assert_conforms(full_lc)
    loans = full_lc.tables["loans"]
    assert loans["loan_id"].to_list() == ["1077501", "1077430", "1077175"]
    assert loans["annual_rate"].to_list() == pytest.approx([0.1065, 0.1527, 0.1596])
    assert loans["status"].to_list() == ["repaid", "charged_off", "active"]
    assert loans["originated_on"].to_list() == [dt.date(2011, 12, 1)] * 3
    assert loans["product"].to_list() == ["cash_loan", "micro_business", "cash_loan"]
    assert full_lc.tables["schedule"].height == 36 + 60 + 36
    apps = full_lc.tables["applications"]
    assert apps["credit_history_months"].to_list() == [26 * 12 + 11, 12 * 12 + 8, 10 * 12 + 1]
    assert apps["employment_years"].to_list() == [10.0, 0.0, None]
    assert full_lc.tables["outcomes"]["default_flag"].to_list() == [0, 1]  # the running loan has no label
    assert full_lc.mode == "application_only"
    assert any("still running" in w for w in full_lc.warnings)
    assert any("grade" in w for w in full_lc.warnings)  # LendingClub's own grade is not carried


def test_equal_instalment_schedule_repays_the_principal(full_lc):
    schedule = full_lc.tables["schedule"].filter(pl.col("loan_id") == "1077501")
    assert schedule["principal_due"].sum() == pytest.approx(5000.0, abs=0.05)
    payments = (schedule["principal_due"] + schedule["interest_due"]).to_list()
    assert max(payments) - min(payments) <= 0.011  # 等额本息: equal payments, up to rounding
    assert payments[0] == pytest.approx(162.87, abs=0.01)  # LendingClub's published instalment
    assert schedule["due_date"][:2].to_list() == [dt.date(2012, 1, 1), dt.date(2012, 2, 1)]


def test_zero_rate_schedule_splits_principal_evenly():
    loans = pl.DataFrame(
        {
            "loan_id": ["z"],
            "originated_on": [dt.date(2024, 1, 31)],
            "principal": [300.0],
            "annual_rate": [0.0],
            "term_months": [3],
        }
    )
    schedule = equal_instalment_schedule(loans)
    assert schedule["principal_due"].to_list() == [100.0, 100.0, 100.0]
    assert schedule["interest_due"].to_list() == [0.0, 0.0, 0.0]
    assert schedule["due_date"].to_list() == [dt.date(2024, 2, 29), dt.date(2024, 3, 31), dt.date(2024, 4, 30)]


@pytest.mark.parametrize(
    ("fmt", "frame", "match"),
    [
        ("lendingclub", pl.DataFrame({"loan_amnt": ["1"], "term": ["36 months"]}), "lendingclub.loan_status"),
        (
            "lendingclub",
            pl.DataFrame({"loan_amnt": ["1"], "term": ["36 months"], "loan_status": ["Paid?"]}),
            "unknown loan status",
        ),
        (
            "lendingclub",
            pl.DataFrame(
                {"loan_amnt": ["1"], "term": ["36 months"], "loan_status": ["Fully Paid"], "emp_length": ["ten years"]}
            ),
            r"lendingclub.emp_length: unknown.*ten years",
        ),
        (
            "lendingclub",
            pl.DataFrame({"loan_amnt": ["five"], "term": ["36 months"], "loan_status": ["Fully Paid"]}),
            r"lendingclub.loan_amnt: non-numeric.*five",
        ),
        (
            "taiwan",
            pl.DataFrame({"ID": ["1"], "LIMIT_BAL": ["1"], "AGE": ["30"], "EDUCATION": ["1"]}),
            "taiwan.default.payment.next.month: required",
        ),
        (
            "taiwan",
            pl.DataFrame(
                {
                    "ID": ["1"],
                    "LIMIT_BAL": ["1"],
                    "AGE": ["30"],
                    "EDUCATION": ["1"],
                    "default.payment.next.month": ["2"],
                }
            ),
            "must be 0 or 1",
        ),
    ],
)
def test_adapters_reject_broken_sources(fmt, frame, match):
    with pytest.raises(RiskDataError, match=match):
        ingest_tables({fmt: frame}, fmt, IngestParams())
