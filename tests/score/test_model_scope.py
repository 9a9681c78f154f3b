"""Each model scores only the loans of its scope (early warning below 30 days past due, cure from 1 to
cure_max_dpd), the scope its label is defined on: inside it the model's own probability, outside it and where
days past due is unknown null."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from tests.conftest import AS_OF

from risk.config import LabelParams, ModelParams
from risk.exceptions import RiskDataError
from risk.features.labels import cure_scope, early_warning_scope
from risk.models.calibration import Calibrator
from risk.models.model import LIGHTGBM, RiskModel, fit_lightgbm, to_model_frame
from risk.score.score import _proba_within

FEATURES = ["days_past_due", "arrears_amount"]


@pytest.fixture(scope="module")
def model() -> RiskModel:
    rng = np.random.default_rng(5)
    n = 3000
    book = pl.DataFrame({"days_past_due": rng.integers(0, 90, n), "arrears_amount": rng.gamma(2.0, 500.0, n)})
    y = (rng.random(n) < 1 / (1 + np.exp(2 - book["days_past_due"].to_numpy() / 20))).astype(int)
    X = to_model_frame(book, FEATURES)
    params = ModelParams(num_leaves=7, max_depth=3, n_estimators=50, early_stopping_rounds=10)
    gbm = fit_lightgbm(X[:2500], y[:2500], X[2500:], y[2500:], monotone=[0, 0], params=params, seed=1)
    fitted = RiskModel(
        name="cure", kind=LIGHTGBM, label="cured", features=FEATURES, estimator=gbm, calibrator=Calibrator()
    )
    fitted.calibrator.fit(gbm.predict_proba(X[2500:])[:, 1], y[2500:])
    return fitted


def test_in_scope_the_models_probability_elsewhere_null(model):
    snap = pl.DataFrame(
        {
            "loan_id": ["a", "b", "c", "d", "e", "f"],
            "days_past_due": [0, 1, 45, 89, None, 120],
            "arrears_amount": [0.0, 80.0, 900.0, 2500.0, 300.0, 4000.0],
        }
    )
    dpd = pl.col("days_past_due")
    got = _proba_within(model, snap, (dpd > 0) & (dpd <= 89))
    inside = snap.filter(pl.col("loan_id").is_in(["b", "c", "d"]))
    expected = model.predict_proba(inside)
    assert got.dtype == pl.Float64 and got.len() == snap.height
    assert got.is_null().to_list() == [True, False, False, False, True, True]
    np.testing.assert_array_equal(got.drop_nulls().to_numpy(), expected)


def test_no_loan_in_scope_gives_all_null_and_a_missing_feature_is_still_named(model):
    snap = pl.DataFrame({"days_past_due": [0, 0], "arrears_amount": [0.0, 0.0]})
    assert _proba_within(model, snap, pl.col("days_past_due") > 0).is_null().all()
    with pytest.raises(RiskDataError, match="arrears_amount"):
        _proba_within(model, snap.drop("arrears_amount"), pl.col("days_past_due") > 0)


def test_each_models_scope_is_where_its_label_is_defined(small_features):
    """Training and scoring read one scope per model: a snapshot whose horizon is observed has an early-warning
    label exactly inside early_warning_scope and a cure label exactly inside cure_scope."""
    snaps = small_features.loan_snapshots
    lp = LabelParams()
    dpd = pl.col("days_past_due")
    observed = snaps.filter(pl.col("as_of") <= pl.lit(AS_OF) - pl.duration(days=lp.early_warning_horizon_days))
    for label, scope in (("dpd30_next_90d", early_warning_scope), ("cure_30d", cure_scope)):
        mismatch = observed.filter(pl.col(label).is_not_null() != scope(dpd, lp))
        assert mismatch.height == 0, f"{label}: {mismatch.select('loan_id', 'as_of', 'days_past_due', label)}"
    assert observed.filter(cure_scope(dpd, lp)).height > 0  # the book has loans in collections to check


def test_the_scopes_follow_the_label_params():
    dpd = pl.Series("days_past_due", [None, 0, 1, 14, 15, 29, 30, 60, 61, 120])
    lp = LabelParams(early_warning_dpd=15, cure_max_dpd=60)
    frame = dpd.to_frame()
    ew = frame.select(early_warning_scope(pl.col("days_past_due"), lp)).to_series().to_list()
    cure = frame.select(cure_scope(pl.col("days_past_due"), lp)).to_series().to_list()
    assert ew == [None, True, True, True, False, False, False, False, False, False]
    assert cure == [None, False, True, True, True, True, True, True, False, False]
