"""A day is a run: `risk run --as-of` three consecutive days from three exports into one DuckDB file, with
the models `dvc repro` trained left alone; rerunning the second day changes nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml
from tests.conftest import run_tool

from risk.contract import INPUT_TABLES
from risk.exceptions import RiskDataError
from risk.score.sinks import read_day

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
QUEUES = ("collections_queue", "review_queue")


def risk(*args: str) -> list[str]:
    return [sys.executable, "-m", "risk.cli", *args]


def export_as_of(raw: Path, day: dt.date, folder: Path) -> None:
    """The contract tables as the lender's system held them at the end of ``day`` (records dated after it cut)."""
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
    t = {table.name: pl.read_parquet(raw / f"{table.name}.parquet") for table in INPUT_TABLES}
    loans = t["loans"].filter(pl.col("originated_on") <= day)
    booked = loans["loan_id"].implode()
    out = {
        "loans": loans,
        "applications": t["applications"].filter(
            (pl.col("applied_at") < end) & (pl.col("loan_id").is_null() | pl.col("loan_id").is_in(booked))
        ),
        "schedule": t["schedule"].filter(pl.col("loan_id").is_in(booked)),
        "repayments": t["repayments"].filter((pl.col("paid_at") < end) & pl.col("loan_id").is_in(booked)),
        "collection_actions": t["collection_actions"].filter(
            (pl.col("action_at") < end) & pl.col("loan_id").is_in(booked)
        ),
    }
    folder.mkdir(parents=True)
    for name, frame in out.items():
        frame.write_parquet(folder / f"{name}.parquet")


