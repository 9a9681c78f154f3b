"""A lender's own export (Chinese headers, GBK, code lists, fen amounts, personal data) mapped onto the contract."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import polars as pl
import pytest
import yaml

from risk import ingest, validate
from risk.case_tables import WITHOUT
from risk.config import IngestParams, Params, ValidateParams, build
from risk.contract import CASE_TABLES, INPUT_TABLES, TABLES
from risk.exceptions import ConfigError, RiskDataError
from risk.ingest import ingest_tables, read_source, run
from risk.ingest.mapping import check_params
from risk.ingest.pii import SALT_ENV, hash_value
from risk.paths import Paths
from risk.validate import Severity

# The worked example of risk.ingest.mapping's docstring, with every table.
EXPORT = {
    "进件.csv": [
        "进件号,身份证号,手机号,申请时间,申请金额,申请期数,产品,渠道,年龄,月收入,职业,工作年限,城市等级,学历,"
        "征信月数,负债,近6月查询,历史借款,实名认证,收入认证,审批结果,借据号",
        "JK01,11010519491231002x,138-0000-0001,2024/03/01 10:15,12000,3,现金贷,自然流量,30,9000,白领,3,2,本科,"
        "48,5000,1,0,是,否,通过,JJ001",
        "JK02,440301199001011234,13900000002,2024/03/02 11:00,5000,6,消费分期,广告,41,6000,个体,10,3,大专,"
        "120,0,4,1,是,是,拒绝,",
    ],
    "借据.csv": [
        "借据号,进件号,放款日期,放款金额,年利率,期数,还款方式,产品",
        'JJ001,JK01,2024/03/05,"12,000.00",24%,3,等额本息,现金贷',
    ],
    "还款计划.csv": [
        "借据号,期次,应还日期,应还本金,应还利息",
        "JJ001,1,2024/04/05,390000,24000",
        "JJ001,2,2024/05/05,398000,16200",
        "JJ001,3,2024/06/05,412000,8200",
    ],
    "还款流水.csv": [
        "流水号,借据号,还款时间,还款金额,期次,还款渠道",
        "LS1,JJ001,2024/04/05 08:00,414000,1,微信",
    ],
    "催收记录.csv": [
        "记录号,借据号,催收时间,催收动作,渠道,结果",
        "CS1,JJ001,2024/05/07 09:00,短信提醒,短信,已送达",
    ],
}
COLUMNS = {
    "applications": {
        "application_id": "进件号",
        "id_number": "身份证号",
        "phone": "手机号",
        "applied_at": "申请时间",
        "requested_amount": "申请金额",
        "requested_term": "申请期数",
        "product": "产品",
        "channel": "渠道",
        "age": "年龄",
        "monthly_income": "月收入",
        "employment_type": "职业",
        "employment_years": "工作年限",
        "city_tier": "城市等级",
        "education": "学历",
        "credit_history_months": "征信月数",
        "existing_debt": "负债",
        "credit_inquiries_6m": "近6月查询",
        "prior_loans": "历史借款",
        "identity_verified": "实名认证",
        "income_verified": "收入认证",
        "decision": "审批结果",
        "loan_id": "借据号",
    },
    "loans": {
        "loan_id": "借据号",
        "application_id": "进件号",
        "originated_on": "放款日期",
        "principal": "放款金额",
        "annual_rate": "年利率",
        "term_months": "期数",
        "repayment_method": "还款方式",
        "product": "产品",
    },
    "schedule": {
        "loan_id": "借据号",
        "instalment_no": "期次",
        "due_date": "应还日期",
        "principal_due": "应还本金",
        "interest_due": "应还利息",
    },
    "repayments": {
        "repayment_id": "流水号",
        "loan_id": "借据号",
        "paid_at": "还款时间",
        "amount": "还款金额",
        "instalment_no": "期次",
    },
    "collection_actions": {
        "action_id": "记录号",
        "loan_id": "借据号",
        "action_at": "催收时间",
        "action": "催收动作",
        "channel": "渠道",
        "outcome": "结果",
    },
}
PARAMS = IngestParams(
    format="mapping",
    encoding="gbk",
    files={
        "applications": "进件.csv",
        "loans": "借据.csv",
        "schedule": "还款计划.csv",
        "repayments": "还款流水.csv",
        "collection_actions": "催收记录.csv",
    },
    columns=COLUMNS,
    date_formats={
        "applied_at": "%Y/%m/%d %H:%M",
        "repayments.paid_at": "%Y/%m/%d %H:%M",
        "collection_actions.action_at": "%Y/%m/%d %H:%M",
    },
    codes={
        "product": {"现金贷": "cash_loan", "消费分期": "consumer_instalment", "小微经营贷": "micro_business"},
        "applications.channel": {"自然流量": "app_organic", "广告": "online_ads"},
        "employment_type": {"白领": "white_collar", "个体": "self_employed"},
        "education": {"本科": "bachelor", "大专": "college"},
        "decision": {"通过": "approved", "拒绝": "declined"},
        "repayment_method": {"等额本息": "equal_instalment"},
        "action": {"短信提醒": "sms"},
        "collection_actions.channel": {"短信": "sms"},
        "outcome": {"已送达": "delivered"},
    },
    scale={"schedule.principal_due": 0.01, "schedule.interest_due": 0.01, "repayments.amount": 0.01},  # 分 -> 元
    constants={"contract_max_overdue_days": 90, "status": "active"},
)
SALT = "test-salt"
AS_OF = dt.date(2024, 12, 31)


@pytest.fixture
def export(tmp_path: Path) -> Path:
    folder = tmp_path / "export"
    folder.mkdir()
    for name, lines in EXPORT.items():
        (folder / name).write_bytes(("\n".join(lines) + "\n").encode("gbk"))
    return folder


def _ingest(folder: Path, params: IngestParams = PARAMS, salt: str | None = SALT):
    frames = read_source(folder, "mapping", Params(ingest=params))
    return ingest_tables(frames, "mapping", params, pii_salt=salt)


# what the worked example does not have: the columns the contract gained later, and the case tables
NEWER_COLUMNS = [
    "loans.acceleration_clause is not in the source (left empty).",
    *(
        f"collection_actions.{c} is not in the source (left empty)."
        for c in ("hardship_reason", "policy", "assignment_probability")
    ),
]
NO_CASE_TABLES = [
    f"{name}: not in the source ({WITHOUT[name]})." for name in ("agreements", "legal_cases", "borrower_profiles")
]


def test_worked_example_maps_into_the_contract(export):
    result = _ingest(export)
    assert result.mode == "full"
    assert result.lacks == NEWER_COLUMNS + NO_CASE_TABLES
    assert result.lacks[-3].startswith("agreements: not in the source (the queues cannot know promises and plans")
    assert result.warnings == ["repayments: 1 column(s) not in the contract were left out: 还款渠道."]
    for table in INPUT_TABLES:
        assert result.tables[table.name].schema == pl.Schema(table.schema)
    apps = result.tables["applications"]
    assert apps["product"].to_list() == ["cash_loan", "consumer_instalment"]
    assert apps["decision"].to_list() == ["approved", "declined"]
    assert apps["identity_verified"].to_list() == [True, True]
    assert apps["applied_at"][0] == dt.datetime(2024, 3, 1, 10, 15)
    assert apps["loan_id"].to_list() == ["JJ001", None]
    loan = result.tables["loans"].row(0, named=True)
    assert loan | {"borrower_id": None} == {
        "loan_id": "JJ001",
        "borrower_id": None,
        "application_id": "JK01",
        "originated_on": dt.date(2024, 3, 5),
        "principal": 12000.0,
        "annual_rate": 0.24,
        "term_months": 3,
        "repayment_method": "equal_instalment",
        "product": "cash_loan",
        "contract_max_overdue_days": 90,
        "status": "active",
        "acceleration_clause": None,
    }
    assert result.tables["schedule"]["principal_due"].sum() == pytest.approx(12000.0)
    assert result.tables["repayments"]["amount"].to_list() == [4140.0]
    assert result.tables["collection_actions"].select("action", "channel", "outcome").row(0) == (
        "sms",
        "sms",
        "delivered",
    )


def test_personal_data_becomes_a_salted_borrower_id(export):
    """ID number and phone are hashed into borrower_id (ID number first), never written raw."""
    result = _ingest(export)
    apps = result.tables["applications"]
    expected = hashlib.sha256(f"{SALT}|id_number|11010519491231002X".encode()).hexdigest()
    assert apps["borrower_id"][0] == expected
    assert apps["borrower_id"][0] == hash_value(" 11010519491231002x", kind="id_number", salt=SALT)
    assert result.tables["loans"]["borrower_id"][0] == expected  # carried over through application_id
    assert not {"id_number", "phone", "name"} & set(apps.columns)
    assert result.dropped == ["applications.身份证号", "applications.手机号"]
    raw_values = {"11010519491231002x", "138-0000-0001", "13900000002"}
    assert not any(v in raw_values for t in result.tables.values() for c in t.iter_columns() for v in c.to_list())


def test_personal_data_without_salt_fails(export):
    with pytest.raises(RiskDataError, match=f"set the environment variable {SALT_ENV}") as e:
        _ingest(export, salt=None)
    assert (e.value.table, e.value.rule) == ("applications", "pii_salt")


def test_an_unlisted_code_is_an_error_naming_source_column_and_values(export):
    codes = PARAMS.codes | {"product": {"现金贷": "cash_loan"}}
    params = IngestParams(**{**PARAMS.__dict__, "codes": codes})
    with pytest.raises(RiskDataError, match=r"applications.product \(source column '产品'\).*消费分期") as e:
        _ingest(export, params)
    assert e.value.rule == "code_list"


def test_a_mapped_column_missing_from_the_file_is_named(export):
    columns = COLUMNS | {"loans": COLUMNS["loans"] | {"annual_rate": "利率"}}
    params = IngestParams(**{**PARAMS.__dict__, "columns": columns})
    with pytest.raises(RiskDataError, match=r"loans.利率: mapped source column\(s\) '利率' \(for annual_rate\)") as e:
        _ingest(export, params)
    assert e.value.rule == "missing_column"


def test_non_numeric_text_names_the_source_column(export):
    lines = EXPORT["还款流水.csv"][:1] + ["LS1,JJ001,2024/04/05 08:00,四千元,1,微信"]
    (export / "还款流水.csv").write_bytes(("\n".join(lines) + "\n").encode("gbk"))
    with pytest.raises(RiskDataError, match=r"repayments.amount \(source column '还款金额'\): non-numeric"):
        _ingest(export)


def test_unmapped_source_column_is_a_warning(export):
    columns = COLUMNS | {"repayments": {k: v for k, v in COLUMNS["repayments"].items() if k != "instalment_no"}}
    result = _ingest(export, IngestParams(**{**PARAMS.__dict__, "columns": columns}))
    assert result.warnings == ["repayments: 2 column(s) not in the contract were left out: 期次, 还款渠道."]
    assert result.lacks == [
        NEWER_COLUMNS[0],
        "repayments.instalment_no is not in the source (left empty).",
        *NEWER_COLUMNS[1:],
        *NO_CASE_TABLES,
    ]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("columns", {"loan": {"loan_id": "借据号"}}, "unknown table 'loan'"),
        ("columns", {"loans": {"loan_no": "借据号"}}, "ingest.columns.loans: unknown contract column 'loan_no'"),
        ("codes", {"loans.colour": {}}, "ingest.codes: 'loans.colour' is neither"),
    ],
)
def test_a_mapping_naming_unknown_tables_or_columns_is_a_config_error(export, field, value, message):
    with pytest.raises(ConfigError, match=message):
        _ingest(export, IngestParams(**{**PARAMS.__dict__, field: value}))


def test_run_writes_the_five_tables_and_a_manifest_atomically(export, tmp_path, monkeypatch):
    monkeypatch.setenv(SALT_ENV, SALT)
    paths = Paths.at(tmp_path)
    summary = run(paths, Params(ingest=PARAMS), source=str(export), fmt=None)
    assert summary.startswith("ingest (mapping, mode full)")
    assert "applications 2, loans 1, schedule 3, repayments 1, collection_actions 1" in summary
    assert sorted(p.name for p in paths.raw.iterdir()) == [
        "_ingest.json",
        *sorted(f"{t.name}.parquet" for t in INPUT_TABLES),
    ]
    assert json.loads((paths.raw / "_ingest.json").read_text(encoding="utf-8"))["mode"] == "full"
    before = (paths.raw / "loans.parquet").read_bytes()
    (export / "借据.csv").write_bytes(b"")
    with pytest.raises(RiskDataError, match="empty"):
        run(paths, Params(ingest=PARAMS), source=str(export), fmt=None)
    assert (paths.raw / "loans.parquet").read_bytes() == before  # a failed run leaves the last output


def test_the_documented_params_example_loads_and_checks():
    """The YAML in risk.ingest.mapping's docstring is valid params (it would be copied into params.yaml)."""
    doc = ingest.mapping.__doc__
    snippet = doc.split("is described by::")[1].split("\n\n(")[0]
    params = build(Params, yaml.safe_load(snippet), "")
    check_params(params.ingest)
    assert params.ingest.codes["product"]["现金贷"] == "cash_loan"
    assert params.ingest.columns["loans"]["originated_on"] == "放款日期"


