"""Train and judge the three models, out of time: pure functions from frames to fitted models and figures."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from risk.attributes import Attribute, categories_of
from risk.config import LabelParams, ModelParams, TrainParams
from risk.exceptions import RiskDataError
from risk.features.catalogue import CATEGORICAL, FEATURES, MODEL_FEATURES
from risk.models import metrics
from risk.models.calibration import Calibrator
from risk.models.inputs import InputSchema
from risk.models.model import LIGHTGBM, SCORECARD, RiskModel, fit_lightgbm, to_model_frame
from risk.models.scorecard import Scorecard


@dataclass(frozen=True)
class ModelSpec:
    name: str  # pd | early_warning | cure
    registered: str  # name in the MLflow registry
    label: str
    dataset: str  # application | loan
    purpose: str
    risk_sign: int = +1  # +1: the label is a bad outcome; -1: a good one (cure), so monotone signs flip
    attributes: tuple[Attribute, ...] = ()  # a source's declared attributes, after the catalogue's features

    @property
    def features(self) -> list[str]:
        return [*MODEL_FEATURES[self.name], *(a.name for a in self.attributes)]

    @property
    def categories(self) -> dict[str, tuple[str, ...]]:
        """The declared categorical attributes' categories (the catalogue's are known to every model)."""
        return categories_of(self.attributes)

    @property
    def categorical(self) -> list[str]:
        return [f for f in self.features if f in CATEGORICAL or f in self.categories]

    def monotone(self) -> list[int]:
        by_name = {f.name: f.risk for f in FEATURES} | {a.name: a.risk for a in self.attributes}
        return [by_name[f] * self.risk_sign for f in self.features]

    def risk_model(self, kind: str, estimator: Any, calibrator: Calibrator, meta: dict[str, Any]) -> RiskModel:
        """A fitted candidate of this spec: its name, label, features and declared attributes."""
        return RiskModel(
            name=self.name,
            kind=kind,
            label=self.label,
            features=self.features,
            estimator=estimator,
            calibrator=calibrator,
            attributes=self.attributes,
            meta=meta,
        )

    def with_attributes(self, attributes: Sequence[Attribute]) -> ModelSpec:
        """This spec with a source's declared attributes: application attributes feed the PD alone."""
        return dataclasses.replace(self, attributes=tuple(attributes)) if self.dataset == "application" else self


SPECS: dict[str, ModelSpec] = {
    "pd": ModelSpec(
        "pd",
        "risk-pd",
        "default_12m",
        "application",
        "Application PD for pre-loan review (贷前审核): 90+ days past due within 12 months.",
    ),
    "early_warning": ModelSpec(
        "early_warning",
        "risk-early-warning",
        "dpd30_next_90d",
        "loan",
        "Early warning (贷后预警) for active loans 0-29 days past due: 30+ within 90 days.",
    ),
    "cure": ModelSpec(
        "cure",
        "risk-cure",
        "cure_30d",
        "loan",
        "Cure for collections (催收): a loan 1-89 days past due is current again within 30 days.",
        risk_sign=-1,
    ),
}


@dataclass(frozen=True)
class Split:
    """Train, validation and test windows by snapshot date, never at random."""

    train: pl.DataFrame
    valid: pl.DataFrame
    test: pl.DataFrame
    windows: dict[str, tuple[dt.date, dt.date]]


def training_frame(
    snapshots: pl.DataFrame,
    spec: ModelSpec,
    *,
    data_as_of: dt.date,
    labels: LabelParams,
    application_only: bool = False,
) -> pl.DataFrame:
    """Labelled snapshots for ``spec``: booked loans for PD, eligible loan snapshots otherwise.

    For PD only cohorts whose every loan, whatever its term, has a known label are kept: later cohorts
    are labelled for short terms only, and keeping them would tilt the latest windows toward short loans.
    An application-only source carries its own final outcome per application, so every labelled row counts.
    """
    frame = snapshots.filter(pl.col(spec.label).is_not_null())
    if spec.dataset == "application" and not application_only:
        complete = pl.Series([data_as_of]).dt.offset_by(f"-{labels.default_horizon_months}mo").item()
        frame = frame.filter(pl.col("loan_id").is_not_null() & (pl.col("originated_on") <= complete))
    return frame


