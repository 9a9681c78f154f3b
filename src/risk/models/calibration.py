"""Probability calibration fitted on the validation window, so a predicted 8% means about 8%."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted


class Calibrator(BaseEstimator):
    """Isotonic regression or Platt scaling of a raw score in [0, 1]."""

    def __init__(self, *, method: str = "isotonic"):
        self.method = method

    def fit(self, p: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> Calibrator:
        p = np.asarray(p, dtype=float)
        y = np.asarray(y, dtype=int)
        if self.method == "isotonic":
            iso = IsotonicRegression(out_of_bounds="clip", y_min=1e-4, y_max=1 - 1e-4)
            self.model_ = iso.fit(p, y, sample_weight=sample_weight)
        else:
            self.model_ = LogisticRegression(C=1e6).fit(_logit(p)[:, None], y, sample_weight=sample_weight)
        return self

    def transform(self, p: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "model_")
        p = np.asarray(p, dtype=float)
        if self.method == "isotonic":
            return self.model_.predict(p)
        return self.model_.predict_proba(_logit(p)[:, None])[:, 1]


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))
