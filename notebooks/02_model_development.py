# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · Model development: a variant against the champion
#
# The pipeline trains three models (`risk train`, `risk evaluate`); this notebook is where an analyst tries
# something different before proposing it. It
#
# 1. **builds the point-in-time features** from the validated tables with the pipeline's own code
#    (`risk.features.build_features`): one row per loan and month end (as_of), every feature computed only from
#    what was known that day;
# 2. takes the **early-warning model** (贷后预警: a loan 0-29 days past due reaching 30+ within 90 days) and splits
#    its snapshots **out of time**: training months, then validation, then the latest test months;
# 3. trains a **variant** (here: a bigger tree, `VARIANT` below) with `risk.models.train.fit_candidates`;
# 4. compares it on the same test window with the **champion registered in MLflow**
#    (`models:/risk-early-warning@champion`);
# 5. **logs the variant to MLflow** in its own experiment, so it shows in `mlflow ui` beside the pipeline's runs;
# 6. looks at **calibration** (does a predicted 10% mean 10%?) and the **reason codes** (原因码) that collectors see.
#
# The notebook never moves the `champion` alias: a variant worth keeping goes through `params.yaml` and the
# pipeline (see the end).

# %%
import dataclasses
import os
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import polars as pl
from IPython.display import display
from matplotlib.ticker import PercentFormatter

from risk import io
from risk.config import load_params
from risk.features import build_features
from risk.models import metrics, plots, tracking
from risk.models.model import LIGHTGBM, SCORECARD, to_model_frame
from risk.models.train import SPECS, evaluate_candidates, fit_candidates, split_for, training_frame
from risk.paths import Paths
from risk.score.reasons import top_reasons

pl.Config.set_tbl_rows(30)
pl.Config.set_tbl_cols(20)
pl.Config.set_fmt_str_lengths(120)
warnings.filterwarnings("ignore", message="IProgress not found")  # MLflow's progress bars want ipywidgets
# %matplotlib inline

# %% tags=["parameters"]
# The project to use: $RISK_PROJECT when set (the tests point it at a small book), else the repository this
# notebook sits in (the first folder upwards that holds dvc.yaml).
PROJECT = os.environ.get("RISK_PROJECT") or next(
    p for p in (Path.cwd(), *Path.cwd().parents) if (p / "dvc.yaml").exists()
)
MODEL = "early_warning"  # pd | early_warning | cure
VARIANT = {"num_leaves": 63, "min_child_samples": 50}  # LightGBM settings to change (train.<MODEL> in params.yaml)
EXPERIMENT = None  # MLflow experiment for the variant; None: risk-<MODEL>-notebook
REASONS = 3  # reason codes per loan

# %%
paths = Paths.at(PROJECT)
params = load_params(paths.params)
as_of = params.data.as_of
spec = SPECS[MODEL]
experiment = EXPERIMENT or f"risk-{MODEL}-notebook"
# MLflow puts a new experiment's artifacts under ./mlruns of the working directory: work from the project root
# so the variant's artifacts sit beside the pipeline's
os.chdir(paths.root)
tracking.configure(paths.mlflow_uri)
print(f"project {paths.root}, data as of {as_of}; model {spec.registered}: {spec.purpose}")

# %% [markdown]
# ## 1. Features, as of every month end
#
# `build_features` returns two snapshot tables: loan snapshots (one row per active loan and month end, with its
# repayment, delinquency, collections and borrower features, plus the labels that look forward from that date)
# and application snapshots (for the PD model). Labels that cannot be known yet (their horizon runs past the
# data's as-of date) are null, and those rows are left out of training.

# %%
tables = io.read_tables(paths.validated)
features = build_features(tables, params.features, data_as_of=as_of)
snapshots = features.application_snapshots if spec.dataset == "application" else features.loan_snapshots
frame = training_frame(snapshots, spec, data_as_of=as_of, labels=params.features.labels)
print(f"{snapshots.height:,} snapshots, {frame.height:,} with a known {spec.label}; {len(spec.features)} features")

# %%
model_params = getattr(params.train, MODEL)
split = split_for(
    frame, label=spec.label, windows=params.train.windows, embargo_days=model_params.embargo_days, seed=params.seed
)
pl.DataFrame(
    [
        {
            "window": name,
            "from": str(start),
            "to": str(end),
            "rows": getattr(split, name).height,
            "label_rate": getattr(split, name)[spec.label].mean(),
        }
        for name, (start, end) in split.windows.items()
    ]
)