def time_split(frame: pl.DataFrame, *, label: str, windows: Any, embargo_days: int) -> Split:
    """Split labelled snapshots by ``as_of``: test is the latest ``test_months``, validation the
    ``valid_months`` before it, training everything earlier; ``embargo_days`` separate the windows."""
    if frame.is_empty():
        msg = f"no labelled snapshots for {label}: the data's history is shorter than the label's horizon"
        raise RiskDataError(msg, table="features", column=label, rule="labelled_history")
    latest: dt.date = frame["as_of"].max()
    test_start = _months_before(latest, windows.test_months)
    valid_end = test_start - dt.timedelta(days=embargo_days)
    valid_start = _months_before(valid_end, windows.valid_months)
    train_end = valid_start - dt.timedelta(days=embargo_days)
    a = pl.col("as_of")
    split = Split(
        train=frame.filter(a <= train_end),
        valid=frame.filter((a > valid_start) & (a <= valid_end)),
        test=frame.filter(a > test_start),
        windows={
            "train": (frame["as_of"].min(), train_end),
            "valid": (valid_start + dt.timedelta(days=1), valid_end),
            "test": (test_start + dt.timedelta(days=1), latest),
        },
    )
    for name in ("train", "valid", "test"):
        part = getattr(split, name)
        if part.is_empty() or part[label].n_unique() < 2:
            msg = (
                f"{label}: the {name} window {split.windows[name]} has {part.height} rows and needs both "
                f"classes; shorten train.windows or provide more history"
            )
            raise RiskDataError(msg, table="features", column=label, rule="window_has_both_classes")
    return split


def random_split(frame: pl.DataFrame, *, label: str, seed: int, shares: tuple[float, float] = (0.6, 0.2)) -> Split:
    """Train / validation / test at random, stratified by nothing but the seed: only for sources with no
    dates (an application-only public data set), where an out-of-time split is impossible. Reported as such."""
    order = np.random.default_rng(seed).permutation(frame.height)
    n_train, n_valid = int(shares[0] * frame.height), int(shares[1] * frame.height)
    parts = [frame[order[:n_train]], frame[order[n_train : n_train + n_valid]], frame[order[n_train + n_valid :]]]
    return Split(
        *parts,
        windows={
            "train": ("random", f"{shares[0]:.0%}"),
            "valid": ("random", f"{shares[1]:.0%}"),
            "test": ("random", f"{1 - sum(shares):.0%}"),
        },
    )


def split_for(frame: pl.DataFrame, *, label: str, windows: Any, embargo_days: int, seed: int) -> Split:
    """Out of time when the snapshots are dated; at random (and said so) when the source has no dates."""
    if frame["as_of"].null_count() == frame.height:
        return random_split(frame, label=label, seed=seed)
    return time_split(frame, label=label, windows=windows, embargo_days=embargo_days)


def _months_before(day: dt.date, months: int) -> dt.date:
    return pl.Series([day]).dt.offset_by(f"-{months}mo").dt.month_end().item()


def is_random(split: Split) -> bool:
    """A source with no dates: its split is random, so its figures come from repeated splits."""
    return split.windows["train"][0] == "random"


def is_small(split: Split, params: TrainParams) -> bool:
    """A source with no dates (a random split) and fewer labelled rows than ``train.small_data.max_rows``."""
    rows = split.train.height + split.valid.height + split.test.height
    return is_random(split) and rows < params.small_data.max_rows


def scorecard_for(spec: ModelSpec, params: TrainParams) -> Scorecard:
    """The scorecard challenger of ``spec``, unfitted, as ``train.scorecard`` sets it."""
    sc = params.scorecard
    return Scorecard(
        binning=sc.binning,
        max_bins=sc.max_bins,
        min_bin_share=sc.min_bin_share,
        C=sc.C,
        base_score=sc.base_score,
        base_odds=sc.base_odds,
        pdo=sc.pdo,
        categorical=spec.categorical,
        monotone=dict(zip(spec.features, spec.monotone(), strict=True)),
        special_codes={f: v for f, v in sc.special_codes.items() if f in spec.features},
    )