def in_order(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` sorted by every column that sorts (DuckDB does not promise the order rows come back in)."""
    return frame.sort([c for c, t in frame.schema.items() if not t.is_nested()], nulls_last=True)


def day_rows(database: Path, table: str, day: dt.date) -> pl.DataFrame:
    frame = read_day(database, table, day)
    key = "loan_id" if "loan_id" in frame.columns else "application_id"
    return frame.sort(key)


@pytest.fixture(scope="module")
def project(tmp_path_factory, pipeline_project: Path) -> Path:
    """A copy of the trained project whose data source is a folder of daily exports, ``exports/{as_of}``, scoring
    incrementally (each day keeps its ledger for the next)."""
    root = Path(shutil.copytree(pipeline_project, tmp_path_factory.mktemp("daily") / "project", symlinks=True))
    params = yaml.safe_load((root / "params.yaml").read_text())
    last = dt.date.fromisoformat(params["data"]["as_of"])
    for day in (last - dt.timedelta(days=n) for n in (0, 1, 2, 30)):
        export_as_of(root / "data" / "raw", day, root / "exports" / day.isoformat())
    params["data"]["source"] = "ingest"
    params["ingest"].update(format="contract", path="exports/{as_of}")
    params["score"]["incremental"] = True  # the days after reuse the day before's ledger
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False, allow_unicode=True))
    return root


def test_three_days_from_three_exports_then_the_second_again(project: Path) -> None:
    last = dt.date.fromisoformat(yaml.safe_load((project / "params.yaml").read_text())["data"]["as_of"])
    days = [last - dt.timedelta(days=n) for n in (2, 1, 0)]
    models = {p.name: p.stat().st_mtime_ns for p in (project / "models" / "fitted").iterdir()}
    database = project / "data" / "scored" / "risk.duckdb"
    for day in days:
        out = run_tool(risk("run", "--as-of", day.isoformat()), project).stdout
        assert f"score {day}: ok" in out, out
    with duckdb.connect(str(database), read_only=True) as con:
        scored = [d for (d,) in con.execute("SELECT as_of FROM score_days ORDER BY as_of").fetchall()]
    assert set(days) <= set(scored)
    before = {(q, d): day_rows(database, q, d) for q in QUEUES for d in days}
    assert all(before[("collections_queue", d)].height > 0 for d in days)

    run_tool(risk("run", "--as-of", days[1].isoformat()), project)  # the second day again
    for (queue, day), rows in before.items():
        after = day_rows(database, queue, day)
        assert after.equals(rows), f"{queue} {day} changed on rerunning {days[1]}"
    assert {p.name: p.stat().st_mtime_ns for p in (project / "models" / "fitted").iterdir()} == models
    assert {f"as_of={d}" for d in days} <= {p.name for p in (project / "data" / "scored").glob("as_of=*")}


def test_a_run_reports_realised_against_predicted_for_the_cohort_whose_outcome_matured(project: Path) -> None:
    """The cure model looks 30 days ahead: the run on the last day compares the cure probabilities the queue
    held 30 days before with the cures the ledger now shows, as a monitoring row of that day."""
    last = dt.date.fromisoformat(yaml.safe_load((project / "params.yaml").read_text())["data"]["as_of"])
    cohort = last - dt.timedelta(days=30)
    for day in (cohort, last):
        out = run_tool(risk("run", "--as-of", day.isoformat(), "--accept-shift"), project).stdout
        assert f"score {day}: ok" in out, out
    database = project / "data" / "scored" / "risk.duckdb"
    rows = read_day(database, "monitoring", last).filter(pl.col("measure") == "realised_rate")
    cure = rows.filter(pl.col("model") == "cure")
    assert cure.height == 1 and cure["feature"][0].startswith(f"scored {cohort}"), rows
    predicted = read_day(database, "collections_queue", cohort)["cure_probability"].drop_nulls()
    assert predicted.min() <= cure["reference"][0] <= predicted.max()  # the mean over loans with a label
    assert 0.0 < cure["value"][0] < 1.0 and cure["status"][0] in ("ok", "warning", "error")
    assert rows.filter(pl.col("model") == "early_warning").is_empty()  # 90 days ahead: not matured yet


def test_an_incremental_day_writes_exactly_the_tables_a_full_run_writes(project: Path, tmp_path: Path) -> None:
    """The day after a scored day reuses that day's instalment ledger and rebuilds only the loans with new rows;
    scoring the same export again from scratch (``score.incremental: false``) writes the same tables."""
    last = dt.date.fromisoformat(yaml.safe_load((project / "params.yaml").read_text())["data"]["as_of"])
    run_tool(risk("run", "--as-of", (last - dt.timedelta(days=1)).isoformat(), "--accept-shift"), project)
    out = run_tool(risk("run", "--as-of", last.isoformat(), "--accept-shift"), project).stdout
    assert "ledger reused, " in out, out
    rebuilt, loans = (int(n.replace(",", "")) for n in out.split("ledger reused, ")[1].split(" loans")[0].split(" of "))
    assert 0 < rebuilt < loans / 10, out

    full = Path(shutil.copytree(project, tmp_path / "full", symlinks=True))
    params = yaml.safe_load((full / "params.yaml").read_text())
    params["score"]["incremental"] = False
    (full / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False, allow_unicode=True))
    assert list((full / "data" / "scored").glob("ledger-*.parquet"))  # the incremental run's, copied
    out = run_tool(risk("score", "--as-of", last.isoformat(), "--accept-shift"), full).stdout
    assert "ledger built for all" in out, out  # the kept ledger is not read
    assert not list((full / "data" / "scored").glob("ledger-*.parquet"))  # nor left for a run that will not read it

    tables = ("collections_queue", "review_queue", "collections_options", "agreements_day", "legal_queue")
    for table in (*tables, "recovery_queue", "monitoring"):
        incremental = in_order(read_day(project / "data" / "scored" / "risk.duckdb", table, last))
        rescored = in_order(read_day(full / "data" / "scored" / "risk.duckdb", table, last))
        assert incremental.height > 0 or table not in QUEUES, table
        assert incremental.equals(rescored), f"{table}: the incremental day differs from a full run"


def day_tables(database: Path) -> set[str]:
    with duckdb.connect(str(database), read_only=True) as con:
        return {name for (name,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def fresh_copy(project: Path, folder: Path) -> Path:
    """A copy of ``project`` with no day scored yet (the history feeds the guard and the realised rates)."""
    root = Path(shutil.copytree(project, folder, symlinks=True))
    shutil.rmtree(root / "data" / "scored", ignore_errors=True)
    return root


def test_a_catch_up_in_one_process_writes_what_each_day_s_own_run_writes(project: Path, tmp_path: Path) -> None:
    """`risk run --as-of D-1 --through D` after the scheduler missed two days: each day loaded, validated and
    scored in turn by one process, the second day reusing the first's ledger; every table of each day equals the
    one that day's own `risk run` writes."""
    last = dt.date.fromisoformat(yaml.safe_load((project / "params.yaml").read_text())["data"]["as_of"])
    days = [last - dt.timedelta(days=1), last]
    one_by_one = fresh_copy(project, tmp_path / "one_by_one")
    for day in days:
        run_tool(risk("run", "--as-of", day.isoformat(), "--accept-shift"), one_by_one)
    caught_up = fresh_copy(project, tmp_path / "caught_up")
    out = run_tool(risk("run", "--as-of", days[0].isoformat(), "--through", last.isoformat()), caught_up).stdout
    lines = out.splitlines()
    assert [line.split(":")[0] for line in lines if line.startswith("score ")] == [f"score {d}" for d in days], out
    assert "ledger reused, " in lines[-1], out

    databases = [root / "data" / "scored" / "risk.duckdb" for root in (one_by_one, caught_up)]
    tables = [day_tables(database) for database in databases]
    assert tables[0] == tables[1] and set(QUEUES) <= tables[0], tables
    for day in days:
        for table in sorted(tables[0] - {"score_days"}):  # score_days: when each was written, by which run
            own, caught = (in_order(read_day(database, table, day)) for database in databases)
            assert caught.height > 0 or table not in QUEUES, (table, day)
            assert caught.equals(own), f"{table} {day}: the catch-up differs from the day's own run"


def test_a_scorer_that_stays_loads_the_models_once_and_hands_its_ledger_to_the_next_day_in_memory(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from risk.config import load_params
    from risk.models import tracking
    from risk.paths import Paths
    from risk.score import ledger_state
    from risk.score.stage import Scorer

    root = fresh_copy(project, tmp_path / "stays")
    params = load_params(root / "params.yaml")
    loads: list[str] = []
    load_version = tracking.load_version
    monkeypatch.setattr(tracking, "load_version", lambda name, v: loads.append(name) or load_version(name, v))
    scorer = Scorer(Paths.at(root))
    first = scorer.day(params, as_of=params.data.as_of - dt.timedelta(days=1), accept_shift=True)
    assert "ledger built for all" in first, first
    loaded_first = list(loads)
    assert len(loaded_first) >= 3, loaded_first  # the three models (and the PD scorecard for points)
    ledger_state.state_path(root / "data" / "scored").unlink()  # the next day can only reuse the one in memory
    second = scorer.day(params, as_of=params.data.as_of, accept_shift=True)
    assert "ledger reused, 0 of " in second, second  # the same export: no loan's rows changed
    assert loads == loaded_first, loads  # nothing loaded again

    # a catch-up's scorer holds each day's ledger for the next and writes only the last day's, once: the same
    # ledger the scorer above kept by writing each day's
    scored = root / "data" / "scored"
    kept_each_day = ledger_state.load(scored)
    ledger_state.state_path(scored).unlink()
    catching_up = Scorer(Paths.at(root), keep_each_day=False)
    for day in (params.data.as_of - dt.timedelta(days=1), params.data.as_of):
        catching_up.day(params, as_of=day, accept_shift=True)
        assert not ledger_state.state_path(scored).exists()  # held, not written
    assert catching_up.keep_ledger() == ""
    assert ledger_state.load(scored).equals(kept_each_day)
    assert not [p.name for p in scored.iterdir() if p.name.startswith(".ledger")]  # nothing staged left

    # a day that stops once its book is built has let the held ledger go: the day's own error is what is raised,
    # and the catch-up has nothing to write (the next run reads the ledger kept before it)
    ledger_state.state_path(scored).unlink()
    catching_up.day(params, as_of=params.data.as_of - dt.timedelta(days=1), accept_shift=True)
    guard = dataclasses.replace(params.score.guard, max_share_change=0.0, max_ratio=1.0001, min_count=1)
    strict = dataclasses.replace(params, score=dataclasses.replace(params.score, guard=guard))
    with pytest.raises(RiskDataError) as stopped:
        catching_up.day(strict, as_of=params.data.as_of)
    assert stopped.value.rule == "blast_radius"
    assert catching_up.keep_ledger() == ""
    assert not ledger_state.state_path(scored).exists()


def test_a_catch_up_stopped_by_a_missing_export_raises_that_error_with_the_failed_keep_as_a_note(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`risk run --through` whose second day has no export: the first day is written, its ledger is then kept for
    the next run, and should that keep fail as well, the day's own error is what is raised, the keep a note on it."""
    from risk.config import load_params
    from risk.daily import run_days
    from risk.paths import Paths
    from risk.score import ledger_state

    root = fresh_copy(project, tmp_path / "stopped")
    params = load_params(root / "params.yaml")
    written, missing = params.data.as_of - dt.timedelta(days=2), params.data.as_of - dt.timedelta(days=3)
    assert not (root / "exports" / missing.isoformat()).exists()

    def disk_gone(scored: Path, ledger: object) -> None:
        raise RuntimeError("the disk went away")

    monkeypatch.setattr(ledger_state, "stage", disk_gone)
    monkeypatch.chdir(root)  # the exports' folder is relative to the project, as `risk run` is run from it
    lines: list[str] = []
    with pytest.raises(Exception) as stopped:
        lines.extend(run_days(Paths.at(root), params, days=[written, missing], accept_shift=True))
    assert str(missing) in str(stopped.value) and "disk" not in str(stopped.value)
    assert stopped.value.__notes__ == ["the ledger was not kept: RuntimeError: the disk went away"]
    assert any(line.startswith(f"score {written}: ok") for line in lines), lines
    assert not read_day(root / "data" / "scored" / "risk.duckdb", "collections_queue", written).is_empty()
    assert not ledger_state.state_path(root / "data" / "scored").exists()
