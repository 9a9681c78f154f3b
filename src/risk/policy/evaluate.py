"""The day's plan against the simulator's truth: what each strategy would recover, and how right the types are.

For evaluation only (``risk evaluate-policy``): reads ``truth_actions`` (each open case's expected
repayment in 30 days under each next action) and ``truth`` (the overdue type), which nothing that plans
may read. Four strategies share the same lawful options, capacity and control group:

- ``learned``: the plan the queue carries (types from evidence, effects from the log, the assignment);
- ``rules``: the first release's cascade, its recommended action where lawful, filled by its own value;
- ``random``: a random lawful option per borrower, filled in random order;
- ``oracle``: the assignment on the true effects.

A plan's value is the truth's expected amount repaid within 30 days on the cases it covers (the
planned action's, or doing nothing's where none is planned) minus the planned actions' costs.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl

from risk.contract import Action
from risk.policy.plan import assign
from risk.policy.types import TYPES

STRATEGIES = ("learned", "rules", "random", "oracle")
# the cascade's ladder, top down: where its recommendation is barred it steps down to the next lawful rung
LADDER_DOWN = (
    Action.LITIGATION.value,
    Action.LAWYERS_LETTER.value,
    Action.SETTLEMENT.value,
    Action.INSTALMENT_PLAN.value,
    Action.INTEREST_RELIEF.value,
    Action.EXTENSION.value,
    Action.CALL.value,
    Action.SMS.value,
)
BOOTSTRAP = 1000
CAPACITY_FACTORS = (0.25, 0.5, 1.0, 2.0, 4.0)


def truth_gains(truth_actions: pl.DataFrame) -> pl.DataFrame:
    """loan_id, action, true_paid and true_gain over doing nothing (``hold_out``)."""
    nothing = truth_actions.filter(pl.col("action") == Action.HOLD_OUT.value).select(
        "loan_id", nothing=pl.col("expected_paid_30d")
    )
    return truth_actions.join(nothing, on="loan_id").select(
        "loan_id",
        "action",
        true_paid=pl.col("expected_paid_30d"),
        true_gain=pl.col("expected_paid_30d") - pl.col("nothing"),
    )


def plans(
    options: pl.DataFrame, truth: pl.DataFrame, capacity: Mapping[str, int], *, seed: int
) -> dict[str, pl.DataFrame]:
    """Each strategy's plan (loan_id, action, cost) over ``options`` outside the control group."""
    treated = options.filter(pl.col("policy") != "hold_out")
    rng = np.random.default_rng(seed)
    rung = {a: i for i, a in enumerate(LADDER_DOWN)}
    rules = (
        treated.with_columns(
            step=pl.col("action").replace_strict(rung, default=None, return_dtype=pl.Int64),
            top=pl.col("rule_action").replace_strict(rung, default=None, return_dtype=pl.Int64),
        )
        .filter(pl.col("step") >= pl.col("top"))
        .sort("loan_id", "step")
        .unique("loan_id", keep="first", maintain_order=True)
        .with_columns(value=pl.col("rule_value"))
    )
    random = treated.with_columns(value=pl.Series(rng.random(treated.height) + 1e-9))
    oracle = treated.join(
        truth.select("loan_id", "action", "true_gain"), on=["loan_id", "action"], how="left"
    ).with_columns(value=pl.col("true_gain").fill_null(0.0) - pl.col("cost"))
    return {
        "learned": assign(treated, capacity),
        "rules": assign(rules, capacity),
        "random": assign(random, capacity),
        "oracle": assign(oracle, capacity),
    }


def plan_value(plan: pl.DataFrame, truth: pl.DataFrame) -> dict[str, float]:
    """Expected repayment in 30 days on the truth's cases under ``plan``, its cost and the net."""
    nothing = truth.filter(pl.col("action") == Action.HOLD_OUT.value).select("loan_id", "true_paid")
    taken = plan.join(truth, on=["loan_id", "action"], how="inner")
    unplanned = nothing.join(taken, on="loan_id", how="anti")
    recovered = float(taken["true_paid"].sum() + unplanned["true_paid"].sum())
    cost = float(taken["cost"].sum())
    return {
        "recovered": round(recovered, 2),
        "cost": round(cost, 2),
        "net": round(recovered - cost, 2),
        "actions": taken.height,
        "over_nothing": round(recovered - cost - float(nothing["true_paid"].sum()), 2),
    }


