"""Replay a day's planned contacts against the collection rules, from the raw tables (合规回放).

Independent of how the plan was made (it reads the queue and the tables, not the policy's gates), so a
test can hold the planner to the rules: every violation is a row naming the loan, the borrower and the
rule broken. The rules are the law's and the contract's (hours, one action per borrower, no contact after a
no-contact request or complaint or during a refusal's cooling-off, the daily cap, promises and agreements
running, the letter's deadline before a suit); the policy's own choices (when a letter is worth sending)
are not rules and are not replayed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import polars as pl

from risk.cases.agreements import agreed_dates
from risk.config import CaseParams, CollectionRules, ContactRules
from risk.contract import CONTACT_CHANNELS, Action, AgreementKind, AgreementStatus, Outcome

CONTACTS = (
    Action.SMS.value,
    Action.EMAIL.value,
    Action.CALL.value,
    Action.INSTALMENT_PLAN.value,
    Action.EXTENSION.value,
    Action.INTEREST_RELIEF.value,
    Action.SETTLEMENT.value,
    Action.LAWYERS_LETTER.value,
)


def violations(
    queue: pl.DataFrame,
    tables: Mapping[str, pl.DataFrame],
    rules: CollectionRules,
    contact: ContactRules,
    *,
    work_date: dt.date,
    cases: CaseParams | None = None,
) -> pl.DataFrame:
    """One row per (loan_id, borrower_id, rule) the scheduled actions of ``queue`` break on ``work_date``.

    With ``cases``, an SMS on the day an agreement's reminder falls (``cases.reminder_days_before`` its
    next agreed date) is the one contact a running promise or agreement allows.
    """
    c = pl.col
    planned = queue.filter(c("scheduled"), c("next_action") != Action.HOLD_OUT.value).select(
        "loan_id", "borrower_id", "next_action", "next_contact_at"
    )
    found: list[pl.DataFrame] = []

    def add(rows: pl.DataFrame, rule: str) -> None:
        found.append(rows.select("loan_id", "borrower_id", rule=pl.lit(rule)))

    hour = c("next_contact_at").dt.hour()
    add(
        planned.filter(
            c("next_action").is_in(CONTACTS)
            & (
                c("next_contact_at").is_null()
                | (c("next_contact_at").dt.date() != work_date)
                | (hour < rules.quiet_end_hour)
                | (hour >= rules.quiet_start_hour)
            )
        ),
        "contact_in_quiet_hours",
    )
    per_borrower = planned.group_by("borrower_id").agg(pl.len(), pl.col("loan_id").first())
    add(per_borrower.filter(c("len") > 1), "more_than_one_action_per_borrower")
    actions = tables["collection_actions"].join(tables["loans"].select("loan_id", "borrower_id"), on="loan_id")
    silenced = (
        actions.filter(c("outcome").is_in([Outcome.COMPLAINT.value, Outcome.NO_CONTACT_REQUESTED.value]))
        .filter(c("action_at").dt.date() < work_date)
        .group_by("borrower_id")
        .agg(last=c("action_at").dt.date().max())
        .filter(c("last") + pl.duration(days=rules.no_contact_days_after_request) >= pl.lit(work_date))
    )
    contacts = planned.filter(c("next_action").is_in(CONTACTS[:-1]))
    add(contacts.join(silenced, on="borrower_id", how="semi"), "contact_after_no_contact_request_or_complaint")
    refusals = (
        actions.filter(c("outcome") == Outcome.REFUSED.value, c("action_at").dt.date() < work_date)
        .group_by("borrower_id")
        .agg(last_refusal=c("action_at").max())
    )
    add(
        planned.filter(c("next_action").is_in(CONTACTS))
        .join(refusals, on="borrower_id")
        .filter(c("last_refusal") + pl.duration(hours=contact.cooling_off_hours_after_refusal) > c("next_contact_at")),
        "contact_during_the_cooling_off_after_a_refusal",
    )
    logged_today = (
        actions.filter(c("action_at").dt.date() == work_date, c("channel").is_in(CONTACT_CHANNELS))
        .group_by("borrower_id")
        .len()
        .filter(c("len") >= contact.daily_cap_per_borrower)
    )
    add(
        planned.filter(c("next_action").is_in(CONTACTS)).join(logged_today, on="borrower_id", how="semi"),
        "contacts_above_the_daily_cap",
    )
    if "agreements" in tables:
        ag = tables["agreements"].filter(c("signed_at").dt.date() < work_date)
        open_ = (
            (c("status_on").is_null())
            | (c("status_on") >= pl.lit(work_date))
            | (c("status") == AgreementStatus.ACTIVE.value)
        )
        promise = ag.filter(
            c("kind") == AgreementKind.PROMISE_TO_PAY.value,
            c("promised_date") + pl.duration(days=rules.promise_grace_days) >= pl.lit(work_date),
            open_,
        )
        held = planned
        if cases is not None:
            reminder_day = pl.lit(work_date) + pl.duration(days=cases.reminder_days_before)
            agreed = agreed_dates(ag.filter(open_), cases).filter(c("agreed_date") == reminder_day)
            reminder = ag.join(agreed, on="agreement_id").select("loan_id").unique()
            held = planned.filter(
                ~((c("next_action") == Action.SMS.value) & c("loan_id").is_in(reminder["loan_id"].implode()))
            )
        add(held.join(promise, on="loan_id", how="semi"), "action_during_a_running_promise")
        running = ag.filter(c("kind") != AgreementKind.PROMISE_TO_PAY.value, open_)
        add(held.join(running, on="loan_id", how="semi"), "action_during_a_running_agreement")
    suits = planned.filter(c("next_action") == Action.LITIGATION.value)
    if "legal_cases" in tables:
        ready = tables["legal_cases"].filter(
            c("letter_sent_on").is_not_null(), c("response_deadline") < pl.lit(work_date), c("filed_on").is_null()
        )
        add(suits.join(ready, on="loan_id", how="anti"), "suit_before_the_letters_deadline")
    else:
        add(suits, "suit_before_the_letters_deadline")
    add(planned.filter(c("next_action") == Action.ENFORCEMENT.value), "enforcement_planned_without_judgment_check")
    return (
        pl.concat(found)
        if found
        else pl.DataFrame(schema={"loan_id": pl.String, "borrower_id": pl.String, "rule": pl.String})
    )


def case_violations(
    legal_queue: pl.DataFrame | None,
    recovery_queue: pl.DataFrame | None,
    tables: Mapping[str, pl.DataFrame],
    *,
    work_date: dt.date,
    appeal_days: int,
) -> pl.DataFrame:
    """One row per (loan_id, rule) the legal and recovery queues' next steps break, checked against the raw
    ``legal_cases`` (not the queues' own states): a suit before the letter's deadline or without the contract,
    identity and disbursement proof; enforcement without a judgment or inside its appeal period; a
    dishonest-debtor listing without enforcement."""
    c = pl.col
    empty = pl.DataFrame(schema={"loan_id": pl.String, "rule": pl.String})
    if "legal_cases" not in tables:
        return empty
    day = pl.lit(work_date)
    known = tables["legal_cases"].filter(c("registered_on") < day)
    ready_to_sue = known.filter(
        c("letter_sent_on").is_not_null(),
        c("response_deadline") < day,
        c("evidence_contract") & c("evidence_identity") & c("evidence_disbursement"),
    )
    judged = known.filter(c("judgment_on") + pl.duration(days=appeal_days) < day)
    enforced = known.filter(c("enforcement_on") < day)
    steps = []
    if legal_queue is not None:
        steps.append(legal_queue.select("loan_id", step="next_step"))
    if recovery_queue is not None:
        steps.append(
            recovery_queue.filter(c("recommended_action") == "enforcement").select(
                "loan_id", step=pl.lit("apply_enforcement")
            )
        )
    if not steps:
        return empty
    step = pl.concat(steps)
    found = [
        step.filter(c("step") == "file_suit")
        .join(ready_to_sue, on="loan_id", how="anti")
        .select("loan_id", rule=pl.lit("suit_before_the_deadline_or_without_filing_evidence")),
        step.filter(c("step") == "apply_enforcement")
        .join(judged, on="loan_id", how="anti")
        .select("loan_id", rule=pl.lit("enforcement_without_an_enforceable_judgment")),
        step.filter(c("step") == "request_dishonest_listing")
        .join(enforced, on="loan_id", how="anti")
        .select("loan_id", rule=pl.lit("listing_without_enforcement")),
    ]
    return pl.concat(found)
