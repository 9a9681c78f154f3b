"""The loan features of collected pairs by the C kernels of :mod:`risk.native`: each pair's loan's own rows walked once,
where the polars code sorts, joins and groups every family apart; and the instalment ledger, walked loan by loan.

:class:`LoanRows` numbers the loans by ``loan_id`` and groups the ledger's rows by loan number once, and gives the
pairs (:meth:`LoanRows.active_at`); each family function gives the columns its polars counterpart in
:mod:`risk.features.build` gives, with the same types and values (tests/features/test_walks.py), row for row with the
pairs: the repayment features' raw sums (the caller rounds them, as the polars code does), the collections history
and the borrower's other loans.
"""

from __future__ import annotations

import ctypes
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

NO_DAY = int(np.iinfo(np.int32).min)  # a null day, as walk.c reads it


def _pointer(array: np.ndarray) -> ctypes.c_void_p:
    return ctypes.c_void_p(array.ctypes.data)


def _days(column: pl.Series) -> np.ndarray:
    """A date column as walk.c's day numbers, a null as :data:`NO_DAY`."""
    return np.ascontiguousarray(column.cast(pl.Int32).fill_null(NO_DAY).to_numpy(), dtype=np.int32)


def _date(name: str) -> pl.Expr:
    """Column ``name`` of walk.c's day numbers as dates, :data:`NO_DAY` as null."""
    return pl.when(pl.col(name) != NO_DAY).then(pl.col(name)).cast(pl.Date).alias(name)


def _array(column: pl.Series, dtype: type) -> np.ndarray:
    return np.ascontiguousarray(column.to_numpy(), dtype=dtype)


_capsule = ctypes.pythonapi.PyCapsule_GetPointer
_capsule.restype, _capsule.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]


def _stream(column: pl.Series) -> tuple[object, ctypes.c_void_p]:
    """An Arrow C stream of ``column`` (polars' own, no pyarrow), and its address; keep the first while the second
    is read."""
    capsule = column.__arrow_c_stream__()
    return capsule, ctypes.c_void_p(_capsule(capsule, b"arrow_array_stream"))


def numbers(lib: ctypes.CDLL, ids: pl.Series, column: pl.Series) -> np.ndarray:
    """Each row's number: the position of its value among ``ids`` (strings, sorted, distinct, none null), -1 for one
    not among them or null. walk.c's merge reads the strings where polars holds them, where a join hashed every row:
    a column in id order is a comparison or two a row (the 30k-loan sample's 244,191 instalments 4.2-5.4 ms against
    7.6-9.0 ms joined)."""
    ids, column = ids.cast(pl.String).rechunk(), column.cast(pl.String).rechunk()
    out = np.empty(column.len(), np.int32)
    (id_capsule, id_stream), (capsule, stream) = _stream(ids), _stream(column)
    read = lib.number_rows(id_stream, ctypes.c_int64(ids.len()), stream, ctypes.c_int64(column.len()), _pointer(out))
    del id_capsule, capsule  # the streams, released
    if read != 0:  # a layout the merge does not read: joined
        index = pl.DataFrame({"loan_id": ids}).with_row_index("k")
        found = pl.DataFrame({"loan_id": column}).join(index, on="loan_id", how="left", maintain_order="left")
        return _array(found["k"].cast(pl.Int32).fill_null(-1), np.int32)
    return out


def _clean(frame: pl.DataFrame, columns: Sequence[str]) -> bool:
    """No null among ``columns`` and no NaN or infinity among those of floats."""
    checks = [pl.col(c).is_null().any() for c in columns]
    checks += [~pl.col(c).is_finite().all() for c in columns if frame.schema[c].is_float()]
    return not frame.select(pl.any_horizontal(checks)).item()


def walkable(ledger: pl.DataFrame, actions: pl.DataFrame) -> bool:
    """Whether the kernels read the ledger and the actions as the polars code does: no null or non-finite value where
    a row's day, amount or kind is read (only where a downgraded validation let one through; the polars code answers
    then). The daily payments: :func:`payments_walkable`."""
    return _clean(ledger, ["instalment_no", "due_date", "amount_due", "principal_due"]) and _clean(
        actions, ["action_at", "action"]
    )


