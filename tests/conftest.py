"""Shared fixtures: a small simulated book and its features, built once per test session."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from hypothesis import HealthCheck, settings

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see risk.cli._quiet_tools: tests run LightGBM beside subprocesses

# No test asserts a time, and Hypothesis' default deadline (200 ms an example) is one: `make test` runs two workers
# on two cores, beside pipelines of their own, where an example's time says nothing about the code.
settings.register_profile("risk", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("risk")

AS_OF = dt.date(2025, 12, 31)
# The tests that read the session's pipeline project (one `dvc repro`, about a minute) run on one worker, so that it
# is built once; every other module runs whole on one worker, so that its module fixtures are built once.
PIPELINE_GROUP = "pipeline_project"


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (`make test` runs `--dist loadgroup`), group each test by what it shares: its module, or,
    for every module with a test that reads the session's pipeline project, that project."""

    def module(item) -> str:  # a test function's module, else (a doctest, a plugin's item) its file
        return item.module.__name__ if getattr(item, "module", None) is not None else str(item.path)

    shared = {module(item) for item in items if PIPELINE_GROUP in getattr(item, "fixturenames", ())}
    for item in items:
        item.add_marker(pytest.mark.xdist_group(PIPELINE_GROUP if module(item) in shared else module(item)))


@pytest.fixture(scope="session")
def small_book():
    """The five tables plus truth of a 5,000-loan simulated book (seed 7)."""
    from risk.config import SimulateParams
    from risk.simulate import simulate

    return simulate(SimulateParams(n_loans=5000, pending_applications=100), as_of=AS_OF, seed=7)


@pytest.fixture(scope="session")
def small_features(small_book):
    from risk.config import FeatureParams
    from risk.features import build_features

    return build_features(small_book, FeatureParams(), data_as_of=AS_OF)


ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def run_tool(args: list[str], cwd, *, check: bool = True, timeout: int = 1200):
    """Run a project tool (dvc, risk) in ``cwd`` with analytics off; fail with its output when it fails."""
    import subprocess

    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "MLFLOW_DISABLE_TELEMETRY": "true", "GIT_PYTHON_REFRESH": "quiet"}
    env.pop("MLFLOW_TRACKING_URI", None)
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check:
        assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def make_project(target, *, n_loans: int = 6000, pending: int = 150):
    """A copy of the project (code, dvc.yaml, params.yaml with a small book) ready for `dvc repro`."""
    import shutil

    import yaml

    for name in ("dvc.yaml", "params.yaml", "pyproject.toml"):
        shutil.copy(ROOT / name, target / name)
    shutil.copytree(ROOT / "src", target / "src", ignore=shutil.ignore_patterns("__pycache__"))
    params = yaml.safe_load((target / "params.yaml").read_text())
    params["simulate"]["n_loans"] = n_loans
    params["simulate"]["pending_applications"] = pending
    (target / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False, allow_unicode=True))
    run_tool(["git", "init", "-q"], target)
    run_tool(["dvc", "init", "-q"], target)
    return target


@pytest.fixture(scope="session")
def pipeline_project(tmp_path_factory):
    """A small project after one full `dvc repro`, shared by every test that reads pipeline outputs.

    Tests must not change it; a test that needs to break or rerun things copies it first.
    """
    project = make_project(tmp_path_factory.mktemp("pipeline"))
    run_tool(["dvc", "repro"], project)
    return project
