"""Benchmark: a scheduled day scored incrementally (yesterday's ledger kept) against the same day scored in full.

    uv run python benchmarks/incremental_bench.py                  # the project's own book (run `dvc repro` first)
    uv run python benchmarks/incremental_bench.py --loans 300000   # a larger simulated book, the same models

It copies the trained project (params, validated tables, models, MLflow store, monitoring references) to a
temporary folder. The day is the book's as_of; the day before is what a scheduler scored yesterday: its kept
ledger is built from the tables cut at the end of that day (:func:`risk.score.ledger_state.build`), exactly what
``risk score`` would have kept. Then ``risk score --as-of <day>`` runs as a whole process, in turn with
``score.incremental: false`` and ``true`` (yesterday's ledger restored before each incremental run), and the
benchmark prints per run the process's wall time and the stage's own time (its log line), medians, and the
ratio pair by pair. Then the day as a scorer that stays scores it (:class:`risk.score.stage.Scorer`, what
``risk run --as-of D --through E`` uses to catch up): in this process, a fresh scorer scores the day before on the
tables as they stood then (loading the models), then the day itself, timed, once with yesterday's ledger from
memory and once with ``score.incremental: false``, so the two sources of the gain show apart; like a catch-up's,
the scorer writes the ledger it holds once, after its last day, and that write is timed and printed apart. Last,
the ledger step alone in one process, full against incremental.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
import yaml

from risk.io import READ_OFTEN

ROOT = Path(__file__).resolve().parents[1]
COPIED = ("params.yaml", "data/validated", "models", "mlflow.db", "metrics/scores")


def held_at(tables: dict[str, pl.DataFrame], day: dt.date) -> dict[str, pl.DataFrame]:
    """The ledger's input tables as they stood at the end of ``day`` (later loans and payments cut)."""
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
    loans = tables["loans"].filter(pl.col("originated_on") <= day)
    ids = loans.select("loan_id")
    return {
        "loans": loans,
        "schedule": tables["schedule"].join(ids, on="loan_id", how="semi"),
        "repayments": tables["repayments"].filter(pl.col("paid_at") < end).join(ids, on="loan_id", how="semi"),
    }


def project_copy(
    source: Path, work: Path, loans: int, seed: int, *, years: int = 2, pending: int | None = None
) -> tuple[Path, dt.date]:
    """The trained project in ``work``; with ``loans``, its validated tables replaced by a simulated book whose first
    vintage is in the January ``years`` before as_of (and ``pending`` applications awaiting review, when given)."""
    for name in COPIED:
        src, dst = source / name, work / name
        if not src.exists():
            sys.exit(f"{src} is missing: run `dvc repro` in {source} first")
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, dst) if src.is_dir() else shutil.copy(src, dst)
    params = yaml.safe_load((work / "params.yaml").read_text())
    as_of = dt.date.fromisoformat(params["data"]["as_of"])
    if loans:
        from risk.config import SimulateParams
        from risk.simulate import simulate

        book = SimulateParams(n_loans=loans, start=as_of.replace(year=as_of.year - years, month=1, day=1))
        if pending is not None:
            book = dataclasses.replace(book, pending_applications=pending)
        simulated = simulate(book, as_of=as_of, seed=seed)
        folder = work / "data" / "validated"
        for parquet in folder.glob("*.parquet"):
            name = parquet.stem
            if name in simulated:  # compressed as the validate stage writes them
                simulated[name].write_parquet(parquet, compression=READ_OFTEN)
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False, allow_unicode=True))
    return work, as_of


def score(project: Path, day: dt.date, incremental: bool) -> tuple[float, float, str]:
    """``risk score --as-of day`` as a process: (process seconds, the stage's own seconds, its log line)."""
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["score"]["incremental"] = incremental
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False, allow_unicode=True))
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "OMP_WAIT_POLICY": "PASSIVE"}
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "risk.cli", "score", "--as-of", day.isoformat(), "--accept-shift"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    took = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"risk score failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    line = proc.stdout.strip().splitlines()[-1]
    stage = float(re.search(r"; ([0-9.]+)s -> ", line).group(1))
    return took, stage, line