def payments_walkable(payments: pl.DataFrame) -> bool:
    """:func:`walkable` for the daily payments."""
    return _clean(payments, ["paid_on", "amount", "cum_paid"])


@dataclass
class Grouped:
    """A table's rows grouped by loan number: the rows of loan ``k`` are ``rows[start[k]:start[k + 1]]``, in the
    table's order."""

    start: np.ndarray
    rows: np.ndarray

    @classmethod
    def of(cls, lib: ctypes.CDLL, numbers: np.ndarray, keys: int) -> Grouped:
        start = np.empty(keys + 1, dtype=np.int64)
        rows = np.empty(len(numbers), dtype=np.int64)
        if (
            lib.group_rows(
                ctypes.c_int64(len(numbers)), _pointer(numbers), ctypes.c_int32(keys), _pointer(start), _pointer(rows)
            )
            != 0
        ):
            raise MemoryError("grouping rows by loan")
        return cls(start, rows[: start[-1]])


@dataclass
class LoanRows:
    """The loans numbered by ``loan_id`` (its position in sorted order), the days each was originated and settled,
    and the ledger's rows grouped by loan: built once and read by every family."""

    lib: ctypes.CDLL
    loans: pl.DataFrame = field(repr=False)  # sorted by loan_id: row k is loan k
    ledger: pl.DataFrame = field(repr=False)
    grouped_ledger: Grouped
    due: np.ndarray
    paid: np.ndarray
    originated_on: np.ndarray
    closed_on: np.ndarray  # the settlement day on the loan's ledger rows; NO_DAY when none (or no rows)

    @classmethod
    def of(cls, lib: ctypes.CDLL, loans: pl.DataFrame, ledger: pl.DataFrame) -> LoanRows | None:
        """``loans`` (loan_id, originated_on and any other columns, one row a loan) and the instalment ledger; None
        where a loan_id is null or repeated (the polars code then answers as it always has)."""
        loans = loans if loans["loan_id"].is_sorted() else loans.sort("loan_id")
        ids = loans["loan_id"]
        if ids.null_count() or (ids == ids.shift(1)).any():
            return None
        grouped = Grouped.of(lib, numbers(lib, ids, ledger["loan_id"]), ids.len())
        start, order = grouped.start, grouped.rows
        has = start[1:] > start[:-1]  # a loan's settlement day is on each of its ledger rows
        closed_on = np.full(len(has), NO_DAY, np.int32)
        closed_on[has] = _days(ledger["closed_on"])[order[start[:-1][has]]]
        due, paid = _days(ledger["due_date"]), _days(ledger["paid_on"])
        return cls(lib, loans, ledger, grouped, due, paid, _days(loans["originated_on"]), closed_on)

    @property
    def ids(self) -> pl.Series:
        return self.loans["loan_id"]

    def group(self, column: pl.Series) -> Grouped:
        """The rows of a table's ``loan_id`` ``column`` grouped by loan number."""
        return Grouped.of(self.lib, numbers(self.lib, self.ids, column), self.ids.len())

    def active_at(self, as_of_dates: Sequence[dt.date]) -> pl.DataFrame:
        """:func:`risk.features.build._active_at`'s pairs (loan_id, borrower_id, as_of), with each pair's loan number
        ``k``, in (as_of, loan_id) order: the order the snapshots are stacked in, so they are never sorted."""
        days = pl.DataFrame({"as_of": list(as_of_dates)}, schema={"as_of": pl.Date})["as_of"].unique().sort()
        day_numbers = _days(days)
        args = (
            ctypes.c_int32(self.loans.height), _pointer(self.originated_on), _pointer(self.closed_on),
            ctypes.c_int64(len(day_numbers)), _pointer(day_numbers),
        )  # fmt: skip
        n = self.lib.active_pairs(*args, None, None)
        loan, day = np.empty(max(n, 0), np.int32), np.empty(max(n, 0), np.int32)
        if n < 0 or self.lib.active_pairs(*args, _pointer(loan), _pointer(day)) < 0:
            raise MemoryError("the active loans' pairs by day")
        mine = self.loans.select("loan_id", "borrower_id")[loan]
        return mine.with_columns(as_of=pl.Series(day).cast(pl.Date), k=pl.Series(loan))


