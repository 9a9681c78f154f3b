"""Edges of the policy stages: ``risk policy`` fits the models, ``risk evaluate-policy`` measures the plan."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from pathlib import Path

import polars as pl

from risk import io
from risk.config import Params
from risk.exceptions import RiskDataError
from risk.paths import Paths
from risk.policy.evaluate import evaluate_day
from risk.policy.fit import fit_policy
from risk.policy.replay import case_violations, violations
from risk.score.sinks import day_folder, settle


def run_fit(paths: Paths, params: Params) -> str:
    """Fit the overdue-type and effect models on the validated log; write models/policy and metrics/effects.json."""
    started = time.perf_counter()
    skipped = io.collections_skipped(paths.validated, params.train.models)
    if skipped:
        io.write_json({"skipped": skipped}, paths.metrics / "effects.json")
        paths.policy_models.mkdir(parents=True, exist_ok=True)
        return f"policy: skipped; {skipped}"
    tables = io.read_book(paths.validated)
    try:
        models, figures = fit_policy(tables, params)
    except ValueError as e:
        raise RiskDataError(f"policy: {e}", rule="policy_learnable") from None
    models.save(paths.policy_models)
    io.write_json(figures, paths.metrics / "effects.json")
    aucs = {a: round(v["uplift_auc"], 4) for a, v in figures["effects_out_of_time"].items()}
    return (
        f"policy: ok; {figures['decisions']:,} logged decisions, types established for "
        f"{sum(figures['established_types'].values()):,} cases, "
        f"{len(models.effects.actions)} actions with support in the log; "
        f"uplift AUC out of time {aucs}; {time.perf_counter() - started:.1f}s -> {paths.policy_models}"
    )


def case_figures(folder: Path, tables: Mapping[str, pl.DataFrame], params: Params, *, work_date: dt.date) -> dict:
    """The day's case-management tables in figures, and their next steps replayed against the legal order."""
    day = {
        name: io.read_parquet(folder / f"{name}.parquet")
        for name in ("agreements_day", "legal_queue", "recovery_queue")
        if (folder / f"{name}.parquet").exists()
    }
    broken = case_violations(
        day.get("legal_queue"),
        day.get("recovery_queue"),
        tables,
        work_date=work_date,
        appeal_days=params.cases.appeal_days,
    )
    out: dict[str, object] = {
        "case_violations": broken.height,
        "case_violations_by_rule": dict(broken.group_by("rule").len().iter_rows()) if broken.height else {},
    }
    if "agreements_day" in day:
        out["agreements_by_state"] = dict(day["agreements_day"].group_by("state").len().sort("state").iter_rows())
    if "legal_queue" in day:
        out["legal_next_steps"] = dict(day["legal_queue"].group_by("next_step").len().sort("next_step").iter_rows())
    if "recovery_queue" in day:
        r = day["recovery_queue"].group_by("recommended_action").agg(pl.len(), pl.col("expected_value").sum())
        out["recovery_actions"] = {
            row["recommended_action"]: {"loans": row["len"], "expected_value": round(row["expected_value"], 0)}
            for row in r.sort("recommended_action").iter_rows(named=True)
        }
    return out


def run_evaluate(paths: Paths, params: Params) -> str:
    """metrics/policy.json: the day's plan against the truth (when simulated) and replayed against the rules."""
    as_of = params.data.as_of
    skipped = io.collections_skipped(paths.validated, params.train.models)
    if skipped:
        io.write_json({"skipped": skipped}, paths.metrics / "policy.json")
        return f"evaluate-policy: skipped; {skipped}"
    settle(paths.scored, paths.duckdb)  # a day committed by a run killed before its last rename
    folder = day_folder(paths.scored, as_of)
    queue_path, options_path = folder / "collections_queue.parquet", folder / "collections_options.parquet"
    if not queue_path.exists():
        raise RiskDataError(f"evaluate-policy: no collections queue for {as_of} in {folder} (run `risk score`)")
    queue = io.read_parquet(queue_path)
    tables = io.read_book(paths.validated)
    work_date = queue["work_date"][0] if queue.height else as_of
    broken = violations(
        queue, tables, params.collection_rules, params.score.contact, work_date=work_date, cases=params.cases
    )
    figures: dict[str, object] = {
        "as_of": as_of.isoformat(),
        "strategy": params.policy.strategy,
        "queue": queue.height,
        "scheduled": int(queue["scheduled"].sum()),
        "lawful_violations": broken.height,
        "lawful_violations_by_rule": dict(broken.group_by("rule").len().iter_rows()) if broken.height else {},
    }
    figures |= case_figures(folder, tables, params, work_date=work_date)
    truth_actions, truth = paths.raw / "truth_actions.parquet", paths.raw / "truth.parquet"
    if options_path.exists() and truth_actions.exists() and truth.exists():
        figures |= evaluate_day(
            queue,
            io.read_parquet(options_path),
            io.read_parquet(truth_actions),
            io.read_parquet(truth),
            dict(params.score.capacity),
            seed=params.seed,
        )
    else:
        figures["truth"] = "absent: the figures against the truth need the simulated book and the learned plan"
    io.write_json(figures, paths.metrics / "policy.json")
    s = figures.get("strategies")
    summary = (
        ", ".join(f"{k} {v['net']:,.0f}" for k, v in s.items())
        + f" (learned/oracle {figures['learned_share_of_oracle']})"
        if isinstance(s, dict)
        else "no truth"
    )
    return (
        f"evaluate-policy {as_of}: {broken.height} rule violations in {figures['scheduled']:,} planned, "
        f"{figures['case_violations']} in the legal and recovery queues' next steps; "
        f"net 30-day recovery {summary}"
    )
