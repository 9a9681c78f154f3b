"""Learn the collections policy's models from the log: the overdue type and each action's effect.

Pure: validated tables and params in, models and their out-of-time figures out. The effects are
validated on the log's last ``policy.validation_days`` (fitted on the days before, scored on the later
window's randomised comparisons: Qini curve and uplift AUC per action against the hold-outs), then
refitted on the whole log for scoring.
"""

from __future__ import annotations

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
from risk.policy.effects import ACTION_CODE, MAX_WEIGHT, EffectModel, fit_effects, qini, with_type_probabilities
from risk.policy.history import CONTROL, decision_history
from risk.policy.types import TYPES, TypeModel, established_types, fit_type_model


@dataclass(frozen=True)
class PolicyModels:
    types: TypeModel
    effects: EffectModel

    def save(self, folder: Path) -> None:
        """Boosters as LightGBM text files (readable, exact), written to a temporary folder then swapped in."""

        with io.atomic_path(folder) as tmp:
            tmp.mkdir(parents=True)
            self.types.booster.save_model(str(tmp / "types.txt"))
            self.effects.booster.save_model(str(tmp / "effects.txt"))
            meta = {"types": list(TYPES), "actions": list(ACTION_CODE), "supported": list(self.effects.supported)}
            (tmp / "policy.json").write_text(json.dumps(meta, indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path) -> PolicyModels:
        meta = json.loads((folder / "policy.json").read_text())
        if meta.get("types") != list(TYPES) or meta.get("actions") != list(ACTION_CODE):
            msg = f"{folder} was fitted by another release (types or actions differ): run `risk policy` again"
            raise RiskDataError(msg, rule="policy_fitted")
        types = TypeModel(lgb.Booster(model_file=str(folder / "types.txt")))
        effects = EffectModel(lgb.Booster(model_file=str(folder / "effects.txt")), tuple(meta["supported"]))
        return cls(types=types, effects=effects)


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


def fit_policy(tables: Mapping[str, pl.DataFrame], params: Params) -> tuple[PolicyModels, dict[str, object]]:
    """The type model, the effects validated out of time and refitted on the whole log, and their figures."""
    as_of = params.data.as_of
    history = decision_history(
        tables, params.features, data_as_of=as_of, grace_days=params.collection_rules.promise_grace_days
    )
    labels = established_types(tables, data_as_of=as_of, settle_days=params.policy.settle_days)
    types = fit_type_model(history, labels, seed=params.seed)
    history = with_type_probabilities(history, types)
    split = as_of - dt.timedelta(days=params.policy.validation_days)
    earlier, later = history.filter(pl.col("decided_on") <= split), history.filter(pl.col("decided_on") > split)
    validation = validate_effects(fit_effects(earlier, seed=params.seed), later)
    effects = fit_effects(history, seed=params.seed)
    counts = history.group_by("treatment").len().sort("treatment")
    figures: dict[str, object] = {
        "decisions": history.height,
        "decisions_by_action": dict(zip(counts["treatment"].to_list(), counts["len"].to_list(), strict=True)),
        "established_types": dict(labels["established_type"].value_counts().sort("established_type").iter_rows()),
        "validation_window": {"after": split.isoformat(), "through": as_of.isoformat()},
        "effects_out_of_time": validation,
    }
    return PolicyModels(types=types, effects=effects), figures
