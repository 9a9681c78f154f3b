"""Edge of the features stage: read validated tables, build snapshots, write them atomically."""

from __future__ import annotations

import time

import polars as pl

from risk import io
from risk.config import Params
from risk.features.build import build_features
from risk.features.catalogue import feature_dictionary
from risk.paths import Paths


def write_features(loan_snapshots: pl.DataFrame, application_snapshots: pl.DataFrame, folder) -> None:
    """Write loan snapshots partitioned by as_of, application snapshots and the feature dictionary."""
    with io.atomic_path(folder) as tmp:
        tmp.mkdir(parents=True)
        loan_snapshots.write_parquet(tmp / "loan_snapshots", partition_by="as_of")
        application_snapshots.write_parquet(tmp / "application_snapshots.parquet")
        feature_dictionary().write_csv(tmp / "feature_dictionary.csv")


def run(paths: Paths, params: Params) -> str:
    started = time.perf_counter()
    tables = io.read_tables(paths.validated)
    fs = build_features(tables, params.features, data_as_of=params.data.as_of)
    write_features(fs.loan_snapshots, fs.application_snapshots, paths.features)
    took = time.perf_counter() - started
    n_dates = fs.loan_snapshots["as_of"].n_unique()
    return (
        f"features: {fs.loan_snapshots.height:,} loan snapshots over {n_dates} month ends, "
        f"{fs.application_snapshots.height:,} application snapshots in {took:.1f}s -> {paths.features}"
    )


def read_loan_snapshots(paths: Paths) -> pl.LazyFrame:
    return pl.scan_parquet(paths.features / "loan_snapshots", hive_partitioning=True)


def read_application_snapshots(paths: Paths) -> pl.LazyFrame:
    return pl.scan_parquet(paths.features / "application_snapshots.parquet")
