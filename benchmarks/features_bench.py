"""Benchmark: loan-snapshot features on a simulated book, polars (the package) against plain pandas.

    uv run python benchmarks/features_bench.py                      # 1M loans, pandas on a ~30k-loan sample
    uv run python benchmarks/features_bench.py --loans 50000 --sample-loans 10000   # smoke run

Every phase runs in a fresh child process (multiprocessing "spawn"), so its peak resident memory
(``ru_maxrss``) is its own and not the parent's or an earlier phase's. The phases:

1. simulate the book and write its tables to a scratch folder, plus a sample of whole borrowers
   (a hash partition of ``borrower_id``, as ``risk.features.chunked`` cuts them);
2. polars ``loan_snapshots`` on the sample (the package as it runs: with its C kernels, ``risk.native``, where a C
   compiler built them), then again by the polars code alone (``RISK_NATIVE=0``);
3. the pandas baseline (``benchmarks/pandas_baseline.py``) on the same sample;
4. polars on the whole book (``--chunks N`` builds it with ``build_loan_snapshots_chunked``).

Then it checks that polars and pandas agree on every column both compute, and prints snapshots per
second and peak memory per phase, with the polars / pandas ratio on the sample (the fair comparison:
same process type, same data, same as_of dates). Goal: >= 10x the baseline's throughput, peak < 8 GiB.

A phase whose resident memory passes ``--mem-limit-gib`` is stopped (the machine is shared) and
reported as such, as is one that passes ``--timeout``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

AS_OF = dt.date(2025, 12, 31)
TABLES = ("applications", "loans", "schedule", "repayments", "collection_actions")
GIB = 1024**3


# --- child side ------------------------------------------------------------------------------------
def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _guard(limit: int) -> None:
    """Stop this process if its resident memory passes ``limit`` bytes (checked every 50 ms)."""

    def watch() -> None:
        while True:
            if _rss() > limit:
                sys.stderr.write(f"phase stopped: resident memory passed {limit / GIB:.1f} GiB\n")
                os._exit(3)
            time.sleep(0.05)

    threading.Thread(target=watch, daemon=True).start()


def _read(folder: Path):
    import polars as pl

    return {t: pl.read_parquet(folder / f"{t}.parquet") for t in TABLES}


def _dates(loans) -> list[dt.date]:
    from risk.features import month_ends

    return month_ends(loans["originated_on"].min(), AS_OF)


def phase_simulate(work: Path, loans: int, sample_loans: int, seed: int) -> dict:
    from risk.config import SimulateParams
    from risk.features.chunked import borrower_chunk
    from risk.io import READ_OFTEN
    from risk.simulate import simulate

    started = time.perf_counter()
    tables = simulate(SimulateParams(n_loans=loans), as_of=AS_OF, seed=seed)
    took = time.perf_counter() - started
    tables.pop("truth")
    parts = max(1, round(loans / sample_loans))
    sample = {k: v.collect() for k, v in borrower_chunk(tables, 0, parts).items()}
    for name, folder in (("full", work / "full"), ("sample", work / "sample")):
        folder.mkdir(parents=True, exist_ok=True)
        for t in TABLES:
            # compressed as the validate stage writes the tables the features stage reads
            (tables if name == "full" else sample)[t].write_parquet(folder / f"{t}.parquet", compression=READ_OFTEN)
    per_borrower = tables["loans"]["borrower_id"].value_counts()["count"]
    return {
        "seconds": took,
        "loans": tables["loans"].height,
        "sample_loans": sample["loans"].height,
        "rows": {t: tables[t].height for t in TABLES},
        "largest_borrower": int(per_borrower.max()),
    }


def phase_polars(
    folder: Path,
    chunks: int,
    out: Path | None,
    proposed: bool,
    labels: bool = True,
    before: bool = False,
    kernels: bool = True,
) -> dict:
    """The package's loan snapshots; ``labels`` False builds features only (as the pandas baseline does), ``before``
    builds the repayment features as the first release did (every pair against every row, by the polars code), and
    ``kernels`` False builds them by the polars code alone (``RISK_NATIVE=0``: no C kernels of risk.native)."""
    if before or not kernels:
        os.environ["RISK_NATIVE"] = "0"  # read when the kernels are first asked for, below
    from risk.config import FeatureParams
    from risk.features import loan_snapshots
    from risk.features.chunked import build_loan_snapshots_chunked
    from risk.native import kernels as compiled

    if proposed:
        _use_proposed_borrower_state()
    if before:  # month ends as the first release built them: every pair expanded against every row
        from risk.features import build

        build._repayment_by_lookups = build._repayment_by_expansion
    tables = _read(folder)
    dates = _dates(tables["loans"])
    rss_input = _rss()
    started = time.perf_counter()
    if chunks > 1:
        snap = build_loan_snapshots_chunked(tables, FeatureParams(), as_of_dates=dates, data_as_of=AS_OF, chunks=chunks)
    else:
        snap = loan_snapshots(
            tables, FeatureParams(), as_of_dates=dates, data_as_of=AS_OF, with_labels=labels
        ).collect()
    took = time.perf_counter() - started
    if out is not None:
        snap.write_parquet(out)
    return {
        "kernels": compiled() is not None,
        "seconds": took,
        "snapshots": snap.height,
        "loans": tables["loans"].height,
        "dates": len(dates),
        "rss_input": rss_input,
        "peak": _peak(),
    }


def phase_floor(folder: Path) -> dict:
    """The physical floor: read the five tables and group each by loan once (no feature can cost less)."""
    import polars as pl

    started = time.perf_counter()
    tables = _read(folder)
    for name, frame in tables.items():
        key = "loan_id" if "loan_id" in frame.columns and name != "applications" else "application_id"
        frame.group_by(key).agg(pl.len(), pl.all().exclude(key).first())
    return {"seconds": time.perf_counter() - started, "peak": _peak()}


def phase_pandas(folder: Path, out: Path) -> dict:
    import pandas as pd
    import pandas_baseline

    from risk.contract import ACTION_STEP, LADDER_RANK

    tables = {t: pd.read_parquet(folder / f"{t}.parquet") for t in TABLES}
    dates = _dates(_read(folder)["loans"])
    rss_input = _rss()
    started = time.perf_counter()
    snap = pandas_baseline.loan_features(
        tables, as_of_dates=dates, grace_days=3, step_rank={a.value: LADDER_RANK[s] for a, s in ACTION_STEP.items()}
    )
    took = time.perf_counter() - started
    snap.to_parquet(out)
    return {"seconds": took, "snapshots": len(snap), "rss_input": rss_input, "peak": _peak()}


def _use_proposed_borrower_state() -> None:
    """Swap in the linear borrower-state join proposed in docs/performance.md (experiment only)."""
    import polars as pl

    from risk.delinquency import days_past_due_expr
    from risk.features import build

    def borrower_state_linear(pairs: pl.LazyFrame, loans: pl.LazyFrame, ledger: pl.LazyFrame) -> pl.LazyFrame:
        # the package's numbered pairs (``pair``), each with its borrower, day and own loan (null for an application)
        keys = pairs.select("pair", "borrower_id", "as_of", pl.col("loan_id").alias("self_id"))
        closed = ledger.group_by("loan_id").agg(pl.col("closed_on").first())
        # every loan of each borrower at each as_of: O(loans x dates), where the current join is O(k^2) per borrower
        book = (
            keys.select("borrower_id", "as_of")
            .unique()
            .join(loans.select("loan_id", "borrower_id", "originated_on"), on="borrower_id")
            .filter(pl.col("originated_on") <= pl.col("as_of"))
            .join(closed, on="loan_id", how="left")
            .with_columns(
                active=pl.col("closed_on").is_null() | (pl.col("closed_on") > pl.col("as_of")),
                opened_90d=pl.col("originated_on") > pl.col("as_of") - pl.duration(days=90),
            )
        )
        dpd = (
            book.filter("active")
            .select("loan_id", "as_of")
            .join(ledger.select("loan_id", "due_date", "paid_on"), on="loan_id")
            .group_by("loan_id", "as_of")
            .agg(dpd=days_past_due_expr(pl.col("as_of")).max())
        )
        book = book.join(dpd, on=["loan_id", "as_of"], how="left")
        totals = book.group_by("borrower_id", "as_of").agg(
            n_active=pl.col("active").sum().cast(pl.Int64),
            n_opened=pl.col("opened_90d").sum().cast(pl.Int64),
            # the two worst: leaving one loan out leaves the other
            dpd_top=pl.col("dpd").filter(pl.col("active")).top_k(2).sort(descending=True),
        )
        me = book.select("borrower_id", "as_of", pl.col("loan_id").alias("self_id"), "active", "opened_90d", "dpd")
        top = pl.col("dpd_top").list
        return (
            keys.join(totals, on=["borrower_id", "as_of"], how="left")
            .join(me, on=["borrower_id", "as_of", "self_id"], how="left")
            .with_columns(pl.col("active", "opened_90d").fill_null(False))
            .select(
                "pair",
                other_active_loans=pl.col("n_active").fill_null(0) - pl.col("active").cast(pl.Int64),
                other_worst_days_past_due=pl.when(pl.col("active") & (pl.col("dpd") == top.get(0, null_on_oob=True)))
                .then(top.get(1, null_on_oob=True))
                .otherwise(top.get(0, null_on_oob=True))
                .fill_null(0),
                loans_opened_90d=pl.col("n_opened").fill_null(0) - pl.col("opened_90d").cast(pl.Int64),
            )
        )

    build._borrower_state = borrower_state_linear


def _child(conn, limit: int, module: str, fn_name: str, args: tuple) -> None:
    import importlib

    _guard(limit)
    sys.path.insert(0, str(Path(__file__).parent))
    try:
        conn.send(("ok", getattr(importlib.import_module(module), fn_name)(*args)))
    except BaseException:  # report any failure to the parent, which prints it with the phase's name
        conn.send(("error", traceback.format_exc()))


# --- parent side -----------------------------------------------------------------------------------
def run_phase(name: str, fn_name: str, *args, limit: int, timeout: float, module: str = "__main__") -> dict:
    """Run ``module.fn_name(*args)`` in a fresh spawned process; its result, or {'failed': why}."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, limit, module, fn_name, args), name=f"bench-{name}")
    started = time.perf_counter()
    proc.start()
    child.close()
    result: dict
    if parent.poll(timeout):
        try:
            status, payload = parent.recv()
        except EOFError:
            status, payload = "error", f"process ended with exit code {proc.exitcode}"
        result = payload if status == "ok" else {"failed": payload}
    else:
        proc.kill()  # only the process this function started
        result = {"failed": f"timed out after {timeout:.0f}s"}
    proc.join()
    if proc.exitcode == 3:
        result = {"failed": f"stopped: resident memory passed {limit / GIB:.1f} GiB"}
    result["wall"] = time.perf_counter() - started
    status = "FAILED " + str(result["failed"]).strip().splitlines()[-1] if "failed" in result else "ok"
    print(f"  [{name}] {status} ({result['wall']:.0f}s)", flush=True)
    return result


