"""The feature catalogue: one definition per feature, from which the dictionary and model inputs come.

``risk`` is the direction a feature moves the risk of going bad when it is known for sure (+1: more of
it can never lower risk; -1: more of it can never raise risk; 0: no constraint). Models turn it into
LightGBM monotone constraints (the cure model flips the sign).

The same definition carries the feature's reason code (``R_<NAME>``) and its reason text in English and
Chinese (理由), phrased as what about the feature raises the risk: :func:`reason_catalogue` is the versioned
catalogue that scoring and docs/reason_codes.md both read. A model feature without an
entry has no reason to give, and is an error (:func:`catalogue_entries`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import KW_ONLY, dataclass
from typing import Any

import polars as pl

from risk.contract import Channel, Education, EmploymentType, Product
from risk.exceptions import RiskDataError

PD, EW, CURE = "pd", "early_warning", "cure"

# Bump (year.month of the change) on any change a reader of a past reason could notice: a code added,
# removed or renamed, a reason text changed in either language, or a direction changed.
REASON_CATALOGUE_VERSION = "2026.12"

DIRECTION = {+1: "raises", -1: "lowers", 0: "either"}  # what more of the feature does to the risk


@dataclass(frozen=True)
class Feature:
    name: str
    family: str
    meaning: str
    unit: str
    models: tuple[str, ...]
    risk: int = 0
    _: KW_ONLY
    reason_en: str  # what about the feature raises the risk, as a reason code shows it
    reason_zh: str

    @property
    def code(self) -> str:
        """The reason code, ``R_`` and the name in capitals."""
        return "R_" + self.name.upper()

    @property
    def direction(self) -> str:
        """``raises``, ``lowers`` or ``either``: what more of the feature does to the risk, from ``risk``."""
        return DIRECTION[self.risk]


_APP = (PD, EW, CURE)
_LOAN = (EW, CURE)

FEATURES: tuple[Feature, ...] = (
    # application: what the applicant told us, and what we checked, at application time
    Feature(
        "requested_amount",
        "application",
        "Amount requested",
        "RMB",
        _APP,
        reason_en="Requested amount is large for the profile",
        reason_zh="申请金额相对偏高",
    ),
    Feature(
        "requested_term",
        "application",
        "Term requested",
        "months",
        _APP,
        +1,
        reason_en="Long requested term",
        reason_zh="申请期限较长",
    ),
    Feature(
        "product",
        "application",
        "Product applied for",
        "category",
        _APP,
        reason_en="Product carries higher risk",
        reason_zh="产品风险较高",
    ),
    Feature(
        "channel",
        "application",
        "Acquisition channel",
        "category",
        _APP,
        reason_en="Acquisition channel carries higher risk",
        reason_zh="获客渠道风险较高",
    ),
    Feature(
        "age",
        "application",
        "Applicant age",
        "years",
        _APP,
        reason_en="Age band carries higher risk",
        reason_zh="年龄段风险较高",
    ),
    Feature(
        "monthly_income",
        "application",
        "Declared monthly income",
        "RMB",
        _APP,
        -1,
        reason_en="Low declared income",
        reason_zh="申报收入偏低",
    ),
    Feature(
        "employment_type",
        "application",
        "Employment type",
        "category",
        _APP,
        reason_en="Employment type carries higher risk",
        reason_zh="职业类型风险较高",
    ),
    Feature(
        "employment_years",
        "application",
        "Years with current employer",
        "years",
        _APP,
        reason_en="Short time with current employer",
        reason_zh="现单位工作年限短",
    ),
    Feature(
        "city_tier",
        "application",
        "City tier of residence",
        "tier",
        _APP,
        reason_en="City tier carries higher risk",
        reason_zh="所在城市等级风险较高",
    ),
    Feature(
        "education",
        "application",
        "Highest education",
        "category",
        _APP,
        reason_en="Education level carries higher risk",
        reason_zh="学历层次风险较高",
    ),
    Feature(
        "credit_history_months",
        "application",
        "Length of credit bureau history",
        "months",
        _APP,
        reason_en="Short credit history",
        reason_zh="征信记录时间短",
    ),
    Feature(
        "existing_debt",
        "application",
        "Outstanding debt with other lenders",
        "RMB",
        _APP,
        reason_en="High existing debt",
        reason_zh="现有负债较高",
    ),
    Feature(
        "credit_inquiries_6m",
        "application",
        "Credit inquiries in the 6 months before applying",
        "count",
        _APP,
        +1,
        reason_en="Many recent credit inquiries",
        reason_zh="近期征信查询次数多",
    ),
    Feature(
        "prior_loans",
        "application",
        "Loans previously taken on this platform",
        "count",
        _APP,
        reason_en="Little repayment history on the platform",
        reason_zh="平台借款历史少",
    ),
    Feature(
        "identity_verified",
        "application",
        "Identity check passed (实名认证)",
        "flag",
        _APP,
        reason_en="Identity not verified",
        reason_zh="身份未核实",
    ),
    Feature(
        "income_verified",
        "application",
        "Income documents verified",
        "flag",
        _APP,
        reason_en="Income not verified",
        reason_zh="收入未核实",
    ),
    Feature(
        "debt_to_income",
        "application",
        "Existing debt / annual income",
        "ratio",
        _APP,
        +1,
        reason_en="High debt relative to income",
        reason_zh="负债收入比高",
    ),
    Feature(
        "loan_to_income",
        "application",
        "Requested amount / annual income",
        "ratio",
        _APP,
        reason_en="Loan large relative to income",
        reason_zh="借款收入比高",
    ),
    Feature(
        "payment_to_income",
        "application",
        "Requested amount per month of term / monthly income",
        "ratio",
        _APP,
        reason_en="Repayments large relative to income",
        reason_zh="月供收入比高",
    ),
    # borrower across loans on the platform, at the snapshot
    Feature(
        "other_active_loans",
        "borrower",
        "Borrower's other active loans on the platform",
        "count",
        _APP,
        reason_en="Several other active loans (stacking)",
        reason_zh="平台内多头借贷",
    ),
    Feature(
        "other_worst_days_past_due",
        "borrower",
        "Worst days past due across the borrower's other loans",
        "days",
        _APP,
        +1,
        reason_en="Overdue on another loan",
        reason_zh="其他借款逾期",
    ),
    Feature(
        "loans_opened_90d",
        "borrower",
        "Borrower's loans originated in the last 90 days (stacking)",
        "count",
        _APP,
        reason_en="Several new loans recently",
        reason_zh="近期新增借款多",
    ),
    # calendar
    Feature(
        "application_month",
        "calendar",
        "Calendar month of the application",
        "1-12",
        (PD,),
        reason_en="Seasonal pattern of the application month",
        reason_zh="申请月份季节性风险",
    ),
    # loan terms
    Feature(
        "annual_rate",
        "loan",
        "Annual interest rate of the booked loan",
        "1/year",
        _LOAN,
        reason_en="High-rate pricing tier",
        reason_zh="利率定价档位较高",
    ),
    Feature(
        "instalment_amount",
        "loan",
        "Regular instalment (principal + interest)",
        "RMB",
        _LOAN,
        reason_en="High instalment amount",
        reason_zh="月还款额较高",
    ),
    # repayment behaviour at as_of
    Feature(
        "days_past_due",
        "repayment",
        "Days past due at as_of (逾期天数)",
        "days",
        _LOAN,
        +1,
        reason_en="Currently past due",
        reason_zh="当前逾期",
    ),
    Feature(
        "max_dpd_3m",
        "repayment",
        "Max days past due in the last 90 days",
        "days",
        _LOAN,
        +1,
        reason_en="Past due in the last 3 months",
        reason_zh="近3个月有逾期",
    ),
    Feature(
        "max_dpd_6m",
        "repayment",
        "Max days past due in the last 180 days",
        "days",
        _LOAN,
        +1,
        reason_en="Past due in the last 6 months",
        reason_zh="近6个月有逾期",
    ),
    Feature(
        "max_dpd_12m",
        "repayment",
        "Max days past due in the last 365 days",
        "days",
        _LOAN,
        +1,
        reason_en="Past due in the last 12 months",
        reason_zh="近12个月有逾期",
    ),
    Feature(
        "late_instalments",
        "repayment",
        "Instalments paid (or still unpaid) after due + grace",
        "count",
        _LOAN,
        +1,
        reason_en="Instalments paid late",
        reason_zh="多期延迟还款",
    ),
    Feature(
        "missed_instalments",
        "repayment",
        "Instalments past due + grace and unpaid at as_of",
        "count",
        _LOAN,
        +1,
        reason_en="Missed instalments",
        reason_zh="有未还期数",
    ),
    Feature(
        "arrears_amount",
        "repayment",
        "Amount due by as_of and not paid",
        "RMB",
        _LOAN,
        +1,
        reason_en="Large overdue amount",
        reason_zh="逾期金额较大",
    ),
    Feature(
        "prepaid_amount",
        "repayment",
        "Amount paid ahead of the schedule",
        "RMB",
        _LOAN,
        reason_en="Little paid ahead of schedule",
        reason_zh="提前还款少",
    ),
    Feature(
        "days_since_last_payment",
        "repayment",
        "Days since the last payment (since origination if none)",
        "days",
        _LOAN,
        reason_en="Long time since the last payment",
        reason_zh="距上次还款时间长",
    ),
    Feature(
        "paid_to_due_3m",
        "repayment",
        "Paid / due over the last 90 days",
        "ratio",
        _LOAN,
        reason_en="Paid less than due recently",
        reason_zh="近3个月还款不足",
    ),
    Feature(
        "paid_to_due_all",
        "repayment",
        "Paid / due since origination",
        "ratio",
        _LOAN,
        reason_en="Paid less than due since origination",
        reason_zh="累计还款不足",
    ),
    Feature(
        "partial_payments",
        "repayment",
        "Days with a payment below 95% of the instalment",
        "count",
        _LOAN,
        reason_en="Frequent partial payments",
        reason_zh="多次部分还款",
    ),
    Feature(
        "outstanding_principal",
        "repayment",
        "Principal of the instalments not yet paid",
        "RMB",
        _LOAN,
        reason_en="Large outstanding principal",
        reason_zh="剩余本金较大",
    ),
    Feature(
        "months_on_book",
        "repayment",
        "Months since origination (账龄)",
        "months",
        _LOAN,
        reason_en="Early in the loan's life",
        reason_zh="账龄较短",
    ),
    Feature(
        "remaining_term",
        "repayment",
        "Instalments falling due after as_of",
        "months",
        _LOAN,
        reason_en="Many instalments still to pay",
        reason_zh="剩余期数多",
    ),
    Feature(
        "term_elapsed_share",
        "repayment",
        "Share of the term elapsed",
        "ratio",
        _LOAN,
        reason_en="Early in the term",
        reason_zh="还款进度靠前",
    ),
    # collections at as_of
    Feature(
        "contacts_7d",
        "collections",
        "Collection contacts in the last 7 days",
        "count",
        _LOAN,
        reason_en="Needed collection contacts this week",
        reason_zh="近7天有催收联系",
    ),
    Feature(
        "contacts_30d",
        "collections",
        "Collection contacts in the last 30 days",
        "count",
        _LOAN,
        reason_en="Needed collection contacts this month",
        reason_zh="近30天有催收联系",
    ),
    Feature(
        "reach_rate_90d",
        "collections",
        "Share of contacts in the last 90 days that reached the borrower",
        "ratio",
        _LOAN,
        reason_en="Hard to reach",
        reason_zh="失联或难以联系",
    ),
    Feature(
        "promises_90d",
        "collections",
        "Promises to pay in the last 90 days",
        "count",
        _LOAN,
        reason_en="Promises to pay on record",
        reason_zh="有承诺还款记录",
    ),
    Feature(
        "broken_promises_90d",
        "collections",
        "Broken promises in the last 90 days",
        "count",
        _LOAN,
        reason_en="Broke promises to pay",
        reason_zh="承诺还款未兑现",
    ),
    Feature(
        "refusals_90d",
        "collections",
        "Refusals in the last 90 days",
        "count",
        _LOAN,
        reason_en="Refused to pay when reached",
        reason_zh="拒绝还款",
    ),
    Feature(
        "unreachable_90d",
        "collections",
        "Contacts that did not reach the borrower, last 90 days",
        "count",
        _LOAN,
        reason_en="Unreachable on several attempts",
        reason_zh="多次联系不上",
    ),
    Feature(
        "max_ladder_step",
        "collections",
        "Highest collections ladder step reached in the current overdue episode (0 none or current .. 5 enforcement)",
        "rank",
        _LOAN,
        reason_en="Collections escalated",
        reason_zh="催收已升级",
    ),
    Feature(
        "days_since_last_contact",
        "collections",
        "Days since the last collection action",
        "days",
        _LOAN,
        reason_en="Recent collection activity",
        reason_zh="近期有催收活动",
    ),
    # calendar
    Feature(
        "vintage",
        "calendar",
        "Origination month as YYYYMM (放款月)",
        "YYYYMM",
        _LOAN,
        reason_en="Origination cohort with higher risk",
        reason_zh="放款批次风险较高",
    ),
    Feature(
        "as_of_month",
        "calendar",
        "Calendar month of as_of",
        "1-12",
        _LOAN,
        reason_en="Seasonal pattern",
        reason_zh="季节性风险",
    ),
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


def feature_dictionary(attributes: Iterable[Any] = ()) -> pl.DataFrame:
    """The feature dictionary: name, family, meaning, unit, models using it and the risk direction; with a
    source's declared ``attributes`` (:class:`risk.attributes.Attribute`), theirs after the catalogue's."""
    features = [*FEATURES, *(a.feature() for a in attributes)]
    return pl.DataFrame(
        {
            "name": [f.name for f in features],
            "family": [f.family for f in features],
            "meaning": [f.meaning for f in features],
            "unit": [f.unit for f in features],
            "models": [", ".join(f.models) for f in features],
            "risk_direction": [f.risk for f in features],
        }
    )


_BY_NAME = {f.name: f for f in FEATURES}


def catalogue_entries(names: Iterable[str], *, model: str, extra: Iterable[Feature] = ()) -> list[Feature]:
    """The catalogue's definition of each of ``names``, in order; ``extra`` adds features the catalogue does not
    hold (a source's declared attributes, :meth:`risk.attributes.Attribute.feature`).

    Raises :class:`RiskDataError` naming every feature of ``model`` with no entry: such a feature has no
    reason code or text, so the model could not explain a decision it drives. No fallback text is made up.
    """
    names = list(names)
    known = {**_BY_NAME, **{f.name: f for f in extra}}
    missing = [n for n in names if n not in known]
    if missing:
        msg = (
            f"model {model} uses feature(s) with no reason-catalogue entry: {', '.join(missing)}; "
            "define each in src/risk/features/catalogue.py with its reason text"
        )
        raise RiskDataError(msg, table="features", column=missing[0], rule="reason_catalogue_entry", examples=missing)
    return [known[n] for n in names]


def reason_catalogue() -> pl.DataFrame:
    """The reason-code catalogue: one row per feature with its code, direction, models and texts, and the version.

    Examples
    --------
    >>> reason_catalogue().filter(pl.col("feature") == "days_past_due").select("code", "direction").rows()
    [('R_DAYS_PAST_DUE', 'raises')]
    """
    return pl.DataFrame(
        {
            "code": [f.code for f in FEATURES],
            "feature": [f.name for f in FEATURES],
            "family": [f.family for f in FEATURES],
            "direction": [f.direction for f in FEATURES],
            "models": [", ".join(f.models) for f in FEATURES],
            "reason_en": [f.reason_en for f in FEATURES],
            "reason_zh": [f.reason_zh for f in FEATURES],
            "version": [REASON_CATALOGUE_VERSION] * len(FEATURES),
        }
    )