# --- the optional case tables ---------------------------------------------------------------------------------
AGREEMENTS_CSV = [
    "协议号,借据号,协议类型,协商渠道,签署时间,承诺日期,承诺金额,分期期数,首期还款日,每期金额,展期天数,结清金额,"
    "状态,状态日期,结清证明日期",
    'XY1,JJ001,承诺还款,电话,2024/05/07 10:00,2024/05/10,"4,140.00",,,,,,已履约,2024/05/10,',
    "XY2,JJ001,一次性结清,视频,2024/06/01 15:30,,,,,,,800000,已完成,2024/06/03,2024/06/05",
]
WITH_AGREEMENTS = IngestParams(
    **{
        **PARAMS.__dict__,
        "files": PARAMS.files | {"agreements": "协商协议.csv"},
        "columns": COLUMNS
        | {
            "agreements": {
                "agreement_id": "协议号",
                "loan_id": "借据号",
                "kind": "协议类型",
                "channel": "协商渠道",
                "signed_at": "签署时间",
                "promised_date": "承诺日期",
                "promised_amount": "承诺金额",
                "plan_instalments": "分期期数",
                "plan_first_due": "首期还款日",
                "plan_instalment_amount": "每期金额",
                "extension_days": "展期天数",
                "settlement_amount": "结清金额",
                "status": "状态",
                "status_on": "状态日期",
                "certificate_on": "结清证明日期",
            }
        },
        "codes": PARAMS.codes
        | {
            "kind": {"承诺还款": "promise_to_pay", "一次性结清": "settlement"},
            "agreements.channel": {"电话": "phone", "视频": "video"},
            "agreements.status": {"已履约": "kept", "已完成": "completed"},
        },
        "date_formats": PARAMS.date_formats | {"agreements.signed_at": "%Y/%m/%d %H:%M"},
        "scale": PARAMS.scale | {"agreements.settlement_amount": 0.01},  # 分 -> 元, as the schedule
    }
)


