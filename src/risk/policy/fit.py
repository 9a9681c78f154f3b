"""Learn the collections policy's models from the log: the overdue type and each action's effect.

Pure: validated tables and params in, models and their out-of-time figures out. The effect model reads
type probabilities cross-fitted by loan (never from a type model that saw the loan's own outcome). The
out-of-time validation refits both models on the book as known ``policy.validation_days`` before as_of
and scores the later decisions' randomised comparisons (Qini curve and uplift AUC per action against the
hold-outs); the models that score are then fitted on the whole log.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import lightgbm as lgb
import numpy as np
import polars as pl

from risk import io
from risk.config import Params
from risk.exceptions import RiskDataError
from risk.policy.court import RECOVERY_CELLS, RecoveryModel, closed_cases, fit_recovery
from risk.policy.effects import ACTION_CODE, MAX_WEIGHT, EffectModel, fit_effects, qini
from risk.policy.history import CONTROL, decision_history
from risk.policy.known import known_by
from risk.policy.types import TYPES, TypeModel, cross_fitted_probabilities, established_types, fit_type_model


@dataclass(frozen=True)
class PolicyModels:
    types: TypeModel
    effects: EffectModel
    recovery: RecoveryModel = RecoveryModel(None, 0.0, 12.0)  # what a judgment recovers (court.py)

    def save(self, folder: Path) -> None:
        """Boosters as LightGBM text files (readable, exact), recovery cells in policy.json; swapped in atomically."""

        with io.atomic_path(folder) as tmp:
            tmp.mkdir(parents=True)
            self.types.booster.save_model(str(tmp / "types.txt"))
            self.effects.booster.save_model(str(tmp / "effects.txt"))
            meta = {
                "types": list(TYPES),
                "actions": list(ACTION_CODE),
                "supported": list(self.effects.supported),
                "recovery": {
                    "mean_share": self.recovery.mean_share,
                    "months": self.recovery.months_to_recovery,
                    "cells": None if self.recovery.cells is None else self.recovery.cells.to_dicts(),
                },
            }
            (tmp / "policy.json").write_text(json.dumps(meta, indent=2) + "\n")

    def compiled(self) -> PolicyModels:
        """A copy whose type and effect boosters predict through compiled copies (:mod:`risk.models.compiled`: the
        same predictions bit for bit); this one is left as it is. The effect model prices every lawful (loan, action)
        and is compiled with its trees inlined (350,790 rows at a million active loans: 0.61 s against 1.11 s, for
        53 s to compile once a version); the type model, asked once an overdue loan, without (inlined it would take
        0.06 s against 0.10 s, for 28 s to compile)."""
        from risk.models.compiled import CompiledBooster

        return dataclasses.replace(
            self,
            types=dataclasses.replace(self.types, compiled=CompiledBooster(self.types.booster, inline=False)),
            effects=dataclasses.replace(self.effects, compiled=CompiledBooster(self.effects.booster)),
        )

    @classmethod
    def load(cls, folder: Path) -> PolicyModels:
        meta = json.loads((folder / "policy.json").read_text())
        if (
            meta.get("types") != list(TYPES)
            or meta.get("actions") != list(ACTION_CODE)
            or "cells" not in meta.get("recovery", {})
        ):
            msg = f"{folder} was fitted by another release (types, actions or recovery differ): run `risk policy` again"
            raise RiskDataError(msg, rule="policy_fitted")
        types = TypeModel(lgb.Booster(model_file=str(folder / "types.txt")))
        effects = EffectModel(lgb.Booster(model_file=str(folder / "effects.txt")), tuple(meta["supported"]))
        cells = meta["recovery"]["cells"]
        recovery = RecoveryModel(
            None if cells is None else pl.DataFrame(cells, schema_overrides=dict.fromkeys(RECOVERY_CELLS, pl.Boolean)),
            meta["recovery"]["mean_share"],
            meta["recovery"]["months"],
        )
        return cls(types=types, effects=effects, recovery=recovery)


def validate_effects(effects: EffectModel, later: pl.DataFrame) -> dict[str, dict[str, object]]:
    """Per action, the Qini curve and uplift AUC on the later window's decisions (that action or a hold-out)."""
    share = effects.paid_share(later)
    out: dict[str, dict[str, object]] = {}
    for action in effects.actions:
        arm = later["treatment"].is_in([action, CONTROL]).to_numpy()
        if not arm.any():
            continue
        rows = later.filter(pl.Series(arm))
        weight = np.minimum(1.0 / np.maximum(rows["propensity"].to_numpy(), 1e-6), MAX_WEIGHT)
        out[action] = qini(
            (share[action] - share[CONTROL])[arm],
            rows["paid_share"].to_numpy(),
            (rows["treatment"] == action).to_numpy().astype(float),
            weight,
        )
    return out


def _with_probabilities(history: pl.DataFrame, probabilities: np.ndarray) -> pl.DataFrame:
    return history.with_columns(pl.Series(f"p_{t}", probabilities[:, i], dtype=pl.Float64) for i, t in enumerate(TYPES))


def _learn(
    tables: Mapping[str, pl.DataFrame], params: Params, *, data_as_of: dt.date
) -> tuple[PolicyModels, pl.DataFrame, pl.DataFrame]:
    """Both models from the book as known at ``data_as_of``; also the decision history and the labels."""
    history = decision_history(
        tables, params.features, data_as_of=data_as_of, grace_days=params.collection_rules.promise_grace_days
    )
    labels = established_types(tables, data_as_of=data_as_of, settle_days=params.policy.settle_days)
    types = fit_type_model(history, labels, seed=params.seed)
    crossed = _with_probabilities(history, cross_fitted_probabilities(history, labels, seed=params.seed))
    return PolicyModels(types=types, effects=fit_effects(crossed, seed=params.seed)), history, labels


def fit_policy(tables: Mapping[str, pl.DataFrame], params: Params) -> tuple[PolicyModels, dict[str, object]]:
    """The models fitted on the whole log, their out-of-time validation, and the figures of both.

    Validation refits everything on the book as known at ``as_of - policy.validation_days``
    (:func:`~risk.policy.known.known_by`) and scores the decisions after that day: their type probabilities
    from the earlier type model, their effects from the earlier effect model.
    """
    as_of = params.data.as_of
    split = as_of - dt.timedelta(days=params.policy.validation_days)
    earlier, _, _ = _learn(known_by(tables, split), params, data_as_of=split)
    models, history, labels = _learn(tables, params, data_as_of=as_of)
    if "legal_cases" in tables:
        recovery, court = fit_recovery(closed_cases(tables, data_as_of=as_of), seed=params.seed)
        models = dataclasses.replace(models, recovery=recovery)
    else:
        court = {"cases": 0, "note": "no legal_cases table: suits are priced at no recovery and never planned"}
    later = history.filter(pl.col("decided_on") > split)
    later = _with_probabilities(later, earlier.types.probabilities(later))
    validation = validate_effects(earlier.effects, later)
    counts = history.group_by("treatment").len().sort("treatment")
    figures: dict[str, object] = {
        "decisions": history.height,
        "decisions_by_action": dict(zip(counts["treatment"].to_list(), counts["len"].to_list(), strict=True)),
        "established_types": dict(labels["established_type"].value_counts().sort("established_type").iter_rows()),
        "validation_window": {"fitted_on_the_book_known_by": split.isoformat(), "scored_through": as_of.isoformat()},
        "effects_out_of_time": validation,
        "court_recovery": court,
    }
    return models, figures