@dataclass
class Asked:
    """Collected pairs (pair, loan_id, borrower_id, as_of) as the kernels read them: each pair's loan number and
    as_of day, numbered once for every family."""

    frame: pl.DataFrame
    loan: np.ndarray
    day: np.ndarray

    @classmethod
    def of(cls, pairs: pl.DataFrame) -> Asked:
        """Pairs from :meth:`LoanRows.active_at`, with their loan numbers ``k``."""
        # a datetime as_of counts as its day, as the polars families count it
        return cls(pairs, _array(pairs["k"], np.int32), _days(pairs["as_of"].cast(pl.Date)))


def repayment(rows: LoanRows, asked: Asked, payments: pl.DataFrame, *, grace_days: int) -> pl.DataFrame:
    """The raw repayment columns of the ``asked`` pairs that :func:`risk.features.build._repayment_finished` finishes,
    row for row; a pair whose loan has no instalment has a ``term`` of 0 (the polars lookups give it no row)."""
    lib, ledger, pairs = rows.lib, rows.ledger, asked.frame
    n, pk, pa = pairs.height, asked.loan, asked.day
    paid = rows.group(payments["loan_id"])
    out = {
        "term": np.empty(n, np.uint32),
        "principal_total": np.empty(n, np.float64),
        "instalment_amount": np.empty(n, np.float64),
        "due_count": np.empty(n, np.uint32),
        "due_total": np.empty(n, np.float64),
        "due_before_90d": np.empty(n, np.float64),
        "principal_paid": np.empty(n, np.float64),
        "paid_total": np.empty(n, np.float64),
        "paid_before_90d": np.empty(n, np.float64),
        "last_paid_on": np.empty(n, np.int32),
        "partial_payments": np.empty(n, np.int64),
        "days_past_due": np.empty(n, np.int64),
        "max_dpd_3m": np.empty(n, np.int64),
        "max_dpd_6m": np.empty(n, np.int64),
        "max_dpd_12m": np.empty(n, np.int64),
        "late_instalments": np.empty(n, np.uint32),
        "missed_instalments": np.empty(n, np.uint32),
    }
    inputs = [
        _array(ledger["amount_due"], np.float64),
        _array(ledger["principal_due"], np.float64),
        _array(ledger["instalment_no"], np.int32),
        _days(payments["paid_on"]),
        _array(payments["amount"], np.float64),
        _array(payments["cum_paid"], np.float64),
    ]
    amount_due, principal_due, instalment_no, p_day, p_amount, p_cum = inputs
    done = lib.repayment(
        ctypes.c_int64(n), _pointer(pk), _pointer(pa), ctypes.c_int32(grace_days),
        _pointer(rows.grouped_ledger.start), _pointer(rows.grouped_ledger.rows), _pointer(rows.due),
        _pointer(rows.paid), _pointer(amount_due), _pointer(principal_due), _pointer(instalment_no),
        _pointer(paid.start), _pointer(paid.rows), _pointer(p_day), _pointer(p_amount), _pointer(p_cum),
        *(_pointer(column) for column in out.values()), ctypes.c_int32(pl.thread_pool_size()),
    )  # fmt: skip
    if done != 0:
        raise MemoryError("the repayment walk's pairs by loan")
    frame = pl.DataFrame({"pair": pairs["pair"], "loan_id": pairs["loan_id"], "as_of": pairs["as_of"], **out})
    return frame.with_columns(_date("last_paid_on"))


