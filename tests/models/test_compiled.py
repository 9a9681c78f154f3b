"""The compiled predictor (lleaves) scores exactly as LightGBM does, bit for bit: categorical features, missing values
and unknown categories included, multiclass too, and through RiskModel's own interface."""

from __future__ import annotations

import hashlib
import pickle

import numpy as np
import pandas as pd
import pytest

from risk.config import ModelParams, ScoreParams
from risk.exceptions import ConfigError, RiskDataError
from risk.features.catalogue import CATEGORICAL
from risk.models.calibration import Calibrator
from risk.models.compiled import CompiledBooster, as_matrix, cache_key
from risk.models.model import LIGHTGBM, RiskModel, fit_lightgbm, to_model_frame


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:  # compiled objects go to the test's own cache
        patch.setenv("RISK_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        yield _fitted()


def _fitted():
    rng = np.random.default_rng(3)
    n = 6000
    frame = pd.DataFrame(
        {
            "monthly_income": np.where(rng.random(n) < 0.1, np.nan, rng.lognormal(8.5, 0.5, n)),
            "credit_inquiries_6m": rng.poisson(2, n).astype(float),
            "channel": rng.choice(list(CATEGORICAL["channel"]), n),  # the catalogue's: the model learns from them
        }
    )
    logit = -2 + 0.4 * frame["credit_inquiries_6m"] - 0.5 * np.log(frame["monthly_income"].fillna(3000) / 5000)
    logit += np.where(frame["channel"] == "partner_referral", 0.8, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    features = ["monthly_income", "credit_inquiries_6m", "channel"]
    X = to_model_frame(frame, features)
    params = ModelParams(num_leaves=15, max_depth=4, n_estimators=300, early_stopping_rounds=30)
    gbm = fit_lightgbm(X[:4000], y[:4000], X[4000:5000], y[4000:5000], monotone=[0, 1, 0], params=params, seed=1)
    model = RiskModel(
        name="pd", kind=LIGHTGBM, label="default_12m", features=features, estimator=gbm, calibrator=Calibrator()
    )
    model.calibrator.fit(gbm.predict_proba(X[4000:5000])[:, 1], y[4000:5000])
    return model, frame.iloc[5000:].reset_index(drop=True)


@pytest.mark.parametrize("inline", [True, False])
def test_compiled_scores_equal_lightgbm_bit_for_bit_on_the_test_window(fitted, inline):
    model, test = fitted
    X = model.frame(test)
    expected = model.estimator.predict_proba(X)[:, 1]
    compiled = CompiledBooster(model.estimator.booster_, inline=inline)
    np.testing.assert_array_equal(compiled.predict(X), expected)


def test_an_unknown_category_and_missing_values_score_as_lightgbm_scores_them(fitted):
    model, test = fitted
    odd = test.head(50).assign(channel=["kiosk"] * 25 + [None] * 25, monthly_income=np.nan)
    X = model.frame(odd)
    assert np.isnan(as_matrix(X, model.estimator.booster_.pandas_categorical)[:, 2]).all()
    compiled = CompiledBooster(model.estimator.booster_)
    np.testing.assert_array_equal(compiled.predict(X), model.estimator.predict_proba(X)[:, 1])


def test_a_compiled_risk_model_predicts_the_same_and_pickles_without_machine_code(fitted):
    model, test = fitted
    before = model.predict_proba(test)
    model.compile()
    after = model.predict_proba(test)
    np.testing.assert_array_equal(after, before)
    restored = pickle.loads(pickle.dumps(model))
    assert getattr(restored, "_compiled", None) is None  # compiles again only when asked
    np.testing.assert_array_equal(restored.predict_proba(test), before)


def test_the_compiled_object_is_cached_by_the_model_and_the_way_it_was_compiled(fitted, tmp_path, monkeypatch):
    model, test = fitted
    monkeypatch.setenv("RISK_CACHE_DIR", str(tmp_path))
    first = CompiledBooster(model.estimator.booster_)
    object_file = tmp_path / "lleaves" / f"{first.key}.o"
    written = object_file.stat().st_mtime_ns
    again = CompiledBooster(model.estimator.booster_)  # loads the object file instead of compiling again
    assert not first.from_cache and again.from_cache
    assert first.key == again.key
    assert object_file.stat().st_mtime_ns == written and len(list(object_file.parent.glob("*.o"))) == 1
    np.testing.assert_array_equal(again.predict(model.frame(test)), first.predict(model.frame(test)))
    looped = CompiledBooster(model.estimator.booster_, inline=False)  # another way: another object
    assert looped.key != first.key and len(list(object_file.parent.glob("*.o"))) == 2


def test_an_object_made_another_way_never_has_the_name_looked_up(fitted, monkeypatch):
    """lleaves loads a cached object unchecked, so the name holds everything that made it: the options (one block
    or lleaves' blocks of 34 trees, inlined, raw scores), the compiler's versions and the processor."""
    import llvmlite.binding as llvm

    model, _ = fitted
    text = model.estimator.booster_.model_to_string()
    ours = {"raw_score": False, "fblocksize": 300, "finline": True}
    key = cache_key(text, ours)
    assert key == cache_key(text, dict(ours))
    assert key != hashlib.sha256(text.encode()).hexdigest()[:24]  # the name an older release gave blocks of 34
    for option, other in (("fblocksize", 34), ("finline", False), ("raw_score", True)):
        assert cache_key(text, {**ours, option: other}) != key, option
    assert cache_key(text + " ", ours) != key
    monkeypatch.setattr(llvm, "get_host_cpu_name", lambda: "another-cpu")
    assert cache_key(text, ours) != key


def test_no_rows_score_as_no_probabilities_binary_and_multiclass(fitted):
    """lleaves alone fails on an empty matrix (it cuts the rows into one batch per thread); a multiclass model's
    none keep their classes (LightGBM's own flattens them to (0,))."""
    import lightgbm as lgb

    model, test = fitted
    compiled = CompiledBooster(model.estimator.booster_, inline=False)
    assert compiled.predict(model.frame(test).iloc[:0]).shape == (0,)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    three = lgb.train({"objective": "multiclass", "num_class": 3, "verbose": -1}, lgb.Dataset(X, X[:, 0] > 0), 3)
    empty = CompiledBooster(three, inline=False).predict_matrix(np.empty((0, 3)), threads=2)
    assert empty.shape == (0, 3)


@pytest.mark.parametrize("objective", ["multiclassova", "cross_entropy_lambda", "custom"])
def test_a_model_lleaves_cannot_compile_exactly_is_refused_with_the_setting_to_change(objective):
    import lightgbm as lgb

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = (X[:, 0] > 0).astype(float)
    params = {"objective": objective, "verbose": -1}
    if objective == "multiclassova":
        params["num_class"] = 3
    elif objective == "custom":  # a callable: LightGBM writes no objective into the model text

        def squared(preds, data):
            return preds - data.get_label(), np.ones_like(preds)

        params["objective"] = squared
    booster = lgb.train(params, lgb.Dataset(X, y), 3)
    with pytest.raises(ConfigError, match=f"objective '{objective}.*compiled_predictor: never"):
        CompiledBooster(booster, inline=False)


def test_score_params_name_the_modes():
    with pytest.raises(ConfigError, match="compiled_predictor"):
        ScoreParams(compiled_predictor="sometimes")


def test_a_frame_with_other_categorical_columns_than_the_booster_is_refused(fitted):
    model, test = fitted
    X = model.frame(test).assign(channel=lambda f: f["channel"].astype(str))
    with pytest.raises(RiskDataError, match="categorical columns"):
        as_matrix(X, model.estimator.booster_.pandas_categorical)


def test_compiling_for_a_large_day_leaves_the_loaded_models_as_they_were(fitted):
    """A scorer that stays compiles copies: a smaller day after a large one scores through LightGBM's own predict,
    exactly as a process of its own would."""
    from risk.score.score import Models
    from risk.score.stage import compiled

    model, test = fitted
    loaded = pickle.loads(pickle.dumps(model))  # as loaded: no machine code
    models = Models(pd=loaded, early_warning=loaded, cure=loaded)
    large_day = compiled(models)
    assert all(getattr(m, "_compiled", None) is not None for m in (large_day.pd, large_day.early_warning))
    assert getattr(loaded, "_compiled", None) is None
    np.testing.assert_array_equal(models.pd.predict_proba(test), pickle.loads(pickle.dumps(model)).predict_proba(test))
    np.testing.assert_array_equal(large_day.pd.predict_proba(test), models.pd.predict_proba(test))


def test_a_compiled_policy_types_and_prices_as_lightgbm_does_and_leaves_the_loaded_one_as_it_was(tmp_path, monkeypatch):
    """A large day compiles the learned policy's boosters too: the type probabilities (a softmax over four classes)
    and each action's expected share equal LightGBM's bit for bit, and the policy as loaded keeps predicting through
    LightGBM."""
    import lightgbm as lgb
    import polars as pl

    from risk.policy.effects import ACTION_CODE, EFFECT_FEATURES, EffectModel
    from risk.policy.fit import PolicyModels
    from risk.policy.history import CONTROL
    from risk.policy.types import TYPE_FEATURES, TYPES, TypeModel

    monkeypatch.setenv("RISK_CACHE_DIR", str(tmp_path))
    rng = np.random.default_rng(5)
    n = 3000
    frame = pl.DataFrame({c: rng.normal(size=n) for c in EFFECT_FEATURES})
    quiet = {"verbose": -1, "num_threads": 2, "deterministic": True, "num_leaves": 7}
    x_types = frame.select(TYPE_FEATURES).to_numpy()
    kinds = (x_types[:, 0] > 0).astype(int) + 2 * (x_types[:, 1] > 0.5)
    types = lgb.train({**quiet, "objective": "multiclass", "num_class": len(TYPES)}, lgb.Dataset(x_types, kinds), 30)
    code = rng.integers(0, len(ACTION_CODE), n).astype(float)
    x_effects = np.column_stack([frame.to_numpy(), code])
    share = 1 / (1 + np.exp(-(x_effects[:, 0] + 0.3 * (code == 1))))
    data = lgb.Dataset(x_effects, share, categorical_feature=[x_effects.shape[1] - 1])
    effects = lgb.train({**quiet, "objective": "cross_entropy"}, data, 60)  # blocks of 34 trees would split it
    loaded = PolicyModels(TypeModel(types), EffectModel(effects, tuple(ACTION_CODE)))
    large_day = loaded.compiled()
    assert large_day.types.compiled is not None and large_day.effects.compiled is not None
    calls = []
    for model in (large_day.types, large_day.effects):  # the compiled copies must do the predicting: count their calls
        predict = model.compiled.predict_matrix
        counted = lambda X, _p=predict, **k: calls.append(len(X)) or _p(X, **k)  # noqa: E731
        monkeypatch.setattr(model.compiled, "predict_matrix", counted)
    assert loaded.types.compiled is None and loaded.effects.compiled is None
    rows = frame.head(500).with_columns(balance=pl.lit(1000.0), loan_id=pl.Series([f"L{i}" for i in range(500)]))
    np.testing.assert_array_equal(large_day.types.probabilities(rows), types.predict(x_types[:500]))
    by_lightgbm, by_compiled = loaded.effects.paid_share(rows), large_day.effects.paid_share(rows)
    assert set(by_compiled) == set(by_lightgbm) and CONTROL in by_compiled
    assert calls == [500, 500 * len(ACTION_CODE)]  # one call for the types, one for every action's rows
    for action, expected in by_lightgbm.items():
        np.testing.assert_array_equal(by_compiled[action], expected)
        x = np.column_stack([x_effects[:500, :-1], np.full(500, float(ACTION_CODE[action]))])
        np.testing.assert_array_equal(expected, np.clip(effects.predict(x), 0.0, 1.0))  # the loaded one: LightGBM's
