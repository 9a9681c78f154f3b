"""Monitoring a scoring run: today's population against the training window, one row per measure, each with a
status; a sound day is all ok, a drifted one names what moved."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from risk.config import MonitoringParams
from risk.score.monitoring import measure, psi, reference_profile, summary

DAY = dt.date(2025, 12, 31)
PARAMS = MonitoringParams()
FEATURES = ("monthly_income", "product")


def population(n: int, seed: int, *, income_shift: float = 0.0, missing: float = 0.0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.lognormal(9 + income_shift, 0.4, n)
    income[rng.random(n) < missing] = np.nan
    product = rng.choice(["cash_loan", "consumer_instalment", "micro_business"], n, p=[0.6, 0.3, 0.1])
    return pl.DataFrame({"monthly_income": income, "product": product}).with_columns(
        pl.col("monthly_income").fill_nan(None)
    )


def scores(n: int, seed: int, shift: float = 0.0) -> np.ndarray:
    return 1 / (1 + np.exp(-(np.random.default_rng(seed).normal(-3 + shift, 1, n))))


REFERENCE = reference_profile(population(20_000, 1), scores(20_000, 1), FEATURES, approve_below=0.06)


def rows(frame: pl.DataFrame, p: np.ndarray) -> pl.DataFrame:
    return measure("pd", REFERENCE, frame, p, PARAMS, as_of=DAY, approve_below=0.06)


def test_psi_has_its_known_value() -> None:
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0.0
    assert psi([0.5, 0.5], [0.25, 0.75]) == pytest.approx(0.25 * np.log(2) + 0.25 * np.log(1.5))


def test_a_day_like_training_is_ok_on_every_measure() -> None:
    today = rows(population(5_000, 2), scores(5_000, 2))
    assert set(today["status"]) == {"ok"} and summary(today) == ""
    assert {"score_psi", "approval_rate_change", "feature_csi", "missing_rate_change", "unseen_category_share"} == set(
        today["measure"]
    )


def test_a_drifted_income_and_score_are_named() -> None:
    today = rows(population(5_000, 2, income_shift=0.8), scores(5_000, 2, shift=1.5))
    bad = today.filter(pl.col("status") == "error")
    assert {("score_psi", None), ("feature_csi", "monthly_income")} <= set(bad.select("measure", "feature").iter_rows())
    assert today.filter(pl.col("measure") == "approval_rate_change")["value"][0] < -0.1
    assert "monthly_income" in summary(today) and "score_psi" in summary(today)


def test_a_feature_gone_missing_and_an_unseen_category_are_named() -> None:
    frame = population(5_000, 2, missing=0.3).with_columns(
        product=pl.when(pl.int_range(pl.len()) < 500).then(pl.lit("payday_loan")).otherwise(pl.col("product"))
    )
    today = rows(frame, scores(5_000, 2))
    status = {(m, f): s for m, f, s in today.select("measure", "feature", "status").iter_rows()}
    assert status[("missing_rate_change", "monthly_income")] == "error"
    assert status[("unseen_category_share", "product")] == "error"


def test_an_empty_population_has_no_rows() -> None:
    assert rows(population(0, 2), np.array([])).is_empty()
