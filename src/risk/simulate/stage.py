"""Edge of the simulate step: the default book into data/raw, written atomically."""

from __future__ import annotations

import dataclasses
import hashlib
import json

from risk import io
from risk.config import Params
from risk.paths import Paths
from risk.simulate import simulate


def source_of(params: Params) -> str:
    """The book's identity: validate compares an export only with earlier ones of the same source, and a
    book simulated from other params is another source (its shares may move as far as the params say)."""
    settings = json.dumps([params.seed, dataclasses.asdict(params.simulate)], sort_keys=True, default=str)
    return f"simulated book {hashlib.sha256(settings.encode()).hexdigest()[:12]}"


def run(paths: Paths, params: Params) -> str:
    """Simulate the book ``params.simulate`` describes and write its six tables; one line saying what."""
    tables = simulate(params.simulate, as_of=params.data.as_of, seed=params.seed)
    io.write_tables(tables, paths.raw, manifest={"mode": io.FULL, "source": source_of(params)})
    sizes = ", ".join(f"{k} {v.height:,}" for k, v in tables.items())
    return f"simulated the default book into {paths.raw} ({sizes})"
