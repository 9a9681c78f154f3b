"""Calibration by grade, Hosmer-Lemeshow and DeLong's AUC interval, as a model validator reports them."""

from __future__ import annotations

import json
import math

import numpy as np
import polars as pl
import pytest
from scipy import integrate, stats
from sklearn.metrics import roc_auc_score

from risk.models.validation import (
    auc_change,
    auc_with_ci,
    calibration_summary,
    grade_calibration,
    hosmer_lemeshow,
    worst_light,
)

ORDER = ["A", "B", "C", "D", "E"]
BANDS = {"A": (0.005, 0.03), "B": (0.03, 0.06), "C": (0.06, 0.12), "D": (0.12, 0.25), "E": (0.25, 0.45)}
LIGHTS = {"amber": 0.05, "red": 0.01}


def _book(*, per_grade: int = 4000, seed: int = 0, understate: dict[str, float] | None = None):
    """PDs spread uniformly over each grade's band and labels drawn from them.

    ``understate`` multiplies the true default rate of a grade (3.0: three times the PD), using the same
    uniform draws, so the other grades are identical to the calibrated book.
    """
    rng = np.random.default_rng(seed)
    grades = np.repeat(ORDER, per_grade)
    p = np.concatenate([rng.uniform(*BANDS[g], per_grade) for g in ORDER])
    truth = p * np.array([(understate or {}).get(g, 1.0) for g in grades])
    y = (rng.uniform(size=len(p)) < truth).astype(int)
    return y, p, grades


def _one_grade(n: int, defaults: int, pd: float) -> pl.DataFrame:
    y = np.r_[np.ones(defaults, int), np.zeros(n - defaults, int)]
    return grade_calibration(y, np.full(n, pd), ["A"] * n, order=["A"], **LIGHTS)


# --- the tests of one grade --------------------------------------------------------------------------
def test_binomial_p_is_the_chance_of_at_least_the_observed_defaults():
    """n=100, 10 defaults at PD 5%: P(X >= 10) for X ~ Binomial(100, 0.05), summed by hand."""
    row = _one_grade(100, 10, 0.05).row(0, named=True)
    by_hand = 1 - sum(math.comb(100, k) * 0.05**k * 0.95 ** (100 - k) for k in range(10))
    assert row["binomial_p"] == pytest.approx(by_hand, rel=1e-9)
    assert row["binomial_p"] == pytest.approx(0.0281883, abs=1e-7)
    assert (row["n"], row["defaults"]) == (100, 10)
    assert row["observed_rate"] == pytest.approx(0.10) and row["predicted_rate"] == pytest.approx(0.05)


def test_two_sided_binomial_p_sums_every_outcome_no_likelier_than_the_observed():
    pmf = [math.comb(100, k) * 0.05**k * 0.95 ** (100 - k) for k in range(101)]
    by_hand = sum(q for q in pmf if q <= pmf[10] * (1 + 1e-7))
    assert _one_grade(100, 10, 0.05)["two_sided_binomial_p"][0] == pytest.approx(by_hand, rel=1e-9)


def test_jeffreys_p_is_the_lower_tail_of_the_jeffreys_posterior_at_the_pd():
    """ECB: p = cdf of Beta(D + 1/2, N - D + 1/2) at the PD, here integrated from the density by hand."""
    a, b = 10 + 0.5, 100 - 10 + 0.5
    log_norm = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)

    def density(t: float) -> float:
        return math.exp(log_norm + (a - 1) * math.log(t) + (b - 1) * math.log1p(-t))

    by_hand, _ = integrate.quad(density, 0, 0.05)
    row = _one_grade(100, 10, 0.05).row(0, named=True)
    assert row["jeffreys_p"] == pytest.approx(by_hand, rel=1e-7)
    assert row["jeffreys_p"] == pytest.approx(0.0181882, abs=1e-7)
    assert row["traffic_light"] == "amber"  # 0.01 <= 0.018 < 0.05


@pytest.mark.parametrize(
    ("defaults", "light"),
    [(0, "green"), (5, "green"), (10, "amber"), (14, "red")],
)
def test_the_light_turns_only_when_defaults_exceed_the_pd(defaults, light):
    """One-sided: fewer defaults than the PD predicts is never a finding of under-estimation."""
    row = _one_grade(100, defaults, 0.05).row(0, named=True)
    assert row["traffic_light"] == light
    if defaults == 0:
        assert row["jeffreys_p"] > 0.99


def test_a_grade_with_no_rows_is_reported_with_zero_count_and_null_tests():
    table = grade_calibration([0, 1], [0.01, 0.2], ["A", "D"], order=ORDER, **LIGHTS)
    assert table["grade"].to_list() == ORDER
    empty = table.filter(pl.col("grade").is_in(["B", "C", "E"]))
    assert empty["n"].to_list() == [0, 0, 0] and empty["defaults"].to_list() == [0, 0, 0]
    for column in ("observed_rate", "predicted_rate", "binomial_p", "two_sided_binomial_p", "jeffreys_p"):
        assert empty[column].null_count() == 3, column
    assert empty["traffic_light"].null_count() == 3


