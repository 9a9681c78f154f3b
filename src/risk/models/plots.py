"""Validation charts (matplotlib, headless): ROC, KS, calibration and feature importance."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402


def roc_figure(curves: dict[str, pl.DataFrame], title: str):
    fig, ax = plt.subplots(figsize=(5, 4.5))
    for kind, c in curves.items():
        ax.plot(c["fpr"], c["tpr"], label=kind)
    ax.plot([0, 1], [0, 1], ls=":", c="grey")
    ax.set(title=title, xlabel="False positive rate (goods flagged)", ylabel="True positive rate (bads caught)")
    ax.legend()
    return fig


def ks_figure(curve: pl.DataFrame, title: str):
    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.plot(curve["population_share"], curve["cum_bad"], label="bads")
    ax.plot(curve["population_share"], curve["cum_good"], label="goods")
    ax.set(title=title, xlabel="Share of population, riskiest first", ylabel="Cumulative share")
    ax.legend()
    return fig


def calibration_figure(tables: dict[str, pl.DataFrame], title: str):
    fig, ax = plt.subplots(figsize=(5, 4.5))
    top = 0.0
    for kind, t in tables.items():
        ax.plot(t["predicted"], t["observed"], marker="o", label=kind)
        top = max(top, t["predicted"].max(), t["observed"].max())
    ax.plot([0, top], [0, top], ls=":", c="grey")
    ax.set(title=title, xlabel="Mean predicted probability (decile)", ylabel="Observed rate")
    ax.legend()
    return fig


def importance_figure(importance: pl.DataFrame, title: str, top: int = 15):
    t = importance.head(top).reverse()
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.barh(t["feature"], t["gain"])
    ax.set(title=title, xlabel="Total gain (LightGBM)", ylabel="Feature")
    return fig


def close(fig) -> None:
    plt.close(fig)
