"""Days past due from the schedule and the repayments: the instalment ledger every stage shares.

Payments are allocated waterfall-style to the oldest unpaid instalment first (whatever a payment's
``instalment_no`` says); an instalment counts as paid once its unpaid amount is under
``PAID_TOLERANCE`` RMB. Days past due (逾期天数) at the end of day ``t`` is ``t`` minus the due date of
the oldest instalment not yet paid, 0 when none is overdue.

The ledger records, for every instalment, the day it became paid (``paid_on``, null if never). That
day depends only on payments up to it, so comparing it with an ``as_of`` is point-in-time safe: a
record dated after ``as_of`` can move ``paid_on`` only between dates after ``as_of``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl

PAID_TOLERANCE = 1.0  # RMB
FAR_FUTURE = pl.date(9999, 12, 31)
BEFORE_ANY_DAY = pl.date(1900, 1, 1)  # before any day validation lets in (validate.first_day, 2000-01-01 unless set)


def running_sum_within(value: pl.Expr | str, group: str) -> pl.Expr:
    """``value``'s running sum within each run of equal ``group`` in the frame's order: with the frame sorted by
    ``group`` (each group's rows together, as every caller sorts them first), ``value.cum_sum().over(group)`` to the
    bit, without the window's grouping. The values are summed as Float64 (the ledger's money); a group whose rows
    were apart would be summed as two runs, without an error. A loan's instalments and payment days are each summed
    left to right, as polars sums them (:func:`_segmented_cum_sum`): 12.7M rows in 1.5M runs took 0.36-0.59 s against
    1.0-1.1 s for the window on the in-memory engine."""
    value = pl.col(value) if isinstance(value, str) else value
    return pl.struct(pl.col(group).alias("group"), value.cast(pl.Float64).alias("value")).map_batches(
        _running_sum_within, return_dtype=pl.Float64
    )


def _running_sum_within(rows: pl.Series) -> pl.Series:
    group, value = rows.struct.field("group"), rows.struct.field("value")
    first_of_run = group.ne_missing(group.shift(1)).to_numpy(writable=True)  # consecutive nulls: one run
    first_of_run[:1] = True
    sums = pl.Series(value.name, _segmented_cum_sum(value.fill_null(0.0).to_numpy(), first_of_run))
    return sums.scatter(value.is_null().arg_true(), None) if value.null_count() else sums


def _segmented_cum_sum(values: np.ndarray, first_of_run: np.ndarray) -> np.ndarray:
    """Running sums restarting where ``first_of_run``: the runs of one length at a time, as the rows of a matrix
    summed by ``np.cumsum`` along them, which adds left to right (an accumulation, never pairwise), so each sum adds
    the same two floats in the same order as a sequential scan. A book's loans have a few terms and payment counts,
    so a few matrices: 12.7M instalments in 1.5M runs of 5 lengths took 0.32 s, against 0.53 s stepping position by
    position across all runs. Holds one matrix of row positions at a time, no larger than the values."""
    sums = np.array(values, dtype=np.float64, copy=True)
    if len(values) == 0:
        return sums
    starts = np.flatnonzero(first_of_run)
    lengths = np.diff(np.append(starts, len(values)))
    by_length = np.argsort(lengths, kind="stable")
    starts, lengths = starts[by_length], lengths[by_length]
    edges = np.flatnonzero(np.diff(lengths)) + 1
    for lo, hi in zip(np.append(0, edges), np.append(edges, len(lengths)), strict=True):
        if lengths[lo] > 1:
            rows = starts[lo:hi, None] + np.arange(lengths[lo])
            sums[rows] = np.cumsum(sums[rows], axis=1)
    return sums


def daily_payments(repayments: pl.LazyFrame) -> pl.LazyFrame:
    """Payments summed per loan and day (to the fen), with the running total paid (``cum_paid``)."""
    # sorted first, then grouped in that order: 0.8-1.0 s against 1.3-1.6 s for hashing 5.7M repayments and sorting
    # the groups after. A day's sum is rounded to the fen: the engines add a day's payments in different orders
    # (132.12 + 159.65 + 94.96 is 386.72999999999996 one way, 386.73 another), and a sum compared with what is due
    # must not depend on which engine ran
    return (
        repayments.select("loan_id", pl.col("paid_at").dt.date().alias("paid_on"), "amount")
        .sort("loan_id", "paid_on", maintain_order=True)
        .group_by("loan_id", "paid_on", maintain_order=True)
        .agg(pl.col("amount").sum().round(2), pl.len().alias("payments"))
        .with_columns(cum_paid=running_sum_within("amount", "loan_id"))
    )


_DAY_BITS = 22  # days since 1970 plus 2**21 fit 22 bits (years -3771 to 7711; validate keeps dates in 2000-as_of+10y)


def loan_day_key(number: pl.Expr, day: pl.Expr) -> pl.Expr:
    """One sortable Int64 for (loan number, day): an as-of lookup within each loan becomes a single merge on it,
    where one ``by`` the loan hashes every row (a loan's matched number must then be checked: a row before a loan's
    first match finds the loan before it)."""
    return number.cast(pl.Int64) * (1 << _DAY_BITS) + day.cast(pl.Int32).cast(pl.Int64) + (1 << (_DAY_BITS - 1))


def interest_floor_of(schedule: pl.DataFrame) -> float:
    """The least any loan's interest due by a day can be: the sum of all the schedule's negative interest, 0 unless
    validation's minimum was downgraded (a NaN, if its finite rule was, counts as none)."""
    return schedule["interest_due"].fill_nan(None).clip(upper_bound=0.0).sum()


