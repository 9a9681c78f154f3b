"""Benchmark: the whole ``risk score`` day as a process, on a simulated book, against another source tree.

    uv run python benchmarks/day_bench.py --active 1000000 --baseline /tmp/old/src   # the issue's million
    uv run python benchmarks/day_bench.py --loans 1500000                            # two years of vintages
    uv run python benchmarks/day_bench.py --active 20000 --rounds 1                  # smoke run
    uv run python benchmarks/day_bench.py --keep /tmp/day1m                          # simulate once, then reuse

It copies the trained project (params, validated tables, models, MLflow store, monitoring references; run
``dvc repro`` first) to a scratch folder and replaces its validated tables with a simulated book: with
``--active``, about that many loans active at as_of (the first vintage in as_of's January, as
``score_bench.py`` simulates it); with ``--loans``, that many loans from two years before as_of (the book
``incremental_bench.py`` builds). Then ``risk score --as-of <as_of>`` runs as a whole process with
``score.incremental: false``, round by round: this tree's code, and, with ``--baseline`` (the ``src`` folder
of another tree, e.g. a ``git worktree`` of an older commit), that tree's code, the two taking turns to go
first, on the same book and the same models. It prints per run the process's wall time, the stage's own time
(its log line), the process's own peak resident memory (``ru_maxrss`` from ``wait4``) and the open loans scored
per second, the ratio to the baseline round by round, and whether the two trees wrote the same day (every table).
Nothing here asserts a time. On a shared machine compare the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from incremental_bench import ROOT, project_copy  # noqa: E402
from score_bench import ACTIVE_SHARE  # noqa: E402

GIB = 1024**3


def simulated_project(source: Path, work: Path, *, active: int, loans: int, seed: int) -> dt.date:
    """The trained project in ``work`` with a simulated book: about ``active`` loans active at as_of (vintages from
    as_of's January, as ``score_bench.py`` simulates them), or ``loans`` loans over two years. Returns as_of."""
    if active:
        pending = max(100, active // 100)
        _, as_of = project_copy(source, work, round(active / ACTIVE_SHARE), seed, years=0, pending=pending)
    else:
        _, as_of = project_copy(source, work, loans, seed)
    params = yaml.safe_load((work / "params.yaml").read_text())
    params["score"]["incremental"] = False  # a full day, and no kept ledger for the next run to read
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False, allow_unicode=True))
    return as_of


def score_day(project: Path, day: dt.date, src: Path) -> dict:
    """``risk score`` as a process with the code of ``src`` (a tree's src folder): its figures and log line."""
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "OMP_WAIT_POLICY": "PASSIVE", "PYTHONPATH": str(src)}
    cmd = [sys.executable, "-m", "risk.cli", "score", "--as-of", day.isoformat(), "--accept-shift"]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=project, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own resource use, its peak memory among it
        took = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        sys.exit(f"risk score failed ({src}):\n{stdout[-2000:]}\n{stderr[-2000:]}")
    line = stdout.strip().splitlines()[-1]
    return {
        "seconds": took,
        "stage": float(re.search(r"; ([0-9.]+)s -> ", line).group(1)),
        "open": int(re.search(r"; ([0-9,]+) open loans", line).group(1).replace(",", "")),
        "peak": usage.ru_maxrss * 1024,  # KiB on Linux
        "line": line,
    }


def same_day(a: Path, b: Path) -> list[str]:
    """The tables of two day folders that differ, or that only one of them holds."""
    names = sorted({p.name for p in a.glob("*.parquet")} | {p.name for p in b.glob("*.parquet")})
    return [
        name
        for name in names
        if not ((a / name).exists() and (b / name).exists())
        or not pl.read_parquet(a / name).equals(pl.read_parquet(b / name))
    ]


