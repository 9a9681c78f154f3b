"""Edge of the report stage: read every stage's outputs, render the HTML report, write it atomically."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import polars as pl

from risk import io
from risk.config import Params
from risk.features.stage import read_loan_snapshots
from risk.models.model import LIGHTGBM, SCORECARD
from risk.models.train import SPECS
from risk.paths import Paths
from risk.report import charts, portfolio
from risk.report.html import render_report
from risk.report.model_results import ModelResults
from risk.score.sinks import day_folder, settle

QUEUES = ("collections_queue", "review_queue")
README_FIGURE = Path("docs") / "img" / "vintage_curves.png"


def report_path(paths: Paths) -> Path:
    return paths.reports / "risk_report.html"


def read_tables(paths: Paths) -> dict[str, pl.DataFrame]:
    """The validated contract tables and whichever case tables the export has, plus the simulator's truth
    table and an application-only source's ``outcomes`` when there are."""
    tables = io.read_book(paths.validated)
    outcomes = paths.validated / "outcomes.parquet"
    if outcomes.exists():
        tables["outcomes"] = io.read_parquet(outcomes, table="outcomes")
    truth = paths.raw / "truth.parquet"
    if truth.exists():
        tables["truth"] = io.read_parquet(truth, table="truth")
    return tables


def application_only(paths: Paths) -> bool:
    """Whether ingest marked the source application-only (applications and outcomes, no repayment history)."""
    return io.read_manifest(paths.validated).get("mode") == io.APPLICATION_ONLY


def read_snapshots(paths: Paths) -> pl.DataFrame:
    return read_loan_snapshots(paths).select("loan_id", "as_of", "days_past_due").collect()


def read_model_results(paths: Paths, params: Params, *, with_scores: bool = True) -> list[ModelResults]:
    """Per model: metrics/<name>.json, plots/<name>/*.csv, the split's windows and, if asked, the score sample
    evaluate wrote (metrics/scores/<name>.parquet). Models evaluate skipped (``{"skipped": ...}``) are left out."""
    from risk.models.stage import fitted_dir, load_fitted

    out = []
    for name, spec in SPECS.items():
        metrics_file = paths.metrics / f"{name}.json"
        if not metrics_file.exists() or "skipped" in json.loads(metrics_file.read_text()):
            continue
        pdir = paths.plots / name
        roc = {k: pl.read_csv(pdir / f"roc_{k}.csv") for k in (LIGHTGBM, SCORECARD) if (pdir / f"roc_{k}.csv").exists()}
        cal = {
            k: pl.read_csv(pdir / f"calibration_{k}.csv")
            for k in (LIGHTGBM, SCORECARD)
            if (pdir / f"calibration_{k}.csv").exists()
        }
        ks = pl.read_csv(pdir / "ks.csv") if (pdir / "ks.csv").exists() else None
        sample = paths.score_sample(name)
        scores = io.read_parquet(sample) if with_scores and sample.exists() else None
        windows = None
        if (fitted_dir(paths) / f"{name}.{LIGHTGBM}.pkl").exists():
            meta_windows = load_fitted(paths, name, LIGHTGBM).meta.get("windows") or {}
            windows = {k: (str(a), str(b)) for k, (a, b) in meta_windows.items()} or None
        title = f"{spec.registered} — {spec.purpose}"
        out.append(ModelResults(name, title, json.loads(metrics_file.read_text()), roc, cal, ks, scores, windows))
    return out


def read_queues(paths: Paths, as_of: dt.date) -> dict[str, pl.DataFrame]:
    settle(paths.scored, paths.duckdb)  # a day committed by a run killed before its last rename
    day = day_folder(paths.scored, as_of)
    return {q: io.read_parquet(day / f"{q}.parquet", table=q) for q in QUEUES if (day / f"{q}.parquet").exists()}


def read_monitoring(paths: Paths) -> pl.DataFrame | None:
    """Every scoring run's monitoring rows (DuckDB's ``monitoring`` table), None before the first."""
    from risk.score.sinks import read_table

    return read_table(paths.duckdb, "monitoring")


def read_scorecard_bins(paths: Paths, names: list[str]) -> dict[str, pl.DataFrame]:
    """Each trained model's scorecard challenger's points table (its bins), from models/fitted."""
    from risk.models.stage import fitted_dir, load_fitted

    return {
        n: load_fitted(paths, n, SCORECARD).estimator.points_table()
        for n in names
        if (fitted_dir(paths) / f"{n}.{SCORECARD}.pkl").exists()
    }


def read_metrics(paths: Paths, name: str) -> dict | None:
    """metrics/<name>.json when a stage wrote it, else None."""
    path = paths.metrics / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def shock_period(params: Params) -> tuple[dt.date, dt.date] | None:
    """The simulated book's shock period (to mark on vintage charts); None for a lender's own data."""
    if params.data.source != "simulate":
        return None
    return params.simulate.shock.start, params.simulate.shock.end


def run(paths: Paths, params: Params) -> str:
    """Write reports/risk_report.html from the pipeline's outputs; one line saying what was written."""
    started = time.perf_counter()
    as_of = params.data.as_of
    tables = read_tables(paths)
    snapshots = read_snapshots(paths)
    models = read_model_results(paths, params)
    loaded = time.perf_counter()
    text = render_report(
        tables,
        snapshots,
        models,
        read_queues(paths, as_of),
        as_of=as_of,
        shock=shock_period(params),
        application_only=application_only(paths),
        policy=read_metrics(paths, "policy"),
        effects=read_metrics(paths, "effects"),
        monitoring=read_monitoring(paths),
        scorecard_bins=read_scorecard_bins(paths, [m.name for m in models]),
        reject_inference=read_metrics(paths, "reject_inference"),
    )
    target = report_path(paths)
    io.write_text(text, target)
    took = time.perf_counter() - started
    return (
        f"report: {target} ({len(text) / 1e6:.1f} MB, {len(models)} models) in {took:.1f}s "
        f"(reading {loaded - started:.1f}s)"
    )


def write_readme_figure(paths: Paths, params: Params, target: str | Path | None = None) -> Path:
    """Draw the vintage curves of the validated book as a PNG for the README (docs/img/vintage_curves.png)."""
    target = Path(target) if target is not None else paths.root / README_FIGURE
    as_of = params.data.as_of
    outcomes = portfolio.loan_outcomes(read_tables(paths), as_of=as_of)
    curves = portfolio.vintage_curves(outcomes, as_of=as_of)
    charts.save_png(charts.vintage_figure(curves, shock=shock_period(params)), target, dpi=90)
    return target
