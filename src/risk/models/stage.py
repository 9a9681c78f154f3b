"""Edges of the train and evaluate stages: read snapshots, fit, log to MLflow, write metrics and cards."""

from __future__ import annotations

import dataclasses
import pickle
import tempfile
import time
from pathlib import Path

import polars as pl

from risk import io
from risk.config import Params
from risk.exceptions import ModelNotFound
from risk.features.stage import read_application_snapshots, read_loan_snapshots, source_mode
from risk.models import metrics, plots, tracking
from risk.models.card import model_card
from risk.models.model import LIGHTGBM, SCORECARD, RiskModel, to_model_frame
from risk.models.train import SPECS, ModelSpec, Split, evaluate_candidates, fit_candidates, split_for, training_frame
from risk.paths import Paths


def fitted_dir(paths: Paths) -> Path:
    return paths.models / "fitted"


def _snapshots(paths: Paths, params: Params, spec: ModelSpec) -> pl.DataFrame:
    scan = read_application_snapshots(paths) if spec.dataset == "application" else read_loan_snapshots(paths)
    return training_frame(
        scan.collect(),
        spec,
        data_as_of=params.data.as_of,
        labels=params.features.labels,
        application_only=source_mode(paths) == io.APPLICATION_ONLY,
    )


def split_of(paths: Paths, params: Params, spec: ModelSpec) -> Split:
    """The train / validation / test split of ``spec`` that train, evaluate and the report all use."""
    mp = getattr(params.train, spec.name)
    return split_for(
        _snapshots(paths, params, spec),
        label=spec.label,
        windows=params.train.windows,
        embargo_days=mp.embargo_days,
        seed=params.seed,
    )


def specs_for(paths: Paths) -> list[ModelSpec]:
    """Every model for a full book; only PD for an application-only source (no history for the others)."""
    if source_mode(paths) == io.APPLICATION_ONLY:
        return [SPECS["pd"]]
    return list(SPECS.values())


def run_train(paths: Paths, params: Params) -> str:
    """Fit every model's candidates, pickle them under models/fitted and register them in MLflow."""
    tracking.configure(paths.mlflow_uri)
    registry: dict[str, dict] = {}
    lines = []
    with io.atomic_path(fitted_dir(paths)) as tmp:
        tmp.mkdir(parents=True)
        for spec in specs_for(paths):
            started = time.perf_counter()
            split = split_of(paths, params, spec)
            models = fit_candidates(spec, split, params.train, seed=params.seed)
            example = tracking.input_example(models[LIGHTGBM], to_model_frame(split.valid, spec.features))
            mp = dataclasses.asdict(getattr(params.train, spec.name))
            registry[spec.name] = {}
            for kind, model in models.items():
                (tmp / f"{spec.name}.{kind}.pkl").write_bytes(pickle.dumps(model))
                extra = {}
                if kind == SCORECARD:
                    extra["scorecard_points.csv"] = model.estimator.points_table().write_csv()
                logged_params = {
                    **(mp if kind == LIGHTGBM else dataclasses.asdict(params.train.scorecard)),
                    "calibration": params.train.calibration,
                    "seed": params.seed,
                    "label": spec.label,
                    "n_features": len(spec.features),
                }
                info = tracking.log_candidate(
                    model,
                    experiment=f"risk-{spec.name}",
                    registered_name=spec.registered,
                    params=logged_params,
                    example=example,
                    artifacts=extra,
                )
                registry[spec.name][kind] = info
            lines.append(
                f"  {spec.name}: train {split.train.height:,} / valid {split.valid.height:,} / "
                f"test {split.test.height:,} rows, {time.perf_counter() - started:.1f}s"
            )
        io.write_json(registry, tmp / "registry.json")
    skipped = (
        ""
        if len(registry) == len(SPECS)
        else ("\n  application-only source: early-warning and cure models skipped (no repayment history)")
    )
    return "train: registered " + ", ".join(SPECS[n].registered for n in registry) + "\n" + "\n".join(lines) + skipped


def score_sample_path(paths: Paths, name: str) -> Path:
    """Where evaluate keeps the candidates' calibrated scores on the training reference and the test window."""
    return paths.metrics / "scores" / f"{name}.parquet"


def load_fitted(paths: Paths, name: str, kind: str) -> RiskModel:
    return pickle.loads((fitted_dir(paths) / f"{name}.{kind}.pkl").read_bytes())


