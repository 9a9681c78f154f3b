"""Small data: honest figures and a sound fit when a source has a few thousand labelled rows and no dates.

One random test split of a few hundred rows says little (its AUC moves by a few points with the seed), early
stopping on a validation set of that size stops after a dozen trees, and isotonic calibration fitted on it
leaves a handful of distinct scores. So, below ``train.small_data.max_rows`` labelled rows of a source with no
dates:

- the number of trees is chosen by stratified cross-validation on the training rows (the mean log loss across
  folds, as ``lightgbm.cv`` computes it), and the model is refitted on all of them with that many trees;
- the calibration is Platt scaling of the out-of-fold scores, which keeps every score distinct;
- the reported figures are the mean and spread over ``repeats`` stratified splits (``test_share`` held out,
  seeds ``seed``, ``seed + 1``...), for both candidates and for peers fitted on the same splits and columns:
  a one-hot logistic regression and LightGBM with its default settings. These figures are computed for every
  source with no dates, whatever its size: one random test split is one draw.

Pure: frames in, fitted estimators and figures out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import polars as pl
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, StratifiedShuffleSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from risk.config import TrainParams
from risk.models import metrics
from risk.models.model import fit_lightgbm, lightgbm_classifier, to_model_frame

if TYPE_CHECKING:
    from risk.models.train import ModelSpec, Split

PEERS = ("logistic_regression", "lightgbm_default")


@dataclass(frozen=True)
class CrossFitted:
    """A LightGBM refitted on all rows with the trees cross-validation chose, and its out-of-fold raw scores."""

    estimator: lgb.LGBMClassifier
    oof: np.ndarray
    rounds: int


def native_params(params: Any, *, monotone: Sequence[int], seed: int) -> dict[str, Any]:
    """The LightGBM settings of :func:`risk.models.model.fit_lightgbm`, in LightGBM's own names."""
    return {
        "objective": "binary",
        "metric": "binary_logloss",
        "learning_rate": params.learning_rate,
        "num_leaves": params.num_leaves,
        "max_depth": params.max_depth,
        "min_data_in_leaf": params.min_child_samples,
        "bagging_fraction": params.subsample,
        "bagging_freq": 1,
        "feature_fraction": params.colsample_bytree,
        "lambda_l2": params.reg_lambda,
        "monotone_constraints": list(monotone),
        "monotone_constraints_method": "intermediate",
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": 2,
        "verbose": -1,
    }


def cross_fit(
    X: pd.DataFrame, y: np.ndarray, *, params: Any, monotone: Sequence[int], seed: int, folds: int
) -> CrossFitted:
    """Choose the number of trees by stratified ``folds``-fold cross-validation, refit on all rows with it."""
    y = np.asarray(y, dtype=int)
    native = native_params(params, monotone=monotone, seed=seed)
    splits = list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(X, y))
    result = lgb.cv(
        native,
        lgb.Dataset(X, label=y, free_raw_data=False),
        num_boost_round=params.n_estimators,
        folds=splits,
        callbacks=[lgb.early_stopping(params.early_stopping_rounds, verbose=False)],
        return_cvbooster=True,
    )
    rounds = len(result["valid binary_logloss-mean"])
    oof = np.empty(len(y))
    for booster, (_, held) in zip(result["cvbooster"].boosters, splits, strict=True):
        oof[held] = booster.predict(X.iloc[held], num_iteration=rounds)
    estimator = lightgbm_classifier(params, monotone=monotone, seed=seed, n_estimators=rounds).fit(X, y)
    return CrossFitted(estimator, oof, rounds)


def out_of_fold(make: Any, X: pd.DataFrame, y: np.ndarray, *, seed: int, folds: int) -> np.ndarray:
    """Each row's raw score from a model (``make()``, unfitted) fitted on the other folds."""
    y = np.asarray(y, dtype=int)
    oof = np.empty(len(y))
    for fit_rows, held in StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(X, y):
        oof[held] = make().fit(X.iloc[fit_rows], y[fit_rows]).predict_proba(X.iloc[held])[:, 1]
    return oof


def one_hot_logistic(categorical: Sequence[str], numeric: Sequence[str]):
    """The peer every application-only export is measured against: one-hot categories (missing its own
    level), standardised numbers with the median for missing, an L2 logistic regression."""
    encode = OneHotEncoder(handle_unknown="ignore")
    scale = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler())
    return make_pipeline(
        ColumnTransformer([("categories", encode, list(categorical)), ("numbers", scale, list(numeric))]),
        LogisticRegression(max_iter=2000),
    )


