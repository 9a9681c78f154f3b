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
# # 01 · Portfolio exploration (资产质量)
#
# What a risk analyst reads first about a consumer-lending book, from the pipeline's validated tables and
# month-end snapshots:
#
# 1. **headline figures**: balance, 90+ on balance, first-payment default (首逾 FPD30), 30-day collection rate;
# 2. **vintage curves** (账龄曲线): for each origination quarter, the cumulative share of loans ever 30+ days
#    past due by months on book (MOB);
# 3. **roll rates** (迁徙率): how loans move between the buckets M0 (current), M1 (1-30 dpd), M2, M3 and M3+
#    from one month end to the next; the M0→M1 rate is the **入催率** (share of the current book that enters
#    collections each month);
# 4. **cure rates** (出催 / 催回) by overdue type (四类逾期: temporary, malicious, severe, insolvent);
# 5. **days-past-due distribution** of the active book at the as-of date;
# 6. the **collections-ladder funnel** (催收阶梯): how far delinquent loans went, from reminder to enforcement.
#
# Every measure comes from `risk.report.portfolio` (the same functions the HTML report uses); this notebook
# only loads the data, calls them and draws. Run `make run` first (or point `PROJECT` at a project that has
# been through `dvc repro`).

# %%
import datetime as dt
import os
from pathlib import Path

import matplotlib.pyplot as plt
import polars as pl
from IPython.display import display
from matplotlib.ticker import PercentFormatter

from risk.config import load_params
from risk.paths import Paths
from risk.report import charts, portfolio
from risk.report import stage as report_io

pl.Config.set_tbl_rows(30)
pl.Config.set_tbl_cols(20)
# %matplotlib inline

# %% tags=["parameters"]
# The project to read: $RISK_PROJECT when set (the tests point it at a small book), else the repository this
# notebook sits in (the first folder upwards that holds dvc.yaml).
PROJECT = os.environ.get("RISK_PROJECT") or next(
    p for p in (Path.cwd(), *Path.cwd().parents) if (p / "dvc.yaml").exists()
)
AS_OF = None  # "YYYY-MM-DD" to look at an earlier date; None: params.yaml's data.as_of
ROLL_MONTHS = 12  # month-to-month transitions pooled in the roll-rate matrix

# %%
paths = Paths.at(PROJECT)
params = load_params(paths.params)
as_of = dt.date.fromisoformat(AS_OF) if AS_OF else params.data.as_of
tables = report_io.read_tables(paths)  # validated tables, plus the simulator's truth table when there is one
snapshots = report_io.read_snapshots(paths).filter(pl.col("as_of") <= as_of)  # loan_id, as_of, days_past_due
outcomes = portfolio.loan_outcomes(tables, as_of=as_of)  # one row per loan booked by as_of
print(f"project {paths.root}, as of {as_of}")
print({name: t.height for name, t in tables.items()})
print(
    f"{outcomes.height:,} loans booked, {snapshots.height:,} loan × month-end snapshots "
    f"over {snapshots['as_of'].n_unique()} month ends"
)

# %% [markdown]
# ## 1. Headline figures
#
# - **balance**: outstanding principal of active loans (not settled, not written off: 核销 at 180 dpd);
# - **dpd90_on_balance**: the share of that balance 91+ days past due (90天以上逾期率, as listed lenders disclose it);
# - **fpd30**: first instalment still unpaid 30 days after its due date (首逾), an early read on fraud and
#   acquisition quality;
# - **ever30_12mob**: ever 30+ within 12 months on book, among loans old enough to tell;
# - **collection_rate_30d**: of the amount that went overdue on its due date, the share repaid within 30 days
#   (the M1 collection rate, 催回率).

# %%
summary = portfolio.portfolio_summary(
    outcomes, as_of=as_of, collection_rate=portfolio.collection_rate_30d(tables, as_of=as_of)
)
shares = {"dpd90_on_balance", "fpd30", "ever30_12mob", "prepayment_share", "collection_rate_30d"}
pl.DataFrame(
    {
        "measure": list(summary),
        "value": ["—" if v is None else f"{v:.2%}" if k in shares else f"{v:,.0f}" for k, v in summary.items()],
        "unit": ["share" if k in shares else "RMB" if k in ("disbursed", "balance") else "loans" for k in summary],
    }
)