def closed_on(
    instalments: pl.LazyFrame, paid: pl.LazyFrame, *, due_in_order: bool = False, interest_floor: float | None = None
) -> pl.LazyFrame:
    """The day each loan (by its number ``k``) was settled: all principal plus the interest already due were paid.

    ``instalments`` and ``paid`` as :func:`ledger_of_payments` numbers them (sorted by loan), ``paid`` with the loan's
    ``principal``. Covers both the last regular instalment and an early repayment (提前还款), which waives future
    interest. Loans never settled are absent; so is a loan missing from ``loans`` (no principal to settle).
    ``due_in_order``: the caller has checked that each loan's due days never fall (:func:`in_loan_order`), so the
    instalments are in (loan, due day) order already and are not sorted again (12.7M instalments: 0.16-0.24 s).
    ``interest_floor``: the least a loan's interest due by a day can be (:func:`interest_floor_of`), when the caller
    knows it: only the days whose total paid could then settle the loan are looked up.
    """
    c = pl.col
    # the interest due by each day: the instalments in (loan, due day) order, instalment order within a day (the
    # backward lookup takes a day's last row, whose running total holds all of it). An instalment without a due day
    # (only if validation's not_null was downgraded) is due from the start, first in its loan as a sort puts a null
    due_day = c("due_date").fill_null(BEFORE_ANY_DAY)
    keyed = instalments.select(key=loan_day_key(c("k"), due_day), interest_k="k", interest_due="interest_due")
    interest = (
        keyed.with_columns(c("key").set_sorted()) if due_in_order else keyed.sort("key", maintain_order=True)
    ).select("key", "interest_k", cum_interest_due=running_sum_within("interest_due", "interest_k"))
    interest_due = pl.when(c("interest_k") == c("k")).then("cum_interest_due").fill_null(0.0)
    # a day without a date never settles a loan (and would break the lookup's order on the streaming engine)
    could_settle = paid.filter(c("paid_on").is_not_null())
    if interest_floor is not None:
        # at 1.5M loans 1.3M of 9.1M payment days kept. One more tolerance of slack: the floor was summed in another
        # order than a loan's running sum, so the two can be an ulp apart
        could_settle = could_settle.filter(c("cum_paid") >= c("principal") + interest_floor - 2 * PAID_TOLERANCE)
    return (
        could_settle.with_columns(key=loan_day_key(c("k"), c("paid_on")))
        .join_asof(interest, on="key", strategy="backward", check_sortedness=False)
        .filter(c("cum_paid") >= c("principal") + interest_due - PAID_TOLERANCE)
        .group_by("k")
        .agg(c("paid_on").min().alias("closed_on"))
    )


