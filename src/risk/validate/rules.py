"""The validation rules' names, what each expects, their severities, and how ``validate.warn_only`` downgrades them."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from enum import StrEnum

from risk.config import CollectionRules
from risk.exceptions import ConfigError


class Severity(StrEnum):
    ERROR = "error"  # stops the pipeline
    WARNING = "warning"  # reported, the pipeline goes on
    INFO = "info"  # what the export does not hold: said so that the reader knows, never a fault of the data


class Rule(StrEnum):
    """Every rule the validate stage checks; ``warn_only`` names them by these values.

    :data:`DESCRIPTIONS` says what each one expects.
    """

    # structure, checked in polars before Great Expectations (which would crash on them)
    TABLE_PRESENT = "table_present"
    TABLE_ABSENT = "table_absent"
    REQUIRED_COLUMN = "required_column"
    OPTIONAL_COLUMN_ABSENT = "optional_column_absent"
    DTYPE = "dtype"
    EXTRA_COLUMNS = "extra_columns"
    FINITE = "finite"
    ID_CONTROL_CHARACTERS = "id_control_characters"
    # per column, Great Expectations suites generated from the contract
    NOT_NULL = "not_null"
    UNIQUE_KEY = "unique_key"
    IN_DOMAIN = "in_domain"
    IN_RANGE = "in_range"
    NOT_AFTER_AS_OF = "not_after_as_of"
    DATE_PLAUSIBLE = "date_plausible"
    # across tables, polars joins
    FK_LOAN_EXISTS = "fk_loan_exists"
    FK_APPLICATION_EXISTS = "fk_application_exists"
    FK_BORROWER_EXISTS = "fk_borrower_exists"
    APPLICATION_APPROVED = "application_approved"
    PAID_NOT_BEFORE_ORIGINATION = "paid_not_before_origination"
    INSTALMENTS_CONTIGUOUS = "instalments_contiguous"
    DUE_AFTER_ORIGINATION = "due_after_origination"
    HARDSHIP_REASON_WITH_HARDSHIP = "hardship_reason_with_hardship"
    HOLD_OUT_NOT_A_CONTACT = "hold_out_not_a_contact"
    # reconciliation: tables that are well-formed but cannot both be true
    SCHEDULE_MATCHES_PRINCIPAL = "schedule_matches_principal"
    REPAID_WITHIN_SCHEDULE = "repaid_within_schedule"
    REPAYMENTS_PRESENT = "repayments_present"
    # against the previous accepted export of the same source (validate.shift)
    ROW_COUNT_SHIFT = "row_count_shift"
    AMOUNT_SCALE_SHIFT = "amount_scale_shift"
    NULL_SHARE_SHIFT = "null_share_shift"
    CATEGORY_SHARE_SHIFT = "category_share_shift"
    # the lender's declared source attributes (ingest.attributes)
    ATTRIBUTE_MISSING_RATE = "attribute_missing_rate"
    # agreements (协商协议)
    AGREEMENT_AFTER_ORIGINATION = "agreement_after_origination"
    AGREEMENT_TERMS_MATCH_KIND = "agreement_terms_match_kind"
    PROMISE_AFTER_SIGNING = "promise_after_signing"
    SETTLEMENT_WITHIN_BALANCE = "settlement_within_balance"
    CERTIFICATE_ONLY_WHEN_SETTLED = "certificate_only_when_settled"
    # legal cases (法务案件): the steps in their only possible order
    LEGAL_CASE_AFTER_ORIGINATION = "legal_case_after_origination"
    LETTER_AFTER_REGISTRATION = "letter_after_registration"
    DEADLINE_AFTER_LETTER = "deadline_after_letter"
    FILED_AFTER_LETTER = "filed_after_letter"
    FILED_AFTER_DEADLINE = "filed_after_deadline"
    JUDGMENT_AFTER_FILING = "judgment_after_filing"
    AWARDED_WITHIN_CLAIM = "awarded_within_claim"
    ENFORCEMENT_AFTER_JUDGMENT = "enforcement_after_judgment"
    LISTED_AFTER_ENFORCEMENT = "listed_after_enforcement"
    CLOSED_AFTER_LAST_STEP = "closed_after_last_step"
    # lawful collection (合规催收), thresholds from params' collection_rules; warnings: a real history has a few
    CONTACT_IN_QUIET_HOURS = "contact_in_quiet_hours"
    VOICE_CONTACTS_OVER_DAILY_CAP = "voice_contacts_over_daily_cap"
    UNANSWERED_OVER_DAILY_CAP = "unanswered_over_daily_cap"
    THIRD_PARTY_BEFORE_UNREACHABLE = "third_party_before_unreachable"
    CONTACT_AFTER_NO_CONTACT_REQUEST = "contact_after_no_contact_request"


# What each rule expects, in words: the detail of its results and the rule list of docs/data_contract.md.
# ``{name}`` is a field of CollectionRules, filled in by :func:`describe`.
DESCRIPTIONS: dict[Rule, str] = {
    Rule.SCHEDULE_MATCHES_PRINCIPAL: "a loan's scheduled principal sums to the principal disbursed (within 1 RMB "
    "or 0.5%): a principal of 0 on a scheduled loan, or one a thousand times the schedule, cannot be scored",
    Rule.REPAID_WITHIN_SCHEDULE: "a loan's repayments never exceed everything its schedule asks (principal and "
    "interest) by more than 10 RMB or 1%: amounts in fen instead of yuan, or a payment of 1e18, fail here",
    Rule.REPAYMENTS_PRESENT: "repayments hold rows when instalments fell due before the latest origination: an "
    "empty repayments file would make every loan look unpaid and send the book to legal",
    Rule.ROW_COUNT_SHIFT: "a table's row count within a factor validate.shift.max_row_ratio of the previous accepted "
    "export of the same source: an export with a header and no rows, or half a file, fails here",
    Rule.AMOUNT_SCALE_SHIFT: "each amount column's median within a factor validate.shift.max_amount_ratio of the "
    "previous accepted export's: amounts in fen instead of yuan fail here",
    Rule.NULL_SHARE_SHIFT: "each column's share of nulls within validate.shift.max_share_change of the previous "
    "accepted export's",
    Rule.CATEGORY_SHARE_SHIFT: "each category's share within validate.shift.max_share_change of the previous "
    "accepted export's: a remapped status code fails here",
    Rule.TABLE_PRESENT: "each of the five input tables is present",
    Rule.TABLE_ABSENT: "an optional case table is not in the export: reported so that the reader knows what the "
    "pipeline cannot know",
    Rule.REQUIRED_COLUMN: "every non-nullable contract column is present",
    Rule.OPTIONAL_COLUMN_ABSENT: "a nullable contract column absent from the table (an older export) is added as "
    "nulls: the pipeline has no signal from it",
    Rule.DTYPE: "every value casts to the contract's type without loss",
    Rule.EXTRA_COLUMNS: "only the contract's columns (extra ones are dropped from the validated tables)",
    Rule.FINITE: "finite numbers (no NaN or ±inf)",
    Rule.ID_CONTROL_CHARACTERS: "no NUL byte or other control character (\\x00-\\x1f, \\x7f) in an identifier, a key "
    "column or one whose name ends in _id: such an id looks like another yet joins with nothing, and truncates in "
    "the files and tools it is written to",
    Rule.NOT_NULL: "no nulls in a non-nullable column",
    Rule.UNIQUE_KEY: "a unique key (compound where the key is)",
    Rule.IN_DOMAIN: "a categorical column holds only the contract's values",
    Rule.IN_RANGE: "numbers within the contract's bounds",
    Rule.NOT_AFTER_AS_OF: "no date after the data's as-of date, except those that may lie ahead: schedule.due_date, "
    "agreements.promised_date, agreements.plan_first_due, legal_cases.response_deadline",
    Rule.DATE_PLAUSIBLE: "every date on or after the platform's first day (validate.first_day) and no later than "
    "validate.max_years_ahead years after as_of: a loan originated in 1900, a two-digit year read as the year 24 or "
    "a due date in 9999 cannot be scored",
    Rule.FK_LOAN_EXISTS: "expected loan_id to exist in loans",
    Rule.FK_APPLICATION_EXISTS: "expected application_id to exist in applications",
    Rule.ATTRIBUTE_MISSING_RATE: "expected a declared source attribute to be empty in at most its max_missing share "
    "of applications",
    Rule.FK_BORROWER_EXISTS: "expected borrower_id to exist in loans or applications",
    Rule.APPLICATION_APPROVED: "expected the loan's application to be approved",
    Rule.PAID_NOT_BEFORE_ORIGINATION: "expected paid_at on or after the loan's originated_on",
    Rule.INSTALMENTS_CONTIGUOUS: "expected instalment_no 1..term_months once each per loan (failing counts loans)",
    Rule.DUE_AFTER_ORIGINATION: "expected due_date after the loan's originated_on",
    Rule.HARDSHIP_REASON_WITH_HARDSHIP: "expected a hardship_reason if and only if the outcome is hardship_reported",
    Rule.HOLD_OUT_NOT_A_CONTACT: "expected a hold_out to have channel none and outcome not_contacted, and channel "
    "none only on a hold_out (a hold-out is a logged no-action, never a contact)",
    Rule.AGREEMENT_AFTER_ORIGINATION: "expected signed_at on or after the loan's originated_on",
    Rule.AGREEMENT_TERMS_MATCH_KIND: "expected the terms of the agreement's kind: a promise_to_pay has promised_date "
    "and promised_amount; an instalment_plan has plan_instalments, plan_first_due and plan_instalment_amount; an "
    "extension has extension_days; a settlement has settlement_amount",
    Rule.PROMISE_AFTER_SIGNING: "expected promised_date on or after the day of signed_at",
    Rule.SETTLEMENT_WITHIN_BALANCE: "expected settlement_amount at most the loan's scheduled principal_due + "
    "interest_due less what was repaid before signed_at, plus 1 RMB",
    Rule.CERTIFICATE_ONLY_WHEN_SETTLED: "expected certificate_on only on a completed settlement (kind settlement, "
    "status completed), and not before the day of signed_at",
    Rule.LEGAL_CASE_AFTER_ORIGINATION: "expected registered_on on or after the loan's originated_on",
    Rule.LETTER_AFTER_REGISTRATION: "expected letter_sent_on on or after registered_on",
    Rule.DEADLINE_AFTER_LETTER: "expected response_deadline only with a letter, and after letter_sent_on",
    Rule.FILED_AFTER_LETTER: "expected filed_on only after a lawyer's letter: letter_sent_on set and not after "
    "filed_on",
    Rule.FILED_AFTER_DEADLINE: "expected filed_on after the letter's response_deadline had passed",
    Rule.JUDGMENT_AFTER_FILING: "expected judgment_on only after a suit: filed_on set and not after judgment_on",
    Rule.AWARDED_WITHIN_CLAIM: "expected awarded_amount only with a claim, and at most claim_amount",
    Rule.ENFORCEMENT_AFTER_JUDGMENT: "expected enforcement_on only after a judgment: judgment_on set and not after "
    "enforcement_on",
    Rule.LISTED_AFTER_ENFORCEMENT: "expected dishonest_debtor_listed only after enforcement: enforcement_on and "
    "listed_on set, listed_on on or after enforcement_on; listed_on only when listed",
    Rule.CLOSED_AFTER_LAST_STEP: "expected closed_on on or after every step the case reached (registered_on, "
    "letter_sent_on, filed_on, judgment_on, enforcement_on)",
    Rule.CONTACT_IN_QUIET_HOURS: "expected no contact (sms, phone, email, app, video, face_to_face) from "
    "{quiet_start_hour}:00 to {quiet_end_hour}:00 (collection_rules.quiet_start_hour, quiet_end_hour)",
    Rule.VOICE_CONTACTS_OVER_DAILY_CAP: "expected at most {max_voice_contacts_per_day} effective voice contacts "
    "(phone, video or face_to_face with the debtor reached) per borrower per calendar day, all their loans together "
    "(collection_rules.max_voice_contacts_per_day); third-party contacts are not with the debtor and do not count; "
    "failing rows are the contacts beyond the cap",
    Rule.UNANSWERED_OVER_DAILY_CAP: "expected at most {max_unanswered_per_day} unanswered voice attempts (outcome "
    "unreachable) per borrower per calendar day (collection_rules.max_unanswered_per_day); the rule is per phone "
    "number but the contract has no phone number, so the borrower stands in for it; failing rows are the attempts "
    "beyond the cap",
    Rule.THIRD_PARTY_BEFORE_UNREACHABLE: "expected a third_party_contact only after at least "
    "{third_party_after_failed_attempts} consecutive unreachable attempts to reach the debtor on that loan "
    "(collection_rules.third_party_after_failed_attempts); a reached debtor restarts the count, a delivered "
    "message neither adds nor restarts",
    Rule.CONTACT_AFTER_NO_CONTACT_REQUEST: "expected no contact with the debtor within "
    "{no_contact_days_after_request} days after a no_contact_requested or complaint outcome on that borrower, any "
    "loan (collection_rules.no_contact_days_after_request); legal steps and third-party contacts are not debtor "
    "contacts",
}

LAWFUL_COLLECTION: frozenset[Rule] = frozenset(
    {
        Rule.CONTACT_IN_QUIET_HOURS,
        Rule.VOICE_CONTACTS_OVER_DAILY_CAP,
        Rule.UNANSWERED_OVER_DAILY_CAP,
        Rule.THIRD_PARTY_BEFORE_UNREACHABLE,
        Rule.CONTACT_AFTER_NO_CONTACT_REQUEST,
    }
)
# Without these the tables cannot be conformed to the contract, so they can never be downgraded.
# An id with a control character is not downgraded either: it would pass into every output keyed by it.
STRUCTURAL: frozenset[Rule] = frozenset(
    {Rule.TABLE_PRESENT, Rule.REQUIRED_COLUMN, Rule.DTYPE, Rule.ID_CONTROL_CHARACTERS}
)
DEFAULT_WARNINGS: frozenset[Rule] = frozenset({Rule.EXTRA_COLUMNS, Rule.OPTIONAL_COLUMN_ABSENT, *LAWFUL_COLLECTION})
INFORMATIONAL: frozenset[Rule] = frozenset({Rule.TABLE_ABSENT})


def describe(rule: Rule, rules: CollectionRules | None = None) -> str:
    """What ``rule`` expects, in words, with the collection rules' thresholds filled in."""
    return DESCRIPTIONS[rule].format(**dataclasses.asdict(rules or CollectionRules()))


