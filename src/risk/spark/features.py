"""Loan and application snapshots on Spark: :mod:`risk.features.build`, per partition of borrowers.

Every feature looks across one borrower's records at most (their other loans), so a partition of
borrowers gives the same rows as the whole book; the month ends are fixed on the driver for the whole
book first, as :func:`risk.features.build.build_features` does.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import polars as pl

from risk.config import FeatureParams
from risk.delinquency import ledger_frame
from risk.exceptions import RiskDataError
from risk.features import build
from risk.spark.partition import map_by_borrower

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

LOAN_SNAPSHOTS, APPLICATION_SNAPSHOTS = "loan_snapshots", "application_snapshots"


def _snapshots(
    tables: dict[str, pl.DataFrame], *, params: FeatureParams, as_of_dates: tuple[dt.date, ...], data_as_of: dt.date
) -> dict[str, pl.DataFrame]:
    """Both snapshot tables of one partition (runs in a Python worker)."""
    ledger = ledger_frame(tables).lazy()  # one for both
    loans = build.loan_snapshots(tables, params, as_of_dates=as_of_dates, data_as_of=data_as_of, ledger=ledger)
    apps = build.application_snapshots(tables, params, data_as_of=data_as_of, ledger=ledger)
    loans, apps = pl.collect_all([loans, apps])
    return {LOAN_SNAPSHOTS: loans, APPLICATION_SNAPSHOTS: apps}


def month_ends(tables: Mapping[str, DataFrame], params: FeatureParams, *, data_as_of: dt.date) -> list[dt.date]:
    """The snapshot dates for the whole book: month ends from ``params.first_as_of`` or the first origination."""
    from pyspark.sql import functions as F

    first = params.first_as_of or tables["loans"].agg(F.min("originated_on")).first()[0]
    if first is None:
        msg = "no loans, so there is no month end to snapshot"
        raise RiskDataError(msg, table="loans", rule="has_loans")
    return build.month_ends(first, data_as_of)


def snapshots(
    tables: Mapping[str, DataFrame],
    params: FeatureParams,
    *,
    data_as_of: dt.date,
    partitions: int,
    as_of_dates: Sequence[dt.date] | None = None,
) -> tuple[DataFrame, dict[str, pl.Schema]]:
    """Loan and application snapshots of the whole book as one Spark envelope, and their polars schemas.

    Take each table out with :func:`risk.spark.partition.frame_of` (to write it) or
    :func:`risk.spark.partition.collect` (to the driver as polars). ``as_of_dates`` defaults to every
    month end up to ``data_as_of``.
    """
    dates = tuple(as_of_dates if as_of_dates is not None else month_ends(tables, params, data_as_of=data_as_of))
    fn = functools.partial(_snapshots, params=params, as_of_dates=dates, data_as_of=data_as_of)
    return map_by_borrower(tables, fn, partitions=partitions)


def sort_like_polars(frames: Mapping[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Collected snapshots in the polars engine's row order (by as_of, then the key)."""
    keys = {LOAN_SNAPSHOTS: "loan_id", APPLICATION_SNAPSHOTS: "application_id"}
    return {name: frame.sort("as_of", keys[name]) for name, frame in frames.items()}
