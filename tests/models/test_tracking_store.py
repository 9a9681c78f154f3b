"""Which MLflow store a project's run uses: its own, unless the user chose one."""

from __future__ import annotations

import os

import mlflow
import pytest

from risk.models import tracking

VARIABLES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


@pytest.fixture
def mlflow_left_as_it_was(monkeypatch):
    """No MLflow URI in the environment during the test; after it, MLflow's URIs and the environment as before
    (setting a URI writes the variable, which a later test would read as a user's choice)."""
    environment = {name: os.environ.get(name) for name in VARIABLES}
    before = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(tracking, "_DEFAULTED", None)
    yield
    mlflow.set_tracking_uri(before[0])
    mlflow.set_registry_uri(before[1])
    for name, value in environment.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def test_a_second_project_in_one_process_uses_its_own_store(tmp_path, mlflow_left_as_it_was):
    """MLflow puts the URI it is given in MLFLOW_TRACKING_URI; the next project's store must still be its own (a
    notebook that scores two projects, or a test after another, loaded the first one's models)."""
    first, second = (f"sqlite:///{tmp_path / name}.db" for name in ("first", "second"))
    assert tracking.configure(first) == first
    assert tracking.configure(second) == second
    assert (mlflow.get_tracking_uri(), mlflow.get_registry_uri()) == (second, second)


def test_a_store_the_user_chose_is_kept_for_every_project(tmp_path, monkeypatch, mlflow_left_as_it_was):
    chosen = f"sqlite:///{tmp_path / 'chosen'}.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", chosen)
    for project in ("first", "second"):
        assert tracking.configure(f"sqlite:///{tmp_path / project}.db") == chosen
    assert mlflow.get_registry_uri() == chosen
