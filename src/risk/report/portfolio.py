"""Portfolio measures a risk analyst reads first, as pure functions from contract tables and snapshots.

The vocabulary is that of Chinese online lenders' disclosures: vintage curves (账龄曲线) of cumulative
30+ days past due by months on book, roll / migration rates (迁徙率) between the buckets M0 (current),
M1 (1-30 dpd), M2 (31-60), M3 (61-90) and M3+ (91 up to write-off), first-payment default (FPD30), the
30-day collection rate and 90+ delinquency on balance. Every function returns a new polars frame and
never reads a file, so notebooks can call them on any book::

    from risk.report import portfolio
    outcomes = portfolio.loan_outcomes(tables, as_of=dt.date(2025, 12, 31))
    portfolio.vintage_curves(outcomes, as_of=dt.date(2025, 12, 31))

Days past due always come from :mod:`risk.delinquency` (payments to the oldest instalment first).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import polars as pl

from risk.contract import ACTION_STEP, LADDER_RANK, LadderStep
from risk.delinquency import FAR_FUTURE, days_past_due_expr, instalment_ledger, paid_by

BUCKETS = ("current", "M1", "M2", "M3", "M3+")  # M0..M3+: the rows of a roll-rate matrix
EXITS = ("written_off", "settled")  # where a loan can leave the active book between two month ends
PREPAID_DAYS_AHEAD = 30  # settled more than this before the last due date counts as prepaid
WRITE_OFF_DPD = 180  # 核销: beyond this a loan leaves the on-balance book (Qifu's 90+ counts 91-180)
DPD_BANDS = (
    (0, 0, "current"),
    (1, 7, "1-7"),
    (8, 30, "8-30"),
    (31, 60, "31-60"),
    (61, 90, "61-90"),
    (91, 180, "91-180"),
)


def dpd_bucket(dpd: pl.Expr | str = "days_past_due", *, write_off_dpd: int = WRITE_OFF_DPD) -> pl.Expr:
    """The roll-rate bucket of a days-past-due column: current, M1, M2, M3, M3+ or written_off.

    Examples
    --------
    >>> pl.DataFrame({"days_past_due": [0, 30, 31, 91, 200]}).select(dpd_bucket())["bucket"].to_list()
    ['current', 'M1', 'M2', 'M3+', 'written_off']
    """
    d = pl.col(dpd) if isinstance(dpd, str) else dpd
    return (
        pl.when(d <= 0)
        .then(pl.lit("current"))
        .when(d <= 30)
        .then(pl.lit("M1"))
        .when(d <= 60)
        .then(pl.lit("M2"))
        .when(d <= 90)
        .then(pl.lit("M3"))
        .when(d <= write_off_dpd)
        .then(pl.lit("M3+"))
        .otherwise(pl.lit("written_off"))
        .alias("bucket")
    )


def _lazy(frame: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    return frame.lazy() if isinstance(frame, pl.DataFrame) else frame


def _reached_on(days: int) -> pl.Expr:
    """Per ledger row: the day the instalment reached ``days`` past due, null if it was paid before."""
    day = pl.col("due_date") + pl.duration(days=days)
    return pl.when(pl.col("paid_on").is_null() | (pl.col("paid_on") > day)).then(day)


def loan_outcomes(tables: Mapping[str, pl.DataFrame | pl.LazyFrame], *, as_of: dt.date) -> pl.DataFrame:
    """One row per loan booked by ``as_of``: its segment and what had happened to it by ``as_of``.

    Columns: loan_id, product, channel, originated_on, vintage (origination quarter, ``2024Q2``), principal,
    term_months, first_30_on / first_90_on (the first day 30+ / 90+ days past due, null if never by
    ``as_of``), fpd30 (first instalment still unpaid 30 days after its due date; null until observable),
    ever_overdue (any instalment paid late or unpaid after its due date), closed_on (settled by ``as_of``),
    prepaid (settled more than 30 days before the last due date, 提前还款), days_past_due and
    outstanding_principal at ``as_of`` (0 once settled).

    Needs the tables loans, schedule, repayments and applications (for the channel).
    """
    loans = _lazy(tables["loans"]).filter(pl.col("originated_on") <= as_of)
    ledger = instalment_ledger(loans, _lazy(tables["schedule"]), _lazy(tables["repayments"])).with_columns(
        # nothing after as_of is known: a payment or settlement later than as_of has not happened yet
        pl.when(pl.col("paid_on") <= as_of).then("paid_on").alias("paid_on"),
        pl.when(pl.col("closed_on") <= as_of).then("closed_on").alias("closed_on"),
    )
    a = pl.lit(as_of)
    per_loan = ledger.group_by("loan_id").agg(
        first_30_on=_reached_on(30).filter(_reached_on(30) <= a).min(),
        first_90_on=_reached_on(90).filter(_reached_on(90) <= a).min(),
        fpd30=pl.when(pl.col("due_date").min() + pl.duration(days=30) <= a).then(
            _reached_on(30).sort_by("due_date").first().is_not_null()
        ),
        ever_overdue=(
            (pl.col("due_date") < a) & (pl.col("paid_on").is_null() | (pl.col("paid_on") > pl.col("due_date")))
        ).any(),
        closed_on=pl.col("closed_on").first(),
        last_due=pl.col("due_date").max(),
        days_past_due=days_past_due_expr(a).max(),
        outstanding_principal=pl.col("principal_due").filter(~paid_by(a)).sum(),
    )
    channel = _lazy(tables["applications"]).select("application_id", "channel")
    return (
        loans.select("loan_id", "application_id", "product", "originated_on", "principal", "term_months")
        .join(channel, on="application_id", how="left")
        .join(per_loan, on="loan_id", how="left")
        .with_columns(
            vintage=pl.format("{}Q{}", pl.col("originated_on").dt.year(), pl.col("originated_on").dt.quarter()),
            # paying the last instalment a few days early is not a prepayment; a month or more ahead is
            prepaid=pl.col("closed_on").is_not_null()
            & (pl.col("closed_on") < pl.col("last_due") - pl.duration(days=PREPAID_DAYS_AHEAD)),
            days_past_due=pl.when(pl.col("closed_on").is_null()).then(pl.col("days_past_due")).otherwise(0),
            outstanding_principal=pl.when(pl.col("closed_on").is_null())
            .then(pl.col("outstanding_principal"))
            .otherwise(0.0),
            ever_overdue=pl.col("ever_overdue").fill_null(False),
        )
        .select(
            "loan_id",
            "product",
            "channel",
            "originated_on",
            "vintage",
            "principal",
            "term_months",
            "first_30_on",
            "first_90_on",
            "fpd30",
            "ever_overdue",
            "closed_on",
            "prepaid",
            "days_past_due",
            "outstanding_principal",
        )
        .sort("loan_id")
        .collect()
    )


def _months_after(day: str, months: pl.Expr | int) -> pl.Expr:
    offset = pl.format("{}mo", months) if isinstance(months, pl.Expr) else f"{months}mo"
    return pl.col(day).dt.offset_by(offset)


def vintage_curves(outcomes: pl.DataFrame, *, as_of: dt.date, max_months_on_book: int = 24) -> pl.DataFrame:
    """Cumulative share of each origination quarter ever 30+ days past due, by months on book (账龄).

    Month on book ``k`` ends ``k`` calendar months after each loan's origination day. A vintage shows a
    point at ``k`` only once every loan in it has reached ``k`` by ``as_of``, so the curves never dip
    because recent loans are still young. ``rate`` counts loans, ``balance_rate`` weights them by principal.
    """
    mob = pl.DataFrame({"months_on_book": list(range(1, max_months_on_book + 1))})
    last = outcomes.group_by("vintage").agg(last_originated=pl.col("originated_on").max())
    return (
        outcomes.select("vintage", "originated_on", "principal", "first_30_on")
        .join(last, on="vintage")
        .join(mob, how="cross")
        .filter(_months_after("last_originated", pl.col("months_on_book")) <= as_of)
        .with_columns(
            bad=pl.col("first_30_on").is_not_null()
            & (pl.col("first_30_on") <= _months_after("originated_on", pl.col("months_on_book")))
        )
        .group_by("vintage", "months_on_book")
        .agg(
            loans=pl.len(),
            ever_30=pl.col("bad").sum(),
            rate=pl.col("bad").mean(),
            balance_rate=(pl.col("bad") * pl.col("principal")).sum() / pl.col("principal").sum(),
        )
        .sort("vintage", "months_on_book")
    )


def _month_pairs(snapshots: pl.DataFrame | pl.LazyFrame, last_months: int | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The snapshots, and their rows with ``next_as_of`` (the next month end) for the pooled months.

    Month ends run up to the latest one in ``snapshots``; a month end whose next one lies beyond it has no
    observed transition and is left out.
    """
    s = _lazy(snapshots).select("loan_id", "as_of", "days_past_due").collect()
    latest = s["as_of"].max()
    if latest is None:  # no snapshots at all (an application-only source): no transitions
        return s, s.with_columns(next_as_of=pl.col("as_of"))
    start = s.with_columns(next_as_of=pl.col("as_of").dt.offset_by("1mo").dt.month_end()).filter(
        pl.col("next_as_of") <= latest
    )
    if last_months is not None and start.height:
        first = pl.Series([latest]).dt.offset_by(f"-{last_months}mo").dt.month_end().item()
        start = start.filter(pl.col("as_of") >= first)
    return s, start


