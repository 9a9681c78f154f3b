"""The feature catalogue: one definition per feature, from which the dictionary and model inputs come.

``risk`` is the direction a feature moves the risk of going bad when it is known for sure (+1: more of
it can never lower risk; -1: more of it can never raise risk; 0: no constraint). Models turn it into
LightGBM monotone constraints (the cure model flips the sign).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from risk.contract import Channel, Education, EmploymentType, Product

PD, EW, CURE = "pd", "early_warning", "cure"


@dataclass(frozen=True)
class Feature:
    name: str
    family: str
    meaning: str
    unit: str
    models: tuple[str, ...]
    risk: int = 0


_APP = (PD, EW, CURE)
_LOAN = (EW, CURE)

FEATURES: tuple[Feature, ...] = (
    # application: what the applicant told us, and what we checked, at application time
    Feature("requested_amount", "application", "Amount requested", "RMB", _APP),
    Feature("requested_term", "application", "Term requested", "months", _APP, +1),
    Feature("product", "application", "Product applied for", "category", _APP),
    Feature("channel", "application", "Acquisition channel", "category", _APP),
    Feature("age", "application", "Applicant age", "years", _APP),
    Feature("monthly_income", "application", "Declared monthly income", "RMB", _APP, -1),
    Feature("employment_type", "application", "Employment type", "category", _APP),
    Feature("employment_years", "application", "Years with current employer", "years", _APP),
    Feature("city_tier", "application", "City tier of residence", "tier", _APP),
    Feature("education", "application", "Highest education", "category", _APP),
    Feature("credit_history_months", "application", "Length of credit bureau history", "months", _APP),
    Feature("existing_debt", "application", "Outstanding debt with other lenders", "RMB", _APP),
    Feature(
        "credit_inquiries_6m", "application", "Credit inquiries in the 6 months before applying", "count", _APP, +1
    ),
    Feature("prior_loans", "application", "Loans previously taken on this platform", "count", _APP),
    Feature("identity_verified", "application", "Identity check passed (实名认证)", "flag", _APP),
    Feature("income_verified", "application", "Income documents verified", "flag", _APP),
    Feature("debt_to_income", "application", "Existing debt / annual income", "ratio", _APP, +1),
    Feature("loan_to_income", "application", "Requested amount / annual income", "ratio", _APP),
    Feature("payment_to_income", "application", "Requested amount per month of term / monthly income", "ratio", _APP),
    # borrower across loans on the platform, at the snapshot
    Feature("other_active_loans", "borrower", "Borrower's other active loans on the platform", "count", _APP),
    Feature(
        "other_worst_days_past_due",
        "borrower",
        "Worst days past due across the borrower's other loans",
        "days",
        _APP,
        +1,
    ),
    Feature(
        "loans_opened_90d", "borrower", "Borrower's loans originated in the last 90 days (stacking)", "count", _APP
    ),
    # calendar
    Feature("application_month", "calendar", "Calendar month of the application", "1-12", (PD,)),
    # loan terms
    Feature("annual_rate", "loan", "Annual interest rate of the booked loan", "1/year", _LOAN),
    Feature("instalment_amount", "loan", "Regular instalment (principal + interest)", "RMB", _LOAN),
    # repayment behaviour at as_of
    Feature("days_past_due", "repayment", "Days past due at as_of (逾期天数)", "days", _LOAN, +1),
    Feature("max_dpd_3m", "repayment", "Max days past due in the last 90 days", "days", _LOAN, +1),
    Feature("max_dpd_6m", "repayment", "Max days past due in the last 180 days", "days", _LOAN, +1),
    Feature("max_dpd_12m", "repayment", "Max days past due in the last 365 days", "days", _LOAN, +1),
    Feature(
        "late_instalments", "repayment", "Instalments paid (or still unpaid) after due + grace", "count", _LOAN, +1
    ),
    Feature("missed_instalments", "repayment", "Instalments past due + grace and unpaid at as_of", "count", _LOAN, +1),
    Feature("arrears_amount", "repayment", "Amount due by as_of and not paid", "RMB", _LOAN, +1),
    Feature("prepaid_amount", "repayment", "Amount paid ahead of the schedule", "RMB", _LOAN),
    Feature(
        "days_since_last_payment", "repayment", "Days since the last payment (since origination if none)", "days", _LOAN
    ),
    Feature("paid_to_due_3m", "repayment", "Paid / due over the last 90 days", "ratio", _LOAN),
    Feature("paid_to_due_all", "repayment", "Paid / due since origination", "ratio", _LOAN),
    Feature("partial_payments", "repayment", "Days with a payment below 95% of the instalment", "count", _LOAN),
    Feature("outstanding_principal", "repayment", "Principal of the instalments not yet paid", "RMB", _LOAN),
    Feature("months_on_book", "repayment", "Months since origination (账龄)", "months", _LOAN),
    Feature("remaining_term", "repayment", "Instalments falling due after as_of", "months", _LOAN),
    Feature("term_elapsed_share", "repayment", "Share of the term elapsed", "ratio", _LOAN),
    # collections at as_of
    Feature("contacts_7d", "collections", "Collection contacts in the last 7 days", "count", _LOAN),
    Feature("contacts_30d", "collections", "Collection contacts in the last 30 days", "count", _LOAN),
    Feature(
        "reach_rate_90d",
        "collections",
        "Share of contacts in the last 90 days that reached the borrower",
        "ratio",
        _LOAN,
    ),
    Feature("promises_90d", "collections", "Promises to pay in the last 90 days", "count", _LOAN),
    Feature("broken_promises_90d", "collections", "Broken promises in the last 90 days", "count", _LOAN),
    Feature("refusals_90d", "collections", "Refusals in the last 90 days", "count", _LOAN),
    Feature("unreachable_90d", "collections", "Contacts that did not reach the borrower, last 90 days", "count", _LOAN),
    Feature(
        "max_ladder_step",
        "collections",
        "Highest collections ladder step reached in the current overdue episode (0 none or current .. 5 enforcement)",
        "rank",
        _LOAN,
    ),
    Feature("days_since_last_contact", "collections", "Days since the last collection action", "days", _LOAN),
    # calendar
    Feature("vintage", "calendar", "Origination month as YYYYMM (放款月)", "YYYYMM", _LOAN),
    Feature("as_of_month", "calendar", "Calendar month of as_of", "1-12", _LOAN),
)

CATEGORICAL: dict[str, tuple[str, ...]] = {
    "product": tuple(p.value for p in Product),
    "channel": tuple(c.value for c in Channel),
    "employment_type": tuple(e.value for e in EmploymentType),
    "education": tuple(e.value for e in Education),
}

MODEL_FEATURES: dict[str, tuple[str, ...]] = {
    m: tuple(f.name for f in FEATURES if m in f.models) for m in (PD, EW, CURE)
}
APPLICATION_FEATURES = tuple(f.name for f in FEATURES if PD in f.models)
LOAN_FEATURES = tuple(f.name for f in FEATURES if f.models != (PD,))


def feature_dictionary() -> pl.DataFrame:
    """The feature dictionary: name, family, meaning, unit, models using it and the risk direction."""
    return pl.DataFrame(
        {
            "name": [f.name for f in FEATURES],
            "family": [f.family for f in FEATURES],
            "meaning": [f.meaning for f in FEATURES],
            "unit": [f.unit for f in FEATURES],
            "models": [", ".join(f.models) for f in FEATURES],
            "risk_direction": [f.risk for f in FEATURES],
        }
    )
