"""The notebooks run top to bottom against a small book, so they never rot.

They are stored as jupytext ``py:percent`` text (no outputs); each test converts one to a notebook and runs it
in a fresh kernel with ``RISK_PROJECT`` pointing at a temporary copy of the project after ``dvc repro``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import jupytext
import nbclient
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
# figures each notebook must draw: a notebook that silently stops plotting fails here
MIN_FIGURES = {"01_portfolio_exploration": 7, "02_model_development": 4, "03_queue_analysis": 4}
NOTEBOOK_EXPERIMENT = "risk-early_warning-notebook"  # where 02 logs its variant

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def project(pipeline_project: Path) -> Path:
    """The session's small project after `dvc repro` (the notebooks only read it, and 02 adds one MLflow run)."""
    return pipeline_project


def _execute(notebook: Path, project: Path, cwd: Path, monkeypatch: pytest.MonkeyPatch):
    """Run the notebook in a fresh kernel started in ``cwd``; the kernel inherits RISK_PROJECT."""
    monkeypatch.setenv("RISK_PROJECT", str(project))
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    nb = jupytext.read(notebook)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return nb


def _figures(nb) -> int:
    return sum(
        "image/png" in out.get("data", {})
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )


def _notebook_runs(project: Path) -> tuple[str, int]:
    """Artifact location and number of runs of the notebook's MLflow experiment in the project's store."""
    con = sqlite3.connect(project / "mlflow.db")
    try:
        row = con.execute(
            "SELECT e.artifact_location, count(r.run_uuid) FROM experiments e JOIN runs r "
            "ON r.experiment_id = e.experiment_id WHERE e.name = ? GROUP BY 1",
            [NOTEBOOK_EXPERIMENT],
        ).fetchone()
    finally:
        con.close()
    return row or ("", 0)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom_on_a_small_book(
    notebook: Path, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Every cell runs without error (CellExecutionError otherwise) and the notebook draws its figures."""
    runs_before = _notebook_runs(project)[1]
    nb = _execute(notebook, project, tmp_path, monkeypatch)
    assert _figures(nb) >= MIN_FIGURES[notebook.stem], f"{notebook.name} drew only {_figures(nb)} figures"
    if notebook.stem == "02_model_development":
        # the variant is logged to the project's own store, with its artifacts inside the project
        location, runs = _notebook_runs(project)
        assert runs == runs_before + 1
        assert location.removeprefix("file://").startswith(str(project)), location


def test_notebooks_are_stored_as_percent_text_with_a_project_parameter():
    """Each notebook is py:percent text (it cannot hold outputs) with one parameters cell reading RISK_PROJECT."""
    assert {p.stem for p in NOTEBOOKS} == set(MIN_FIGURES)
    for path in NOTEBOOKS:
        nb = jupytext.read(path)
        assert nb.metadata["jupytext"]["text_representation"]["format_name"] == "percent", path.name
        params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(params) == 1 and "RISK_PROJECT" in params[0].source, path.name
