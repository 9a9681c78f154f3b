"""Rules across tables, as polars joins (Great Expectations has no cross-table expectation for pandas).

Each rule declares the columns it needs and runs only when they all passed the structural rules: a
missing or mistyped column is already an error of its own. This module holds the rules of the five
input tables and composes them with those of the case tables (:mod:`risk.validate.cases`) and of
lawful collection (:mod:`risk.validate.lawful`).
"""

from __future__ import annotations

from functools import partial

import polars as pl

from risk.config import CollectionRules
from risk.contract import Action, ContactChannel, Decision, Outcome
from risk.validate import cases, lawful
from risk.validate.checks import Check, Frames, Reporter, runnable, with_origination
from risk.validate.report import RuleResult
from risk.validate.rules import Rule, severity


def _fk_loan_exists(child: str, t: Frames, r: Reporter) -> RuleResult:
    known = t["loans"]["loan_id"].implode()
    bad = pl.col("loan_id").is_not_null() & ~pl.col("loan_id").is_in(known)
    return r.rows(child, "loan_id", Rule.FK_LOAN_EXISTS, t[child], bad)


def _fk_application_exists(t: Frames, r: Reporter) -> RuleResult:
    known = t["applications"]["application_id"].implode()
    bad = pl.col("application_id").is_not_null() & ~pl.col("application_id").is_in(known)
    return r.rows("loans", "application_id", Rule.FK_APPLICATION_EXISTS, t["loans"], bad)


def _fk_borrower_exists(t: Frames, r: Reporter) -> RuleResult:
    known = pl.concat([t["loans"]["borrower_id"], t["applications"]["borrower_id"]]).unique().implode()
    bad = pl.col("borrower_id").is_not_null() & ~pl.col("borrower_id").is_in(known)
    return r.rows("borrower_profiles", "borrower_id", Rule.FK_BORROWER_EXISTS, t["borrower_profiles"], bad)


def _application_approved(t: Frames, r: Reporter) -> RuleResult:
    decisions = t["applications"].select("application_id", "decision").unique("application_id", keep="first")
    joined = t["loans"].join(decisions, on="application_id", how="left", maintain_order="left")
    bad = pl.col("decision").is_not_null() & (pl.col("decision") != Decision.APPROVED.value)
    return r.rows("loans", "application_id", Rule.APPLICATION_APPROVED, joined, bad, ("decision",))


def _paid_not_before_origination(t: Frames, r: Reporter) -> RuleResult:
    joined = with_origination(t["repayments"], t["loans"])
    bad = pl.col("paid_at").dt.date() < pl.col("originated_on")
    return r.rows("repayments", "paid_at", Rule.PAID_NOT_BEFORE_ORIGINATION, joined, bad, ("loan_id", "originated_on"))


def _due_after_origination(t: Frames, r: Reporter) -> RuleResult:
    joined = with_origination(t["schedule"], t["loans"])
    bad = pl.col("due_date") <= pl.col("originated_on")
    return r.rows("schedule", "due_date", Rule.DUE_AFTER_ORIGINATION, joined, bad, ("originated_on",))


def _instalments_contiguous(t: Frames, r: Reporter) -> RuleResult:
    """Each loan's instalments are exactly 1..term_months, once each; ``failing_rows`` counts loans.

    A loan without any schedule row fails too; schedule rows of unknown loans are ``fk_loan_exists``'s.
    """
    per_loan = (
        t["schedule"]
        .filter(pl.col("loan_id").is_not_null())
        .group_by("loan_id")
        .agg(instalments=pl.col("instalment_no").drop_nulls().unique().sort(), n_rows=pl.len())
    )
    joined = (
        t["loans"]
        .select("loan_id", "term_months")
        .filter(pl.col("loan_id").is_not_null())
        .join(per_loan, on="loan_id", how="left", maintain_order="left")
        .with_columns(pl.col("n_rows").fill_null(0), pl.col("instalments").fill_null([]))
    )
    expected = pl.int_ranges(1, pl.col("term_months") + 1)
    bad = joined.filter((pl.col("n_rows") != pl.col("term_months")) | (pl.col("instalments") != expected))
    examples = []
    for row in bad.head(r.max_examples).iter_rows(named=True):
        want, got = set(range(1, row["term_months"] + 1)), set(row["instalments"])
        examples.append(
            {
                "loan_id": row["loan_id"],
                "term_months": row["term_months"],
                "schedule_rows": row["n_rows"],
                "missing": sorted(want - got)[:10],
                "unexpected": sorted(got - want)[:10],
            }
        )
    rule = Rule.INSTALMENTS_CONTIGUOUS
    return RuleResult(
        "schedule",
        "instalment_no",
        rule.value,
        severity("schedule", "instalment_no", rule, r.warn_only),
        success=bad.height == 0,
        failing_rows=bad.height,
        examples=tuple(examples),
        detail=r.detail(rule),
    )


def _hardship_reason_with_hardship(t: Frames, r: Reporter) -> RuleResult:
    hardship = pl.col("outcome") == Outcome.HARDSHIP_REPORTED.value
    bad = pl.col("hardship_reason").is_not_null() != hardship.fill_null(False)
    actions = t["collection_actions"]
    return r.rows(
        "collection_actions", "hardship_reason", Rule.HARDSHIP_REASON_WITH_HARDSHIP, actions, bad, ("outcome",)
    )


