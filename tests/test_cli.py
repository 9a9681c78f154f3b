"""The command line's own behaviour around the stages."""

from __future__ import annotations

import gc
import subprocess
import sys

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


_A_PROCESS = """
import gc, sys
import risk.cli

gc.disable()  # only the entry's own collection may find the cycle


class Held:
    def __del__(self):
        print("finalized", flush=True)


held = Held()
held.me = held  # a cycle: only a collection finalizes it
del held
sys.argv = ["risk", *sys.argv[1:]]
try:
    risk.cli.main()
finally:
    print("frozen", gc.get_freeze_count() > 0, flush=True)
"""


@pytest.mark.parametrize(("argv", "exit_code"), [(["--help"], 0), (["score", "--params", "no/params.yaml"], 2)])
def test_the_process_collects_the_commands_garbage_then_freezes_the_rest_for_its_exit(tmp_path, argv, exit_code):
    """The console entry finalizes what the command left in cycles, then freezes what is alive so the interpreter's
    teardown does not walk it in every collection; the command's exit code is kept, also on error."""
    done = subprocess.run(
        [sys.executable, "-c", _A_PROCESS, *argv], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == exit_code, done.stderr
    lines = done.stdout.splitlines()
    assert "finalized" in lines
    assert lines[-1] == "frozen True"