def fit_candidates(spec: ModelSpec, split: Split, params: TrainParams, *, seed: int) -> dict[str, RiskModel]:
    """The LightGBM champion candidate and the scorecard challenger, both calibrated on validation; on small
    data (:func:`is_small`), fitted on training and validation together and calibrated out of fold."""
    mp: ModelParams = getattr(params, spec.name)
    if is_small(split, params):
        return _fit_small(spec, split, params, seed=seed)
    train = split.train.sort("as_of").tail(mp.max_train_rows)
    X, y = to_model_frame(train, spec.features, spec.categories), train[spec.label].to_numpy().astype(int)
    Xv = to_model_frame(split.valid, spec.features, spec.categories)
    yv = split.valid[spec.label].to_numpy().astype(int)
    gbm = fit_lightgbm(X, y, Xv, yv, monotone=spec.monotone(), params=mp, seed=seed)
    card = scorecard_for(spec, params).fit(X, y)
    schema = InputSchema.of(X, spec.features).to_dict()  # checked again where the model is served alone
    out = {}
    for kind, est in ((LIGHTGBM, gbm), (SCORECARD, card)):
        raw_valid = est.predict_proba(Xv)[:, 1]
        cal = Calibrator(method=mp.calibration or params.calibration).fit(raw_valid, yv)
        out[kind] = spec.risk_model(
            kind,
            est,
            cal,
            {
                "windows": {k: [str(a), str(b)] for k, (a, b) in split.windows.items()},
                "rows": {"train": train.height, "valid": split.valid.height, "test": split.test.height},
                "best_iteration": int(getattr(est, "best_iteration_", 0) or 0) if kind == LIGHTGBM else None,
                "input_schema": schema,
            },
        )
    return out


def _fit_small(spec: ModelSpec, split: Split, params: TrainParams, *, seed: int) -> dict[str, RiskModel]:
    """Small data: both candidates on training and validation rows together (the test rows stay held out),
    LightGBM's trees chosen by cross-validation, each calibrated by Platt scaling of out-of-fold scores."""
    from risk.models import small

    mp: ModelParams = getattr(params, spec.name)
    sd = params.small_data
    fit = pl.concat([split.train, split.valid], how="vertical_relaxed")
    X, y = to_model_frame(fit, spec.features, spec.categories), fit[spec.label].to_numpy().astype(int)
    crossed = small.cross_fit(X, y, params=mp, monotone=spec.monotone(), seed=seed, folds=sd.folds)
    card_oof = small.out_of_fold(lambda: scorecard_for(spec, params), X, y, seed=seed, folds=sd.folds)
    card = scorecard_for(spec, params).fit(X, y)
    schema = InputSchema.of(X, spec.features).to_dict()
    out = {}
    for kind, est, oof in ((LIGHTGBM, crossed.estimator, crossed.oof), (SCORECARD, card, card_oof)):
        out[kind] = spec.risk_model(
            kind,
            est,
            Calibrator(method="platt").fit(oof, y),
            {
                "windows": {k: [str(a), str(b)] for k, (a, b) in split.windows.items()},
                "rows": {"train": fit.height, "valid": 0, "test": split.test.height},
                "best_iteration": crossed.rounds if kind == LIGHTGBM else None,
                "input_schema": schema,
                "small_data": {
                    "folds": sd.folds,
                    "trees": crossed.rounds,
                    "calibration": "platt, out of fold",
                    "oof_auc": metrics.safe_auc(y, oof),
                },
            },
        )
    return out


@dataclass
class Evaluation:
    """Test-window figures for each candidate, and which one is champion."""

    spec: ModelSpec
    summary: dict[str, dict[str, float]]
    calibration: dict[str, pl.DataFrame]
    roc: dict[str, pl.DataFrame]
    ks: dict[str, pl.DataFrame]
    by_vintage: dict[str, pl.DataFrame]
    importance: pl.DataFrame
    champion: str
    oracle: dict[str, float] = field(default_factory=dict)