@pytest.fixture
def export_with_agreements(export: Path) -> Path:
    (export / "协商协议.csv").write_bytes(("\n".join(AGREEMENTS_CSV) + "\n").encode("gbk"))
    return export


def test_gbk_agreements_with_chinese_headers_map_into_the_contract(export_with_agreements):
    """Renames, code lists, date formats and scales apply to a case table as to any other."""
    result = _ingest(export_with_agreements, WITH_AGREEMENTS)
    agreements = result.tables["agreements"]
    assert agreements.schema == pl.Schema(TABLES["agreements"].schema)
    assert agreements.select("agreement_id", "kind", "channel", "status").rows() == [
        ("XY1", "promise_to_pay", "phone", "kept"),
        ("XY2", "settlement", "video", "completed"),
    ]
    first, second = agreements.rows(named=True)
    assert (first["signed_at"], first["promised_date"], first["promised_amount"]) == (
        dt.datetime(2024, 5, 7, 10),
        dt.date(2024, 5, 10),
        4140.0,
    )
    assert (second["settlement_amount"], second["certificate_on"]) == (8000.0, dt.date(2024, 6, 5))
    assert "agreements.relief_amount is not in the source (left empty)." in result.lacks
    assert not any(s.startswith("agreements: not in the source") for s in result.lacks)
    assert NO_CASE_TABLES[1:] == [s for s in result.lacks if s.startswith(("legal_cases:", "borrower_profiles:"))]