def instalment_ledger(loans: pl.LazyFrame, schedule: pl.LazyFrame, repayments: pl.LazyFrame) -> pl.LazyFrame:
    """One row per instalment: amounts due, running totals and the day it became paid.

    Columns: loan_id, instalment_no, due_date, amount_due, principal_due, cum_due, paid_on (null when
    never paid), closed_on (the loan's settlement day, null when open).
    """
    return ledger_of_payments(loans, schedule, daily_payments(repayments))


LEDGER_COLUMNS = [  # the instalment ledger's, in order, however it is built
    "loan_id",
    "instalment_no",
    "due_date",
    "amount_due",
    "principal_due",
    "cum_due",
    "paid_on",
    "closed_on",
]


def ledger_of_payments(
    loans: pl.LazyFrame,
    schedule: pl.LazyFrame,
    payments: pl.LazyFrame,
    *,
    schedule_in_order: bool = False,
    due_in_order: bool = False,
    interest_floor: float | None = None,
) -> pl.LazyFrame:
    """:func:`instalment_ledger` from the loans' :func:`daily_payments`.

    Each loan with instalments is numbered (``k``, in loan order) and the lookups within a loan match on that
    integer, not the loan's text: at 1.5M loans the ledger took 3.7-3.9 s against 4.9-5.3 s by ``loan_id``, the same
    frame. A payment of a loan without instalments pays none. ``schedule_in_order``: the caller has checked that the
    schedule lies in (loan, instalment) order (:func:`in_loan_order`), so it is not sorted again (12.7M instalments:
    0.26 s); ``due_in_order``, that in this order each loan's due days never fall too, and ``interest_floor``, what
    the schedule's interest can lower a settlement by (both for :func:`closed_on`).
    """
    c = pl.col
    columns = schedule.select("loan_id", "instalment_no", "due_date", "principal_due", "interest_due")
    instalments = (
        (columns if schedule_in_order else columns.sort("loan_id", "instalment_no"))
        .with_columns(amount_due=c("principal_due") + c("interest_due"), k=c("loan_id").rle_id())
        # the as-of join's key is never null: a null amount (only if validation's not_null was downgraded) would
        # break the join's order within its loan; that instalment gets no running total and no paid day, as before
        .with_columns(running=running_sum_within(c("amount_due").fill_null(0.0), "k"))
        .with_columns(
            cum_due=pl.when(c("amount_due").is_not_null()).then("running"), target=c("running") - PAID_TOLERANCE
        )
        .cache()
    )
    # each loan's number and principal (null for a loan missing from ``loans``), taken by its payment days in the one
    # join that numbers them: at 1.5M loans, joining the principal to the 9.1M payment days apart took 0.34 s
    numbers = (
        instalments.select("loan_id", "k")
        .filter(c("k") != c("k").shift(1).fill_null(-1))
        .join(loans.select("loan_id", "principal"), on="loan_id", how="left", maintain_order="left")
    )
    # in the payments' own order (loan, day): the numbers rise with the loan, so the rows are sorted by number too.
    # Each run of one loan's payment days is numbered by that loan's text once, and its days take the run's number by
    # an integer join: 9.1M payment days in 1.4M runs, 0.27-0.30 s against 0.39-0.44 s joined by text
    runs = payments.select("loan_id", "paid_on", "cum_paid").with_columns(run=c("loan_id").rle_id()).cache()
    run_numbers = (
        runs.filter(c("run") != c("run").shift(1).fill_null(-1))
        .select("run", "loan_id")
        .join(numbers, on="loan_id", maintain_order="left")
        .drop("loan_id")
    )
    paid = runs.join(run_numbers, on="run", maintain_order="left").drop("loan_id", "run").cache()
    # within a loan the targets rise with the instalment number and the amount paid with the day (amounts are
    # never negative), so the first day the running total covers an instalment is a forward as-of join on rows
    # sorted by loan alone; it keeps the ledger's (loan_id, instalment_no) order, so nothing is sorted again
    return (
        instalments.join_asof(
            paid.select("k", "paid_on", "cum_paid"),  # ties: the earliest day comes first
            left_on="target",
            right_on="cum_paid",
            by="k",
            strategy="forward",
            check_sortedness=False,
        )
        .with_columns(paid_on=pl.when(c("cum_due").is_not_null()).then("paid_on"))
        .join(
            closed_on(instalments, paid, due_in_order=due_in_order, interest_floor=interest_floor),
            on="k",
            how="left",
            maintain_order="left",
        )
        .with_columns(
            # once the loan is settled, every instalment still open counts as paid that day
            paid_on=pl.min_horizontal(c("paid_on").fill_null(FAR_FUTURE), c("closed_on").fill_null(FAR_FUTURE))
        )
        .with_columns(paid_on=pl.when(c("paid_on") == FAR_FUTURE).then(None).otherwise("paid_on"))
        .select(LEDGER_COLUMNS)
    )


