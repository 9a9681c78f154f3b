"""Treatment effects learned from the logged history (催收效果): what each action adds to 30-day repayment.

An S-learner: one LightGBM model of the share of the balance repaid in the 30 days from the decision
day, over the case's evidence, the type model's probabilities and the action taken (a categorical
feature), fitted on every logged decision, each weighted by the inverse of the probability the logged
policy chose its action (clipped at ``MAX_WEIGHT``), so that each action is fitted as if on the whole
book. The hold-out days (对照组) are the control. An action's effect for a loan is the model's
prediction with that action minus its prediction with the control, times the loan's balance.

One model shares what the actions have in common (how a case's evidence bears on repaying at all) and
learns only their differences per action; on the default book it beats one model per action (a
T-learner) clearly (docs/collections_policy.md). The logged outcome after an action includes what the
ladder did in the following days; the control's does not (a hold-out lasts its 30 days). An effect
here is "this action today, then the usual ladder" against "nothing for 30 days".
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import lightgbm as lgb
import numpy as np
import polars as pl

from risk.policy.history import CONTROL, TREATMENTS
from risk.policy.types import REPRODUCIBLE, TYPE_FEATURES, TYPES, TypeModel, booster_predict

if TYPE_CHECKING:
    from risk.models.compiled import CompiledBooster

EFFECT_FEATURES: tuple[str, ...] = (*TYPE_FEATURES, *(f"p_{t}" for t in TYPES))
MIN_ARM_ROWS = 200  # an action logged on fewer decision days is never recommended (no support in the log)
MAX_WEIGHT = 50.0  # inverse-propensity weights are clipped here (a probability of 2%)
ACTION_CODE = {a: i for i, a in enumerate(TREATMENTS)}


def with_type_probabilities(frame: pl.DataFrame, types: TypeModel) -> pl.DataFrame:
    """``frame`` with each type's probability (``p_<type>``) from the type model."""
    p = types.probabilities(frame)
    return frame.with_columns(pl.Series(f"p_{t}", p[:, i], dtype=pl.Float64) for i, t in enumerate(TYPES))


def effect_matrix(frame: pl.DataFrame) -> np.ndarray:
    """The effect model's inputs: ``EFFECT_FEATURES`` then the code of the row's own action (``treatment``)."""
    code = frame["treatment"].replace_strict(ACTION_CODE, return_dtype=pl.Float64).to_numpy()
    return np.column_stack([_evidence(frame), code])


def with_actions(
    frame: pl.DataFrame, actions: Collection[str], rows: Mapping[str, np.ndarray] | None = None
) -> np.ndarray:
    """The effect model's inputs for every row under each of ``actions`` in turn: the rows of the first action,
    then of the second (one model call prices them all; a row's prediction does not depend on its neighbours).
    With ``rows`` (action: mask of the frame's rows), an action in it has only its rows."""
    x = _evidence(frame)
    picked = [None if rows is None or a not in rows else np.flatnonzero(rows[a]) for a in actions]
    sizes = [frame.height if p is None else len(p) for p in picked]
    out = np.empty((sum(sizes), x.shape[1] + 1))
    start = 0
    for action, p, n in zip(actions, picked, sizes, strict=True):  # filled in place: no stacked copies
        out[start : start + n, :-1] = x if p is None else x[p]
        out[start : start + n, -1] = float(ACTION_CODE[action])
        start += n
    return out


def _evidence(frame: pl.DataFrame) -> np.ndarray:
    return frame.select(pl.col(c).cast(pl.Float64) for c in EFFECT_FEATURES).to_numpy()


