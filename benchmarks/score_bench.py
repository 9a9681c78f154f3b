"""Benchmark: score about 1M active loans at one as_of end to end, and the model calls against mlflow.pyfunc.

    uv run python benchmarks/score_bench.py                  # ~1M active loans
    uv run python benchmarks/score_bench.py --loans 30000    # smoke run

Self-contained: it trains the three models (LightGBM and scorecard candidates, LightGBM as champion)
on a small simulated book, logs them to a temporary sqlite MLflow store, then simulates a scoring
book whose first vintage is one year before as_of, sized so that about ``--loans`` loans are active at
as_of. Every phase runs in a fresh spawned process so its peak resident memory is its own:

1. train (not timed as part of scoring);
2. simulate the scoring book and write its tables;
3. score end to end as ``risk score`` does: load models by alias, read the tables, loan snapshots
   at as_of, early-warning and cure probabilities, collections queue with reasons, review queue,
   Parquet + DuckDB sinks; timed per part (features / model predictions / reasons / queues / sinks);
4. the model calls alone: ``RiskModel.predict_proba`` on the polars snapshot, every row through both loan
   models (scoring calls each only on the rows of its scope; the baseline below scores every row too);
5. the baseline: the same registered models through ``mlflow.pyfunc.load_model(...).predict`` on a
   pandas frame, in one go.

Step 3 runs three times on the same book in the same run: as before (reason codes for every queued loan,
LightGBM's own predict, the ledger without fingerprints; its model calls are today's, each model on its scope's
rows from one polars-built matrix, so they no longer show the old cost), as now (reasons for the scheduled
contacts and legal referrals, the compiled predictor from ``score.compiled_min_rows`` loans, its compile time
included), and the day after (as now, with the ledger a run on the day before would have kept, built and written
by a process of its own beforehand, and the compile cache); the ratios are printed.

Goals: whole run >= 50,000 loans/s, peak < 8 GiB, model calls no slower than the pyfunc baseline.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from features_bench import GIB, TABLES, _peak, _rss, _use_proposed_borrower_state, run_phase  # noqa: E402

AS_OF = dt.date(2025, 12, 31)
ACTIVE_SHARE = 0.66  # loans active at as_of when the first vintage is a year before it (measured)
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


def _params():
    from risk.config import load_params

    return load_params(Path(__file__).resolve().parents[1] / "params.yaml")


def phase_train(work: Path, loans: int, seed: int, proposed: bool) -> dict:
    """Fit both candidates of each model on a small book and register them (champion: LightGBM)."""
    from risk.config import SimulateParams
    from risk.features import build_features
    from risk.models import tracking
    from risk.models.model import LIGHTGBM, SCORECARD, to_model_frame
    from risk.models.train import SPECS, fit_candidates, time_split, training_frame
    from risk.simulate import simulate

    if proposed:
        _use_proposed_borrower_state()
    params = _params()
    started = time.perf_counter()
    tables = simulate(SimulateParams(n_loans=loans), as_of=AS_OF, seed=seed)
    fs = build_features(tables, params.features, data_as_of=AS_OF)
    tracking.configure(f"sqlite:///{work / 'mlflow.db'}")
    for spec in SPECS.values():
        snaps = fs.application_snapshots if spec.dataset == "application" else fs.loan_snapshots
        frame = training_frame(snaps, spec, data_as_of=AS_OF, labels=params.features.labels)
        mp = getattr(params.train, spec.name)
        split = time_split(frame, label=spec.label, windows=params.train.windows, embargo_days=mp.embargo_days)
        models = fit_candidates(spec, split, params.train, seed=seed)
        example = tracking.input_example(models[LIGHTGBM], to_model_frame(split.valid, spec.features))
        versions = {
            kind: tracking.log_candidate(
                m,
                experiment=f"bench-{spec.name}",
                registered_name=spec.registered,
                params={"kind": kind},
                example=example,
            )["version"]
            for kind, m in models.items()
        }
        tracking.set_alias(spec.registered, "champion", versions[LIGHTGBM])
        tracking.set_alias(spec.registered, "challenger", versions[SCORECARD])
    return {"seconds": time.perf_counter() - started}


def phase_simulate(work: Path, active: int, seed: int) -> dict:
    from risk.config import SimulateParams
    from risk.io import READ_OFTEN
    from risk.simulate import simulate

    n = round(active / ACTIVE_SHARE)
    started = time.perf_counter()
    tables = simulate(
        SimulateParams(n_loans=n, start=AS_OF.replace(month=1, day=1), pending_applications=max(100, active // 100)),
        as_of=AS_OF,
        seed=seed + 1,
    )
    took = time.perf_counter() - started
    folder = work / "tables"
    folder.mkdir()
    for t in TABLES:
        tables[t].write_parquet(folder / f"{t}.parquet", compression=READ_OFTEN)  # as the validate stage writes
    return {
        "seconds": took,
        "rows": {t: tables[t].height for t in TABLES},
        "peak": _peak(),
        "largest_borrower": int(tables["loans"]["borrower_id"].value_counts()["count"].max()),
    }


def _timed(fn, bucket: str, spent: dict, *, collect: bool = False):
    """``fn`` wrapped to add its wall time to ``spent[bucket]``; a lazy result is collected inside the timer."""

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        out = fn(*args, **kwargs)
        if collect:
            out = out.collect().lazy()
        spent[bucket] += time.perf_counter() - started
        return out

    return wrapper


VARIANTS = {
    "before": {"reasons_for": "queue", "compiled_predictor": "never"},
    "now": {},  # params.yaml's own: reasons for decided rows, compiled from score.compiled_min_rows loans
    "incremental": {},  # as now, the day after a scored day: its kept ledger reused (risk.score.ledger_state)
}


def phase_keep_yesterday(work: Path) -> dict:
    """The ledger a run on the day before as_of would have kept (built from the tables cut at its end), written
    where the day after's run finds it: in a process of its own, as yesterday's run was."""
    from incremental_bench import held_at

    from risk import io
    from risk.score import ledger_state

    started = time.perf_counter()
    tables = io.read_tables(work / "tables")
    ledger_state.save(work / "kept-incremental", ledger_state.build(held_at(tables, AS_OF - dt.timedelta(days=1))))
    return {"seconds": time.perf_counter() - started, "peak": _peak()}


def phase_score(work: Path, proposed: bool, variant: str = "now") -> dict:
    """The whole scoring run, as risk.score.stage.run does it, with time per part."""
    import dataclasses

    import polars as pl

    from risk import io
    from risk.models import tracking
    from risk.models.model import RiskModel
    from risk.score import score as score_mod
    from risk.score import sinks
    from risk.score.stage import compiled, load_models, wants_compiled

    if proposed:
        _use_proposed_borrower_state()
    params = _params()
    params = dataclasses.replace(params, score=dataclasses.replace(params.score, **VARIANTS[variant]))
    # a compile, if any, is timed as part of the run; the day after finds the models compiled the day before
    os.environ["RISK_CACHE_DIR"] = str(work / f"cache-{'now' if variant == 'incremental' else variant}")
    spent: dict[str, float] = defaultdict(float)
    # attribute time without changing what runs: wrap the functions score.py calls
    score_mod.loan_snapshots = _timed(score_mod.loan_snapshots, "features: loan snapshots", spent, collect=True)
    score_mod.application_snapshots = _timed(
        score_mod.application_snapshots, "features: application snapshots", spent, collect=True
    )
    score_mod.top_reasons = _timed(score_mod.top_reasons, "reasons (contributions)", spent)
    predict = RiskModel.predict_proba
    RiskModel.predict_proba = _timed(predict, "models: predict_proba", spent)

    started = time.perf_counter()
    tracking.configure(f"sqlite:///{work / 'mlflow.db'}")
    t = time.perf_counter()
    models = load_models("champion")
    spent["load models"] = time.perf_counter() - t
    t = time.perf_counter()
    tables = io.read_tables(work / "tables")
    spent["read tables"] = time.perf_counter() - t
    t = time.perf_counter()
    models = compiled(models) if wants_compiled(params.score, tables["loans"].height) else models
    spent["compile models"] = time.perf_counter() - t
    from risk.delinquency import instalment_ledger
    from risk.score import ledger_state

    kept_in = work / f"kept-{variant}"  # the day after: yesterday's file (phase_keep_yesterday); else none
    t = time.perf_counter()
    if variant == "before":
        ledger = instalment_ledger(*(tables[n].lazy() for n in ("loans", "schedule", "repayments"))).collect().lazy()
    else:  # as the stage does: fingerprinted, and reused from yesterday's file when there is one
        t_io = time.perf_counter()
        kept = ledger_state.load(kept_in)
        spent["keep the ledger (read yesterday's, write today's)"] += time.perf_counter() - t_io
        built = ledger_state.build(tables, kept)
        del kept  # as in the stage, yesterday's ledger is held only while today's is built
        ledger = built.frame.lazy()
    spent["features: instalment ledger (once)"] = (
        time.perf_counter() - t - spent["keep the ledger (read yesterday's, write today's)"]
    )
    t = time.perf_counter()
    scored = score_mod.score_loans(tables, models, params, as_of=AS_OF, ledger=ledger)
    cq = score_mod.collections_queue(scored, models, params, as_of=AS_OF)
    rq = score_mod.review_queue(tables, models, params, as_of=AS_OF, ledger=ledger)
    spent["queues (rules, joins)"] = (
        time.perf_counter()
        - t
        - sum(v for k, v in spent.items() if k.startswith(("features", "models", "reasons")) and "ledger" not in k)
    )
    t = time.perf_counter()
    sinks.write_day(
        {"collections_queue": cq, "review_queue": rq},
        scored=work / "scored",
        database=work / "scored" / "risk.duckdb",
        as_of=AS_OF,
    )
    spent["sinks (Parquet + DuckDB)"] = time.perf_counter() - t
    if variant != "before":  # the stage keeps today's ledger for tomorrow
        t = time.perf_counter()
        ledger_state.save(kept_in, built)
        spent["keep the ledger (read yesterday's, write today's)"] += time.perf_counter() - t
    took = time.perf_counter() - started
    peak = _peak()  # the run's own: the model-call phases' inputs below are built after it
    RiskModel.predict_proba = predict
    del ledger
    spent = dict(spent)  # freeze: the inputs below reuse the wrapped functions
    # inputs of the model-call phases, written outside the timings
    scored.drop("ew_probability", "cure_probability").write_parquet(work / "snapshots.parquet")
    pending = (
        score_mod.application_snapshots(tables, params.features, data_as_of=AS_OF)
        .collect()
        .filter(pl.col("decision") == "pending")
    )
    pending.write_parquet(work / "pending.parquet")
    return {
        "seconds": took,
        "active": scored.height,
        "collections": cq.height,
        "reviews": rq.height,
        "reason_rows": int((cq["reason_codes"].list.len() > 0).sum())
        + int((rq["recommended_decision"] != "approved").sum()),
        "spent": spent,
        "peak": peak,
    }


def phase_models(work: Path) -> dict:
    """The scoring path's model calls, RiskModel.predict_proba on polars frames, on every row (as the baseline)."""
    import polars as pl

    from risk.models import tracking
    from risk.score.stage import load_models

    tracking.configure(f"sqlite:///{work / 'mlflow.db'}")
    models = load_models("champion")
    snap, pending = pl.read_parquet(work / "snapshots.parquet"), pl.read_parquet(work / "pending.parquet")
    rss = _rss()
    started = time.perf_counter()
    models.early_warning.predict_proba(snap)
    models.cure.predict_proba(snap)
    models.pd.predict_proba(pending)
    return {"seconds": time.perf_counter() - started, "rows": snap.height, "rss_input": rss, "peak": _peak()}


