"""Small loan books with known properties, built in code for tests (one place for all such helpers)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from hypothesis import strategies as st

from risk.contract import APPLICATIONS, COLLECTION_ACTIONS, LOANS, REPAYMENTS, SCHEDULE, TABLES, conform

Book = dict[str, pl.DataFrame]


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
        "loans": conform(pl.DataFrame(loans, schema=LOANS.schema), LOANS),  # acceleration_clause: null
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


def tiny_book() -> Book:
    """A small consistent book: four applications, two loans of three instalments, payments and actions.

    L2 is active, so its last two instalments fall due after 2025-06-30, the as-of date of its tests (allowed
    for ``due_date``).
    """
    d, ts = dt.date, dt.datetime
    applications = pl.DataFrame(
        {
            "application_id": ["A1", "A2", "A3", "A4"],
            "borrower_id": ["B1", "B2", "B3", "B1"],
            "applied_at": [ts(2025, 1, 10, 9), ts(2025, 5, 15, 14), ts(2025, 5, 20, 11), ts(2025, 6, 30, 23, 59)],
            "requested_amount": [6000.0, 3000.0, 50000.0, 2000.0],
            "requested_term": [3, 3, 12, 6],
            "product": ["cash_loan", "consumer_instalment", "micro_business", "cash_loan"],
            "channel": ["app_organic", "online_ads", "offline_agent", "partner_referral"],
            "age": [28, 41, 35, 28],
            "monthly_income": [12000.0, 8000.0, 15000.0, 12000.0],
            "employment_type": ["white_collar", "blue_collar", "self_employed", "white_collar"],
            "employment_years": [3.5, 10.0, 1.0, 4.0],
            "city_tier": [1, 3, 2, 1],
            "education": ["bachelor", "high_school", "college", "bachelor"],
            "credit_history_months": [48, 120, 6, 53],
            "existing_debt": [0.0, 2000.0, 80000.0, 0.0],
            "credit_inquiries_6m": [1, 0, 7, 2],
            "prior_loans": [0, 2, 0, 1],
            "identity_verified": [True, True, False, True],
            "income_verified": [True, False, False, True],
            "decision": ["approved", "approved", "declined", "pending"],
            "loan_id": ["L1", "L2", None, None],
        },
        schema=TABLES["applications"].schema,
    )
    loans = pl.DataFrame(
        {
            "loan_id": ["L1", "L2"],
            "borrower_id": ["B1", "B2"],
            "application_id": ["A1", "A2"],
            "originated_on": [d(2025, 1, 15), d(2025, 5, 20)],
            "principal": [6000.0, 3000.0],
            "annual_rate": [0.18, 0.24],
            "term_months": [3, 3],
            "repayment_method": ["equal_instalment", "equal_principal"],
            "product": ["cash_loan", "consumer_instalment"],
            "contract_max_overdue_days": [90, 90],
            "status": ["repaid", "active"],
            "acceleration_clause": [True, None],
        },
        schema=TABLES["loans"].schema,
    )
    schedule = pl.DataFrame(
        {
            "loan_id": ["L1"] * 3 + ["L2"] * 3,
            "instalment_no": [1, 2, 3] * 2,
            "due_date": [
                d(2025, 2, 15),
                d(2025, 3, 15),
                d(2025, 4, 15),
                d(2025, 6, 20),
                d(2025, 7, 20),
                d(2025, 8, 20),
            ],
            "principal_due": [2000.0] * 3 + [1000.0] * 3,
            "interest_due": [90.0, 60.0, 30.0, 60.0, 40.0, 20.0],
        },
        schema=TABLES["schedule"].schema,
    )
    repayments = pl.DataFrame(
        {
            "repayment_id": ["R1", "R2", "R3", "R4"],
            "loan_id": ["L1", "L1", "L1", "L2"],
            "paid_at": [ts(2025, 2, 15, 8), ts(2025, 3, 20, 19), ts(2025, 4, 15, 7), ts(2025, 6, 25, 12)],
            "amount": [2090.0, 2060.0, 2030.0, 1060.0],
            "instalment_no": [1, 2, 3, None],
        },
        schema=TABLES["repayments"].schema,
    )
    collection_actions = pl.DataFrame(
        {
            "action_id": ["C1", "C2", "C3"],
            "loan_id": ["L1", "L1", "L2"],
            "action_at": [ts(2025, 3, 16, 10), ts(2025, 3, 18, 15), ts(2025, 6, 21, 9)],
            "action": ["sms", "call", "sms"],
            "channel": ["sms", "phone", "sms"],
            "outcome": ["delivered", "promise_to_pay", "delivered"],
            "hardship_reason": [None, None, None],
            "policy": ["champion", "champion", "challenger"],
            "assignment_probability": [0.9, 0.6, 0.5],
        },
        schema=TABLES["collection_actions"].schema,
    )
    return {
        "applications": applications,
        "loans": loans,
        "schedule": schedule,
        "repayments": repayments,
        "collection_actions": collection_actions,
    }


def tiny_case_book() -> Book:
    """:func:`tiny_book` with every case table, and contacts that keep each lawful-collection rule at its limit.

    Added: L3, a second loan of borrower B1 (2024-07-01, never paid), in the courts: case K1 went the whole
    way (letter, suit, judgment, enforcement, listing); case K2 on L1 closed after the letter. Agreements of
    every kind: G1 a kept promise and G3 an extension on L1, G5 interest relief on L1, G4 a plan and G2 a
    completed settlement with its certificate on L2 (balance 3120 - 1060 repaid = 2060). Contacts at the
    default collection rules' limits: B1 has 3 effective voice contacts on 2025-03-18 over L1 and L3, a
    call at 08:00 and an SMS at 21:59; B2 asked for no contact on 2025-05-21 10:00 and is next contacted on
    2025-06-21 (a lawyer's letter in between is no contact), has 6 unanswered calls on 2025-06-23, then a
    third-party contact; a hardship report with its reason and a logged hold-out.
    """
    d, ts = dt.date, dt.datetime
    base = tiny_book()
    applications = pl.concat(
        [
            base["applications"],
            base["applications"]
            .filter(pl.col("application_id") == "A1")
            .with_columns(application_id=pl.lit("A5"), applied_at=pl.lit(ts(2024, 6, 25, 10)), loan_id=pl.lit("L3")),
        ]
    )
    loans = pl.concat(
        [
            base["loans"],
            pl.DataFrame(
                [
                    {
                        "loan_id": "L3",
                        "borrower_id": "B1",
                        "application_id": "A5",
                        "originated_on": d(2024, 7, 1),
                        "principal": 3000.0,
                        "annual_rate": 0.0,
                        "term_months": 3,
                        "repayment_method": "equal_instalment",
                        "product": "cash_loan",
                        "contract_max_overdue_days": 90,
                        "status": "active",
                        "acceleration_clause": True,
                    }
                ],
                schema=TABLES["loans"].schema,
            ),
        ]
    )
    schedule = pl.concat(
        [
            base["schedule"],
            pl.DataFrame(
                {
                    "loan_id": ["L3"] * 3,
                    "instalment_no": [1, 2, 3],
                    "due_date": [d(2024, 8, 1), d(2024, 9, 1), d(2024, 10, 1)],
                    "principal_due": [1000.0] * 3,
                    "interest_due": [0.0] * 3,
                },
                schema=TABLES["schedule"].schema,
            ),
        ]
    )

    def act(action_id, loan_id, at, action, channel, outcome, reason=None):
        return {
            "action_id": action_id,
            "loan_id": loan_id,
            "action_at": at,
            "action": action,
            "channel": channel,
            "outcome": outcome,
            "hardship_reason": reason,
            "policy": "champion",
            "assignment_probability": 1.0,
        }

    actions = [
        act("C10", "L1", ts(2025, 3, 18, 8), "call", "phone", "reached"),
        act("C11", "L3", ts(2025, 3, 18, 11), "call", "phone", "refused"),
        act("C12", "L3", ts(2025, 3, 19, 21, 59), "sms", "sms", "delivered"),
        act("C13", "L3", ts(2025, 3, 20, 10), "call", "phone", "hardship_reported", "job_loss"),
        act("C14", "L3", ts(2025, 3, 21, 10), "hold_out", "none", "not_contacted"),
        act("C20", "L2", ts(2025, 5, 21, 10), "call", "phone", "no_contact_requested"),
        act("C21", "L2", ts(2025, 6, 1, 10), "lawyers_letter", "letter", "delivered"),
        *(act(f"C3{i}", "L2", ts(2025, 6, 23, 9 + i), "call", "phone", "unreachable") for i in range(6)),
        act("C40", "L2", ts(2025, 6, 23, 15), "third_party_contact", "phone", "reached"),
    ]
    collection_actions = pl.concat(
        [base["collection_actions"], pl.DataFrame(actions, schema=TABLES["collection_actions"].schema)]
    )
    agreements = pl.DataFrame(
        [
            {
                "agreement_id": "G1",
                "loan_id": "L1",
                "kind": "promise_to_pay",
                "channel": "phone",
                "signed_at": ts(2025, 3, 18, 15),
                "promised_date": d(2025, 3, 20),
                "promised_amount": 2060.0,
                "status": "kept",
                "status_on": d(2025, 3, 20),
            },
            {
                "agreement_id": "G2",
                "loan_id": "L2",
                "kind": "settlement",
                "channel": "video",
                "signed_at": ts(2025, 6, 26, 10),
                "settlement_amount": 1800.0,
                "write_down_amount": 260.0,
                "status": "completed",
                "status_on": d(2025, 6, 28),
                "certificate_on": d(2025, 6, 29),
            },
            {
                "agreement_id": "G3",
                "loan_id": "L1",
                "kind": "extension",
                "channel": "phone",
                "signed_at": ts(2025, 3, 16, 12),
                "extension_days": 5,
                "status": "completed",
                "status_on": d(2025, 3, 20),
            },
            {
                "agreement_id": "G4",
                "loan_id": "L2",
                "kind": "instalment_plan",
                "channel": "face_to_face",
                "signed_at": ts(2025, 6, 22, 10),
                "plan_instalments": 3,
                "plan_first_due": d(2025, 7, 22),  # after as_of: allowed for a plan's first due date
                "plan_instalment_amount": 700.0,
                "status": "active",
                "status_on": d(2025, 6, 22),
            },
            {
                "agreement_id": "G5",
                "loan_id": "L1",
                "kind": "interest_relief",
                "channel": "email",
                "signed_at": ts(2025, 4, 10, 9),
                "relief_amount": 30.0,
                "status": "completed",
                "status_on": d(2025, 4, 15),
            },
        ],
        schema=TABLES["agreements"].schema,
    )
    evidence = {f"evidence_{e}": True for e in ("contract", "identity", "disbursement", "repayments", "contacts")}
    legal_cases = pl.DataFrame(
        [
            {
                "case_id": "K1",
                "loan_id": "L3",
                "registered_on": d(2024, 11, 1),
                **evidence,
                "letter_sent_on": d(2024, 11, 2),
                "response_deadline": d(2024, 11, 17),
                "filed_on": d(2024, 11, 18),
                "claim_amount": 3300.0,
                "judgment_on": d(2025, 3, 1),
                "awarded_amount": 3200.0,
                "enforcement_on": d(2025, 4, 1),
                "recovered_amount": 500.0,
                "last_recovery_on": d(2025, 5, 1),
                "dishonest_debtor_listed": True,
                "listed_on": d(2025, 6, 1),
            },
            {
                "case_id": "K2",
                "loan_id": "L1",
                "registered_on": d(2025, 3, 25),
                **evidence,
                "letter_sent_on": d(2025, 3, 26),
                "response_deadline": d(2025, 4, 10),
                "recovered_amount": 0.0,
                "closed_on": d(2025, 4, 15),
                "close_reason": "repaid",
                "dishonest_debtor_listed": False,
            },
        ],
        schema=TABLES["legal_cases"].schema,
    )
    borrower_profiles = pl.DataFrame(
        {
            "borrower_id": ["B1", "B1", "B2"],
            "observed_on": [d(2024, 6, 25), d(2024, 12, 1), d(2025, 5, 15)],
            "source": ["application", "collector", "application"],
            "property_owned": [None, True, False],
            "vehicle_owned": [False, True, None],
            "social_insurance": [True, False, True],
            "other_platform_loans": [1, 3, None],
        },
        schema=TABLES["borrower_profiles"].schema,
    )
    return {
        **base,
        "applications": applications,
        "loans": loans,
        "schedule": schedule,
        "collection_actions": collection_actions,
        "agreements": agreements,
        "legal_cases": legal_cases,
        "borrower_profiles": borrower_profiles,
    }


def set_value(table: str, key: str, column: str, value: object) -> Callable[[Book], Book]:
    """Put ``value`` into ``table.column`` on the row whose first key column is ``key``."""

    def corrupt(book: Book) -> Book:
        frame = book[table]
        at = pl.col(TABLES[table].key[0]) == key
        dtype = frame.schema[column]
        return {
            **book,
            table: frame.with_columns(
                pl.when(at).then(pl.lit(value, dtype=dtype)).otherwise(pl.col(column)).alias(column)
            ),
        }

    return corrupt


def add_actions(*rows: tuple) -> Callable[[Book], Book]:
    """Append collection actions ``(action_id, loan_id, action_at, action, channel, outcome[, hardship_reason])``."""
    names = ("action_id", "loan_id", "action_at", "action", "channel", "outcome", "hardship_reason")
    extra = pl.DataFrame([dict(zip(names, r, strict=False)) for r in rows], schema=TABLES["collection_actions"].schema)
    return lambda book: {**book, "collection_actions": pl.concat([book["collection_actions"], extra])}


# the walk-through's params, as README shows them (the path is the test's folder)
WALK = """
data:
  source: ingest
ingest:
  format: mapping
  path: exports/credit
  files: {applications: credit.csv}
  mode: application_only
  generate_ids: true                 # the file has no id column
  outcome: {column: class, bad: [bad]}
  columns:
    applications: {requested_amount: credit_amount, requested_term: duration, age: age}
  attributes:
    checking_status: {kind: categorical, description: Status of the existing checking account}
    savings_status: {kind: categorical, description: Savings account and bonds}
    installment_commitment: {kind: numeric, risk: 1, description: Instalment as a share of disposable income}
    housing: {kind: categorical, description: Housing}
  protected: [personal_status, foreign_worker]
"""


def credit_file(n: int = 2500, seed: int = 11) -> pl.DataFrame:
    """A German-credit-like file: the outcome depends mostly on attributes with no contract column."""
    rng = np.random.default_rng(seed)
    checking = rng.choice(["A11", "A12", "A13", "A14"], n, p=[0.27, 0.27, 0.06, 0.40])
    savings = rng.choice(["A61", "A62", "A63", "A64", "A65"], n, p=[0.6, 0.1, 0.06, 0.05, 0.19])
    duration = rng.choice([6, 12, 18, 24, 36, 48], n)
    amount = np.round(rng.lognormal(7.8, 0.7, n), 0)
    commitment = rng.integers(1, 5, n)
    housing = rng.choice(["own", "rent", "for free"], n, p=[0.7, 0.2, 0.1])
    logit = (
        -1.2
        + np.select([checking == "A11", checking == "A12", checking == "A14"], [1.0, 0.5, -1.1], 0.0)
        + np.where(savings == "A61", 0.5, -0.3)
        + 0.025 * duration
        + 0.15 * (commitment - 2.5)
        + np.where(housing == "rent", 0.3, 0.0)
    )
    bad = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pl.DataFrame(
        {
            "checking_status": checking,
            "duration": duration,
            "credit_amount": amount,
            "savings_status": savings,
            "installment_commitment": commitment,
            "personal_status": rng.choice(["male single", "female div/dep/mar", "male mar/wid"], n),
            "age": rng.integers(19, 75, n),
            "housing": housing,
            "foreign_worker": rng.choice(["yes", "no"], n, p=[0.96, 0.04]),
            "class": np.where(bad, "bad", "good"),
        }
    )


# --- random books (hypothesis) ---------------------------------------------------------------------------------------
D0 = dt.date(2024, 1, 1)  # the first day a random book's loans may be originated on


def at_day(day: int, hour: int = 10) -> dt.datetime:
    """``day`` days after :data:`D0`, at ``hour``."""
    return dt.datetime.combine(D0 + dt.timedelta(days=day), dt.time(hour))


# a payment: its day (after D0) and amount
PAYMENT = st.tuples(st.integers(0, 400), st.floats(1, 400, allow_nan=False).map(lambda x: round(x, 2)))


@st.composite
def loan_specs(draw, actions: st.SearchStrategy[tuple[str, str, str]]) -> list[LoanSpec]:
    """Up to four loans of two borrowers, originated within 120 days of :data:`D0`: late, partial, early, over- and
    never-paid, settled, with up to eight of ``actions`` (action, channel, outcome), each on a day within 400."""
    specs = []
    for i in range(draw(st.integers(1, 4))):
        spec = LoanSpec(
            f"L{i}",
            D0 + dt.timedelta(days=draw(st.integers(0, 120))),
            term=draw(st.sampled_from([3, 6, 12])),
            borrower_id=f"B{draw(st.integers(0, 1))}",
        )
        spec.payments = [
            (at_day(d), a) for d, a in draw(st.lists(PAYMENT, max_size=12)) if at_day(d).date() > spec.originated_on
        ]
        drawn = draw(st.lists(st.tuples(st.integers(0, 400), actions), max_size=8))
        spec.actions = [(at_day(d, 9 + d % 12), *act) for d, act in drawn]
        specs.append(spec)
    return specs
