"""The real pipeline, end to end: `dvc repro` on a small simulated book in a temporary copy."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "MLFLOW_DISABLE_TELEMETRY": "true", "GIT_PYTHON_REFRESH": "quiet"}
    env.pop("MLFLOW_TRACKING_URI", None)
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the project with a small book, after one `dvc repro`."""
    work = tmp_path_factory.mktemp("project")
    for name in ("dvc.yaml", "params.yaml", "pyproject.toml"):
        shutil.copy(ROOT / name, work / name)
    shutil.copytree(ROOT / "src", work / "src", ignore=shutil.ignore_patterns("__pycache__"))
    params = yaml.safe_load((work / "params.yaml").read_text())
    params["simulate"]["n_loans"] = 6000
    params["simulate"]["pending_applications"] = 150
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    _run(["git", "init", "-q"], work)
    _run(["dvc", "init", "-q"], work)
    _run(["dvc", "repro"], work)
    return work


def test_repro_writes_every_output(project: Path):
    for rel in ("data/raw/loans.parquet", "data/validated/repayments.parquet", "data/features/feature_dictionary.csv",
                "models/fitted/registry.json", "metrics/pd.json", "reports/validation.html",
                "reports/model_cards/early_warning.md", "data/scored/risk.duckdb"):
        assert (project / rel).exists(), rel


def test_each_model_is_judged_out_of_time_with_a_champion(project: Path):
    for name in ("pd", "early_warning", "cure"):
        m = json.loads((project / "metrics" / f"{name}.json").read_text())
        assert m["champion"] in ("lightgbm", "scorecard")
        assert 0.6 < m[m["champion"]]["auc"] <= 1.0
    assert "auc" in json.loads((project / "metrics" / "pd.json").read_text())["oracle"]


def test_scored_day_is_in_parquet_and_duckdb(project: Path):
    params = yaml.safe_load((project / "params.yaml").read_text())
    day = params["data"]["as_of"]
    folder = project / "data" / "scored" / f"as_of={day}"
    cq = pl.read_parquet(folder / "collections_queue.parquet")
    rq = pl.read_parquet(folder / "review_queue.parquet")
    assert cq.height > 0 and rq.height == 150
    con = duckdb.connect(str(project / "data" / "scored" / "risk.duckdb"), read_only=True)
    try:
        counts = con.execute("SELECT count(*) FROM collections_queue WHERE as_of = ?", [day]).fetchone()
    finally:
        con.close()
    assert counts[0] == cq.height


def test_second_repro_reruns_nothing(project: Path):
    out = _run(["dvc", "status"], project).stdout
    assert "changed" not in out, out
    repro = _run(["dvc", "repro"], project).stdout
    assert "Running stage" not in repro, repro
