"""The day's case-management tables from the validated tables and the day's scored loans.

Called by the score stage: the agreements table before the collections plan (which sends its reminders), the
legal queue and the recovery queue beside it (each only when the export has what it needs: no agreements table without
``agreements``, no legal queue without ``legal_cases``; the recovery queue always).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import polars as pl

from risk.cases.agreements import agreements_day
from risk.cases.legal import LEGAL_COLUMNS, legal_queue
from risk.cases.recovery import recovery_queue
from risk.config import Params
from risk.contract import Action
from risk.policy.court import RecoveryModel, closed_cases, fit_recovery
from risk.policy.effects import with_type_probabilities
from risk.policy.fit import PolicyModels


def recovery_model(tables: Mapping[str, pl.DataFrame], policy: PolicyModels | None, params: Params) -> RecoveryModel:
    """The learned policy's court-recovery model; without one (the rules strategy), the same model fitted
    here on the book's closed cases (a few hundred rows: milliseconds)."""
    if policy is not None:
        return policy.recovery
    if "legal_cases" not in tables:
        return RecoveryModel(None, 0.0, 12.0)
    return fit_recovery(closed_cases(tables, data_as_of=params.data.as_of), seed=params.seed)[0]


def agreements_of_day(tables: Mapping[str, pl.DataFrame], params: Params, *, as_of: dt.date) -> dict[str, pl.DataFrame]:
    """``agreements_day`` for ``as_of`` when the export has agreements (the collections plan sends its reminders)."""
    if "agreements" not in tables:
        return {}
    return {
        "agreements_day": agreements_day(
            tables["agreements"],
            tables["repayments"],
            tables["loans"],
            params.cases,
            grace_days=params.collection_rules.promise_grace_days,
            as_of=as_of,
        )
    }


def court_day(
    tables: Mapping[str, pl.DataFrame],
    scored: pl.DataFrame,
    policy: PolicyModels | None,
    params: Params,
    *,
    as_of: dt.date,
) -> dict[str, pl.DataFrame]:
    """``legal_queue`` (when the export has legal cases) and ``recovery_queue`` for ``as_of``: the suits'
    economics of the loans they hold, the charged-off and those under a legal case."""
    c = pl.col
    court = recovery_model(tables, policy, params)
    off = c("days_past_due") >= params.score.charge_off_dpd
    held = (off | c("loan_id").is_in(tables["legal_cases"]["loan_id"].implode())) if "legal_cases" in tables else off
    priced = court.economics(scored.filter(held), params.score.legal, rate_cap=params.policy.court_rate_cap)
    out: dict[str, pl.DataFrame] = {}
    if "legal_cases" in tables:
        legal = legal_queue(tables["legal_cases"], tables["loans"], priced, params.cases, as_of=as_of)
        out["legal_queue"] = legal
    else:
        legal = pl.DataFrame(schema={k: pl.Null for k in LEGAL_COLUMNS}).select(
            pl.col("loan_id").cast(pl.String),
            *(pl.col(k).cast(pl.String) for k in ("state", "next_step")),
            *(pl.col(k).cast(pl.Float64) for k in ("awarded_amount", "recovered_amount")),
            pl.col("fileable").cast(pl.Boolean),
        )
    charged_off = priced.filter(off)
    gain = None
    if policy is not None and charged_off.height:
        typed = with_type_probabilities(charged_off, policy.types)
        settlement = Action.SETTLEMENT.value
        gain = policy.effects.expected_paid(typed, actions=(settlement,)).filter(c("action") == settlement)
    share = pl.Series(court.share(charged_off.with_columns(claim=c("court_claim"))), dtype=pl.Float64)
    out["recovery_queue"] = recovery_queue(
        charged_off,
        legal,
        gain,
        params.cases,
        params.score.legal,
        recovery_share=share,
        months_to_recovery=court.months_to_recovery,
        settlement_cost=params.score.cost.get("negotiation", 0.0),
        as_of=as_of,
    )
    return out