def default_severity(rule: Rule) -> Severity:
    """The severity of a failure of ``rule`` when ``warn_only`` names nothing."""
    if rule in INFORMATIONAL:
        return Severity.INFO
    return Severity.WARNING if rule in DEFAULT_WARNINGS else Severity.ERROR


def check_warn_only(warn_only: Iterable[str]) -> None:
    """Raise :class:`ConfigError` for an entry that names no rule, or a rule that cannot be downgraded.

    An entry is ``rule``, ``table.rule`` or ``table.column.rule``.
    """
    known = {r.value for r in Rule}
    for entry in warn_only:
        rule = entry.rsplit(".", 1)[-1]
        if rule not in known:
            msg = (
                f"validate.warn_only: {entry!r} names no rule; expected 'rule', 'table.rule' or "
                f"'table.column.rule' with rule one of {sorted(known)}"
            )
            raise ConfigError(msg)
        if rule in STRUCTURAL:
            msg = (
                f"validate.warn_only: {entry!r} cannot be downgraded: without it the tables cannot be "
                f"conformed to the contract (structural rules: {sorted(STRUCTURAL)})"
            )
            raise ConfigError(msg)


def severity(table: str, column: str | None, rule: Rule, warn_only: Iterable[str]) -> Severity:
    """The severity of ``rule`` on ``table.column``: its default, downgraded to a warning by ``warn_only``."""
    default = default_severity(rule)
    if default is not Severity.ERROR:
        return default
    names = {rule.value, f"{table}.{rule.value}"}
    if column:
        names.add(f"{table}.{column}.{rule.value}")
    return Severity.WARNING if names & set(warn_only) else Severity.ERROR
