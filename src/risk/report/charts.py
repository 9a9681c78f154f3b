"""The report's charts (matplotlib, headless): each returns a Figure with a title, axis labels and units.

:func:`to_data_uri` turns a figure into a base64 PNG ``data:`` URI for a self-contained HTML page.
"""

from __future__ import annotations

import base64
import datetime as dt
import io as _io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, PercentFormatter  # noqa: E402

from risk.report.portfolio import BUCKETS, EXITS  # noqa: E402

BLUE, ORANGE, RED, GREY = "#1f5f8b", "#e07b39", "#c0392b", "#8a8a8a"
CANDIDATE_COLOURS = {"lightgbm": BLUE, "scorecard": ORANGE}
PCT = PercentFormatter(1.0, decimals=0)

plt.rcParams.update(
    {
        "font.size": 9,
        "axes.titlesize": 10,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "figure.dpi": 100,
    }
)


def to_data_uri(fig: Figure, *, dpi: int = 100) -> str:
    """The figure as a ``data:image/png;base64,...`` URI; the figure is closed."""
    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def save_png(fig: Figure, target: str | Path, *, dpi: int = 100) -> None:
    """Write the figure as PNG atomically (for the README picture); the figure is closed."""
    from risk.io import atomic_path

    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)


def _quarter_span(vintage: str) -> tuple[dt.date, dt.date]:
    year, q = int(vintage[:4]), int(vintage[-1])
    start = dt.date(year, 3 * q - 2, 1)
    end = dt.date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1) - dt.timedelta(days=1)
    return start, end


def shock_vintages(vintages: list[str], shock: tuple[dt.date, dt.date] | None) -> set[str]:
    """Origination quarters whose first six months on book overlap the shock period."""
    if shock is None:
        return set()
    hit = set()
    for v in vintages:
        start, end = _quarter_span(v)
        if start <= shock[1] and pl.Series([end]).dt.offset_by("6mo").item() >= shock[0]:
            hit.add(v)
    return hit


def vintage_figure(curves: pl.DataFrame, *, shock: tuple[dt.date, dt.date] | None = None) -> Figure:
    """Cumulative 30+ dpd rate by months on book, one line per origination quarter; shock vintages in red."""
    vintages = curves["vintage"].unique().sort().to_list()
    hit = shock_vintages(vintages, shock)
    calm = [v for v in vintages if v not in hit]
    blues = plt.get_cmap("Blues")(np.linspace(0.35, 0.95, max(len(calm), 1)))
    reds = plt.get_cmap("Reds")(np.linspace(0.55, 0.95, max(len(hit), 1)))
    colour = {v: blues[i] for i, v in enumerate(calm)} | {v: reds[i] for i, v in enumerate(sorted(hit))}
    fig, ax = plt.subplots(figsize=(8, 4.6))
    for v in vintages:
        c = curves.filter(pl.col("vintage") == v)
        label = f"{v} (shock)" if v in hit else v
        ax.plot(
            c["months_on_book"],
            c["rate"],
            color=colour[v],
            lw=2.2 if v in hit else 1.4,
            label=label,
            marker="o" if c.height == 1 else None,
            ms=3,
        )
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
    ax.set(
        title="Vintage curves: cumulative share of loans ever 30+ days past due",
        xlabel="Months on book (MOB)",
        ylabel="Loans ever 30+ dpd (% of vintage)",
    )
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.legend(
        title="Origination quarter",
        ncol=2,
        fontsize=7,
        title_fontsize=8,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        frameon=False,
    )
    return fig


