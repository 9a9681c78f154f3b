"""The command line's own behaviour around the stages."""

from __future__ import annotations

import gc
import os
import subprocess
import sys

import pytest

from risk.cli import DAY_ALLOCATOR, GC_THRESHOLD, fewer_collections


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


_ALLOCATOR = """
import os
{first}
from risk.cli import day_allocator

day_allocator()
import polars

print(os.environ.get("_RJEM_MALLOC_CONF", ""))
"""


@pytest.mark.parametrize(
    ("first", "users", "kept_freed_pages"),
    [
        ("", None, True),  # a scoring process: polars is imported after
        ("", "dirty_decay_ms:1000", False),  # the user's own setting stands
        # too late: jemalloc read its settings when polars was imported (cleared after, nothing may set it again)
        ("import polars\nos.environ.pop('_RJEM_MALLOC_CONF')", None, False),
    ],
)
def test_a_scoring_process_keeps_freed_pages_unless_the_user_set_the_allocator_or_polars_was_already_loaded(
    first, users, kept_freed_pages
):
    """The scoring commands ask polars' allocator to keep freed pages (:data:`~risk.cli.DAY_ALLOCATOR`), after
    polars' own settings so that they win; a user's ``_RJEM_MALLOC_CONF`` is kept, and once polars is loaded
    nothing is changed."""
    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    if users is not None:
        env["_RJEM_MALLOC_CONF"] = users
    code = _ALLOCATOR.format(first=first)
    conf = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    conf = conf.strip()
    if kept_freed_pages:
        assert conf.endswith("," + DAY_ALLOCATOR)
    else:
        assert DAY_ALLOCATOR not in conf
    if users is not None:
        assert conf.endswith("," + users)


@pytest.mark.parametrize("command", [["score"], ["run", "--as-of", "2025-12-31"]])
def test_both_scoring_commands_set_the_allocator_before_anything_else(command, tmp_path, monkeypatch):
    """``risk score`` and ``risk run`` call :func:`~risk.cli.day_allocator` first: here, before a missing params
    file stops them."""
    from typer.testing import CliRunner

    import risk.cli

    calls = []
    monkeypatch.setattr(risk.cli, "day_allocator", lambda: calls.append("allocator"))
    result = CliRunner().invoke(risk.cli.app, [*command, "--params", str(tmp_path / "missing.yaml")])
    assert result.exit_code != 0
    assert calls == ["allocator"]


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
