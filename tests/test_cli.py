"""The command line's own behaviour around the stages."""

from __future__ import annotations

import gc

import pytest

from risk.cli import GC_THRESHOLD, fewer_collections


def test_a_day_is_scored_with_the_collector_less_eager_and_gives_it_back_as_it_was_even_on_error():
    """Within a scoring command the threshold is GC_THRESHOLD (the stack's long-lived objects are walked again at
    every full collection); a notebook or a test that called the command keeps its own collector after it."""
    before = gc.get_threshold()
    assert before != GC_THRESHOLD
    with fewer_collections():
        assert gc.get_threshold() == GC_THRESHOLD
    assert gc.get_threshold() == before
    with pytest.raises(RuntimeError), fewer_collections():
        assert gc.get_threshold() == GC_THRESHOLD
        raise RuntimeError("the day stopped")
    assert gc.get_threshold() == before