def ledger_frame(
    tables: Mapping[str, pl.DataFrame | pl.LazyFrame], *, payments: pl.DataFrame | pl.LazyFrame | None = None
) -> pl.DataFrame:
    """:func:`instalment_ledger` of ``tables``' loans, schedule and repayments: the daily payments streamed, the rest
    collected on polars' in-memory engine. The ledger's sorts, running sums and as-of joins ran faster in memory on a
    1.5M-loan book (6.4-7.6 s against 10.3-11.8 s in alternating processes, measured when the running sums were
    polars windows), to the same frame (a day's payments are summed to the fen, :func:`daily_payments`), for a higher
    peak while it is built (5.4-5.5 GiB against 3.8-3.9 GiB with the tables loaded, measured before the payments
    were streamed). ``payments``: the repayments' :func:`daily_payments`, when the caller has made them already, in
    its (loan, day) order (the lookups read them in it). A schedule collected in (loan, instalment) order is not
    sorted again: with the principal taken in the numbering join too, 2.7-2.9 s against 3.2-3.4 s at 1.5M loans, the
    same frame. Where the C kernels are compiled (:func:`risk.native.kernels`), a schedule without nulls whose due days
    never fall within a loan is walked loan by loan instead, to the same frame (tests/features/test_walks.py): the
    30k-loan sample's 244,191 instalments 24 ms against 43 ms."""
    loans, schedule = tables["loans"].lazy(), tables["schedule"]
    if payments is None:
        payments = daily_payments_frame(tables["repayments"])
    from risk.native import kernels

    lib = kernels()
    if lib is not None:  # the C kernel's ledger, where it applies (risk.features.walks.ledger): the same frame
        from risk.features import walks

        frame = schedule if isinstance(schedule, pl.DataFrame) else schedule.collect()
        payments = payments.lazy().collect()  # read by the polars code too, should the kernel not apply
        built = walks.ledger(lib, loans.select("loan_id", "principal").collect(), frame, payments)
        if built is not None:
            return built
        schedule = frame
    collected = isinstance(schedule, pl.DataFrame)
    in_order = collected and in_loan_order(schedule, "instalment_no")
    return ledger_of_payments(
        loans,
        schedule.lazy(),
        payments.lazy(),
        schedule_in_order=in_order,
        due_in_order=in_order and in_loan_order(schedule, "due_date"),
        interest_floor=interest_floor_of(schedule) if collected else None,
    ).collect(engine="in-memory")


def in_loan_order(frame: pl.DataFrame, within: str) -> bool:
    """Whether ``frame`` lies as a stable sort by (loan_id, ``within``) leaves it: the loans sorted (``is_sorted``,
    which believes a flag :func:`risk.io.flag_sorted` set), ``within`` never falling inside a loan, and no null in
    either (a null is taken as out of order, so the caller sorts: a sort puts nulls first)."""
    loan, step = pl.col("loan_id"), pl.col(within)
    falls = (loan == loan.shift(1)) & (step < step.shift(1))
    nulls = loan.is_null().any() | step.is_null().any()
    return frame.select(~nulls & loan.is_sorted() & ~falls.any()).item()


