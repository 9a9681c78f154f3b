"""A fitted risk model: estimator, calibrator and the exact feature list, usable on a polars frame.

The same object is pickled to models/, logged to MLflow as a pyfunc and loaded back by alias.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import polars as pl

from risk.attributes import Attribute, categories_of
from risk.exceptions import RiskDataError
from risk.features.catalogue import CATEGORICAL
from risk.models import treeshap
from risk.models.calibration import Calibrator
from risk.models.scorecard import Scorecard

LIGHTGBM, SCORECARD = "lightgbm", "scorecard"


def to_model_frame(
    frame: pl.DataFrame | pd.DataFrame, features: list[str], categories: Mapping[str, Sequence[str]] | None = None
) -> pd.DataFrame:
    """The model's input: the features in order, categoricals with fixed categories, numbers as float.

    ``categories`` adds categorical features the catalogue does not know (a source's declared attributes) with
    the categories the model learned. An unknown category code scores as missing. From polars, categoricals go
    over as integer codes and numbers are cast in polars, an order of magnitude faster than through pandas.
    """
    known = {**CATEGORICAL, **(categories or {})}
    if isinstance(frame, pl.DataFrame):
        require_features(frame.columns, features)
        return _from_polars(frame.select(features), known)
    pdf = frame[features]
    out = {}
    for col in features:
        if col in known:
            values = pdf[col].astype("string").astype(object)
            seen = values.where(values.isin(known[col]))  # an unknown code scores as missing
            out[col] = pd.Categorical(seen, categories=list(known[col]))
        else:
            out[col] = pd.to_numeric(pdf[col], errors="coerce").astype("float64")
    return pd.DataFrame(out, index=pdf.index)


def require_features(columns: Sequence[str], features: Sequence[str]) -> None:
    """Refuse a model input without every feature the model reads, naming the missing ones."""
    missing = [f for f in features if f not in columns]
    if missing:
        msg = f"model input lacks feature column(s) {missing}"
        raise RiskDataError(msg, table="features", rule="model_features_present")


def to_model_matrix(frame: pl.DataFrame, features: list[str], codes: Mapping[str, Mapping[str, int]]) -> np.ndarray:
    """The model's input as LightGBM reads it, built in polars in one pass: the features in order as a C-ordered
    float64 matrix; a categorical (a feature in ``codes``) as the code of its value, a value without one or a
    null as NaN; a number cast to float, a null as NaN.

    On the scoring path the matrix is what the compiled predictor and TreeSHAP read, without the pandas frame of
    :func:`to_model_frame` in between (:meth:`RiskModel.category_codes` gives the codes LightGBM would).
    """
    require_features(frame.columns, features)
    columns = []
    for f in features:
        if f in codes:
            columns.append(pl.col(f).cast(pl.String).replace_strict(codes[f], default=None, return_dtype=pl.Float64))
        else:
            columns.append(pl.col(f).cast(pl.Float64))
    if not columns:
        return np.empty((frame.height, 0))
    return frame.select(columns).to_numpy(order="c")


def _from_polars(frame: pl.DataFrame, known: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    out = {}
    for col in frame.columns:
        if col in known:
            cats = list(known[col])
            codes = (
                frame[col]
                .cast(pl.String)
                .replace_strict(cats, list(range(len(cats))), default=-1, return_dtype=pl.Int16)
                .fill_null(-1)
                .to_numpy()
            )
            out[col] = pd.Categorical.from_codes(codes, categories=cats)
        else:
            out[col] = frame[col].cast(pl.Float64).to_numpy()
    return pd.DataFrame(out)


@dataclass
class RiskModel:
    """One fitted model. ``kind`` is lightgbm or scorecard; probabilities are calibrated."""

    name: str
    kind: str
    label: str
    features: list[str]
    estimator: Any
    calibrator: Calibrator
    meta: dict[str, Any] = field(default_factory=dict)
    attributes: tuple[Attribute, ...] = ()  # a source's declared attributes among ``features`` (PD only)

    @property
    def categories(self) -> dict[str, tuple[str, ...]]:
        """The categories of the declared categorical attributes (the catalogue's are known everywhere)."""
        return categories_of(getattr(self, "attributes", ()))

    def frame(self, frame: pl.DataFrame | pd.DataFrame) -> pd.DataFrame:
        """The model's input from ``frame``: :func:`to_model_frame` with this model's features and categories."""
        return to_model_frame(frame, self.features, self.categories)

    def compile(self) -> RiskModel:
        """Score with a compiled copy of the LightGBM trees from now on (:mod:`risk.models.compiled`: the same
        probabilities bit for bit, several times faster on a large book); a scorecard is left as it is."""
        if self.kind == LIGHTGBM and getattr(self, "_compiled", None) is None:
            from risk.models.compiled import CompiledBooster

            self._compiled = CompiledBooster(self.estimator.booster_)
        return self

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_compiled", None)  # machine code for this process; a loaded model compiles again if asked
        state.pop("_splits", None)  # read again from the booster when contributions are asked for
        return state

    def category_codes(self) -> dict[str, dict[str, int]] | None:
        """Per categorical feature, the code LightGBM reads for each value: its position among the categories the
        booster was trained with (``pandas_categorical``), for the values this code's catalogue also knows (others
        score as missing, as in :func:`to_model_frame`). None when the booster's categorical features are not the
        catalogue's, or for a scorecard."""
        if self.kind != LIGHTGBM:
            return None
        known = {**CATEGORICAL, **self.categories}
        ours = [f for f in self.features if f in known]
        trained = self.estimator.booster_.pandas_categorical or []
        if len(trained) != len(ours):
            return None
        return {f: {v: i for i, v in enumerate(cats) if v in known[f]} for f, cats in zip(ours, trained, strict=True)}

    def _matrix(self, frame: pl.DataFrame | pd.DataFrame) -> np.ndarray | None:
        """LightGBM's input matrix straight from a polars frame (:func:`to_model_matrix`); None for a pandas frame
        or a scorecard, which read :func:`to_model_frame`'s frame."""
        codes = self.category_codes() if isinstance(frame, pl.DataFrame) else None
        return None if codes is None else to_model_matrix(frame, self.features, codes)

    def raw_proba(self, frame: pl.DataFrame | pd.DataFrame) -> np.ndarray:
        if self.kind != LIGHTGBM:
            return self.estimator.predict_proba(self.frame(frame))[:, 1]
        compiled = getattr(self, "_compiled", None)
        X = self._matrix(frame)
        if X is None:
            X = self.frame(frame)
            return compiled.predict(X) if compiled is not None else self.estimator.predict_proba(X, num_threads=2)[:, 1]
        if compiled is not None:
            return compiled.predict_matrix(X)
        return self.estimator.booster_.predict(X, num_threads=2)

    def predict_proba(self, frame: pl.DataFrame | pd.DataFrame) -> np.ndarray:
        """Calibrated probability of the label per row."""
        if len(frame) == 0:
            return np.empty(0)
        return self.calibrator.transform(self.raw_proba(frame))

    def contributions(self, frame: pl.DataFrame | pd.DataFrame) -> np.ndarray:
        """Per-row, per-feature contributions to the raw log-odds (SHAP for LightGBM, by split pattern from a polars
        frame, :mod:`risk.models.treeshap`, or LightGBM's own for fewer rows than
        :data:`~risk.models.treeshap.PATTERNS_FROM_ROWS_PER_TREE` a tree; coef × WOE for the scorecard): the basis of
        reason codes. Call it only on the rows that need reasons."""
        if self.kind != LIGHTGBM:
            return self.estimator.contributions(self.frame(frame))
        if len(frame) == 0:
            return np.empty((0, len(self.features)))
        X = self._matrix(frame)
        if X is None:
            return self.estimator.predict(self.frame(frame), pred_contrib=True, num_threads=2)[:, : len(self.features)]
        booster = self.estimator.booster_
        if len(frame) < treeshap.PATTERNS_FROM_ROWS_PER_TREE * booster.num_trees():  # one call: cheaper
            return booster.predict(X, pred_contrib=True, num_threads=2)[:, : len(self.features)]
        if "_splits" not in self.__dict__:  # read once; None (a booster treeshap cannot read) is kept too
            self._splits = treeshap.splits_of(booster)
        return treeshap.contributions(booster, X, self._splits)[:, : len(self.features)]

    def points(self, frame: pl.DataFrame | pd.DataFrame) -> np.ndarray | None:
        if isinstance(self.estimator, Scorecard):
            return self.estimator.points(self.frame(frame))
        return None


def lightgbm_classifier(
    params: Any, *, monotone: Sequence[int], seed: int, n_estimators: int | None = None
) -> lgb.LGBMClassifier:
    """The project's LightGBM, unfitted: ``params`` (train.<model>), monotone constraints, a fixed seed, two
    threads, deterministic; ``n_estimators`` overrides the params' when the number of trees is already chosen."""
    return lgb.LGBMClassifier(
        n_estimators=params.n_estimators if n_estimators is None else n_estimators,
        learning_rate=params.learning_rate,
        num_leaves=params.num_leaves,
        max_depth=params.max_depth,
        min_child_samples=params.min_child_samples,
        subsample=params.subsample,
        subsample_freq=1,
        colsample_bytree=params.colsample_bytree,
        reg_lambda=params.reg_lambda,
        monotone_constraints=list(monotone),
        monotone_constraints_method="intermediate",
        random_state=seed,
        n_jobs=2,
        deterministic=True,
        force_row_wise=True,
        verbose=-1,
    )


def fit_lightgbm(
    X: pd.DataFrame,
    y: np.ndarray,
    X_valid: pd.DataFrame,
    y_valid: np.ndarray,
    *,
    monotone: list[int],
    params: Any,
    seed: int,
    sample_weight: np.ndarray | None = None,
    valid_weight: np.ndarray | None = None,
) -> lgb.LGBMClassifier:
    """LightGBM with early stopping on the validation window, monotone constraints and a fixed seed; row
    weights when some rows stand for a share of an applicant (reject inference's fuzzy augmentation)."""
    model = lightgbm_classifier(params, monotone=monotone, seed=seed)
    model.fit(
        X,
        y,
        sample_weight=sample_weight,
        eval_X=(X_valid,),
        eval_y=(y_valid,),
        eval_sample_weight=None if valid_weight is None else [valid_weight],
        eval_metric="binary_logloss",
        callbacks=[lgb.early_stopping(params.early_stopping_rounds, verbose=False)],
    )
    return model
