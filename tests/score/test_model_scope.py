"""Each model scores only the loans of its scope (early warning below 30 days past due, cure from 1 to
cure_max_dpd): inside it the model's own probability, outside it and where days past due is unknown null."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from risk.config import ModelParams
from risk.exceptions import RiskDataError
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
