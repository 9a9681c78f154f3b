"""What a model saw in training, checked again where it is served: columns, types, categories and ranges.

The batch pipeline validates its tables against the contract before scoring, but a model served on its own
(``mlflow models serve``, a notebook, another team's job) gets whatever a caller sends. There a missing
column, text in a number column or a category the model never saw is an error by name, not a silent
missing value; a number outside the training range is scored (trees extrapolate flat) and reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from risk.exceptions import RiskDataError
from risk.features.catalogue import CATEGORICAL

TABLE = "model input"


@dataclass(frozen=True)
class InputSchema:
    """Per feature: the training range of a number, or the categories seen in training."""

    features: tuple[str, ...]
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, X: pd.DataFrame, features: Sequence[str]) -> InputSchema:
        """The schema of the model frame ``X`` (:func:`~risk.models.model.to_model_frame`'s output)."""
        ranges, categories = {}, {}
        for f in features:
            if f in CATEGORICAL or isinstance(X[f].dtype, pd.CategoricalDtype):
                seen = X[f].dropna().astype(str).unique()
                categories[f] = tuple(sorted(seen))
            else:
                v = X[f].to_numpy(dtype=float, na_value=np.nan)
                v = v[np.isfinite(v)]
                if len(v):
                    ranges[f] = (float(v.min()), float(v.max()))
        return cls(tuple(features), ranges, categories)

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "ranges": {k: list(v) for k, v in self.ranges.items()},
            "categories": {k: list(v) for k, v in self.categories.items()},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> InputSchema:
        return cls(
            tuple(d["features"]),
            {k: (float(a), float(b)) for k, (a, b) in d["ranges"].items()},
            {k: tuple(v) for k, v in d["categories"].items()},
        )

    def check(self, frame: pd.DataFrame) -> list[str]:
        """Raise for what cannot be scored; return a note per number outside its training range.

        Raises
        ------
        RiskDataError
            ``model_input_columns`` (missing), ``model_input_type`` (text in a number column) or
            ``model_input_category`` (a category not seen in training), naming the column and examples.
        """
        missing = [f for f in self.features if f not in frame.columns]
        if missing:
            msg = f"missing feature column(s) {missing}; the model needs {list(self.features)}"
            raise RiskDataError(msg, table=TABLE, rule="model_input_columns")
        notes = []
        for f in self.features:
            values = frame[f]
            if f in self.categories:
                text = values.dropna().astype(str)
                unseen = sorted(set(text) - set(self.categories[f]))
                if unseen:
                    msg = f"categories not seen in training: {unseen[:5]}; known: {list(self.categories[f])}"
                    raise RiskDataError(
                        msg,
                        table=TABLE,
                        column=f,
                        rule="model_input_category",
                        failing_rows=int(text.isin(unseen).sum()),
                    )
                continue
            numbers = pd.to_numeric(values, errors="coerce")
            bad = values.notna() & numbers.isna()
            if bad.any():
                msg = "expected numbers"
                raise RiskDataError(
                    msg,
                    table=TABLE,
                    column=f,
                    rule="model_input_type",
                    failing_rows=int(bad.sum()),
                    examples=[repr(v) for v in values[bad].head(5)],
                )
            if f in self.ranges:
                low, high = self.ranges[f]
                outside = int(((numbers < low) | (numbers > high)).sum())
                if outside:
                    notes.append(f"{f}: {outside} value(s) outside the training range [{low:g}, {high:g}]")
        return notes