def per_case(plan: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """Each truth case's net value under ``plan`` and its gain over doing nothing (for the intervals)."""
    nothing = truth.filter(pl.col("action") == Action.HOLD_OUT.value).select("loan_id", nothing="true_paid")
    taken = plan.join(truth, on=["loan_id", "action"], how="inner").select("loan_id", "true_paid", "cost")
    return (
        nothing.join(taken, on="loan_id", how="left")
        .with_columns(net=pl.coalesce("true_paid", "nothing") - pl.col("cost").fill_null(0.0))
        .with_columns(gain=pl.col("net") - pl.col("nothing"))
        .select("loan_id", "net", "gain")
        .sort("loan_id")
    )


def intervals(plans_: Mapping[str, pl.DataFrame], truth: pl.DataFrame, *, seed: int) -> dict[str, list[float]]:
    """90% bootstrap intervals (cases resampled, plans fixed) of the learned policy's ratios to the others."""
    cases = {name: per_case(plan, truth) for name, plan in plans_.items()}
    n = cases["learned"].height
    if n == 0:
        return {}
    idx = np.random.default_rng(seed).integers(0, n, size=(BOOTSTRAP, n))

    def sums(name: str, col: str) -> np.ndarray:
        return cases[name][col].to_numpy()[idx].sum(axis=1)

    ratios = {
        "learned_share_of_oracle": sums("learned", "net") / sums("oracle", "net"),
        "learned_share_of_oracle_gain": sums("learned", "gain") / sums("oracle", "gain"),
        "learned_over_rules": sums("learned", "net") / sums("rules", "net"),
    }
    return {
        k: [round(float(np.quantile(v, 0.05)), 3), round(float(np.quantile(v, 0.95)), 3)] for k, v in ratios.items()
    }


def type_accuracy(queue: pl.DataFrame, truth_types: pl.DataFrame, column: str) -> dict[str, object]:
    """Accuracy, recall per type and the confusion matrix (true type -> predicted counts) of ``column``."""
    rows = (
        queue.filter(pl.col("days_past_due") > 0, pl.col(column).is_not_null())
        .select("loan_id", predicted=pl.col(column))
        .join(truth_types.select("loan_id", true=pl.col("overdue_type")), on="loan_id")
        .filter(pl.col("true").is_not_null())
    )
    if rows.is_empty():
        return {"n": 0}
    hit = rows["predicted"] == rows["true"]
    confusion = {t: {p: int(((rows["true"] == t) & (rows["predicted"] == p)).sum()) for p in TYPES} for t in TYPES}
    recall = {t: round(confusion[t][t] / max(sum(confusion[t].values()), 1), 3) for t in TYPES}
    return {"n": rows.height, "accuracy": round(float(hit.mean()), 3), "recall": recall, "confusion": confusion}


def effect_agreement(options: pl.DataFrame, truth: pl.DataFrame) -> dict[str, dict[str, float]]:
    """Per action: rank correlation of the learned gain with the true gain over the lawful options, and means."""
    rows = options.join(truth, on=["loan_id", "action"], how="inner")
    out: dict[str, dict[str, float]] = {}
    for action in sorted(set(rows["action"].to_list())):
        r = rows.filter(pl.col("action") == action)
        if r.height < 5:
            continue
        rho = r.select(pl.corr("expected_gain", "true_gain", method="spearman")).item()
        out[action] = {
            "n": r.height,
            "spearman": round(float(rho), 3) if rho is not None and np.isfinite(rho) else None,
            "mean_learned_gain": round(float(r["expected_gain"].mean()), 2),
            "mean_true_gain": round(float(r["true_gain"].mean()), 2),
        }
    return out


def evaluate_day(
    queue: pl.DataFrame,
    options: pl.DataFrame,
    truth_actions: pl.DataFrame,
    truth_types: pl.DataFrame,
    capacity: Mapping[str, int],
    *,
    seed: int,
) -> dict[str, object]:
    """Every figure of metrics/policy.json for one scored day."""
    truth = truth_gains(truth_actions)
    planned = queue.filter(pl.col("scheduled"), pl.col("policy") == "champion").select("loan_id", action="next_action")
    learned = planned.join(options.select("loan_id", "action", "cost"), on=["loan_id", "action"], how="left")
    by_strategy = plans(options, truth, capacity, seed=seed)
    by_strategy["learned"] = learned
    values = {name: plan_value(by_strategy[name], truth) for name in STRATEGIES}
    spread = intervals(by_strategy, truth, seed=seed)
    oracle_gain = values["oracle"]["over_nothing"]
    rules_net = values["rules"]["net"]
    curve = []
    for factor in CAPACITY_FACTORS:
        scaled = {team: int(round(cap * factor)) for team, cap in capacity.items()}
        at = plans(options, truth, scaled, seed=seed)
        curve.append(
            {
                "capacity_factor": factor,
                "contacts": {name: at[name].height for name in ("learned", "rules", "oracle")},
                "net": {name: plan_value(at[name], truth)["net"] for name in ("learned", "rules", "oracle")},
            }
        )
    barred = queue.filter(
        pl.col("policy") == "champion", pl.col("rule_action").is_not_null(), pl.col("days_past_due") > 0
    ).join(options, left_on=["loan_id", "rule_action"], right_on=["loan_id", "action"], how="anti")
    return {
        "cases_with_truth": truth["loan_id"].n_unique(),
        "strategies": values,
        "learned_share_of_oracle": round(values["learned"]["net"] / values["oracle"]["net"], 3)
        if values["oracle"]["net"]
        else None,
        "learned_share_of_oracle_gain": round(values["learned"]["over_nothing"] / oracle_gain, 3)
        if oracle_gain
        else None,
        "learned_over_rules": round(values["learned"]["net"] / rules_net, 3) if rules_net else None,
        "intervals_90": spread,
        "capacity_curve": curve,
        "overdue_type": {
            "learned": type_accuracy(queue, truth_types, "overdue_type"),
            "rules": type_accuracy(queue, truth_types, "rule_overdue_type"),
        },
        "effects_vs_truth": effect_agreement(options, truth),
        "rule_actions_barred_by_the_rules": barred.height,
        "control_group": {  # drawn among the borrowers with a lawful option
            "borrowers": queue.filter(pl.col("policy") == "hold_out")["borrower_id"].n_unique(),
            "share": round(
                queue.filter(pl.col("policy") == "hold_out")["borrower_id"].n_unique()
                / max(options["borrower_id"].n_unique(), 1),
                3,
            ),
        },
    }
