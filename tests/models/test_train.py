"""Out-of-time training: disjoint ordered windows, calibrated probabilities, reproducible fits."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from tests.conftest import AS_OF

from risk.config import ChampionRule, LabelParams, TrainParams, WindowParams
from risk.exceptions import RiskDataError
from risk.models.calibration import Calibrator
from risk.models.metrics import expected_calibration_error
from risk.models.model import LIGHTGBM, SCORECARD
from risk.models.train import SPECS, evaluate_candidates, fit_candidates, time_split, training_frame

PARAMS = TrainParams()


def _frame(features, name):
    spec = SPECS[name]
    snaps = features.application_snapshots if spec.dataset == "application" else features.loan_snapshots
    return training_frame(snaps, spec, data_as_of=AS_OF, labels=LabelParams())


@pytest.fixture(scope="module")
def ew(small_features):
    spec = SPECS["early_warning"]
    split = time_split(
        _frame(small_features, "early_warning"),
        label=spec.label,
        windows=PARAMS.windows,
        embargo_days=PARAMS.early_warning.embargo_days,
    )
    return spec, split, fit_candidates(spec, split, PARAMS, seed=42)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_windows_are_disjoint_ordered_and_embargoed(small_features, name):
    spec = SPECS[name]
    embargo = getattr(PARAMS, name).embargo_days
    split = time_split(_frame(small_features, name), label=spec.label, windows=PARAMS.windows, embargo_days=embargo)
    assert split.train["as_of"].max() < split.valid["as_of"].min()
    assert split.valid["as_of"].max() < split.test["as_of"].min()
    gap = dt.timedelta(days=embargo)
    assert split.train["as_of"].max() + gap <= split.valid["as_of"].min()
    assert split.valid["as_of"].max() + gap <= split.test["as_of"].min()
    keys = ["application_id"] if spec.dataset == "application" else ["loan_id", "as_of"]
    train, test = (s.select(keys) for s in (split.train, split.test))
    assert train.join(test, on=keys).is_empty()


def test_pd_keeps_only_cohorts_labelled_for_every_term(small_features):
    frame = _frame(small_features, "pd")
    assert frame["originated_on"].max() <= dt.date(2024, 12, 31)
    assert frame["default_12m"].null_count() == 0


def test_too_short_history_is_a_clear_error(small_features):
    frame = _frame(small_features, "early_warning").filter(pl.col("as_of") > dt.date(2025, 6, 1))
    with pytest.raises(RiskDataError, match="window"):
        time_split(frame, label="dpd30_next_90d", windows=WindowParams(valid_months=6, test_months=6), embargo_days=90)


def test_calibrated_probabilities_match_observed_rates(ew):
    spec, split, models = ew
    y = split.test[spec.label].to_numpy()
    for model in models.values():
        p = model.predict_proba(split.test)
        assert abs(p.mean() - y.mean()) < 0.02
        assert expected_calibration_error(y, p) < 0.03


def test_calibrator_fixes_a_miscalibrated_score():
    rng = np.random.default_rng(0)
    true_p = rng.uniform(0, 0.3, 20_000)
    y = rng.uniform(size=true_p.size) < true_p
    skewed = np.sqrt(true_p)  # ranks right, levels wrong
    for method in ("isotonic", "platt"):
        cal = Calibrator(method=method).fit(skewed[:10_000], y[:10_000])
        fixed = cal.transform(skewed[10_000:])
        assert expected_calibration_error(y[10_000:], fixed) < expected_calibration_error(y[10_000:], skewed[10_000:])
        assert expected_calibration_error(y[10_000:], fixed) < 0.02


def test_lightgbm_respects_monotone_risk_directions(ew):
    """More days past due can never lower the early-warning risk."""
    spec, split, models = ew
    rows = split.test.head(200)
    base = models[LIGHTGBM].raw_proba(rows)
    worse = models[LIGHTGBM].raw_proba(rows.with_columns(pl.col("days_past_due") + 10, pl.col("max_dpd_3m") + 10))
    assert np.all(worse >= base - 1e-12)


def test_same_seed_same_model(ew, small_features):
    spec, split, models = ew
    again = fit_candidates(spec, split, PARAMS, seed=42)
    for kind in (LIGHTGBM, SCORECARD):
        np.testing.assert_array_equal(models[kind].predict_proba(split.test), again[kind].predict_proba(split.test))


def test_champion_follows_the_rule_in_params(ew):
    spec, split, models = ew
    ev = evaluate_candidates(spec, models, split, PARAMS)
    auc = {k: v["auc"] for k, v in ev.summary.items()}
    assert ev.champion == max(auc, key=auc.get)
    strict = TrainParams(champion_rule=ChampionRule(metric="auc", min_gain=1.0))
    assert evaluate_candidates(spec, models, split, strict).champion == LIGHTGBM
    for key in ("auc", "gini", "ks", "brier", "log_loss", "ece", "capture_top10", "capture_top20", "psi"):
        assert key in ev.summary[ev.champion]
