"""Reason codes: the features that pushed a row's risk up most, as codes with English and Chinese text.

Computed from per-row model contributions, and only for the rows that need them (queue entries,
declines and manual reviews), because contributions cost far more than predictions.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from risk.features.catalogue import catalogue_entries
from risk.models.model import RiskModel

REASON_COLUMNS = {
    column: pl.List(pl.String) for column in ("reason_codes", "reasons_en", "reasons_zh")
}  # what it returns


def top_reasons(model: RiskModel, frame: pl.DataFrame, *, n: int, sign: int = +1) -> pl.DataFrame:
    """The ``n`` features contributing most toward risk for each row of ``frame``.

    ``sign`` is +1 when the model's label is the bad outcome and -1 when it is a good one (cure), so
    reasons always explain why the case is risky. Returns codes, English and Chinese text as lists, from
    the reason catalogue; a model feature with no catalogue entry raises
    :class:`~risk.exceptions.RiskDataError` naming it, even on an empty frame.
    """
    entries = catalogue_entries(
        model.features, model=model.name, extra=[a.feature() for a in getattr(model, "attributes", ())]
    )
    if frame.is_empty():
        return pl.DataFrame(schema=REASON_COLUMNS)
    contrib = model.contributions(frame) * sign
    rows, top = len(contrib), min(n, contrib.shape[1])
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :top]
    # in descending order the features raising the risk lead: a row's reasons are the first `raising` of its top n
    raising = pl.Series("raising", (np.take_along_axis(contrib, order, axis=1) > 0).sum(axis=1), dtype=pl.Int64)
    texts = zip(
        REASON_COLUMNS,
        ([e.code for e in entries], [e.reason_en for e in entries], [e.reason_zh for e in entries]),
        strict=True,
    )
    picked = (
        pl.Series(column, values, dtype=pl.String).gather(order.ravel()).reshape((rows, top)).arr.to_list()
        if top
        else pl.Series(column, [[]] * rows, dtype=REASON_COLUMNS[column])
        for column, values in texts
    )
    return pl.DataFrame([*picked, raising]).select(pl.col(*REASON_COLUMNS).list.head(pl.col("raising")))
