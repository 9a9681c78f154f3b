"""Hard policy rules of pre-loan review (贷前审核政策规则): checked before the PD decides, each by name.

A rule reads facts of a pending application and either declines it or sends it to manual review; no rule
ever approves, so an application a rule holds cannot be approved automatically whatever its PD. The rules,
in :data:`RULES` order (thresholds and the two configurable decisions are ``score.review_rules``):

- ``under_legal_age``: ``age`` below ``min_age``: declined.
- ``blacklist_match``: the borrower is on the dishonest-debtor list (失信被执行人) by ``as_of``: declined.
- ``identity_not_verified``: ``identity_verified`` is not true (实名认证未通过): ``identity_not_verified_decision``
  (manual review by default: verification can still be completed, and nothing is lent before it passes).
- ``too_many_online_loans``: ``other_active_loans`` (here) plus ``other_platform_loans`` (多头借贷) above
  ``max_other_loans``: ``too_many_online_loans_decision``.
- ``income_not_verified_above``: ``income_verified`` is not true and ``requested_amount`` is above
  ``unverified_income_max_amount``: manual review.
- ``above_max_age``: ``age`` above ``max_age``: manual review.

Precedence: every rule that declines goes before every rule that sends to manual review, so a review never
masks a decline; among rules with the same decision, the order above. ``policy_rule`` is the first rule
that hits in that order (:func:`precedence`). In the review queue the rule's decision stands unless it would
soften the PD's: a rule's manual review leaves a PD decline declined (``decided_by`` then says "model").

A rule that cannot be checked for a row is named in ``policy_not_checked``, never taken as passed: the
dishonest-debtor list without the ``legal_cases`` table; the count of other platforms' loans without a
``borrower_profiles`` count observed at most ``other_loans_max_age_days`` before ``as_of`` (unless the loans on
this platform alone exceed the limit); the age rules for a row without an age. A verification flag that is
not true counts as not verified: a check that did not pass is not a check passed. The contract holds no
lender's internal blacklist, so ``blacklist_match`` knows the dishonest-debtor list from the lender's own
legal cases only (a listing obtained by another creditor is not in the data).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

import polars as pl

from risk.config import ReviewRuleParams
from risk.contract import BORROWER_PROFILES, LEGAL_CASES, Decision
from risk.exceptions import RiskDataError


class PolicyRule(StrEnum):
    UNDER_LEGAL_AGE = "under_legal_age"
    BLACKLIST_MATCH = "blacklist_match"
    IDENTITY_NOT_VERIFIED = "identity_not_verified"
    TOO_MANY_ONLINE_LOANS = "too_many_online_loans"
    INCOME_NOT_VERIFIED_ABOVE = "income_not_verified_above"
    ABOVE_MAX_AGE = "above_max_age"


class PolicyDecision(StrEnum):
    """What a policy rule may decide: never an approval."""

    DECLINED = Decision.DECLINED.value
    MANUAL_REVIEW = "manual_review"


class DecidedBy(StrEnum):
    POLICY_RULE = "policy_rule"
    MODEL = "model"


# columns every pending application has (the contract's applications and the borrower features)
REQUIRED = ("age", "identity_verified", "income_verified", "requested_amount", "other_active_loans")
# facts from the optional case tables (review_facts): null where unknown
OPTIONAL: dict[str, pl.DataType] = {"dishonest_debtor_listed": pl.Boolean(), "other_platform_loans": pl.Int64()}


@dataclass(frozen=True)
class Rule:
    """One policy rule: its name, adverse-action reason and how it reads a row."""

    name: PolicyRule
    code: str
    reason_en: str
    reason_zh: str
    decision: Callable[[ReviewRuleParams], PolicyDecision]
    hits: Callable[[ReviewRuleParams], pl.Expr]  # true only when the row is known to break the rule
    checked: Callable[[ReviewRuleParams], pl.Expr]  # false where the data cannot say either way


c = pl.col


def _always(_: ReviewRuleParams) -> pl.Expr:
    return pl.lit(True)


def _other_loans(p: ReviewRuleParams) -> pl.Expr:
    return c("other_active_loans").fill_null(0) + c("other_platform_loans").fill_null(0) > p.max_other_loans


RULES: tuple[Rule, ...] = (
    Rule(
        PolicyRule.UNDER_LEGAL_AGE,
        "P_UNDER_LEGAL_AGE",
        "Applicant is under the minimum lending age",
        "申请人未达到最低借款年龄",
        lambda p: PolicyDecision.DECLINED,
        lambda p: (c("age") < p.min_age).fill_null(False),
        lambda p: c("age").is_not_null(),
    ),
    Rule(
        PolicyRule.BLACKLIST_MATCH,
        "P_BLACKLIST_MATCH",
        "Borrower is listed as a dishonest debtor",
        "借款人为失信被执行人",
        lambda p: PolicyDecision.DECLINED,
        lambda p: c("dishonest_debtor_listed").fill_null(False),
        lambda p: c("dishonest_debtor_listed").is_not_null(),
    ),
    Rule(
        PolicyRule.IDENTITY_NOT_VERIFIED,
        "P_IDENTITY_NOT_VERIFIED",
        "Identity verification has not passed: no loan before it does",
        "实名认证未通过，认证通过前不得放款",
        lambda p: PolicyDecision(p.identity_not_verified_decision),
        lambda p: ~c("identity_verified").fill_null(False),
        _always,
    ),
    Rule(
        PolicyRule.TOO_MANY_ONLINE_LOANS,
        "P_TOO_MANY_ONLINE_LOANS",
        "Too many loans outstanding here and at other platforms",
        "本平台及其他平台在贷笔数过多（多头借贷）",
        lambda p: PolicyDecision(p.too_many_online_loans_decision),
        _other_loans,
        lambda p: _other_loans(p) | (c("other_active_loans").is_not_null() & c("other_platform_loans").is_not_null()),
    ),
    Rule(
        PolicyRule.INCOME_NOT_VERIFIED_ABOVE,
        "P_INCOME_NOT_VERIFIED_ABOVE",
        "Income not verified for the amount requested",
        "收入未核实，申请金额超过免核实上限",
        lambda p: PolicyDecision.MANUAL_REVIEW,
        lambda p: ~c("income_verified").fill_null(False) & (c("requested_amount") > p.unverified_income_max_amount),
        lambda p: c("requested_amount").is_not_null(),
    ),
    Rule(
        PolicyRule.ABOVE_MAX_AGE,
        "P_ABOVE_MAX_AGE",
        "Applicant is above the lender's age limit",
        "申请人超过本平台借款年龄上限",
        lambda p: PolicyDecision.MANUAL_REVIEW,
        lambda p: (c("age") > p.max_age).fill_null(False),
        lambda p: c("age").is_not_null(),
    ),
)
_SEVERITY = {PolicyDecision.DECLINED: 0, PolicyDecision.MANUAL_REVIEW: 1}


def precedence(params: ReviewRuleParams) -> list[Rule]:
    """The rules in the order they decide: declines first, then manual reviews, each in :data:`RULES` order."""
    return sorted(RULES, key=lambda r: _SEVERITY[r.decision(params)])  # sorted() is stable


def apply_review_rules(applications: pl.DataFrame, params: ReviewRuleParams) -> pl.DataFrame:
    """``applications`` with ``policy_rule``, ``policy_decision`` (null when no rule hits) and
    ``policy_not_checked`` (the rules the row's data cannot check).

    Raises :class:`~risk.exceptions.RiskDataError` naming the columns of :data:`REQUIRED` that are absent;
    the optional facts (``dishonest_debtor_listed``, ``other_platform_loans``) absent are added as nulls.

    Examples
    --------
    >>> frame = pl.DataFrame({"age": [30, 17, 30], "identity_verified": [True, True, False],
    ...     "income_verified": True, "requested_amount": 5000.0, "other_active_loans": 0,
    ...     "dishonest_debtor_listed": False, "other_platform_loans": 1})
    >>> apply_review_rules(frame, ReviewRuleParams())["policy_rule", "policy_decision"].rows()
    [(None, None), ('under_legal_age', 'declined'), ('identity_not_verified', 'manual_review')]
    """
    missing = [col for col in REQUIRED if col not in applications.columns]
    if missing:
        msg = f"the review rules need {list(REQUIRED)}; missing {missing}"
        raise RiskDataError(msg, table="review_queue", rule="review_rules")
    frame = applications.with_columns(
        pl.lit(None, dtype=dtype).alias(col) for col, dtype in OPTIONAL.items() if col not in applications.columns
    )
    order = precedence(params)
    rule = pl.coalesce([pl.when(r.hits(params)).then(pl.lit(r.name.value)) for r in order])
    decision = pl.coalesce([pl.when(r.hits(params)).then(pl.lit(r.decision(params).value)) for r in order])
    not_checked = pl.concat_list([pl.when(~r.checked(params)).then(pl.lit(r.name.value)) for r in RULES])
    return frame.with_columns(
        policy_rule=rule.cast(pl.String),
        policy_decision=decision.cast(pl.String),
        policy_not_checked=not_checked.list.drop_nulls(),
    )


def with_policy_reasons(queue: pl.DataFrame) -> pl.DataFrame:
    """``reason_codes``, ``reasons_en`` and ``reasons_zh`` with the deciding rule's reason first on rows a
    policy rule decided (``decided_by``); the model's reasons stay after it."""
    decided = c("decided_by") == DecidedBy.POLICY_RULE.value
    texts = {"reason_codes": "code", "reasons_en": "reason_en", "reasons_zh": "reason_zh"}
    return queue.with_columns(
        pl.when(decided)
        .then(
            pl.concat_list(
                c("policy_rule").replace_strict(
                    {r.name.value: getattr(r, attr) for r in RULES}, return_dtype=pl.String
                ),
                c(column),
            )
        )
        .otherwise(c(column))
        .alias(column)
        for column, attr in texts.items()
    )


def review_facts(
    tables: Mapping[str, pl.DataFrame], pending: pl.DataFrame, params: ReviewRuleParams, *, as_of: dt.date
) -> pl.DataFrame:
    """``pending`` with the facts the optional case tables hold at ``as_of``, null where the table is absent.

    ``dishonest_debtor_listed``: one of the borrower's loans has a legal case listed on the dishonest-debtor
    list on or before ``as_of`` (false when ``legal_cases`` is present without one). ``other_platform_loans``:
    the borrower's latest count observed at most ``other_loans_max_age_days`` before ``as_of`` (the larger
    count when two sources observed the same day); null when none was.
    """
    out = pending
    if LEGAL_CASES.name in tables:
        listed = (
            tables[LEGAL_CASES.name]
            .filter(c("dishonest_debtor_listed") & (c("listed_on") <= as_of))
            .join(tables["loans"].select("loan_id", "borrower_id"), on="loan_id")
            .get_column("borrower_id")
            .unique()
        )
        out = out.with_columns(dishonest_debtor_listed=c("borrower_id").is_in(listed.implode()))
    else:
        out = out.with_columns(dishonest_debtor_listed=pl.lit(None, dtype=pl.Boolean))
    if BORROWER_PROFILES.name in tables:
        since = as_of - dt.timedelta(days=params.other_loans_max_age_days)
        counts = (
            tables[BORROWER_PROFILES.name]
            .filter(c("observed_on").is_between(since, as_of), c("other_platform_loans").is_not_null())
            .sort("observed_on", "other_platform_loans")
            .group_by("borrower_id")
            .agg(c("other_platform_loans").last())
        )
        out = out.join(counts, on="borrower_id", how="left")
    else:
        out = out.with_columns(other_platform_loans=pl.lit(None, dtype=pl.Int64))
    return out