COUNTED = [  # walk.c's eight counts per pair, in its order
    "contacts_7d",
    "contacts_30d",
    "contacts_90d",
    "reached_90d",
    "promises_90d",
    "broken_promises_90d",
    "refusals_90d",
    "unreachable_90d",
]


def collections(rows: LoanRows, asked: Asked, days_past_due: pl.Series, kinds: pl.DataFrame) -> pl.DataFrame:
    """For the ``asked`` pairs, each with its ``days_past_due`` (null: none known): the frame
    :func:`risk.features.build._collections` gives, from the actions' :func:`risk.features.build.action_kinds`, row
    for row: a pair without an action up to its as_of has its counts 0 and no last action, as the snapshots fill the
    polars code's missing row."""
    from risk.features.build import ACTION_KINDS

    pairs, n, pk, pa = asked.frame, asked.frame.height, asked.loan, asked.day
    dpd = _array(days_past_due.fill_null(0).cast(pl.Int64), np.int64)
    grouped = rows.group(kinds["loan_id"])
    bits = kinds.select(
        pl.sum_horizontal(pl.col(k).fill_null(False).cast(pl.UInt8) * (1 << i) for i, k in enumerate(ACTION_KINDS))
    ).to_series()
    action_day = _array(kinds["action_day"].fill_null(NO_DAY), np.int32)
    step = _array(kinds["step"], np.int64)
    kind = _array(bits.cast(pl.UInt8), np.uint8)
    counts = np.empty((len(COUNTED), n), np.uint32)  # a column after another
    step_out, has_step, last = np.empty(n, np.int64), np.empty(n, np.uint8), np.empty(n, np.int32)
    rows.lib.collections(
        ctypes.c_int64(n), _pointer(pk), _pointer(pa), _pointer(dpd), _pointer(grouped.start),
        _pointer(grouped.rows), _pointer(action_day), _pointer(step), _pointer(kind),
        _pointer(counts), _pointer(step_out), _pointer(has_step), _pointer(last),
    )  # fmt: skip
    c = pl.col
    frame = pl.DataFrame(
        {
            "pair": pairs["pair"],
            **{name: counts[i] for i, name in enumerate(COUNTED)},
            "max_ladder_step": step_out,
            "has_step": has_step.view(np.bool_),
            "last_action_on": last,
        }
    )
    return frame.with_columns(
        max_ladder_step=pl.when("has_step").then(c("max_ladder_step")),
        last_action_on=_date("last_action_on"),
        reach_rate_90d=pl.when(c("contacts_90d") > 0).then(c("reached_90d") / c("contacts_90d")),
    ).drop("has_step", "contacts_90d", "reached_90d")


def borrower_state(rows: LoanRows, asked: Asked) -> pl.DataFrame:
    """For the ``asked`` pairs, each its loan's borrower's (as loans' pairs are): the frame
    :func:`risk.features.build._borrower_state` gives, the borrower's other loans at as_of, with a row for every pair
    (the polars code's missing rows are its zeros)."""
    pairs, n, pk, pa = asked.frame, asked.frame.height, asked.loan, asked.day
    loans = rows.loans
    # each loan's borrower as a number: the loans grouped by borrower, and each pair's borrower its loan's
    loan_borrower = _array((loans["borrower_id"].rank("dense") - 1).cast(pl.Int32).fill_null(-1), np.int32)
    by_borrower = Grouped.of(rows.lib, loan_borrower, int(loan_borrower.max(initial=-1)) + 1)
    pb = np.where(pk >= 0, loan_borrower[np.maximum(pk, 0)], -1).astype(np.int32)
    start, order = rows.grouped_ledger.start, rows.grouped_ledger.rows
    closed_on, originated_on = rows.closed_on, rows.originated_on
    active, worst, opened = (np.empty(n, np.int64) for _ in range(3))
    rows.lib.borrower_state(
        ctypes.c_int64(n), _pointer(pk), _pointer(pb), _pointer(pa), _pointer(by_borrower.start),
        _pointer(by_borrower.rows), _pointer(originated_on), _pointer(closed_on), _pointer(start), _pointer(order),
        _pointer(rows.due), _pointer(rows.paid), _pointer(active), _pointer(worst), _pointer(opened),
    )  # fmt: skip
    return pl.DataFrame(
        {
            "pair": pairs["pair"],
            "other_active_loans": active,
            "other_worst_days_past_due": worst,
            "loans_opened_90d": opened,
        }
    )