# --- a whole book ------------------------------------------------------------------------------------
def test_a_book_drawn_from_its_pds_is_green_in_every_grade():
    y, p, grades = _book()
    table = grade_calibration(y, p, grades, order=ORDER, **LIGHTS)
    assert table["traffic_light"].to_list() == ["green"] * 5
    assert table["n"].to_list() == [4000] * 5


def test_a_grade_defaulting_at_three_times_its_pd_is_red_and_the_others_stay_green():
    y, p, grades = _book(understate={"C": 3.0})
    table = grade_calibration(y, p, grades, order=ORDER, **LIGHTS)
    assert table["traffic_light"].to_list() == ["green", "green", "red", "green", "green"]
    c = table.row(2, named=True)
    assert c["observed_rate"] == pytest.approx(3 * c["predicted_rate"], rel=0.1)
    assert c["binomial_p"] < 1e-10 and c["jeffreys_p"] < 1e-10


def test_hosmer_lemeshow_rejects_a_miscalibrated_book_and_accepts_a_calibrated_one():
    """The books are test samples (PDs not fitted on them), so chi-square has ``groups`` dof."""
    sound = hosmer_lemeshow(*_book()[:2], independent=True)
    broken = hosmer_lemeshow(*_book(understate={"C": 3.0})[:2], independent=True)
    assert sound["dof"] == 10 and sound["p_value"] > 0.05
    assert broken["p_value"] < 1e-6


def test_hosmer_lemeshow_on_independent_calibrated_samples_rejects_at_about_its_level():
    """Over 100 calibrated books a 5% test should reject at most 11 (99.5% quantile of Binomial(100, 0.05)).

    Here chi-square on ``groups`` rejects 7; on ``groups - 2`` the same statistics would reject 12.
    """
    books = (_book(per_grade=500, seed=seed) for seed in range(100))
    p_values = np.array([hosmer_lemeshow(y, p, independent=True)["p_value"] for y, p, _ in books])
    assert 1 <= (p_values < 0.05).sum() <= 11


def test_hosmer_lemeshow_has_groups_minus_two_dof_on_the_fitted_sample():
    y, p, _ = _book()
    fitted, independent = hosmer_lemeshow(y, p), hosmer_lemeshow(y, p, independent=True)
    assert (fitted["dof"], independent["dof"]) == (8, 10)
    assert fitted["statistic"] == independent["statistic"]
    assert fitted["p_value"] < independent["p_value"]


def test_hosmer_lemeshow_on_a_tiny_sample_matches_the_hand_computed_statistic():
    """Three groups of two: (O-E)^2 / (n pbar (1-pbar)) = 0.09/0.255 + 0.09/0.455 + 0.81/0.495."""
    result = hosmer_lemeshow([0, 0, 1, 0, 1, 1], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], groups=3)
    statistic = 0.09 / 0.255 + 0.09 / 0.455 + 0.81 / 0.495  # O = 0, 1, 2 against E = 0.3, 0.7, 1.1
    assert result["statistic"] == pytest.approx(statistic, rel=1e-12)
    assert result["dof"] == 1
    assert result["p_value"] == pytest.approx(stats.chi2.sf(statistic, 1), rel=1e-12)


def test_hosmer_lemeshow_groups_tied_pds_in_input_order():
    """With equal PDs the stable sort keeps input order, so the groups (and the statistic) are fixed."""
    p = [0.5] * 6
    assert hosmer_lemeshow([1, 1, 0, 0, 0, 0], p, groups=3)["statistic"] == pytest.approx(6.0)
    assert hosmer_lemeshow([1, 0, 1, 0, 1, 0], p, groups=3)["statistic"] == pytest.approx(0.0)


