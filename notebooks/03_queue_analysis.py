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
# # 03 · Queue analysis: collections capacity and review cut-offs
#
# `risk score` writes two queues each day (Parquet under `data/scored/as_of=YYYY-MM-DD/` and DuckDB tables in
# `data/scored/risk.duckdb`):
#
# - the **collections queue** (催收队列): every overdue loan short of charge-off (核销) and every current loan the
#   early-warning model flags, with its overdue type (四类逾期), next step on the ladder, legal hand-over, the
#   next lawful contact time (合规催收) and whether it gets a contact tomorrow within its channel's capacity;
# - the **review queue** (贷前审核): every pending application with PD, grade, scorecard points and a recommended
#   decision (approve / manual review / decline).
#
# This notebook reads today's queues, then asks the two questions a head of collections and a head of credit
# ask: **what does more (or less) capacity buy** in expected recovery, and **what does moving a cut-off do** to
# approvals, manual-review workload and expected loss. Both scenarios rebuild the queues with the package's
# own functions (`build_collections_queue`, `build_review_queue`) under changed `ScoreParams`.

# %%
import dataclasses
import datetime as dt
import math
import os
import warnings
from pathlib import Path

import duckdb
import matplotlib.pyplot as plt
import polars as pl
from IPython.display import display
from matplotlib.ticker import FuncFormatter, PercentFormatter

from risk import io
from risk.config import load_params
from risk.models import tracking
from risk.paths import Paths
from risk.report import charts, queues
from risk.score.collections import build_collections_queue
from risk.score.review import build_review_queue
from risk.score.score import score_loans
from risk.score.sinks import day_folder
from risk.score.stage import load_models

pl.Config.set_tbl_rows(30)
pl.Config.set_tbl_cols(20)
pl.Config.set_fmt_str_lengths(60)
warnings.filterwarnings("ignore", message="IProgress not found")  # MLflow's progress bars want ipywidgets
# %matplotlib inline

# %% tags=["parameters"]
# The project to read: $RISK_PROJECT when set (the tests point it at a small book), else the repository this
# notebook sits in (the first folder upwards that holds dvc.yaml).
PROJECT = os.environ.get("RISK_PROJECT") or next(
    p for p in (Path.cwd(), *Path.cwd().parents) if (p / "dvc.yaml").exists()
)
AS_OF = None  # the scored day, "YYYY-MM-DD"; None: params.yaml's data.as_of (what `risk score` scores)
CAPACITY_MULTIPLIERS = [0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0]  # every channel's daily capacity × this
SWEEP_CHANNEL = "negotiation"  # one team whose capacity is varied alone
APPROVE_BELOW = [0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.10, 0.12, 0.15]  # PD cut-offs for automatic approval
DECLINE_ABOVE = [0.15, 0.20, 0.25, 0.30, 0.40]  # PD cut-offs for automatic decline

# %%
paths = Paths.at(PROJECT)
params = load_params(paths.params)
as_of = dt.date.fromisoformat(AS_OF) if AS_OF else params.data.as_of
day = day_folder(paths.scored, as_of)
cq = io.read_parquet(day / "collections_queue.parquet", table="collections_queue")
rq = io.read_parquet(day / "review_queue.parquet", table="review_queue")
print(
    f"project {paths.root}: queues of {as_of} (contacts for {as_of + dt.timedelta(days=1)}): "
    f"collections {cq.height:,} loans ({int(cq['scheduled'].sum()):,} scheduled), review {rq.height:,} applications"
)

# %% [markdown]
# The DuckDB file keeps every scored day, so the same queues can be followed over time with SQL (the daily job,
# `risk score --as-of today`, adds a day; rerunning a day replaces it).

# %%
with duckdb.connect(str(paths.duckdb), read_only=True) as con:
    days = con.sql("""
        SELECT as_of, count(*) AS queued, count(*) FILTER (WHERE scheduled) AS scheduled,
               sum(expected_value) FILTER (WHERE scheduled) AS expected_value_scheduled_rmb,
               count(*) FILTER (WHERE legal_referral) AS to_legal, sum(exposure) AS exposure_rmb
        FROM collections_queue GROUP BY as_of ORDER BY as_of
    """).pl()
display(days)

# %% [markdown]
# ## 1. Today's collections queue
#
# The top of the queue, in priority order: scheduled contacts first, by expected value (the extra recovery the
# recommended contact is expected to bring, net of its cost: uplift of the channel × amount at stake ×
# the borrower's responsiveness − cost). `next_contact_at` is the earliest lawful time (08:00-21:00, 48 h after a
# refusal, within the daily cap per borrower).

