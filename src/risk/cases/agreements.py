"""Agreements followed up (协议履约跟踪): what each promise or plan asks, kept or broken, and what follows.

A negotiation ends in a written agreement (``agreements``); case management then executes and monitors
it. From the agreement's terms this module derives every date a payment is agreed for (a promise's date,
each monthly instalment of a plan, the end of an extension, the lender's term for a relief or a
settlement), and from the repayments since signing whether each is met: a promise is kept or broken at
its date plus the grace period, a plan breaks on its first missed instalment, a settlement completes when
its amount is in. The day's table lists every agreement running (with its next agreed date and the day of
its reminder) and those kept, broken or completed in the last ``cases.recent_days``, with the contract's
consequence of a broken one and the settlement certificate (结清证明) due on a completed settlement.

Pure: frames in, frames out; only rows dated on or before ``as_of`` are read.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from risk.config import CaseParams
from risk.contract import AgreementKind, AgreementStatus
from risk.delinquency import running_sum_within

PAID_TOLERANCE = 1.0  # RMB: an agreed amount counts as paid within this
ONE_OFF = (AgreementKind.EXTENSION.value, AgreementKind.INTEREST_RELIEF.value, AgreementKind.SETTLEMENT.value)
RE_AGEING = (AgreementKind.INSTALMENT_PLAN.value, AgreementKind.EXTENSION.value, AgreementKind.INTEREST_RELIEF.value)

# the day's state of an agreement, in the order a case handler reads them
DUE = "due"  # active, and an agreed date is within the reminder window: remind
ACTIVE = AgreementStatus.ACTIVE.value
KEPT = AgreementStatus.KEPT.value
BROKEN = AgreementStatus.BROKEN.value
COMPLETED = AgreementStatus.COMPLETED.value
AGREEMENT_STATE_ORDER = (DUE, ACTIVE, BROKEN, KEPT, COMPLETED)  # most pressing first

AGREEMENT_COLUMNS = [
    "as_of",
    "work_date",
    "agreement_id",
    "loan_id",
    "borrower_id",
    "kind",
    "channel",
    "signed_on",
    "state",
    "state_on",
    "recorded_status",
    "detected_status",
    "next_agreed_date",
    "next_agreed_amount",
    "reminder_on",
    "remind_on_work_date",
    "agreed_so_far",
    "paid_since_signing",
    "shortfall",
    "consequence",
    "write_down_share",
    "approver",
    "certificate_on",
    "next_step",
]


def agreed_dates(agreements: pl.DataFrame, params: CaseParams) -> pl.DataFrame:
    """One row per payment an agreement asks for: agreement_id, agreed_no, agreed_date, agreed_amount (null when
    the terms do not state it: an extension or relief asks for the arrears) and the running total agreed."""
    c = pl.col
    signed = c("signed_at").dt.date()
    base = agreements.select("agreement_id", "loan_id", "kind", "signed_at", *_TERMS)
    promise = base.filter(c("kind") == AgreementKind.PROMISE_TO_PAY.value).select(
        "agreement_id", agreed_no=pl.lit(1, pl.Int64), agreed_date="promised_date", agreed_amount="promised_amount"
    )
    plan = (
        base.filter(c("kind") == AgreementKind.INSTALMENT_PLAN.value, c("plan_instalments") >= 1)
        .with_columns(agreed_no=pl.int_ranges(1, c("plan_instalments") + 1))
        .explode("agreed_no")
        .select(
            "agreement_id",
            c("agreed_no").cast(pl.Int64),
            agreed_date=c("plan_first_due").dt.offset_by(pl.format("{}mo", c("agreed_no") - 1)),
            agreed_amount="plan_instalment_amount",
        )
    )
    within = {k: v for k, v in params.pay_within_days.items()}
    one_off = base.filter(c("kind").is_in(ONE_OFF)).select(
        "agreement_id",
        agreed_no=pl.lit(1, pl.Int64),
        agreed_date=pl.when(c("kind") == AgreementKind.EXTENSION.value)
        .then(signed + pl.duration(days=c("extension_days")))
        .otherwise(signed + pl.duration(days=c("kind").replace_strict(within, default=None, return_dtype=pl.Int64))),
        agreed_amount=pl.when(c("kind") == AgreementKind.SETTLEMENT.value).then(c("settlement_amount")),
    )
    return (
        pl.concat([promise, plan, one_off])
        .sort("agreement_id", "agreed_no")
        .with_columns(cum_agreed=running_sum_within("agreed_amount", "agreement_id"))
    )


_TERMS = (
    "promised_date",
    "promised_amount",
    "plan_instalments",
    "plan_first_due",
    "plan_instalment_amount",
    "extension_days",
    "settlement_amount",
)


def approver(write_down_share: pl.Expr, approval: dict[str, float]) -> pl.Expr:
    """The lowest authority allowed to grant ``write_down_share`` of the balance (减免审批), or
    ``beyond_authority`` when no one in the approval matrix may."""
    out = pl.lit("beyond_authority")
    for who, limit in reversed(list(approval.items())):
        out = pl.when(write_down_share <= limit + 1e-9).then(pl.lit(who)).otherwise(out)
    return pl.when(write_down_share.is_not_null()).then(out)


def agreements_day(
    agreements: pl.DataFrame,
    repayments: pl.DataFrame,
    loans: pl.DataFrame,
    params: CaseParams,
    *,
    grace_days: int,
    as_of: dt.date,
) -> pl.DataFrame:
    """The day's agreements table (协议跟踪表): running ones with their next agreed date, and those kept,
    broken or completed in the last ``params.recent_days``, each with its next step."""
    c = pl.col
    work_date = as_of + dt.timedelta(days=1)
    day = pl.lit(as_of)
    signed = agreements.filter(c("signed_at").dt.date() <= as_of)
    dates = agreed_dates(signed, params)
    # what was paid on the loan from the signing day to as_of (the agreement's own ledger)
    since_signing = (
        signed.select("agreement_id", "loan_id", signed_on=c("signed_at").dt.date())
        .join(repayments.select("loan_id", "paid_at", "amount"), on="loan_id")
        .select("agreement_id", "loan_id", "signed_on", on=c("paid_at").dt.date(), amount="amount")
        .filter(c("on") >= c("signed_on"), c("on") <= as_of)
    )
    paid = since_signing.group_by("agreement_id").agg(paid_since_signing=c("amount").sum())
    grace = pl.duration(days=grace_days)
    # the first agreed date whose amount (cumulated) was not in by that date plus grace: the first miss. Each agreed
    # date reads the agreement's payments since signing, not all its loan's: 0.9M rows at 1.5M loans against 2.6M
    paid_by = (
        dates.filter(c("agreed_amount").is_not_null(), c("agreed_date") + grace <= day)
        .join(since_signing.select("agreement_id", "on", "amount"), on="agreement_id", how="left")
        .with_columns(counted=pl.when(c("on") <= c("agreed_date") + grace).then(c("amount")).otherwise(0.0))
        .group_by("agreement_id", "agreed_no", "agreed_date", "cum_agreed")
        .agg(paid_by_then=c("counted").sum())
    )
    first_miss = (
        paid_by.filter(c("paid_by_then") < c("cum_agreed") - PAID_TOLERANCE)
        .group_by("agreement_id")
        .agg(missed_on=(c("agreed_date") + grace).min())
    )
    totals = dates.group_by("agreement_id").agg(
        total_agreed=c("agreed_amount").sum().fill_null(0.0),
        amounts_stated=c("agreed_amount").is_not_null().all(),
        last_agreed=c("agreed_date").max(),
        agreed_so_far=c("agreed_amount").filter(c("agreed_date") <= day).sum(),
    )
    # the day the payments since signing reached the whole amount agreed: a promise kept, a plan completed
    reached = (
        since_signing.sort("agreement_id", "on")
        .with_columns(cum=running_sum_within("amount", "agreement_id"))
        .join(totals.select("agreement_id", "total_agreed"), on="agreement_id")
        .filter(c("cum") >= c("total_agreed") - PAID_TOLERANCE)
        .group_by("agreement_id")
        .agg(reached_on=c("on").min())
    )
    upcoming = (
        dates.filter(c("agreed_date") >= pl.lit(work_date))
        .sort("agreed_date")
        .group_by("agreement_id")
        .agg(next_agreed_date=c("agreed_date").first(), next_agreed_amount=c("agreed_amount").first())
    )
    recorded = (
        pl.when(c("status_on").is_not_null() & (c("status_on") <= day)).then(c("status")).otherwise(pl.lit(ACTIVE))
    )
    detected = (
        pl.when(c("missed_on").is_not_null())
        .then(pl.lit(BROKEN))
        .when(c("amounts_stated") & (c("paid_since_signing") >= c("total_agreed") - PAID_TOLERANCE))
        .then(pl.when(c("kind") == AgreementKind.PROMISE_TO_PAY.value).then(pl.lit(KEPT)).otherwise(pl.lit(COMPLETED)))
        .when(c("amounts_stated"))
        .then(pl.lit(ACTIVE))
        .otherwise(c("recorded_status"))  # an extension or relief asks for the arrears: the record says
    )
    write_down_share = pl.when(c("kind") == AgreementKind.SETTLEMENT.value).then(
        c("write_down_amount") / (c("settlement_amount") + c("write_down_amount"))
    )
    frame = (
        signed.join(loans.select("loan_id", "borrower_id", "acceleration_clause"), on="loan_id", how="left")
        .join(paid, on="agreement_id", how="left")
        .join(first_miss, on="agreement_id", how="left")
        .join(totals, on="agreement_id", how="left")
        .join(upcoming, on="agreement_id", how="left")
        .join(reached, on="agreement_id", how="left")
        .with_columns(
            signed_on=c("signed_at").dt.date(),
            paid_since_signing=c("paid_since_signing").fill_null(0.0),
            agreed_so_far=c("agreed_so_far").fill_null(0.0),
            recorded_status=recorded,
            certificate_on=pl.when(c("certificate_on") <= day).then(c("certificate_on")),
        )
        .with_columns(detected_status=detected)
        .with_columns(
            # the record when it has already said; what the payments show when it has not
            status=pl.when(c("recorded_status") != ACTIVE).then(c("recorded_status")).otherwise(c("detected_status")),
            status_date=pl.when(c("recorded_status") != ACTIVE)
            .then(c("status_on"))
            .when(c("detected_status") == BROKEN)
            .then(c("missed_on"))
            .when(c("detected_status") != ACTIVE)
            .then(c("reached_on")),
        )
    )
    broken_before = frame.filter(c("status") == BROKEN).group_by("loan_id").agg(broken_agreements=pl.len())
    reminder_on = c("next_agreed_date") - pl.duration(days=params.reminder_days_before)
    in_window = (reminder_on <= pl.lit(work_date)) & (c("next_agreed_date") >= pl.lit(work_date))
    recent = c("status_date") > day - pl.duration(days=params.recent_days)
    consequence = (
        pl.when(c("status") != BROKEN)
        .then(None)
        .when(c("broken_agreements") >= 2)
        .then(pl.lit("refer_to_legal"))  # a second broken agreement: the borrower's proposals are not credible
        .when(c("kind").is_in(RE_AGEING) & c("acceleration_clause").fill_null(False))
        .then(pl.lit("accelerate"))  # 加速到期: the whole balance falls due
        .when(c("kind").is_in(RE_AGEING))
        .then(pl.lit("revert_to_contract"))
        .otherwise(pl.lit("resume_collection"))
    )
    next_step = (
        pl.when(c("state") == DUE)
        .then(pl.when(c("remind_on_work_date")).then(pl.lit("send_agreed_reminder")).otherwise(pl.lit("await_payment")))
        .when(c("state") == ACTIVE)
        .then(pl.lit("monitor"))
        .when(c("state") == BROKEN)
        .then(c("consequence"))
        .when((c("kind") == AgreementKind.SETTLEMENT.value) & c("certificate_on").is_null())
        .then(pl.lit("issue_settlement_certificate"))
        .otherwise(pl.lit("close"))
    )
    return (
        frame.join(broken_before, on="loan_id", how="left")
        .with_columns(broken_agreements=c("broken_agreements").fill_null(0))
        .filter((c("status") == ACTIVE) | recent)
        .with_columns(
            state=pl.when((c("status") == ACTIVE) & in_window).then(pl.lit(DUE)).otherwise(c("status")),
            state_on=pl.when(c("status") == ACTIVE).then(c("signed_on")).otherwise(c("status_date")),
            reminder_on=pl.when(c("status") == ACTIVE).then(reminder_on),
            remind_on_work_date=(c("status") == ACTIVE) & (reminder_on == pl.lit(work_date)),
            shortfall=(c("agreed_so_far") - c("paid_since_signing")).clip(lower_bound=0.0),
            consequence=consequence,
            write_down_share=write_down_share,
            as_of=pl.lit(as_of),
            work_date=pl.lit(work_date),
        )
        .with_columns(
            approver=approver(c("write_down_share"), params.settlement_approval),
            remind_on_work_date=c("remind_on_work_date").fill_null(False),
        )
        .with_columns(next_step=next_step)
        .select(AGREEMENT_COLUMNS)
        .sort("state", "next_agreed_date", "agreement_id", nulls_last=True)
    )
