"""The challenger: a logistic-regression scorecard on weight-of-evidence bins (评分卡).

Both classes follow scikit-learn's contract: ``__init__`` stores arguments, ``fit`` learns state into
attributes ending in ``_`` and returns ``self``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import polars as pl
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

MISSING = "missing"


class WoeBinner(TransformerMixin, BaseEstimator):
    """Quantile bins for numeric columns, one bin per category, a bin for missing; each bin's WOE.

    WOE = ln(share of goods / share of bads), smoothed by half a count, so a higher WOE is safer.
    """

    def __init__(self, *, max_bins: int = 6, min_bin_share: float = 0.05, categorical: Sequence[str] = ()):
        self.max_bins = max_bins
        self.min_bin_share = min_bin_share
        self.categorical = categorical

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> WoeBinner:
        y = np.asarray(y, dtype=int)
        self.features_ = list(X.columns)
        self.edges_: dict[str, np.ndarray] = {}
        self.woe_: dict[str, dict[str, float]] = {}
        self.table_: list[dict] = []
        n_bad, n_good = max(1, y.sum()), max(1, (1 - y).sum())
        for col in self.features_:
            labels = self._fit_labels(col, X[col])
            frame = pd.DataFrame({"bin": labels, "y": y})
            stats = frame.groupby("bin", observed=True)["y"].agg(["sum", "count"])
            bads, goods = stats["sum"], stats["count"] - stats["sum"]
            woe = np.log(((goods + 0.5) / n_good) / ((bads + 0.5) / n_bad))
            self.woe_[col] = {str(k): float(v) for k, v in woe.items()}
            for b in stats.index:
                self.table_.append(
                    {
                        "feature": col,
                        "bin": str(b),
                        "n": int(stats.loc[b, "count"]),
                        "bad_rate": float(bads[b] / stats.loc[b, "count"]),
                        "woe": float(woe[b]),
                    }
                )
        return self

    def _fit_labels(self, col: str, values: pd.Series) -> np.ndarray:
        if col in self.categorical or not pd.api.types.is_numeric_dtype(values):
            return values.astype("string").fillna(MISSING).to_numpy(dtype=object)
        v = values.to_numpy(dtype=float, na_value=np.nan)
        finite = v[np.isfinite(v)]
        qs = np.linspace(0, 1, self.max_bins + 1)[1:-1]
        edges = np.unique(np.quantile(finite, qs)) if len(finite) else np.array([])
        self.edges_[col] = edges
        return self._numeric_labels(v, edges)

    @staticmethod
    def _numeric_labels(v: np.ndarray, edges: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(edges, v, side="right")
        bounds = np.concatenate([[-np.inf], edges, [np.inf]])
        names = np.array([f"[{bounds[i]:.4g}, {bounds[i + 1]:.4g})" for i in range(len(bounds) - 1)], dtype=object)
        out = names[np.clip(idx, 0, len(names) - 1)]
        out[~np.isfinite(v)] = MISSING
        return out

    def labels(self, X: pd.DataFrame) -> pd.DataFrame:
        """The bin each value falls in."""
        check_is_fitted(self, "woe_")
        out = {}
        for col in self.features_:
            if col in self.edges_:
                v = X[col].to_numpy(dtype=float, na_value=np.nan)
                out[col] = self._numeric_labels(v, self.edges_[col])
            else:
                out[col] = X[col].astype("string").fillna(MISSING).to_numpy(dtype=object)
        return pd.DataFrame(out, index=X.index)

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        labels = self.labels(X)
        cols = []
        for col in self.features_:
            mapping = self.woe_[col]
            cols.append(labels[col].map(lambda b, m=mapping: m.get(b, 0.0)).to_numpy(dtype=float))
        return np.column_stack(cols) if cols else np.empty((len(X), 0))


class Scorecard(ClassifierMixin, BaseEstimator):
    """Logistic regression on WOE with a points scale: ``base_score`` points at ``base_odds`` good:bad,
    and ``pdo`` points to double the odds."""

    def __init__(
        self,
        *,
        max_bins: int = 6,
        min_bin_share: float = 0.05,
        C: float = 1.0,
        base_score: float = 600.0,
        base_odds: float = 50.0,
        pdo: float = 20.0,
        categorical: Sequence[str] = (),
    ):
        self.max_bins = max_bins
        self.min_bin_share = min_bin_share
        self.C = C
        self.base_score = base_score
        self.base_odds = base_odds
        self.pdo = pdo
        self.categorical = categorical

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> Scorecard:
        self.binner_ = WoeBinner(
            max_bins=self.max_bins, min_bin_share=self.min_bin_share, categorical=self.categorical
        ).fit(X, y)
        self.lr_ = LogisticRegression(C=self.C, max_iter=1000).fit(self.binner_.transform(X), y)
        self.classes_ = self.lr_.classes_
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "lr_")
        return self.lr_.predict_proba(self.binner_.transform(X))

    @property
    def factor_(self) -> float:
        return self.pdo / np.log(2)

    def contributions(self, X: pd.DataFrame) -> np.ndarray:
        """Per-feature contribution to the log-odds of going bad (coefficient × WOE)."""
        check_is_fitted(self, "lr_")
        return self.binner_.transform(X) * self.lr_.coef_[0]

    def points(self, X: pd.DataFrame) -> np.ndarray:
        """Total scorecard points per row: higher is safer."""
        logit_bad = self.lr_.intercept_[0] + self.contributions(X).sum(axis=1)
        offset = self.base_score - self.factor_ * np.log(self.base_odds)
        return offset - self.factor_ * logit_bad

    def points_table(self) -> pl.DataFrame:
        """Points per feature and bin, as a credit committee reads a scorecard."""
        check_is_fitted(self, "lr_")
        n = len(self.binner_.features_)
        offset = self.base_score - self.factor_ * np.log(self.base_odds)
        coef = dict(zip(self.binner_.features_, self.lr_.coef_[0], strict=True))
        rows = []
        for r in self.binner_.table_:
            b = coef[r["feature"]]
            pts = offset / n - self.factor_ * (b * r["woe"] + self.lr_.intercept_[0] / n)
            rows.append({**r, "coefficient": float(b), "points": round(float(pts), 1)})
        return pl.DataFrame(rows)
