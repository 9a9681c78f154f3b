"""Scoring on Spark: :func:`risk.score.score.score_loans` and the review scoring per partition of borrowers,
the queues' global ranking on the driver.

Per partition (in Python workers), with the registered models loaded once per worker:

- every active loan is scored exactly as :func:`~risk.score.score.score_loans` scores it (features at
  as_of, early-warning and cure probabilities, contact history), and only the loans that enter the
  collections queue go back to the driver (:func:`~risk.score.collections.build_collections_queue`
  decides, so the rule lives in one place);
- the pending applications are scored by :func:`~risk.score.score.review_queue` (PD, grade, points,
  decision and reasons, all per row).

On the driver: the collections queue (channel capacity and priority are ranks over the whole book,
and its reasons are computed for queue rows only) and the review order (a rank over all pending
applications). The driver holds the queue candidates and pending applications, never the book.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from risk.config import Params
from risk.score.collections import build_collections_queue
from risk.score.review import build_review_queue
from risk.score.score import REVIEW_COLUMNS, Models, collections_queue, review_queue, score_loans
from risk.spark.partition import collect, map_by_borrower

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

CANDIDATES, REVIEW, ACTIVE = "collections_candidates", "review_rows", "active_loans"

_MODELS: dict[str, Models] = {}  # per Python worker: the models of each job, unpickled once


@dataclass(frozen=True)
class ScoredDay:
    """The two queues of one as_of and how many loans were active (scored)."""

    active_loans: int
    collections_queue: pl.DataFrame
    review_queue: pl.DataFrame


def _models(key: str, blob: bytes) -> Models:
    if key not in _MODELS:
        _MODELS.clear()
        _MODELS[key] = pickle.loads(blob)
    return _MODELS[key]


def _score_partition(
    tables: dict[str, pl.DataFrame], *, key: str, blob: bytes, params: Params, as_of: dt.date
) -> dict[str, pl.DataFrame]:
    """Queue candidates, scored pending applications and the active-loan count of one partition."""
    models = _models(key, blob)
    scored = score_loans(tables, models, params, as_of=as_of)
    queued = build_collections_queue(scored, params.score, as_of=as_of, labels=params.features.labels).select("loan_id")
    return {
        CANDIDATES: scored.join(queued, on="loan_id", how="semi"),
        REVIEW: review_queue(tables, models, params, as_of=as_of),
        ACTIVE: pl.DataFrame({"n": [scored.height]}, schema={"n": pl.Int64}),
    }


def score_day(
    tables: Mapping[str, DataFrame], models: Models, params: Params, *, as_of: dt.date, partitions: int
) -> ScoredDay:
    """Both queues of ``as_of``, equal to the polars engine's :func:`~risk.score.score.collections_queue`
    and :func:`~risk.score.score.review_queue` (up to float summation order)."""
    blob = pickle.dumps(models)  # travels with the task (Spark broadcasts it above 1 MB), unpickled once per worker
    fn = functools.partial(
        _score_partition, key=hashlib.sha256(blob).hexdigest(), blob=blob, params=params, as_of=as_of
    )
    result, schemas = map_by_borrower(tables, fn, partitions=partitions)
    out = collect(result, schemas)
    # the polars engine scores in (as_of, loan_id) order; ordinal ranks break ties by row order
    candidates = out[CANDIDATES].sort("loan_id")
    rows = out[REVIEW]
    review = (
        build_review_queue(rows, params.score, as_of=as_of)  # review_order over every partition's rows
        .sort(pl.col("review_order").is_null(), "review_order", "application_id")
        .select(REVIEW_COLUMNS)
    )
    return ScoredDay(
        active_loans=int(out[ACTIVE]["n"].sum()),
        collections_queue=collections_queue(candidates, models, params, as_of=as_of),
        review_queue=review,
    )