# %% [markdown]
# The label rate by month end, with the three windows: the test window is the latest fully labelled months, and
# the `embargo_days` gap keeps training labels (which look 90 days ahead) from reaching into validation.

# %%
by_month = frame.group_by("as_of").agg(rate=pl.col(spec.label).mean(), rows=pl.len()).sort("as_of")
fig, ax = plt.subplots(figsize=(8, 3.2))
ax.plot(by_month["as_of"], by_month["rate"], marker="o", ms=3, color="#1f5f8b")
for (name, (start, end)), colour in zip(split.windows.items(), ("#8a8a8a", "#e07b39", "#c0392b"), strict=True):
    ax.axvspan(start, end, alpha=0.12, color=colour, label=name)
ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
ax.set(
    title=f"{spec.label}: observed rate by snapshot month and the out-of-time windows",
    xlabel="Snapshot month end (as_of)",
    ylabel=f"{spec.label} (% of snapshots)",
)
ax.legend(fontsize=8)
fig.autofmt_xdate()
plt.show()

# %% [markdown]
# ## 2. Train the variant
#
# `fit_candidates` fits the LightGBM candidate (monotone constraints, early stopping on validation) and the
# weight-of-evidence scorecard challenger, and calibrates both on the validation window; `evaluate_candidates`
# scores the test window. Only the model's LightGBM settings change, through `dataclasses.replace` on the typed
# parameters (`train.<MODEL>` in params.yaml), so everything else is exactly what the pipeline does.

# %%
variant_params = dataclasses.replace(params.train, **{MODEL: dataclasses.replace(model_params, **VARIANT)})
candidates = fit_candidates(spec, split, variant_params, seed=params.seed)
evaluation = evaluate_candidates(spec, candidates, split, variant_params)
variant = candidates[LIGHTGBM]
print(
    f"variant {VARIANT}: best iteration {variant.meta['best_iteration']}, "
    f"test AUC {evaluation.summary[LIGHTGBM]['auc']:.3f}"
)

# %% [markdown]
# ## 3. Against the registered champion
#
# The champion is loaded from the MLflow registry by alias, as daily scoring loads it, and scored on the same test
# window. What a credit committee reads: **AUC / KS** (ranking: does the model put the bads first?), **Brier / log
# loss** (probability accuracy), **ECE** (calibration error, in probability points), **capture** (share of bads in
# the riskiest 10% / 20%) and **PSI** (score drift from training to test; above 0.1 deserves a look, above 0.25 a
# rebuild).

# %%
champion = tracking.load_by_alias(spec.registered, "champion")
y = split.test[spec.label].to_numpy().astype(int)
p_champion = champion.predict_proba(split.test)
reference = split.train.sort("as_of").tail(200_000)
champion_summary = metrics.binary_report(y, p_champion, reference=champion.predict_proba(reference))
columns = ["auc", "gini", "ks", "brier", "log_loss", "ece", "capture_top10", "capture_top20", "psi"]
comparison = pl.DataFrame(
    [
        {"model": f"champion ({champion.kind})", **{k: champion_summary.get(k) for k in columns}},
        *(
            {"model": f"variant {kind}", **{k: evaluation.summary[kind].get(k) for k in columns}}
            for kind in (LIGHTGBM, SCORECARD)
        ),
    ]
)
display(comparison)
gain = evaluation.summary[LIGHTGBM]["auc"] - champion_summary["auc"]
print(
    f"variant LightGBM vs champion: AUC {gain:+.4f} on {len(y):,} test snapshots "
    f"({int(y.sum()):,} with {spec.label} = 1)"
)

# %%
roc = {
    "champion": metrics.roc_points(y, p_champion),
    **{f"variant {k}": v for k, v in evaluation.roc.items()},
}
fig = plots.roc_figure(roc, f"{spec.registered}: ROC on the test window")

# %% [markdown]
# ## 4. Log the variant to MLflow
#
# `risk.models.tracking.log_candidate` logs the run (parameters, data windows, feature list, the model as a
# pyfunc) exactly as `risk train` does, but into its own experiment and registered model (`…-notebook`), so the
# pipeline's `risk-*` registry and its aliases stay untouched. Its test-window metrics and the comparison table
# go with it. Open `uv run mlflow ui --backend-store-uri sqlite:///mlflow.db` from the project root and compare
# the runs side by side.

