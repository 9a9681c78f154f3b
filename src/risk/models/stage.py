"""Edges of the train and evaluate stages: read snapshots, fit, log to MLflow, write metrics and cards."""

from __future__ import annotations

import dataclasses
import datetime as dt
import pickle
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from risk import io
from risk.attributes import from_manifest
from risk.config import Params
from risk.exceptions import ModelNotFound, RiskDataError, RiskError
from risk.features.stage import read_application_snapshots, read_loan_snapshots, source_mode
from risk.models import gate, metrics, plots, reject, small, tracking, validation
from risk.models.card import model_card
from risk.models.model import LIGHTGBM, SCORECARD, RiskModel
from risk.models.train import (
    SPECS,
    ModelSpec,
    Split,
    choose_champion,
    evaluate_candidates,
    fit_candidates,
    is_random,
    split_for,
    training_frame,
)
from risk.paths import Paths
from risk.score.review import GRADES


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


def skipped_models(paths: Paths, params: Params) -> dict[str, str]:
    """Each model that is not trained, with the reason: an application-only source has no history for the
    loan models; ``train.models`` may leave them out."""
    application_only = source_mode(paths) == io.APPLICATION_ONLY
    out = {}
    for name in SPECS:
        if name == "pd":
            continue
        if application_only:
            out[name] = "application-only source: no repayment history to train this model on"
        elif name not in params.train.models:
            out[name] = f"not in train.models {list(params.train.models)}"
    return out


def specs_for(paths: Paths, params: Params) -> list[ModelSpec]:
    """Every model for a full book; only PD for an application-only source (no history for the others)."""
    attributes = from_manifest(io.read_manifest(paths.features))
    skipped = skipped_models(paths, params)
    return [spec.with_attributes(attributes) for spec in SPECS.values() if spec.name not in skipped]


def run_train(paths: Paths, params: Params) -> str:
    """Fit every model's candidates, pickle them under models/fitted and register them in MLflow."""
    tracking.configure(paths.mlflow_uri)
    registry: dict[str, dict] = {}
    lines = []
    with io.atomic_path(fitted_dir(paths)) as tmp:
        tmp.mkdir(parents=True)
        for spec in specs_for(paths, params):
            started = time.perf_counter()
            split = split_of(paths, params, spec)
            models = fit_candidates(spec, split, params.train, seed=params.seed)
            example = tracking.input_example(models[LIGHTGBM], models[LIGHTGBM].frame(split.valid))
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
    skipped = "".join(
        f"\n  {SPECS[name].registered}: skipped ({why})" for name, why in skipped_models(paths, params).items()
    )
    return "train: registered " + ", ".join(SPECS[n].registered for n in registry) + "\n" + "\n".join(lines) + skipped


def monitoring_reference(spec: ModelSpec, model: RiskModel, split: Split, params: Params) -> dict:
    """The champion's scores and its features on the training reference (the rows PSI is measured on)."""
    from risk.score.monitoring import reference_profile

    ref = split.train.sort("as_of").tail(200_000)
    approve_below = params.score.approve_below if spec.dataset == "application" else None
    return reference_profile(ref, model.predict_proba(ref), spec.features, approve_below=approve_below)


def load_fitted(paths: Paths, name: str, kind: str) -> RiskModel:
    return pickle.loads((fitted_dir(paths) / f"{name}.{kind}.pkl").read_bytes())