def _peer_frame(X: pd.DataFrame, categorical: Sequence[str]) -> pd.DataFrame:
    out = X.copy()
    for c in categorical:
        out[c] = out[c].astype("string").fillna("missing").astype(object)
    return out


def repeated_evaluation(
    X: pd.DataFrame,
    y: np.ndarray,
    candidates: dict[str, Any],
    *,
    categorical: Sequence[str],
    repeats: int,
    test_share: float,
    seed: int,
) -> dict[str, Any]:
    """Test AUC of each candidate and peer over ``repeats`` stratified splits: mean, spread and each split's.

    ``candidates`` maps a name to a function ``(X_train, y_train) -> predict(X_test) -> scores``.
    """
    y = np.asarray(y, dtype=int)
    numeric = [c for c in X.columns if c not in categorical]
    peers = {
        "logistic_regression": lambda Xt, yt: _fitted_predict(
            one_hot_logistic(categorical, numeric).fit(_peer_frame(Xt, categorical), yt),
            lambda Xs: _peer_frame(Xs, categorical),
        ),
        "lightgbm_default": lambda Xt, yt: _fitted_predict(
            lgb.LGBMClassifier(random_state=seed, n_jobs=2, deterministic=True, force_row_wise=True, verbose=-1).fit(
                Xt, yt
            ),
            lambda Xs: Xs,
        ),
    }
    aucs: dict[str, list[float]] = {name: [] for name in (*candidates, *peers)}
    for r in range(repeats):
        split = StratifiedShuffleSplit(n_splits=1, test_size=test_share, random_state=seed + r)
        train, test = next(split.split(X, y))
        Xt, yt, Xs, ys = X.iloc[train], y[train], X.iloc[test], y[test]
        for name, fit in (*candidates.items(), *peers.items()):
            aucs[name].append(float(metrics.safe_auc(ys, fit(Xt, yt)(Xs))))
    summary = {
        name: {"auc_mean": float(np.mean(v)), "auc_std": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0, "auc": v}
        for name, v in aucs.items()
    }
    return {
        "splits": {"repeats": repeats, "test_share": test_share, "seeds": [seed + r for r in range(repeats)]},
        "candidates": {k: summary[k] for k in candidates},
        "peers": {k: summary[k] for k in peers},
    }


def _fitted_predict(model: Any, prepare: Any):
    return lambda X: model.predict_proba(prepare(X))[:, 1]


def figures(spec: ModelSpec, split: Split, params: TrainParams, *, seed: int) -> dict[str, Any]:
    """:func:`repeated_evaluation` of ``spec``'s candidates, fitted as ``train`` fits them on small data, on
    every labelled row of ``split``."""
    from risk.models.train import scorecard_for

    frame = pl.concat([split.train, split.valid, split.test], how="vertical_relaxed")
    X = to_model_frame(frame, spec.features, spec.categories)
    y = frame[spec.label].to_numpy().astype(int)
    mp, sd = getattr(params, spec.name), params.small_data
    few = len(y) < sd.max_rows

    def lightgbm(Xt: pd.DataFrame, yt: np.ndarray):
        if few:  # as train fits small data: trees by cross-validation
            return _fitted_predict(
                cross_fit(Xt, yt, params=mp, monotone=spec.monotone(), seed=seed, folds=sd.folds).estimator,
                lambda Xs: Xs,
            )
        inner = StratifiedShuffleSplit(n_splits=1, test_size=0.25, random_state=seed)
        fit_rows, stop_rows = next(inner.split(Xt, yt))
        model = fit_lightgbm(
            Xt.iloc[fit_rows],
            yt[fit_rows],
            Xt.iloc[stop_rows],
            yt[stop_rows],
            monotone=spec.monotone(),
            params=mp,
            seed=seed,
        )
        return _fitted_predict(model, lambda Xs: Xs)

    candidates = {
        "lightgbm": lightgbm,
        "scorecard": lambda Xt, yt: _fitted_predict(scorecard_for(spec, params).fit(Xt, yt), lambda Xs: Xs),
    }
    figures_ = repeated_evaluation(
        X, y, candidates, categorical=spec.categorical, repeats=sd.repeats, test_share=sd.test_share, seed=seed
    )
    return {**figures_, "small": few}
