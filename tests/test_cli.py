"""The command line's own behaviour around every stage."""

from __future__ import annotations

import gc

import pytest
import typer

from risk.cli import GC_THRESHOLD, stage
from risk.exceptions import ConfigError


def test_a_stage_runs_with_the_collector_less_eager_and_gives_it_back_as_it_was_even_on_error():
    """A stage's threshold is GC_THRESHOLD (the stack's long-lived objects are walked again at every full
    collection); a notebook or a test that called the stage keeps its own collector after it, error or not."""
    seen = []

    @stage
    def probe(fail: bool) -> str:
        seen.append(gc.get_threshold())
        if fail:
            raise ConfigError("no such parameter")
        return "done"

    before = gc.get_threshold()
    assert before != GC_THRESHOLD
    assert probe(False) == "done"
    with pytest.raises(typer.Exit) as stopped:
        probe(True)
    assert stopped.value.exit_code == ConfigError("x").exit_code
    assert seen == [GC_THRESHOLD, GC_THRESHOLD]
    assert gc.get_threshold() == before