# %% [markdown]
# ## 2. Vintage curves (账龄分析)
#
# One line per origination quarter: the share of its loans that were ever 30+ days past due by each month on
# book. A vintage only shows a point once *every* loan in it has reached that age, so young quarters have short
# lines instead of misleadingly low ones. Read it two ways: **along a line** (how fast a cohort goes bad:
# steep in the first months, flattening as loans amortise) and **across lines at the same MOB** (is the newer
# business better or worse than the older one?). On the simulated book the quarters originated into the macro
# shock (red) sit visibly above the rest.

# %%
curves = portfolio.vintage_curves(outcomes, as_of=as_of)
shock = report_io.shock_period(params)
fig = charts.vintage_figure(curves, shock=shock)

# %%
fig = charts.vintage_at_mob_figure(curves, months=6, shock=shock)

# %%
# the same curves as a table: ever-30+ rate at a few months on book, by origination quarter
(
    curves.filter(pl.col("months_on_book").is_in([3, 6, 9, 12]))
    .pivot("months_on_book", index="vintage", values="rate")
    .join(outcomes.group_by("vintage").agg(loans=pl.len(), principal_rmb=pl.col("principal").sum()), on="vintage")
    .sort("vintage")
)

# %% [markdown]
# Which segments drive it: ever 30+ within 12 months on book by product × channel, among loans booked at least
# 12 months before the as-of date. A channel with a bad rate far above the others is where acquisition policy
# (渠道准入) should look first.

# %%
portfolio.bad_rates_by_segment(outcomes, as_of=as_of)

# %% [markdown]
# ## 3. Roll rates (迁徙率)
#
# Each row is a bucket at one month end, each column where those loans are at the next month end, pooled over
# the last `ROLL_MONTHS` transitions: rows sum to 100%. The diagonal is loans that stayed, the cells right of it
# roll forward (deteriorate), left of it cure; `settled` means paid off and `written_off` beyond 180 dpd.
#
# The forward rolls chained together — M0→M1 (入催率), M1→M2, M2→M3, M3→M3+ — give the **flow rate**: the share of
# today's current book expected to reach 90+ days past due three to four months from now, the figure a
# provisioning or collections-capacity plan starts from.

# %%
matrix = portfolio.roll_rates(snapshots, last_months=ROLL_MONTHS)
fig = charts.roll_rate_figure(matrix)
display(matrix)

# %%
steps = [("current", "M1"), ("M1", "M2"), ("M2", "M3"), ("M3", "M3+")]
forward = pl.DataFrame(
    {
        "roll": [f"{a}→{b}" for a, b in steps],
        "rate": [matrix.filter(pl.col("from") == a)[b].item() for a, b in steps],
    }
).with_columns(flow_from_current=pl.col("rate").cum_prod())
display(forward)

# %% [markdown]
# The pooled matrix hides timing. The entry rate M0→M1 (入催率) month by month shows when the book deteriorated:
# each point is one month end's current loans and the share of them 1-30 days past due a month later.

# %%
month_ends = snapshots["as_of"].unique().sort().to_list()
entry = pl.DataFrame(
    [
        {
            "as_of": a,
            **portfolio.roll_rates(snapshots.filter(pl.col("as_of").is_in([a, b])), last_months=None)
            .filter(pl.col("from") == "current")
            .select("loans", "M1")
            .row(0, named=True),
        }
        for a, b in zip(month_ends, month_ends[1:], strict=False)
    ]
).filter(pl.col("loans") > 0)

fig, ax = plt.subplots(figsize=(8, 3.2))
ax.plot(entry["as_of"], entry["M1"], marker="o", ms=3, color=charts.BLUE)
if shock is not None:
    ax.axvspan(*shock, color=charts.RED, alpha=0.12, label="simulated shock")
    ax.legend()
ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
ax.set(
    title="Entry into collections (M0→M1): current loans 1-30 dpd one month later",
    xlabel="Month end (start of the transition)",
    ylabel="Current → M1 (% of current loans)",
)
fig.autofmt_xdate()
plt.show()

