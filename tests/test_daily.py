"""`risk run --as-of`: the day's params, its export folder and one run per project at a time."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import pytest

from risk import io
from risk.config import IngestParams, Params
from risk.daily import params_for_day, run_day
from risk.exceptions import LockHeld
from risk.ingest.stage import export_path
from risk.paths import Paths


def test_the_day_sets_as_of_and_names_its_export_folder() -> None:
    params = dataclasses.replace(Params(), ingest=IngestParams(path="exports/{as_of}"))
    day = params_for_day(params, dt.date(2025, 12, 30))
    assert day.data.as_of == dt.date(2025, 12, 30) and export_path(day) == "exports/2025-12-30"
    assert export_path(params) == f"exports/{params.data.as_of.isoformat()}"  # dvc repro: params' own day


def test_a_second_run_of_the_project_at_once_is_refused(tmp_path) -> None:
    paths = Paths.at(tmp_path)
    first_run = io.file_lock(tmp_path / "data" / ".run.lock", on_busy=lambda: AssertionError("first run"))
    with first_run, pytest.raises(LockHeld, match="another `risk run`"):
        run_day(paths, Params(), day=dt.date(2025, 12, 30))


@pytest.mark.parametrize(
    ("through", "refusal"),
    [
        ("2025-12-30", "--through 2025-12-30 is before --as-of 2025-12-31"),
        ("tomorrow", "is after today"),  # the day after the one the test runs on, not the one it was collected on
        ("2025-13-01", "--through must be YYYY-MM-DD or 'today'"),
    ],
)
def test_a_catch_up_that_cannot_end_is_refused_before_anything_runs(tmp_path, through, refusal) -> None:
    from typer.testing import CliRunner

    from risk.cli import app

    if through == "tomorrow":
        through = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    params = tmp_path / "params.yaml"
    shutil.copy(Path(__file__).resolve().parents[1] / "params.yaml", params)
    args = ["run", "--as-of", "2025-12-31", "--through", through, "--params", str(params)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert refusal in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]  # nothing loaded, nothing locked
