"""Reject inference: declined applicants get inferred outcomes by parcelling or fuzzy augmentation, and the
through-the-door measures say how close a PD comes to the truth (known answers on tiny inputs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from risk.config import RejectInferenceParams
from risk.exceptions import ConfigError
from risk.models.reject import (
    FUZZY,
    NONE,
    PARCELLING,
    augment,
    band_bad_rates,
    expected_auc,
    through_the_door,
)


def _frames(n_acc: int = 4000, n_rej: int = 2000, seed: int = 1):
    rng = np.random.default_rng(seed)
    X_acc = pd.DataFrame({"x": rng.normal(size=n_acc)})
    X_rej = pd.DataFrame({"x": rng.normal(1.0, 1.0, size=n_rej)})
    p_acc = 1 / (1 + np.exp(-(X_acc["x"].to_numpy() - 2)))
    p_rej = 1 / (1 + np.exp(-(X_rej["x"].to_numpy() - 2)))
    y_acc = (rng.random(n_acc) < p_acc).astype(int)
    return X_acc, y_acc, X_rej, p_acc, p_rej


def test_band_rates_are_the_accepts_observed_rate_in_each_score_band():
    p_acc = np.array([0.1, 0.1, 0.2, 0.2, 0.8, 0.8, 0.9, 0.9])
    y_acc = np.array([0, 0, 0, 1, 1, 0, 1, 1])
    p_rej = np.array([0.15, 0.85, 0.99])
    # two bands split at the median of all scores (0.8): below it 1 bad in 4, from it 3 in 4
    np.testing.assert_allclose(band_bad_rates(p_acc, y_acc, p_rej, bands=2), [0.25, 0.75, 0.75])


def test_a_band_without_accepts_takes_the_nearest_band_rate():
    p_acc, y_acc = np.array([0.1, 0.2, 0.3, 0.4]), np.array([0, 0, 1, 1])
    rates = band_bad_rates(p_acc, y_acc, np.array([0.95, 0.96, 0.97, 0.98, 0.99, 0.995]), bands=4)
    assert np.all(rates == rates[-1]) and rates[-1] == 1.0


def test_parcelling_draws_rejects_bad_at_the_band_rate_times_the_factor():
    X_acc, y_acc, X_rej, p_acc, p_rej = _frames(n_rej=20_000)
    rate = band_bad_rates(p_acc, y_acc, p_rej, bands=10)
    for factor in (1.0, 1.5):
        aug = augment(PARCELLING, X_acc, y_acc, X_rej, p_accepts=p_acc, p_rejects=p_rej, bad_rate_factor=factor)
        inferred = aug.y[len(y_acc) :]
        assert aug.n_rejects == len(X_rej) and np.all(aug.weight == 1.0)
        assert inferred.mean() == pytest.approx(np.clip(rate * factor, 0, 1).mean(), abs=0.01)
    np.testing.assert_array_equal(aug.y[: len(y_acc)], y_acc)  # accepts keep their own outcomes


def test_fuzzy_augmentation_splits_each_reject_into_a_weighted_bad_and_good():
    X_acc, y_acc, X_rej, p_acc, p_rej = _frames(n_rej=50)
    aug = augment(FUZZY, X_acc, y_acc, X_rej, p_accepts=p_acc, p_rejects=p_rej, bad_rate_factor=1.5)
    rejects = aug.weight[len(y_acc) :]
    bad_weight = rejects[aug.y[len(y_acc) :] == 1]
    np.testing.assert_allclose(bad_weight, np.clip(p_rej * 1.5, 0, 1)[np.clip(p_rej * 1.5, 0, 1) > 0])
    assert rejects.sum() == pytest.approx(len(X_rej))  # each reject weighs one applicant in all


def test_without_a_method_the_training_rows_are_the_accepts():
    X_acc, y_acc, X_rej, p_acc, p_rej = _frames()
    aug = augment(NONE, X_acc, y_acc, X_rej, p_accepts=p_acc, p_rejects=p_rej)
    assert len(aug.X) == len(X_acc) and aug.n_rejects == 0
    with pytest.raises(ValueError, match="parcelling, fuzzy"):
        augment("extrapolation", X_acc, y_acc, X_rej, p_accepts=p_acc, p_rejects=p_rej)
    with pytest.raises(ConfigError, match="bad_rate_factors"):
        RejectInferenceParams(bad_rate_factors=[0.0])
    with pytest.raises(ConfigError, match="reject_inference.methods"):
        RejectInferenceParams(methods=["augmentation"])


def test_expected_auc_is_the_plain_auc_when_outcomes_are_certain_and_a_half_for_a_constant():
    score = np.array([0.1, 0.4, 0.35, 0.8])
    assert expected_auc(score, np.array([0, 0, 1, 1])) == pytest.approx(0.75)
    assert expected_auc(np.full(4, 0.3), np.array([0.1, 0.2, 0.3, 0.9])) == pytest.approx(0.5)
    # a score ranking exactly like the true PD beats one ranking against it
    true_pd = np.linspace(0.01, 0.6, 50)
    assert expected_auc(true_pd, true_pd) > 0.5 > expected_auc(-true_pd, true_pd)


def test_through_the_door_measures_level_and_error_overall_and_for_the_declined():
    true_pd = np.array([0.05, 0.10, 0.30, 0.40])
    declined = np.array([False, False, True, True])
    exact = through_the_door(true_pd, true_pd, declined)
    assert exact["rmse"] == 0.0 and exact["declined_rmse"] == 0.0
    low = through_the_door(true_pd / 2, true_pd, declined)
    assert low["declined_mean_predicted"] == pytest.approx(0.175) and low["declined_mean_true"] == pytest.approx(0.35)
    assert low["rmse"] == pytest.approx(np.sqrt(np.mean((true_pd / 2) ** 2)))
    assert low["n"] == 4 and low["n_declined"] == 2