def vintage_at_mob_figure(
    curves: pl.DataFrame, *, months: int = 6, shock: tuple[dt.date, dt.date] | None = None
) -> Figure:
    """Bars: each origination quarter's ever-30+ rate at ``months`` on book; shock vintages in red."""
    t = curves.filter(pl.col("months_on_book") == months).sort("vintage")
    hit = shock_vintages(t["vintage"].to_list(), shock)
    fig, ax = plt.subplots(figsize=(8, 2.8))
    if t.is_empty():  # matplotlib's bar() cannot take empty data
        ax.text(
            0.5,
            0.5,
            f"no origination quarter has reached MOB {months} yet",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
    else:
        ax.bar(t["vintage"].to_list(), t["rate"].to_list(), color=[RED if v in hit else BLUE for v in t["vintage"]])
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
    ax.set(
        title=f"Ever 30+ dpd at MOB {months} by origination quarter (red: first 6 months in the shock)",
        xlabel="Origination quarter",
        ylabel=f"Loans 30+ by MOB {months} (%)",
    )
    ax.tick_params(axis="x", rotation=45)
    return fig


def roll_rate_figure(matrix: pl.DataFrame) -> Figure:
    """Heatmap of the migration matrix: share of loans moving from each bucket (row) to each column."""
    cols = [*BUCKETS, *EXITS]
    values = matrix.select(cols).fill_null(0.0).to_numpy()
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.imshow(values, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            ax.text(
                j,
                i,
                f"{v:.1%}" if v else "·",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if v > 0.55 else "black",
            )
    ax.set_xticks(range(len(cols)), [c.replace("_", " ") for c in cols])
    rows = [f"{f} (n={n:,})" for f, n in zip(matrix["from"], matrix["loans"], strict=True)]
    ax.set_yticks(range(len(rows)), rows)
    ax.grid(False)
    ax.set(
        title="Roll rates: where loans are one month end later (% of row)",
        xlabel="Bucket at the next month end",
        ylabel="Bucket at month end",
    )
    return fig


def dpd_distribution_figure(dist: pl.DataFrame) -> Figure:
    """Bars: share of the active book's loans and balance in each days-past-due band."""
    x = np.arange(dist.height)
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    ax.bar(x - 0.2, dist["loan_share"], 0.4, label="loans", color=BLUE)
    ax.bar(x + 0.2, dist["balance_share"], 0.4, label="outstanding principal", color=ORANGE)
    ax.set_xticks(x, dist["band"].to_list())
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
    ax.set(
        title="Active book by days past due at the as-of date",
        xlabel="Days past due (band)",
        ylabel="Share of active book (%, log scale)",
    )
    ax.legend()
    return fig


def funnel_figure(funnel: pl.DataFrame) -> Figure:
    """Horizontal bars: share of delinquent loans that reached each collections-ladder step."""
    t = funnel.reverse()
    fig, ax = plt.subplots(figsize=(6.5, 3.0))
    ax.barh(t["step"].str.replace_all("_", " "), t["share"], color=BLUE)
    for y, (s, n) in enumerate(zip(t["share"], t["loans"], strict=True)):
        ax.text(s + 0.01, y, f"{s:.1%} ({n:,})", va="center", fontsize=8)
    ax.xaxis.set_major_formatter(PCT)
    ax.set_xlim(0, 1.2)
    ax.set(
        title="Collections ladder: how far delinquent loans went",
        xlabel="Share of delinquent loans (%)",
        ylabel="Highest step reached",
    )
    return fig


def model_figure(
    title: str,
    roc: dict[str, pl.DataFrame],
    ks: pl.DataFrame | None,
    calibration: dict[str, pl.DataFrame],
    distribution: pl.DataFrame | None,
    psi: float | None,
    *,
    champion: str,
) -> Figure:
    """Four panels for one model: ROC (both candidates), KS (champion), calibration, train vs test scores."""
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.6))
    ax = axes[0]
    for kind, c in roc.items():
        ax.plot(c["fpr"], c["tpr"], label=kind, color=CANDIDATE_COLOURS.get(kind, GREY))
    ax.plot([0, 1], [0, 1], ls=":", c=GREY)
    ax.set(
        title="ROC, test window",
        xlabel="False positive rate (share of goods)",
        ylabel="True positive rate (share of bads)",
    )
    ax.legend(fontsize=8)
    ax = axes[1]
    if ks is not None:
        gap = (ks["cum_bad"] - ks["cum_good"]).to_numpy()
        i = int(np.argmax(gap))
        ax.plot(ks["population_share"], ks["cum_bad"], label="bads", color=RED)
        ax.plot(ks["population_share"], ks["cum_good"], label="goods", color=BLUE)
        xk = ks["population_share"][i]
        ax.vlines(xk, ks["cum_good"][i], ks["cum_bad"][i], color="black", ls="--", label=f"KS = {gap[i]:.2f}")
        ax.legend(fontsize=8)
    ax.xaxis.set_major_formatter(PCT)
    ax.yaxis.set_major_formatter(PCT)
    ax.set(title=f"KS curve ({champion})", xlabel="Population, riskiest first (%)", ylabel="Cumulative share (%)")
    ax = axes[2]
    top = 0.0
    for kind, t in calibration.items():
        ax.plot(t["predicted"], t["observed"], marker="o", ms=3, label=kind, color=CANDIDATE_COLOURS.get(kind, GREY))
        top = max(top, float(t["predicted"].max()), float(t["observed"].max()))
    ax.plot([0, top], [0, top], ls=":", c=GREY)
    ax.xaxis.set_major_formatter(PCT)
    ax.yaxis.set_major_formatter(PCT)
    ax.set(title="Calibration by decile", xlabel="Mean predicted probability (%)", ylabel="Observed rate (%)")
    ax.legend(fontsize=8)
    ax = axes[3]
    if distribution is not None:
        x = np.arange(distribution.height)
        ax.bar(x - 0.2, distribution["train"], 0.4, label="train", color=GREY)
        ax.bar(x + 0.2, distribution["test"], 0.4, label="test", color=CANDIDATE_COLOURS.get(champion, BLUE))
        ticks = x[:: max(1, len(x) // 5)]
        ax.set_xticks(ticks - 0.5, [_short_pct(distribution["lower"][int(i)]) for i in ticks])
        ax.yaxis.set_major_formatter(PCT)
        ax.legend(fontsize=8)
        ax.set(
            title=f"Score distribution ({champion}), PSI = {psi:.3f}",
            xlabel="Predicted probability (log-odds bins)",
            ylabel="Share of sample (%)",
        )
    else:
        ax.text(0.5, 0.5, "score sample not available", ha="center", va="center", transform=ax.transAxes)
        ax.set(title="Score distribution", xlabel="Score bin", ylabel="Share of sample (%)")
    fig.suptitle(title, fontsize=11, x=0.01, ha="left")
    fig.tight_layout()
    return fig


def _short_pct(p: float) -> str:
    return f"{p:.0%}" if p >= 0.1 else f"{p:.1%}" if p >= 0.01 else f"{p:.2%}"


def capacity_figure(curve: pl.DataFrame, *, scheduled: int | None = None) -> Figure:
    """Cumulative expected recovery of the collections queue against the number of contacts worked."""
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    ax.plot(curve["contacts"], curve["cumulative_expected_value"], color=BLUE)
    if scheduled:
        row = curve.filter(pl.col("contacts") == scheduled)
        ax.axvline(scheduled, color=ORANGE, ls="--", label=f"scheduled today: {scheduled:,} contacts")
        if row.height:
            ax.plot([scheduled], row["cumulative_expected_value"], "o", color=ORANGE)
        ax.legend()
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1e3:,.0f}k"))
    ax.set(
        title="What capacity buys: expected recovery of the best k contacts",
        xlabel="Contacts worked (k, best expected value first)",
        ylabel="Cumulative expected value (RMB)",
    )
    return fig


AGREEMENT_OUTCOMES = (("kept", BLUE), ("completed", "#7fb3d9"), ("broken", RED))  # shares of the resolved


def agreement_outcomes_figure(panels: dict[str, pl.DataFrame]) -> Figure:
    """Stacked bars, one panel per grouping (its frame's first column): kept, completed and broken shares of the
    resolved agreements, with the number resolved."""
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 3.2), squeeze=False)
    for ax, (title, t) in zip(axes[0], panels.items(), strict=True):
        t = t.filter(pl.col("resolved") > 0).reverse()
        names = [f"{n.replace('_', ' ')} (n={r:,})" for n, r in zip(t[t.columns[0]], t["resolved"], strict=True)]
        left = np.zeros(t.height)
        for status, colour in AGREEMENT_OUTCOMES:
            share = t[status].fill_null(0.0).to_numpy()
            ax.barh(names, share, left=left, color=colour, label=status)
            left += share
        ax.xaxis.set_major_formatter(PCT)
        ax.set_xlim(0, 1)
        ax.grid(axis="y", visible=False)
        ax.set(title=title, xlabel="Share of resolved agreements (%)")
    axes[0][0].legend(fontsize=8, loc="lower left", bbox_to_anchor=(0.0, 1.08), ncol=3, frameon=False)
    fig.tight_layout()
    return fig


def recovery_calibration_figure(calibration: pl.DataFrame) -> Figure:
    """Observed against predicted share of the claim recovered, by decile of the court-recovery model."""
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    top = max(float(calibration["predicted"].max()), float(calibration["observed"].max()), 0.05) * 1.1
    ax.plot([0, top], [0, top], ls=":", c=GREY, label="perfect calibration")
    ax.plot(calibration["predicted"], calibration["observed"], marker="o", ms=4, color=BLUE, label="by decile")
    ax.xaxis.set_major_formatter(PCT)
    ax.yaxis.set_major_formatter(PCT)
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set(
        title="Court recovery: observed vs predicted, by decile",
        xlabel="Predicted share of the claim recovered (%)",
        ylabel="Observed share recovered (%)",
    )
    ax.legend(fontsize=8)
    return fig