def roll_rates(
    snapshots: pl.DataFrame | pl.LazyFrame, *, last_months: int | None = 12, write_off_dpd: int = WRITE_OFF_DPD
) -> pl.DataFrame:
    """Month-to-month migration matrix (迁徙率) between current, M1, M2, M3 and M3+, pooled over months.

    ``snapshots`` holds loan_id, as_of (month ends) and days_past_due for the loans active at each month
    end, as ``data/features/loan_snapshots`` does. A loan in a bucket at one month end lands in a bucket at
    the next, in ``written_off`` (beyond ``write_off_dpd``) or in ``settled`` (absent: paid off). Only the
    ``last_months`` transitions before the latest month end are pooled (all when None). One row per
    starting bucket with its loan count ``loans`` and the share going to each column; rows sum to 1.
    """
    s, start = _month_pairs(snapshots, last_months)
    start = start.with_columns(dpd_bucket(write_off_dpd=write_off_dpd)).filter(pl.col("bucket") != "written_off")
    end = s.select("loan_id", next_as_of="as_of", to=dpd_bucket(write_off_dpd=write_off_dpd))
    moves = (
        start.join(end, on=["loan_id", "next_as_of"], how="left")
        .with_columns(pl.col("to").fill_null("settled"))
        .rename({"bucket": "from"})
    )
    counts = moves.group_by("from", "to").agg(n=pl.len())
    totals = moves.group_by("from").agg(loans=pl.len())
    grid = pl.DataFrame({"from": BUCKETS}).join(pl.DataFrame({"to": (*BUCKETS, *EXITS)}), how="cross")
    wide = (
        grid.join(counts, on=["from", "to"], how="left")
        .join(totals, on="from", how="left")
        .with_columns(share=pl.when(pl.col("loans") > 0).then(pl.col("n").fill_null(0) / pl.col("loans")))
        .pivot("to", index=["from", "loans"], values="share")
    )
    return wide.with_columns(pl.col("loans").fill_null(0)).select("from", "loans", *BUCKETS, *EXITS)


