"""The score stage's edge: what it reports when the day cannot be scored."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future

import pytest

from risk.config import Params
from risk.exceptions import RiskDataError
from risk.paths import Paths
from risk.score.beside import Beside
from risk.score.stage import Scorer


def test_a_table_that_cannot_be_read_is_the_error_even_when_no_model_can_load(tmp_path):
    """The book is read beside the loading of the models: when both fail, the missing table is the error (not the
    models' ModelNotFound), as when reading came first, and no thread is left behind to touch the scorer after the
    day has stopped."""
    paths = Paths.at(tmp_path)
    paths.validated.mkdir(parents=True)
    params = Params()
    threads = threading.active_count()
    with pytest.raises(RiskDataError) as stopped:
        Scorer(paths).day(params, as_of=params.data.as_of)
    assert (stopped.value.table, stopped.value.rule) == ("applications", "file_exists")
    assert threading.active_count() == threads


def test_what_runs_beside_the_day_runs_in_the_order_given_on_one_other_thread():
    ran = []
    with Beside() as beside:
        first = beside.submit(lambda: ran.append(("first", threading.get_ident())) or 1)
        second = beside.submit(lambda: ran.append(("second", threading.get_ident())) or 2)
        assert (first.result(), second.result()) == (1, 2)
    assert [name for name, _ in ran] == ["first", "second"]
    assert len({ident for _, ident in ran}) == 1 and ran[0][1] != threading.get_ident()


def test_a_failure_beside_the_day_is_said_on_the_callers_error_and_what_had_not_started_never_runs():
    """The caller's error is the one raised; what failed beside it is a note on it, not lost. A step still waiting
    when the caller failed is cancelled (a day that stops writes nothing, and builds nothing more for it)."""
    started, release, ran_after = threading.Event(), threading.Event(), []

    def breaks() -> None:
        started.set()
        release.wait(5)
        raise ValueError("the review queue broke")

    def release_once_cancelled(waiting: Future) -> None:  # so the cancel always comes before the worker is free
        deadline = time.monotonic() + 5
        while not waiting.cancelled() and time.monotonic() < deadline:
            time.sleep(0.001)
        release.set()

    with pytest.raises(RiskDataError) as stopped, Beside() as beside:
        beside.submit(breaks)
        waiting = beside.submit(lambda: ran_after.append(True))
        started.wait(5)
        threading.Thread(target=release_once_cancelled, args=(waiting,)).start()
        raise RiskDataError("the plan broke", rule="some_rule")
    assert str(stopped.value).startswith("the plan broke")
    assert stopped.value.__notes__ == ["beside, breaks: ValueError: the review queue broke"]
    assert ran_after == []


def test_an_error_the_caller_takes_from_beside_is_not_said_twice():
    def breaks() -> None:
        raise ValueError("the agreements broke")

    with pytest.raises(ValueError, match="the agreements broke") as stopped, Beside() as beside:
        beside.submit(breaks).result()
    assert getattr(stopped.value, "__notes__", []) == []
