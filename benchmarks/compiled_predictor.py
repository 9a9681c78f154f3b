"""LightGBM's own predict against the lleaves-compiled trees (risk.models.compiled), on the project's fitted models.

For each risk model in models/fitted (run `make run` first), three ways of compiling it: the project's (one block of
trees, inlined), one block not inlined (the way the policy's models are compiled) and lleaves' default blocks of 34
trees (the project's earlier way). Each scores the test window, and the rows whose probability differs from
LightGBM's in any bit are counted (the project's ways must give none); then the window tiled to about a million rows
is timed against LightGBM in this one run, and the compile time is printed (into an empty cache). The learned
policy's type and effect models (models/policy) follow, on random rows of their features. Ratios, not absolute
times, are what to compare.

    uv run python benchmarks/compiled_predictor.py            # about a million rows per model
    uv run python benchmarks/compiled_predictor.py --rows 200000
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from risk.config import load_params
from risk.models.compiled import CompiledBooster, as_matrix
from risk.models.stage import load_fitted, specs_for, split_of
from risk.paths import Paths
from risk.policy.fit import PolicyModels


def best_of(fn, *args, repeats: int = 3, **kwargs) -> float:
    """The fastest of ``repeats`` calls of ``fn(*args, **kwargs)``, in seconds."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn(*args, **kwargs)
        times.append(time.perf_counter() - started)
    return min(times)


class Blocks34:
    """lleaves' default compile (blocks of 34 trees, inlined): the project's earlier way."""

    def __init__(self, booster, folder: Path, name: str):
        import lleaves

        text = folder / f"{name}.blocks34.txt"
        text.write_text(booster.model_to_string())
        self.model = lleaves.Model(model_file=str(text))
        self.model.compile(cache=str(folder / f"{name}.blocks34.o"))

    def predict_matrix(self, X: np.ndarray, *, threads: int = 2) -> np.ndarray:
        return self.model.predict(X, n_jobs=threads)


def compare(name: str, booster, X: np.ndarray, rows: int, folder: Path) -> None:
    """Each way of compiling ``booster``: the rows of ``X`` whose prediction differs from LightGBM's, the compile
    time and the speed on ``X`` tiled to ``rows``."""
    expected = booster.predict(X, num_threads=2)
    big = X[np.resize(np.arange(len(X)), rows)]
    plain = best_of(booster.predict, big, num_threads=2)
    ways = {
        "one block, inlined": lambda: CompiledBooster(booster),
        "one block, looped": lambda: CompiledBooster(booster, inline=False),
        "blocks of 34 (before)": lambda: Blocks34(booster, folder, name.replace(" ", "_")),
    }
    for way, make in ways.items():
        started = time.perf_counter()
        compiled = make()
        compile_s = time.perf_counter() - started
        got = compiled.predict_matrix(X).reshape(expected.shape)
        differ = int((got != expected).reshape(len(X), -1).any(axis=1).sum())
        diff = float(np.abs(got - expected).max()) if len(X) else 0.0
        fast = best_of(compiled.predict_matrix, big)
        print(
            f"{name:15s} {way:22s} {booster.num_trees():6d} {len(big):10,d} {differ:>8,d}/{len(X):<8,d} {diff:9.1e} "
            f"{compile_s:7.1f}s {plain:8.2f}s {fast:7.2f}s {plain / fast:5.1f}x",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    paths = Paths.at(".")
    params = load_params(paths.params)
    header = ("model", "way", "trees", "rows", "rows differing", "max |diff|", "compile", "lightgbm", "compiled")
    print("{:15s} {:22s} {:>6s} {:>10s} {:>17s} {:>9s} {:>8s} {:>9s} {:>8s} ratio".format(*header))
    with tempfile.TemporaryDirectory() as cache:
        os.environ["RISK_CACHE_DIR"] = cache  # compile times into an empty cache
        for spec in specs_for(paths, params):
            model = load_fitted(paths, spec.name, "lightgbm")
            booster = model.estimator.booster_
            X = as_matrix(model.frame(split_of(paths, params, spec).test), booster.pandas_categorical or [])
            compare(spec.name, booster, X, args.rows, Path(cache))
        if paths.policy_models.exists():
            policy = PolicyModels.load(paths.policy_models)
            rng = np.random.default_rng(0)
            for name, booster in (("policy types", policy.types.booster), ("policy effects", policy.effects.booster)):
                X = rng.normal(size=(20_000, booster.num_feature())) * 2  # random rows of the features
                compare(name, booster, X, args.rows // 4, Path(cache))


if __name__ == "__main__":
    main()
