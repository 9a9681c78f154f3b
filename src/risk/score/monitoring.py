"""Monitoring every scoring run: each score and each feature against the training window it was fitted on.

A scheduled scorer must watch itself (what Evidently, NannyML and optbinning's ScorecardMonitoring report):
the population it scores today drifts from the one the model learned from long before the labels show it.
Per run and model this measures the PSI of the score, the CSI of each feature, each feature's change in
missing rate and share of categories never seen in training, and for the PD model the approval rate the
cut-offs give today against training. For the loan models it also compares, for each earlier scoring run
whose outcome horizon ended since the previous run, the rate realised with the probability predicted
(:func:`realised_vs_predicted`). Each is a row of the ``monitoring`` table (one row per measure per
day), with its status against ``score.monitoring``: ``ok``, ``warning`` (named in the run's summary) or
``error`` (stops the run before anything is written when ``fail_on_error``).

The reference (:func:`reference_profile`) is written by ``evaluate`` from the training window of the
candidates it judged; the decile edges come from the reference, so a shift shows as mass moving between
the same bins.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from risk.config import LabelParams, MonitoringParams
from risk.features.catalogue import CATEGORICAL, FEATURES
from risk.models.validation import grade_tests
from risk.validate.profile import category_counts, category_shares, shares_of

DECILES = np.linspace(0.1, 0.9, 9)
CALENDAR = frozenset(f.name for f in FEATURES if f.family == "calendar")  # vintage, month: not monitored
EPS = 1e-4  # the share an empty bin is given, so that PSI stays finite
SCHEMA = {
    "as_of": pl.Date,
    "model": pl.String,
    "measure": pl.String,
    "feature": pl.String,
    "value": pl.Float64,
    "reference": pl.Float64,
    "threshold": pl.Float64,
    "status": pl.String,
}


def _edges(values: np.ndarray) -> list[float]:
    finite = values[np.isfinite(values)]
    return sorted(set(np.quantile(finite, DECILES).tolist())) if len(finite) else []


def _shares(values: np.ndarray, edges: Sequence[float]) -> list[float]:
    """Shares of finite values per bin of ``edges`` (len(edges) + 1 bins); missing values are not counted."""
    finite = values[np.isfinite(values)]
    counts = np.bincount(np.searchsorted(np.asarray(edges), finite, side="right"), minlength=len(edges) + 1)
    return (counts / max(len(finite), 1)).tolist()


def psi(expected: Sequence[float], actual: Sequence[float]) -> float:
    """Population stability index of two share vectors over the same bins: Σ (a − e) ln(a / e)."""
    e = np.clip(np.asarray(expected, dtype=float), EPS, None)
    a = np.clip(np.asarray(actual, dtype=float), EPS, None)
    return float(np.sum((a - e) * np.log(a / e)))


def _numbers(frame: pl.DataFrame, column: str) -> np.ndarray:
    return frame[column].cast(pl.Float64, strict=False).to_numpy().astype(float)


def reference_profile(
    frame: pl.DataFrame, scores: np.ndarray, features: Sequence[str], *, approve_below: float | None = None
) -> dict[str, Any]:
    """The training window as monitoring needs it: the score's deciles (and the share under the approval
    cut-off, for the PD model) and, per feature, its deciles or its categories, and its missing rate."""
    profile: dict[str, Any] = {"rows": frame.height, "score": {"edges": _edges(scores)}, "features": {}}
    profile["score"]["shares"] = _shares(scores, profile["score"]["edges"])
    if approve_below is not None:
        profile["score"]["approved_share"] = float(np.mean(scores < approve_below)) if len(scores) else None
    for f in features:
        if f in CALENDAR:
            continue  # the calendar moves by construction: its drift says nothing about the population
        column = frame[f]
        entry: dict[str, Any] = {"missing": column.null_count() / max(frame.height, 1)}
        if f in CATEGORICAL or column.dtype in (pl.String, pl.Categorical) or isinstance(column.dtype, pl.Enum):
            entry["categories"] = category_shares(column)
        else:
            values = _numbers(frame, f)
            entry["missing"] = float(np.mean(~np.isfinite(values))) if len(values) else 0.0
            entry["edges"] = _edges(values)
            entry["shares"] = _shares(values, entry["edges"])
        profile["features"][f] = entry
    return profile


def _status(value: float, warn: float, error: float) -> str:
    return "error" if value >= error else "warning" if value >= warn else "ok"


def measure(
    model: str,
    reference: Mapping[str, Any],
    frame: pl.DataFrame,
    scores: np.ndarray,
    params: MonitoringParams,
    *,
    as_of: dt.date,
    approve_below: float | None = None,
) -> pl.DataFrame:
    """The monitoring rows of one model's population today against its ``reference``."""
    rows: list[dict[str, Any]] = []

    def add(measure_: str, feature: str | None, value: float, ref: float | None, warn: float, error: float) -> None:
        rows.append(
            {
                "as_of": as_of,
                "model": model,
                "measure": measure_,
                "feature": feature,
                "value": value,
                "reference": ref,
                "threshold": warn,
                "status": _status(abs(value), warn, error),
            }
        )

    if frame.height == 0:
        return pl.DataFrame(schema=SCHEMA)
    ref_score = reference["score"]
    score_psi = psi(ref_score["shares"], _shares(scores, ref_score["edges"]))
    add("score_psi", None, score_psi, None, params.psi_warn, params.psi_error)
    if approve_below is not None and ref_score.get("approved_share") is not None:
        before = ref_score["approved_share"]
        today = float(np.mean(scores < approve_below))
        add(
            "approval_rate_change", None, today - before, before,
            params.approval_change_warn, params.approval_change_error,
        )  # fmt: skip
    for f, ref in reference["features"].items():
        if f not in frame.columns:
            continue
        if "categories" in ref:
            column = frame[f]
            missing = column.null_count() / frame.height
            counts = category_counts(column)
            known = sum(counts.values())
            unseen = sum(n for c, n in counts.items() if c not in ref["categories"]) / known if known else 0.0
            now = shares_of(counts)
            cats = sorted(set(ref["categories"]) | set(now))
            csi = psi([ref["categories"].get(c, 0.0) for c in cats], [now.get(c, 0.0) for c in cats])
            add("unseen_category_share", f, unseen, 0.0, params.unseen_category_warn, params.unseen_category_error)
        else:
            values = _numbers(frame, f)
            missing = float(np.mean(~np.isfinite(values)))
            csi = psi(ref["shares"], _shares(values, ref["edges"]))
        add("feature_csi", f, csi, None, params.psi_warn, params.psi_error)
        add(
            "missing_rate_change", f, missing - ref["missing"], ref["missing"],
            params.missing_change_warn, params.missing_change_error,
        )  # fmt: skip
    return pl.DataFrame(rows, schema=SCHEMA)


