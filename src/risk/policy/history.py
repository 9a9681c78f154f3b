"""The logged decisions (催收决策记录): what the lender did on each day a case was worked, and what followed.

One row per loan and decision day: the strongest action taken that day (or ``hold_out`` for a day left
without action by design), the logged probability with which the policy chose it, the state the
decision was made in (the loan's features and the case evidence at the end of the day before) and the
amount repaid in the next 30 days, or until the case was escalated to a stronger action if that came
first (what was repaid after the escalation is the stronger action's doing). Effects and overdue types
are learned from this table only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import polars as pl

from risk.config import FeatureParams
from risk.contract import Action
from risk.delinquency import ledger_frame
from risk.features.build import loan_state
from risk.policy.evidence import case_evidence

WINDOW_DAYS = 30  # the horizon of every effect and of the policy's value
# the actions the policy chooses among, strongest first: a day's decision is its strongest action
TREATMENTS: tuple[str, ...] = (
    Action.LITIGATION.value,
    Action.LAWYERS_LETTER.value,
    Action.SETTLEMENT.value,
    Action.INTEREST_RELIEF.value,
    Action.INSTALMENT_PLAN.value,
    Action.EXTENSION.value,
    Action.CALL.value,
    Action.EMAIL.value,
    Action.SMS.value,
    Action.HOLD_OUT.value,
)
CONTROL = Action.HOLD_OUT.value


def balance() -> pl.Expr:
    """The scale of every amount the policy weighs: the unpaid principal, overdue part included (adding
    the arrears would count the overdue principal twice)."""
    return pl.col("outstanding_principal")


def decisions(actions: pl.LazyFrame) -> pl.LazyFrame:
    """One row per loan and day with a logged decision among ``TREATMENTS``: the strongest, its probability."""
    rank = {a: i for i, a in enumerate(TREATMENTS)}
    return (
        actions.filter(pl.col("action").is_in(TREATMENTS))
        .with_columns(
            decided_on=pl.col("action_at").dt.date(),
            strength=pl.col("action").replace_strict(rank, return_dtype=pl.Int64),
        )
        .sort("loan_id", "decided_on", "strength", "action_at")
        .group_by("loan_id", "decided_on", maintain_order=True)
        .agg(
            treatment=pl.col("action").first(),
            strength=pl.col("strength").first(),
            propensity=pl.col("assignment_probability").first().fill_null(1.0),
            logged_by=pl.col("policy").first(),
        )
    )


def escalated_on(logged: pl.LazyFrame, days: int = WINDOW_DAYS) -> pl.LazyFrame:
    """Per decision: the first later day within ``days`` on which a stronger action was taken (null: none)."""
    later = logged.select("loan_id", later_on="decided_on", later_strength="strength")
    return (
        logged.select("loan_id", "decided_on", "strength")
        .join(later, on="loan_id")
        .filter(
            (pl.col("later_on") > pl.col("decided_on"))
            & (pl.col("later_on") < pl.col("decided_on") + pl.duration(days=days))
            & (pl.col("later_strength") < pl.col("strength"))
        )
        .group_by("loan_id", "decided_on")
        .agg(escalated_on=pl.col("later_on").min())
    )


def paid_within(pairs: pl.LazyFrame, repayments: pl.LazyFrame, days: int = WINDOW_DAYS) -> pl.LazyFrame:
    """Amount repaid on each pair's loan from its ``decided_on`` through the next ``days - 1`` days, or up
    to the day before the case was escalated to a stronger action (what came after is that action's)."""
    on = pl.col("paid_at").dt.date()
    end = pl.min_horizontal(
        pl.col("decided_on") + pl.duration(days=days), pl.col("escalated_on").fill_null(pl.date(9999, 12, 31))
    )
    return (
        pairs.select("loan_id", "decided_on", "escalated_on")
        .join(repayments.select("loan_id", "paid_at", "amount"), on="loan_id")
        .filter((on >= pl.col("decided_on")) & (on < end))
        .group_by("loan_id", "decided_on")
        .agg(paid_30d=pl.col("amount").sum())
    )


def decision_history(
    tables: Mapping[str, pl.DataFrame],
    features: FeatureParams,
    *,
    data_as_of: dt.date,
    grace_days: int,
) -> pl.DataFrame:
    """Every logged decision on an overdue loan whose 30 days are over by ``data_as_of``, with its state.

    ``balance`` (:func:`balance`) is the scale of every amount: ``paid_share`` is the
    amount repaid in the window over it, capped at 1.
    """
    t = {k: v.lazy() for k, v in tables.items()}
    last_day = data_as_of - dt.timedelta(days=WINDOW_DAYS - 1)
    logged = decisions(t["collection_actions"])
    logged = (
        logged.join(escalated_on(logged), on=["loan_id", "decided_on"], how="left")
        .filter(pl.col("decided_on") <= last_day)
        .join(t["loans"].select("loan_id", "borrower_id"), on="loan_id")
        .with_columns(as_of=pl.col("decided_on") - pl.duration(days=1))
        .collect()
        .lazy()
    )
    ledger = ledger_frame(tables).lazy()
    pairs = logged.select("loan_id", "borrower_id", "as_of")
    state = loan_state(t, pairs, features, ledger=ledger)
    evidence = case_evidence(t, pairs, grace_days=grace_days)
    return (
        logged.join(state, on=["loan_id", "borrower_id", "as_of"])
        .join(evidence, on=["loan_id", "borrower_id", "as_of"], how="left")
        .join(paid_within(logged, t["repayments"]), on=["loan_id", "decided_on"], how="left")
        .filter(pl.col("days_past_due") > 0)
        .with_columns(
            paid_30d=pl.col("paid_30d").fill_null(0.0),
            balance=balance(),
        )
        .with_columns(paid_share=(pl.col("paid_30d") / pl.col("balance")).clip(0.0, 1.0))
        .sort("decided_on", "loan_id")
        .collect()
    )
