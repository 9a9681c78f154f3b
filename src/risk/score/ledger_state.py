"""Yesterday's instalment ledger, reused: a daily run rebuilds the ledger only for loans whose rows changed.

The instalment ledger (:func:`risk.delinquency.instalment_ledger`) of a loan is a pure function of that
loan's own rows: its principal in ``loans``, its ``schedule`` and its ``repayments``. It does not depend on
the day scored. So the ledger a run built is kept beside the scored days (``data/scored/ledger-<key>.parquet``)
with a fingerprint of each loan's inputs, and the next run rebuilds only the loans whose fingerprint differs or
is new (a repayment, a new loan, a restated schedule), keeps the rest and drops loans no longer in the export.
With ``score.incremental`` off a run keeps no ledger and reads none (nor fingerprints its loans).

The fingerprint is the count and the wrapping sum of polars' row hashes of exactly the columns the ledger reads,
per table, hashed together into one 64-bit value: it changes when a row is added, removed or edited, and does not
care about row order. One column rather than six, since the kept file carries it on every row (null but on a
loan's first): at 1M loans building, writing and reading the six took 2.3-2.4 s a day, the one 1.5-1.6 s. The file's
``key`` hashes the source of :mod:`risk.delinquency` and the polars version (row hashes are only stable within
one version): a change to either starts from scratch, never from a ledger the current code would not build.
"""

from __future__ import annotations

import hashlib
import inspect
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from risk import delinquency, io
from risk.delinquency import ledger_frame

# the columns of each table the ledger reads: nothing else can change a loan's ledger
LEDGER_INPUTS: dict[str, tuple[str, ...]] = {
    "loans": ("loan_id", "principal"),
    "schedule": ("loan_id", "instalment_no", "due_date", "principal_due", "interest_due"),
    "repayments": ("loan_id", "paid_at", "amount"),
}
PARTS = [f"{table}_{part}" for table in LEDGER_INPUTS for part in ("rows", "hash")]  # hashed into the fingerprint
FINGERPRINT = "fingerprint"


@dataclass(frozen=True)
class Ledger:
    """The day's instalment ledger (collected), the fingerprints it was built from, and how it was built."""

    frame: pl.DataFrame
    fingerprints: pl.DataFrame | None  # None when built not to be kept (build's keep=False)
    loans: int  # loans in the export
    rebuilt: int  # loans whose ledger was built this run (all of them without a usable state)
    incremental: bool  # whether a kept ledger was reused

    def summary(self) -> str:
        """One phrase for the run's log line."""
        if not self.incremental:
            return f"ledger built for all {self.loans:,} loans"
        return f"ledger reused, {self.rebuilt:,} of {self.loans:,} loans rebuilt"


def state_key() -> str:
    """What a kept ledger must have been built with: this ledger code and this polars (its row hashes)."""
    source = inspect.getsource(delinquency) + inspect.getsource(sys.modules[__name__])
    return hashlib.sha256(f"{source}\npolars {pl.__version__}".encode()).hexdigest()[:16]


def state_path(scored: Path) -> Path:
    return Path(scored) / f"ledger-{state_key()}.parquet"