@dataclass(frozen=True)
class EffectModel:
    """The S-learner and the actions it may recommend (those with support in the log, and the control).
    ``compiled``: the booster's compiled copy (:meth:`risk.policy.fit.PolicyModels.compiled`), which predicts in
    its place."""

    booster: lgb.Booster
    supported: tuple[str, ...]
    compiled: CompiledBooster | None = None

    @property
    def actions(self) -> tuple[str, ...]:
        """The actions with support in the log, other than the control."""
        return tuple(a for a in self.supported if a != CONTROL)

    def paid_share(
        self,
        frame: pl.DataFrame,
        actions: Collection[str] | None = None,
        *,
        rows: Mapping[str, np.ndarray] | None = None,
    ) -> dict[str, np.ndarray]:
        """Predicted share of the balance repaid within 30 days, per supported action (control included); with
        ``actions``, only those of them that are supported, and the control; with ``rows`` (action: mask of the
        frame's rows), an action in it only for its rows (the control always for every row)."""
        wanted = [a for a in self.supported if actions is None or a == CONTROL or a in actions]
        rows = {a: m for a, m in (rows or {}).items() if a != CONTROL}
        sizes = [frame.height if a not in rows else int(np.count_nonzero(rows[a])) for a in wanted]
        if frame.is_empty():
            return {a: np.zeros(0) for a in wanted}
        share = np.clip(booster_predict(self.booster, self.compiled, with_actions(frame, wanted, rows)), 0.0, 1.0)
        return dict(zip(wanted, np.split(share, np.cumsum(sizes)[:-1]), strict=True))

    def expected_paid(
        self,
        frame: pl.DataFrame,
        actions: Collection[str] | None = None,
        *,
        rows: Mapping[str, np.ndarray] | None = None,
    ) -> pl.DataFrame:
        """Long frame: loan_id, action (the control too), expected amount repaid and gain over the control; with
        ``actions``, only those (one model call prices them all, over the frame once per action); with ``rows``
        (action: mask of the frame's rows), an action in it only for its rows."""
        rows = {a: m for a, m in (rows or {}).items() if a != CONTROL}
        share = self.paid_share(frame, actions, rows=rows)
        balance = frame["balance"].to_numpy()
        base = share[CONTROL] * balance
        schema = {"loan_id": pl.String, "action": pl.String, "expected_paid": pl.Float64, "expected_gain": pl.Float64}
        parts = []
        for action, s in share.items():
            mask = rows.get(action)
            loans, owed, control = (
                (frame["loan_id"], balance, base)
                if mask is None
                else (frame["loan_id"].filter(pl.Series(mask)), balance[mask], base[mask])
            )
            parts.append(
                pl.DataFrame(
                    {
                        "loan_id": loans,
                        "action": [action] * len(s),
                        "expected_paid": s * owed,
                        "expected_gain": s * owed - control,
                    },
                    schema=schema,
                )
            )
        return pl.concat(parts)


def fit_effects(history: pl.DataFrame, *, seed: int, rounds: int = 300) -> EffectModel:
    """The S-learner on every logged decision, inverse-propensity weighted."""
    counts = dict(history.group_by("treatment").len().iter_rows())
    if counts.get(CONTROL, 0) < MIN_ARM_ROWS:
        raise ValueError(f"the log has fewer than {MIN_ARM_ROWS} hold-out decision days: no control to learn from")
    supported = tuple(a for a in TREATMENTS if counts.get(a, 0) >= MIN_ARM_ROWS)
    rows = history.filter(pl.col("treatment").is_in(supported))
    weight = np.minimum(1.0 / np.maximum(rows["propensity"].to_numpy(), 1e-6), MAX_WEIGHT)
    x = effect_matrix(rows)
    data = lgb.Dataset(
        x,
        label=rows["paid_share"].to_numpy(),
        weight=weight * len(weight) / weight.sum(),
        categorical_feature=[x.shape[1] - 1],
    )
    booster = lgb.train(
        {
            "objective": "cross_entropy",  # the target is a share in [0, 1]
            "learning_rate": 0.05,
            "num_leaves": 31,
            "min_data_in_leaf": 30,
            "seed": seed,
            **REPRODUCIBLE,
            "verbose": -1,
        },
        data,
        num_boost_round=rounds,
    )
    return EffectModel(booster=booster, supported=supported)


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
