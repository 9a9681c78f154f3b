"""Monitoring a scoring run: today's population against the training window, one row per measure, each with a
status; a sound day is all ok, a drifted one names what moved."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from risk.config import MonitoringParams
from risk.score.monitoring import matured_cohorts, measure, psi, realised_vs_predicted, reference_profile, summary

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


def test_an_enum_is_measured_as_its_values_as_text() -> None:
    """The scored frame holds categories as enums, counted by their codes: every row equals the text's, an unseen
    value and nulls included."""
    frame = population(5_000, 3).with_columns(
        product=pl.when(pl.int_range(pl.len()) < 300)
        .then(pl.lit("payday_loan"))
        .when(pl.int_range(pl.len()) < 400)
        .then(None)
        .otherwise(pl.col("product"))
    )
    names = ["cash_loan", "consumer_instalment", "micro_business", "payday_loan"]
    as_enum = frame.with_columns(pl.col("product").cast(pl.Enum(names)))
    p = scores(5_000, 3)
    assert rows(as_enum, p).equals(rows(frame, p))
    unseen = rows(as_enum, p).filter(pl.col("measure") == "unseen_category_share")["value"][0]
    assert unseen == 300 / 4_900


def test_an_empty_population_has_no_rows() -> None:
    assert rows(population(0, 2), np.array([])).is_empty()


def test_a_cohort_is_reported_once_by_the_first_run_that_sees_its_outcome_matured():
    days = [DAY - dt.timedelta(days=n) for n in (40, 31, 30, 29, 1)]
    # the previous run was yesterday: only the cohort whose 30-day horizon ends today is new
    assert matured_cohorts(days, horizon=30, as_of=DAY) == [DAY - dt.timedelta(days=30)]
    # after a gap of a week every cohort maturing in the gap is reported, the latest run's own not yet
    weekly = [DAY - dt.timedelta(days=n) for n in (45, 40, 36, 7)]
    assert matured_cohorts(weekly, horizon=30, as_of=DAY) == [DAY - dt.timedelta(days=n) for n in (36,)]
    assert matured_cohorts([], horizon=30, as_of=DAY) == []
    assert matured_cohorts([DAY], horizon=0, as_of=DAY) == []  # today's own run is not history


def cohort(n: int, predicted: float, realised: float, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    events = np.zeros(n, dtype=np.int8)
    events[: int(round(realised * n))] = 1
    rng.shuffle(events)
    p = np.clip(rng.normal(predicted, 0.01, n), 0.001, 0.999)
    day = DAY - dt.timedelta(days=30)
    return pl.DataFrame({"as_of": [day] * n, "p": p, "label": events}).with_columns(
        pl.when(pl.int_range(pl.len()) < 20).then(None).otherwise(pl.col("label")).alias("label")  # no label
    )


def test_realised_against_predicted_accepts_a_calibrated_cohort_and_flags_a_miscalibrated_one():
    sound = realised_vs_predicted("cure", cohort(2000, 0.30, 0.30), PARAMS, as_of=DAY)
    assert sound.height == 1 and sound["status"][0] == "ok" and sound["measure"][0] == "realised_rate"
    assert sound["reference"][0] == pytest.approx(0.30, abs=0.005)
    assert sound["feature"][0].startswith(f"scored {DAY - dt.timedelta(days=30)} (n=1980")  # unlabelled left out
    optimistic = realised_vs_predicted("cure", cohort(2000, 0.30, 0.22), PARAMS, as_of=DAY)
    assert optimistic["status"][0] == "error" and optimistic["value"][0] < optimistic["reference"][0]
    slight = realised_vs_predicted("cure", cohort(400, 0.30, 0.35), PARAMS, as_of=DAY)
    assert slight["status"][0] == "warning"  # two-sided p between 0.01 and 0.05


def test_a_days_monitoring_measures_each_model_on_the_loans_it_scored_whatever_else_they_carry(tmp_path) -> None:
    """``monitor_day`` reads a model's features and score from the day's scored loans (a hundred columns each) and
    measures only the loans the model scored; a model without a reference is skipped."""
    import json

    from risk.config import Params
    from risk.paths import Paths
    from risk.score.stage import monitor_day

    paths = Paths(tmp_path)
    paths.monitoring_reference("early_warning").parent.mkdir(parents=True)
    paths.monitoring_reference("early_warning").write_text(json.dumps(REFERENCE))
    loans = population(4_000, 2)
    p = scores(4_000, 2)
    scored_here = np.random.default_rng(3).random(4_000) < 0.7  # the rest are beyond the model's scope
    scored = loans.with_columns(
        ew_probability=pl.Series(np.where(scored_here, p, np.nan)).fill_nan(None),
        cure_probability=pl.lit(None, dtype=pl.Float64),
        days_past_due=pl.lit(0),  # a column no model's reference measures
    )
    pending = pl.DataFrame({"application_id": ["A1"]})
    reviewed = pl.DataFrame({"application_id": ["A1"], "pd": [0.02]})
    day = monitor_day(paths, Params(), scored=scored, pending=pending, reviewed=reviewed, as_of=DAY)
    expected = measure("early_warning", REFERENCE, loans.filter(scored_here), p[scored_here], PARAMS, as_of=DAY)
    assert day.equals(expected)