def ledger(
    lib: ctypes.CDLL, loans: pl.DataFrame, schedule: pl.DataFrame, payments: pl.DataFrame
) -> pl.DataFrame | None:
    """:func:`risk.delinquency.ledger_frame`'s instalment ledger by walk.c, from ``loans`` (loan_id, principal), the
    ``schedule`` and the daily ``payments`` (:func:`risk.delinquency.daily_payments_frame`); None where the kernel does
    not apply and the polars code builds it: a null or non-finite value in the schedule's columns or the payments', a
    negative amount due or paid, a loan's due days falling in instalment order, or a loan_id twice among the loans."""
    from risk.delinquency import LEDGER_COLUMNS, PAID_TOLERANCE, in_loan_order

    columns = schedule.select("loan_id", "instalment_no", "due_date", "principal_due", "interest_due")
    if not _clean(columns, columns.columns) or not payments_walkable(payments):
        return None
    # the running totals must never fall for the first day reaching one to be found by halving
    if columns.select((pl.sum_horizontal("principal_due", "interest_due") < 0).any()).item():
        return None
    if (payments["amount"] < 0).any():
        return None
    if not in_loan_order(columns, "instalment_no"):
        columns = columns.sort("loan_id", "instalment_no", maintain_order=True)
    if not in_loan_order(columns, "due_date"):
        return None
    runs = columns["loan_id"].rle()
    ids = runs.struct.field("value")
    s_start = np.zeros(ids.len() + 1, np.int64)
    np.cumsum(runs.struct.field("len").to_numpy(), out=s_start[1:])
    principal = pl.DataFrame({"loan_id": ids}).join(
        loans.select("loan_id", "principal"), on="loan_id", how="left", maintain_order="left"
    )
    if principal.height != ids.len():
        return None
    if not in_loan_order(payments, "paid_on"):
        payments = payments.sort("loan_id", "paid_on", maintain_order=True)
    paid = Grouped.of(lib, numbers(lib, ids, payments["loan_id"]), ids.len())
    n = columns.height
    principal_due = _array(columns["principal_due"], np.float64)
    interest_due = _array(columns["interest_due"], np.float64)
    due, p_day = _days(columns["due_date"]), _days(payments["paid_on"])
    p_cum = _array(payments["cum_paid"], np.float64)
    principals = _array(principal["principal"].cast(pl.Float64).fill_null(np.nan), np.float64)
    amount_due, cum_due = np.empty(n, np.float64), np.empty(n, np.float64)
    paid_on, closed_on = np.empty(n, np.int32), np.empty(n, np.int32)
    lib.ledger(
        ctypes.c_int32(ids.len()), _pointer(s_start), _pointer(principal_due), _pointer(interest_due), _pointer(due),
        _pointer(principals), _pointer(paid.start), _pointer(paid.rows), _pointer(p_day), _pointer(p_cum),
        ctypes.c_double(PAID_TOLERANCE), _pointer(amount_due), _pointer(cum_due), _pointer(paid_on),
        _pointer(closed_on), ctypes.c_int32(pl.thread_pool_size()),  # its two parts: walk.c says when
    )  # fmt: skip
    return (
        columns.select("loan_id", "instalment_no", "due_date", "principal_due")
        .with_columns(
            amount_due=pl.Series(amount_due),
            cum_due=pl.Series(cum_due),
            paid_on=pl.Series(paid_on),
            closed_on=pl.Series(closed_on),
        )
        .with_columns(_date("paid_on"), _date("closed_on"))
        .select(LEDGER_COLUMNS)
    )
