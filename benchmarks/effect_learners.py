"""Which effect learner makes the better collections plan? The S-learner the policy uses against a T-learner.

Both learn from the same logged decisions (same features, cross-fitted type probabilities, inverse-
propensity weights); each then plans the same day with the same lawful options, capacity and control
group, and the plan is priced with the simulator's potential outcomes, as `risk evaluate-policy` does.
Run after `make run` (it reads data/validated, data/raw and the MLflow champions):

    uv run python benchmarks/effect_learners.py
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import polars as pl

from risk import io
from risk.config import load_params
from risk.models import tracking
from risk.paths import Paths
from risk.policy.effects import EFFECT_FEATURES, MAX_WEIGHT, MIN_ARM_ROWS, fit_effects
from risk.policy.evaluate import evaluate_day
from risk.policy.fit import PolicyModels
from risk.policy.history import CONTROL, decision_history
from risk.policy.types import TYPES, cross_fitted_probabilities, established_types, fit_type_model
from risk.score.score import plan_queue, score_loans
from risk.score.stage import load_models


@dataclass(frozen=True)
class TLearner:
    """One weighted LightGBM per action: the same interface as the policy's EffectModel."""

    arms: dict[str, lgb.Booster]

    @property
    def actions(self) -> tuple[str, ...]:
        return tuple(a for a in self.arms if a != CONTROL)

    def paid_share(self, frame: pl.DataFrame) -> dict[str, np.ndarray]:
        x = frame.select(pl.col(c).cast(pl.Float64) for c in EFFECT_FEATURES).to_numpy()
        return {a: np.clip(np.asarray(b.predict(x)), 0.0, 1.0) for a, b in self.arms.items()}

    def expected_paid(self, frame: pl.DataFrame) -> pl.DataFrame:
        share = self.paid_share(frame)
        balance = frame["balance"].to_numpy()
        base = share[CONTROL] * balance
        return pl.concat(
            pl.DataFrame(
                {"loan_id": frame["loan_id"], "action": [a] * frame.height, "expected_paid": s * balance},
                schema={"loan_id": pl.String, "action": pl.String, "expected_paid": pl.Float64},
            ).with_columns(expected_gain=pl.col("expected_paid") - pl.Series(base))
            for a, s in share.items()
        )


def fit_t(history: pl.DataFrame, seed: int) -> TLearner:
    arms = {}
    for action, rows in history.group_by("treatment"):
        if rows.height < MIN_ARM_ROWS:
            continue
        w = np.minimum(1.0 / np.maximum(rows["propensity"].to_numpy(), 1e-6), MAX_WEIGHT)
        x = rows.select(pl.col(c).cast(pl.Float64) for c in EFFECT_FEATURES).to_numpy()
        data = lgb.Dataset(x, label=rows["paid_share"].to_numpy(), weight=w * len(w) / w.sum())
        params = {"objective": "cross_entropy", "learning_rate": 0.05, "num_leaves": 15, "min_data_in_leaf": 30}
        arms[action[0]] = lgb.train({**params, "seed": seed, "verbose": -1, "num_threads": 1}, data, 150)
    return TLearner(arms)


def main() -> None:
    paths, params = Paths.at("."), load_params()
    as_of = params.data.as_of
    tables = io.read_book(paths.validated)
    history = decision_history(
        tables, params.features, data_as_of=as_of, grace_days=params.collection_rules.promise_grace_days
    )
    labels = established_types(tables, data_as_of=as_of, settle_days=params.policy.settle_days)
    types = fit_type_model(history, labels, seed=params.seed)
    p = cross_fitted_probabilities(history, labels, seed=params.seed)
    history = history.with_columns(pl.Series(f"p_{t}", p[:, i]) for i, t in enumerate(TYPES))
    tracking.configure(paths.mlflow_uri)
    base = load_models(params.score.alias)
    scored = score_loans(tables, base, params, as_of=as_of)
    truth_actions = pl.read_parquet(paths.raw / "truth_actions.parquet")
    truth = pl.read_parquet(paths.raw / "truth.parquet")
    print(f"default book as of {as_of}: {history.height:,} logged decisions")
    for name, effects in (
        ("S-learner (the policy's)", fit_effects(history, seed=params.seed)),
        ("T-learner", fit_t(history, params.seed)),
    ):
        models = dataclasses.replace(base, policy=PolicyModels(types=types, effects=effects))
        queue, options = plan_queue(scored, models, params, as_of=as_of)
        r = evaluate_day(queue, options, truth_actions, truth, dict(params.score.capacity), seed=params.seed)
        rho = {a: v["spearman"] for a, v in r["effects_vs_truth"].items()}
        print(
            f"{name:26s} net {r['strategies']['learned']['net']:>10,.0f}"
            f"  of the oracle {r['learned_share_of_oracle']:.3f}"
            f"  of its gain {r['learned_share_of_oracle_gain']:.3f}  Spearman vs truth {rho}"
        )
    print(f"{'oracle':26s} net {r['strategies']['oracle']['net']:>10,.0f}")


if __name__ == "__main__":
    main()