def fingerprints(tables: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """Per loan in ``loans``: ``fingerprint``, one hash of the rows and wrapping hash sum of its ledger inputs in
    each table (0, 0 for a table without its rows)."""
    return _fingerprints(tables)[0]


def _fingerprints(tables: Mapping[str, pl.DataFrame]) -> tuple[pl.DataFrame, pl.Series]:
    """The fingerprints, and the loans with instalments in ``schedule`` but no row in ``loans`` (orphans, possible
    when fk_loan_exists is only a warning: their rows are no ledger), found from the grouped rows at no extra pass."""
    out = tables["loans"].select("loan_id")
    orphans = pl.Series("loan_id", [], dtype=out["loan_id"].dtype)
    for name, columns in LEDGER_INPUTS.items():
        per_loan = _rows_and_hash(tables[name].select(columns), f"{name}_rows", f"{name}_hash")
        if name == "schedule":
            orphans = per_loan.join(out, on="loan_id", how="anti")["loan_id"]
        out = out.join(per_loan, on="loan_id", how="left", maintain_order="left")
    parts = pl.struct(pl.col(c).fill_null(0) for c in PARTS)
    return out.select("loan_id", parts.hash(seed=0).alias(FINGERPRINT)), orphans


def _rows_and_hash(frame: pl.DataFrame, rows: str, hashed: str) -> pl.DataFrame:
    """Per loan of ``frame``: its rows (``rows``) and the wrapping sum of their hashes (``hashed``). A table flagged
    in loan order (:func:`risk.io.read_tables` flags it) is summed a run of rows at a time, where a group-by hashes
    every key again: the default book's schedule 7.6 ms against 13.9 ms, its repayments 5.5 against 11.2."""
    hashes = frame.hash_rows(seed=0)
    key = frame["loan_id"]
    if not (key.flags["SORTED_ASC"] and key.null_count() == 0 and frame.height):
        return (
            frame.select("loan_id", h=hashes)
            .group_by("loan_id")
            .agg(pl.len().cast(pl.Int64).alias(rows), pl.col("h").sum().alias(hashed))
        )
    starts = frame.select(pl.col("loan_id").ne_missing(pl.col("loan_id").shift(1)).arg_true()).to_series().to_numpy()
    return pl.DataFrame(
        [
            key.gather(starts),
            pl.Series(rows, np.diff(starts, append=frame.height), dtype=pl.Int64),
            pl.Series(hashed, np.add.reduceat(hashes.to_numpy(), starts), dtype=pl.UInt64),  # wraps as polars' sum
        ]
    )


def build(
    tables: Mapping[str, pl.DataFrame],
    kept: pl.DataFrame | None = None,
    *,
    payments: pl.DataFrame | None = None,
    keep: bool = True,
) -> Ledger:
    """The ledger of ``tables``, reusing from ``kept`` (a previous :func:`save`) every loan whose inputs are
    unchanged. Equal, row for row, to building it from scratch. ``payments``: the repayments'
    :func:`risk.delinquency.daily_payments_frame`, when the caller has it (a build from scratch then reads them
    rather than summing the repayments again). ``keep`` False: a ledger for this run only, built from scratch
    without the fingerprints that keeping it needs (``score.incremental: false``; 1.4 s at 1.5M loans)."""
    if not keep:
        if kept is not None:
            msg = "a ledger built not to be kept reuses none either (keep=False with kept)"
            raise ValueError(msg)
        loans = tables["loans"].select("loan_id")
        # an orphan's schedule (fk_loan_exists only a warning) is no ledger, as the fingerprints would find
        frame = _ledger_of(tables, payments).join(loans, on="loan_id", how="semi", maintain_order="left")
        return Ledger(_flagged(frame), None, loans=loans.height, rebuilt=loans.height, incremental=False)
    prints, orphans = _fingerprints(tables)
    if kept is None:
        frame = _ledger_of(tables, payments)
        if orphans.len():
            frame = frame.filter(~pl.col("loan_id").is_in(orphans.implode()))
        return Ledger(_flagged(frame), prints, loans=prints.height, rebuilt=prints.height, incremental=False)
    if not delinquency.in_loan_order(kept, "instalment_no"):  # written sorted; never trusted
        kept = _flagged(kept.sort("loan_id", "instalment_no"))
    known = kept.filter(pl.col(FINGERPRINT).is_not_null()).select("loan_id", FINGERPRINT)  # a loan's first row
    changed = prints.join(known, on=["loan_id", FINGERPRINT], how="anti").select("loan_id")  # new or different
    fresh = _ledger_of({name: tables[name].join(changed, on="loan_id", how="semi") for name in LEDGER_INPUTS})
    # what is kept: every kept loan but the changed ones and those gone from today's export (orphans included);
    # both are few on a scheduled day, and a small set is cheaper to look every kept row up in
    gone = known.join(prints, on="loan_id", how="anti").select("loan_id")
    dropped = pl.concat([changed, gone])["loan_id"].implode()
    reused = kept.filter(~pl.col("loan_id").is_in(dropped)).drop(FINGERPRINT)
    # both sorted by (loan_id, instalment_no) and each loan on one side only: a linear merge keeps that order
    frame = reused.merge_sorted(fresh, key="loan_id")
    return Ledger(_flagged(frame), prints, loans=prints.height, rebuilt=changed.height, incremental=True)


def _flagged(ledger: pl.DataFrame) -> pl.DataFrame:
    """``ledger`` with its loan flagged sorted when it is, so the features group and join it by its order."""
    return io.flag_sorted(ledger, io.LOAN_KEY)


def _ledger_of(tables: Mapping[str, pl.DataFrame], payments: pl.DataFrame | None = None) -> pl.DataFrame:
    """The ledger from exactly the fingerprinted columns: a ledger that read another would fail here, loudly.
    ``payments`` a caller summed are read as given: :func:`risk.delinquency.daily_payments` reads the repayments'
    loan, time and amount, the three fingerprinted."""
    return ledger_frame({name: tables[name].select(cols) for name, cols in LEDGER_INPUTS.items()}, payments=payments)


def forget(scored: Path, *, but: Path | None = None) -> None:
    """Remove every ledger kept in ``scored`` but ``but`` (a run with ``score.incremental`` off keeps none and reads
    none; :func:`save` keeps only the one the current code reads)."""
    for kept in Path(scored).glob("ledger-*.parquet"):
        if kept != but:
            kept.unlink(missing_ok=True)


def load(scored: Path) -> pl.DataFrame | None:
    """The ledger a previous run kept under this code and polars, or None (none kept, or unreadable)."""
    path = state_path(scored)
    if not path.exists():
        return None
    try:
        return _flagged(pl.read_parquet(path))
    except (OSError, pl.exceptions.PolarsError):  # a damaged file is rebuilt, never trusted
        return None


def save(scored: Path, ledger: Ledger | pl.DataFrame) -> None:
    """Keep ``ledger`` for the next run (atomically), removing ledgers kept by other code or polars versions;
    ``ledger`` may be the frame :func:`kept_frame` made of it already.

    Each loan's fingerprint is on its first row (null on the others). Loans with no instalment have no ledger rows
    to carry it: they are rebuilt every run.
    """
    keep(scored, stage(scored, ledger))


@dataclass(frozen=True)
class Staged:
    """A day's ledger as it is kept, written beside its place but not yet in it (:func:`stage`)."""

    frame: pl.DataFrame  # kept_frame's: what a scorer that stays hands to its next day
    path: Path | None  # None when only held (not written), or when it could not be written
    error: OSError | None = None  # why it could not


def stage(scored: Path, ledger: Ledger | pl.DataFrame) -> Staged:
    """``ledger`` as :func:`save` keeps it, written beside its place while the day is still being written:
    :func:`keep` puts it there once the day is, :func:`discard` removes it when the day stops. Writing is most of
    keeping it (about 35 ms of 45 on the default book). A file that cannot be written is said in the result, not
    raised: the day goes on without it."""
    frame = kept_frame(ledger) if isinstance(ledger, Ledger) else ledger
    path = None
    try:
        path = io.staged_beside(state_path(scored))
        # read back by this code only, the next day: a light codec and no statistics (written and read each run)
        frame.write_parquet(path, compression="lz4", statistics=False)
    except BaseException as e:
        if path is not None:
            path.unlink(missing_ok=True)
        if isinstance(e, OSError):
            return Staged(frame, None, e)
        raise
    return Staged(frame, path)


def keep(scored: Path, staged: Staged) -> None:
    """Put a staged ledger in its place and remove those kept by other code or polars versions.

    Raises
    ------
    OSError
        The ledger could not be written (the one :func:`stage` met) or put in its place.
    """
    if staged.error is not None:
        raise staged.error
    target = state_path(scored)
    forget(scored, but=target)
    io.replace_path(staged.path, target)


def discard(staged: Staged) -> None:
    """Remove a staged ledger a stopped day will not keep."""
    if staged.path is not None:
        staged.path.unlink(missing_ok=True)


def kept_frame(ledger: Ledger) -> pl.DataFrame:
    """``ledger`` as it is kept for the next run: the frame :func:`save` writes and :func:`load` reads, which a
    scorer that stays (:class:`risk.score.stage.Scorer`) holds in memory instead."""
    if ledger.fingerprints is None:
        msg = "this ledger was built not to be kept (build's keep=False)"
        raise ValueError(msg)
    frame = ledger.frame
    # each loan's fingerprint on its first row: the first rows' loans looked up in the fingerprints (one row per
    # loan), then placed at those rows, rather than a join of the whole ledger
    first = frame.select(pl.col("loan_id").ne_missing(pl.col("loan_id").shift(1)).arg_true())["loan_id"]  # sorted
    heads = frame["loan_id"].gather(first).to_frame()
    prints = heads.join(ledger.fingerprints, on="loan_id", how="left", maintain_order="left")
    if prints.height != heads.height:  # a loan id twice in `loans` (unique_key downgraded): one fingerprint each
        once = ledger.fingerprints.unique("loan_id", keep="first", maintain_order=True)
        prints = heads.join(once, on="loan_id", how="left", maintain_order="left")
    column = pl.repeat(None, frame.height, dtype=prints[FINGERPRINT].dtype, eager=True).alias(FINGERPRINT)
    return frame.with_columns(column.scatter(first, prints[FINGERPRINT]))
