"""A model loaded from the MLflow registry by alias scores exactly like the one that was trained."""

from __future__ import annotations

import numpy as np
import pytest
from tests.conftest import AS_OF

from risk.config import LabelParams, ModelParams, TrainParams
from risk.models import tracking
from risk.models.model import LIGHTGBM, SCORECARD, to_model_frame
from risk.models.train import SPECS, fit_candidates, time_split, training_frame


@pytest.fixture(scope="module")
def registered(small_features, tmp_path_factory):
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    tracking.configure(uri)
    spec = SPECS["cure"]
    params = TrainParams(cure=ModelParams(n_estimators=60, embargo_days=30))
    frame = training_frame(small_features.loan_snapshots, spec, data_as_of=AS_OF, labels=LabelParams())
    split = time_split(frame, label=spec.label, windows=params.windows, embargo_days=30)
    models = fit_candidates(spec, split, params, seed=1)
    example = tracking.input_example(models[LIGHTGBM], to_model_frame(split.valid, spec.features))
    infos = {
        k: tracking.log_candidate(
            m, experiment="test-cure", registered_name="test-risk-cure", params={"k": k}, example=example
        )
        for k, m in models.items()
    }
    tracking.set_alias("test-risk-cure", "champion", infos[LIGHTGBM]["version"])
    tracking.set_alias("test-risk-cure", "challenger", infos[SCORECARD]["version"])
    return split, models


def test_loaded_by_alias_scores_like_the_trained_model(registered):
    split, models = registered
    for alias, kind in (("champion", LIGHTGBM), ("challenger", SCORECARD)):
        loaded = tracking.load_by_alias("test-risk-cure", alias)
        np.testing.assert_array_equal(loaded.predict_proba(split.test), models[kind].predict_proba(split.test))


def test_pyfunc_takes_plain_pandas_and_agrees(registered):
    import mlflow

    split, models = registered
    pyfunc = mlflow.pyfunc.load_model("models:/test-risk-cure@champion")
    frame = tracking.input_example(models[LIGHTGBM], to_model_frame(split.test, models[LIGHTGBM].features), rows=50)
    np.testing.assert_allclose(pyfunc.predict(frame), models[LIGHTGBM].predict_proba(split.test.head(50)))


def test_missing_alias_is_a_clear_error(registered):
    from risk.exceptions import ModelNotFound

    with pytest.raises(ModelNotFound, match="models:/test-risk-cure@nope"):
        tracking.load_by_alias("test-risk-cure", "nope")
