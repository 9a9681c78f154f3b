"""An export without the optional case tables still scores, and the score stage says what the queues cannot know."""

from __future__ import annotations

from risk.case_tables import WITHOUT
from risk.score.stage import unknown_without_case_tables


def test_every_absent_case_table_is_named_with_what_the_queue_cannot_know(tmp_path):
    (tmp_path / "agreements.parquet").write_bytes(b"")
    said = unknown_without_case_tables(tmp_path)
    assert "Without legal_cases" in said and WITHOUT["legal_cases"] in said
    assert "Without borrower_profiles" in said
    assert "agreements" not in said


def test_nothing_is_said_when_every_case_table_is_there(tmp_path):
    for name in ("agreements", "legal_cases", "borrower_profiles"):
        (tmp_path / f"{name}.parquet").write_bytes(b"")
    assert unknown_without_case_tables(tmp_path) == ""