def grades_of(spec: ModelSpec, p: np.ndarray, cutoffs: tuple[float, ...]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Each row's grade: the PD model's business grades A..E (``score.grade_cutoffs``); for the loan models,
    quintile bands P1..P5 of the predicted probability on the window (they have no business grades)."""
    if spec.dataset == "application":
        return np.array(GRADES, dtype=object)[np.searchsorted(np.asarray(cutoffs), p, side="right")], GRADES
    bands = tuple(f"P{i}" for i in range(1, 6))
    edges = np.quantile(p, [0.2, 0.4, 0.6, 0.8]) if len(p) else np.array([])
    return np.array(bands, dtype=object)[np.searchsorted(edges, p, side="right")], bands


def grade_validation(spec: ModelSpec, model: RiskModel, split: Split, params: Params) -> dict:
    """Calibration by grade on the test window, Hosmer-Lemeshow, the AUC's interval and its change since
    development (the validation window the model was calibrated on).

    The tests ask whether the model underestimates the *bad* outcome: for a model of a good one (cure) they
    run on its complement, so predicting too many cures is what turns a grade red."""
    y = split.test[spec.label].to_numpy().astype(int)
    p = model.predict_proba(split.test)
    y_dev = split.valid[spec.label].to_numpy().astype(int)
    # on small data the model was fitted on the validation rows too: its out-of-fold AUC is the development one
    small_fit = model.meta.get("small_data")
    if small_fit is not None:
        dev_auc = small_fit.get("oof_auc")
    else:
        dev_auc = metrics.safe_auc(y_dev, model.predict_proba(split.valid))
    if spec.risk_sign < 0:
        y, p = 1 - y, 1 - p  # AUC is unchanged by complementing both
    grades, order = grades_of(spec, p, params.score.grade_cutoffs)
    t = params.train.grade_tests
    return validation.calibration_summary(
        y, p, grades, order=order, amber=t.amber, red=t.red, dev_auc=dev_auc, independent=True
    )


def in_service(spec: ModelSpec, version: str | None, split: Split) -> tuple[float | None, RiskModel | None]:
    """The champion in service's AUC on today's test window and the model (None when it cannot score it)."""
    if version is None:
        return None, None
    try:
        model = tracking.load_version(spec.registered, version)
        p = model.predict_proba(split.test)
    except (RiskError, KeyError, ValueError):  # a model of older features, or one no longer registered
        return None, None
    return metrics.safe_auc(split.test[spec.label].to_numpy().astype(int), p), model


def reject_inference(
    paths: Paths, params: Params, spec: ModelSpec, split: Split, kgb: RiskModel, truth: pl.DataFrame | None
) -> dict | None:
    """The PD's reject inference study (metrics/reject_inference.json): declined applicants given inferred
    outcomes by each method, judged against the accepts-only model and, on a simulated book, the true PD."""
    if spec.name != "pd":
        return None
    apps = read_application_snapshots(paths).collect()
    dated = all(isinstance(start, dt.date) for start, _ in split.windows.values())
    declined = reject.declined_by_window(apps, split.windows) if dated and "decision" in apps.columns else {}
    if not dated:
        result: dict = {"skipped": "the source has no application dates, so declined applicants have no window"}
    elif not declined or not declined["train"].height or not declined["valid"].height:
        result = {"skipped": "the source has no declined applications in the training and validation windows"}
    else:
        result = reject.study(spec, split, kgb, declined, params.train, truth=truth, seed=params.seed)
    io.write_json(result, paths.metrics / "reject_inference.json")
    return result


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
    red_grades: list[str] = []
    for spec in specs_for(paths, params):
        split = split_of(paths, params, spec)
        models = {k: load_fitted(paths, spec.name, k) for k in (LIGHTGBM, SCORECARD)}
        ev = evaluate_candidates(spec, models, split, params.train, oracle_pd=oracle, oracle_snapshots=oracle_snapshots)
        repeated = small.figures(spec, split, params.train, seed=params.seed) if is_random(split) else None
        if repeated is not None:  # one random test split decides little: the repeated splits' means do
            ev.champion = choose_champion(
                {k: {"auc": v["auc_mean"]} for k, v in repeated["candidates"].items()},
                dataclasses.replace(
                    params.train, champion_rule=dataclasses.replace(params.train.champion_rule, metric="auc")
                ),
            )
        champ = ev.champion
        versions = {k: v["version"] for k, v in registry[spec.name].items()}
        checks = {kind: grade_validation(spec, models[kind], split, params) for kind in (LIGHTGBM, SCORECARD)}
        serving = tracking.alias_version(spec.registered, "champion")
        serving_auc, serving_model = in_service(spec, serving, split)
        promotion = gate.decide(
            candidate_kind=champ,
            candidate_version=versions[champ],
            candidate_auc=float(ev.summary[champ]["auc"]),
            candidate_red_grades=int(checks[champ]["n_red"]),
            incumbent_version=serving,
            incumbent_auc=serving_auc,
            params=params.train.promotion,
        )
        summary = {
            "champion": champ,
            **{k: v for k, v in ev.summary.items()},
            "oracle": ev.oracle,
            "calibration_by_grade": checks,
            "promotion": promotion.to_dict(),
        }
        if repeated is not None:  # the figures over repeated splits, with the peers on the same splits and columns
            summary["repeated_splits"] = repeated
        io.write_json(summary, paths.metrics / f"{spec.name}.json")
        # the calibrated scores behind PSI and AUC by vintage, so the report reads them instead of rescoring
        io.write_parquet(
            metrics.score_sample(models, split.train, split.test, label=spec.label), paths.score_sample(spec.name)
        )
        # scoring runs are monitored against the training window as the model in service scores it
        live = models[champ] if promotion.live or serving_model is None else serving_model
        io.write_json(monitoring_reference(spec, live, split, params), paths.monitoring_reference(spec.name))
        pdir = paths.plots / spec.name
        for kind in (LIGHTGBM, SCORECARD):
            io.write_text(ev.roc[kind].with_columns(model=pl.lit(kind)).write_csv(), pdir / f"roc_{kind}.csv")
            io.write_text(
                ev.calibration[kind].with_columns(model=pl.lit(kind)).write_csv(), pdir / f"calibration_{kind}.csv"
            )
        io.write_text(ev.ks[champ].write_csv(), pdir / "ks.csv")
        rejects = reject_inference(paths, params, spec, split, models[LIGHTGBM], oracle)
        card = model_card(
            ev,
            versions=versions,
            windows=models[champ].meta["windows"],
            checks=checks,
            promotion=promotion,
            binning=models[SCORECARD].estimator.points_table(),
            reject_inference=rejects,
            repeated_splits=summary.get("repeated_splits"),
        )
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
        tracking.tag_run(
            registry[spec.name][champ]["run_id"],
            {"promotion": promotion.decision, "promotion_reason": promotion.reason},
        )
        serving_kind = serving_model.kind if serving_model is not None else None
        pinned[spec.registered] = pin(spec, promotion, versions, registry[spec.name], serving_kind)
        s = ev.summary[champ]
        oracle_txt = f", oracle AUC {ev.oracle['auc']:.3f}" if ev.oracle else ""
        lines.append(
            f"  {spec.registered}: champion {champ} v{versions[champ]} test AUC {s['auc']:.3f} "
            f"KS {s['ks']:.3f} ECE {s['ece']:.4f} PSI {s.get('psi', float('nan')):.3f}{oracle_txt}; "
            f"grades {checks[champ]['worst_light']}; {promotion.decision}: {promotion.reason}"
        )
        if checks[champ]["n_red"] and promotion.live and params.train.grade_tests.fail_on_red:
            red_grades.append(f"{spec.registered} ({checks[champ]['n_red']} red)")
    for name, why in skipped_models(paths, params).items():
        io.write_json({"skipped": why}, paths.metrics / f"{name}.json")
        (paths.plots / name).mkdir(parents=True, exist_ok=True)
        lines.append(f"  {SPECS[name].registered}: skipped ({why})")
    if red_grades:  # before anything goes live: the versions in service stay as they were
        msg = (
            f"calibration by grade is red for {', '.join(red_grades)} and train.grade_tests.fail_on_red is true "
            "(metrics/<model>.json calibration_by_grade, the model cards); nothing was promoted"
        )
        raise RiskDataError(msg, rule="calibration_red")
    for registered, aliases in pinned.items():
        for alias, entry in aliases.items():
            tracking.set_alias(registered, alias, entry["version"])
    io.write_json(pinned, paths.pinned_models)  # what score loads: the aliases as set here, under DVC's eye
    return "evaluate:\n" + "\n".join(lines)


def pin(
    spec: ModelSpec,
    promotion: gate.Promotion,
    versions: dict[str, str],
    registry: dict[str, dict[str, str]],
    in_service_kind: str | None,
) -> dict[str, dict[str, str]]:
    """The versions score loads per alias: the gate's champion, the challenger, and the newest scorecard
    (its points are shown whichever model decides)."""

    def entry(kind: str) -> dict[str, str]:
        return {"version": versions[kind], "kind": kind, "run_id": registry[kind]["run_id"]}

    other = SCORECARD if promotion.candidate_kind == LIGHTGBM else LIGHTGBM
    if promotion.live:
        out = {"champion": entry(promotion.candidate_kind), "challenger": entry(other)}
    else:  # the champion in service stays; the new candidate challenges it
        kept = {"version": str(promotion.incumbent_version), "kind": str(in_service_kind), "run_id": ""}
        out = {"champion": kept, "challenger": entry(promotion.candidate_kind)}
    out["scorecard"] = entry(SCORECARD)
    return out


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
