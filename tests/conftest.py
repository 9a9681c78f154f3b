"""Shared fixtures: a small simulated book and its features, built once per test session."""

from __future__ import annotations

import datetime as dt
import os

import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")

AS_OF = dt.date(2025, 12, 31)


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