def phase_pyfunc(work: Path) -> dict:
    """Baseline: the registered models through mlflow.pyfunc on a pandas frame, in one go."""
    import mlflow
    import polars as pl

    from risk.features.catalogue import CATEGORICAL
    from risk.models import tracking
    from risk.models.train import SPECS

    tracking.configure(f"sqlite:///{work / 'mlflow.db'}")
    loaded = {n: mlflow.pyfunc.load_model(f"models:/{s.registered}@champion") for n, s in SPECS.items()}
    snap, pending = pl.read_parquet(work / "snapshots.parquet"), pl.read_parquet(work / "pending.parquet")
    started = time.perf_counter()

    def as_pandas(frame: pl.DataFrame, features: list[str]):
        # the pyfunc's input form (its signature): categoricals as strings, numbers as float
        return frame.select(
            pl.col(c).cast(pl.String) if c in CATEGORICAL else pl.col(c).cast(pl.Float64) for c in features
        ).to_pandas()

    frames = {n: as_pandas(pending if n == "pd" else snap, SPECS[n].features) for n in SPECS}
    convert = time.perf_counter() - started
    rss = _rss()
    started = time.perf_counter()
    for n, model in loaded.items():
        model.predict(frames[n])
    return {
        "seconds": time.perf_counter() - started,
        "convert_seconds": convert,
        "rows": snap.height,
        "rss_input": rss,
        "peak": _peak(),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loans", type=int, default=1_000_000, help="about this many loans active at as_of")
    ap.add_argument("--train-loans", type=int, default=20_000, help="loans in the book the models are trained on")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--mem-limit-gib", type=float, default=16.0, help="stop a phase above this resident memory")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per phase")
    ap.add_argument(
        "--proposed-borrower-state",
        action="store_true",
        help="experiment: swap in the linear borrower-state join proposed in docs/performance.md",
    )
    a = ap.parse_args(argv)
    lim, tmo = int(a.mem_limit_gib * GIB), a.timeout
    print(
        f"score_bench: ~{a.loans:,} active loans, models trained on {a.train_loans:,}, proposed borrower state: "
        f"{a.proposed_borrower_state}, {dt.datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} cpus",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="score_bench-") as tmp:
        work = Path(tmp)
        tr = run_phase(
            "train",
            "phase_train",
            work,
            a.train_loans,
            a.seed,
            a.proposed_borrower_state,
            limit=lim,
            timeout=tmo,
            module=__name__,
        )
        sim = run_phase("simulate", "phase_simulate", work, a.loans, a.seed, limit=lim, timeout=tmo, module=__name__)
        for r in (tr, sim):
            if "failed" in r:
                print(r["failed"])
                return 1
        print(
            f"  book: {sim['rows']}; largest borrower holds {sim['largest_borrower']:,} loans; "
            f"simulated in {sim['seconds']:.0f}s (peak {sim['peak'] / GIB:.2f} GiB)"
        )
        before = run_phase(
            "score (before)",
            "phase_score",
            work,
            a.proposed_borrower_state,
            "before",
            limit=lim,
            timeout=tmo,
            module=__name__,
        )
        sc = run_phase(
            "score", "phase_score", work, a.proposed_borrower_state, "now", limit=lim, timeout=tmo, module=__name__
        )
        kept = run_phase(
            "keep yesterday's ledger", "phase_keep_yesterday", work, limit=lim, timeout=tmo, module=__name__
        )
        if "failed" in kept:
            print(kept["failed"])
            return 1
        inc = run_phase(
            "score (incremental)",
            "phase_score",
            work,
            a.proposed_borrower_state,
            "incremental",
            limit=lim,
            timeout=tmo,
            module=__name__,
        )
        for r in (before, sc, inc):
            if "failed" in r:
                print(r["failed"])
                return 1
        mo = run_phase("models", "phase_models", work, limit=lim, timeout=tmo, module=__name__)
        pf = run_phase("pyfunc", "phase_pyfunc", work, limit=lim, timeout=tmo, module=__name__)

        n = sc["active"]
        print(
            f"\nscored {n:,} active loans; collections queue {sc['collections']:,}, review queue {sc['reviews']:,}, "
            f"reasons for {sc['reason_rows']:,} rows"
        )
        print("\n| part | seconds | share |\n|---|---|---|")
        for k, v in sorted(sc["spent"].items(), key=lambda kv: -kv[1]):
            print(f"| {k} | {v:.1f} | {v / sc['seconds']:.0%} |")
        print(f"| **whole run** | {sc['seconds']:.1f} | |")
        print("\n| phase | rows | seconds | loans/s | peak RSS | RSS with inputs loaded |\n|---|---|---|---|---|---|")
        print(
            f"| whole scoring run | {n:,} | {sc['seconds']:.1f} | {n / sc['seconds']:,.0f} | "
            f"{sc['peak'] / GIB:.2f} GiB | |"
        )
        for label, r in (
            ("model calls: RiskModel.predict_proba (polars)", mo),
            ("baseline: mlflow.pyfunc predict (pandas)", pf),
        ):
            if "failed" in r:
                print(f"| {label} | failed: {str(r['failed']).strip().splitlines()[-1]} | | | | |")
            else:
                print(
                    f"| {label} | {r['rows']:,} | {r['seconds']:.1f} | {r['rows'] / r['seconds']:,.0f} | "
                    f"{r['peak'] / GIB:.2f} GiB | {r['rss_input'] / GIB:.2f} GiB |"
                )
        if "failed" not in mo and "failed" not in pf:
            print(
                f"\nmodel calls: package path / pyfunc baseline time = {mo['seconds'] / pf['seconds']:.2f} "
                f"(<= 1 meets the goal); converting its input to pandas took a further {pf['convert_seconds']:.1f}s"
            )
        print(
            f"whole run: {n / sc['seconds']:,.0f} loans/s (goal >= 50,000), "
            f"peak {sc['peak'] / GIB:.2f} GiB (goal < 8 GiB)"
        )
        b, w = before["spent"], sc["spent"]
        reasons, predict = "reasons (contributions)", "models: predict_proba"
        print(
            f"same book, same run, as before (reasons for all {before['collections']:,} queued, LightGBM's predict): "
            f"{before['seconds']:.1f}s = {n / before['seconds']:,.0f} loans/s; now {sc['seconds']:.1f}s: "
            f"{before['seconds'] / sc['seconds']:.2f}x faster"
        )
        print(
            f"  reasons {b.get(reasons, 0):.1f}s -> {w.get(reasons, 0):.1f}s; model calls {b.get(predict, 0):.1f}s -> "
            f"{w.get(predict, 0):.1f}s + compile {w.get('compile models', 0):.1f}s"
        )
        ledger, snaps = "features: instalment ledger (once)", "features: loan snapshots"
        print(
            f"  instalment ledger {b.get(ledger, 0):.1f}s -> {w.get(ledger, 0):.1f}s; loan snapshots "
            f"{b.get(snaps, 0):.1f}s -> {w.get(snaps, 0):.1f}s"
        )
        i = inc["spent"]
        print("\n| part | as before | as now | the day after |\n|---|---|---|---|")
        for k in sorted(w, key=lambda k: -w[k]):
            print(f"| {k} | {b.get(k, 0):.1f} | {w[k]:.1f} | {i.get(k, 0):.1f} |")
        print(f"| **whole run** | {before['seconds']:.1f} | {sc['seconds']:.1f} | {inc['seconds']:.1f} |")
        print(
            f"the day after (yesterday's ledger kept): {inc['seconds']:.1f}s = {n / inc['seconds']:,.0f} loans/s, "
            f"{sc['seconds'] / inc['seconds']:.2f}x a full day; instalment ledger {w.get(ledger, 0):.1f}s -> "
            f"{i.get(ledger, 0):.1f}s; with a warm compile cache (compile {i.get('compile models', 0):.1f}s); "
            f"peak {inc['peak'] / GIB:.2f} GiB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