# %% [markdown]
# ## 4. Cure rates by overdue type (出催率, 四类逾期)
#
# Of the loans in each bucket at a month end, the share current again (or paid off) at the next. Overdue types
# come from the simulator's truth table on the embedded book and from the collections queue's classification
# on a lender's own data. Temporary cases cure mostly by themselves (a reminder is enough); malicious and
# insolvent ones barely cure whatever the bucket, which is why the queue sends them down the legal path or to
# settlement instead of more calls.

# %%
if "truth" in tables:
    overdue_types = tables["truth"].filter(pl.col("loan_id").is_not_null()).select("loan_id", "overdue_type")
    type_source = "the simulator's truth table"
else:
    queue_frames = report_io.read_queues(paths, as_of)
    overdue_types = (
        queue_frames["collections_queue"].select("loan_id", "overdue_type")
        if "collections_queue" in queue_frames
        else None
    )
    type_source = "the collections queue"
cures = portfolio.cure_rates(snapshots, overdue_types, last_months=ROLL_MONTHS)
print(f"overdue types from {type_source}")
(
    cures.pivot("from", index="overdue_type", values="cure_rate")
    .join(cures.group_by("overdue_type").agg(loan_months=pl.col("loans").sum()), on="overdue_type")
    .sort(pl.col("overdue_type") == "all", "overdue_type")
)

# %%
buckets = [b for b in portfolio.BUCKETS[1:] if b in set(cures["from"])]
types = cures["overdue_type"].unique(maintain_order=True).to_list()
width = 0.8 / max(len(types), 1)
fig, ax = plt.subplots(figsize=(8, 3.4))
for i, kind in enumerate(types):
    rates = dict(cures.filter(pl.col("overdue_type") == kind).select("from", "cure_rate").iter_rows())
    ax.bar(
        [j + i * width for j in range(len(buckets))],
        [rates.get(b) or 0.0 for b in buckets],
        width,
        label=kind,
        color=charts.GREY if kind == "all" else None,
    )
ax.set_xticks([j + width * (len(types) - 1) / 2 for j in range(len(buckets))], buckets)
ax.yaxis.set_major_formatter(charts.PCT)
ax.set(
    title=f"Cure within a month by bucket and overdue type (types from {type_source})",
    xlabel="Bucket at month end (M1 1-30 dpd, M2 31-60, M3 61-90, M3+ 91-180)",
    ylabel="Current or paid off next month end (%)",
)
ax.legend(title="overdue type", fontsize=8)
plt.show()

# %% [markdown]
# ## 5. Days past due at the as-of date
#
# The active on-balance book by days-past-due band, in loans and in outstanding principal (log scale: the
# overdue bands are a few percent of the book). Balance shares above loan shares in the late bands mean the
# larger loans are the ones going bad.

# %%
dist = portfolio.dpd_distribution(outcomes)
fig = charts.dpd_distribution_figure(dist)
display(dist)

# %% [markdown]
# ## 6. Collections-ladder funnel (催收阶梯)
#
# Of the loans ever overdue, the share whose collection reached each step by the as-of date: reminders
# (SMS, calls), negotiation (extension, instalment plan, settlement), lawyer's letter (律师函), litigation (诉讼)
# and enforcement (强制执行). Each step down is smaller because most loans cure early; a fat bottom means
# litigation is carrying much of the recovery, which is slow and costly.

# %%
actions = tables["collection_actions"].filter(pl.col("action_at").dt.date() <= as_of)
funnel = portfolio.collection_funnel(outcomes, actions)
fig = charts.funnel_figure(funnel)
display(funnel)

# %% [markdown]
# ## Where to go next
#
# - `02_model_development`: the early-warning model that predicts the M0→M1→M2 rolls above, and how to try a
#   variant of it;
# - `03_queue_analysis`: the day's collections and review queues, and what capacity and cut-offs buy;
# - `reports/risk_report.html` (`risk report`): these figures with the models' validation, in one page.
