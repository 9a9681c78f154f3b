"""A day is a run: load that day's export, validate it and score it into the day's tables, models untouched.

This is what a scheduler runs every morning (``risk run --as-of 2026-01-05``; ``pipelines/daily_score.sh``).
``data.as_of`` becomes the day, and a ``{as_of}`` in ``ingest.path`` names the day's export folder
(``exports/{as_of}`` reads ``exports/2026-01-05``), so nothing in params.yaml is edited by hand. The
models are the ones ``dvc repro`` trained and ``evaluate`` pinned; retraining stays a DVC run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

from risk import io
from risk.config import Params
from risk.exceptions import LockHeld
from risk.paths import Paths


def params_for_day(params: Params, day: dt.date) -> Params:
    """``params`` with ``data.as_of`` set to ``day`` (ingest fills ``{as_of}`` in ``ingest.path`` from it).

    Raises
    ------
    ConfigError
        When ``day`` is after today (``data.as_of`` refuses it).
    """
    return dataclasses.replace(params, data=dataclasses.replace(params.data, as_of=day))


def load(paths: Paths, params: Params) -> str:
    """Fill data/raw from ``data.source``: ingest the export, or simulate the default book; one line."""
    if params.data.source == "ingest":
        from risk.ingest import run as run_ingest

        return run_ingest(paths, params)
    from risk.simulate.stage import run as run_simulation

    return f"load: {run_simulation(paths, params)}"


def run_day(paths: Paths, params: Params, *, day: dt.date, accept_shift: bool = False) -> list[str]:
    """Load, validate and score ``day``; one line per step. The first step that fails raises its error,
    leaving that step's previous outputs and every earlier day in the sinks untouched. One run at a time per
    project (another exits 75): two days loaded at once would score one day's export as the other's."""
    return list(run_days(paths, params, days=[day], accept_shift=accept_shift))


def run_days(paths: Paths, params: Params, *, days: list[dt.date], accept_shift: bool = False) -> Iterator[str]:
    """:func:`run_day` for each of ``days`` in turn, in one process: a catch-up after days the scheduler
    missed. The models are loaded once and each day's instalment ledger is reused by the next from memory
    (:class:`risk.score.stage.Scorer`); each day writes what its own run would, and the ledger the last day
    written built is kept on disk for the next run once the days are done (unless a day stopped after building its
    own: the next run then reads the ledger kept before). The first day that fails stops the run, the days before
    it written. Lines come as each step ends."""
    from risk.score.stage import Scorer
    from risk.validate.stage import run_project as run_validate

    lock = paths.root / "data" / ".run.lock"  # data/raw, data/validated and the profile are one per project
    busy = lambda: LockHeld(f"another `risk run` holds {lock}; try again when it has finished")  # noqa: E731
    with io.file_lock(lock, on_busy=busy):
        scorer = Scorer(paths, keep_each_day=False)  # the last day written keeps its ledger for the next run
        try:
            for day in days:
                dated = params_for_day(params, day)
                yield load(paths, dated)
                report = run_validate(paths, dated)
                yield f"validate {day}: {len(report.errors)} errors, {len(report.warnings)} warnings"
                yield scorer.day(dated, as_of=day, accept_shift=accept_shift)
        except BaseException as stopped:  # the days before the one that stopped are written: their ledger is kept
            try:
                warning = scorer.keep_ledger()
            except Exception as e:  # never in place of the day's own error
                warning = f"the ledger was not kept: {type(e).__name__}: {e}"
            if warning:
                stopped.add_note(warning)
            raise
        warning = scorer.keep_ledger()
        if warning:
            yield warning
