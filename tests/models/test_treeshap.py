"""TreeSHAP by split pattern gives LightGBM's own contributions: on numerical splits with and without missing
values, zero-as-missing splits, categorical splits, and on the values where a split could be read wrongly (NaN,
negative and fractional categories, unseen categories, values exactly at a threshold, tiny values around zero,
infinite values), with the splits read from the model's text."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from risk.models import treeshap


def _booster(*, zero_as_missing: bool, seed: int, leaves: int = 31) -> tuple[lgb.Booster, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = 4000
    income = np.where(rng.random(n) < 0.15, np.nan, rng.lognormal(8.5, 0.5, n))
    inquiries = rng.poisson(2, n).astype(float)  # many zeros: a Zero-missing split when zero_as_missing
    channel = rng.integers(0, 6, n).astype(float)
    channel[rng.random(n) < 0.05] = np.nan
    # zeros among negatives: a split at -kZeroThreshold, where LightGBM's reading of near-zero values decides
    signed = np.where(rng.random(n) < 0.3, 0.0, rng.normal(size=n))
    X = np.column_stack([income, inquiries, channel, signed])
    logit = -1 + 0.3 * signed + 0.4 * inquiries - 0.5 * np.log(np.nan_to_num(income, nan=3000) / 5000)
    logit += 0.6 * (channel % 3 == 1)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    params = {
        "objective": "binary",
        "num_leaves": leaves,
        "max_depth": 5 if leaves <= 32 else -1,
        "min_data_in_leaf": 20,
        "min_data_per_group": 20,
        "cat_smooth": 1,
        "zero_as_missing": zero_as_missing,
        "deterministic": True,
        "num_threads": 1,
        "seed": seed,
        "verbose": -1,
    }
    data = lgb.Dataset(X, y, categorical_feature=[2], params=params)
    return lgb.train(params, data, num_boost_round=60), X


def _awkward_rows(booster: lgb.Booster, X: np.ndarray) -> np.ndarray:
    """Rows whose values sit where a split is easiest to read wrongly."""
    splits = treeshap.splits_of(booster)
    rows = [X[:300].copy()]
    at_threshold = np.repeat(X[:1], len(splits.threshold), axis=0)
    numeric = ~np.isnan(splits.threshold)
    at_threshold[np.flatnonzero(numeric), splits.feature[numeric]] = splits.threshold[numeric]
    rows.append(at_threshold[numeric])
    rng = np.random.default_rng(0)
    odd = X[rng.integers(0, len(X), 400)].copy()
    column = rng.integers(0, X.shape[1], len(odd))
    zero = treeshap._ZERO_THRESHOLD  # LightGBM reads a value this close to 0 as 0
    awkward = [np.nan, 0.0, -0.0, 1e-36, -1e-36, zero, -zero, -0.5, -3.0, 2.7, 7.0, 99.0]  # 7, 99: never seen
    odd[np.arange(len(odd)), column] = rng.choice(awkward, len(odd))
    rows.append(odd)
    return np.vstack(rows)


@pytest.mark.parametrize("zero_as_missing", [False, True])
def test_contributions_by_split_pattern_equal_lightgbm_pred_contrib(zero_as_missing):
    booster, X = _booster(zero_as_missing=zero_as_missing, seed=7)
    splits = treeshap.splits_of(booster)
    assert splits.categories, "the model should split on the categorical column"
    kinds = set(splits.missing.tolist())
    assert (treeshap._ZERO in kinds) == zero_as_missing and (zero_as_missing or treeshap._NAN in kinds)
    rows = _awkward_rows(booster, X)
    expected = booster.predict(rows, pred_contrib=True)
    np.testing.assert_allclose(treeshap.contributions(booster, rows, splits), expected, rtol=0, atol=1e-12)


def test_rows_sharing_a_pattern_are_computed_once_yet_each_row_gets_its_own():
    booster, X = _booster(zero_as_missing=False, seed=11)
    rows = np.vstack([X[:50], X[:50], X[50:60]])  # the first 50 twice: the same patterns
    got = treeshap.contributions(booster, rows, treeshap.splits_of(booster))
    np.testing.assert_array_equal(got[:50], got[50:100])
    np.testing.assert_allclose(got, booster.predict(rows, pred_contrib=True), rtol=0, atol=1e-12)


def test_no_rows_and_a_booster_it_cannot_read():
    booster, X = _booster(zero_as_missing=False, seed=5)
    assert treeshap.contributions(booster, X[:0], treeshap.splits_of(booster)).shape == (0, X.shape[1] + 1)
    rng = np.random.default_rng(1)
    multi = lgb.train(
        {"objective": "multiclass", "num_class": 3, "verbose": -1, "num_threads": 1},
        lgb.Dataset(X, rng.integers(0, 3, len(X))),
        num_boost_round=3,
    )
    assert treeshap.splits_of(multi) is None  # three trees an iteration: left to LightGBM whole
    np.testing.assert_array_equal(treeshap.contributions(multi, X[:20], None), multi.predict(X[:20], pred_contrib=True))


def test_trees_of_more_splits_than_an_integer_holds():
    booster, X = _booster(zero_as_missing=False, seed=3, leaves=100)
    splits = treeshap.splits_of(booster)
    assert np.diff(splits.tree_start).max() >= 63  # the pattern as rows of booleans, not one integer
    rows = _awkward_rows(booster, X)
    np.testing.assert_allclose(
        treeshap.contributions(booster, rows, splits), booster.predict(rows, pred_contrib=True), rtol=0, atol=1e-12
    )


def test_an_integer_matrix_is_read_as_lightgbm_reads_it_as_float32():
    rng = np.random.default_rng(2)
    big = rng.integers(0, 2**30, 3000)  # above 2**24 float32 cannot hold every integer
    y = (rng.random(3000) < np.where(big > 2**29, 0.7, 0.2)).astype(int)
    params = {"objective": "binary", "num_leaves": 8, "verbose": -1, "num_threads": 1, "seed": 2}
    booster = lgb.train(params, lgb.Dataset(big[:, None].astype(float), y), num_boost_round=20)
    splits = treeshap.splits_of(booster)
    thresholds = splits.threshold
    near = (np.floor(thresholds)[:, None] + np.arange(-40, 41)).ravel().astype(np.int64)[:, None]
    np.testing.assert_allclose(
        treeshap.contributions(booster, near, splits), booster.predict(near, pred_contrib=True), rtol=0, atol=1e-12
    )


def test_a_split_of_missing_values_from_the_rest_sends_an_infinite_value_with_the_rest():
    """Where NaNs alone go one way, LightGBM splits at +inf: its JSON dump writes 1e300, which would send +inf with
    the NaNs; the model text holds inf, as LightGBM predicts."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=3000)
    x[rng.random(3000) < 0.3] = np.nan
    y = (rng.random(3000) < np.where(np.isnan(x), 0.7, 0.2)).astype(int)
    params = {"objective": "binary", "num_leaves": 4, "min_data_in_leaf": 50, "verbose": -1, "num_threads": 1}
    booster = lgb.train(params, lgb.Dataset(np.column_stack([x, rng.normal(size=3000)]), y), num_boost_round=5)
    splits = treeshap.splits_of(booster)
    assert np.isposinf(splits.threshold).any()
    rows = np.array([[np.inf, 0.0], [np.nan, 0.0], [-np.inf, 0.0], [1e301, 0.0], [0.5, 0.0]])
    np.testing.assert_allclose(
        treeshap.contributions(booster, rows, splits), booster.predict(rows, pred_contrib=True), rtol=0, atol=1e-12
    )


