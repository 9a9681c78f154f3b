"""Reason codes: the features that pushed a row's risk up most, as codes with English and Chinese text.

Computed from per-row model contributions, and only for the rows that need them (queue entries,
declines and manual reviews), because contributions cost far more than predictions.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from risk.models.model import RiskModel

# feature -> (English, 中文): phrased as what raises the risk
REASON_TEXT: dict[str, tuple[str, str]] = {
    "requested_amount": ("Requested amount is large for the profile", "申请金额相对偏高"),
    "requested_term": ("Long requested term", "申请期限较长"),
    "product": ("Product carries higher risk", "产品风险较高"),
    "channel": ("Acquisition channel carries higher risk", "获客渠道风险较高"),
    "age": ("Age band carries higher risk", "年龄段风险较高"),
    "monthly_income": ("Low declared income", "申报收入偏低"),
    "employment_type": ("Employment type carries higher risk", "职业类型风险较高"),
    "employment_years": ("Short time with current employer", "现单位工作年限短"),
    "city_tier": ("City tier carries higher risk", "所在城市等级风险较高"),
    "education": ("Education level carries higher risk", "学历层次风险较高"),
    "credit_history_months": ("Short credit history", "征信记录时间短"),
    "existing_debt": ("High existing debt", "现有负债较高"),
    "credit_inquiries_6m": ("Many recent credit inquiries", "近期征信查询次数多"),
    "prior_loans": ("Little repayment history on the platform", "平台借款历史少"),
    "identity_verified": ("Identity not verified", "身份未核实"),
    "income_verified": ("Income not verified", "收入未核实"),
    "debt_to_income": ("High debt relative to income", "负债收入比高"),
    "loan_to_income": ("Loan large relative to income", "借款收入比高"),
    "payment_to_income": ("Repayments large relative to income", "月供收入比高"),
    "other_active_loans": ("Several other active loans (stacking)", "平台内多头借贷"),
    "other_worst_days_past_due": ("Overdue on another loan", "其他借款逾期"),
    "loans_opened_90d": ("Several new loans recently", "近期新增借款多"),
    "application_month": ("Seasonal pattern of the application month", "申请月份季节性风险"),
    "annual_rate": ("High-rate pricing tier", "利率定价档位较高"),
    "instalment_amount": ("High instalment amount", "月还款额较高"),
    "days_past_due": ("Currently past due", "当前逾期"),
    "max_dpd_3m": ("Past due in the last 3 months", "近3个月有逾期"),
    "max_dpd_6m": ("Past due in the last 6 months", "近6个月有逾期"),
    "max_dpd_12m": ("Past due in the last 12 months", "近12个月有逾期"),
    "late_instalments": ("Instalments paid late", "多期延迟还款"),
    "missed_instalments": ("Missed instalments", "有未还期数"),
    "arrears_amount": ("Large overdue amount", "逾期金额较大"),
    "prepaid_amount": ("Little paid ahead of schedule", "提前还款少"),
    "days_since_last_payment": ("Long time since the last payment", "距上次还款时间长"),
    "paid_to_due_3m": ("Paid less than due recently", "近3个月还款不足"),
    "paid_to_due_all": ("Paid less than due since origination", "累计还款不足"),
    "partial_payments": ("Frequent partial payments", "多次部分还款"),
    "outstanding_principal": ("Large outstanding principal", "剩余本金较大"),
    "months_on_book": ("Early in the loan's life", "账龄较短"),
    "remaining_term": ("Many instalments still to pay", "剩余期数多"),
    "term_elapsed_share": ("Early in the term", "还款进度靠前"),
    "contacts_7d": ("Needed collection contacts this week", "近7天有催收联系"),
    "contacts_30d": ("Needed collection contacts this month", "近30天有催收联系"),
    "reach_rate_90d": ("Hard to reach", "失联或难以联系"),
    "promises_90d": ("Promises to pay on record", "有承诺还款记录"),
    "broken_promises_90d": ("Broke promises to pay", "承诺还款未兑现"),
    "refusals_90d": ("Refused to pay when reached", "拒绝还款"),
    "unreachable_90d": ("Unreachable on several attempts", "多次联系不上"),
    "max_ladder_step": ("Collections escalated", "催收已升级"),
    "days_since_last_contact": ("Recent collection activity", "近期有催收活动"),
    "vintage": ("Origination cohort with higher risk", "放款批次风险较高"),
    "as_of_month": ("Seasonal pattern", "季节性风险"),
}


def reason_code(feature: str) -> str:
    return "R_" + feature.upper()


def top_reasons(model: RiskModel, frame: pl.DataFrame, *, n: int, sign: int = +1) -> pl.DataFrame:
    """The ``n`` features contributing most toward risk for each row of ``frame``.

    ``sign`` is +1 when the model's label is the bad outcome and -1 when it is a good one (cure), so
    reasons always explain why the case is risky. Returns codes, English and Chinese text as lists.
    """
    if frame.is_empty():
        return pl.DataFrame(
            schema={
                "reason_codes": pl.List(pl.String),
                "reasons_en": pl.List(pl.String),
                "reasons_zh": pl.List(pl.String),
            }
        )
    contrib = model.contributions(frame) * sign
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :n]
    names = np.array(model.features, dtype=object)
    codes, en, zh = [], [], []
    for row, idx in zip(contrib, order, strict=True):
        picked = [names[i] for i in idx if row[i] > 0]
        codes.append([reason_code(f) for f in picked])
        en.append([REASON_TEXT.get(f, (f, f))[0] for f in picked])
        zh.append([REASON_TEXT.get(f, (f, f))[1] for f in picked])
    return pl.DataFrame(
        {"reason_codes": codes, "reasons_en": en, "reasons_zh": zh},
        schema={"reason_codes": pl.List(pl.String), "reasons_en": pl.List(pl.String), "reasons_zh": pl.List(pl.String)},
    )
