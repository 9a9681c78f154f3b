"""The score stage's edge: what it reports when the day cannot be scored."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from concurrent.futures import Future

import polars as pl
import pytest

from risk.config import Params
from risk.exceptions import RiskDataError
from risk.paths import Paths
from risk.score.beside import Beside
from risk.score.stage import Scorer, compile_ahead


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


APPLICATION_ONLY = {"mode": "application_only"}


@pytest.mark.parametrize(
    ("engine", "mode", "trained", "loans", "manifest", "why"),
    [
        ("polars", "auto", None, 3, None, "3 loans, under score.compiled_min_rows of 200,000"),
        ("polars", "never", None, 3, None, "score.compiled_predictor is never"),
        ("spark", "always", None, 3, None, "the Spark engine scores through LightGBM"),
        ("polars", "always", None, None, APPLICATION_ONLY, "score skips this book: the source is application-only"),
        ("polars", "always", ["pd"], None, None, "score skips this book: train.models leaves out early_warning"),
    ],
)
def test_nothing_is_compiled_ahead_where_the_scorer_would_not_compile(
    tmp_path, engine, mode, trained, loans, manifest, why
):
    """`risk compile` loads no model (there is none here) when the day would score through LightGBM itself, or not
    at all, and records why not."""
    paths = Paths.at(tmp_path)
    paths.validated.mkdir(parents=True)
    if manifest is None:
        pl.DataFrame({"loan_id": ["L1", "L2", "L3"]}).write_parquet(paths.validated / "loans.parquet")
    else:
        (paths.validated / "_ingest.json").write_text(json.dumps(manifest))
    params = Params()
    params = dataclasses.replace(
        params,
        engine=engine,
        score=dataclasses.replace(params.score, compiled_predictor=mode),
        train=dataclasses.replace(params.train, models=trained or params.train.models),
    )
    record, line = compile_ahead(paths, params)
    assert record == {
        "loans": loans,
        "compiled_predictor": mode,
        "compiled_min_rows": 200_000,
        "compiled": False,
        "models": {},
    }
    assert line.startswith(f"compile: nothing to compile ({why}")
