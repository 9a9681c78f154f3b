"""Features on N loans with the polars engine and the Spark engine: wall time and peak memory.

    uv run --extra spark python benchmarks/spark_bench.py --loans 200000
    uv run --extra spark python benchmarks/spark_bench.py --loans 1000000 --engines spark --master local[2]

The book is simulated once and kept as Parquet under --data (reused when present). Each engine runs in
a fresh child process that reads the five tables from Parquet and writes both snapshot tables as
Parquet, as `risk features` does. Peak memory is the largest total RSS of the child's whole process
tree, polled every 0.2 s from /proc: on a local master that is the driver JVM (which runs the executors)
plus every Python worker. RSS counts pages shared between processes once per process, so the Spark figure
leans high.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

AS_OF = dt.date(2025, 12, 31)
TABLES = ("applications", "loans", "schedule", "repayments", "collection_actions")


def simulate_book(loans: int, folder: Path) -> dict[str, int]:
    """The five tables of an ``loans``-loan simulated book as Parquet in ``folder`` (kept for reruns)."""
    import polars as pl

    if not all((folder / f"{t}.parquet").exists() for t in TABLES):
        from risk.config import SimulateParams
        from risk.io import READ_OFTEN
        from risk.simulate import simulate

        book = simulate(SimulateParams(n_loans=loans, pending_applications=max(50, loans // 100)), as_of=AS_OF, seed=11)
        folder.mkdir(parents=True, exist_ok=True)
        for t in TABLES:
            book[t].write_parquet(folder / f"{t}.parquet", compression=READ_OFTEN)  # as the validate stage writes
    return {t: pl.scan_parquet(folder / f"{t}.parquet").select(pl.len()).collect().item() for t in TABLES}


def child_polars(data: Path, out: Path) -> dict:
    from risk import io
    from risk.config import FeatureParams
    from risk.features.build import build_features

    fs = build_features(io.read_tables(data), FeatureParams(), data_as_of=AS_OF)
    out.mkdir(parents=True, exist_ok=True)
    fs.loan_snapshots.write_parquet(out / "loan_snapshots", partition_by="as_of")
    fs.application_snapshots.write_parquet(out / "application_snapshots.parquet")
    return {"loan_snapshots": fs.loan_snapshots.height, "application_snapshots": fs.application_snapshots.height}


def child_spark(data: Path, out: Path, master: str, partitions: int, loans_per_partition: int) -> dict:
    from risk.config import FeatureParams
    from risk.spark import features
    from risk.spark.params import SparkParams
    from risk.spark.partition import auto_partitions, frame_of, spark_tables
    from risk.spark.session import spark_session

    started = time.perf_counter()
    spark = spark_session(SparkParams(master=master, app_name="risk-bench"))
    session_s = time.perf_counter() - started
    tables = spark_tables(spark, {t: str(data / f"{t}.parquet") for t in TABLES})
    n = auto_partitions(tables["loans"], partitions=partitions, loans_per_partition=loans_per_partition)
    envelope, _ = features.snapshots(tables, FeatureParams(), data_as_of=AS_OF, partitions=n)
    envelope = envelope.persist()  # both tables come out of one pass over the book
    frame_of(envelope, "loan_snapshots").write.mode("overwrite").partitionBy("as_of").parquet(
        str(out / "loan_snapshots")
    )
    frame_of(envelope, "application_snapshots").write.mode("overwrite").parquet(
        str(out / "application_snapshots.parquet")
    )
    counts = {name: frame_of(envelope, name).count() for name in ("loan_snapshots", "application_snapshots")}
    spark.stop()
    return {**counts, "partitions": n, "session_s": round(session_s, 1)}


def measure(cmd: list[str]) -> dict:
    """Run ``cmd``; its wall time, peak RSS of its process tree and the JSON it prints last."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.2)
    wall = time.perf_counter() - started
    lines = (proc.stdout.read() if proc.stdout else "").strip().splitlines()
    if proc.returncode != 0 or not lines:
        return {"wall_s": round(wall, 1), "peak_rss_gb": round(peak / 1e9, 2), "error": f"exit {proc.returncode}"}
    return {"wall_s": round(wall, 1), "peak_rss_gb": round(peak / 1e9, 2), **json.loads(lines[-1])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loans", type=int, default=1_000_000)
    ap.add_argument("--engines", default="polars,spark")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--partitions", type=int, default=0, help="borrower partitions; 0: from --loans-per-partition")
    ap.add_argument("--loans-per-partition", type=int, default=50_000)
    ap.add_argument("--data", type=Path, default=Path("/tmp/risk-bench"))
    ap.add_argument("--child", choices=["polars", "spark"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    book = args.data / f"book-{args.loans}"
    out = args.data / f"out-{args.loans}-{args.child}"
    if args.child == "polars":
        print(json.dumps(child_polars(book, out)))
        return
    if args.child == "spark":
        print(json.dumps(child_spark(book, out, args.master, args.partitions, args.loans_per_partition)))
        return
    started = time.perf_counter()
    sizes = simulate_book(args.loans, book)
    print(
        f"book of {args.loans:,} loans ({time.perf_counter() - started:.0f}s): "
        + ", ".join(f"{k} {v:,}" for k, v in sizes.items()),
        flush=True,
    )
    base = [
        sys.executable,
        __file__,
        "--loans",
        str(args.loans),
        "--data",
        str(args.data),
        "--master",
        args.master,
        "--partitions",
        str(args.partitions),
        "--loans-per-partition",
        str(args.loans_per_partition),
    ]
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    for engine in args.engines.split(","):
        result = measure([*base, "--child", engine])
        print(f"{engine:>6}: {json.dumps(result)}", flush=True)


if __name__ == "__main__":
    main()