def _hold_out_not_a_contact(t: Frames, r: Reporter) -> RuleResult:
    hold_out = (pl.col("action") == Action.HOLD_OUT.value).fill_null(False)
    no_channel = (pl.col("channel") == ContactChannel.NONE.value).fill_null(False)
    not_contacted = (pl.col("outcome") == Outcome.NOT_CONTACTED.value).fill_null(False)
    bad = (hold_out & ~(no_channel & not_contacted)) | (~hold_out & no_channel)
    actions = t["collection_actions"]
    return r.rows("collection_actions", "action", Rule.HOLD_OUT_NOT_A_CONTACT, actions, bad, ("channel", "outcome"))


def _scheduled(t: Frames) -> pl.DataFrame:
    return (
        t["schedule"]
        .group_by("loan_id")
        .agg(
            scheduled_principal=pl.col("principal_due").sum(),
            scheduled_total=(pl.col("principal_due") + pl.col("interest_due")).sum(),
        )
    )


def _schedule_matches_principal(t: Frames, r: Reporter) -> RuleResult:
    loans = t["loans"].join(_scheduled(t), on="loan_id", how="left", maintain_order="left")
    gap = (pl.col("scheduled_principal") - pl.col("principal")).abs()
    finite = pl.col("principal").is_finite() & pl.col("scheduled_principal").is_finite()  # else rule `finite`
    bad = finite & (gap > pl.max_horizontal(1.0, 0.005 * pl.col("principal")))
    return r.rows("loans", "principal", Rule.SCHEDULE_MATCHES_PRINCIPAL, loans, bad, ("scheduled_principal",))


def _repaid_within_schedule(t: Frames, r: Reporter) -> RuleResult:
    # non-finite amounts are the rule `finite`'s, not this one's
    repaid = t["repayments"].group_by("loan_id").agg(repaid=pl.col("amount").filter(pl.col("amount").is_finite()).sum())
    frame = (
        t["repayments"]
        .select("repayment_id", "loan_id", "amount")
        .join(repaid, on="loan_id", how="left", maintain_order="left")
        .join(_scheduled(t), on="loan_id", how="left", maintain_order="left")
    )
    over = pl.col("repaid") - pl.col("scheduled_total")
    finite = pl.col("scheduled_total").is_finite() & pl.col("amount").is_finite()
    bad = finite & (over > pl.max_horizontal(10.0, 0.01 * pl.col("scheduled_total")))
    return r.rows("repayments", "amount", Rule.REPAID_WITHIN_SCHEDULE, frame, bad, ("repaid", "scheduled_total"))


def _repayments_present(t: Frames, r: Reporter) -> RuleResult:
    last_origination = t["loans"]["originated_on"].max()
    due = (
        t["schedule"].filter(pl.col("due_date") < last_origination)
        if last_origination is not None
        else t["schedule"].clear()
    )
    empty = t["repayments"].is_empty() and due.height > 0
    return RuleResult(
        "repayments",
        None,
        Rule.REPAYMENTS_PRESENT.value,
        severity("repayments", None, Rule.REPAYMENTS_PRESENT, r.warn_only),
        success=not empty,
        failing_rows=due.height if empty else 0,
        examples=tuple(
            due.head(r.max_examples).select("loan_id", "instalment_no", pl.col("due_date").cast(pl.String)).to_dicts()
        )
        if empty
        else (),
        detail=r.detail(Rule.REPAYMENTS_PRESENT),
    )


CHECKS: tuple[Check, ...] = (
    *(
        ({child: ("loan_id",), "loans": ("loan_id",)}, partial(_fk_loan_exists, child))
        for child in ("schedule", "repayments", "collection_actions", "agreements", "legal_cases")
    ),
    ({"loans": ("application_id",), "applications": ("application_id",)}, _fk_application_exists),
    (
        {"borrower_profiles": ("borrower_id",), "loans": ("borrower_id",), "applications": ("borrower_id",)},
        _fk_borrower_exists,
    ),
    ({"loans": ("application_id",), "applications": ("application_id", "decision")}, _application_approved),
    (
        {"repayments": ("loan_id", "paid_at"), "loans": ("loan_id", "originated_on")},
        _paid_not_before_origination,
    ),
    ({"schedule": ("loan_id", "due_date"), "loans": ("loan_id", "originated_on")}, _due_after_origination),
    (
        {"schedule": ("loan_id", "instalment_no"), "loans": ("loan_id", "term_months")},
        _instalments_contiguous,
    ),
    ({"collection_actions": ("hardship_reason", "outcome")}, _hardship_reason_with_hardship),
    ({"collection_actions": ("action", "channel", "outcome")}, _hold_out_not_a_contact),
    (
        {"loans": ("loan_id", "principal"), "schedule": ("loan_id", "principal_due", "interest_due")},
        _schedule_matches_principal,
    ),
    (
        {"repayments": ("repayment_id", "loan_id", "amount"), "schedule": ("loan_id", "principal_due", "interest_due")},
        _repaid_within_schedule,
    ),
    (
        {"repayments": ("loan_id",), "schedule": ("loan_id", "instalment_no", "due_date"), "loans": ("originated_on",)},
        _repayments_present,
    ),
    *cases.CHECKS,
    *lawful.CHECKS,
)


def check_cross_table(
    checked: Frames,
    *,
    max_examples: int,
    warn_only: tuple[str, ...],
    rules: CollectionRules | None = None,
) -> list[RuleResult]:
    """Results of the cross-table rules on ``checked`` (usable columns, contract types).

    ``rules`` holds the thresholds of the lawful-collection rules (default: params' defaults).
    """
    reporter = Reporter(max_examples, tuple(warn_only), rules or CollectionRules())
    return [check(checked, reporter) for needs, check in CHECKS if runnable(needs, checked)]
