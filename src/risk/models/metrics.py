"""Validation metrics a credit committee reads: discrimination, calibration, capture and stability."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score, roc_curve


def ks_statistic(y: np.ndarray, p: np.ndarray) -> float:
    """Kolmogorov-Smirnov: the largest gap between the score distributions of bads and goods."""
    fpr, tpr, _ = roc_curve(y, p)
    return float(np.max(tpr - fpr))


def capture_rate(y: np.ndarray, p: np.ndarray, top: float) -> float:
    """Share of all bads found in the riskiest ``top`` fraction of the population."""
    n = max(1, int(np.ceil(top * len(p))))
    order = np.argsort(-p, kind="stable")[:n]
    return float(y[order].sum() / max(1, y.sum()))


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> pl.DataFrame:
    """Deciles of the predicted probability with mean prediction, observed rate and count."""
    frame = pl.DataFrame({"y": y.astype(float), "p": p.astype(float)}).with_columns(
        decile=(pl.col("p").rank("ordinal") * bins / (pl.len() + 1)).floor().cast(pl.Int32) + 1
    )
    return (
        frame.group_by("decile")
        .agg(n=pl.len(), predicted=pl.col("p").mean(), observed=pl.col("y").mean())
        .sort("decile")
    )


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Count-weighted mean |predicted - observed| over deciles of the prediction."""
    t = calibration_table(y, p, bins)
    w = t["n"].to_numpy() / t["n"].sum()
    return float(np.sum(w * np.abs(t["predicted"].to_numpy() - t["observed"].to_numpy())))


def psi(expected: np.ndarray, actual: np.ndarray, bins: int = 10) -> float:
    """Population stability index of a score between a reference (training) and a new sample."""
    edges = np.unique(np.quantile(expected, np.linspace(0, 1, bins + 1)))
    if len(edges) < 3:
        return 0.0
    edges[0], edges[-1] = -np.inf, np.inf
    e = np.histogram(expected, edges)[0] / len(expected)
    a = np.histogram(actual, edges)[0] / max(1, len(actual))
    e, a = np.clip(e, 1e-6, None), np.clip(a, 1e-6, None)
    return float(np.sum((a - e) * np.log(a / e)))


def safe_auc(y: np.ndarray, p: np.ndarray) -> float | None:
    return float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else None


def binary_report(y: np.ndarray, p: np.ndarray, *, reference: np.ndarray | None = None) -> dict[str, float]:
    """The headline figures on one sample; PSI against ``reference`` scores when given."""
    y = np.asarray(y, dtype=int)
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    auc = safe_auc(y, p)
    out = {
        "n": float(len(y)),
        "bad_rate": float(y.mean()) if len(y) else float("nan"),
        "mean_predicted": float(p.mean()) if len(p) else float("nan"),
        "auc": auc if auc is not None else float("nan"),
        "gini": 2 * auc - 1 if auc is not None else float("nan"),
        "ks": ks_statistic(y, p) if auc is not None else float("nan"),
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "ece": expected_calibration_error(y, p),
        "capture_top10": capture_rate(y, p, 0.10),
        "capture_top20": capture_rate(y, p, 0.20),
    }
    if reference is not None:
        out["psi"] = psi(np.asarray(reference, dtype=float), p)
    return out


def auc_by_group(y: np.ndarray, p: np.ndarray, group: np.ndarray) -> pl.DataFrame:
    """AUC per group (for example per vintage), with counts and bad rates."""
    frame = pl.DataFrame({"y": np.asarray(y, int), "p": np.asarray(p, float), "group": group})
    rows = []
    for (g,), part in frame.group_by("group", maintain_order=False):
        yy, pp = part["y"].to_numpy(), part["p"].to_numpy()
        rows.append({"group": g, "n": len(yy), "bad_rate": float(yy.mean()), "auc": safe_auc(yy, pp)})
    return pl.DataFrame(rows).sort("group") if rows else pl.DataFrame()


def roc_points(y: np.ndarray, p: np.ndarray, max_points: int = 200) -> pl.DataFrame:
    """ROC curve thinned to at most ``max_points`` for DVC plots."""
    fpr, tpr, _ = roc_curve(y, p)
    idx = np.unique(np.linspace(0, len(fpr) - 1, min(max_points, len(fpr))).astype(int))
    return pl.DataFrame({"fpr": fpr[idx], "tpr": tpr[idx]})


def ks_points(y: np.ndarray, p: np.ndarray, points: int = 100) -> pl.DataFrame:
    """Cumulative share of bads and goods by score quantile: the KS curve."""
    order = np.argsort(-p, kind="stable")
    ys = np.asarray(y)[order]
    cum_bad = np.cumsum(ys) / max(1, ys.sum())
    cum_good = np.cumsum(1 - ys) / max(1, (1 - ys).sum())
    idx = np.unique(np.linspace(0, len(ys) - 1, min(points, len(ys))).astype(int))
    return pl.DataFrame({"population_share": (idx + 1) / len(ys), "cum_bad": cum_bad[idx], "cum_good": cum_good[idx]})


def score_sample(
    models: dict[str, Any], train: pl.DataFrame, test: pl.DataFrame, *, label: str, max_train_rows: int = 200_000
) -> pl.DataFrame:
    """Calibrated scores of each candidate on the latest ``max_train_rows`` training rows and on the test window.

    The training sample is the one evaluate uses as PSI reference. Vintage is the origination quarter
    (the application quarter for applications not booked).
    """
    ref = train.sort("as_of").tail(max_train_rows)
    parts = []
    for sample, frame in (("train", ref), ("test", test)):
        day = pl.coalesce("originated_on", "as_of") if "originated_on" in frame.columns else pl.col("as_of")
        vintage = frame.select(pl.format("{}Q{}", day.dt.year(), day.dt.quarter())).to_series()
        for kind, model in models.items():
            parts.append(
                pl.DataFrame(
                    {
                        "kind": kind,
                        "sample": sample,
                        "probability": model.predict_proba(frame),
                        "label": frame[label].cast(pl.Int8),
                        "vintage": vintage,
                    }
                )
            )
    return pl.concat(parts)