def cure_rates(
    snapshots: pl.DataFrame | pl.LazyFrame,
    overdue_types: pl.DataFrame | None = None,
    *,
    last_months: int | None = 12,
    write_off_dpd: int = WRITE_OFF_DPD,
) -> pl.DataFrame:
    """Share of overdue loans current again (or paid off) at the next month end, by bucket and overdue type.

    ``overdue_types`` maps loan_id to overdue_type (the truth table on simulated data, or the collections
    queue's classification); without it, or for loans it does not name, the type is ``all``/``unknown``.
    Returns overdue_type, from (M1..M3+), loans and cure_rate, with an ``all`` row per bucket.
    """
    s, start = _month_pairs(snapshots, last_months)
    start = (
        start.with_columns(dpd_bucket(write_off_dpd=write_off_dpd))
        .filter(pl.col("bucket").is_in(BUCKETS[1:]))
        .rename({"bucket": "from"})
    )
    end = s.select("loan_id", next_as_of="as_of", next_dpd="days_past_due")
    moves = start.join(end, on=["loan_id", "next_as_of"], how="left").with_columns(
        cured=pl.col("next_dpd").fill_null(0) == 0
    )
    if overdue_types is not None:
        types = overdue_types.select("loan_id", "overdue_type").unique("loan_id")
        moves = moves.join(types, on="loan_id", how="left").with_columns(pl.col("overdue_type").fill_null("unknown"))
    else:
        moves = moves.with_columns(overdue_type=pl.lit("unknown"))
    both = pl.concat([moves, moves.with_columns(overdue_type=pl.lit("all"))], how="diagonal_relaxed")
    order = {b: i for i, b in enumerate(BUCKETS)}
    return (
        both.group_by("overdue_type", "from")
        .agg(loans=pl.len(), cure_rate=pl.col("cured").mean())
        .with_columns(_order=pl.col("from").replace_strict(order, return_dtype=pl.Int32))
        .sort(pl.col("overdue_type") == "all", "overdue_type", "_order")
        .drop("_order")
    )


