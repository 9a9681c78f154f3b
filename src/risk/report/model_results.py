"""The models' validation results as the report shows them: what evaluate wrote, plus score samples.

:class:`ModelResults` gathers, for one model, the per-candidate summary (``metrics/<name>.json``), the
ROC, calibration and KS tables (``plots/<name>/*.csv``) and, when available, a sample of calibrated scores
on the training and test windows from which score distributions, PSI and AUC per vintage are computed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from risk.models import metrics
from risk.models.model import LIGHTGBM, SCORECARD

KINDS = (LIGHTGBM, SCORECARD)
TABLE_METRICS = ("auc", "ks", "brier", "ece", "capture_top10", "capture_top20", "psi")


@dataclass(frozen=True)
class ModelResults:
    """One model's validation results. ``scores`` has kind, sample (train/test), probability, label, vintage.

    ``windows`` maps train/valid/test to the split's (start, end); ``("random", "60%")`` and so on when the
    source has no dates and the split was drawn at random instead of out of time.
    """

    name: str
    title: str
    summary: dict[str, Any]
    roc: dict[str, pl.DataFrame] = field(default_factory=dict)
    calibration: dict[str, pl.DataFrame] = field(default_factory=dict)
    ks: pl.DataFrame | None = None
    scores: pl.DataFrame | None = None
    windows: dict[str, tuple[str, str]] | None = None

    @property
    def champion(self) -> str:
        return str(self.summary.get("champion", LIGHTGBM))

    @property
    def random_split(self) -> bool:
        """True when train / validation / test were drawn at random (a source without dates)."""
        return bool(self.windows) and all(str(w[0]) == "random" for w in self.windows.values())  # type: ignore[union-attr]

    def split_shares(self) -> str:
        """``train 60% / valid 20% / test 20%`` for a random split; empty otherwise."""
        if not self.random_split:
            return ""
        return " / ".join(f"{k} {w[1]}" for k, w in self.windows.items())  # type: ignore[union-attr]


def score_distribution(scores: pl.DataFrame, kind: str, *, bins: int = 20) -> tuple[pl.DataFrame, float]:
    """Share of train and test scores of ``kind`` in ``bins`` equal-width bins of log-odds, and their PSI.

    Log-odds bins keep low and high probabilities apart (calibrated scores are skewed and tied);
    ``lower``/``upper`` give each bin's range as probabilities. PSI uses train deciles as evaluate does.
    """
    s = scores.filter(pl.col("kind") == kind)
    train = s.filter(pl.col("sample") == "train")["probability"].to_numpy()
    test = s.filter(pl.col("sample") == "test")["probability"].to_numpy()

    def logit(p: np.ndarray) -> np.ndarray:
        p = np.clip(p, 1e-4, 1 - 1e-4)
        return np.log(p / (1 - p))

    both = logit(np.concatenate([train, test]))
    edges = np.linspace(both.min(), both.max() + 1e-9, bins + 1)
    table = pl.DataFrame(
        {
            "lower": 1 / (1 + np.exp(-edges[:-1])),
            "upper": 1 / (1 + np.exp(-edges[1:])),
            "train": np.histogram(logit(train), edges)[0] / max(len(train), 1),
            "test": np.histogram(logit(test), edges)[0] / max(len(test), 1),
        }
    )
    return table, metrics.psi(train, test)


def auc_by_vintage(scores: pl.DataFrame) -> pl.DataFrame:
    """Test-window AUC per origination quarter for each candidate, with counts and bad rates."""
    test = scores.filter(pl.col("sample") == "test")
    out = None
    for kind in test["kind"].unique(maintain_order=True).to_list():
        part = test.filter(pl.col("kind") == kind)
        t = metrics.auc_by_group(part["label"].to_numpy(), part["probability"].to_numpy(), part["vintage"].to_numpy())
        if t.is_empty():
            continue
        t = t.rename({"group": "vintage", "auc": f"auc_{kind}"})
        out = t if out is None else out.join(t.select("vintage", f"auc_{kind}"), on="vintage", how="left")
    return out if out is not None else pl.DataFrame()


def comparison_table(results: ModelResults) -> pl.DataFrame:
    """Champion vs challenger on the test window: one row per candidate, the committee's figures."""
    rows = []
    for kind in KINDS:
        s = results.summary.get(kind)
        if not s:
            continue
        role = "champion" if kind == results.champion else "challenger"
        rows.append({"candidate": kind, "role": role, "n": int(s.get("n", 0)), **{m: s.get(m) for m in TABLE_METRICS}})
    oracle = results.summary.get("oracle") or {}
    if oracle.get("auc") is not None:
        rows.append({"candidate": "oracle (simulator truth)", "role": "ceiling", "n": None, "auc": oracle["auc"]})
    return pl.DataFrame(rows, infer_schema_length=None)
