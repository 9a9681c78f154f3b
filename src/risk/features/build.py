"""Build loan and application snapshots with their features and labels.

Frames stay lazy, so polars can plan the joins, except in :func:`loan_snapshots`: it collects its (loan, as_of)
pairs once, and up to two million of them collects each family of features and stacks them (see there).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from risk import io
from risk.config import FeatureParams
from risk.contract import ACTION_STEP, LADDER_RANK, Outcome
from risk.delinquency import (
    daily_payments,
    daily_payments_frame,
    days_past_due_expr,
    ledger_frame,
    loan_day_key,
    paid_by,
    reaged_days_past_due,
    reageing_windows,
    running_sum_within,
)
from risk.exceptions import RiskDataError
from risk.features import labels, walks
from risk.features.catalogue import APPLICATION_FEATURES, CATEGORICAL, LOAN_FEATURES

REACHED = [o.value for o in (Outcome.REACHED, Outcome.PROMISE_TO_PAY, Outcome.REFUSED, Outcome.AGREEMENT_SIGNED)]
CONTACT_CHANNELS = ["sms", "phone", "email", "app"]


@dataclass(frozen=True)
class FeatureSet:
    """Loan snapshots (loan × month end) and application snapshots (application × applied day)."""

    loan_snapshots: pl.DataFrame
    application_snapshots: pl.DataFrame


def month_ends(first: dt.date, last: dt.date) -> list[dt.date]:
    """Month-end dates from the month of ``first`` through ``last`` (inclusive, ``last`` if a month end).

    Examples
    --------
    >>> month_ends(dt.date(2024, 1, 15), dt.date(2024, 3, 31))
    [datetime.date(2024, 1, 31), datetime.date(2024, 2, 29), datetime.date(2024, 3, 31)]
    """
    ends = pl.date_range(first.replace(day=1), last, "1mo", eager=True).dt.month_end()
    return [d for d in ends.to_list() if d <= last]


def _lazy(tables: Mapping[str, pl.DataFrame | pl.LazyFrame]) -> dict[str, pl.LazyFrame]:
    return {k: (v.lazy() if isinstance(v, pl.DataFrame) else v) for k, v in tables.items()}


def _categoricals(frame: pl.LazyFrame) -> pl.LazyFrame:
    return frame.with_columns(pl.col(c).cast(pl.Enum(list(v))) for c, v in CATEGORICAL.items())


def application_features(applications: pl.LazyFrame) -> pl.LazyFrame:
    """What the applicant declared and what was verified, plus ratios an underwriter would compute."""
    annual_income = pl.col("monthly_income").clip(lower_bound=1.0) * 12
    return applications.select(
        "application_id",
        "borrower_id",
        "requested_amount",
        "requested_term",
        "product",
        "channel",
        "age",
        "monthly_income",
        "employment_type",
        "employment_years",
        "city_tier",
        "education",
        "credit_history_months",
        "existing_debt",
        "credit_inquiries_6m",
        "prior_loans",
        "identity_verified",
        "income_verified",
        debt_to_income=pl.col("existing_debt") / annual_income,
        loan_to_income=pl.col("requested_amount") / annual_income,
        payment_to_income=pl.col("requested_amount")
        / pl.col("requested_term").clip(lower_bound=1)
        / pl.col("monthly_income").clip(lower_bound=1.0),
        application_month=pl.col("applied_at").dt.month().cast(pl.Int64),
    )


def _running(
    frame: pl.LazyFrame, day: str, sums: dict[str, pl.Expr], carried: dict[str, pl.Expr] | None = None
) -> pl.LazyFrame:
    """Per loan, in ``day`` order, the running ``sums`` and the ``carried`` columns at the end of each day (the day's
    last row). Sorted by (loan number, day), each loan's rows are one run, so the sums are
    :func:`risk.delinquency.running_sum_within` the run (``cum_sum().over`` the loan to the bit, without the window's
    grouping: the 30k-loan sample's three running frames 0.047 s against 0.083 s with windows), as Float64: the counts
    come out whole."""
    key = loan_day_key(pl.col("k"), pl.col(day))
    return (
        frame.with_columns(key=key)
        .sort("key")
        .select(
            "k",
            "key",
            *(running_sum_within(expr, "k").alias(name) for name, expr in sums.items()),
            **(carried or {}),
        )
        .filter(pl.col("key") != pl.col("key").shift(-1).fill_null(-1))
    )


def _lookup(frame: pl.LazyFrame, running: pl.LazyFrame, day: pl.Expr, names: dict[str, str]) -> pl.LazyFrame:
    """``frame`` (sorted by its ``key``) with ``running``'s columns as of ``day``, renamed by ``names``; null
    where the loan has no row up to that day."""
    right = running.select(
        pl.col("key").alias("lookup_key"),
        pl.col("k").alias("lookup_k"),
        *(pl.col(o).alias(n) for o, n in names.items()),
    )
    found = pl.col("lookup_k") == pl.col("k")
    return (
        frame.with_columns(lookup_key=loan_day_key(pl.col("k"), day))
        .join_asof(right, on="lookup_key", strategy="backward", check_sortedness=False)
        .with_columns(pl.when(found).then(pl.col(n)).alias(n) for n in names.values())
        .drop("lookup_key", "lookup_k")
    )


def repayment_state(
    pairs: pl.LazyFrame,
    ledger: pl.LazyFrame,
    payments: pl.LazyFrame,
    *,
    grace_days: int,
    lookups: bool = True,
    open_on: dt.date | None = None,
) -> pl.LazyFrame:
    """Repayment behaviour of each (loan_id, as_of) pair, from instalments and payments up to as_of.

    ``lookups`` reads the running totals at each as_of (:func:`_repayment_by_lookups`: for many as_of per loan);
    without, each pair is expanded against all its loan's rows (:func:`_repayment_by_expansion`: for one).
    ``open_on``, for pairs that are loans open on that one day (:func:`_active_at`'s for a scoring day), groups the
    ledger's open loans instead (:func:`_repayment_of_open_loans`). The three are equal column for column
    (tests/features/test_lookups.py); only their speed differs.
    """
    # a pair asked twice is answered once
    numbered = _numbered(pairs.select("loan_id", "as_of").unique())
    return _repayment(lookups, open_on)(numbered, ledger, payments, grace_days=grace_days).drop("pair")


def _repayment(lookups: bool, open_on: dt.date | None) -> Callable[..., pl.LazyFrame]:
    """The way :func:`repayment_state` builds the features of :func:`_numbered` pairs, each row with its ``pair``
    (called as ``build(pairs, ledger, payments, grace_days=...)``). A loan and day under two numbers is answered
    under each: the numbers, not the pairs, are distinct."""
    if open_on is not None:
        return functools.partial(_repayment_of_open_loans, open_on=open_on)
    return _repayment_by_lookups if lookups else _repayment_by_expansion


def _numbered(pairs: pl.LazyFrame) -> pl.LazyFrame:
    """``pairs`` with a number, ``pair``: rows expanded from them are grouped by that one integer, not by a string and
    a date (the repayment aggregate at 1M active loans: 1.4-2.3 s against 2.5-3.4 s), and the families of features
    built from them join the pairs on it (:func:`_loan_families`). Cached, so every grouping of one query reads the
    same numbering; a caller that collects the families apart (``loan_snapshots``) numbers pairs it has collected, so
    that every collection numbers them alike."""
    return pairs.with_row_index("pair").cache()


def _overdue(rows: pl.LazyFrame, by: list[str], grace_days: int) -> pl.LazyFrame:
    """Per group ``by`` of ledger rows, each with its pair's ``as_of``: days past due, the worst overdue within 3, 6
    and 12 months (null when none), and the instalments late beyond grace and missed. Every way of building the
    repayment features aggregates these over the rows they expand that are :func:`_ever_late` and due before as_of.
    Each row's part in each is a column, then plain maxima and sums: the 30k-loan sample's 75,104 month-end groups
    26-28 ms against 43-53 ms as filtered aggregations, the same values."""
    a, c = pl.col("as_of"), pl.col
    grace = pl.duration(days=grace_days)
    # last day instalment k was unpaid within history up to as_of
    unpaid_until = pl.min_horizontal((c("paid_on") - pl.duration(days=1)).fill_null(a), a)
    overdue_days = pl.when(unpaid_until > c("due_date")).then((unpaid_until - c("due_date")).dt.total_days())

    def within(days: int) -> pl.Expr:
        return pl.when(unpaid_until >= a - pl.duration(days=days - 1)).then(overdue_days)

    worst = {
        "days_past_due": days_past_due_expr(a),
        "max_dpd_3m": within(90),
        "max_dpd_6m": within(180),
        "max_dpd_12m": within(365),
    }
    counted = {
        "late_instalments": (c("due_date") + grace < a)
        & (c("paid_on").is_null() | (c("paid_on") > c("due_date") + grace)),
        "missed_instalments": (c("due_date") + grace < a) & ~paid_by(a),
    }
    return rows.select(*by, **worst, **counted).group_by(*by).agg(c(*worst).max(), c(*counted).sum())


OVERDUE_COUNTS = ["days_past_due", "max_dpd_3m", "max_dpd_6m", "max_dpd_12m", "late_instalments", "missed_instalments"]
REPAYMENT_COLUMNS = [  # what repayment_state gives, either way
    "loan_id",
    "as_of",
    *OVERDUE_COUNTS,
    "outstanding_principal",
    "remaining_term",
    "instalment_amount",
    "last_paid_on",
    "partial_payments",
    "arrears_amount",
    "prepaid_amount",
    "paid_to_due_3m",
    "paid_to_due_all",
    "term_elapsed_share",
]


def _ever_late() -> pl.Expr:
    """The ledger rows :func:`_overdue` needs: instalments paid after their due day, or never. One paid
    by its due day is overdue on no day, so it adds to none of them, and a pair without a late row due before its
    as_of gets 0 for each (tests/features/test_lookups.py holds it against every row)."""
    return pl.col("paid_on").is_null() | (pl.col("paid_on") > pl.col("due_date"))


def _repayment_by_lookups(
    pairs: pl.LazyFrame, ledger: pl.LazyFrame, payments: pl.LazyFrame, *, grace_days: int
) -> pl.LazyFrame:
    """Running totals read at as_of (and 90 days before it) by as-of lookups on the ledger's and the payments'
    cumulative columns, so a pair costs a few binary searches, not a pass over all the loan's rows. Only the
    instalments ever paid late (or never) are expanded per pair: the overdue features need each one."""
    a = pl.col("as_of")
    c = pl.col
    # the loans asked about (a day's active loans, not the whole book), numbered for integer keys. The numbering and
    # the frames read more than once are cached: polars otherwise planned them once per use (the 30k-loan sample's
    # repayment features at every month end: 0.36 s uncached, 0.24 s cached; the same numbers each use either way)
    index = pairs.select("loan_id").unique().sort("loan_id").with_row_index("k").cache()
    keys = pairs.select("pair", "loan_id", "as_of").join(index, on="loan_id").cache()
    lines = (
        ledger.select("loan_id", "instalment_no", "due_date", "amount_due", "principal_due", "paid_on")
        .join(index, on="loan_id")
        .cache()
    )
    per_loan = (
        lines.group_by("k")
        .agg(
            term=pl.len(),
            principal_total=c("principal_due").sum(),
            instalment_amount=c("amount_due").sort_by("instalment_no").first(),
        )
        .cache()
    )
    # how many instalments and how much fell due up to a day; the principal paid off up to a day
    by_due = _running(lines, "due_date", {"due_count": pl.lit(1.0), "cum_due": c("amount_due")})
    by_paid = _running(lines.filter(c("paid_on").is_not_null()), "paid_on", {"cum_principal_paid": c("principal_due")})
    # paid to date, the last payment day, payments short of an instalment to date
    by_payment = _running(
        payments.join(index, on="loan_id").join(per_loan.select("k", "instalment_amount"), on="k"),
        "paid_on",
        {"cum_partial": c("amount") < 0.95 * c("instalment_amount")},
        {"cum_paid": c("cum_paid"), "last_paid_on": c("paid_on")},
    )
    before_90d = a - pl.duration(days=90)
    frame = keys.join(per_loan, on="k").with_columns(key=loan_day_key(c("k"), a)).sort("key")
    frame = _lookup(frame, by_due, a, {"due_count": "due_count", "cum_due": "due_total"})
    frame = _lookup(frame, by_due, before_90d, {"cum_due": "due_before_90d"})
    frame = _lookup(frame, by_paid, a, {"cum_principal_paid": "principal_paid"})
    frame = _lookup(
        frame,
        by_payment,
        a,
        {"cum_paid": "paid_total", "last_paid_on": "last_paid_on", "cum_partial": "partial_payments"},
    )
    frame = _lookup(frame, by_payment, before_90d, {"cum_paid": "paid_before_90d"})

    # the instalments ever late, each pair against those due before as_of: whatever is overdue at as_of or was
    # within a window is among them
    late_lines = lines.filter(_ever_late()).drop("loan_id")
    overdue = (
        keys.select("pair", "k", "as_of")
        .join(late_lines, on="k")
        .filter(c("due_date") < a)
        .pipe(_overdue, ["pair"], grace_days)  # by number: a loan and day asked twice is counted once for each
    )
    return _repayment_finished(frame.join(overdue, on="pair", how="left"))


def _repayment_finished(frame: pl.LazyFrame) -> pl.LazyFrame:
    """:data:`REPAYMENT_COLUMNS` and each pair's number from the running totals read at as_of (and 90 days before),
    the loan's term and principal, and the overdue counts (null where none): what the lookups and the walks
    (:func:`risk.features.walks.repayment`) give alike."""
    c = pl.col
    return (
        frame.with_columns(
            pl.col(OVERDUE_COUNTS).fill_null(0),
            # money is rounded to the fen so the order of addition cannot turn an exact 0.00 into 1e-13
            due_total=c("due_total").fill_null(0.0).round(2),
            due_3m=(c("due_total").fill_null(0.0) - c("due_before_90d").fill_null(0.0)).round(2),
            outstanding_principal=(c("principal_total") - c("principal_paid").fill_null(0.0)).round(2),
            remaining_term=c("term") - c("due_count").fill_null(0).cast(pl.UInt32),
            paid_total=c("paid_total").fill_null(0.0).round(2),
            paid_3m=(c("paid_total").fill_null(0.0) - c("paid_before_90d").fill_null(0.0)).round(2),
            partial_payments=c("partial_payments").fill_null(0).cast(pl.Int64),
        )
        .with_columns(
            arrears_amount=(c("due_total") - c("paid_total")).clip(lower_bound=0.0),
            prepaid_amount=(c("paid_total") - c("due_total")).clip(lower_bound=0.0),
            paid_to_due_3m=pl.when(c("due_3m") > 0).then(c("paid_3m") / c("due_3m")),
            paid_to_due_all=pl.when(c("due_total") > 0).then(c("paid_total") / c("due_total")),
            term_elapsed_share=1.0 - c("remaining_term") / c("term"),
        )
        .select("pair", *REPAYMENT_COLUMNS)
    )


def _repayment_by_expansion(
    pairs: pl.LazyFrame, ledger: pl.LazyFrame, payments: pl.LazyFrame, *, grace_days: int
) -> pl.LazyFrame:
    """Every pair joined to all its loan's instalments and payments, then grouped: each row read once per as_of, so
    the cheapest way for one as_of (a scoring day), memory-bound for many (month ends)."""
    a = pl.col("as_of")
    keyed = pairs.select("pair", "loan_id", "as_of")
    lines = keyed.join(ledger, on="loan_id").cache()
    # the overdue counts from the late instalments alone: a 1.5M-loan day's 4.6M rows took 0.49 s to count whole
    overdue = _overdue(lines.filter(_ever_late() & (pl.col("due_date") < a)), ["pair"], grace_days)
    by_instalment = lines.group_by("pair").agg(pl.col("loan_id", "as_of").first(), **_instalment_totals(a))
    by_payment = _payment_totals(keyed.join(payments, on="loan_id"), by_instalment, "pair")
    return _repayment_columns(
        by_instalment.join(overdue, on="pair", how="left").join(by_payment, on="pair", how="left")
    )


def _repayment_of_open_loans(
    pairs: pl.LazyFrame, ledger: pl.LazyFrame, payments: pl.LazyFrame, *, grace_days: int, open_on: dt.date
) -> pl.LazyFrame:
    """:func:`_repayment_by_expansion` of ``pairs`` that are loans open on one day, ``open_on`` (what
    :func:`_active_at` gives for one as_of: a scoring day). Each such loan's pair is that day, and all its ledger rows
    are among those not closed by it, so the ledger's open rows are grouped by loan as they lie, sorted by loan
    (polars merges the runs rather than hashing each row), and each loan's row joined to its pairs (one, or each
    number a loan was asked under), instead of expanded pair by pair: at 984,361 open loans (9.7M ledger rows)
    1.07-1.14 s against 1.42-1.74 s. The same frame for a ledger in
    loan order, as every caller passes it (tests/features/test_lookups.py); on a shuffled ledger both ways sum in
    another order and may round a money column a cent apart."""
    day = pl.lit(open_on, dtype=pl.Date)  # as the pairs hold it: a datetime's time of day moves no window
    a = pl.col("as_of")
    lines = ledger.filter(pl.col("closed_on").is_null() | (pl.col("closed_on") > day)).with_columns(as_of=day)
    overdue = _overdue(lines.filter(_ever_late() & (pl.col("due_date") < a)), ["loan_id"], grace_days)
    by_instalment = lines.group_by("loan_id").agg(**_instalment_totals(a))
    # the join to the open loans' instalment amounts keeps the open loans' payments
    by_payment = _payment_totals(payments.with_columns(as_of=day), by_instalment, "loan_id")
    by_loan = by_instalment.join(overdue, on="loan_id", how="left").join(by_payment, on="loan_id", how="left")
    # pairs: (pair, loan_id, as_of), as _numbered gives them; a loan asked twice is answered twice
    return _repayment_columns(pairs.select("pair", "loan_id", "as_of").join(by_loan, on="loan_id"))


def _instalment_totals(a: pl.Expr) -> dict[str, pl.Expr]:
    """Per group of one loan's ledger rows at as_of ``a``: what fell due, in all and within 90 days, the principal
    still unpaid, the instalments still to fall due, the term and the first instalment's amount."""
    due_by = pl.col("due_date") <= a
    return {
        # money sums are rounded to the fen so the order of addition (which differs between engines
        # and partitions) cannot turn an exact 0.00 of arrears into 1e-13
        "due_total": pl.col("amount_due").filter(due_by).sum().round(2),
        "due_3m": pl.col("amount_due").filter(due_by & (pl.col("due_date") > a - pl.duration(days=90))).sum().round(2),
        "outstanding_principal": pl.col("principal_due").filter(~paid_by(a)).sum().round(2),
        "remaining_term": (pl.col("due_date") > a).sum(),
        "term": pl.len(),
        "instalment_amount": pl.col("amount_due").sort_by("instalment_no").first(),
    }


def _payment_totals(paid: pl.LazyFrame, by_instalment: pl.LazyFrame, key: str) -> pl.LazyFrame:
    """Per ``key`` of the daily payments ``paid`` (each with its pair's as_of): paid in all and within 90 days, the
    last payment day, and the payments short of an instalment (``by_instalment``'s amount)."""
    a = pl.col("as_of")
    return (
        paid.filter(pl.col("paid_on") <= a)
        .join(by_instalment.select(key, "instalment_amount"), on=key)
        .group_by(key)
        .agg(
            paid_total=pl.col("amount").sum().round(2),
            paid_3m=pl.col("amount").filter(pl.col("paid_on") > a - pl.duration(days=90)).sum().round(2),
            last_paid_on=pl.col("paid_on").max(),
            partial_payments=(pl.col("amount") < 0.95 * pl.col("instalment_amount")).sum(),
        )
    )


def _repayment_columns(frame: pl.LazyFrame) -> pl.LazyFrame:
    """:data:`REPAYMENT_COLUMNS` and each pair's number from the instalment, overdue and payment totals joined per
    pair."""
    return (
        frame.with_columns(
            pl.col("paid_total", "paid_3m").fill_null(0.0),
            pl.col("partial_payments").fill_null(0).cast(pl.Int64),
            pl.col(OVERDUE_COUNTS).fill_null(0),
        )
        .with_columns(
            arrears_amount=(pl.col("due_total") - pl.col("paid_total")).clip(lower_bound=0.0),
            prepaid_amount=(pl.col("paid_total") - pl.col("due_total")).clip(lower_bound=0.0),
            paid_to_due_3m=pl.when(pl.col("due_3m") > 0).then(pl.col("paid_3m") / pl.col("due_3m")),
            paid_to_due_all=pl.when(pl.col("due_total") > 0).then(pl.col("paid_total") / pl.col("due_total")),
            term_elapsed_share=1.0 - pl.col("remaining_term") / pl.col("term"),
        )
        .select("pair", *REPAYMENT_COLUMNS)
    )


def collection_state(pairs: pl.LazyFrame, actions: pl.LazyFrame) -> pl.LazyFrame:
    """Collections history of each (loan_id, as_of) pair: contacts, outcomes and ladder step.

    ``max_ladder_step`` is the highest step of the current overdue episode (actions from its onset, the
    due date of the oldest unpaid instalment, ``as_of - days_past_due``; 0 when current): a loan that went
    to legal years ago and is current now has not escalated now. ``pairs`` carries ``days_past_due``.
    """
    numbered = _numbered(pairs.select("loan_id", "as_of", "days_past_due").unique(["loan_id", "as_of"]))
    return numbered.join(_collections(numbered, actions), on="pair").drop("pair", "days_past_due")


ACTION_KINDS = ["contact", "reached", "promise", "broken_promise", "refused", "unreachable"]


def action_kinds(actions: pl.LazyFrame) -> pl.LazyFrame:
    """Per collection action: its loan, its day (a day number), its ladder step (0 for none) and what it was
    (:data:`ACTION_KINDS`: a contact, reached, a promise to pay, a broken promise, a refusal, unreachable)."""
    c = pl.col
    step_rank = {action.value: LADDER_RANK[step] for action, step in ACTION_STEP.items()}
    contact = c("channel").is_in(CONTACT_CHANNELS)
    outcome = c("outcome")
    return actions.select(
        "loan_id",
        action_day=c("action_at").dt.date().cast(pl.Int32),
        step=c("action").replace_strict(step_rank, default=0, return_dtype=pl.Int64),
        contact=contact,
        reached=contact & outcome.is_in(REACHED),
        promise=outcome == Outcome.PROMISE_TO_PAY,
        broken_promise=outcome == Outcome.BROKEN_PROMISE,
        refused=outcome == Outcome.REFUSED,
        unreachable=outcome == Outcome.UNREACHABLE,
    )


def _collections(pairs: pl.LazyFrame, actions: pl.LazyFrame) -> pl.LazyFrame:
    """:func:`collection_state` of :func:`_numbered` ``pairs`` (with ``days_past_due``), by ``pair``: a pair
    without an action up to its as_of has no row."""
    c = pl.col
    # an action's age at as_of in whole days, from day numbers: the windows compare integers, not dates moved by
    # durations (the 30k-loan sample's month ends 41-44 ms against 49-56 ms, a day's 984,361 open loans 0.24-0.25 s
    # against 0.26-0.28 s, the same counts; beside the other families the sample's whole frame gains nothing visible)
    age = c("age")
    in_episode = (c("days_past_due") > 0) & (age <= c("days_past_due"))
    last_90 = age < 90
    # what each action was, read once per action rather than once per (action, as_of) it is expanded to
    kinds = action_kinds(actions)
    # each action's part in every count as a column, then plain sums: a 1.5M-loan day's 2.15M expanded rows took
    # 0.48 s against 0.57 s as filtered sums
    counted = {
        "contacts_7d": c("contact") & (age < 7),
        "contacts_30d": c("contact") & (age < 30),
        "contacts_90d": c("contact") & last_90,
        "reached_90d": c("reached") & last_90,
        "promises_90d": c("promise") & last_90,
        "broken_promises_90d": c("broken_promise") & last_90,
        "refusals_90d": c("refused") & last_90,
        "unreachable_90d": c("unreachable") & last_90,
    }
    return (
        # a datetime as_of counts as its day, as the actions' times do
        pairs.select("pair", "loan_id", "days_past_due", as_of_day=c("as_of").cast(pl.Date).cast(pl.Int32))
        .join(kinds, on="loan_id")
        .with_columns(age=c("as_of_day") - c("action_day"))
        .filter(age >= 0)  # up to as_of
        .select("pair", "action_day", **counted, episode_step=pl.when(in_episode).then(c("step")))
        .group_by("pair")
        .agg(
            c(*counted).sum(),
            max_ladder_step=c("episode_step").max(),
            last_action_on=c("action_day").max().cast(pl.Date),
        )
        .with_columns(
            reach_rate_90d=pl.when(pl.col("contacts_90d") > 0).then(pl.col("reached_90d") / pl.col("contacts_90d"))
        )
        .drop("contacts_90d", "reached_90d")
    )


def _fill_collections(frame: pl.LazyFrame) -> pl.LazyFrame:
    counts = [
        "contacts_7d",
        "contacts_30d",
        "promises_90d",
        "broken_promises_90d",
        "refusals_90d",
        "unreachable_90d",
        "max_ladder_step",
    ]
    return frame.with_columns(pl.col(c).fill_null(0).cast(pl.Int64) for c in counts)


def _active_at(loans: pl.LazyFrame, ledger: pl.LazyFrame, as_of_dates: Sequence[dt.date]) -> pl.LazyFrame:
    """(loan_id, borrower_id, as_of) for every loan originated and not yet settled at each of ``as_of_dates`` (each
    date once), in the loans' order, each loan's days in order. A loan's dates are one run of the sorted dates, from
    the first on or after its origination to the last before it settled, so two binary searches find them where a
    cross join of every loan with every date was filtered: the 30k-loan sample's 48 month ends 0.008-0.014 s against
    0.019-0.022 s, a day at 1,515,000 loans 0.18-0.20 s against 0.24-0.26 s."""
    # a frame's schema makes a datetime its date (a Series' dtype would keep the time of day)
    days = pl.DataFrame({"as_of": list(as_of_dates)}, schema={"as_of": pl.Date})["as_of"].unique().sort()
    closed = ledger.group_by("loan_id").agg(pl.col("closed_on").first())

    def first_on_or_after(day: pl.Expr) -> pl.Expr:
        return pl.lit(days).search_sorted(day, side="left").cast(pl.Int64)

    return (
        loans.select("loan_id", "borrower_id", "originated_on")
        .filter(pl.col("originated_on").is_not_null())
        .join(closed, on="loan_id", how="left", maintain_order="left")
        .select(
            "loan_id",
            "borrower_id",
            first=first_on_or_after(pl.col("originated_on")),
            # open on a day before the one it settled on
            end=pl.when(pl.col("closed_on").is_null())
            .then(pl.lit(days.len(), dtype=pl.Int64))
            .otherwise(first_on_or_after(pl.col("closed_on"))),
        )
        .select("loan_id", "borrower_id", day=pl.int_ranges("first", "end"))
        .explode("day", empty_as_null=False)  # a loan open on none of the dates: no row
        .select("loan_id", "borrower_id", as_of=pl.lit(days).gather(pl.col("day")))
    )


def _borrower_state(pairs: pl.LazyFrame, loans: pl.LazyFrame, ledger: pl.LazyFrame) -> pl.LazyFrame:
    """For each of :func:`_numbered` ``pairs`` (borrower_id, as_of, the loan itself or null), by ``pair``: the
    borrower's other loans at as_of. A pair whose borrower had no other loan by then has no row."""
    others = (
        pairs.select("pair", "borrower_id", "as_of", pl.col("loan_id").alias("self_id"))
        .join(loans.select("loan_id", "borrower_id", "originated_on"), on="borrower_id")
        .filter(
            (pl.col("originated_on") <= pl.col("as_of"))
            & (pl.col("self_id").is_null() | (pl.col("loan_id") != pl.col("self_id")))
        )
    )
    closed = ledger.group_by("loan_id").agg(pl.col("closed_on").first())
    # days past due from the late instalments alone (:func:`_ever_late`): a loan without one is current, 0
    dpd = (
        _numbered(others.select("loan_id", "as_of").unique())
        .join(ledger.select("loan_id", "due_date", "paid_on").filter(_ever_late()), on="loan_id")
        .filter(pl.col("due_date") < pl.col("as_of"))
        .group_by("pair")
        .agg(pl.col("loan_id", "as_of").first(), dpd=days_past_due_expr(pl.col("as_of")).max())
        .drop("pair")
    )
    return (
        others.join(closed, on="loan_id", how="left")
        .join(dpd, on=["loan_id", "as_of"], how="left")
        .with_columns(
            active=pl.col("closed_on").is_null() | (pl.col("closed_on") > pl.col("as_of")),
        )
        .group_by("pair")
        .agg(
            other_active_loans=pl.col("active").sum().cast(pl.Int64),
            other_worst_days_past_due=pl.col("dpd").filter(pl.col("active")).max().fill_null(0),
            loans_opened_90d=(pl.col("originated_on") > pl.col("as_of") - pl.duration(days=90)).sum(),
        )
    )


def _fill_borrower(frame: pl.LazyFrame) -> pl.LazyFrame:
    cols = ["other_active_loans", "other_worst_days_past_due", "loans_opened_90d"]
    return frame.with_columns(pl.col(c).fill_null(0).cast(pl.Int64) for c in cols)


def _ledger_and_payments(
    tables: Mapping[str, pl.DataFrame | pl.LazyFrame], ledger: pl.LazyFrame | None, payments: pl.LazyFrame | None
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """The instalment ledger and the daily payments, each the caller's when given. A ledger built here reads the
    payments it summed, so the repayments are summed once for both, and the tables as given (a collected schedule
    in order is not sorted again)."""
    if ledger is None:
        if payments is None:
            payments = daily_payments_frame(tables["repayments"]).lazy()
        ledger = ledger_frame(tables, payments=payments).lazy()
    if payments is None:
        payments = daily_payments(tables["repayments"].lazy())
    return ledger.cache(), payments.cache()


def loan_state(
    tables: Mapping[str, pl.DataFrame | pl.LazyFrame],
    pairs: pl.LazyFrame,
    params: FeatureParams,
    *,
    ledger: pl.LazyFrame | None = None,
    payments: pl.LazyFrame | None = None,
    lookups: bool = True,
    open_on: dt.date | None = None,
) -> pl.LazyFrame:
    """The loan features of any (loan_id, borrower_id, as_of) ``pairs``, from what was known at each as_of, their
    categories as enums.

    :func:`loan_snapshots` builds the same columns for every loan active at month ends, or at one day when scoring;
    the collections policy calls this for the days its decisions were made (``risk.policy.history``). ``ledger``
    and ``payments`` (the repayments' :func:`risk.delinquency.daily_payments`) when the caller has them.
    ``lookups`` and ``open_on``: see :func:`repayment_state` (``lookups`` False when each loan has one as_of;
    ``open_on`` when ``pairs`` are the loans open on that one day).
    """
    frame, families, keys = _loan_families(
        tables, pairs, params, ledger=ledger, payments=payments, lookups=lookups, open_on=open_on
    )
    return _with_derived(_joined(frame, families, keys)).drop("pair")


LOAN_TERMS = ["application_id", "originated_on", "annual_rate", "principal", "term_months"]


def _loan_families(
    tables: Mapping[str, pl.DataFrame | pl.LazyFrame],
    pairs: pl.LazyFrame,
    params: FeatureParams,
    *,
    ledger: pl.LazyFrame | None,
    payments: pl.LazyFrame | None,
    lookups: bool = True,
    open_on: dt.date | None = None,
    collect_repayment: bool = False,
    engine: str = "auto",
    walked: walks.LoanRows | None = None,
) -> tuple[pl.LazyFrame, list[pl.LazyFrame], list[list[str]]]:
    """The pairs with their loan's terms and their number, ``pair``, in the pairs' order, and each family of loan
    features (the application's, the repayment, the collections and the borrower features) with the keys it joins
    them on: the families built per pair join on its number, one integer, not on a string and a date (the 30k-loan
    sample's 200,580 month-end snapshots 0.42-0.45 s against 0.51-0.52 s keyed by loan and day).
    ``collect_repayment``: the repayment features collected here, as the collections read their days past due, for a
    caller that collects the families one by one rather than in one plan, on ``engine``. ``walked``: the loans
    numbered for the C kernels (:mod:`risk.features.walks`), which then build the repayment, collections and borrower
    families of ``pairs`` (collected) in place of the polars plans, to the same columns."""
    t = _lazy(tables)
    pairs = _numbered(pairs)
    loans, applications = t["loans"], t["applications"]
    ledger, payments = _ledger_and_payments(tables, ledger, payments)
    # the categories as enums once per application, not once per pair: their codes are gathered beside the pairs,
    # not their strings (the 30k-loan sample's month ends: 6 ms against 17 ms, and 1 ms to cast against 5-6 ms)
    app = application_features(applications.filter(pl.col("loan_id").is_not_null())).drop("borrower_id")
    app = app.pipe(_categoricals)
    loan_terms = loans.select("loan_id", *LOAN_TERMS)
    if walked is not None:
        asked = walks.Asked.of(pairs.collect())
        raw = walks.repayment(walked, asked, payments.collect(), grace_days=params.late_grace_days)
        repaid = _repayment_finished(raw.lazy())
    else:
        repaid = _repayment(lookups, open_on)(pairs, ledger, payments, grace_days=params.late_grace_days)
    if "agreements" in t:  # a kept plan or extension re-ages the loan: days past due follow the agreed schedule
        windows = reageing_windows(t["agreements"])
        reaged = reaged_days_past_due(ledger, payments, windows, pairs, grace_days=params.late_grace_days)
        repaid = (
            repaid.join(
                reaged.rename({"days_past_due": "reaged"}), on=["loan_id", "as_of"], how="left", maintain_order="left"
            )
            .with_columns(days_past_due=pl.coalesce("reaged", "days_past_due"))
            .drop("reaged")
        )
    if walked is not None and (raw["term"] == 0).any():  # a loan without instalments: no repayment features (re-aged
        # ones neither), as the lookups give it no row
        known = pl.lit(raw["term"] > 0)
        repaid = repaid.with_columns(pl.when(known).then(c) for c in REPAYMENT_COLUMNS[2:])
    repaid = repaid.drop("loan_id", "as_of")
    if collect_repayment:
        # many days' lookups (sorts and as-of joins) gain nothing from streaming at any size: the 30k-loan sample's
        # 200,580 month-end pairs 106-110 ms in memory against 143-160 ms, the 200k-loan book's 1.4M 0.94-0.99 s
        # either way; a day's open loans are grouped, quicker streamed at a million (1.0 s against 1.1-1.2 s)
        repaid = repaid.collect(engine=engine if open_on is not None else "in-memory").lazy()
    else:
        repaid = repaid.cache()
    if walked is not None:  # the walks' families are row for row with the pairs, in their order
        kinds = action_kinds(t["collection_actions"]).collect()
        dpd = repaid.select("days_past_due").collect().to_series()
        collections = walks.collections(walked, asked, dpd, kinds).drop("pair").lazy()
        borrowers = walks.borrower_state(walked, asked).drop("pair").lazy()
        # each pair's loan's terms and application gathered by its number, not joined by their strings
        terms = walked.loans.select(LOAN_TERMS)[asked.loan]
        applied = walked.loans.select("application_id").join(
            app.collect(), on="application_id", how="left", maintain_order="left"
        )
        if applied.height == walked.loans.height:
            applied, on = applied.drop("application_id")[asked.loan].lazy(), []
        else:  # an application twice: joined as the polars code joins it, refused only where a pair meets it
            applied, on = app, ["application_id"]
        return (
            pl.concat([asked.frame, terms], how="horizontal").lazy(),
            [applied, repaid.drop("pair"), collections, borrowers],
            [on, [], [], []],
        )
    episodes = pairs.select("pair", "loan_id", "as_of").join(
        repaid.select("pair", "days_past_due"), on="pair", how="left"
    )
    return (
        pairs.join(loan_terms, on="loan_id", maintain_order="left"),
        [app, repaid, _collections(episodes, t["collection_actions"]), _borrower_state(pairs, loans, ledger)],
        [["application_id"], ["pair"], ["pair"], ["pair"]],
    )


def _joined(frame: pl.LazyFrame, families: Sequence[pl.LazyFrame], keys: Sequence[list[str]]) -> pl.LazyFrame:
    """``frame`` left-joined to each family on its keys, in one lazy plan."""
    for family, on in zip(families, keys, strict=True):
        frame = frame.join(family, on=on, how="left")
    return frame


def _with_derived(frame: pl.LazyFrame) -> pl.LazyFrame:
    """The joined families' counts filled where a pair had none, and the features derived from several of them."""
    return (
        frame.pipe(_fill_collections)
        .pipe(_fill_borrower)
        .with_columns(
            months_on_book=(
                (pl.col("as_of").dt.year() - pl.col("originated_on").dt.year()) * 12
                + pl.col("as_of").dt.month()
                - pl.col("originated_on").dt.month()
            ).cast(pl.Int64),
            days_since_last_payment=(pl.col("as_of") - pl.coalesce("last_paid_on", "originated_on")).dt.total_days(),
            days_since_last_contact=(pl.col("as_of") - pl.col("last_action_on")).dt.total_days(),
            vintage=(pl.col("originated_on").dt.year() * 100 + pl.col("originated_on").dt.month()).cast(pl.Int64),
            as_of_month=pl.col("as_of").dt.month().cast(pl.Int64),
        )
    )


# at most this many snapshots, loan_snapshots stacks its families in memory (a day at a million active loans, a
# 200k-loan book's month ends); above, one streaming plan keeps the peak down (the million-loan book's 7.0M)
STACKED_SNAPSHOTS = 2_000_000


def _stacked(
    frame: pl.DataFrame, families: list[pl.LazyFrame], keys: Sequence[list[str]], engine: str = "auto"
) -> pl.DataFrame:
    """``frame`` with each family's columns beside it, row for row, as left joins on ``keys`` would give them in
    ``frame``'s order (a family with no keys is row for row with ``frame`` already). The families are collected
    together on ``engine`` (the default streams their group-bys), then each is joined to its keys alone on the
    in-memory engine and its columns stacked, so no join copies the columns of the ones before it. ``families`` is
    cleared once they are collected, and each collected family is freed once its columns stand beside the frame. A
    family must have at most one row per key: the computed ones are grouped by it, and the application features are
    the applications as given, whose key validation keeps unique. One that matched a row twice would shift every row
    after it, so it stops with an error instead (where one streaming plan, above :data:`STACKED_SNAPSHOTS`, would
    repeat the row)."""
    collected = pl.collect_all(families, engine=engine)
    families.clear()
    columns = [frame]
    for on in keys:  # no keys: the family's rows are the frame's, in its order
        beside = _beside(frame.select(on), collected.pop(0), on) if on else collected.pop(0)
        if beside.height != frame.height:
            msg = f"a feature family has more than one row for some {', '.join(on)}; each must have at most one"
            raise RiskDataError(msg, column=", ".join(on), rule="unique_key")
        columns.append(beside)
    return pl.concat(columns, how="horizontal")


def _beside(keys: pl.DataFrame, family: pl.DataFrame, on: list[str]) -> pl.DataFrame:
    """``family``'s columns for each row of ``keys`` (its join keys ``on``), in their order, null where it has none."""
    found = keys.lazy().join(family.lazy(), on=on, how="left", maintain_order="left")
    return found.drop(on).collect(engine="in-memory")


def loan_snapshots(
    tables: Mapping[str, pl.DataFrame | pl.LazyFrame],
    params: FeatureParams,
    *,
    as_of_dates: Sequence[dt.date],
    data_as_of: dt.date,
    with_labels: bool = True,
    ledger: pl.LazyFrame | None = None,
    payments: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """Features and labels of every loan active at each of ``as_of_dates`` (each date once), in (as_of, loan_id)
    order: the catalogue's loan features as :func:`loan_state` gives them, row for row, its categories as enums.

    Scoring passes ``with_labels=False`` (labels come out null: the future is unknown anyway), a ``ledger`` it
    built once for both snapshot tables and the day's ``payments`` (:func:`risk.delinquency.daily_payments`). A
    ``ledger`` given without its ``payments`` (an incremental day's, a Spark partition's) has only its pairs' loans'
    payments summed.

    The pairs are found and put in order first. Up to :data:`STACKED_SNAPSHOTS` of them, each family of features
    (the labels too) is collected on its own and stacked beside them (:func:`_stacked`), and the frame comes back
    collected, as a LazyFrame over it, where one streaming plan joined the families and sorted the whole frame:
    the 30k-loan sample's 200,580 month-end snapshots 0.52-0.53 s against 0.61-0.64 s, the 200k-loan book's 1.4M
    4.04-4.09 s against 4.33-4.50 s, a day's 984,361 active loans 3.18-3.39 s against 3.97-4.25 s (the whole plan
    on the in-memory engine was faster on the sample but slower on the book: its group-bys). More, and that one
    streaming plan builds them still: at the million-loan book's 7.0M the in-memory joins' hash tables over every
    snapshot lifted the peak to 8.3-8.8 GiB against 7.9 GiB, for no gain in time (42 s against 44 s).
    """
    t = _lazy(tables)
    only_theirs = ledger is not None and payments is None  # the payments summed below, once the pairs are known
    if only_theirs:
        ledger = ledger.cache()
    else:
        ledger, payments = _ledger_and_payments(tables, ledger, payments)
    one_day = as_of_dates[0] if len(set(as_of_dates)) == 1 else None
    order = ["loan_id"] if one_day is not None else ["as_of", "loan_id"]  # one day: the same order
    # many days: the loans in order, so the pairs come in (loan_id, as_of) order and a stable sort by day alone puts
    # them in (as_of, loan_id) order (the 30k-loan sample's 200,580 pairs 16-17 ms against 28-29 ms sorted by both)
    loans = t["loans"] if one_day is not None else t["loans"].sort("loan_id")
    walked = _walked(t, ledger)
    # read by every family; the kernels' in loan order, with each pair's loan number
    pairs = walked.active_at(as_of_dates) if walked is not None else _active_at(loans, ledger, as_of_dates).collect()
    if only_theirs:  # every family reads the payments of its pairs' loans alone: a small book's open loans hold
        # 42,428 of the default book's 258,616 repayments (loan_snapshots 84 ms against 95)
        theirs = t["repayments"].join(pairs.lazy().select("loan_id"), on="loan_id", how="semi", maintain_order="left")
        payments = daily_payments_frame(theirs).lazy()
    stacked = pairs.height <= STACKED_SNAPSHOTS
    if walked is not None and not walks.payments_walkable(payments.collect()):
        walked = None  # the pairs stand: the kernels' are the polars code's, in (as_of, loan_id) order
    # the labels' group-bys are slower in memory, even on few pairs: a small book's last five month ends (43,904
    # snapshots) 0.64-0.66 s against 0.61-0.62 s; without, 0.23 s against 0.28 s
    engine = io.engine_for(pairs.height) if not with_labels else "auto"
    if not stacked:  # one streaming plan, by the polars code
        walked = None
    if stacked and walked is None:  # the families are stacked in the pairs' order (the kernels' pairs come in it);
        # one streaming plan sorts its frame at the end
        pairs = pairs.sort("loan_id") if one_day is not None else pairs.sort("as_of", maintain_order=True)
    base, families, keys = _loan_families(
        t,
        pairs.lazy(),
        params,
        ledger=ledger,
        payments=payments,
        open_on=one_day,
        collect_repayment=stacked,
        engine=engine,
        walked=walked,
    )
    if with_labels:
        reageing = reageing_windows(t["agreements"]) if "agreements" in t else None
        families.append(
            labels.loan_labels(
                pairs.lazy(),
                ledger,
                params.labels,
                data_as_of=data_as_of,
                reageing=reageing,
                payments=payments,
                grace_days=params.late_grace_days,
            )
        )
        keys.append(["loan_id", "as_of"])
    frame = (
        _stacked(base.collect(engine=engine), families, keys, engine).lazy()
        if stacked
        else _joined(base, families, keys)
    )
    if not with_labels:  # null columns, not a join of nulls
        frame = frame.with_columns(pl.lit(None, dtype=pl.Int8).alias(c) for c in labels.LOAN_LABELS)
    names = ["loan_id", "borrower_id", "application_id", "as_of", "originated_on", "principal", "term_months"]
    feature_cols = [c for c in LOAN_FEATURES if c not in names]
    snapshots = _with_derived(frame).select(*names, *feature_cols, *labels.LOAN_LABELS).pipe(_categoricals)
    return snapshots.collect(engine="in-memory").lazy() if stacked else snapshots.sort(order)


def _walked(t: Mapping[str, pl.LazyFrame], ledger: pl.LazyFrame) -> walks.LoanRows | None:
    """The loans numbered for the C kernels, where they are compiled (:func:`risk.native.kernels`) and read the ledger
    and the actions as the polars code does (:func:`risk.features.walks.walkable`; the payments are asked apart)."""
    from risk.native import kernels

    lib = kernels()
    if lib is None:
        return None
    ledger_rows = ledger.collect()
    if not walks.walkable(ledger_rows, t["collection_actions"].select("action_at", "action").collect()):
        return None
    return walks.LoanRows.of(lib, t["loans"].select("loan_id", *LOAN_TERMS, "borrower_id").collect(), ledger_rows)


def application_snapshots(
    tables: Mapping[str, pl.DataFrame | pl.LazyFrame],
    params: FeatureParams,
    *,
    data_as_of: dt.date,
    with_labels: bool = True,
    ledger: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """Features of every application at its application day, and ``default_12m`` for booked loans; with an
    ``attributes`` table, each declared source attribute after the catalogue's features."""
    t = _lazy(tables)
    loans, applications = t["loans"], t["applications"]
    ledger, _ = _ledger_and_payments(tables, ledger, None)
    # a loan is booked the day its application is approved, so the borrower's other loans are those
    # originated up to the day before the application
    apps = _numbered(
        applications.select(
            "application_id",
            "borrower_id",
            "decision",
            "loan_id",
            as_of=pl.col("applied_at").dt.date() - pl.duration(days=1),
            applied_on=pl.col("applied_at").dt.date(),
        )
    )
    # no loan of its own yet: every loan of the borrower is another
    borrower = _borrower_state(apps.with_columns(loan_id=pl.lit(None, dtype=pl.String)), loans, ledger)
    if with_labels:
        lab = labels.default_labels(loans, ledger, params.labels, data_as_of=data_as_of)
    else:
        lab = loans.select("loan_id", pl.lit(None, dtype=pl.Int8).alias("default_12m"))
    frame = (
        apps.join(application_features(applications).drop("borrower_id"), on="application_id")
        .join(borrower, on="pair", how="left")
        .pipe(_fill_borrower)
        .join(loans.select("loan_id", "originated_on"), on="loan_id", how="left")
        .join(lab, on="loan_id", how="left")
        .with_columns(as_of=pl.col("applied_on"))
    )
    keys = ["application_id", "borrower_id", "loan_id", "decision", "as_of", "originated_on"]
    extra: list[str] = []
    if "attributes" in t:  # the lender's declared source attributes (risk.attributes), as they were applied with
        extra = [c for c in t["attributes"].collect_schema().names() if c != "application_id"]
        frame = frame.join(t["attributes"], on="application_id", how="left")
    return (
        frame.select(*keys, *APPLICATION_FEATURES, *extra, *labels.APPLICATION_LABELS)
        .pipe(_categoricals)
        .sort("as_of", "application_id")
    )


def build_features(
    tables: Mapping[str, pl.DataFrame | pl.LazyFrame],
    params: FeatureParams,
    *,
    data_as_of: dt.date,
    as_of_dates: Sequence[dt.date] | None = None,
) -> FeatureSet:
    """Both snapshot tables, collected. ``as_of_dates`` defaults to every month end up to ``data_as_of``."""
    if as_of_dates is None:
        first = params.first_as_of or _first_origination(tables)
        as_of_dates = month_ends(first, data_as_of)
    ledger, payments = _ledger_and_payments(tables, None, None)  # one ledger for both tables
    return FeatureSet(
        loan_snapshots=loan_snapshots(
            tables, params, as_of_dates=as_of_dates, data_as_of=data_as_of, ledger=ledger, payments=payments
        ).collect(),
        application_snapshots=application_snapshots(tables, params, data_as_of=data_as_of, ledger=ledger).collect(),
    )


def _first_origination(tables: Mapping[str, pl.DataFrame | pl.LazyFrame]) -> dt.date:
    first = _lazy(tables)["loans"].select(pl.col("originated_on").min()).collect().item()
    if first is None:
        msg = "no loans, so there is no month end to snapshot"
        raise RiskDataError(msg, table="loans", rule="has_loans")
    return first