def dpd_distribution(outcomes: pl.DataFrame, *, write_off_dpd: int = WRITE_OFF_DPD) -> pl.DataFrame:
    """The active on-balance book at ``as_of`` by days-past-due band: loans, balance and their shares.

    Active means not settled and not beyond ``write_off_dpd``; balance is the outstanding principal.
    """
    bands = [(lo, min(hi, write_off_dpd), name) for lo, hi, name in DPD_BANDS if lo <= write_off_dpd]
    band = pl.lit(None, dtype=pl.String)
    for lo, hi, name in reversed(bands):
        band = pl.when(pl.col("days_past_due").is_between(lo, hi)).then(pl.lit(name)).otherwise(band)
    active = outcomes.filter(pl.col("closed_on").is_null() & (pl.col("days_past_due") <= write_off_dpd))
    counts = active.group_by(band.alias("band")).agg(loans=pl.len(), balance=pl.col("outstanding_principal").sum())
    return (
        pl.DataFrame({"band": [b[2] for b in bands]})
        .join(counts, on="band", how="left")
        .with_columns(pl.col("loans").fill_null(0), pl.col("balance").fill_null(0.0))
        .with_columns(
            loan_share=pl.col("loans") / pl.col("loans").sum().clip(lower_bound=1),
            balance_share=pl.col("balance") / pl.col("balance").sum().clip(lower_bound=1e-9),
        )
    )


