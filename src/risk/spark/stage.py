"""Edges of the features and score stages on the Spark engine: Parquet paths or URIs in, Parquet out.

``risk features --engine spark`` reads the five tables from ``spark.tables_uri`` (default data/validated)
and writes the snapshots with Spark to ``spark.features_uri`` (default data/features), in the layout the
polars engine writes (loan snapshots partitioned by ``as_of=``). ``risk score --engine spark`` scores
on Spark and writes both queues from the driver, as the polars engine does.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from risk import io
from risk.config import Params
from risk.contract import CASE_TABLES, INPUT_TABLES
from risk.features.catalogue import feature_dictionary
from risk.paths import Paths
from risk.score.score import Models
from risk.spark import features
from risk.spark.params import SparkParams
from risk.spark.partition import auto_partitions, frame_of, spark_tables
from risk.spark.score import ScoredDay, score_day
from risk.spark.session import spark_session


def _is_local(uri: str) -> bool:
    return "://" not in uri or uri.startswith("file://")


def _drop_markers(folder: Path) -> None:
    """Remove Hadoop's _SUCCESS and .crc files, so polars reads the folder as it reads the polars engine's."""
    for marker in [*folder.rglob("_*"), *folder.rglob(".*.crc")]:
        if marker.is_file():
            marker.unlink()


def _present(spark, uri: str) -> bool:
    """Whether a case table's Parquet exists at ``uri`` (a local path, or any URI Spark can read)."""
    if _is_local(uri):
        return Path(uri.removeprefix("file://")).exists()
    from pyspark.errors import AnalysisException

    try:
        spark.read.parquet(uri).schema  # noqa: B018 - touching the schema is the existence check
    except AnalysisException:
        return False
    return True


def _tables(paths: Paths, spark_params: SparkParams, *, case_tables: bool = False):
    """The five tables (and, with ``case_tables``, the case tables the folder holds) as Spark frames."""
    spark = spark_session(spark_params)
    folder = spark_params.tables_uri.rstrip("/") or str(paths.validated)
    uris = {t.name: f"{folder}/{t.name}.parquet" for t in INPUT_TABLES}
    if case_tables:
        uris |= {t.name: u for t in CASE_TABLES if _present(spark, u := f"{folder}/{t.name}.parquet")}
    tables = spark_tables(spark, uris)
    n = auto_partitions(
        tables["loans"], partitions=spark_params.partitions, loans_per_partition=spark_params.loans_per_partition
    )
    return tables, n


def run_features(paths: Paths, params: Params, spark_params: SparkParams) -> str:
    """Build both snapshot tables on Spark and write them; one line for the log."""
    started = time.perf_counter()
    tables, n = _tables(paths, spark_params, case_tables=True)  # agreements re-age loans, as in polars
    envelope, _ = features.snapshots(tables, params.features, data_as_of=params.data.as_of, partitions=n)
    envelope = envelope.persist()  # both tables come out of one pass over the book
    target = spark_params.features_uri.rstrip("/") or str(paths.features)

    def write(folder: str) -> None:
        frame_of(envelope, features.LOAN_SNAPSHOTS).write.mode("overwrite").partitionBy("as_of").parquet(
            f"{folder}/{features.LOAN_SNAPSHOTS}"
        )
        frame_of(envelope, features.APPLICATION_SNAPSHOTS).write.mode("overwrite").parquet(
            f"{folder}/{features.APPLICATION_SNAPSHOTS}.parquet"
        )

    if _is_local(target):  # replace the folder atomically, as the polars engine does
        with io.atomic_path(Path(target.removeprefix("file://"))) as tmp:
            tmp.mkdir(parents=True)
            write(str(tmp))
            _drop_markers(tmp)
            feature_dictionary().write_csv(tmp / "feature_dictionary.csv")
    else:  # object stores have no rename: Spark's commit protocol marks each table with _SUCCESS
        write(target)
    rows = {
        name: frame_of(envelope, name).count() for name in (features.LOAN_SNAPSHOTS, features.APPLICATION_SNAPSHOTS)
    }
    envelope.unpersist()
    took = time.perf_counter() - started
    return (
        f"features (spark, {n} partitions): {rows[features.LOAN_SNAPSHOTS]:,} loan snapshots, "
        f"{rows[features.APPLICATION_SNAPSHOTS]:,} application snapshots in {took:.1f}s -> {target}"
    )


def score_tables(
    paths: Paths, params: Params, spark_params: SparkParams, models: Models, *, as_of: dt.date
) -> ScoredDay:
    """Both queues of ``as_of`` scored on Spark from the five tables at ``spark.tables_uri``."""
    tables, n = _tables(paths, spark_params, case_tables=True)
    return score_day(tables, models, params, as_of=as_of, partitions=n)
