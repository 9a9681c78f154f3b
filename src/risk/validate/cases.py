"""Rules of the case tables: agreements (协商协议) against their loans, legal cases (法务案件) step by step.

A legal case's steps can only occur in one order, each requiring the one before:
registered_on ≤ letter_sent_on ≤ filed_on ≤ judgment_on ≤ enforcement_on, and closed_on after
whatever the case reached; each link is a rule of its own, so the report says which one broke.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from risk.contract import AgreementKind, AgreementStatus
from risk.validate.checks import Check, Frames, Reporter, with_origination
from risk.validate.report import RuleResult
from risk.validate.rules import Rule

TOLERANCE = 1.0  # RMB: settlement amounts against balances built from rounded instalments
CENT = 0.01  # RMB: awards against claims, both written to the fen

# the terms each kind of agreement cannot go without (interest relief's waived amount may be unstated)
TERMS: dict[AgreementKind, tuple[str, ...]] = {
    AgreementKind.PROMISE_TO_PAY: ("promised_date", "promised_amount"),
    AgreementKind.INSTALMENT_PLAN: ("plan_instalments", "plan_first_due", "plan_instalment_amount"),
    AgreementKind.EXTENSION: ("extension_days",),
    AgreementKind.SETTLEMENT: ("settlement_amount",),
}
STEPS = ("registered_on", "letter_sent_on", "filed_on", "judgment_on", "enforcement_on")


# --- agreements --------------------------------------------------------------------------------------
def _agreement_after_origination(t: Frames, r: Reporter) -> RuleResult:
    joined = with_origination(t["agreements"], t["loans"])
    bad = pl.col("signed_at").dt.date() < pl.col("originated_on")
    return r.rows(
        "agreements", "signed_at", Rule.AGREEMENT_AFTER_ORIGINATION, joined, bad, ("loan_id", "originated_on")
    )


def missing_terms() -> pl.Expr:
    """The terms an agreement's kind needs and it lacks, as text (``"promised_date, promised_amount"``); null
    when it lacks none."""
    per_kind = [
        pl.when(pl.col("kind") == kind.value).then(
            pl.concat_str(
                [pl.when(pl.col(c).is_null()).then(pl.lit(c)) for c in terms], separator=", ", ignore_nulls=True
            )
        )
        for kind, terms in TERMS.items()
    ]
    text = pl.coalesce(per_kind)
    return pl.when(text != "").then(text).alias("missing_terms")


def _agreement_terms_match_kind(t: Frames, r: Reporter) -> RuleResult:
    frame = t["agreements"].with_columns(missing_terms())
    bad = pl.col("missing_terms").is_not_null()
    return r.rows("agreements", "kind", Rule.AGREEMENT_TERMS_MATCH_KIND, frame, bad, ("missing_terms",))


def _promise_after_signing(t: Frames, r: Reporter) -> RuleResult:
    bad = pl.col("promised_date") < pl.col("signed_at").dt.date()
    return r.rows("agreements", "promised_date", Rule.PROMISE_AFTER_SIGNING, t["agreements"], bad, ("signed_at",))


def _settlement_within_balance(t: Frames, r: Reporter) -> RuleResult:
    """Settlement at most what the loan could still owe: everything scheduled less what was paid before signing."""
    agreements = t["agreements"].with_row_index("_row")
    scheduled = (
        t["schedule"].group_by("loan_id").agg(scheduled=(pl.col("principal_due") + pl.col("interest_due")).sum())
    )
    repaid = (
        agreements.filter(pl.col("settlement_amount").is_not_null())
        .select("_row", "loan_id", "signed_at")
        .join(t["repayments"].select("loan_id", "paid_at", "amount"), on="loan_id", how="inner")
        .filter(pl.col("paid_at") < pl.col("signed_at"))
        .group_by("_row")
        .agg(repaid_before=pl.col("amount").sum())
    )
    joined = (
        agreements.join(scheduled, on="loan_id", how="left", maintain_order="left")
        .join(repaid, on="_row", how="left", maintain_order="left")
        .with_columns(pl.col("repaid_before").fill_null(0.0))
        .with_columns(balance=(pl.col("scheduled") - pl.col("repaid_before")).round(2))
    )
    bad = pl.col("settlement_amount") > pl.col("balance") + TOLERANCE
    show = ("loan_id", "signed_at", "scheduled", "repaid_before", "balance")
    return r.rows("agreements", "settlement_amount", Rule.SETTLEMENT_WITHIN_BALANCE, joined, bad, show)


def _certificate_only_when_settled(t: Frames, r: Reporter) -> RuleResult:
    not_settlement = (pl.col("kind") != AgreementKind.SETTLEMENT.value).fill_null(True)
    not_completed = (pl.col("status") != AgreementStatus.COMPLETED.value).fill_null(True)
    early = (pl.col("certificate_on") < pl.col("signed_at").dt.date()).fill_null(False)
    bad = pl.col("certificate_on").is_not_null() & (not_settlement | not_completed | early)
    show = ("kind", "status", "signed_at")
    return r.rows("agreements", "certificate_on", Rule.CERTIFICATE_ONLY_WHEN_SETTLED, t["agreements"], bad, show)


# --- legal cases -------------------------------------------------------------------------------------
def _legal_case_after_origination(t: Frames, r: Reporter) -> RuleResult:
    joined = with_origination(t["legal_cases"], t["loans"])
    bad = pl.col("registered_on") < pl.col("originated_on")
    show = ("loan_id", "originated_on")
    return r.rows("legal_cases", "registered_on", Rule.LEGAL_CASE_AFTER_ORIGINATION, joined, bad, show)


def _after(later: str, earlier: str, *, required: bool, strict: bool = False) -> pl.Expr:
    """Rows where ``later`` is set and ``earlier`` is after it (or on the same day, if ``strict``), or, when
    ``required``, not set at all."""
    wrong = pl.col(later) <= pl.col(earlier) if strict else pl.col(later) < pl.col(earlier)
    missing = pl.col(earlier).is_null() if required else pl.lit(False)
    return pl.col(later).is_not_null() & (missing | wrong.fill_null(False))


def _step(rule: Rule, column: str, bad: pl.Expr, show: tuple[str, ...]) -> Callable[[Frames, Reporter], RuleResult]:
    """The check of one legal step: the rows of legal_cases where ``bad`` holds."""

    def check(t: Frames, r: Reporter) -> RuleResult:
        return r.rows("legal_cases", column, rule, t["legal_cases"], bad, show)

    check.__name__ = f"_{rule.value}"
    return check


def _listed_after_enforcement() -> pl.Expr:
    listed = pl.col("dishonest_debtor_listed").fill_null(False)
    early = (pl.col("listed_on") < pl.col("enforcement_on")).fill_null(False)
    unenforced = pl.col("enforcement_on").is_null() | pl.col("listed_on").is_null()
    return (listed & (unenforced | early)) | (~listed & pl.col("listed_on").is_not_null())


def _closed_after_last_step() -> pl.Expr:
    return (pl.col("closed_on") < pl.max_horizontal(*STEPS)).fill_null(False)


def _awarded_within_claim() -> pl.Expr:
    over = (pl.col("awarded_amount") > pl.col("claim_amount") + CENT).fill_null(False)
    return pl.col("awarded_amount").is_not_null() & (pl.col("claim_amount").is_null() | over)


# rule, column, the failing rows, the columns the examples show beside it
LEGAL_STEPS: tuple[tuple[Rule, str, pl.Expr, tuple[str, ...]], ...] = (
    (
        Rule.LETTER_AFTER_REGISTRATION,
        "letter_sent_on",
        _after("letter_sent_on", "registered_on", required=True),
        ("registered_on",),
    ),
    (
        Rule.DEADLINE_AFTER_LETTER,
        "response_deadline",
        _after("response_deadline", "letter_sent_on", required=True, strict=True),
        ("letter_sent_on",),
    ),
    (Rule.FILED_AFTER_LETTER, "filed_on", _after("filed_on", "letter_sent_on", required=True), ("letter_sent_on",)),
    (
        Rule.FILED_AFTER_DEADLINE,
        "filed_on",
        _after("filed_on", "response_deadline", required=False, strict=True),
        ("letter_sent_on", "response_deadline"),
    ),
    (Rule.JUDGMENT_AFTER_FILING, "judgment_on", _after("judgment_on", "filed_on", required=True), ("filed_on",)),
    (Rule.AWARDED_WITHIN_CLAIM, "awarded_amount", _awarded_within_claim(), ("claim_amount",)),
    (
        Rule.ENFORCEMENT_AFTER_JUDGMENT,
        "enforcement_on",
        _after("enforcement_on", "judgment_on", required=True),
        ("judgment_on",),
    ),
    (
        Rule.LISTED_AFTER_ENFORCEMENT,
        "dishonest_debtor_listed",
        _listed_after_enforcement(),
        ("enforcement_on", "listed_on"),
    ),
    (Rule.CLOSED_AFTER_LAST_STEP, "closed_on", _closed_after_last_step(), STEPS),
)


def _needs(expr: pl.Expr, column: str, show: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(["case_id", column, *expr.meta.root_names(), *show]))


CHECKS: tuple[Check, ...] = (
    (
        {"agreements": ("loan_id", "signed_at"), "loans": ("loan_id", "originated_on")},
        _agreement_after_origination,
    ),
    (
        {"agreements": ("agreement_id", "kind", *{c for terms in TERMS.values() for c in terms})},
        _agreement_terms_match_kind,
    ),
    ({"agreements": ("agreement_id", "promised_date", "signed_at")}, _promise_after_signing),
    (
        {
            "agreements": ("agreement_id", "loan_id", "signed_at", "settlement_amount"),
            "schedule": ("loan_id", "principal_due", "interest_due"),
            "repayments": ("loan_id", "paid_at", "amount"),
        },
        _settlement_within_balance,
    ),
    (
        {"agreements": ("agreement_id", "kind", "status", "signed_at", "certificate_on")},
        _certificate_only_when_settled,
    ),
    (
        {"legal_cases": ("case_id", "loan_id", "registered_on"), "loans": ("loan_id", "originated_on")},
        _legal_case_after_origination,
    ),
    *(
        ({"legal_cases": _needs(bad, column, show)}, _step(rule, column, bad, show))
        for rule, column, bad, show in LEGAL_STEPS
    ),
)