def collection_funnel(outcomes: pl.DataFrame, actions: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Share of delinquent loans that reached each step of the collections ladder (催收阶梯) by ``as_of``.

    Delinquent loans are those ``outcomes`` marks ``ever_overdue``; a loan reaches a step when any of its
    actions is at that step or higher (``risk.contract.ACTION_STEP``). Actions after the outcomes' as_of
    should be filtered out by the caller. Returns step, loans and share, from ``delinquent`` down.
    """
    rank = {a.value: LADDER_RANK[s] for a, s in ACTION_STEP.items()}
    delinquent = outcomes.filter("ever_overdue").select("loan_id")
    top = (
        _lazy(actions)
        .select("loan_id", step=pl.col("action").replace_strict(rank, default=0, return_dtype=pl.Int64))
        .group_by("loan_id")
        .agg(pl.col("step").max())
        .collect()
    )
    reached = delinquent.join(top, on="loan_id", how="left").with_columns(pl.col("step").fill_null(0))
    base = max(delinquent.height, 1)
    rows = [{"step": "delinquent (1+ dpd)", "loans": delinquent.height, "share": delinquent.height / base}]
    for step in LadderStep:
        if step is LadderStep.NONE:
            continue
        n = int((reached["step"] >= LADDER_RANK[step]).sum())
        rows.append({"step": step.value, "loans": n, "share": n / base})
    return pl.DataFrame(rows, schema={"step": pl.String, "loans": pl.Int64, "share": pl.Float64})


def collection_rate_30d(
    tables: Mapping[str, pl.DataFrame | pl.LazyFrame], *, as_of: dt.date, window_months: int = 12
) -> float | None:
    """30-day collection rate: of the amount that went overdue on its due date, the share repaid within 30 days.

    Instalments due in the ``window_months`` before ``as_of - 30 days`` count (so their 30 days are observed),
    when the loan was current up to that due date (every earlier instalment paid by then): instalments
    falling due on a loan already in arrears are roll-forward, not new overdue amounts. An instalment is
    repaid once fully paid under the oldest-first waterfall. None if nothing went overdue.
    """
    last_due = as_of - dt.timedelta(days=30)
    first_due = pl.Series([last_due]).dt.offset_by(f"-{window_months}mo").item()
    ledger = instalment_ledger(_lazy(tables["loans"]), _lazy(tables["schedule"]), _lazy(tables["repayments"]))
    late = (
        ledger.with_columns(
            earlier_paid_by=pl.col("paid_on")
            .fill_null(FAR_FUTURE)
            .cum_max()
            .shift(1)
            .over("loan_id", order_by="instalment_no")
        )
        .filter(pl.col("earlier_paid_by").is_null() | (pl.col("earlier_paid_by") <= pl.col("due_date")))
        .filter(pl.col("due_date").is_between(first_due, last_due, closed="right"))
        .filter(pl.col("paid_on").is_null() | (pl.col("paid_on") > pl.col("due_date")))
        .select(
            due=pl.col("amount_due").sum(),
            collected=pl.col("amount_due").filter(pl.col("paid_on") <= pl.col("due_date") + pl.duration(days=30)).sum(),
        )
        .collect()
    )
    due = late["due"].item()
    return None if not due else float(late["collected"].item() / due)


def ever_bad_within(outcomes: pl.DataFrame, *, as_of: dt.date, months: int = 12) -> pl.Expr:
    """Expression on ``outcomes``: ever 30+ within ``months`` of origination; null until observable."""
    horizon = _months_after("originated_on", months)
    return pl.when(horizon <= as_of).then(pl.col("first_30_on").is_not_null() & (pl.col("first_30_on") <= horizon))


def bad_rates_by_segment(outcomes: pl.DataFrame, *, as_of: dt.date, months: int = 12) -> pl.DataFrame:
    """Ever 30+ within ``months`` on book by product × channel, among loans old enough to tell.

    Returns product, channel, loans (observed) and bad_rate, riskiest first.
    """
    return (
        outcomes.with_columns(bad=ever_bad_within(outcomes, as_of=as_of, months=months))
        .filter(pl.col("bad").is_not_null())
        .group_by("product", "channel")
        .agg(loans=pl.len(), bad_rate=pl.col("bad").mean())
        .sort("bad_rate", descending=True)
    )


def portfolio_summary(
    outcomes: pl.DataFrame,
    *,
    as_of: dt.date,
    collection_rate: float | None = None,
    write_off_dpd: int = WRITE_OFF_DPD,
) -> dict[str, float | int | None]:
    """Headline figures of the book at ``as_of``.

    - ``balance``: outstanding principal of active loans up to ``write_off_dpd``;
    - ``dpd90_on_balance``: the share of that balance 91+ days past due (90天以上逾期率, Qifu's definition);
    - ``fpd30``: first instalment 30+ days late, among loans whose first due date is 30+ days past;
    - ``ever30_12mob``: ever 30+ within 12 months on book, among loans booked 12+ months before ``as_of``;
    - ``prepayment_share``: loans settled a month or more before their last due date, among all loans booked.
    """
    on_book = outcomes.filter(pl.col("closed_on").is_null() & (pl.col("days_past_due") <= write_off_dpd))
    balance = float(on_book["outstanding_principal"].sum())
    late90 = float(on_book.filter(pl.col("days_past_due") > 90)["outstanding_principal"].sum())
    fpd = outcomes["fpd30"].drop_nulls()
    bad12 = outcomes.select(ever_bad_within(outcomes, as_of=as_of)).to_series().drop_nulls()
    return {
        "loans": outcomes.height,
        "disbursed": float(outcomes["principal"].sum()),
        "active_loans": on_book.height,
        "balance": balance,
        "dpd90_on_balance": late90 / balance if balance else None,
        "written_off_loans": int(
            outcomes.filter(pl.col("closed_on").is_null() & (pl.col("days_past_due") > write_off_dpd)).height
        ),
        "fpd30": float(fpd.mean()) if fpd.len() else None,
        "ever30_12mob": float(bad12.mean()) if bad12.len() else None,
        "prepayment_share": float(outcomes["prepaid"].mean()) if outcomes.height else None,
        "collection_rate_30d": collection_rate,
    }
