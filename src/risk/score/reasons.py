"""Reason codes: the features that pushed a row's risk up most, as codes with English and Chinese text.

Computed from per-row model contributions, and only for the rows that need them (queue entries,
declines and manual reviews), because contributions cost far more than predictions.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from risk.features.catalogue import catalogue_entries
from risk.models.model import RiskModel


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
        return pl.DataFrame(
            schema={
                "reason_codes": pl.List(pl.String),
                "reasons_en": pl.List(pl.String),
                "reasons_zh": pl.List(pl.String),
            }
        )
    contrib = model.contributions(frame) * sign
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :n]
    codes, en, zh = [], [], []
    for row, idx in zip(contrib, order, strict=True):
        picked = [entries[i] for i in idx if row[i] > 0]
        codes.append([f.code for f in picked])
        en.append([f.reason_en for f in picked])
        zh.append([f.reason_zh for f in picked])
    return pl.DataFrame(
        {"reason_codes": codes, "reasons_en": en, "reasons_zh": zh},
        schema={"reason_codes": pl.List(pl.String), "reasons_en": pl.List(pl.String), "reasons_zh": pl.List(pl.String)},
    )