def evaluate_candidates(
    spec: ModelSpec,
    models: dict[str, RiskModel],
    split: Split,
    params: TrainParams,
    *,
    oracle_pd: pl.DataFrame | None = None,
    oracle_snapshots: pl.DataFrame | None = None,
) -> Evaluation:
    """Score the test window with each candidate; pick the champion by ``params.champion_rule``.

    ``oracle_pd`` (application_id, true_pd) and ``oracle_snapshots`` (loan_id, as_of and the true
    probability of each loan label) are the simulator's truth: the same test rows scored by them give
    the oracle AUC, the best any model could do on this book.
    """
    y = split.test[spec.label].to_numpy().astype(int)
    vintage = _vintage(split.test)
    summary, cal, roc, ks, vint = {}, {}, {}, {}, {}
    for kind, model in models.items():
        p = model.predict_proba(split.test)
        ref = model.predict_proba(split.train.sort("as_of").tail(200_000))
        summary[kind] = metrics.binary_report(y, p, reference=ref)
        cal[kind] = metrics.calibration_table(y, p)
        roc[kind] = metrics.roc_points(y, p)
        ks[kind] = metrics.ks_points(y, p)
        vint[kind] = metrics.auc_by_group(y, p, vintage)
    oracle = _oracle(spec, split.test, oracle_pd, oracle_snapshots)
    return Evaluation(
        spec, summary, cal, roc, ks, vint, _importance(models[LIGHTGBM]), choose_champion(summary, params), oracle
    )


ORACLE_COLUMN = {"dpd30_next_90d": "p_dpd30_next_90d", "cure_30d": "p_cure_30d"}


def _oracle(
    spec: ModelSpec, test: pl.DataFrame, oracle_pd: pl.DataFrame | None, oracle_snapshots: pl.DataFrame | None
) -> dict[str, float]:
    """AUC and Gini of the truth's probability on the test rows it covers (empty without a truth)."""
    if spec.dataset == "application" and oracle_pd is not None:
        joined = test.select("application_id", spec.label).join(oracle_pd, on="application_id", how="inner")
        score = "true_pd"
    elif spec.dataset == "loan" and oracle_snapshots is not None and spec.label in ORACLE_COLUMN:
        score = ORACLE_COLUMN[spec.label]
        joined = test.select("loan_id", "as_of", spec.label).join(
            oracle_snapshots.select("loan_id", "as_of", score), on=["loan_id", "as_of"], how="inner"
        )
        joined = joined.filter(pl.col(score).is_not_null())
    else:
        return {}
    if not joined.height:
        return {}
    auc = metrics.safe_auc(joined[spec.label].to_numpy().astype(int), joined[score].to_numpy())
    if auc is None:
        return {}
    return {"auc": auc, "gini": 2 * auc - 1, "coverage": joined.height / max(test.height, 1)}


def choose_champion(summary: dict[str, dict[str, float]], params: TrainParams) -> str:
    """LightGBM unless the scorecard beats it on the rule's metric by more than ``min_gain``."""
    rule = params.champion_rule
    higher_is_better = rule.metric in ("auc", "ks")
    gbm, card = summary[LIGHTGBM][rule.metric], summary[SCORECARD][rule.metric]
    gain = (card - gbm) if higher_is_better else (gbm - card)
    return SCORECARD if gain > rule.min_gain else LIGHTGBM


def _vintage(frame: pl.DataFrame) -> np.ndarray:
    day = pl.coalesce("originated_on", "as_of") if "originated_on" in frame.columns else pl.col("as_of")
    return frame.select(day.dt.strftime("%Y-%m")).to_series().to_numpy()


def _importance(model: RiskModel) -> pl.DataFrame:
    booster = model.estimator.booster_
    return pl.DataFrame({"feature": model.features, "gain": booster.feature_importance("gain").astype(float)}).sort(
        "gain", descending=True
    )
