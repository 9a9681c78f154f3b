"""A LightGBM model reads a polars frame through one float matrix built in polars (``to_model_matrix``): the
same numbers LightGBM makes of the pandas model frame, so the same probabilities and contributions, compiled or
not; and when the booster was trained with other categories than this code knows, the pandas frame is used."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from risk.config import ModelParams
from risk.exceptions import RiskDataError
from risk.features.catalogue import CATEGORICAL
from risk.models import treeshap
from risk.models.calibration import Calibrator
from risk.models.compiled import CompiledBooster, as_matrix
from risk.models.model import LIGHTGBM, RiskModel, fit_lightgbm, to_model_frame, to_model_matrix

FEATURES = ["monthly_income", "credit_inquiries_6m", "channel", "product"]


def _book(n: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.lognormal(8.5, 0.5, n)
    return pl.DataFrame(
        {
            "monthly_income": np.where(rng.random(n) < 0.1, np.nan, income),
            "credit_inquiries_6m": rng.poisson(2, n),  # an integer column: cast to float
            "channel": rng.choice(list(CATEGORICAL["channel"]), n),
            "product": rng.choice(list(CATEGORICAL["product"]), n),
            "loan_id": [f"L{i}" for i in range(n)],  # not a feature: never read
        }
    )


@pytest.fixture(scope="module")
def model() -> RiskModel:
    book = _book(5000, 3)
    logit = (
        -2
        + 0.4 * book["credit_inquiries_6m"].to_numpy()
        - 0.5 * np.log(np.nan_to_num(book["monthly_income"].to_numpy(), nan=3000) / 5000)
        + np.where(book["channel"].to_numpy() == "partner_referral", 0.8, 0.0)
    )
    y = (np.random.default_rng(4).random(book.height) < 1 / (1 + np.exp(-logit))).astype(int)
    X = to_model_frame(book, FEATURES)
    params = ModelParams(num_leaves=15, max_depth=4, n_estimators=200, early_stopping_rounds=30)
    gbm = fit_lightgbm(X[:4000], y[:4000], X[4000:], y[4000:], monotone=[0, 1, 0, 0], params=params, seed=1)
    fitted = RiskModel(
        name="pd", kind=LIGHTGBM, label="default_12m", features=FEATURES, estimator=gbm, calibrator=Calibrator()
    )
    fitted.calibrator.fit(gbm.predict_proba(X[4000:])[:, 1], y[4000:])
    return fitted


def _odd(n: int = 300) -> pl.DataFrame:
    """Rows LightGBM must read as missing: an unknown category, a null category, NaN and null numbers."""
    book = _book(n, 9)
    return book.with_columns(
        channel=pl.when(pl.int_range(pl.len()) % 7 == 0)
        .then(pl.lit("kiosk"))
        .when(pl.int_range(pl.len()) % 7 == 1)
        .then(None)
        .otherwise(pl.col("channel")),
        credit_inquiries_6m=pl.when(pl.int_range(pl.len()) % 5 == 0)
        .then(None)
        .otherwise(pl.col("credit_inquiries_6m")),
    )


def test_the_matrix_holds_the_numbers_lightgbm_makes_of_the_pandas_frame():
    odd = _odd()
    codes = {c: {v: i for i, v in enumerate(CATEGORICAL[c])} for c in ("channel", "product")}
    matrix = to_model_matrix(odd, FEATURES, codes)
    # what LightGBM makes of the pandas frame, whose categories are the catalogue's: each category's code, -1 as NaN
    frame = to_model_frame(odd, FEATURES)
    expected = np.column_stack(
        [
            np.where(frame[c].cat.codes < 0, np.nan, frame[c].cat.codes) if c in codes else frame[c].to_numpy(float)
            for c in FEATURES
        ]
    )
    np.testing.assert_array_equal(as_matrix(frame, [CATEGORICAL[c] for c in ("channel", "product")]), expected)
    assert matrix.flags["C_CONTIGUOUS"] and matrix.dtype == np.float64
    np.testing.assert_array_equal(matrix, expected)  # NaN where NaN, equal elsewhere
    unread = odd.select(pl.col("channel").is_null() | (pl.col("channel") == "kiosk")).to_series().fill_null(True)
    assert unread.sum() > 0 and np.isnan(matrix[unread.to_numpy(), 2]).all()


def test_a_missing_feature_column_is_named():
    with pytest.raises(RiskDataError, match="channel"):
        to_model_matrix(_book(5, 1).drop("channel"), FEATURES, {})


@pytest.mark.parametrize("compiled", [False, True], ids=["lightgbm", "compiled"])
def test_probabilities_and_contributions_from_polars_equal_the_pandas_path(model, compiled, tmp_path, monkeypatch):
    monkeypatch.setenv("RISK_CACHE_DIR", str(tmp_path))
    odd = _odd()
    assert model._matrix(odd) is not None  # the polars frame takes the matrix path
    pandas_frame = odd.to_pandas()  # a pandas frame takes the pandas path
    expected_p = model.predict_proba(pandas_frame)
    expected_c = model.contributions(pandas_frame)
    if compiled:
        model = RiskModel(
            **{k: getattr(model, k) for k in ("name", "kind", "label", "features", "estimator")},
            calibrator=model.calibrator,
        ).compile()
        np.testing.assert_allclose(model.predict_proba(odd), expected_p, rtol=0, atol=1e-9)
    else:
        np.testing.assert_array_equal(model.predict_proba(odd), expected_p)
    # the polars path sums TreeSHAP tree by tree (risk.models.treeshap), pred_contrib into one running total
    np.testing.assert_allclose(model.contributions(odd), expected_c, rtol=0, atol=1e-12)


@pytest.mark.parametrize("compiled", [False, True], ids=["lightgbm", "compiled"])
def test_a_booster_trained_with_other_categories_reads_each_value_by_its_training_code(
    model, compiled, tmp_path, monkeypatch
):
    """As if the catalogue had changed since training: the channels reordered, one of today's unknown then and a
    value the catalogue no longer knows known then. LightGBM maps a pandas frame to its training categories
    itself; the matrix must do the same, compiled or not."""
    monkeypatch.setenv("RISK_CACHE_DIR", str(tmp_path))
    odd = _odd()
    booster = model.estimator.booster_
    trained = booster.pandas_categorical
    then = ["kiosk", *reversed(trained[0][1:])]  # 'kiosk' was a channel; trained[0][0] was not
    assert set(then) != set(trained[0]) and (odd["channel"] == "kiosk").any()
    booster.pandas_categorical = [then, trained[1]]
    try:
        expected = model.estimator.predict_proba(to_model_frame(odd.to_pandas(), FEATURES), num_threads=2)[:, 1]
        scoring = model
        if compiled:
            fields = ("name", "kind", "label", "features", "estimator", "calibrator")
            scoring = RiskModel(**{k: getattr(model, k) for k in fields}).compile()
        assert scoring._matrix(odd) is not None
        np.testing.assert_allclose(scoring.raw_proba(odd), expected, rtol=0, atol=1e-9 if compiled else 0)
        # a pandas frame too: LightGBM's own predict, or the compiled trees on the training codes
        np.testing.assert_allclose(scoring.raw_proba(odd.to_pandas()), expected, rtol=0, atol=1e-9 if compiled else 0)
        channel = scoring._matrix(odd)[:, FEATURES.index("channel")]
        assert np.isnan(channel[(odd["channel"] == trained[0][0]).fill_null(False).to_numpy()]).all()
    finally:
        booster.pandas_categorical = trained


def test_a_few_rows_take_lightgbms_own_contributions_and_more_go_by_split_pattern(model, monkeypatch):
    """Under two rows a tree, one pred_contrib call over every tree costs less than a call per tree."""
    booster = model.estimator.booster_
    few, more = _odd(2 * booster.num_trees() - 1), _odd(2 * booster.num_trees())
    by_pattern, calls = treeshap.contributions, []

    def counted(booster, X, splits, threads=2):
        calls.append(len(X))
        return by_pattern(booster, X, splits, threads)

    monkeypatch.setattr(treeshap, "contributions", counted)
    own = booster.predict(model._matrix(few), pred_contrib=True)[:, : len(FEATURES)]
    np.testing.assert_array_equal(model.contributions(few), own)
    assert calls == []
    np.testing.assert_allclose(
        model.contributions(more),
        booster.predict(model._matrix(more), pred_contrib=True)[:, : len(FEATURES)],
        atol=1e-12,
    )
    assert calls == [more.height]


def test_contributions_of_no_rows_are_an_empty_matrix(model):
    assert model.contributions(_odd().head(0)).shape == (0, len(FEATURES))


def test_a_pandas_frame_whose_categories_are_listed_in_another_order_scores_as_lightgbm_scores_it(
    model, tmp_path, monkeypatch
):
    """The compiled trees read a pandas frame's categories by their training position, as LightGBM does, not by
    the frame's own category order (here reversed, with one more category listed)."""
    monkeypatch.setenv("RISK_CACHE_DIR", str(tmp_path))
    X = model.frame(_odd())
    listed = X["channel"].cat.categories
    reordered = X.assign(channel=X["channel"].cat.set_categories(["kiosk", *reversed(listed)]))
    expected = model.estimator.predict_proba(X, num_threads=2)[:, 1]
    np.testing.assert_array_equal(model.estimator.predict_proba(reordered, num_threads=2)[:, 1], expected)
    compiled = CompiledBooster(model.estimator.booster_)
    np.testing.assert_allclose(compiled.predict(reordered), expected, rtol=0, atol=1e-9)
