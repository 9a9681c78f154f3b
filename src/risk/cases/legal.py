"""The legal queue (法务队列): every open case, the step it has reached, what is missing and what comes next.

The legal team's steps can only occur in order: register the case and review its evidence, send a
lawyer's letter with a response deadline, sue once the deadline has passed (never without the signed
contract, the verified identity and the proof of disbursement), obtain a judgment, apply for enforcement
once the appeal period is over, and when enforcement recovers nothing ask the court to put the debtor on
the dishonest-debtor list (失信被执行人). One row per case registered by as_of and not closed, with its
state, the next step and the day it falls due, the evidence missing, and the suit's economics when a
suit is the next step.

Pure: the legal cases, loans and the day's scored loans (with the suit's economics) in, the queue out.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from risk.config import CaseParams

# the evidence checklist (证据清单) a case is registered with; the first three are needed to file a suit
EVIDENCE = ("contract", "identity", "disbursement", "repayments", "contacts")
FILING_EVIDENCE = ("contract", "identity", "disbursement")
ENFORCEMENT_FAILED_SHARE = 0.10  # enforcement that recovered under this share of the award has failed

# states, in the order a case reaches them (案件状态)
REGISTERED = "registered"  # 立案登记
LETTER_SENT = "letter_sent"  # 律师函已发, the response deadline running
DEADLINE_PASSED = "deadline_passed"  # no settlement by the letter's deadline
FILED = "filed"  # 已起诉
JUDGED = "judged"  # 已判决
ENFORCING = "enforcing"  # 强制执行中
LISTED = "listed_dishonest"  # 失信被执行人
STATES = (REGISTERED, LETTER_SENT, DEADLINE_PASSED, FILED, JUDGED, ENFORCING, LISTED)

LEGAL_COLUMNS = [
    "as_of",
    "work_date",
    "case_id",
    "loan_id",
    "borrower_id",
    "days_past_due",
    "outstanding_principal",
    "state",
    "state_since",
    "evidence_missing",
    "fileable",
    "response_deadline",
    "next_step",
    "next_step_on",
    "court_claim",
    "litigation_net_value",
    "awarded_amount",
    "recovered_amount",
    "reason_en",
    "reason_zh",
]


def case_states(cases: pl.DataFrame, *, as_of: dt.date) -> pl.DataFrame:
    """Each case registered by ``as_of`` and open then, with the furthest step reached as known at as_of
    (steps dated later are unknown), the day it was reached and the checklist items missing."""
    c = pl.col
    day = pl.lit(as_of)

    def known(col: str) -> pl.Expr:
        return pl.when(c(col) <= day).then(c(col))

    missing = pl.concat_list(pl.when(~c(f"evidence_{e}")).then(pl.lit(e)) for e in EVIDENCE).list.drop_nulls()
    return (
        cases.filter(c("registered_on") <= day, c("closed_on").is_null() | (c("closed_on") > day))
        .with_columns(
            letter_on=known("letter_sent_on"),
            deadline=pl.when(c("letter_sent_on") <= day).then(c("response_deadline")),
            filed=known("filed_on"),
            judged=known("judgment_on"),
            awarded_amount=pl.when(c("judgment_on") <= day).then(c("awarded_amount")),
            enforced=known("enforcement_on"),
            listed=known("listed_on"),
            recovered_then=pl.when(c("last_recovery_on") <= day)
            .then(c("recovered_amount"))
            .otherwise(pl.lit(0.0))
            .fill_null(0.0),
        )
        .with_columns(
            state=pl.when(c("listed").is_not_null())
            .then(pl.lit(LISTED))
            .when(c("enforced").is_not_null())
            .then(pl.lit(ENFORCING))
            .when(c("judged").is_not_null())
            .then(pl.lit(JUDGED))
            .when(c("filed").is_not_null())
            .then(pl.lit(FILED))
            .when(c("deadline").is_not_null() & (c("deadline") < day))
            .then(pl.lit(DEADLINE_PASSED))
            .when(c("letter_on").is_not_null())
            .then(pl.lit(LETTER_SENT))
            .otherwise(pl.lit(REGISTERED)),
            state_since=pl.coalesce("listed", "enforced", "judged", "filed", "letter_on", "registered_on"),
            evidence_missing=missing,
            fileable=pl.all_horizontal(c(f"evidence_{e}") for e in FILING_EVIDENCE),
        )
    )


def next_steps(frame: pl.DataFrame, params: CaseParams, *, as_of: dt.date) -> pl.DataFrame:
    """``next_step`` and ``next_step_on`` for each case by its state: the ladder in order, never a step
    before the one it needs (no suit before the deadline or without the filing evidence, no enforcement
    without a judgment past its appeal period, no listing before enforcement has failed)."""
    c = pl.col
    work = pl.lit(as_of + dt.timedelta(days=1))
    suit_pays = c("litigation_net_value").fill_null(0.0) > 0
    enforceable_on = c("judged") + pl.duration(days=params.appeal_days + 1)
    failed_on = c("enforced") + pl.duration(days=params.enforcement_fail_days)
    award = c("awarded_amount").fill_null(0.0)
    enforcement_failed = (c("recovered_then") < ENFORCEMENT_FAILED_SHARE * award) & (failed_on <= pl.lit(as_of))
    step = (
        pl.when(c("state") == REGISTERED)
        .then(pl.lit("send_lawyers_letter"))
        .when(c("state") == LETTER_SENT)
        .then(pl.lit("await_response"))
        .when((c("state") == DEADLINE_PASSED) & ~c("fileable"))
        .then(pl.lit("collect_filing_evidence"))
        .when((c("state") == DEADLINE_PASSED) & suit_pays)
        .then(pl.lit("file_suit"))
        .when(c("state") == DEADLINE_PASSED)
        .then(pl.lit("negotiate_settlement"))  # suing would cost more than it is expected to recover
        .when(c("state") == FILED)
        .then(pl.lit("await_judgment"))
        .when((c("state") == JUDGED) & (award > 0) & (c("recovered_then") >= award - 1.0))
        .then(pl.lit("close_recovered"))
        .when((c("state") == JUDGED) & (enforceable_on > work))
        .then(pl.lit("await_appeal_period"))  # 上诉期: the judgment is not enforceable yet
        .when(c("state") == JUDGED)
        .then(pl.lit("apply_enforcement"))
        .when((c("state") == ENFORCING) & enforcement_failed)
        .then(pl.lit("request_dishonest_listing"))
        .when(c("state") == ENFORCING)
        .then(pl.lit("monitor_enforcement"))
        .otherwise(pl.lit("monitor_listing"))
    )
    due = (
        pl.when(c("next_step") == "await_response")
        .then(c("deadline") + pl.duration(days=1))
        .when(c("next_step") == "await_appeal_period")
        .then(enforceable_on)
        .when(c("next_step").is_in(["await_judgment", "monitor_enforcement", "monitor_listing"]))
        .then(None)
        .otherwise(work)
    )
    return frame.with_columns(next_step=step).with_columns(next_step_on=due)


REASON_EN = {
    "send_lawyers_letter": "registered, no lawyer's letter yet",
    "await_response": "the lawyer's letter's deadline has not passed",
    "collect_filing_evidence": "the deadline passed but the case cannot be filed without: {}",
    "file_suit": "the deadline passed, the evidence is complete and a suit is expected to net RMB {}",
    "negotiate_settlement": "the deadline passed but a suit is expected to lose RMB {}: settle instead",
    "await_judgment": "filed, awaiting judgment",
    "close_recovered": "the award has been recovered",
    "await_appeal_period": "judged: enforceable once the appeal period is over",
    "apply_enforcement": "judged and past the appeal period: apply for enforcement",
    "request_dishonest_listing": "enforcement recovered under 10% of the award: ask for the dishonest-debtor list",
    "monitor_enforcement": "enforcement under way",
    "monitor_listing": "on the dishonest-debtor list",
}
REASON_ZH = {
    "send_lawyers_letter": "已立案，尚未发律师函",
    "await_response": "律师函回复期限未到",
    "collect_filing_evidence": "回复期限已过，但缺少起诉证据：{}",
    "file_suit": "回复期限已过，证据齐全，预计诉讼净回收{}元",
    "negotiate_settlement": "回复期限已过，但预计诉讼亏损{}元：建议和解",
    "await_judgment": "已起诉，等待判决",
    "close_recovered": "判决金额已回收",
    "await_appeal_period": "已判决：上诉期满后方可申请强制执行",
    "apply_enforcement": "已判决且上诉期已过：申请强制执行",
    "request_dishonest_listing": "强制执行回收不足判决金额10%：申请纳入失信被执行人名单",
    "monitor_enforcement": "强制执行中",
    "monitor_listing": "已纳入失信被执行人名单",
}


def _reason(texts: dict[str, str]) -> pl.Expr:
    c = pl.col
    value = c("litigation_net_value").abs().round(0).cast(pl.Int64).cast(pl.String)
    missing = c("evidence_missing").list.set_intersection(list(FILING_EVIDENCE)).list.join(", ")
    out = pl.lit(None, dtype=pl.String)
    for step, text in texts.items():
        if "{}" not in text:
            filled = pl.lit(text)
        elif step == "collect_filing_evidence":
            filled = pl.format(text, missing)
        else:
            filled = pl.format(text, value)
        out = pl.when(c("next_step") == step).then(filled).otherwise(out)
    return out


def legal_queue(
    cases: pl.DataFrame, loans: pl.DataFrame, scored: pl.DataFrame, params: CaseParams, *, as_of: dt.date
) -> pl.DataFrame:
    """One row per open legal case at ``as_of``, its state, next step, due day, missing evidence and reason.

    ``scored`` holds the day's scored loans with ``court_claim`` and ``litigation_net_value`` (the suit's
    economics, court.py); a case whose loan is no longer open keeps its step and has no economics.
    """
    c = pl.col
    economics = scored.select(
        "loan_id", "days_past_due", "outstanding_principal", "court_claim", "litigation_net_value"
    )
    return (
        case_states(cases, as_of=as_of)
        .join(loans.select("loan_id", "borrower_id"), on="loan_id", how="left")
        .join(economics, on="loan_id", how="left")
        .pipe(next_steps, params, as_of=as_of)
        .with_columns(
            response_deadline=c("deadline"),
            reason_en=_reason(REASON_EN),
            reason_zh=_reason(REASON_ZH),
            as_of=pl.lit(as_of),
            work_date=pl.lit(as_of + dt.timedelta(days=1)),
            recovered_amount=c("recovered_then"),
        )
        .select(LEGAL_COLUMNS)
        .sort(
            c("next_step_on").is_null(),
            "next_step_on",
            pl.col("state").replace_strict({s: i for i, s in enumerate(STATES)}, return_dtype=pl.Int64),
            "case_id",
        )
    )
