"""Small loan books with known properties, built in code for tests (one place for all such helpers)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

from risk.contract import APPLICATIONS, COLLECTION_ACTIONS, LOANS, REPAYMENTS, SCHEDULE, conform


@dataclass
class LoanSpec:
    loan_id: str
    originated_on: dt.date
    principal: float = 1200.0
    term: int = 6
    annual_rate: float = 0.0  # zero rate keeps instalments round: principal / term
    borrower_id: str | None = None
    payments: list[tuple[dt.datetime, float]] = field(default_factory=list)
    actions: list[tuple[dt.datetime, str, str, str]] = field(default_factory=list)  # at, action, channel, outcome


def add_months(day: dt.date, months: int) -> dt.date:
    return pl.Series([day]).dt.offset_by(f"{months}mo").item()


def pay_on_schedule(spec: LoanSpec, *, through: int | None = None, late_days: int = 0) -> LoanSpec:
    """Payments of each instalment on its due date (plus ``late_days``), up to instalment ``through``."""
    amount = spec.principal / spec.term
    n = spec.term if through is None else through
    spec.payments += [
        (dt.datetime.combine(add_months(spec.originated_on, k) + dt.timedelta(days=late_days), dt.time(10)), amount)
        for k in range(1, n + 1)
    ]
    return spec


def book(*specs: LoanSpec, pending: int = 0) -> dict[str, pl.DataFrame]:
    """The five contract tables for ``specs`` (zero-rate loans, so each instalment is principal / term)."""
    apps, loans, sched, reps, acts = [], [], [], [], []
    for s in specs:
        borrower = s.borrower_id or f"B-{s.loan_id}"
        app_id = f"A-{s.loan_id}"
        apps.append(_application(app_id, borrower, s.originated_on, s.principal, s.term, "approved", s.loan_id))
        loans.append(
            {
                "loan_id": s.loan_id,
                "borrower_id": borrower,
                "application_id": app_id,
                "originated_on": s.originated_on,
                "principal": s.principal,
                "annual_rate": s.annual_rate,
                "term_months": s.term,
                "repayment_method": "equal_instalment",
                "product": "cash_loan",
                "contract_max_overdue_days": 90,
                "status": "active",
            }
        )
        for k in range(1, s.term + 1):
            sched.append(
                {
                    "loan_id": s.loan_id,
                    "instalment_no": k,
                    "due_date": add_months(s.originated_on, k),
                    "principal_due": s.principal / s.term,
                    "interest_due": 0.0,
                }
            )
        for i, (at, amount) in enumerate(s.payments):
            reps.append(
                {
                    "repayment_id": f"R-{s.loan_id}-{i}",
                    "loan_id": s.loan_id,
                    "paid_at": at,
                    "amount": amount,
                    "instalment_no": None,
                }
            )
        for i, (at, action, channel, outcome) in enumerate(s.actions):
            acts.append(
                {
                    "action_id": f"C-{s.loan_id}-{i}",
                    "loan_id": s.loan_id,
                    "action_at": at,
                    "action": action,
                    "channel": channel,
                    "outcome": outcome,
                }
            )
    last = max(s.originated_on for s in specs)
    for i in range(pending):
        apps.append(_application(f"P-{i}", f"BP-{i}", last, 2000.0, 6, "pending", None))
    return {
        "applications": conform(pl.DataFrame(apps, schema_overrides={"loan_id": pl.String}), APPLICATIONS),
        "loans": conform(pl.DataFrame(loans), LOANS),
        "schedule": conform(pl.DataFrame(sched), SCHEDULE),
        "repayments": conform(pl.DataFrame(reps, schema=REPAYMENTS.schema), REPAYMENTS),
        "collection_actions": conform(pl.DataFrame(acts, schema=COLLECTION_ACTIONS.schema), COLLECTION_ACTIONS),
    }


def _application(app_id, borrower, day, amount, term, decision, loan_id) -> dict:
    return {
        "application_id": app_id,
        "borrower_id": borrower,
        "applied_at": dt.datetime.combine(day - dt.timedelta(days=1), dt.time(12)),
        "requested_amount": amount,
        "requested_term": term,
        "product": "cash_loan",
        "channel": "app_organic",
        "age": 30,
        "monthly_income": 8000.0,
        "employment_type": "white_collar",
        "employment_years": 3.0,
        "city_tier": 2,
        "education": "bachelor",
        "credit_history_months": 48,
        "existing_debt": 10000.0,
        "credit_inquiries_6m": 1,
        "prior_loans": 0,
        "identity_verified": True,
        "income_verified": True,
        "decision": decision,
        "loan_id": loan_id,
    }
