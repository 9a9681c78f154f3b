"""The recovery book (核销后回收): charged-off loans leave the daily queue and are worked here.

A loan past ``score.charge_off_dpd`` days is charged off in the accounts, not forgotten: the recovery team
chooses, per loan, between litigation (the legal route: a lawyer's letter, then the suit), enforcement of
a judgment, a one-off settlement offer, placement with a collection agency, and write-off (no further
collection, 停催). Each option is priced by the same economics as the daily queue: the suit by the book's
own court outcomes (court.py), enforcement by the share a judgment recovers from this borrower's assets,
the settlement by the effect learned from the log (the extra amount it brings in over doing nothing in 30
days, at most the offered amount), the agency by its contract (quoted recovery less commission). A case
already in court continues on the legal queue's track (enforcement once its judgment is enforceable). The
best option is recommended when it is worth more than writing off, with every option's value as the reason.

Pure: the day's scored charged-off loans (features, evidence, suit economics, learned gains) in, the
queue out.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from risk.cases.agreements import approver
from risk.cases.legal import DEADLINE_PASSED, ENFORCING, FILED, JUDGED, LISTED
from risk.config import CaseParams, LegalParams

LITIGATION = "litigation"  # 诉讼 (the legal route: letter, then suit)
ENFORCEMENT = "enforcement"  # 申请强制执行
SETTLEMENT_OFFER = "settlement_offer"  # 一次性结清减免
OUTSOURCE = "outsource"  # 委外催收
WRITE_OFF = "write_off"  # 停催核销
OPTIONS = (LITIGATION, ENFORCEMENT, SETTLEMENT_OFFER, OUTSOURCE, WRITE_OFF)
IN_COURT = (FILED, JUDGED, ENFORCING, LISTED)

RECOVERY_COLUMNS = [
    "as_of",
    "work_date",
    "priority_rank",
    "loan_id",
    "borrower_id",
    "product",
    "days_past_due",
    "outstanding_principal",
    "court_claim",
    "legal_state",
    "legal_next_step",
    "recommended_action",
    "expected_value",
    "value_litigation",
    "value_enforcement",
    "value_settlement_offer",
    "value_outsource",
    "settlement_offer_amount",
    "write_down_share",
    "approver",
    "reason_en",
    "reason_zh",
]
ACTION_ZH = {
    LITIGATION: "诉讼",
    ENFORCEMENT: "申请强制执行",
    SETTLEMENT_OFFER: "一次性结清减免",
    OUTSOURCE: "委外催收",
    WRITE_OFF: "停催核销",
}


def recovery_queue(
    charged_off: pl.DataFrame,
    legal: pl.DataFrame,
    settlement_gain: pl.DataFrame | None,
    params: CaseParams,
    legal_params: LegalParams,
    *,
    recovery_share: pl.Series | None,
    months_to_recovery: float,
    settlement_cost: float,
    as_of: dt.date,
) -> pl.DataFrame:
    """The recovery queue: one row per charged-off loan with every option's value and the best one.

    ``charged_off`` carries the suit's economics (``court_claim``, ``litigation_net_value``); ``legal``
    is the day's legal queue; ``settlement_gain`` (loan_id, expected_gain) the learned gain of a
    settlement offer over doing nothing (None when no policy was learned: no offer is priced);
    ``recovery_share`` what a judgment recovers from each loan's borrower, in ``charged_off``'s order.
    """
    c = pl.col
    rec = params.recovery
    settlement_write_down = rec.settlement_write_down
    discount = (1 + legal_params.annual_discount_rate) ** (months_to_recovery / 12)
    share = recovery_share if recovery_share is not None else pl.Series([None] * charged_off.height, dtype=pl.Float64)
    frame = (
        charged_off.with_columns(recovery_share=share)
        .join(
            legal.select(
                "loan_id",
                legal_state="state",
                legal_next_step="next_step",
                award="awarded_amount",
                recovered="recovered_amount",
                fileable="fileable",
            ),
            on="loan_id",
            how="left",
        )
        .with_columns(offer=c("court_claim") * (1 - settlement_write_down))
    )
    if settlement_gain is not None:
        frame = frame.join(settlement_gain.select("loan_id", gain="expected_gain"), on="loan_id", how="left")
    else:
        frame = frame.with_columns(gain=pl.lit(None, dtype=pl.Float64))
    in_court = c("legal_state").is_in(IN_COURT).fill_null(False)
    unpaid_award = (c("award").fill_null(0.0) - c("recovered").fill_null(0.0)).clip(lower_bound=0.0)
    values = {
        LITIGATION: pl.when(~in_court & c("fileable").fill_null(True)).then(c("litigation_net_value")),
        ENFORCEMENT: pl.when(c("legal_next_step") == "apply_enforcement").then(
            unpaid_award * c("recovery_share").fill_null(0.0) / discount - rec.enforcement_fee
        ),
        SETTLEMENT_OFFER: pl.when(c("gain").is_not_null() & (~in_court | (c("legal_state") == DEADLINE_PASSED))).then(
            pl.min_horizontal(c("gain"), c("offer")) - settlement_cost
        ),
        OUTSOURCE: pl.when(~in_court).then(
            c("court_claim") * rec.agency_recovery_rate * (1 - rec.agency_commission) - rec.placement_cost
        ),
    }
    frame = frame.with_columns(v.alias(f"value_{k}") for k, v in values.items())
    best_value = pl.max_horizontal(*(c(f"value_{k}") for k in values), pl.lit(0.0))
    best = pl.lit(WRITE_OFF)
    for k in reversed(list(values)):  # ties go to the earlier option in OPTIONS
        best = pl.when(c(f"value_{k}").fill_null(-1.0) >= best_value).then(pl.lit(k)).otherwise(best)
    best = pl.when(best_value > 0).then(best).otherwise(pl.lit(WRITE_OFF))
    # a case in court continues on its legal track, whatever else the options are worth
    recommended = (
        pl.when(in_court & (c("legal_next_step") != "apply_enforcement")).then(pl.lit(LITIGATION)).otherwise(best)
    )
    money = lambda col: c(col).round(0).cast(pl.Int64).cast(pl.String).fill_null("-")  # noqa: E731
    reason_en = pl.format(
        "{} days past due, claim RMB {}; litigation {}, enforcement {}, settlement offer {}, agency {} (RMB, net)",
        c("days_past_due"),
        money("court_claim"),
        *(money(f"value_{k}") for k in values),
    )
    reason_zh = pl.format(
        "逾期{}天，可诉金额{}元；诉讼{}，强制执行{}，结清减免{}，委外{}（净回收，元）",
        c("days_past_due"),
        money("court_claim"),
        *(money(f"value_{k}") for k in values),
    )
    write_down_share = pl.when(c("recommended_action") == SETTLEMENT_OFFER).then(pl.lit(settlement_write_down))
    return (
        frame.with_columns(recommended_action=recommended, expected_value=best_value)
        .with_columns(
            settlement_offer_amount=pl.when(c("recommended_action") == SETTLEMENT_OFFER).then(c("offer").round(2)),
            write_down_share=write_down_share,
            approver=approver(write_down_share, params.settlement_approval),
            reason_en=pl.format("{}: {}", c("recommended_action"), reason_en),
            reason_zh=pl.format(
                "{}：{}", c("recommended_action").replace_strict(ACTION_ZH, return_dtype=pl.String), reason_zh
            ),
            as_of=pl.lit(as_of),
            work_date=pl.lit(as_of + dt.timedelta(days=1)),
        )
        .sort(c("recommended_action") == WRITE_OFF, "expected_value", "loan_id", descending=[False, True, False])
        .with_columns(priority_rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int64))
        .select(RECOVERY_COLUMNS)
    )
