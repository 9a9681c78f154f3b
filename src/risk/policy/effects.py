"""Treatment effects learned from the logged history (催收效果): what each action adds to 30-day repayment.

A T-learner: for each action, a LightGBM model of the share of the balance repaid in the 30 days from
the decision day, fitted on the decision days that action was logged on, each weighted by the inverse
of the probability the logged policy chose it (so every arm is fitted as if on the whole book); the
hold-out days (对照组) are the control arm. An action's effect for a loan is its arm's prediction minus
the control's, times the loan's balance. The arms' models read the case's evidence and the type
model's probabilities, so effects differ by type where the data says they do.

The logged outcome after an action includes what the ladder did in the following days; the control
arm's does not (a hold-out lasts its 30 days). An effect here is "this action today, then the usual
ladder" against "nothing for 30 days".
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import polars as pl

from risk.policy.history import CONTROL, TREATMENTS
from risk.policy.types import TYPE_FEATURES, TYPES, TypeModel

EFFECT_FEATURES: tuple[str, ...] = (*TYPE_FEATURES, *(f"p_{t}" for t in TYPES))
MIN_ARM_ROWS = 200  # an action logged on fewer decision days gets no model and is never recommended
MAX_WEIGHT = 50.0  # inverse-propensity weights are clipped here (a probability of 2%)


def with_type_probabilities(frame: pl.DataFrame, types: TypeModel) -> pl.DataFrame:
    """``frame`` with each type's probability (``p_<type>``) from the type model."""
    p = types.probabilities(frame)
    return frame.with_columns(pl.Series(f"p_{t}", p[:, i], dtype=pl.Float64) for i, t in enumerate(TYPES))


def effect_matrix(frame: pl.DataFrame) -> np.ndarray:
    return frame.select(pl.col(c).cast(pl.Float64) for c in EFFECT_FEATURES).to_numpy()


@dataclass(frozen=True)
class EffectModel:
    """One booster per action (and the control); predictions are shares of the balance repaid in 30 days."""

    arms: dict[str, lgb.Booster]

    @property
    def actions(self) -> tuple[str, ...]:
        """The actions with a model, other than the control."""
        return tuple(a for a in TREATMENTS if a in self.arms and a != CONTROL)

    def paid_share(self, frame: pl.DataFrame) -> dict[str, np.ndarray]:
        """Predicted share of the balance repaid within 30 days, per arm (control included)."""
        if frame.is_empty():
            return {a: np.zeros(0) for a in self.arms}
        x = effect_matrix(frame)
        return {a: np.clip(np.asarray(b.predict(x)), 0.0, 1.0) for a, b in self.arms.items()}

    def expected_paid(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Long frame: loan_id, action (the control too), expected amount repaid and gain over the control."""
        share = self.paid_share(frame)
        balance = frame["balance"].to_numpy()
        base = share[CONTROL] * balance
        parts = [
            pl.DataFrame(
                {
                    "loan_id": frame["loan_id"],
                    "action": [a] * frame.height,
                    "expected_paid": s * balance,
                    "expected_gain": s * balance - base,
                }
            )
            for a, s in share.items()
        ]
        return pl.concat(parts) if parts else pl.DataFrame()


def fit_effects(history: pl.DataFrame, *, seed: int, rounds: int = 150) -> EffectModel:
    """One weighted model per action with at least ``MIN_ARM_ROWS`` logged decision days."""
    params = {
        "objective": "cross_entropy",  # the target is a share in [0, 1]
        "learning_rate": 0.05,
        "num_leaves": 15,
        "min_data_in_leaf": 30,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "seed": seed,
        "deterministic": True,
        "num_threads": 1,
        "verbose": -1,
    }
    arms: dict[str, lgb.Booster] = {}
    for action in TREATMENTS:
        rows = history.filter(pl.col("treatment") == action)
        if rows.height < MIN_ARM_ROWS:
            continue
        weight = np.minimum(1.0 / np.maximum(rows["propensity"].to_numpy(), 1e-6), MAX_WEIGHT)
        data = lgb.Dataset(
            effect_matrix(rows), label=rows["paid_share"].to_numpy(), weight=weight * len(weight) / weight.sum()
        )
        arms[action] = lgb.train(params, data, num_boost_round=rounds)
    if CONTROL not in arms:
        raise ValueError(f"the history has fewer than {MIN_ARM_ROWS} hold-out decision days: no control arm")
    return EffectModel(arms)


def qini(uplift: np.ndarray, outcome: np.ndarray, treated: np.ndarray, weight: np.ndarray) -> dict[str, object]:
    """Qini curve and the uplift AUC of ``uplift`` on a randomised comparison (treated against control).

    The curve at each share of the population, taken in decreasing order of predicted uplift, is the
    weighted treated outcome minus the control outcome scaled to the treated count; the uplift AUC is
    the area between it and the random line; both per decision, in shares of the balance (0: no better
    than random).
    """
    order = np.argsort(-uplift, kind="stable")
    y, t, w = outcome[order], treated[order], weight[order]
    n_t, n_c = np.cumsum(w * t), np.cumsum(w * (1 - t))
    y_t, y_c = np.cumsum(w * y * t), np.cumsum(w * y * (1 - t))
    curve = (y_t - np.where(n_c > 0, y_c * n_t / np.maximum(n_c, 1e-12), 0.0)) / w.sum()
    share = np.cumsum(w) / w.sum()
    random = share * curve[-1]
    auc = float(np.trapezoid(curve - random, share)) if len(curve) > 1 else 0.0
    points = np.linspace(0, len(curve) - 1, num=min(11, len(curve))).astype(int)
    return {
        "uplift_auc": auc,
        "total_gain": float(curve[-1]),
        "curve": [{"share": float(share[i]), "gain": float(curve[i])} for i in points],
        "n_treated": int(t.sum()),
        "n_control": int((1 - t).sum()),
    }