# %%
cq.select(
    "priority_rank",
    "scheduled",
    "loan_id",
    "days_past_due",
    "exposure",
    "overdue_type",
    "next_action",
    "channel",
    "legal_referral",
    "next_contact_at",
    "expected_value",
    pl.col("reasons_en").list.join("; "),
).head(15)

# %% [markdown]
# Where the queue's loans stand: overdue type (rows; `current, at risk` are loans not yet overdue that early
# warning flags for a reminder, 贷后预警) against the next step on the ladder (columns).

# %%
queues.collections_by_type_and_action(cq)

# %% [markdown]
# Each channel is a team with a daily capacity (`score.capacity`). Utilisation at 100% means the team is the
# bottleneck: cases with positive expected value wait for another day.

# %%
capacity = params.score.capacity
by_channel = (
    cq.group_by("channel")
    .agg(
        queued=pl.len(),
        scheduled=pl.col("scheduled").sum(),
        expected_value_scheduled=pl.col("expected_value").filter("scheduled").sum(),
        expected_value_waiting=pl.col("expected_value")
        .filter(~pl.col("scheduled") & (pl.col("expected_value") > 0))
        .sum(),
    )
    .with_columns(capacity=pl.col("channel").replace_strict(capacity, default=0, return_dtype=pl.Int64))
    .with_columns(utilisation=pl.col("scheduled") / pl.col("capacity"))
    .sort("expected_value_scheduled", descending=True)
)
display(by_channel)

# %% [markdown]
# Cases handed to the legal team (法务) and why; a case can meet several criteria. `litigation_positive` counts
# the cases where suing is worth it (discounted expected recovery above court and lawyer costs); the others
# settle instead.

# %%
queues.legal_referrals_by_criterion(cq)

# %% [markdown]
# ## 2. What capacity buys
#
# First the queue's own curve: the expected recovery of the best *k* contacts, whatever their channel. Where it
# flattens, more contacts stop paying.

# %%
curve = queues.recovery_by_capacity(cq)
fig = charts.capacity_figure(curve, scheduled=int(cq["scheduled"].sum()))

# %% [markdown]
# The curve ignores that capacity comes in teams. To see what each team's size is worth, score the open loans
# again with the champion models (exactly as `risk score` did) and rebuild the queue with
# `build_collections_queue` under changed capacities: `dataclasses.replace(params.score, capacity=...)`.
# The rebuild at today's capacity must reproduce the stored queue; if it does not, the queue on disk was made
# with other models or parameters (rerun `dvc repro score`).

# %%
tracking.configure(paths.mlflow_uri)
models = load_models(params.score.alias)
scored = score_loans(io.read_tables(paths.validated), models, params, as_of=as_of)


def scheduled_value(score_params):
    """Contacts scheduled and their expected value (RMB), per channel, for a queue built with ``score_params``."""
    q = build_collections_queue(scored, score_params, as_of=as_of).filter("scheduled")
    return q.group_by("channel").agg(contacts=pl.len(), expected_value=pl.col("expected_value").sum())


today = scheduled_value(params.score)
rebuilt = (int(today["contacts"].sum()), float(today["expected_value"].sum()))
stored = (int(cq["scheduled"].sum()), float(cq.filter("scheduled")["expected_value"].sum()))
same = rebuilt[0] == stored[0] and math.isclose(rebuilt[1], stored[1], rel_tol=1e-9, abs_tol=1e-6)
print(
    f"rebuilt at today's capacity: {rebuilt[0]:,} contacts, {rebuilt[1]:,.0f} RMB expected; "
    f"stored queue: {stored[0]:,} contacts, {stored[1]:,.0f} RMB -> "
    + (
        "the same queue"
        if same
        else "DIFFERENT: the stored queue was scored with other models, parameters or "
        "code; rerun `dvc repro score` before trusting the scenarios below"
    )
)

# %%
scenarios = pl.concat(
    [
        scheduled_value(
            dataclasses.replace(params.score, capacity={ch: round(n * m) for ch, n in capacity.items()})
        ).with_columns(multiplier=pl.lit(m))
        for m in CAPACITY_MULTIPLIERS
    ]
)
totals = (
    scenarios.group_by("multiplier")
    .agg(pl.col("contacts", "expected_value").sum())
    .sort("multiplier")
    .with_columns(
        marginal_rmb_per_contact=pl.when(pl.col("contacts").diff() > 0).then(
            pl.col("expected_value").diff() / pl.col("contacts").diff()
        )
    )
)
display(totals)