def daily_payments_frame(repayments: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """:func:`daily_payments`, collected: the repayments put in (loan, day) order, stably, only when they are not in it
    already (exports usually are), then each run of one loan's day summed as it lies rather than hashed by (loan, day).
    9.1M repayments: 0.78-0.80 s against 1.05-1.11 s for the hashed grouping on the streaming engine (itself 3x
    faster than in memory), to the same frame (a day's sum is rounded to the fen: the order of its payments is moot)."""
    c = pl.col
    rows = repayments.lazy().select("loan_id", c("paid_at").dt.date().alias("paid_on"), "amount").collect()
    if not in_loan_order(rows, "paid_on"):
        rows = rows.lazy().sort("loan_id", "paid_on", maintain_order=True).collect(engine="streaming")
    return (
        rows.lazy()
        .with_columns(day=pl.struct("loan_id", "paid_on").rle_id().set_sorted())
        .group_by("day", maintain_order=True)
        .agg(c("loan_id").first(), c("paid_on").first(), c("amount").sum().round(2), pl.len().alias("payments"))
        .drop("day")
        .with_columns(cum_paid=running_sum_within("amount", "loan_id"))
        .collect(engine="in-memory")
    )


def paid_by(as_of: pl.Expr) -> pl.Expr:
    """True when the ledger row's instalment was paid by the end of day ``as_of``."""
    return pl.col("paid_on").is_not_null() & (pl.col("paid_on") <= as_of)


def days_past_due_expr(as_of: pl.Expr) -> pl.Expr:
    """Per ledger row: how many days this instalment is overdue at the end of ``as_of`` (0 if not)."""
    overdue = (pl.col("due_date") < as_of) & ~paid_by(as_of)
    return pl.when(overdue).then((as_of - pl.col("due_date")).dt.total_days()).otherwise(0)


def days_past_due_at(ledger: pl.LazyFrame, pairs: pl.LazyFrame) -> pl.LazyFrame:
    """Days past due for each (loan_id, as_of) pair in ``pairs``."""
    return (
        pairs.select("loan_id", "as_of")
        .join(ledger.select("loan_id", "due_date", "paid_on"), on="loan_id", how="left")
        .group_by("loan_id", "as_of")
        .agg(days_past_due_expr(pl.col("as_of")).max().fill_null(0).alias("days_past_due"))
    )


# --- re-ageing (重新账龄): a kept instalment plan or extension moves the due dates --------------------------
REAGEING_KINDS = ("instalment_plan", "extension")


def reageing_windows(agreements: pl.LazyFrame) -> pl.LazyFrame:
    """The plans and extensions that re-age a loan, from the day signed to the day the record says they
    ended (kept, completed or broken: ``status_on``); still open while active.

    An interest relief or a settlement sets no new due date in the agreement's terms, so it re-ages nothing.
    Point-in-time: whether a window is open at a date depends only on records dated by then.
    """
    c = pl.col
    return agreements.filter(c("kind").is_in(REAGEING_KINDS)).select(
        "loan_id",
        "agreement_id",
        "kind",
        signed_on=c("signed_at").dt.date(),
        ends_on=pl.when(c("status") != "active").then(c("status_on")),
        extension_days=c("extension_days"),
        plan_instalments=c("plan_instalments"),
        plan_first_due=c("plan_first_due"),
        plan_instalment_amount=c("plan_instalment_amount"),
    )


def reaged_days_past_due(
    ledger: pl.LazyFrame, payments: pl.LazyFrame, windows: pl.LazyFrame, pairs: pl.LazyFrame, *, grace_days: int
) -> pl.LazyFrame:
    """Days past due under the agreed schedule for each (loan_id, as_of) pair a plan or extension re-ages.

    The agreement in force at as_of is the latest one signed by then whose window is still open. Under a
    plan, the plan's monthly instalments replace the contract's: payments since signing go to them in order,
    and days past due count from the first one unpaid. Under an extension, the instalments overdue at
    signing fall due ``extension_days`` after signing; the rest keep their dates. An agreed payment more than
    ``grace_days`` late breaks the agreement on that first miss, whatever the record says yet: the loan is
    back on the contract. Pairs under no agreement in force are absent (the contract's days past due stand).
    """
    c = pl.col
    a = c("as_of")
    in_force = (
        pairs.select("loan_id", "as_of")
        .join(windows, on="loan_id")
        .filter(c("signed_on") <= a, c("ends_on").is_null() | (c("ends_on") > a))
        .sort("signed_on", "agreement_id")
        .group_by("loan_id", "as_of")
        .last()
    )
    plans = in_force.filter(c("kind") == "instalment_plan")
    paid_since = (
        plans.select("loan_id", "as_of", "signed_on")
        .join(payments.select("loan_id", "paid_on", "amount"), on="loan_id")
        .filter(c("paid_on") >= c("signed_on"), c("paid_on") <= a)
        .group_by("loan_id", "as_of")
        .agg(paid_since=c("amount").sum())
    )
    plan_late = (
        plans.join(paid_since, on=["loan_id", "as_of"], how="left")
        .with_columns(k=pl.int_ranges(1, c("plan_instalments").fill_null(0) + 1))
        .explode("k")
        .filter(c("k").is_not_null())
        .with_columns(
            agreed_due=c("plan_first_due").dt.offset_by(pl.format("{}mo", c("k") - 1)),
            agreed_to_date=c("k") * c("plan_instalment_amount"),
        )
        .filter(c("agreed_due") < a, c("paid_since").fill_null(0.0) < c("agreed_to_date") - PAID_TOLERANCE)
        .group_by("loan_id", "as_of")
        .agg(days_past_due=(a - c("agreed_due")).dt.total_days().max())
    )
    # the first miss, remembered: an agreed instalment not covered by what was paid since signing by its date
    # plus grace, that day having passed; a later catch-up does not revive the plan
    missed = (
        plans.with_columns(k=pl.int_ranges(1, c("plan_instalments").fill_null(0) + 1))
        .explode("k")
        .filter(c("k").is_not_null())
        .with_columns(
            deadline=c("plan_first_due").dt.offset_by(pl.format("{}mo", c("k") - 1)) + pl.duration(days=grace_days),
            agreed_to_date=c("k") * c("plan_instalment_amount"),
        )
        .filter(c("deadline") < a)
        .join(payments.select("loan_id", "paid_on", "amount"), on="loan_id", how="left")
        .with_columns(
            counted=pl.when((c("paid_on") >= c("signed_on")) & (c("paid_on") <= c("deadline")))
            .then(c("amount"))
            .otherwise(0.0)
        )
        .group_by("loan_id", "as_of", "k", "agreed_to_date")
        .agg(paid_by_deadline=c("counted").sum())
        .filter(c("paid_by_deadline") < c("agreed_to_date") - PAID_TOLERANCE)
        .select("loan_id", "as_of")
        .unique()
    )
    plan_dpd = (
        plans.select("loan_id", "as_of")
        .join(missed, on=["loan_id", "as_of"], how="anti")
        .join(plan_late, on=["loan_id", "as_of"], how="left")
        .with_columns(c("days_past_due").fill_null(0))
    )
    extensions = in_force.filter(c("kind") == "extension")
    deferred = (pl.col("due_date") < c("signed_on")) & ~paid_by(c("signed_on"))
    extension_dpd = (
        extensions.select("loan_id", "as_of", "signed_on", "extension_days")
        .join(ledger.select("loan_id", "due_date", "paid_on"), on="loan_id")
        .with_columns(deferred=deferred)
        .with_columns(
            due_date=pl.when(c("deferred"))
            .then(c("signed_on") + pl.duration(days=c("extension_days")))
            .otherwise(c("due_date"))
        )
        .group_by("loan_id", "as_of")
        .agg(
            days_past_due=days_past_due_expr(a).max(),
            # the deferred arrears unpaid on their new date plus grace, that day having passed: the extension
            # broke then, and paying later does not revive it
            broken=(
                c("deferred")
                & (c("due_date") + pl.duration(days=grace_days) < a)
                & (c("paid_on").is_null() | (c("paid_on") > c("due_date") + pl.duration(days=grace_days)))
            ).any(),
        )
        .filter(~c("broken"))
        .drop("broken")
    )
    return pl.concat([plan_dpd, extension_dpd], how="diagonal_relaxed").select(
        "loan_id", "as_of", c("days_past_due").cast(pl.Int64)
    )
