"""Run a polars function of the five contract tables on Spark, one partition of borrowers at a time.

A borrower's loans, schedules, repayments, collection actions and applications always meet in one
partition (``pmod(hash(borrower_id), n)``; the three loan-level tables get ``borrower_id`` through
``loans``), so any function that only looks across one borrower's records — every feature and score
in :mod:`risk.features.build` and :mod:`risk.score.score` — gives on a partition exactly the rows it gives
on the whole book.

The five tables travel in one shuffle as an *envelope*: one row per input row, the partition key plus
one struct column per table, null except in its own table's column. Each group reaches a Python
worker as one Arrow table, is split back into five polars frames, and the function's frames go back
as Arrow in the same envelope form. Output schemas come from running the function on empty tables.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from risk.contract import CASE_TABLES, INPUT_TABLES, TABLES, conform
from risk.exceptions import RiskDataError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

PART = "_part"  # the partition key column
PolarsFn = Callable[[dict[str, pl.DataFrame]], Mapping[str, pl.DataFrame]]


# --- tables in --------------------------------------------------------------------------------------
def empty_tables() -> dict[str, pl.DataFrame]:
    """The five contract tables and the case tables with no rows: what output schemas are derived from."""
    return {t.name: pl.DataFrame(schema=t.schema) for t in (*INPUT_TABLES, *CASE_TABLES)}


def contract_schema(name: str) -> StructType:
    """The Spark schema of contract table ``name`` (timestamps without time zone, as the contract says)."""
    from pyspark.sql.pandas.types import from_arrow_schema

    arrow = pl.DataFrame(schema=TABLES[name].schema).to_arrow(compat_level=pl.CompatLevel.oldest()).schema
    return from_arrow_schema(arrow, prefer_timestamp_ntz=True)


def spark_tables(spark: SparkSession, tables: Mapping[str, Any]) -> dict[str, DataFrame]:
    """The five tables, and the case tables given, as Spark frames with the contract's columns, in order,
    cast to its types.

    Each value is a Spark DataFrame, a polars DataFrame (sent through the driver: for tests and small
    books) or a Parquet path or URI (``s3a://``, ``hdfs://``, ``abfss://``, a local folder or file).
    """
    from pyspark.sql import DataFrame
    from pyspark.sql import functions as F

    missing = [t.name for t in INPUT_TABLES if t.name not in tables]
    if missing:
        msg = f"the Spark engine needs all five tables; missing {missing}"
        raise RiskDataError(msg, rule="spark_input_tables")
    out = {}
    for t in (*INPUT_TABLES, *(c for c in CASE_TABLES if c.name in tables)):  # case tables when given
        src = tables[t.name]
        if isinstance(src, DataFrame):
            df = src
        elif isinstance(src, pl.DataFrame):
            df = spark.createDataFrame(conform(src, t).to_arrow(compat_level=pl.CompatLevel.oldest()))
        else:
            df = spark.read.parquet(str(src))
        absent = [c.name for c in t.columns if c.name not in df.columns]
        if absent:
            msg = f"{t.name}: column(s) {absent} missing from the Spark input (has {df.columns})"
            raise RiskDataError(msg, table=t.name, column=absent[0], rule="spark_input_columns")
        out[t.name] = df.select([F.col(f.name).cast(f.dataType) for f in contract_schema(t.name).fields])
    return out


def auto_partitions(loans: DataFrame, *, partitions: int, loans_per_partition: int) -> int:
    """``partitions``, or when 0 one partition per ``loans_per_partition`` loans (a Spark count)."""
    return partitions or max(1, math.ceil(loans.count() / loans_per_partition))


def envelope(tables: Mapping[str, DataFrame], n: int) -> DataFrame:
    """Every row of the tables keyed by its borrower's partition, as a struct in its table's column."""
    from pyspark.sql import functions as F

    def key(frame: DataFrame) -> DataFrame:
        return frame.withColumn(PART, F.pmod(F.hash("borrower_id"), F.lit(n)))

    loans = key(tables["loans"])
    loan_part = loans.select("loan_id", PART)
    keyed = {"applications": key(tables["applications"]), "loans": loans}
    for name in ("schedule", "repayments", "collection_actions", "agreements", "legal_cases"):
        if name in tables:
            keyed[name] = tables[name].join(loan_part, on="loan_id")  # rows of unknown loans have no borrower
    if "borrower_profiles" in tables:
        keyed["borrower_profiles"] = key(tables["borrower_profiles"])
    parts = [
        df.select(PART, F.struct(*[c.name for c in TABLES[name].columns]).alias(name)) for name, df in keyed.items()
    ]
    return functools.reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), parts)


# --- envelope <-> polars -----------------------------------------------------------------------------
def unpack(table: pa.Table, schemas: Mapping[str, pl.Schema]) -> dict[str, pl.DataFrame]:
    """Split an envelope back into one polars frame per struct column, cast to ``schemas``."""
    out = {}
    for name, schema in schemas.items():
        column = table.column(name)
        rows = column.filter(pc.is_valid(column))
        frame = pl.from_arrow(pa.Table.from_struct_array(rows)) if len(rows) else pl.DataFrame(schema=schema)
        out[name] = frame.select([pl.col(c).cast(dtype) for c, dtype in schema.items()])
    return out


def _plain(frame: pl.DataFrame) -> pl.DataFrame:
    """Categoricals as strings and unsigned integers as Int64: types Spark has."""
    unsigned = (pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64)
    return frame.with_columns(
        [pl.col(c).cast(pl.String) for c, d in frame.schema.items() if isinstance(d, pl.Enum | pl.Categorical)]
        + [pl.col(c).cast(pl.Int64) for c, d in frame.schema.items() if isinstance(d, unsigned)]
    )


def pack(frames: Mapping[str, pl.DataFrame], schema: pa.Schema) -> pa.Table:
    """The envelope of ``frames``: one struct column per frame, rows of one frame null in the others."""
    n = sum(f.height for f in frames.values())
    columns, start = [], 0
    for field in schema:
        if field.name == PART:
            continue
        frame = frames[field.name]
        rows = _plain(frame).to_arrow(compat_level=pl.CompatLevel.oldest())
        struct = (
            pa.StructArray.from_arrays(
                [rows.column(c.name).combine_chunks().cast(c.type) for c in field.type], fields=list(field.type)
            )
            if frame.height
            else pa.array([], type=field.type)
        )
        before, after = pa.nulls(start, field.type), pa.nulls(n - start - frame.height, field.type)
        columns.append(pa.concat_arrays([before, struct, after]))
        start += frame.height
    return pa.Table.from_arrays(columns, schema=pa.schema([f for f in schema if f.name != PART]))


# --- the map ----------------------------------------------------------------------------------------
def output_schemas(fn: PolarsFn) -> dict[str, pl.Schema]:
    """The polars schema of each frame ``fn`` returns, from a run on empty tables."""
    return {name: frame.schema for name, frame in fn(empty_tables()).items()}


def spark_schema(schemas: Mapping[str, pl.Schema]) -> StructType:
    """The envelope's Spark schema: one nullable struct per output frame."""
    from pyspark.sql.pandas.types import from_arrow_schema
    from pyspark.sql.types import StructField, StructType

    fields = []
    for name, schema in schemas.items():
        arrow = _plain(pl.DataFrame(schema=schema)).to_arrow(compat_level=pl.CompatLevel.oldest()).schema
        fields.append(StructField(name, from_arrow_schema(arrow, prefer_timestamp_ntz=True), nullable=True))
    return StructType(fields)


def _worker(fn: PolarsFn, arrow_schema: pa.Schema, names: frozenset[str]) -> Callable[[pa.Table], pa.Table]:
    """The Arrow function a Python worker runs on one group (a closure: PySpark cannot read a partial's hints)."""
    inputs = {t.name: pl.Schema(t.schema) for t in (*INPUT_TABLES, *CASE_TABLES) if t.name in names}

    def apply(table: pa.Table) -> pa.Table:
        return pack(fn(unpack(table, inputs)), arrow_schema)

    return apply


def map_by_borrower(tables: Mapping[str, DataFrame], fn: PolarsFn, *, partitions: int) -> tuple[DataFrame, dict]:
    """Apply ``fn`` to every partition of borrowers; the envelope of its outputs, and their polars schemas.

    ``fn`` takes the tables of one partition (the five, and the case tables given) and returns named polars
    frames; it runs in Python
    workers, so it must be picklable (a module-level function or a ``functools.partial`` of one) and the
    ``risk`` package must be installed where the executors run.
    """
    from pyspark.sql.pandas.types import to_arrow_schema

    schemas = output_schemas(fn)
    schema = spark_schema(schemas)
    arrow_schema = to_arrow_schema(schema, timezone="UTC")
    worker = _worker(fn, arrow_schema, frozenset(tables))
    return envelope(tables, partitions).groupBy(PART).applyInArrow(worker, schema), schemas


def frame_of(result: DataFrame, name: str) -> DataFrame:
    """The output frame ``name`` of an envelope as a flat Spark frame (for writing or further Spark work)."""
    from pyspark.sql import functions as F

    return result.where(F.col(name).isNotNull()).select(f"{name}.*")


def collect(result: DataFrame, schemas: Mapping[str, pl.Schema]) -> dict[str, pl.DataFrame]:
    """Every output frame of an envelope on the driver, in the polars types ``fn`` returned (one Spark job)."""
    return unpack(result.toArrow(), schemas)