# %%
example = tracking.input_example(variant, to_model_frame(split.valid, spec.features))
logged = tracking.log_candidate(
    variant,
    experiment=experiment,
    registered_name=f"{spec.registered}-notebook",
    params={
        **dataclasses.asdict(getattr(variant_params, MODEL)),
        "calibration": variant_params.calibration,
        "seed": params.seed,
        "label": spec.label,
        "n_features": len(spec.features),
        "compared_with": f"{spec.registered}@champion",
    },
    example=example,
    artifacts={"comparison.csv": comparison.write_csv()},
)
tracking.log_evaluation(logged["run_id"], evaluation.summary[LIGHTGBM], {})
print(
    f"logged run {logged['run_id']} in experiment {experiment!r}: {logged['model_uri']} "
    f"(registered as {spec.registered}-notebook v{logged['version']})"
)

# %% [markdown]
# ## 5. Calibration
#
# Test snapshots in ten bins of predicted probability: mean prediction against the observed rate. On the
# diagonal, a predicted 8% means 8 in 100 of those loans reach 30+ days past due, which is what expected loss,
# the collections queue's expected value and the at-risk threshold (`score.at_risk_threshold`) rely on. Both are
# calibrated (isotonic, on validation), so a gap here is drift between validation and test.

# %%
calibration = {
    "champion": metrics.calibration_table(y, p_champion),
    **{f"variant {k}": v for k, v in evaluation.calibration.items()},
}
fig = plots.calibration_figure(calibration, f"{spec.registered}: calibration on the test window")
display(
    pl.concat([t.with_columns(model=pl.lit(k)) for k, t in calibration.items()]).pivot(
        "model", index="decile", values=["predicted", "observed"]
    )
)

# %% [markdown]
# ## 6. What drives the score, and the reason codes
#
# Feature importance (total gain) of the variant, then the **reason codes** for the riskiest loans at the latest
# test month end: `top_reasons` takes each loan's per-feature contributions to the log-odds (SHAP values for
# LightGBM) and names the features pushing its risk up most, in English and Chinese — what a collector or a
# reviewer sees beside each case in the queues.

# %%
fig = plots.importance_figure(evaluation.importance, f"{spec.registered} variant: feature importance (gain)")

# %%
latest = split.test.filter(pl.col("as_of") == split.test["as_of"].max())
scored = latest.with_columns(probability=pl.Series(champion.predict_proba(latest)))
risk_first = spec.risk_sign > 0  # the cure model's riskiest loans are the least likely to cure
ids = ["application_id"] if spec.dataset == "application" else ["loan_id", "days_past_due"]
riskiest = scored.sort("probability", descending=risk_first).head(10)
reasons = top_reasons(champion, riskiest, n=REASONS, sign=spec.risk_sign)
pl.concat([riskiest.select(*ids, "probability"), reasons], how="horizontal").select(
    *ids,
    "probability",
    pl.col("reasons_en").list.join("; "),
    pl.col("reasons_zh").list.join("；"),
)

# %% [markdown]
# Across the riskiest decile of that month, which reasons come up most often: a reason that dominates is a
# segment worth a look in `01_portfolio_exploration` (and, if it is a feature that should not drive decisions, a
# problem to fix before the model goes anywhere).

# %%
decile = scored.sort("probability", descending=risk_first).head(max(1, scored.height // 10))
counts = (
    top_reasons(champion, decile, n=REASONS, sign=spec.risk_sign)
    .select(pl.col("reasons_en").explode().drop_nulls().value_counts(sort=True))
    .unnest("reasons_en")
    .rename({"reasons_en": "reason", "count": "loans"})
    .head(10)
)
fig, ax = plt.subplots(figsize=(7, 3.4))
ax.barh(counts["reason"].reverse(), (counts["loans"] / decile.height).reverse(), color="#1f5f8b")
ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
ax.set(
    title=f"Reasons among the riskiest {decile.height:,} loans at {latest['as_of'].max()}",
    xlabel=f"Loans with the reason in their top {REASONS} (%)",
    ylabel="Reason",
)
plt.show()

# %% [markdown]
# ## Proposing the variant
#
# If the variant wins on the test window *and* stays calibrated and stable, make it the pipeline's (here with the
# default `VARIANT`):
#
# ```bash
# uv run dvc exp run -S train.early_warning.num_leaves=63 -S train.early_warning.min_child_samples=50
# uv run dvc exp show && uv run dvc metrics diff
# ```
#
# `risk evaluate` then judges it with the champion rule (`train.champion_rule`) and moves the aliases; the
# notebook's run stays in its own experiment as the record of the trial.
