"""The embedded portfolio simulator: a Chinese online consumer-lending book (网贷) with a known truth.

:func:`simulate` draws applicants and underwriting, books the approved loans with equal instalment
schedules, lets each borrower repay (on time, late, early, or through one of four kinds of overdue),
runs the collections ladder, and cuts everything at ``as_of``. It returns the five contract tables
plus ``truth``. Pure: no file I/O; the same seed gives identical frames.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from risk.config import CollectionRules, SimulateParams
from risk.contract import APPLICATIONS, TABLES, LoanStatus, RepaymentMethod, conform
from risk.simulate.applicants import DAY_S, applications
from risk.simulate.behaviour import NO_TYPE, TEMPORARY, Behaviour, simulate_behaviour
from risk.simulate.collections import agreements, borrower_profiles, collection_actions, legal_cases
from risk.simulate.ledger import Ledger, build_ledger, first_day_at_dpd
from risk.simulate.loans import CONTRACT_MAX_OVERDUE, Book, book_loans
from risk.simulate.risk_model import EPOCH, OVERDUE_TYPES, lookup
from risk.simulate.truth import potential_outcomes, snapshot_hazards, true_pd

__all__ = ["simulate"]


def _ids(prefix: str, index: np.ndarray, width: int) -> pl.Series:
    """Identifiers like ``L000042``; a negative index gives null."""
    return (
        pl.DataFrame({"i": index}, schema={"i": pl.Int64})
        .select(pl.when(pl.col("i") >= 0).then(pl.lit(prefix) + pl.col("i").cast(pl.String).str.zfill(width)))
        .to_series()
    )


def _dates(days: np.ndarray) -> pl.Series:
    return pl.Series(days.astype("datetime64[D]"))


def _datetimes(seconds: np.ndarray) -> pl.Series:
    return pl.Series((seconds * 1_000_000).astype("datetime64[us]"))


def _overdue_types(book: Book, behaviour: Behaviour, ledger: Ledger, as_of_day: int) -> np.ndarray:
    """Per loan, the index into ``OVERDUE_TYPES`` of loans overdue by ``as_of_day``, ``NO_TYPE`` otherwise.

    An onset after as_of has not happened yet; a good borrower who was only ever a few days late
    counts as temporary.
    """
    late_rows = (book.row_due < as_of_day) & (ledger.paid_on > book.row_due)
    ever_overdue = np.zeros(len(book.principal), dtype=bool)
    ever_overdue[book.row_loan[late_rows]] = True
    onset_seen = (behaviour.onset_row >= 0) & (book.row_due[np.maximum(behaviour.onset_row, 0)] < as_of_day)
    return np.where(onset_seen, behaviour.overdue_type, np.where(ever_overdue, TEMPORARY, NO_TYPE))


def _status(ledger: Ledger, charged_off_on: np.ndarray, as_of_day: int) -> np.ndarray:
    """Repaid once settled, charged off once at the charge-off days past due (核销), else active."""
    return np.where(
        ledger.closed_on <= as_of_day,
        LoanStatus.REPAID.value,
        np.where(charged_off_on <= as_of_day, LoanStatus.CHARGED_OFF.value, LoanStatus.ACTIVE.value),
    )


def simulate(
    params: SimulateParams, *, as_of: dt.date, seed: int, rules: CollectionRules | None = None
) -> dict[str, pl.DataFrame]:
    """Simulate a lending book up to ``as_of``: the contract's input and case tables, plus the truth.

    Returns a dict with keys applications, loans, schedule, repayments, collection_actions, agreements,
    legal_cases, borrower_profiles, truth, truth_actions and truth_snapshots, each with exactly the
    contract's columns and types. Nothing is dated after ``as_of`` (bar the future terms of an agreement
    and a letter's deadline); the same ``seed`` gives identical frames. The lender's collections follow
    ``rules`` (the defaults when None) but for ``params.violation_share`` of contacts.
    """
    rules = rules or CollectionRules()
    rng = np.random.default_rng(seed)
    as_of_day = (as_of - EPOCH).days
    a = applications(rng, params, as_of)
    book = book_loans(rng, a, as_of_day)
    behaviour = simulate_behaviour(rng, book, a, params, rules=rules, as_of_day=as_of_day)
    # each loan's whole life was drawn; the data stop at as_of
    seen = behaviour.payments.take(np.flatnonzero(behaviour.payments.day <= as_of_day))
    ledger = build_ledger(book, seen)
    actions = collection_actions(
        rng, book, behaviour, as_of_day=as_of_day, rules=rules, violation_share=params.violation_share
    )
    agreed = agreements(rng, book, behaviour, as_of_day=as_of_day)
    cases = legal_cases(behaviour, as_of_day=as_of_day)
    profiles = borrower_profiles(book, behaviour, a, as_of_day=as_of_day)

    n_apps, n_loans = len(a["applied_day"]), len(book.principal)
    width = len(str(n_apps))
    application_id = _ids("A", np.arange(n_apps), width)
    loan_id = _ids("L", np.arange(n_loans), width)
    loan_of_app = np.full(n_apps, -1)
    loan_of_app[book.application] = np.arange(n_loans)
    app_loan_id = _ids("L", loan_of_app, width)
    borrower_id = _ids("B", np.unique(a["root"], return_inverse=True)[1], width)
    app_type = np.full(n_apps, NO_TYPE)
    app_type[book.application] = _overdue_types(book, behaviour, ledger, as_of_day)
    charged_off_on = first_day_at_dpd(book, ledger, params.charge_off_dpd)

    tables = {
        "applications": pl.DataFrame({k: a[k] for k in APPLICATIONS.schema if k in a}).with_columns(
            application_id=application_id,
            borrower_id=borrower_id,
            applied_at=_datetimes(a["applied_at_s"]),
            loan_id=app_loan_id,
        ),
        "loans": pl.DataFrame(
            {
                "loan_id": loan_id,
                "borrower_id": borrower_id.gather(book.application),
                "application_id": application_id.gather(book.application),
                "originated_on": _dates(book.originated),
                "principal": book.principal,
                "annual_rate": book.rate,
                "term_months": book.term,
                "repayment_method": RepaymentMethod.EQUAL_INSTALMENT.value,
                "product": book.product,
                "contract_max_overdue_days": lookup(book.product, CONTRACT_MAX_OVERDUE).astype(np.int64),
                "status": _status(ledger, charged_off_on, as_of_day),
                "acceleration_clause": True,
            }
        ),
        "schedule": pl.DataFrame(
            {
                "loan_id": loan_id.gather(book.row_loan),
                "instalment_no": book.row_no,
                "due_date": _dates(book.row_due),
                "principal_due": book.row_principal,
                "interest_due": book.row_interest,
            }
        ),
        "repayments": pl.DataFrame(
            {
                "repayment_id": _ids("R", np.arange(len(seen.loan)), len(str(len(seen.loan)))),
                "loan_id": loan_id.gather(seen.loan),
                "paid_at": _datetimes(seen.day * DAY_S + seen.seconds),
                "amount": seen.amount,
                "instalment_no": pl.Series(seen.instalment_no).replace(0, None),
            }
        ),
        "collection_actions": actions.with_columns(
            action_id=_ids("C", np.arange(actions.height), len(str(actions.height))),
            loan_id=loan_id.gather(actions["loan"].to_numpy()),
        ),
        "agreements": agreed.with_columns(
            agreement_id=_ids("G", np.arange(agreed.height), len(str(agreed.height))),
            loan_id=loan_id.gather(agreed["loan"].to_numpy()),
        ),
        "legal_cases": cases.with_columns(
            case_id=_ids("J", np.arange(cases.height), len(str(cases.height))),
            loan_id=loan_id.gather(cases["loan"].to_numpy()),
        ),
        "borrower_profiles": profiles.with_columns(
            borrower_id=borrower_id.gather(book.application).gather(profiles["loan"].to_numpy())
        ).unique(["borrower_id", "observed_on", "source"], keep="first", maintain_order=True),
        "truth": pl.DataFrame(
            {
                "application_id": application_id,
                "loan_id": app_loan_id,
                "true_pd": true_pd(a, params),
                "overdue_type": pl.Series(app_type).replace_strict(
                    {i: t.value for i, t in enumerate(OVERDUE_TYPES)}, default=None, return_dtype=pl.String
                ),
            }
        ),
    }
    po = potential_outcomes(behaviour.episode_inputs, behaviour.episodes, as_of_day=as_of_day)
    alone = potential_outcomes(behaviour.episode_inputs, behaviour.episodes, as_of_day=as_of_day, running=False)
    tables["truth_actions"] = pl.DataFrame(
        {
            "loan_id": loan_id.gather(behaviour.episode_loans[po["episode"]]),
            "action": po["action"].astype(str),
            "p_pay_30d": po["p"],
            "expected_paid_30d": np.round(po["paid"], 2),
            "p_pay_30d_alone": alone["p"],
        }
    )
    month_ends = pl.date_range(params.start, as_of, "1mo", eager=True).dt.month_end().cast(pl.Int64).to_numpy()
    month_ends = month_ends[month_ends <= as_of_day]
    ended = np.minimum(np.minimum(ledger.closed_on, charged_off_on), as_of_day + 1)
    hz = snapshot_hazards(book, behaviour, a, params, month_ends, ended)
    tables["truth_snapshots"] = pl.DataFrame(
        {
            "loan_id": loan_id.gather(hz["loan"]),
            "as_of": _dates(hz["as_of"]),
            "p_dpd30_next_90d": pl.Series(hz["p_dpd30_next_90d"]).fill_nan(None),
            "p_cure_30d": pl.Series(hz["p_cure_30d"]).fill_nan(None),
        }
    )
    return {name: conform(frame, TABLES[name]) for name, frame in tables.items()}