def _row(label: str, r: dict) -> str:
    rate = r["open"] / r["seconds"]
    return f"| {label} | {r['seconds']:.2f} | {r['stage']:.1f} | {r['peak'] / GIB:.2f} | {rate:,.0f} |"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--project", type=Path, default=ROOT, help="a project after `dvc repro`")
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--active", type=int, default=1_000_000, help="about this many loans active at as_of")
    size.add_argument("--loans", type=int, help="this many loans from two years before as_of instead")
    ap.add_argument("--baseline", type=Path, help="the src folder of another tree, run after this one each round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument(
        "--keep",
        type=Path,
        help="simulate the project into this folder and keep it; a later run with the same book reuses it as it was "
        "left, models too (about 6 minutes saved at a million; delete the folder to start again)",
    )
    a = ap.parse_args(argv)
    if a.rounds < 1 or (a.loans is not None and a.loans < 1) or a.active < 1:
        ap.error("--rounds, --loans and --active must be at least 1")
    here = ROOT / "src"
    baseline = a.baseline.resolve() if a.baseline is not None else None  # the runs' working folder is the copy's
    if baseline is not None and not (baseline / "risk").is_dir():
        sys.exit(f"--baseline {baseline} holds no risk package (pass a tree's src folder)")
    active, loans = (0, a.loans) if a.loans else (a.active, 0)
    book = f"~{active:,} active loans" if active else f"{loans:,} loans over two years"
    when = f"{dt.datetime.now():%Y-%m-%d %H:%M}"
    print(f"day_bench: {book}, {a.rounds} rounds, {when}, {os.cpu_count()} cpus", flush=True)
    with tempfile.TemporaryDirectory(prefix="day_bench-") as tmp:
        work = a.keep.resolve() / "project" if a.keep else Path(tmp) / "project"
        marker = work.parent / "day_bench.json"
        wanted = {"active": active, "loans": loans, "seed": a.seed}
        kept_book = json.loads(marker.read_text()) if a.keep and marker.exists() else None
        if kept_book is not None and kept_book["book"] == wanted:
            day = dt.date.fromisoformat(kept_book["as_of"])
            print(f"  book kept in {work.parent} reused; scoring {day}", flush=True)
        else:
            if kept_book is not None:
                sys.exit(f"--keep {a.keep} holds another book ({kept_book['book']}): delete it or pick another folder")
            if work.exists():
                sys.exit(f"--keep {a.keep} holds a project this benchmark did not finish: delete it first")
            started = time.perf_counter()
            # simulated in a process of its own: a child's peak (wait4's ru_maxrss) starts from its parent's resident
            # memory at the fork, which the simulation would leave at 10.5 GiB, above any day's own
            spawn = multiprocessing.get_context("spawn")
            with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=spawn) as simulating:
                day = simulating.submit(
                    simulated_project, a.project, work, active=active, loans=loans, seed=a.seed
                ).result()
            if a.keep:
                marker.write_text(json.dumps({"book": wanted, "as_of": day.isoformat()}))
            print(f"  book simulated in {time.perf_counter() - started:.0f}s; scoring {day}", flush=True)
        folder = work / "data" / "scored" / f"as_of={day.isoformat()}"
        kept = Path(tmp) / "this_day"
        rows, ratios, differ = [], [], set()
        for round_ in range(1, a.rounds + 1):
            if baseline is None:
                new = score_day(work, day, here)
                rows.append(_row(f"{round_}: this tree", new))
                continue
            # the two trees take turns going first, so neither always runs on a warmer machine
            order = ("this tree", "baseline") if round_ % 2 else ("baseline", "this tree")
            runs = {}
            for side in order:
                runs[side] = score_day(work, day, here if side == "this tree" else baseline)
                rows.append(_row(f"{round_}: {side}", runs[side]))
                if side == "this tree":
                    shutil.rmtree(kept, ignore_errors=True)
                    shutil.copytree(folder, kept)
            new = runs["this tree"]
            ratios.append(new["seconds"] / runs["baseline"]["seconds"])
            differ |= set(same_day(kept, folder))
        print(f"  {new['line'].split(' -> ')[0]}")
        print("\n| run | process s | stage s | peak GiB | open loans/s (process) |\n|---|---|---|---|---|")
        print("\n".join(rows))
        if ratios:
            print(f"\nthis tree / baseline, round by round: {', '.join(f'{r:.2f}x' for r in ratios)}")
            print("the day's tables: " + ("all the same" if not differ else f"differ: {', '.join(sorted(differ))}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