def test_a_tree_without_a_split_and_a_booster_of_linear_leaves():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(500, 2))
    y = (X[:, 0] + rng.normal(size=500) > 0).astype(int)
    params = {"objective": "binary", "num_leaves": 4, "min_data_in_leaf": 300, "verbose": -1, "num_threads": 1}
    stump = lgb.train(params, lgb.Dataset(X, y), num_boost_round=3)  # no leaf of 300 rows can be split: one leaf
    booster = lgb.train({**params, "min_data_in_leaf": 20}, lgb.Dataset(X, y), num_boost_round=10, init_model=stump)
    splits = treeshap.splits_of(booster)
    assert np.diff(splits.tree_start)[0] == 0 and np.diff(splits.tree_start)[1:].min() > 0
    np.testing.assert_allclose(
        treeshap.contributions(booster, X, splits), booster.predict(X, pred_contrib=True), rtol=0, atol=1e-12
    )
    linear = lgb.train({**params, "min_data_in_leaf": 20, "linear_tree": True}, lgb.Dataset(X, y), num_boost_round=3)
    assert treeshap.splits_of(linear) is None  # a linear leaf's value moves with the row


def test_a_categorical_split_over_more_categories_than_one_word_of_its_bitset_holds():
    """LightGBM holds a categorical split's categories as a bitset of 32-bit words: categories past 31 are in the
    later words."""
    rng = np.random.default_rng(9)
    n = 6000
    category = rng.integers(0, 90, n).astype(float)
    y = (rng.random(n) < np.where(np.isin(category, [3, 40, 41, 77, 88]), 0.8, 0.2)).astype(int)
    X = np.column_stack([category, rng.normal(size=n)])
    params = {
        "objective": "binary",
        "num_leaves": 8,
        "min_data_per_group": 5,
        "cat_smooth": 1,
        "max_cat_threshold": 64,
        "verbose": -1,
        "num_threads": 1,
        "seed": 9,
    }
    booster = lgb.train(params, lgb.Dataset(X, y, categorical_feature=[0], params=params), num_boost_round=20)
    splits = treeshap.splits_of(booster)
    assert max(c.max() for c in splits.categories.values()) >= 64  # beyond the first two words
    rows = np.column_stack([np.arange(-1.0, 95.0), np.zeros(96)])  # every category, an unseen one and -1
    np.testing.assert_allclose(
        treeshap.contributions(booster, rows, splits), booster.predict(rows, pred_contrib=True), rtol=0, atol=1e-12
    )
