"""The simulator's true risk model: what drives a borrower to fall overdue, and which kind of overdue.

Shared by the behaviour (which draws outcomes from it) and the truth table (which integrates it into a
probability of default), so the two cannot drift apart. Coefficients are on the log-odds scale of the
monthly hazard that an instalment is the first one missed (逾期起点).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from risk.config import ShockParams
from risk.contract import Channel, Education, EmploymentType, OverdueType, Product

EPOCH = dt.date(1970, 1, 1)

# log-odds of the monthly onset hazard; the intercept sets the book's overall level
BASE_LOGIT = -5.35
HAZARD_DECAY = 0.01  # per instalment: a loan seasons slowly
LATENT_SD = 0.35  # unobserved borrower risk: why no application model can be perfect
FIRST_INSTALMENT = 0.5  # relative hazard of the first instalment (genuine trouble takes a month or two)
SHOCK_FADE_DAYS = 150  # a downturn's effect fades over this many days after it ends

PRODUCT_RISK = {Product.CASH_LOAN: 0.4, Product.CONSUMER_INSTALMENT: -0.25, Product.MICRO_BUSINESS: 0.8}
CHANNEL_RISK = {
    Channel.APP_ORGANIC: -0.6,
    Channel.PARTNER_REFERRAL: 0.1,
    Channel.ONLINE_ADS: 0.65,
    Channel.OFFLINE_AGENT: 0.2,
}
EDUCATION_RISK = {
    Education.BELOW_HIGH_SCHOOL: 0.15,
    Education.HIGH_SCHOOL: 0.08,
    Education.COLLEGE: 0.0,
    Education.BACHELOR: -0.08,
    Education.POSTGRADUATE: -0.15,
}
EMPLOYMENT_RISK = {
    EmploymentType.WHITE_COLLAR: 0.0,
    EmploymentType.BLUE_COLLAR: 0.08,
    EmploymentType.SELF_EMPLOYED: 0.12,
    EmploymentType.FREELANCE: 0.2,
}
# first-payment fraud (骗贷) is mostly a channel and identity problem
FRAUD_BASE_LOGIT = -5.2
FRAUD_CHANNEL = {
    Channel.APP_ORGANIC: -0.5,
    Channel.PARTNER_REFERRAL: 0.5,
    Channel.ONLINE_ADS: 1.0,
    Channel.OFFLINE_AGENT: 0.3,
}

# which kind of overdue an onset turns into: log-odds against TEMPORARY
OVERDUE_TYPES = (OverdueType.TEMPORARY, OverdueType.SEVERE, OverdueType.INSOLVENT, OverdueType.MALICIOUS)
# share of each type's onsets that reach 90 days past due (before a cure, a settlement or recovery)
REACHES_90 = np.array([0.0, 0.75, 1.0, 1.0])
# the application attributes type_probabilities reads
TYPE_ATTRIBUTES = ("existing_debt", "monthly_income", "identity_verified", "requested_amount")


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


def lookup(values: np.ndarray, table: dict) -> np.ndarray:
    """Map an array of enum values to the numbers in ``table``."""
    out = np.zeros(len(values))
    for key, number in table.items():
        out[values == key.value] = number
    return out


def onset_logit(a: dict[str, np.ndarray], *, segment: bool = True) -> np.ndarray:
    """Observable part of each application's monthly onset log-odds (before the instalment's age).

    Income lowers risk, inquiries and debt-to-income raise it, longer terms carry more risk per month,
    product × channel set the segment level (``segment=False`` leaves it out, as the lender's own
    score does); employment_years is deliberately absent (it barely
    matters in real books, though applicants expect it to).
    """
    debt_to_income = np.minimum(a["existing_debt"] / (12.0 * a["monthly_income"]), 2.0)
    age = a["age"]
    return (
        BASE_LOGIT
        - 0.8 * np.log(a["monthly_income"] / 6500.0)
        + 0.36 * np.minimum(a["credit_inquiries_6m"], 10)
        + 1.5 * debt_to_income
        + 0.7 * np.log(a["requested_amount"] / a["monthly_income"])  # repayment burden
        + 0.05 * (a["requested_term"] - 9)
        + segment * (lookup(a["product"], PRODUCT_RISK) + lookup(a["channel"], CHANNEL_RISK))
        + 0.45 * ~a["identity_verified"]
        + 0.25 * ~a["income_verified"]
        + 0.25 * (age < 23)
        + 0.15 * ((age >= 23) & (age < 27))
        + 0.1 * (age >= 50)
        + 0.07 * (a["city_tier"] - 3)
        + lookup(a["education"], EDUCATION_RISK)
        + lookup(a["employment_type"], EMPLOYMENT_RISK)
        - 0.01 * a["credit_history_months"] / 12.0
        - 0.4 * (a["prior_loans"] > 0)
        + 0.4 * a["stacked"]  # another loan of ours taken in the last 120 days (多头借贷)
    )


def fraud_logit(a: dict[str, np.ndarray], *, segment: bool = True) -> np.ndarray:
    """Log-odds that an application is first-payment fraud (never intends to pay)."""
    return (
        FRAUD_BASE_LOGIT
        + 1.6 * ~a["identity_verified"]
        + segment * lookup(a["channel"], FRAUD_CHANNEL)
        + 0.2 * np.minimum(a["credit_inquiries_6m"], 10)
        + 0.5 * (a["age"] < 24)
        + segment * 0.4 * (a["product"] == Product.CASH_LOAN.value)
        - 1.5 * (a["prior_loans"] > 0)
    )


def shock_multiplier(due_day: np.ndarray, shock: ShockParams) -> np.ndarray:
    """Hazard multiplier for instalments falling due during the macro shock.

    Full strength from ``shock.start`` to ``shock.end``, then fading linearly over ``SHOCK_FADE_DAYS``
    as incomes recover (a downturn does not end on a date).
    """
    start = (shock.start - EPOCH).days
    end = (shock.end - EPOCH).days
    fade = np.clip(1.0 - (due_day - end) / SHOCK_FADE_DAYS, 0.0, 1.0)
    strength = np.where(due_day < start, 0.0, np.where(due_day <= end, 1.0, fade))
    return 1.0 + (shock.multiplier - 1.0) * strength


def monthly_hazard(
    logit: np.ndarray, instalment_no: np.ndarray, multiplier: np.ndarray, risk_scale: float
) -> np.ndarray:
    """Probability that instalment ``instalment_no`` is the first one missed, given none was before.

    Genuine trouble rarely strikes before the first instalment (first-payment default is mostly
    fraud, drawn separately), peaks just after, then fades as the loan seasons.
    """
    base = sigmoid(logit - HAZARD_DECAY * (instalment_no - 1)) * np.where(instalment_no == 1, FIRST_INSTALMENT, 1.0)
    return np.minimum(base * multiplier * risk_scale, 0.9)


def type_probabilities(a: dict[str, np.ndarray], instalment_no: np.ndarray, shocked: np.ndarray) -> np.ndarray:
    """Probabilities of each of ``OVERDUE_TYPES`` for an onset at ``instalment_no``, shape (n, 4).

    Weak income and heavy debt make an onset more often severe or insolvent; early onsets and
    unverified identities are more often malicious; a macro shock pushes borrowers into insolvency.
    """
    debt_to_income = np.minimum(a["existing_debt"] / (12.0 * a["monthly_income"]), 2.0)
    low_income = np.log(6500.0 / a["monthly_income"])
    burden = np.log(a["requested_amount"] / a["monthly_income"])  # a big debt is hard to catch up on
    logits = np.stack(
        [
            np.zeros(len(instalment_no)),
            -1.5 + 0.4 * debt_to_income + 0.3 * low_income + 0.5 * burden + 0.5 * shocked,
            -1.75 + 0.3 * low_income + 0.5 * burden + 0.7 * shocked,
            -3.8 + 0.9 * (instalment_no <= 2) + 0.5 * ~a["identity_verified"],
        ],
        axis=1,
    )
    weights = np.exp(logits - logits.max(axis=1, keepdims=True))
    return weights / weights.sum(axis=1, keepdims=True)
