"""LightGBM's own predict against the lleaves-compiled trees (risk.models.compiled), on the project's fitted models.

For each model in models/fitted (run `make run` first): its test window scored both ways (the largest difference
is printed: the compiled predictor must equal LightGBM to 1e-9), then the test window tiled to about a million
rows and timed both ways in this one run, with the compile time. Ratios, not absolute times, are what to compare.

    uv run python benchmarks/compiled_predictor.py            # about a million rows per model
    uv run python benchmarks/compiled_predictor.py --rows 200000
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from risk.config import load_params
from risk.models.compiled import CompiledBooster
from risk.models.stage import load_fitted, specs_for, split_of
from risk.paths import Paths


def best_of(fn, *args, repeats: int = 3, **kwargs) -> float:
    """The fastest of ``repeats`` calls of ``fn(*args, **kwargs)``, in seconds."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn(*args, **kwargs)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    paths = Paths.at(".")
    params = load_params(paths.params)
    header = ("model", "trees", "rows", "max |diff|", "compile", "lightgbm", "lleaves", "ratio")
    print("{:15s} {:>6s} {:>10s} {:>11s} {:>8s} {:>9s} {:>8s} {}".format(*header))
    for spec in specs_for(paths, params):
        model = load_fitted(paths, spec.name, "lightgbm")
        X = model.frame(split_of(paths, params, spec).test)
        booster = model.estimator.booster_
        started = time.perf_counter()
        compiled = CompiledBooster(booster)
        compile_s = time.perf_counter() - started
        diff = float(np.abs(compiled.predict(X) - model.estimator.predict_proba(X)[:, 1]).max())
        big = X.iloc[np.resize(np.arange(len(X)), args.rows)]
        plain = best_of(model.estimator.predict_proba, big, num_threads=2)
        fast = best_of(compiled.predict, big)
        print(
            f"{spec.name:15s} {booster.num_trees():6d} {len(big):10,d} {diff:11.1e} {compile_s:7.1f}s "
            f"{plain:8.2f}s {fast:7.2f}s {plain / fast:5.1f}x"
        )


if __name__ == "__main__":
    main()
