"""Reject inference for the application model (拒绝推断): lend the declined applicants an outcome so a PD
trained on booked loans learns about the whole through-the-door population.

Booked loans are the lender's own selection: the declined applicants were riskier in ways the features show
only partly, so a model fitted on accepts alone (the known-good-bad model, KGB) sees few applicants like
them. Two classical methods give them inferred outcomes from the KGB model's score ``p``:

- **parcelling**: score bands (deciles of the KGB score); in each band the declined applicants are drawn bad
  at random with the band's observed bad rate among accepts, times ``bad_rate_factor`` (rejects are
  usually worse than accepts with the same score);
- **fuzzy augmentation**: each declined applicant enters twice, bad with weight ``p × factor`` and good with
  the rest.

The simulator knows every applicant's true PD, declined ones included, so :func:`through_the_door` measures
which method recovers it: ranking (AUC against the true PD as expected outcomes), level (mean predicted
against mean true) and error (root mean squared distance to the true PD), on the test window's decided
applications. Pure: frames and arrays in, arrays and figures out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import polars as pl
from sklearn.metrics import roc_auc_score

from risk.config import TrainParams
from risk.contract import Decision
from risk.models import metrics
from risk.models.calibration import Calibrator
from risk.models.model import LIGHTGBM, RiskModel, fit_lightgbm, to_model_frame
from risk.models.train import ModelSpec, Split

NONE, PARCELLING, FUZZY = "none", "parcelling", "fuzzy"
METHODS = (NONE, PARCELLING, FUZZY)
DECLINED = Decision.DECLINED.value


@dataclass(frozen=True)
class Augmented:
    """Accepts with their outcomes plus declined applicants with inferred ones, and each row's weight."""

    X: pd.DataFrame
    y: np.ndarray
    weight: np.ndarray
    n_rejects: int


def augment(
    method: str,
    X_accepts: pd.DataFrame,
    y_accepts: np.ndarray,
    X_rejects: pd.DataFrame,
    *,
    p_accepts: np.ndarray,
    p_rejects: np.ndarray,
    bad_rate_factor: float = 1.0,
    bands: int = 10,
    seed: int = 0,
) -> Augmented:
    """The training rows for ``method``: accepts as they are, rejects with inferred outcomes.

    ``p_accepts`` and ``p_rejects`` are the KGB model's calibrated PDs; parcelling bands them together.
    """
    if method not in METHODS:
        msg = f"reject inference method must be one of {', '.join(METHODS)}, got {method!r}"
        raise ValueError(msg)
    y_accepts = np.asarray(y_accepts, dtype=int)
    ones = np.ones(len(y_accepts))
    if method == NONE or not len(X_rejects):
        return Augmented(X_accepts.reset_index(drop=True), y_accepts, ones, 0)
    p_rejects = np.asarray(p_rejects, dtype=float)
    if method == PARCELLING:
        rate = band_bad_rates(p_accepts, y_accepts, p_rejects, bands=bands)
        inferred = np.random.default_rng(seed).random(len(p_rejects)) < np.clip(rate * bad_rate_factor, 0.0, 1.0)
        X = pd.concat([X_accepts, X_rejects], ignore_index=True)
        return Augmented(X, np.concatenate([y_accepts, inferred.astype(int)]), np.ones(len(X)), len(X_rejects))
    bad = np.clip(p_rejects * bad_rate_factor, 0.0, 1.0)
    X = pd.concat([X_accepts, X_rejects, X_rejects], ignore_index=True)
    y = np.concatenate([y_accepts, np.ones(len(bad), dtype=int), np.zeros(len(bad), dtype=int)])
    weight = np.concatenate([ones, bad, 1.0 - bad])
    keep = weight > 0  # a row of weight 0 teaches nothing and LightGBM refuses an all-zero side
    return Augmented(X[keep].reset_index(drop=True), y[keep], weight[keep], len(X_rejects))


def band_bad_rates(p_accepts: np.ndarray, y_accepts: np.ndarray, p_rejects: np.ndarray, *, bands: int) -> np.ndarray:
    """Each reject's band's observed bad rate among accepts; bands are quantiles of accepts' and rejects'
    scores together, so the high scores where rejects crowd are cut finely.

    A band with no accepts (rejects beyond the accepts' range) takes the nearest band's rate.
    """
    both = np.concatenate([p_accepts, p_rejects])
    edges = np.unique(np.quantile(both, np.linspace(0, 1, bands + 1)[1:-1]))
    acc_band = np.searchsorted(edges, p_accepts, side="right")
    rej_band = np.searchsorted(edges, p_rejects, side="right")
    n = len(edges) + 1
    bads = np.bincount(acc_band, weights=y_accepts, minlength=n)
    counts = np.bincount(acc_band, minlength=n)
    filled = np.flatnonzero(counts)
    nearest = filled[np.abs(np.arange(n)[:, None] - filled[None, :]).argmin(axis=1)]
    rate = bads[nearest] / counts[nearest]
    return rate[rej_band]


def expected_auc(score: np.ndarray, true_pd: np.ndarray) -> float:
    """The AUC a score would have on average over outcomes drawn from ``true_pd``: each row counts as a
    bad with weight ``true_pd`` and as a good with the rest."""
    score, true_pd = np.asarray(score, dtype=float), np.asarray(true_pd, dtype=float)
    y = np.concatenate([np.ones(len(score)), np.zeros(len(score))])
    return float(roc_auc_score(y, np.concatenate([score, score]), sample_weight=np.concatenate([true_pd, 1 - true_pd])))