fig, ax = plt.subplots(figsize=(8, 3.6))
for channel in scenarios.sort("expected_value", descending=True)["channel"].unique(maintain_order=True):
    s = scenarios.filter(pl.col("channel") == channel).sort("multiplier")
    ax.plot(s["multiplier"], s["expected_value"], marker="o", ms=3, label=channel)
ax.plot(totals["multiplier"], totals["expected_value"], color="black", lw=2, label="all channels")
ax.axvline(1.0, color=charts.GREY, ls="--", label="today's capacity")
ax.set_xscale("log")
ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}×"))
ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1e3:,.0f}k"))
ax.set(
    title="Expected recovery of tomorrow's scheduled contacts as every team's capacity scales",
    xlabel="Daily capacity of every channel (× today's, log scale)",
    ylabel="Expected value of scheduled contacts (RMB)",
)
ax.legend(fontsize=8, ncol=2)
plt.show()

# %% [markdown]
# One team alone (`SWEEP_CHANNEL`), the others as today: each point is the expected value the team's scheduled
# contacts bring at that capacity. The slope is what one more case a day is worth; compare it with what a day of
# an extra collector costs.

# %%
demand = int(
    build_collections_queue(scored, params.score, as_of=as_of)
    .filter((pl.col("channel") == SWEEP_CHANNEL) & (pl.col("expected_value") > 0))
    .height
)
sizes = sorted({round(demand * f) for f in (0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)} | {capacity[SWEEP_CHANNEL]})
sweep = pl.DataFrame(
    [
        {
            "capacity": n,
            "expected_value": float(
                scheduled_value(dataclasses.replace(params.score, capacity={**capacity, SWEEP_CHANNEL: n}))
                .filter(pl.col("channel") == SWEEP_CHANNEL)["expected_value"]
                .sum()
            ),
        }
        for n in sizes
    ]
)
fig, ax = plt.subplots(figsize=(7, 3.4))
ax.plot(sweep["capacity"], sweep["expected_value"], marker="o", ms=3, color=charts.BLUE)
ax.axvline(capacity[SWEEP_CHANNEL], color=charts.ORANGE, ls="--", label=f"today: {capacity[SWEEP_CHANNEL]:,} a day")
ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1e3:,.1f}k"))
ax.set(
    title=f"What the {SWEEP_CHANNEL} team's capacity buys ({demand:,} cases worth a contact)",
    xlabel=f"{SWEEP_CHANNEL} cases worked per day",
    ylabel="Expected value of its scheduled contacts (RMB)",
)
ax.legend()
plt.show()

# %% [markdown]
# ## 3. Today's review queue (贷前审核)
#
# Pending applications by risk grade (A-E from `score.grade_cutoffs`) and recommended decision: approve below
# `score.approve_below`, decline at or above `score.decline_above`, manual review in between. Expected loss is
# PD × requested amount × LGD (`score.lgd`). Reviewers work the manual cases largest expected loss first
# (`review_order`).

# %%
display(queues.review_decisions_by_grade(rq))
rq.select(
    "review_order",
    "application_id",
    "product",
    "requested_amount",
    "pd",
    "risk_grade",
    "scorecard_points",
    "recommended_decision",
    "expected_loss",
    pl.col("reasons_en").list.join("; "),
).head(10)

# %%
fig, ax = plt.subplots(figsize=(7, 3.4))
ax.hist(rq["pd"], bins=40, color=charts.BLUE)
ax.axvline(
    params.score.approve_below, color=charts.ORANGE, ls="--", label=f"approve below {params.score.approve_below:.0%}"
)
ax.axvline(
    params.score.decline_above, color=charts.RED, ls="--", label=f"decline from {params.score.decline_above:.0%}"
)
ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
ax.set(
    title="Pending applications by PD and today's cut-offs",
    xlabel="PD, P(90+ dpd within 12 months) (%)",
    ylabel="Applications",
)
ax.legend()
plt.show()

# %% [markdown]
# ## 4. What a cut-off change does
#
# Rebuild the review queue with `build_review_queue` under other cut-offs. The population is every application
# in DuckDB's `review_queue` (each once, at its latest scoring), so the comparison gets steadier as days
# accumulate; on a freshly built project that is today's queue. For each pair of cut-offs: the share approved
# automatically, the expected loss rate of what is approved (expected loss / approved amount), the manual-review
# workload and the share declined. Lowering `approve_below` buys a cleaner automatic book with more manual work;
# lowering `decline_above` turns manual reviews into declines (less work, fewer loans).