def resident_day(
    project: Path, day: dt.date, yesterday: dict[str, pl.DataFrame], *, incremental: bool
) -> tuple[float, float]:
    """Seconds a fresh :class:`Scorer` takes for ``day`` after scoring the day before on ``yesterday``'s tables
    (written into the validated folder for that day, then put back), and for the one write of the ledger it holds
    after it. The scorer is a catch-up's (``risk run --through``): it keeps on disk only the last day's ledger."""
    import dataclasses

    from risk.config import load_params
    from risk.paths import Paths
    from risk.score.stage import Scorer

    params = load_params(project / "params.yaml")
    params = dataclasses.replace(params, score=dataclasses.replace(params.score, incremental=incremental))
    validated = project / "data" / "validated"
    saved = {name: pl.read_parquet(validated / f"{name}.parquet") for name in yesterday}
    scorer = Scorer(Paths.at(project), keep_each_day=False)
    try:
        for name, frame in yesterday.items():
            frame.write_parquet(validated / f"{name}.parquet", compression=READ_OFTEN)
        scorer.day(params, as_of=day - dt.timedelta(days=1), accept_shift=True)
    finally:
        for name, frame in saved.items():
            frame.write_parquet(validated / f"{name}.parquet", compression=READ_OFTEN)
    started = time.perf_counter()
    scorer.day(params, as_of=day, accept_shift=True)
    took = time.perf_counter() - started
    started = time.perf_counter()
    scorer.keep_ledger()
    return took, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--project", type=Path, default=ROOT, help="a project after `dvc repro`")
    ap.add_argument("--loans", type=int, default=0, help="simulate a book of this many loans (0: the project's own)")
    ap.add_argument("--runs", type=int, default=5, help="pairs of runs (full, incremental)")
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args(argv)
    # the scorer that stays runs in this process: with OpenMP's passive wait, as the CLI sets it for `risk run`
    # (read when LightGBM first loads OpenMP, below)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from risk import io
    from risk.score import ledger_state

    print(f"incremental_bench: {dt.datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} cpus, {a.runs} pairs", flush=True)
    with tempfile.TemporaryDirectory(prefix="incremental_bench-") as tmp:
        project, day = project_copy(a.project, Path(tmp), a.loans, a.seed)
        scored = project / "data" / "scored"
        scored.mkdir(parents=True, exist_ok=True)
        tables = io.read_book(project / "data" / "validated")
        yesterday = held_at(tables, day - dt.timedelta(days=1))
        ledger_state.save(scored, ledger_state.build(yesterday))
        kept = ledger_state.state_path(scored)
        kept_yesterday = Path(tmp) / "kept-yesterday.parquet"
        shutil.copy(kept, kept_yesterday)
        print(
            f"book: {tables['loans'].height:,} loans, {tables['schedule'].height:,} instalments, "
            f"{tables['repayments'].height:,} repayments; day {day}, yesterday's ledger kept",
            flush=True,
        )
        score(project, day, incremental=False)  # warm-up: file caches, and the day exists for the guard
        rows: list[tuple[float, ...]] = []
        for i in range(a.runs):  # each round: the two processes, then the two days in a scorer that stays
            full_wall, full_stage, full_line = score(project, day, incremental=False)
            shutil.copy(kept_yesterday, kept)
            inc_wall, inc_stage, inc_line = score(project, day, incremental=True)
            stays_inc, kept_once = resident_day(project, day, yesterday, incremental=True)
            stays_full, _ = resident_day(project, day, yesterday, incremental=False)
            rows.append((full_wall, full_stage, inc_wall, inc_stage, stays_inc, stays_full, kept_once))
            print(
                f"  round {i + 1}: full {full_wall:.2f}s ({full_stage:.1f}s in stage), "
                f"incremental {inc_wall:.2f}s ({inc_stage:.1f}s in stage); in a scorer that stays: "
                f"incremental {stays_inc:.2f}s (its ledger then written once, {kept_once:.2f}s), "
                f"full {stays_full:.2f}s",
                flush=True,
            )
        print(f"  full:        {full_line.split(' -> ')[1]}")
        print(f"  incremental: {inc_line.split(' -> ')[1]}")
        med = [statistics.median(r[k] for r in rows) for k in range(7)]

        def spread(ratios: list[float]) -> str:
            ratios = sorted(ratios)
            return f"{ratios[0]:.2f} / {statistics.median(ratios):.2f} / {ratios[-1]:.2f}"

        print("\n| run | process wall s (median) | stage s (median) |\n|---|---|---|")
        print(f"| full day (score.incremental: false) | {med[0]:.2f} | {med[1]:.2f} |")
        print(f"| incremental day (yesterday's ledger) | {med[2]:.2f} | {med[3]:.2f} |")
        print(
            f"| ratio full / incremental, round by round (min / median / max) | "
            f"{spread([r[0] / r[2] for r in rows])} | {spread([r[1] / r[3] for r in rows])} |"
        )
        print(
            "\nthe day in a scorer that stays (models loaded, the day before scored first; "
            "ratios round by round, min / median / max):\n"
            f"| yesterday's ledger from memory | {med[4]:.2f} s |\n"
            f"| then, once for the whole catch-up, its last day's ledger written | {med[6]:.2f} s |\n"
            f"| ledger built in full | {med[5]:.2f} s |\n"
            f"| full day as a process / the incremental day in a scorer that stays | "
            f"{spread([r[0] / r[4] for r in rows])} |\n"
            f"| of which staying: full process / full day in a scorer that stays | "
            f"{spread([r[0] / r[5] for r in rows])} |\n"
            f"| of which the ledger: full / incremental, both in a scorer that stays | "
            f"{spread([r[5] / r[4] for r in rows])} |"
        )
        kept_frame = pl.read_parquet(kept_yesterday)
        full_s, inc_s = [], []
        for _ in range(3):
            t = time.perf_counter()
            ledger_state.build(tables)
            full_s.append(time.perf_counter() - t)
            t = time.perf_counter()
            built = ledger_state.build(tables, kept_frame)
            inc_s.append(time.perf_counter() - t)
        print(
            f"\nledger step alone (median of 3, one process): full {statistics.median(full_s):.2f}s, "
            f"incremental {statistics.median(inc_s):.2f}s ({built.summary()}): "
            f"{statistics.median(full_s) / statistics.median(inc_s):.1f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