def through_the_door(pd_: np.ndarray, true_pd: np.ndarray, declined: np.ndarray) -> dict[str, float]:
    """How well a PD recovers the true PD of every decided applicant, and of the declined ones alone."""
    pd_, true_pd, declined = np.asarray(pd_, float), np.asarray(true_pd, float), np.asarray(declined, bool)
    out = {
        "n": int(len(pd_)),
        "n_declined": int(declined.sum()),
        "expected_auc": expected_auc(pd_, true_pd),
        "mean_predicted": float(pd_.mean()),
        "mean_true": float(true_pd.mean()),
        "rmse": float(np.sqrt(np.mean((pd_ - true_pd) ** 2))),
    }
    if declined.any():
        out |= {
            "declined_mean_predicted": float(pd_[declined].mean()),
            "declined_mean_true": float(true_pd[declined].mean()),
            "declined_rmse": float(np.sqrt(np.mean((pd_[declined] - true_pd[declined]) ** 2))),
        }
    return out


def declined_by_window(
    applications: pl.DataFrame, windows: dict[str, tuple[dt.date, dt.date]]
) -> dict[str, pl.DataFrame]:
    """The declined applications whose application date falls in each window of the PD's time split
    (the training window reaches back to the first application)."""
    declined = applications.filter(pl.col("decision") == DECLINED)
    out = {}
    for name, (start, end) in windows.items():
        low = pl.lit(True) if name == "train" else pl.col("as_of") >= start
        out[name] = declined.filter(low & (pl.col("as_of") <= end))
    return out


def study(
    spec: ModelSpec,
    split: Split,
    kgb: RiskModel,
    declined: dict[str, pl.DataFrame],
    params: TrainParams,
    *,
    truth: pl.DataFrame | None,
    seed: int,
) -> dict:
    """Fit the PD once per method on accepts plus inferred rejects and judge each on the test window.

    ``kgb`` is the LightGBM candidate fitted on accepts alone (method ``none``); each other method, once per
    bad-rate factor (keyed ``"parcelling x1.5"``), has the same settings, early-stopped and calibrated on
    the validation window augmented the same way.
    With ``truth`` (application_id, true_pd) every method is also measured on the through-the-door
    population: the test window's approved and declined applications.
    """
    rp, mp = params.reject_inference, params.pd
    # the rows the accepts-only model was fitted on (train keeps the latest max_train_rows)
    accepts = {"train": split.train.sort("as_of").tail(mp.max_train_rows), "valid": split.valid}
    X = {w: to_model_frame(accepts[w], spec.features, spec.categories) for w in ("train", "valid")}
    y = {w: accepts[w][spec.label].to_numpy().astype(int) for w in ("train", "valid")}
    R = {w: to_model_frame(declined[w], spec.features, spec.categories) for w in ("train", "valid")}
    p_acc = {w: kgb.predict_proba(accepts[w]) for w in ("train", "valid")}
    p_rej = {w: kgb.predict_proba(declined[w]) for w in ("train", "valid")}
    door = pl.concat(
        [
            split.test.select("application_id", *spec.features),
            declined["test"].select("application_id", *spec.features),
        ],
        how="vertical_relaxed",
    )
    is_declined = np.r_[np.zeros(split.test.height, bool), np.ones(declined["test"].height, bool)]
    y_test = split.test[spec.label].to_numpy().astype(int)
    models: dict[str, RiskModel] = {NONE: kgb}
    for method, factor in ((m, f) for m in rp.methods for f in rp.bad_rate_factors):
        aug = {
            w: augment(
                method,
                X[w],
                y[w],
                R[w],
                p_accepts=p_acc[w],
                p_rejects=p_rej[w],
                bad_rate_factor=factor,
                bands=rp.bands,
                seed=seed,
            )
            for w in ("train", "valid")
        }
        tr, va = aug["train"], aug["valid"]
        gbm = fit_lightgbm(
            tr.X,
            tr.y,
            va.X,
            va.y,
            monotone=spec.monotone(),
            params=mp,
            seed=seed,
            sample_weight=tr.weight,
            valid_weight=va.weight,
        )
        cal = Calibrator(method=mp.calibration or params.calibration).fit(
            gbm.predict_proba(va.X)[:, 1], va.y, sample_weight=va.weight
        )
        models[f"{method} x{factor:g}"] = spec.risk_model(
            LIGHTGBM,
            gbm,
            cal,
            {"reject_inference": method, "bad_rate_factor": factor, "rejects": [tr.n_rejects, va.n_rejects]},
        )
    out: dict = {
        "declined": {w: declined[w].height for w in ("train", "valid", "test")},
        "bad_rate_factors": list(rp.bad_rate_factors),
        "methods": {},
    }
    true_pd = None
    if truth is not None:
        joined = door.select("application_id").join(truth, on="application_id", how="left")
        true_pd = joined["true_pd"].to_numpy()
    for method, model in models.items():
        entry = {"booked_test_auc": metrics.safe_auc(y_test, model.predict_proba(split.test))}
        if true_pd is not None and np.isfinite(true_pd).all():
            entry |= through_the_door(model.predict_proba(door), true_pd, is_declined)
        out["methods"][method] = entry
    scored = {m: v for m, v in out["methods"].items() if "rmse" in v}
    if scored:
        out["best"] = min(scored, key=lambda m: scored[m]["rmse"])
    return out
