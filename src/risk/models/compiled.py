"""A compiled LightGBM predictor (lleaves): the same probabilities, several times faster on a large book.

lleaves compiles a LightGBM model's trees to machine code with LLVM. On the default book's three models it
scores about a million rows 5-14x faster than LightGBM's own predict on 2 cores
(``benchmarks/compiled_predictor.py``, docs/performance.md), and its probabilities equal LightGBM's to 1e-15
(``tests/models/test_compiled.py`` holds them to 1e-9 on a test window). Treelite (tl2cgen) was measured too and
left out: 2.2-2.5x only, and its scores diverged from LightGBM's on the categorical features (0.26 on early
warning). Compiling takes 1-4 seconds a risk model (6 s the policy's type model, 18 s its effect model), so scoring
compiles only from ``score.compiled_min_rows`` rows (``score.compiled_predictor``). The object code is cached by a
hash of the model's text under ``$RISK_CACHE_DIR`` (default ``~/.cache/risk``): a scheduler compiles each model
version once.

The input is LightGBM's own: each category as its position among the categories the booster was trained with (an
unknown one as missing), numbers as floats.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import polars as pl

from risk.exceptions import RiskDataError
from risk.models.model import to_model_matrix

MODES = ("auto", "always", "never")


def cache_dir() -> Path:
    root = os.environ.get("RISK_CACHE_DIR") or Path.home() / ".cache" / "risk"
    return Path(root) / "lleaves"


class CompiledBooster:
    """A LightGBM booster compiled by lleaves; :meth:`predict` gives what ``booster.predict`` gives."""

    def __init__(self, booster: lgb.Booster):
        import lleaves  # imported here: it loads LLVM, needed only when a large book is scored

        text = booster.model_to_string()
        key = hashlib.sha256(text.encode()).hexdigest()[:24]
        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        model_file, object_file = folder / f"{key}.txt", folder / f"{key}.o"
        if not model_file.exists():
            _write_atomically(model_file, text.encode())
        self.model = lleaves.Model(model_file=str(model_file))
        if object_file.exists():
            self.model.compile(cache=str(object_file))
        else:  # compiled to a private name, then renamed: two schedulers never read half a file
            with tempfile.TemporaryDirectory(dir=folder) as tmp:
                scratch = Path(tmp) / "model.o"
                self.model.compile(cache=str(scratch))
                os.replace(scratch, object_file)
        self.key = key
        self.categories = [list(c) for c in booster.pandas_categorical or []]  # each categorical's training order

    def predict(self, X: pd.DataFrame, *, threads: int = 2) -> np.ndarray:
        """Probabilities for the model frame ``X`` (:func:`risk.models.model.to_model_frame`'s output), its
        categories read as LightGBM reads them (:func:`as_matrix`)."""
        return self.predict_matrix(as_matrix(X, self.categories), threads=threads)

    def predict_matrix(self, X: np.ndarray, *, threads: int = 2) -> np.ndarray:
        """Probabilities for LightGBM's float matrix (:func:`risk.models.model.to_model_matrix`'s output)."""
        return self.model.predict(X, n_jobs=threads)


def as_matrix(X: pd.DataFrame, categories: Sequence[Sequence[object]]) -> np.ndarray:
    """``X`` as LightGBM reads a pandas frame: the i-th categorical column's value as its position among
    ``categories[i]`` (the booster's ``pandas_categorical``, the order it was trained with, whatever order the
    frame's categories are in), a value not among them or a missing one as NaN; numbers as floats. The codes are
    :func:`~risk.models.model.to_model_matrix`'s: one mapping for both inputs. Values are matched by their text,
    which is LightGBM's match for the pipeline's categories (strings, as ingest and the catalogue write them)."""
    columns = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    if len(columns) != len(categories):
        msg = f"the frame's categorical columns {columns} are not the {len(categories)} the booster was trained with"
        raise RiskDataError(msg, table="features", rule="model_categories_match")
    codes = {c: {str(v): i for i, v in enumerate(cats)} for c, cats in zip(columns, categories, strict=True)}
    return to_model_matrix(pl.from_pandas(X), list(X.columns), codes)


def _write_atomically(path: Path, data: bytes) -> None:
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as fh:
        fh.write(data)
    os.replace(fh.name, path)
