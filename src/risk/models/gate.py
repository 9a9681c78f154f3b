"""The promotion gate: a newly trained model replaces the one in service only when it is measurably better.

Retraining every month gives a new candidate every month; swapping the model in service each time would
move every grade and every queue on noise. The candidate goes live (MLflow's ``champion`` alias and
``models/pinned.json``) only if, on the current out-of-time test window, it beats the champion in service
by ``train.promotion.margin`` AUC and, when required, has no red grade in the calibration test. Otherwise
the champion in service stays and the candidate becomes the challenger. The decision and its evidence go
to metrics, MLflow (tags on the candidate's run) and the model card.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from risk.config import PromotionParams

PROMOTED, HELD, FIRST = "promoted", "held", "first"


@dataclass(frozen=True)
class Promotion:
    decision: str  # promoted | held | first (no champion in service yet)
    candidate_kind: str
    candidate_version: str
    candidate_auc: float
    candidate_red_grades: int
    incumbent_version: str | None
    incumbent_auc: float | None  # None: none in service, or it cannot score today's features
    reason: str

    @property
    def live(self) -> bool:
        return self.decision != HELD

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"live": self.live}


def decide(
    *,
    candidate_kind: str,
    candidate_version: str,
    candidate_auc: float,
    candidate_red_grades: int,
    incumbent_version: str | None,
    incumbent_auc: float | None,
    params: PromotionParams,
) -> Promotion:
    """Promote, hold or install the first champion; ``reason`` says which figures decided it."""
    args = (candidate_kind, candidate_version, candidate_auc, candidate_red_grades, incumbent_version, incumbent_auc)
    if incumbent_version is None or incumbent_version == candidate_version:
        return Promotion(FIRST, *args, "no champion in service yet: the best candidate goes live")
    if incumbent_auc is None or not np.isfinite(incumbent_auc):
        reason = f"the champion in service (v{incumbent_version}) cannot score today's features"
        if candidate_red_grades:
            reason += f"; the candidate goes live with {candidate_red_grades} red grade(s) in the calibration test"
        return Promotion(PROMOTED, *args, reason)
    gain = candidate_auc - incumbent_auc
    red = params.require_calibration and candidate_red_grades > 0
    figures = f"test AUC {candidate_auc:.4f} against v{incumbent_version}'s {incumbent_auc:.4f} ({gain:+.4f})"
    if gain < params.margin:
        return Promotion(HELD, *args, f"{figures}: less than the margin {params.margin:g}")
    if red:
        return Promotion(HELD, *args, f"{figures}, but {candidate_red_grades} red grade(s) in the calibration test")
    return Promotion(PROMOTED, *args, f"{figures}: beyond the margin {params.margin:g}, calibration passed")