# --- DeLong's interval of the AUC --------------------------------------------------------------------
def _delong_by_pairs(y, p):
    """DeLong (1988) straight from the definition: every default against every non-default, O(n^2)."""
    y, p = np.asarray(y), np.asarray(p, float)
    pos, neg = p[y == 1], p[y == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    return psi.mean(), np.var(v10, ddof=1) / len(pos) + np.var(v01, ddof=1) / len(neg)


def test_delong_on_four_rows_matches_the_hand_computed_variance():
    """V10 = (1/2, 1), V01 = (1, 1/2): var = 1/8 / 2 + 1/8 / 2 = 1/8."""
    result = auc_with_ci([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    assert result["auc"] == pytest.approx(0.75)
    assert result["se"] == pytest.approx(math.sqrt(1 / 8))
    assert result["low"] == pytest.approx(0.75 - 1.959964 * math.sqrt(1 / 8), abs=1e-6)
    assert result["high"] == 1.0  # clipped


@pytest.mark.parametrize("seed", range(5))
def test_delong_matches_the_pairwise_reference_and_sklearn_with_ties(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 60)
    p = np.round(np.clip(0.3 + 0.2 * y + rng.normal(0, 0.2, 60), 0, 1), 1)  # rounding makes ties
    auc, var = _delong_by_pairs(y, p)
    result = auc_with_ci(y, p)
    assert result["auc"] == pytest.approx(roc_auc_score(y, p), rel=1e-12)
    assert result["auc"] == pytest.approx(auc, rel=1e-12)
    assert result["se"] == pytest.approx(math.sqrt(var), rel=1e-10)


def test_the_auc_interval_contains_the_auc_and_narrows_with_more_rows():
    small = auc_with_ci(*_book(per_grade=100)[:2])
    large = auc_with_ci(*_book(per_grade=4000)[:2])
    for result in (small, large):
        assert result["low"] < result["auc"] < result["high"]
    assert large["high"] - large["low"] < (small["high"] - small["low"]) / 4


def test_the_auc_interval_is_null_without_both_classes():
    no_default = auc_with_ci([0, 0, 0], [0.1, 0.2, 0.3])
    assert no_default == {"auc": None, "se": None, "low": None, "high": None, "level": 0.95}
    one_default = auc_with_ci([0, 0, 1], [0.1, 0.2, 0.3])
    assert one_default["auc"] == 1.0 and one_default["se"] is None


def test_auc_change_reports_the_fall_and_the_ecb_one_sided_test():
    change = auc_change(0.80, {"auc": 0.75, "se": 0.02, "low": 0.71, "high": 0.79})
    assert change["absolute_change"] == pytest.approx(-0.05)
    assert change["relative_change"] == pytest.approx(-0.0625)
    assert change["statistic"] == pytest.approx(2.5)
    assert change["p_value"] == pytest.approx(0.0062097, abs=1e-7)  # 1 - Phi(2.5)
    assert change["dev_inside_ci"] is False
    assert auc_change(0.77, {"auc": 0.75, "se": 0.02, "low": 0.71, "high": 0.79})["dev_inside_ci"] is True


# --- the summary -------------------------------------------------------------------------------------
def test_the_summary_is_json_ready_and_names_the_worst_light():
    y, p, grades = _book(per_grade=2000, understate={"C": 3.0})
    summary = calibration_summary(y, p, grades, order=ORDER, dev_auc=0.80, **LIGHTS)
    json.dumps(summary, allow_nan=False)
    assert summary["worst_light"] == "red" and summary["n_red"] == 1
    assert [row["grade"] for row in summary["grades"]] == ORDER
    assert set(summary) == {"grades", "hosmer_lemeshow", "auc", "auc_change", "worst_light", "n_red"}
    assert summary["auc_change"]["test_auc"] == summary["auc"]["auc"]
    assert "auc_change" not in calibration_summary(y, p, grades, order=ORDER, **LIGHTS)


@pytest.mark.parametrize(
    ("lights", "worst"),
    [(["green", None, "amber"], "amber"), (["amber", "red", "green"], "red"), (["green"], "green"), ([None], None)],
)
def test_worst_light_ranks_red_over_amber_over_green(lights, worst):
    assert worst_light(lights) == worst


# --- bad input ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call",
    [
        lambda: grade_calibration([0, 1], [0.1, 0.2, 0.3], ["A", "A", "A"], order=ORDER, **LIGHTS),
        lambda: grade_calibration([0, 1, 0], [0.1, 0.2, 0.3], ["A", "A"], order=ORDER, **LIGHTS),
        lambda: hosmer_lemeshow([0, 1] * 10, [0.5] * 21),
        lambda: auc_with_ci([0, 1, 1], [0.2, 0.8]),
        lambda: calibration_summary([0, 1], [0.2], ["A", "B"], order=ORDER, **LIGHTS),
    ],
)
def test_inputs_of_different_lengths_raise_and_name_the_lengths(call):
    with pytest.raises(ValueError, match="one length each, got {'y': "):
        call()


@pytest.mark.parametrize(
    ("y", "p", "grades", "kwargs", "match"),
    [
        ([0, 2], [0.1, 0.2], ["A", "A"], LIGHTS, r"y must hold only 0 and 1, got \[2\]"),
        ([0, 1], [0.1, float("nan")], ["A", "A"], LIGHTS, r"p must be probabilities in \[0, 1\], got \[nan\]"),
        ([0, 1], [0.1, 1.2], ["A", "A"], LIGHTS, r"p must be probabilities in \[0, 1\], got \[1.2\]"),
        ([0, 1], [0.1, 0.2], ["A", "F"], LIGHTS, r"grades \['F'\] are not in order"),
        ([0, 1], [0.1, 0.2], ["A", "B"], {"amber": 0.01, "red": 0.05}, "0 < red < amber < 1"),
    ],
)
def test_bad_values_raise_and_say_what_came(y, p, grades, kwargs, match):
    with pytest.raises(ValueError, match=match):
        grade_calibration(y, p, grades, order=ORDER, **kwargs)


def test_hosmer_lemeshow_needs_a_row_per_group():
    with pytest.raises(ValueError, match="got 10 groups, 5 rows"):
        hosmer_lemeshow([0, 1, 0, 1, 0], [0.1] * 5)
