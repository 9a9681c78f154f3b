"""A compiled LightGBM predictor (lleaves): the same probabilities, bit for bit, several times faster on a large book.

lleaves compiles a LightGBM model's trees to machine code with LLVM. Each model is compiled as one block of trees, so
every row's raw score adds the trees' outputs in LightGBM's own order, from 0, and comes out equal to LightGBM's to
the bit; lleaves' default blocks of 34 trees add each block's sum to the total and left the probabilities up to
1.2e-15 apart. lleaves transforms a binary or cross-entropy model's score with the C library's ``exp``, as LightGBM
does (a regression's not at all); a multiclass model is compiled to its raw scores and given LightGBM's softmax here
(:func:`softmax`), since lleaves' adds 1e-15 to the denominator. That holds for gradient-boosted trees with constant
leaves, the project's; ``tests/models/test_compiled.py`` holds every kind the project trains to exact equality.
Treelite (tl2cgen) was measured too and left out: 2.2-2.5x only, and its scores diverged from LightGBM's on the
categorical features (0.26 on early warning).

The risk models, which score every open loan, are compiled with their trees inlined: on the default book's models
1.3-11.0 s to compile and 4.9-6.3x LightGBM's speed on 2 cores. The learned policy's effect model, which prices
every lawful (loan, action) of the queue, too (48-53 s to compile, once a version; 4.6x); its type model, asked once an
overdue loan, without: 1.7 s where inlined it took 19-28 s, at 2.8x (``benchmarks/compiled_predictor.py``,
docs/performance.md). Scoring compiles only from ``score.compiled_min_rows``
rows (``score.compiled_predictor``). The object code is cached under ``$RISK_CACHE_DIR`` (default ``~/.cache/risk``)
by a hash of the model's text, the way it was compiled and what compiled it for which processor: a scheduler
compiles each model version once, and never loads machine code made another way.

The input is LightGBM's own: each category as its position among the categories the booster was trained with (an
unknown one as missing), numbers as floats.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import polars as pl

from risk.exceptions import ConfigError, RiskDataError
from risk.models.model import to_model_matrix

MODES = ("auto", "always", "never")
# the objectives lleaves 1.3 compiles to LightGBM's output. It refuses one-vs-all multiclass and a model trained with
# a custom objective (LightGBM writes none), and transforms cross-entropy-lambda as log(1 + exp(x)) where LightGBM
# takes log1p: refused here
COMPILABLE_OBJECTIVES = (
    "binary",
    "xentropy",
    "cross_entropy",
    "multiclass",
    "regression",
    "regression_l1",
    "huber",
    "fair",
    "quantile",
    "mape",
    "poisson",
    "gamma",
    "tweedie",
    "lambdarank",
    "rank_xendcg",
)


def cache_dir() -> Path:
    root = os.environ.get("RISK_CACHE_DIR") or Path.home() / ".cache" / "risk"
    return Path(root) / "lleaves"


class CompiledBooster:
    """A LightGBM booster compiled by lleaves; :meth:`predict` gives what ``booster.predict`` gives, bit for bit.
    ``inline``: the trees inlined into the loop over rows (faster code, slower to compile)."""

    def __init__(self, booster: lgb.Booster, *, inline: bool = True):
        import lleaves  # imported here: it loads LLVM, needed only when a large book is scored

        text = booster.model_to_string()
        objective = text.partition("\nobjective=")[2].partition("\n")[0]
        if objective.split(" ")[0] not in COMPILABLE_OBJECTIVES:
            msg = (
                f"lleaves cannot compile a LightGBM model trained with objective '{objective or 'custom'}' (it "
                f"compiles {', '.join(COMPILABLE_OBJECTIVES)}): set score.compiled_predictor: never"
            )
            raise ConfigError(msg)
        self.num_class = booster.num_model_per_iteration()
        # a softmax over the classes is applied here; lleaves transforms the other objectives itself (and refuses
        # one-vs-all multiclass)
        self.softmax_here = text.partition("\nobjective=")[2].startswith("multiclass ")
        options = {
            "raw_score": self.softmax_here,
            "fblocksize": max(booster.num_trees(), 1),  # one block: the trees added in LightGBM's order
            "finline": inline,
        }
        key = cache_key(text, options)
        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        model_file, object_file = folder / f"{key}.txt", folder / f"{key}.o"
        if not model_file.exists():
            _write_atomically(model_file, text.encode())
        self.model = lleaves.Model(model_file=str(model_file))
        self.from_cache = object_file.exists()  # else compiled here
        if self.from_cache:
            self.model.compile(cache=str(object_file), **options)
        else:  # compiled to a private name, then renamed: two schedulers never read half a file
            with tempfile.TemporaryDirectory(dir=folder) as tmp:
                scratch = Path(tmp) / "model.o"
                self.model.compile(cache=str(scratch), **options)
                os.replace(scratch, object_file)
        self.key = key
        self.categories = [list(c) for c in booster.pandas_categorical or []]  # each categorical's training order

    def predict(self, X: pd.DataFrame, *, threads: int = 2) -> np.ndarray:
        """Probabilities for the model frame ``X`` (:func:`risk.models.model.to_model_frame`'s output), its
        categories read as LightGBM reads them (:func:`as_matrix`)."""
        return self.predict_matrix(as_matrix(X, self.categories), threads=threads)

    def predict_matrix(self, X: np.ndarray, *, threads: int = 2) -> np.ndarray:
        """Probabilities for LightGBM's float matrix (:func:`risk.models.model.to_model_matrix`'s output): one per
        row, or rows × classes for a multiclass model."""
        if len(X) == 0:  # lleaves cuts the rows into n_jobs batches of none and fails
            return np.empty((0, self.num_class) if self.softmax_here else 0)
        out = self.model.predict(X, n_jobs=threads)
        return softmax(out) if self.softmax_here else out


def cache_key(text: str, options: Mapping[str, object]) -> str:
    """The cached object's name: a hash of the model's ``text``, the compile ``options``, the compiler's versions and
    the processor it compiles for. lleaves loads a cached object without checking it, so an object made another way
    (in blocks of trees, by another lleaves, for another processor sharing the cache) must never have this name."""
    from importlib.metadata import version

    import llvmlite.binding as llvm

    made_by = {
        "lleaves": version("lleaves"),
        "llvmlite": version("llvmlite"),
        "cpu": llvm.get_host_cpu_name(),
        "features": llvm.get_host_cpu_features().flatten(),
        **options,
    }
    tag = json.dumps(made_by, sort_keys=True)
    return hashlib.sha256(f"{tag}\n{text}".encode()).hexdigest()[:24]


_exp = np.frompyfunc(math.exp, 1, 1)  # the C library's exp, LightGBM's; numpy's own may differ in the last bit


def softmax(raw: np.ndarray) -> np.ndarray:
    """LightGBM's softmax of rows × classes raw scores, bit for bit: each row less its largest, exponentiated by the
    C library, summed from 0 class by class, each divided by that sum."""
    shifted = _exp(raw - raw.max(axis=1, keepdims=True)).astype(np.float64)
    total = np.zeros(len(raw))
    for j in range(raw.shape[1]):
        total = total + shifted[:, j]
    return shifted / total[:, None]


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