def compare(polars_path: Path, pandas_path: Path) -> tuple[list[str], int]:
    """Assert polars and pandas agree on every shared column; the columns compared and the row count."""
    import numpy as np
    import pandas_baseline
    import polars as pl

    left = pl.read_parquet(polars_path)
    right = pl.from_pandas(pl.read_parquet(pandas_path).to_pandas()).with_columns(pl.col("as_of").cast(pl.Date))
    assert left.select("loan_id", "as_of").equals(right.select("loan_id", "as_of")), "different (loan_id, as_of) rows"
    shared = [c for c in pandas_baseline.FEATURES if c in left.columns]
    bad = []
    for c in shared:
        x, y = left[c].cast(pl.Float64).to_numpy(), right[c].cast(pl.Float64).to_numpy()
        same = np.isclose(x, y, rtol=1e-9, atol=1e-6, equal_nan=True)
        if not same.all():
            bad.append(f"{c}: {int((~same).sum())} rows differ")
    assert not bad, "polars and pandas disagree: " + "; ".join(bad)
    return shared, left.height


def _gib(b: float) -> str:
    return f"{b / GIB:.2f} GiB"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loans", type=int, default=1_000_000, help="loans in the simulated book")
    ap.add_argument("--sample-loans", type=int, default=30_000, help="about this many loans for the pandas comparison")
    ap.add_argument("--chunks", type=int, default=1, help="borrower partitions for the full-book polars build")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--mem-limit-gib", type=float, default=16.0, help="stop a phase above this resident memory")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per phase")
    ap.add_argument("--skip-full", action="store_true", help="only the sample phases")
    ap.add_argument(
        "--full-before", action="store_true", help="also build the full book's repayment features as before"
    )
    ap.add_argument(
        "--proposed-borrower-state",
        action="store_true",
        help="experiment: swap in the linear borrower-state join proposed in docs/performance.md",
    )
    a = ap.parse_args(argv)
    limit, tmo = int(a.mem_limit_gib * GIB), a.timeout
    print(
        f"features_bench: {a.loans:,} loans, sample ~{a.sample_loans:,}, chunks {a.chunks}, "
        f"proposed borrower state: {a.proposed_borrower_state}, {dt.datetime.now():%Y-%m-%d %H:%M}, "
        f"{os.cpu_count()} cpus",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="features_bench-") as tmp:
        work = Path(tmp)
        sim = run_phase("simulate", "phase_simulate", work, a.loans, a.sample_loans, a.seed, limit=limit, timeout=tmo)
        if "failed" in sim:
            print(sim["failed"])
            return 1
        print(
            f"  book: {sim['rows']}; largest borrower holds {sim['largest_borrower']:,} loans; "
            f"sample {sim['sample_loans']:,} loans; simulated in {sim['seconds']:.0f}s"
        )
        pol_s = run_phase(
            "polars sample",
            "phase_polars",
            work / "sample",
            1,
            work / "polars.parquet",
            a.proposed_borrower_state,
            False,
            limit=limit,
            timeout=tmo,
        )
        pan_s = run_phase(
            "pandas sample", "phase_pandas", work / "sample", work / "pandas.parquet", limit=limit, timeout=tmo
        )
        before_s = run_phase(
            "polars sample, repayment features as before",
            "phase_polars",
            work / "sample",
            1,
            None,
            a.proposed_borrower_state,
            False,
            True,
            limit=limit,
            timeout=tmo,
        )
        alone_s = run_phase(
            "polars sample, the polars code alone (RISK_NATIVE=0)",
            "phase_polars",
            work / "sample",
            1,
            None,
            a.proposed_borrower_state,
            False,
            False,
            False,
            limit=limit,
            timeout=tmo,
        )
        labelled_s = run_phase(
            "polars sample, with labels",
            "phase_polars",
            work / "sample",
            1,
            None,
            a.proposed_borrower_state,
            True,
            limit=limit,
            timeout=tmo,
        )
        floor_s = run_phase("floor sample", "phase_floor", work / "sample", limit=limit, timeout=tmo)
        full = (
            {"failed": "skipped"}
            if a.skip_full
            else run_phase(
                "polars full",
                "phase_polars",
                work / "full",
                a.chunks,
                None,
                a.proposed_borrower_state,
                limit=limit,
                timeout=tmo,
            )
        )

        full_before = (
            run_phase(
                "polars full, repayment features as before",
                "phase_polars",
                work / "full",
                a.chunks,
                None,
                a.proposed_borrower_state,
                True,
                True,
                limit=limit,
                timeout=tmo,
            )
            if a.full_before and not a.skip_full
            else {"failed": "skipped"}
        )
        rows = []
        for label, r in (
            ("polars, sample (features, as the baseline)", pol_s),
            ("polars, sample, the polars code alone (no C kernels)", alone_s),
            ("polars, sample, repayment features as before", before_s),
            ("polars, sample, features and labels", labelled_s),
            ("pandas, sample (features)", pan_s),
            (f"polars, full book{f' ({a.chunks} chunks)' if a.chunks > 1 else ''}", full),
            ("polars, full book, repayment features as before", full_before),
        ):
            if "failed" in r:
                rows.append(f"| {label} | failed: {str(r['failed']).strip().splitlines()[-1]} | | | | |")
            else:
                rate = r["snapshots"] / r["seconds"]
                rows.append(
                    f"| {label} | {r['snapshots']:,} | {r['seconds']:.1f} | {rate:,.0f} "
                    f"| {_gib(r['peak'])} | {_gib(r['rss_input'])} |"
                )
        print("\n| phase | snapshots | seconds | snapshots/s | peak RSS | RSS with inputs loaded |")
        print("|---|---|---|---|---|---|")
        print("\n".join(rows))
        if "failed" not in pol_s and "failed" not in pan_s:
            ratio = (pol_s["snapshots"] / pol_s["seconds"]) / (pan_s["snapshots"] / pan_s["seconds"])
            print(
                f"\nthroughput polars / pandas on the same sample: {ratio:.1f}x (goal >= 10x); "
                f"peak memory polars / pandas: {pol_s['peak'] / pan_s['peak']:.2f}"
            )
            if not pol_s["kernels"]:
                print("the C kernels were not built here (no compiler, or RISK_NATIVE=0): polars alone above")
            if "failed" not in alone_s:
                print(
                    f"the C kernels / the polars code alone, same sample: "
                    f"{alone_s['seconds'] / pol_s['seconds']:.2f}x faster"
                )
            if "failed" not in before_s:
                print(f"polars now / as before, same sample: {before_s['seconds'] / pol_s['seconds']:.2f}x faster")
            if "failed" not in floor_s:
                print(
                    f"floor (read the five tables, group each by loan once): {floor_s['seconds']:.2f}s; "
                    f"polars features {pol_s['seconds'] / floor_s['seconds']:.1f}x the floor (goal within 3x)"
                )
            shared, n = compare(work / "polars.parquet", work / "pandas.parquet")
            print(f"values agree on {n:,} snapshots x {len(shared)} columns: {', '.join(shared)}")
        if "failed" not in full:
            per_loan = full["snapshots"] / full["loans"]
            print(
                f"full book: {full['snapshots']:,} snapshots of {full['loans']:,} loans over {full['dates']} "
                f"month ends ({per_loan:.1f} per loan); peak {_gib(full['peak'])} (goal < 8 GiB)"
            )
            if "failed" not in full_before:
                print(
                    f"full book as before: {full_before['seconds']:.1f}s, peak {_gib(full_before['peak'])}; now "
                    f"{full_before['seconds'] / full['seconds']:.2f}x faster at "
                    f"{full['peak'] / full_before['peak']:.2f} of the peak"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