# %%
with duckdb.connect(str(paths.duckdb), read_only=True) as con:
    applications = con.sql("""
        SELECT * FROM review_queue
        QUALIFY row_number() OVER (PARTITION BY application_id ORDER BY as_of DESC) = 1
    """).pl()
inputs = applications.drop("risk_grade", "recommended_decision", "expected_loss", "review_order", "as_of")


def cutoff_outcome(approve_below, decline_above):
    """Decisions, approved amount and expected loss when the queue is rebuilt with these PD cut-offs."""
    score_params = dataclasses.replace(params.score, approve_below=approve_below, decline_above=decline_above)
    q = build_review_queue(inputs, score_params, as_of=as_of)
    approved = q.filter(pl.col("recommended_decision") == "approved")
    return {
        "approve_below": approve_below,
        "decline_above": decline_above,
        "applications": q.height,
        "approved": approved.height,
        "manual_review": int((q["recommended_decision"] == "manual_review").sum()),
        "declined": int((q["recommended_decision"] == "declined").sum()),
        "approved_amount_rmb": float(approved["requested_amount"].sum()),
        "approved_expected_loss_rmb": float(approved["expected_loss"].sum()),
    }


current = (params.score.approve_below, params.score.decline_above)
grid = sorted({(a, d) for a in APPROVE_BELOW for d in DECLINE_ABOVE if a <= d} | {current})
cutoffs = pl.DataFrame([cutoff_outcome(a, d) for a, d in grid]).with_columns(
    approval_rate=pl.col("approved") / pl.col("applications"),
    decline_rate=pl.col("declined") / pl.col("applications"),
    expected_loss_rate=pl.col("approved_expected_loss_rmb") / pl.col("approved_amount_rmb"),
    current=(pl.col("approve_below") == current[0]) & (pl.col("decline_above") == current[1]),
)
print(f"{inputs.height:,} applications from {applications['as_of'].n_unique()} scored day(s)")
cutoffs.filter(pl.col("decline_above") == params.score.decline_above).select(
    "approve_below",
    "approved",
    "manual_review",
    "declined",
    "approval_rate",
    "approved_amount_rmb",
    "approved_expected_loss_rmb",
    "expected_loss_rate",
    "current",
)

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 3.8))
auto = cutoffs.unique("approve_below", keep="first").sort("approve_below")  # approval ignores decline_above
left.plot(auto["approval_rate"], auto["expected_loss_rate"], marker="o", color=charts.BLUE)
points = auto.group_by("approval_rate", "expected_loss_rate").agg(
    low=pl.col("approve_below").min(), high=pl.col("approve_below").max()
)
for x, y, low, high in points.iter_rows():  # cut-offs with no PD between them give one point
    label = f"<{low:.0%}" if low == high else f"<{low:.0%}…{high:.0%}"
    left.annotate(label, (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
now = cutoffs.filter("current")
if now.height:
    left.plot(now["approval_rate"], now["expected_loss_rate"], "o", color=charts.ORANGE, ms=9, label="today")
    left.legend()
left.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
left.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
left.set(
    title="Automatic approval: volume against expected loss (label: approve_below)",
    xlabel="Applications approved automatically (%)",
    ylabel="Expected loss / approved amount (%)",
)

band = cutoffs.filter(pl.col("approve_below") == params.score.approve_below).sort("decline_above")
x = range(band.height)
bottom = [0] * band.height
for column, colour in (("approved", charts.BLUE), ("manual_review", charts.ORANGE), ("declined", charts.RED)):
    right.bar(x, band[column], bottom=bottom, color=colour, label=column.replace("_", " "))
    bottom = [b + v for b, v in zip(bottom, band[column], strict=True)]
right.set_xticks(list(x), [f"{d:.0%}" for d in band["decline_above"]])
right.set(
    title=f"Decline cut-off, approving below {params.score.approve_below:.0%}",
    xlabel="decline_above (PD at or above: declined)",
    ylabel="Applications",
)
right.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# Expected loss here is the model's: PD × amount × LGD for the applications a cut-off approves. It says nothing
# about the declined applicants' true risk (no outcome is ever observed for them: reject inference), so a cut-off
# moved far outside the range the book was approved under deserves a test cell before it goes live. To change
# the cut-offs, edit `score.approve_below` / `score.decline_above` in `params.yaml` and `dvc repro score`.