# the loan models whose outcome a scoring run can see mature: the queue's probability column and the label
MATURING = {"early_warning": ("ew_probability", "dpd30_next_90d"), "cure": ("cure_probability", "cure_30d")}


def horizon_days(model: str, labels: LabelParams) -> int:
    return labels.early_warning_horizon_days if model == "early_warning" else labels.cure_horizon_days


def matured_cohorts(days_scored: Sequence[dt.date], *, horizon: int, as_of: dt.date) -> list[dt.date]:
    """The earlier scoring days whose outcome horizon ended after the previous run and by ``as_of``: each
    cohort is reported once, by the first run that can see its outcome."""
    before = sorted({d for d in days_scored if d < as_of})
    if not before:
        return []
    previous = before[-1]
    span = dt.timedelta(days=horizon)
    return [d for d in before if previous < d + span <= as_of]


def realised_vs_predicted(
    model: str, cohort: pl.DataFrame, params: MonitoringParams, *, as_of: dt.date
) -> pl.DataFrame:
    """One row per cohort day: the rate realised (``value``) against the mean probability predicted that day
    (``reference``), with the two-sided binomial test's p-value as ``threshold`` was crossed or not.

    ``cohort`` has ``as_of`` (the day scored), ``p`` (the probability then) and ``label`` (the outcome, null
    where the loan was outside the label's population).
    """
    rows = []
    labelled = cohort.filter(pl.col("label").is_not_null() & pl.col("p").is_not_null())
    for (day,), part in labelled.group_by("as_of", maintain_order=True):
        n, events, predicted = part.height, int(part["label"].sum()), float(part["p"].mean())
        p_value = grade_tests(n, events, predicted, amber=params.realised_p_warn, red=params.realised_p_error)[
            "two_sided_binomial_p"
        ]
        status = (
            "error" if p_value < params.realised_p_error else "warning" if p_value < params.realised_p_warn else "ok"
        )
        rows.append(
            {
                "as_of": as_of,
                "model": model,
                "measure": "realised_rate",
                "feature": f"scored {day} (n={n}, p={p_value:.3g})",
                "value": events / n,
                "reference": predicted,
                "threshold": params.realised_p_warn,
                "status": status,
            }
        )
    return pl.DataFrame(rows, schema=SCHEMA)


def summary(rows: pl.DataFrame) -> str:
    """The run's warnings and errors in words ("" when every measure is ok)."""
    bad = rows.filter(pl.col("status") != "ok")
    if bad.is_empty():
        return ""
    named = [
        f"{r['model']} {r['measure']}{' ' + r['feature'] if r['feature'] else ''} {r['value']:.3f} ({r['status']})"
        for r in bad.sort("status", "value", descending=True).head(5).iter_rows(named=True)
    ]
    more = f" and {bad.height - 5} more" if bad.height > 5 else ""
    return f" Monitoring: {bad.height} measure(s) beyond score.monitoring: {'; '.join(named)}{more}."
