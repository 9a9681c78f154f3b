"""Edge of the simulate step: the default book into data/raw, written atomically."""

from __future__ import annotations

from risk import io
from risk.config import Params
from risk.paths import Paths
from risk.simulate import simulate


def run(paths: Paths, params: Params) -> str:
    """Simulate the book ``params.simulate`` describes and write its six tables; one line saying what."""
    tables = simulate(params.simulate, as_of=params.data.as_of, seed=params.seed)
    io.write_tables(tables, paths.raw)
    sizes = ", ".join(f"{k} {v.height:,}" for k, v in tables.items())
    return f"simulated the default book into {paths.raw} ({sizes})"
