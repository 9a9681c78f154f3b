"""Edge of the features stage: read validated tables, build snapshots, write them atomically."""

from __future__ import annotations

import time

import polars as pl

from risk import io
from risk.attributes import from_manifest
from risk.config import Params
from risk.features.build import FeatureSet, application_snapshots, build_features, loan_snapshots
from risk.features.catalogue import feature_dictionary
from risk.paths import Paths


def write_features(
    loan_snapshots: pl.DataFrame, application_snapshots: pl.DataFrame, folder, *, manifest: dict
) -> None:
    """Write loan snapshots partitioned by as_of, application snapshots, the feature dictionary and the
    source's manifest (so later stages know an application-only source)."""
    with io.atomic_path(folder) as tmp:
        (tmp / "loan_snapshots").mkdir(parents=True)
        if loan_snapshots.is_empty():
            loan_snapshots.write_parquet(tmp / "loan_snapshots" / "empty.parquet")
        else:
            loan_snapshots.write_parquet(tmp / "loan_snapshots", partition_by="as_of")
        application_snapshots.write_parquet(tmp / "application_snapshots.parquet")
        feature_dictionary(from_manifest(manifest)).write_csv(tmp / "feature_dictionary.csv")
        io.write_json(manifest, tmp / io.MANIFEST)


def application_only_features(tables: dict[str, pl.DataFrame], params: Params) -> FeatureSet:
    """An application-only source: application features with the source's own outcome as ``default_12m``,
    and no loan snapshots (there is no repayment history to build them from)."""
    outcomes = tables["outcomes"].select("application_id", pl.col("default_flag").cast(pl.Int8))
    tables = {name: frame for name, frame in tables.items() if name != "outcomes"}
    apps = application_snapshots(tables, params.features, data_as_of=params.data.as_of).collect()
    apps = (
        apps.drop("default_12m")
        .join(outcomes.rename({"default_flag": "default_12m"}), on="application_id", how="left")
        .select(apps.columns)
    )
    empty = loan_snapshots(tables, params.features, as_of_dates=[], data_as_of=params.data.as_of).collect()
    return FeatureSet(loan_snapshots=empty, application_snapshots=apps)


def run(paths: Paths, params: Params) -> str:
    started = time.perf_counter()
    manifest = io.read_manifest(paths.validated)
    # the agreements re-age loans (plans and extensions kept); declared source attributes join the applications
    tables = io.with_attributes(io.read_book(paths.validated), paths.validated)
    if manifest.get("mode") == io.APPLICATION_ONLY:
        tables["outcomes"] = io.read_parquet(paths.validated / "outcomes.parquet", table="outcomes")
        fs = application_only_features(tables, params)
    else:
        fs = build_features(tables, params.features, data_as_of=params.data.as_of)
    write_features(fs.loan_snapshots, fs.application_snapshots, paths.features, manifest=manifest)
    took = time.perf_counter() - started
    n_dates = fs.loan_snapshots["as_of"].n_unique()
    return (
        f"features: {fs.loan_snapshots.height:,} loan snapshots over {n_dates} month ends, "
        f"{fs.application_snapshots.height:,} application snapshots in {took:.1f}s -> {paths.features}"
        + (
            "\n  application-only source: no repayment history, so no loan snapshots (early-warning and cure "
            "models are skipped)"
            if manifest.get("mode") == io.APPLICATION_ONLY
            else ""
        )
    )


def source_mode(paths: Paths) -> str:
    """``full`` or ``application_only``, as recorded beside the features."""
    return io.read_manifest(paths.features).get("mode", io.FULL)


def read_loan_snapshots(paths: Paths) -> pl.LazyFrame:
    return pl.scan_parquet(paths.features / "loan_snapshots", hive_partitioning=True)


def read_application_snapshots(paths: Paths) -> pl.LazyFrame:
    return pl.scan_parquet(paths.features / "application_snapshots.parquet")
