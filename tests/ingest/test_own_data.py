"""A lender's own application-only export: a declared outcome, generated ids, contract columns left empty, source
attributes carried as features and protected columns dropped by name; every mistake in the params or the file
is a named error."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
import yaml
from tests.books import WALK, credit_file

from risk.attributes import TABLE, from_manifest
from risk.config import IngestParams, TrainParams, ValidateParams, build
from risk.exceptions import ConfigError, RiskDataError
from risk.ingest.core import ingest_tables
from risk.validate.core import validate_tables

AS_OF = dt.date(2025, 12, 31)


def walk(**changes) -> IngestParams:
    raw = yaml.safe_load(WALK)["ingest"]
    raw.update(changes)
    return build(IngestParams, raw, "ingest.")


def source(n: int = 300) -> pl.DataFrame:
    frame = credit_file(n)
    return frame.cast(dict.fromkeys(frame.columns, pl.String))  # as a CSV reader hands it over


def test_an_application_only_file_becomes_applications_outcomes_and_attributes():
    result = ingest_tables({"applications": source()}, "mapping", walk())
    apps, outcomes, attrs = (result.tables[t] for t in ("applications", "outcomes", TABLE))
    assert result.mode.value == "application_only" and apps.height == outcomes.height == attrs.height == 300
    assert apps["application_id"][:2].to_list() == ["app-000001", "app-000002"]  # numbered rows
    assert (apps["borrower_id"] == apps["application_id"]).all() and (apps["decision"] == "approved").all()
    assert apps["monthly_income"].is_null().all()  # a contract column the file lacks is left empty, and said so
    assert "applications.monthly_income is not in the source (left empty)." in result.lacks
    expected_bad = (credit_file(300)["class"] == "bad").cast(pl.Int8)
    assert outcomes["default_flag"].to_list() == expected_bad.to_list()
    assert attrs.columns == ["application_id", "checking_status", "savings_status", "installment_commitment", "housing"]
    assert attrs["installment_commitment"].dtype == pl.Float64
    declared = from_manifest(result.manifest())
    assert declared[0].categories == ("A11", "A12", "A13", "A14") and declared[2].risk == 1


def test_protected_columns_are_dropped_and_named_and_a_guessed_one_is_warned_about():
    frame = source().rename({"personal_status": "gender"})
    result = ingest_tables({"applications": frame}, "mapping", walk(protected=["foreign_worker"]))
    assert set(result.dropped) == {"applications.gender", "applications.foreign_worker"}
    assert any("'gender' look like protected attributes" in w for w in result.warnings)
    assert "gender" not in result.tables[TABLE].columns


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"attributes": {"age": {"kind": "numeric", "description": "Age"}}}, "already a contract column"),
        ({"attributes": {"Checking": {"kind": "categorical", "description": "x"}}}, "snake_case"),
        (
            {"attributes": {"status": {"column": "personal_status", "kind": "categorical", "description": "x"}}},
            "protected attribute",
        ),
        ({"attributes": {"x": {"kind": "ordinal", "description": "x"}}}, "kind: must be one of"),
        ({"attributes": {"x": {"kind": "numeric"}}}, "description"),
        ({"attributes": {"as_of": {"kind": "numeric", "description": "x"}}}, "already a contract column"),
        ({"attributes": {"order": {"kind": "numeric", "description": "x"}}}, "SQL keyword"),
        ({"attributes": {"klass": {"column": "class", "kind": "categorical", "description": "x"}}}, "leakage"),
        ({"attributes": {"dur": {"column": "duration", "kind": "numeric", "description": "x"}}}, "already mapped"),
        ({"outcome": None}, "needs the outcome column"),
        ({"generate_ids": False}, "no application_id column"),
        ({"format": "taiwan"}, "application_only is for format mapping"),
    ],
)
def test_a_wrong_declaration_is_refused_by_name(changes, match):
    with pytest.raises((ConfigError, RiskDataError), match=match):
        ingest_tables({"applications": source()}, "mapping", walk(**changes))


def test_a_broken_file_is_refused_naming_the_column_and_rule():
    no_outcome = source().with_columns(
        pl.when(pl.int_range(pl.len()) == 3).then(None).otherwise("class").alias("class")
    )
    with pytest.raises(RiskDataError, match="outcome for every application") as e:
        ingest_tables({"applications": no_outcome}, "mapping", walk())
    assert e.value.rule == "label_values" and e.value.column == "class"
    with pytest.raises(RiskDataError, match=r"marks no application bad; the column holds \['bad', 'good'\]"):
        ingest_tables({"applications": source()}, "mapping", walk(outcome={"column": "class", "bad": ["2"]}))
    text = source().with_columns(pl.lit("four").alias("installment_commitment"))
    with pytest.raises(RiskDataError) as e:
        ingest_tables({"applications": text}, "mapping", walk())
    assert e.value.column == "installment_commitment"
    with pytest.raises(RiskDataError, match="declared attribute column"):
        ingest_tables({"applications": source().drop("housing")}, "mapping", walk())


def test_validation_checks_each_attribute_against_its_declaration():
    params = walk(
        attributes={
            "checking_status": {"kind": "categorical", "description": "x", "values": ["A11", "A12", "A13"]},
            "installment_commitment": {"kind": "numeric", "description": "y", "maximum": 3, "max_missing": 0.0},
        }
    )
    frame = source().with_columns(
        pl.when(pl.int_range(pl.len()) < 5)
        .then(None)
        .otherwise(pl.col("installment_commitment"))
        .alias("installment_commitment")
    )
    result = ingest_tables({"applications": frame}, "mapping", params)
    report = validate_tables(
        result.tables,
        as_of=AS_OF,
        params=ValidateParams(warn_only=["not_null", "in_range", "date_plausible"]),
        attributes=result.attributes,
    )
    failed = {(r.table, r.column, r.rule) for r in report.errors}
    assert (TABLE, "checking_status", "in_domain") in failed  # A14 was not declared
    assert (TABLE, "installment_commitment", "attribute_missing_rate") in failed  # 5 empty, none allowed
    assert any(
        (r.table, r.column, r.rule) == (TABLE, "installment_commitment", "in_range") for r in report.warnings
    )  # 4 > 3, downgraded by warn_only here


def test_the_collections_side_is_skipped_by_name_when_only_the_pd_can_be_trained(tmp_path):
    from risk import io

    (tmp_path / io.MANIFEST).write_text('{"mode": "application_only"}')
    assert "application-only" in io.collections_skipped(tmp_path, ["pd", "early_warning", "cure"])
    (tmp_path / io.MANIFEST).write_text('{"mode": "full"}')
    assert io.collections_skipped(tmp_path, ["pd", "early_warning", "cure"]) is None
    assert io.collections_skipped(tmp_path, ["pd"]) == (
        "train.models leaves out early_warning, cure, which the collections side needs"
    )
    with pytest.raises(ConfigError, match="PD model is always trained"):
        build(TrainParams, {"models": ["cure"]}, "train.")