def run_evaluate(paths: Paths, params: Params) -> str:
    """Judge every candidate on the test window; write metrics, plots and cards; set the aliases."""
    import json

    tracking.configure(paths.mlflow_uri)
    registry = json.loads((fitted_dir(paths) / "registry.json").read_text())
    truth_path = paths.raw / "truth.parquet"
    oracle = pl.read_parquet(truth_path, columns=["application_id", "true_pd"]) if truth_path.exists() else None
    snapshots_path = paths.raw / "truth_snapshots.parquet"
    oracle_snapshots = pl.read_parquet(snapshots_path) if snapshots_path.exists() else None
    lines = []
    pinned: dict[str, dict[str, dict[str, str]]] = {}
    for spec in specs_for(paths):
        split = split_of(paths, params, spec)
        models = {k: load_fitted(paths, spec.name, k) for k in (LIGHTGBM, SCORECARD)}
        ev = evaluate_candidates(spec, models, split, params.train, oracle_pd=oracle, oracle_snapshots=oracle_snapshots)
        champ = ev.champion
        other = SCORECARD if champ == LIGHTGBM else LIGHTGBM
        versions = {k: v["version"] for k, v in registry[spec.name].items()}
        summary = {"champion": champ, **{k: v for k, v in ev.summary.items()}, "oracle": ev.oracle}
        io.write_json(summary, paths.metrics / f"{spec.name}.json")
        # the calibrated scores behind PSI and AUC by vintage, so the report reads them instead of rescoring
        io.write_parquet(
            metrics.score_sample(models, split.train, split.test, label=spec.label), score_sample_path(paths, spec.name)
        )
        pdir = paths.plots / spec.name
        for kind in (LIGHTGBM, SCORECARD):
            io.write_text(ev.roc[kind].with_columns(model=pl.lit(kind)).write_csv(), pdir / f"roc_{kind}.csv")
            io.write_text(
                ev.calibration[kind].with_columns(model=pl.lit(kind)).write_csv(), pdir / f"calibration_{kind}.csv"
            )
        io.write_text(ev.ks[champ].write_csv(), pdir / "ks.csv")
        card = model_card(ev, versions=versions, windows=models[champ].meta["windows"])
        card_path = paths.reports / "model_cards" / f"{spec.name}.md"
        io.write_text(card, card_path)
        figs = {
            "roc.png": plots.roc_figure(ev.roc, f"{spec.registered}: ROC on the test window"),
            "ks.png": plots.ks_figure(ev.ks[champ], f"{spec.registered} ({champ}): KS curve"),
            "calibration.png": plots.calibration_figure(ev.calibration, f"{spec.registered}: calibration"),
            "importance.png": plots.importance_figure(ev.importance, f"{spec.registered}: feature importance"),
        }
        with tempfile.TemporaryDirectory() as tmpdir:
            for name, fig in figs.items():
                fig.savefig(Path(tmpdir) / name, dpi=110, bbox_inches="tight")
                plots.close(fig)
            for kind in (LIGHTGBM, SCORECARD):
                tracking.log_evaluation(registry[spec.name][kind]["run_id"], ev.summary[kind], {})
            tracking.log_evaluation(
                registry[spec.name][champ]["run_id"], {}, {"plots": Path(tmpdir), "model_card": card_path}
            )
        tracking.set_alias(spec.registered, "champion", versions[champ])
        tracking.set_alias(spec.registered, "challenger", versions[other])
        pinned[spec.registered] = {
            alias: {"version": versions[kind], "kind": kind, "run_id": registry[spec.name][kind]["run_id"]}
            for alias, kind in (("champion", champ), ("challenger", other))
        }
        s = ev.summary[champ]
        oracle_txt = f", oracle AUC {ev.oracle['auc']:.3f}" if ev.oracle else ""
        lines.append(
            f"  {spec.registered}: champion {champ} v{versions[champ]} test AUC {s['auc']:.3f} "
            f"KS {s['ks']:.3f} ECE {s['ece']:.4f} PSI {s.get('psi', float('nan')):.3f}{oracle_txt}"
        )
    for name in SPECS.keys() - {s.name for s in specs_for(paths)}:
        io.write_json(
            {"skipped": "application-only source: no repayment history to train this model on"},
            paths.metrics / f"{name}.json",
        )
        (paths.plots / name).mkdir(parents=True, exist_ok=True)
        lines.append(f"  {SPECS[name].registered}: skipped (application-only source)")
    io.write_json(pinned, paths.pinned_models)  # what score loads: the aliases as set here, under DVC's eye
    return "evaluate:\n" + "\n".join(lines)


def run_export(paths: Paths, *, table: str) -> str:
    """The fitted PD scorecard as one SQL query per dialect, in models/export; one line naming the files.

    Raises
    ------
    ModelNotFound
        When no PD scorecard was fitted.
    """
    import json

    from risk.models.export_sql import DIALECTS, scorecard_sql

    fitted = fitted_dir(paths)
    if not (fitted / f"pd.{SCORECARD}.pkl").exists():
        msg = f"no fitted PD scorecard in {fitted}: run `risk train` (or `dvc repro train`) first"
        raise ModelNotFound(msg)
    model = load_fitted(paths, "pd", SCORECARD)
    registry = json.loads((fitted / "registry.json").read_text()) if (fitted / "registry.json").exists() else {}
    version = registry.get("pd", {}).get(SCORECARD, {}).get("version")
    written = []
    for dialect in DIALECTS:
        target = paths.model_export / f"pd_scorecard.{dialect}.sql"
        io.write_text(scorecard_sql(model, table=table, dialect=dialect, version=version), target)
        written.append(str(target))
    return f"export: wrote {' and '.join(written)}"