def test_an_export_with_agreements_ingests_and_validates(export_with_agreements, tmp_path, monkeypatch):
    monkeypatch.setenv(SALT_ENV, SALT)
    paths = Paths.at(tmp_path)
    summary = run(paths, Params(ingest=WITH_AGREEMENTS), source=str(export_with_agreements), fmt=None)
    assert "collection_actions 1, agreements 2)." in summary
    report = validate.run(paths.raw, paths.validated, paths.reports, as_of=AS_OF, params=ValidateParams())
    assert report.errors == [] and report.warnings == []
    assert [r.table for r in report.notes] == ["legal_cases", "borrower_profiles"]
    assert pl.read_parquet(paths.validated / "agreements.parquet")["agreement_id"].to_list() == ["XY1", "XY2"]


def test_an_export_without_case_tables_ingests_and_validates_saying_what_is_absent(export, tmp_path, monkeypatch):
    """No case-table file is written for the absent ones (downstream reads them as optional); validation
    passes with a note per absent case table, and no error."""
    monkeypatch.setenv(SALT_ENV, SALT)
    paths = Paths.at(tmp_path)
    summary = run(paths, Params(ingest=PARAMS), source=str(export), fmt=None)
    assert "agreements: not in the source (the queues cannot know promises and plans" in summary
    assert not any((paths.raw / f"{t.name}.parquet").exists() for t in CASE_TABLES)
    manifest = json.loads((paths.raw / "_ingest.json").read_text(encoding="utf-8"))
    assert manifest["lacks"][-3:] == NO_CASE_TABLES
    report = validate.run(paths.raw, paths.validated, paths.reports, as_of=AS_OF, params=ValidateParams())
    assert report.passed and report.errors == []
    assert [(r.table, r.rule, r.severity) for r in report.notes] == [
        (t.name, "table_absent", Severity.INFO) for t in CASE_TABLES
    ]
    assert not any((paths.validated / f"{t.name}.parquet").exists() for t in CASE_TABLES)
    assert json.loads((paths.reports / "validation.json").read_text())["n_notes"] == 3


def test_a_named_case_table_file_that_is_missing_is_an_error(export):
    """Naming a file in ingest.files says it exists: a missing one is an error, not an absent table."""
    with pytest.raises(RiskDataError, match="file not found") as e:
        _ingest(export, WITH_AGREEMENTS)
    assert (e.value.table, e.value.rule) == ("agreements", "file_exists")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("files", {"truth_actions": "t.csv"}, "unknown table 'truth_actions'"),
        ("columns", {"legal_cases": {"case_no": "案号"}}, "ingest.columns.legal_cases: unknown contract column"),
        ("scale", {"agreements.colour": 0.01}, "ingest.scale: 'agreements.colour' is neither"),
    ],
)
def test_case_table_keys_are_checked_and_truth_tables_are_not_ingested(export, field, value, message):
    with pytest.raises(ConfigError, match=message):
        _ingest(export, IngestParams(**{**PARAMS.__dict__, field: value}))
