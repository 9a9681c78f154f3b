"""An export is compared with the previous accepted one of the same source: a file that passes every rule
but moved too far (no rows, amounts ×100, a remapped code) stops the run, by name, with both figures."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest
from tests.books import tiny_book

from risk.config import ShiftParams, ValidateParams
from risk.exceptions import ValidationFailed
from risk.validate import Rule, Severity, run, validate_tables
from risk.validate.profile import profile_of

AS_OF = dt.date(2025, 6, 30)
DEFAULTS = ValidateParams()
SOURCE = "the lender's daily export"


def previous_profile(book=None, source: str = SOURCE) -> dict:
    return profile_of(book or tiny_book(), source=source, as_of=AS_OF - dt.timedelta(days=1))


def shifts(book, previous, params: ValidateParams = DEFAULTS):
    report = validate_tables(book, as_of=AS_OF, params=params, source=SOURCE, previous=previous)
    return report, [r for r in report.results if r.rule.endswith("_shift")]


def failed(results, rule: Rule):
    return [r for r in results if r.rule == rule.value and not r.success]


def test_the_first_export_of_a_source_is_compared_with_nothing() -> None:
    report, results = shifts(tiny_book(), previous=None)
    assert results == [] and report.compared_with is None and report.profile["source"] == SOURCE


def test_an_export_of_another_source_is_compared_with_nothing() -> None:
    _, results = shifts(tiny_book(), previous_profile(source="another folder"))
    assert results == []


def test_the_same_export_again_passes_every_shift_check() -> None:
    report, results = shifts(tiny_book(), previous_profile())
    assert results and all(r.success for r in results)
    assert {r.rule for r in results} >= {"row_count_shift", "amount_scale_shift", "category_share_shift"}
    assert report.compared_with is not None and "2025-06-29" in report.compared_with


def test_a_repayments_file_with_a_header_and_no_rows_fails_with_both_counts() -> None:
    book = tiny_book()
    before = book["repayments"].height
    book["repayments"] = book["repayments"].clear()
    _, results = shifts(book, previous_profile())
    (failure,) = failed(results, Rule.ROW_COUNT_SHIFT)
    assert failure.table == "repayments" and failure.severity is Severity.ERROR
    assert f"repayments: 0 rows, previous export as of 2025-06-29 {before:,}" in failure.detail


def test_amounts_in_fen_instead_of_yuan_fail_on_the_amount_scale() -> None:
    book = tiny_book()
    book["repayments"] = book["repayments"].with_columns(pl.col("amount") * 100)
    _, results = shifts(book, previous_profile())
    (failure,) = failed(results, Rule.AMOUNT_SCALE_SHIFT)
    assert (failure.table, failure.column) == ("repayments", "amount")
    (example,) = failure.examples
    assert example["current"] == pytest.approx(100 * example["previous"])


def test_a_remapped_category_fails_naming_the_value() -> None:
    book = tiny_book()
    book["applications"] = book["applications"].with_columns(channel=pl.lit("online_ads"))
    _, results = shifts(book, previous_profile())
    (failure,) = failed(results, Rule.CATEGORY_SHARE_SHIFT)
    assert (failure.table, failure.column) == ("applications", "channel")
    assert {e["measure"]: (e["previous"], e["current"]) for e in failure.examples}["online_ads"] == (0.25, 1.0)


def test_the_limits_come_from_params_and_a_shift_can_be_downgraded_by_name() -> None:
    book = tiny_book()
    book["repayments"] = book["repayments"].with_columns(pl.col("amount") * 2)
    assert failed(shifts(book, previous_profile())[1], Rule.AMOUNT_SCALE_SHIFT) == []
    strict = ValidateParams(shift=ShiftParams(max_amount_ratio=1.5))
    assert failed(shifts(book, previous_profile(), strict)[1], Rule.AMOUNT_SCALE_SHIFT)
    lenient = ValidateParams(shift=ShiftParams(max_amount_ratio=1.5), warn_only=("amount_scale_shift",))
    (warning,) = failed(shifts(book, previous_profile(), lenient)[1], Rule.AMOUNT_SCALE_SHIFT)
    assert warning.severity is Severity.WARNING


def write_raw(book, folder) -> None:
    folder.mkdir(parents=True)
    for name, frame in book.items():
        frame.write_parquet(folder / f"{name}.parquet")
    (folder / "_ingest.json").write_text(json.dumps({"mode": "full", "source": SOURCE}))


def test_the_stage_keeps_the_accepted_profile_and_refuses_the_shifted_export(tmp_path) -> None:
    profile, validated, reports = tmp_path / "profile.json", tmp_path / "validated", tmp_path / "reports"
    write_raw(tiny_book(), tmp_path / "day1")
    run(tmp_path / "day1", validated, reports, as_of=AS_OF, params=ValidateParams(), profile=profile)
    kept = profile.read_text()
    assert json.loads(kept)["tables"]["repayments"]["rows"] > 0

    shifted = tiny_book()
    shifted["repayments"] = shifted["repayments"].clear()
    write_raw(shifted, tmp_path / "day2")
    with pytest.raises(ValidationFailed, match="row_count_shift"):
        run(tmp_path / "day2", validated, reports, as_of=AS_OF, params=ValidateParams(), profile=profile)
    assert profile.read_text() == kept  # the refused export is not the next one's yardstick
    assert "Compared with the previous accepted export" in (reports / "validation.html").read_text()
