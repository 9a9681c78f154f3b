"""A scored day that moves far from the day before is not written until a person confirms it: an export
whose repayments file is empty passes as well-formed, then charges off most of the book."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml
from tests.conftest import run_tool

from risk.score.sinks import day_folder, read_day

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def risk(*args: str) -> list[str]:
    return [sys.executable, "-m", "risk.cli", *args]


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture
def project(tmp_path: Path, pipeline_project: Path) -> Path:
    return Path(shutil.copytree(pipeline_project, tmp_path / "project", symlinks=True))


def test_a_day_that_charges_off_the_book_stops_until_accepted(project: Path) -> None:
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["score"]["incremental"] = True  # each day keeps its ledger for the next: a stopped day keeps none
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False, allow_unicode=True))
    day = dt.date.fromisoformat(params["data"]["as_of"])
    scored, database = project / "data" / "scored", project / "data" / "scored" / "risk.duckdb"
    run_tool(risk("score", "--as-of", (day - dt.timedelta(days=1)).isoformat()), project)  # the day before
    before_parquet, before_rows = digest(day_folder(scored, day)), read_day(database, "collections_queue", day)
    kept_before = digest(scored)
    assert any(name.startswith("ledger-") for name in kept_before), kept_before

    repayments = project / "data" / "validated" / "repayments.parquet"
    pl.read_parquet(repayments).clear().write_parquet(repayments)
    stopped = run_tool(risk("score"), project, check=False)
    assert stopped.returncode == 3, stopped.stdout + stopped.stderr
    assert "[rule: blast_radius]" in stopped.stderr and "charged off" in stopped.stderr
    assert "--accept-shift" in stopped.stderr
    assert digest(day_folder(scored, day)) == before_parquet  # nothing of the day was written
    assert read_day(database, "collections_queue", day).equals(before_rows)
    assert {k: v for k, v in digest(scored).items() if "ledger" in k} == {  # nothing new kept, nothing staged left
        k: v for k, v in kept_before.items() if "ledger" in k
    }

    accepted = run_tool(risk("score", "--accept-shift"), project)
    assert "Accepted by --accept-shift: charged off" in accepted.stdout
    assert digest(day_folder(scored, day)) != before_parquet
