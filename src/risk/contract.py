"""The loan data contract: five input tables, three case tables, the simulator's truth, and the closed sets.

The five input tables are required of every export. The case tables (agreements, legal cases, borrower
profiles) are optional: an export without them still runs, and the queues then say what they cannot
know. Every stage imports this module; it imports nothing of the project. Money is in RMB (yuan), rates
are annual fractions (0.24 = 24%), terms in months, timestamps are naive local time (Asia/Shanghai).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import polars as pl


# --- closed sets -------------------------------------------------------------------------------------
class Product(StrEnum):
    CASH_LOAN = "cash_loan"  # 现金贷
    CONSUMER_INSTALMENT = "consumer_instalment"  # 消费分期
    MICRO_BUSINESS = "micro_business"  # 小微经营贷


class Channel(StrEnum):
    APP_ORGANIC = "app_organic"
    PARTNER_REFERRAL = "partner_referral"
    ONLINE_ADS = "online_ads"
    OFFLINE_AGENT = "offline_agent"


class EmploymentType(StrEnum):
    WHITE_COLLAR = "white_collar"
    BLUE_COLLAR = "blue_collar"
    SELF_EMPLOYED = "self_employed"
    FREELANCE = "freelance"


class Education(StrEnum):
    BELOW_HIGH_SCHOOL = "below_high_school"
    HIGH_SCHOOL = "high_school"
    COLLEGE = "college"  # 大专
    BACHELOR = "bachelor"
    POSTGRADUATE = "postgraduate"


class Decision(StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"
    PENDING = "pending"  # 待审核: what pre-loan review scores


class RepaymentMethod(StrEnum):
    EQUAL_INSTALMENT = "equal_instalment"  # 等额本息
    EQUAL_PRINCIPAL = "equal_principal"  # 等额本金
    BULLET = "bullet"  # 先息后本


class LoanStatus(StrEnum):
    """Status at the data's as-of date. Never a feature: it is the future seen from any earlier as_of."""

    ACTIVE = "active"
    REPAID = "repaid"
    CHARGED_OFF = "charged_off"


class Action(StrEnum):
    """Collection actions, in ladder order (催收阶梯)."""

    SMS = "sms"
    CALL = "call"
    EMAIL = "email"
    NEGOTIATION = "negotiation"  # 协商
    INSTALMENT_PLAN = "instalment_plan"  # 分期还款方案
    EXTENSION = "extension"  # 展期
    INTEREST_RELIEF = "interest_relief"  # 减免利息
    SETTLEMENT = "settlement"  # 一次性结清
    LAWYERS_LETTER = "lawyers_letter"  # 律师函
    LITIGATION = "litigation"  # 民事诉讼
    ENFORCEMENT = "enforcement"  # 强制执行
    THIRD_PARTY_CONTACT = (
        "third_party_contact"  # 联系第三方: only once the debtor is unreachable, never told of the debt
    )
    HOLD_OUT = "hold_out"  # 对照组: an eligible loan-day left without action by design (logged, not a contact)


class ContactChannel(StrEnum):
    SMS = "sms"
    PHONE = "phone"  # voice: a human collector or an AI voice agent
    EMAIL = "email"
    APP = "app"
    LETTER = "letter"
    COURT = "court"
    VIDEO = "video"  # 视频协商
    FACE_TO_FACE = "face_to_face"  # 面谈
    NONE = "none"  # a hold-out row: nobody was contacted


# channels through which the debtor (or a third party) is actually contacted; hold-outs and court steps are not
CONTACT_CHANNELS: tuple[str, ...] = ("sms", "phone", "email", "app", "video", "face_to_face")
VOICE_CHANNELS: tuple[str, ...] = ("phone", "video", "face_to_face")  # 有效语音联系 when answered


class Outcome(StrEnum):
    DELIVERED = "delivered"
    REACHED = "reached"
    UNREACHABLE = "unreachable"
    PROMISE_TO_PAY = "promise_to_pay"  # 承诺还款
    REFUSED = "refused"
    BROKEN_PROMISE = "broken_promise"
    AGREEMENT_SIGNED = "agreement_signed"
    FILED = "filed"
    JUDGMENT = "judgment"
    RECOVERED = "recovered"
    # evidence of ability versus willingness, as a collector records it (noisy, as in life)
    HARDSHIP_REPORTED = "hardship_reported"  # 困难申诉: with a hardship_reason
    DISPUTED = "disputed"  # disputes the debt (异议)
    COMPLAINT = "complaint"  # complaint lodged (投诉): no further contact until resolved
    NO_CONTACT_REQUESTED = "no_contact_requested"  # asks not to be contacted: none until resolved
    NOT_CONTACTED = "not_contacted"  # the outcome of a hold-out row


# outcomes that mean the debtor was reached and spoke (an effective contact, 有效联系)
REACHED_OUTCOMES: tuple[str, ...] = (
    "reached",
    "promise_to_pay",
    "refused",
    "agreement_signed",
    "hardship_reported",
    "disputed",
    "complaint",
    "no_contact_requested",
)


class HardshipReason(StrEnum):
    """Why a borrower says they cannot pay (困难原因)."""

    JOB_LOSS = "job_loss"  # 失业
    ILLNESS = "illness"  # 疾病
    FAMILY_EVENT = "family_event"  # 家庭变故
    BUSINESS_FAILURE = "business_failure"  # 经营失败
    OTHER = "other"


class AgreementKind(StrEnum):
    """What a negotiation agreed (协商结果); every one is a row of ``agreements``."""

    PROMISE_TO_PAY = "promise_to_pay"  # 承诺还款: a date and an amount
    INSTALMENT_PLAN = "instalment_plan"  # 分期还款: arrears and balance re-spread over new instalments
    EXTENSION = "extension"  # 展期/延期: the overdue instalments fall due later
    INTEREST_RELIEF = "interest_relief"  # 减免利息: interest waived if the rest is paid
    SETTLEMENT = "settlement"  # 一次性结清: a one-off amount below the balance closes the loan


class NegotiationChannel(StrEnum):
    PHONE = "phone"
    VIDEO = "video"
    FACE_TO_FACE = "face_to_face"
    EMAIL = "email"


class AgreementStatus(StrEnum):
    """An agreement's state at the data's as-of date."""

    ACTIVE = "active"  # signed, being executed and monitored
    KEPT = "kept"  # a promise paid by its date (plus grace)
    BROKEN = "broken"  # a payment missed: the contract's consequence applies
    COMPLETED = "completed"  # a plan, extension, relief or settlement fully paid


class CloseReason(StrEnum):
    """Why a legal case was closed (结案原因)."""

    REPAID = "repaid"  # paid in full after the letter or the suit
    SETTLED = "settled"  # 和解: a settlement agreement
    RECOVERED = "recovered"  # 执行完毕: enforcement recovered the award
    UNCOLLECTABLE = "uncollectable"  # 终结本次执行: nothing to enforce against
    WITHDRAWN = "withdrawn"  # 撤诉


class ProfileSource(StrEnum):
    """Where a borrower profile row was observed."""

    APPLICATION = "application"  # declared and checked at application
    BUREAU_REFRESH = "bureau_refresh"  # 征信复查: a later bureau query
    COLLECTOR = "collector"  # found by collections or the legal team (asset search, 财产线索)


class OverdueType(StrEnum):
    """The four kinds of overdue borrower, each treated differently."""

    TEMPORARY = "temporary"  # 暂时性逾期: one-off shock, able and willing
    MALICIOUS = "malicious"  # 恶意逾期: able but unwilling, incl. fraud
    SEVERE = "severe"  # 严重逾期: long overdue, weak ability
    INSOLVENT = "insolvent"  # 无力偿还: cannot pay


class LadderStep(StrEnum):
    """Steps of the collections ladder, lowest first; ``LADDER_RANK`` orders them."""

    NONE = "none"
    REMINDER = "reminder"
    NEGOTIATION = "negotiation"
    LAWYERS_LETTER = "lawyers_letter"
    LITIGATION = "litigation"
    ENFORCEMENT = "enforcement"


ACTION_STEP: dict[Action, LadderStep] = {
    Action.SMS: LadderStep.REMINDER,
    Action.CALL: LadderStep.REMINDER,
    Action.EMAIL: LadderStep.REMINDER,
    Action.NEGOTIATION: LadderStep.NEGOTIATION,
    Action.INSTALMENT_PLAN: LadderStep.NEGOTIATION,
    Action.EXTENSION: LadderStep.NEGOTIATION,
    Action.INTEREST_RELIEF: LadderStep.NEGOTIATION,
    Action.SETTLEMENT: LadderStep.NEGOTIATION,
    Action.LAWYERS_LETTER: LadderStep.LAWYERS_LETTER,
    Action.LITIGATION: LadderStep.LITIGATION,
    Action.ENFORCEMENT: LadderStep.ENFORCEMENT,
    Action.THIRD_PARTY_CONTACT: LadderStep.REMINDER,
    Action.HOLD_OUT: LadderStep.NONE,
}
LADDER_RANK: dict[LadderStep, int] = {step: i for i, step in enumerate(LadderStep)}


# --- table schemas -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    name: str
    dtype: pl.DataType
    meaning: str
    unit: str = ""
    nullable: bool = False
    domain: tuple[str, ...] | None = None  # allowed values of a categorical column
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class Table:
    name: str
    meaning: str
    key: tuple[str, ...]
    columns: tuple[Column, ...] = field(default_factory=tuple)

    @property
    def schema(self) -> dict[str, pl.DataType]:
        return {c.name: c.dtype for c in self.columns}

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _values(enum: type[StrEnum]) -> tuple[str, ...]:
    return tuple(e.value for e in enum)


DT = pl.Datetime("us")

APPLICATIONS = Table(
    "applications",
    "One row per loan application, approved, declined or pending (进件).",
    key=("application_id",),
    columns=(
        Column("application_id", pl.String(), "Application identifier"),
        Column("borrower_id", pl.String(), "Borrower identifier (stable across applications)"),
        Column("applied_at", DT, "When the application was submitted", "local time"),
        Column("requested_amount", pl.Float64(), "Amount requested", "RMB", minimum=0),
        Column("requested_term", pl.Int64(), "Term requested", "months", minimum=1, maximum=60),
        Column("product", pl.String(), "Product applied for", domain=_values(Product)),
        Column("channel", pl.String(), "Acquisition channel", domain=_values(Channel)),
        Column("age", pl.Int64(), "Applicant age at application", "years", minimum=18, maximum=75),
        Column("monthly_income", pl.Float64(), "Declared monthly income", "RMB", minimum=0),
        Column("employment_type", pl.String(), "Employment type", domain=_values(EmploymentType)),
        Column("employment_years", pl.Float64(), "Years with current employer", "years", minimum=0),
        Column("city_tier", pl.Int64(), "City tier of residence (1 = Beijing/Shanghai...)", minimum=1, maximum=5),
        Column("education", pl.String(), "Highest education", domain=_values(Education)),
        Column("credit_history_months", pl.Int64(), "Length of credit bureau history", "months", minimum=0),
        Column("existing_debt", pl.Float64(), "Outstanding debt with other lenders", "RMB", minimum=0),
        Column("credit_inquiries_6m", pl.Int64(), "Credit bureau inquiries in the last 6 months", "count", minimum=0),
        Column("prior_loans", pl.Int64(), "Loans previously taken on this platform", "count", minimum=0),
        Column("identity_verified", pl.Boolean(), "Identity check passed (实名认证)"),
        Column("income_verified", pl.Boolean(), "Income documents verified"),
        Column("decision", pl.String(), "Underwriting decision; pending = not decided yet", domain=_values(Decision)),
        Column("loan_id", pl.String(), "Loan booked from this application, when approved", nullable=True),
    ),
)

LOANS = Table(
    "loans",
    "One row per booked loan (借据).",
    key=("loan_id",),
    columns=(
        Column("loan_id", pl.String(), "Loan identifier"),
        Column("borrower_id", pl.String(), "Borrower identifier"),
        Column("application_id", pl.String(), "Application the loan was booked from"),
        Column("originated_on", pl.Date(), "Disbursement date"),
        Column("principal", pl.Float64(), "Amount disbursed", "RMB", minimum=0),
        Column("annual_rate", pl.Float64(), "Annual interest rate (APR, fraction)", "1/year", minimum=0, maximum=0.36),
        Column("term_months", pl.Int64(), "Number of monthly instalments", "months", minimum=1, maximum=60),
        Column("repayment_method", pl.String(), "Amortisation method", domain=_values(RepaymentMethod)),
        Column("product", pl.String(), "Product", domain=_values(Product)),
        Column(
            "contract_max_overdue_days",
            pl.Int64(),
            "Days overdue after which the contract allows acceleration and legal action",
            "days",
            minimum=1,
        ),
        Column("status", pl.String(), "Status at the data's as-of date (never a feature)", domain=_values(LoanStatus)),
        Column(
            "acceleration_clause",
            pl.Boolean(),
            "The contract lets the whole balance fall due on a broken agreement or past the maximum (加速到期)",
            nullable=True,
        ),
    ),
)

SCHEDULE = Table(
    "schedule",
    "One row per instalment due (还款计划).",
    key=("loan_id", "instalment_no"),
    columns=(
        Column("loan_id", pl.String(), "Loan identifier"),
        Column("instalment_no", pl.Int64(), "Instalment number, 1..term", minimum=1),
        Column("due_date", pl.Date(), "Due date"),
        Column("principal_due", pl.Float64(), "Principal due", "RMB", minimum=0),
        Column("interest_due", pl.Float64(), "Interest due", "RMB", minimum=0),
    ),
)

REPAYMENTS = Table(
    "repayments",
    "One row per payment received (还款流水); partial payments and prepayments allowed.",
    key=("repayment_id",),
    columns=(
        Column("repayment_id", pl.String(), "Payment identifier"),
        Column("loan_id", pl.String(), "Loan identifier"),
        Column("paid_at", DT, "When the payment was received", "local time"),
        Column("amount", pl.Float64(), "Amount received", "RMB", minimum=0),
        Column(
            "instalment_no",
            pl.Int64(),
            "Instalment the payment was allocated to, where known",
            nullable=True,
            minimum=1,
        ),
    ),
)

COLLECTION_ACTIONS = Table(
    "collection_actions",
    "One row per collection contact or step (催收记录); every contact is recorded.",
    key=("action_id",),
    columns=(
        Column("action_id", pl.String(), "Action identifier"),
        Column("loan_id", pl.String(), "Loan identifier"),
        Column("action_at", DT, "When the action took place", "local time"),
        Column("action", pl.String(), "What was done", domain=_values(Action)),
        Column("channel", pl.String(), "Through which channel", domain=_values(ContactChannel)),
        Column("outcome", pl.String(), "What came of it", domain=_values(Outcome)),
        Column(
            "hardship_reason",
            pl.String(),
            "Reason given when the outcome is hardship_reported",
            nullable=True,
            domain=_values(HardshipReason),
        ),
        Column(
            "policy",
            pl.String(),
            "The strategy that chose the action (champion, challenger, hold_out...)",
            nullable=True,
        ),
        Column(
            "assignment_probability",
            pl.Float64(),
            "Probability with which that policy chose this action for this loan-day (for causal estimates)",
            nullable=True,
            minimum=0,
            maximum=1,
        ),
    ),
)

AGREEMENTS = Table(
    "agreements",
    "One row per agreement reached in negotiation (协商协议): promise, plan, extension, relief or settlement.",
    key=("agreement_id",),
    columns=(
        Column("agreement_id", pl.String(), "Agreement identifier"),
        Column("loan_id", pl.String(), "Loan identifier"),
        Column("kind", pl.String(), "What was agreed", domain=_values(AgreementKind)),
        Column("channel", pl.String(), "Where it was negotiated", domain=_values(NegotiationChannel)),
        Column("signed_at", DT, "When it was agreed (signed, for a written agreement)", "local time"),
        Column("promised_date", pl.Date(), "Promise to pay: the date promised", nullable=True),
        Column("promised_amount", pl.Float64(), "Promise to pay: the amount promised", "RMB", nullable=True, minimum=0),
        Column(
            "plan_instalments",
            pl.Int64(),
            "Instalment plan: number of new instalments",
            "count",
            nullable=True,
            minimum=1,
        ),
        Column("plan_first_due", pl.Date(), "Instalment plan: first new due date (then monthly)", nullable=True),
        Column(
            "plan_instalment_amount",
            pl.Float64(),
            "Instalment plan: amount of each new instalment",
            "RMB",
            nullable=True,
            minimum=0,
        ),
        Column(
            "extension_days",
            pl.Int64(),
            "Extension: days the overdue instalments are deferred",
            "days",
            nullable=True,
            minimum=1,
        ),
        Column("relief_amount", pl.Float64(), "Interest relief: interest waived", "RMB", nullable=True, minimum=0),
        Column(
            "settlement_amount",
            pl.Float64(),
            "Settlement: the one-off amount that closes the loan",
            "RMB",
            nullable=True,
            minimum=0,
        ),
        Column(
            "write_down_amount",
            pl.Float64(),
            "Settlement: the balance written down (减免金额)",
            "RMB",
            nullable=True,
            minimum=0,
        ),
        Column("status", pl.String(), "State at the data's as-of date", domain=_values(AgreementStatus)),
        Column("status_on", pl.Date(), "When the agreement reached that state (the signing day while active)"),
        Column(
            "certificate_on",
            pl.Date(),
            "Settlement certificate issued (结清证明), for a completed settlement",
            nullable=True,
        ),
    ),
)

LEGAL_CASES = Table(
    "legal_cases",
    "One row per case handed to the legal team (法务案件); its steps can only occur in this order.",
    key=("case_id",),
    columns=(
        Column("case_id", pl.String(), "Case identifier"),
        Column("loan_id", pl.String(), "Loan identifier"),
        Column("registered_on", pl.Date(), "Case registered with the legal team (立案登记)"),
        Column("evidence_contract", pl.Boolean(), "Evidence checklist: signed loan contract on file"),
        Column("evidence_identity", pl.Boolean(), "Evidence checklist: borrower's identity verified"),
        Column("evidence_disbursement", pl.Boolean(), "Evidence checklist: proof of disbursement (放款凭证)"),
        Column("evidence_repayments", pl.Boolean(), "Evidence checklist: repayment records"),
        Column("evidence_contacts", pl.Boolean(), "Evidence checklist: collection contact records"),
        Column("letter_sent_on", pl.Date(), "Lawyer's letter sent (律师函)", nullable=True),
        Column("response_deadline", pl.Date(), "Deadline the letter gives the borrower to respond", nullable=True),
        Column("filed_on", pl.Date(), "Civil suit filed (起诉)", nullable=True),
        Column("claim_amount", pl.Float64(), "Amount claimed in the suit", "RMB", nullable=True, minimum=0),
        Column("judgment_on", pl.Date(), "Judgment or court mediation (判决/调解)", nullable=True),
        Column("awarded_amount", pl.Float64(), "Amount awarded", "RMB", nullable=True, minimum=0),
        Column("enforcement_on", pl.Date(), "Enforcement applied for (申请强制执行)", nullable=True),
        Column("recovered_amount", pl.Float64(), "Recovered through the case so far", "RMB", minimum=0),
        Column("last_recovery_on", pl.Date(), "Date of the latest amount recovered", nullable=True),
        Column("closed_on", pl.Date(), "Case closed", nullable=True),
        Column("close_reason", pl.String(), "Why it was closed", nullable=True, domain=_values(CloseReason)),
        Column(
            "dishonest_debtor_listed",
            pl.Boolean(),
            "Put on the dishonest-debtor list (失信被执行人) after enforcement failed",
        ),
        Column("listed_on", pl.Date(), "When the borrower was listed", nullable=True),
    ),
)

BORROWER_PROFILES = Table(
    "borrower_profiles",
    "Ability and enforceability as observed at a date (资信与财产线索): what a judgment could recover from.",
    key=("borrower_id", "observed_on", "source"),
    columns=(
        Column("borrower_id", pl.String(), "Borrower identifier"),
        Column("observed_on", pl.Date(), "When this was observed"),
        Column("source", pl.String(), "Where it was observed", domain=_values(ProfileSource)),
        Column("property_owned", pl.Boolean(), "Owns real estate (房产)", nullable=True),
        Column("vehicle_owned", pl.Boolean(), "Owns a vehicle (车辆)", nullable=True),
        Column(
            "social_insurance",
            pl.Boolean(),
            "Social insurance paid by an employer: wages a court can garnish (社保)",
            nullable=True,
        ),
        Column(
            "other_platform_loans",
            pl.Int64(),
            "Online loans outstanding at other platforms, from a bureau query (多头借贷)",
            "count",
            nullable=True,
            minimum=0,
        ),
    ),
)

TRUTH = Table(
    "truth",
    "Simulator only: what generated each loan. Used by evaluation (oracle AUC), never as a feature.",
    key=("application_id",),
    columns=(
        Column("application_id", pl.String(), "Application identifier"),
        Column("loan_id", pl.String(), "Loan identifier, when booked", nullable=True),
        Column(
            "true_pd",
            pl.Float64(),
            "True probability of default_12m given what was known at application",
            minimum=0,
            maximum=1,
        ),
        Column(
            "overdue_type",
            pl.String(),
            "Overdue type when the loan ever went overdue",
            nullable=True,
            domain=_values(OverdueType),
        ),
    ),
)

TRUTH_ACTIONS = Table(
    "truth_actions",
    "Simulator only: potential outcomes of every loan past due at as_of, under each next action and under none "
    "(then no other action for 30 days). For evaluating policies against the oracle, never as a feature.",
    key=("loan_id", "action"),
    columns=(
        Column("loan_id", pl.String(), "Loan identifier"),
        Column(
            "action",
            pl.String(),
            "The next action, on the day after as_of (hold_out = no action)",
            domain=_values(Action),
        ),
        Column(
            "p_pay_30d", pl.Float64(), "True probability that the arrears are paid within 30 days", minimum=0, maximum=1
        ),
        Column("expected_paid_30d", pl.Float64(), "Expected amount paid within 30 days", "RMB", minimum=0),
        Column(
            "p_pay_30d_alone",
            pl.Float64(),
            "The same as if nothing had been done before as_of: the action's own effect against hold_out",
            minimum=0,
            maximum=1,
        ),
    ),
)

TRUTH_SNAPSHOTS = Table(
    "truth_snapshots",
    "Simulator only: per loan and month end, the true probabilities behind the early-warning and cure labels.",
    key=("loan_id", "as_of"),
    columns=(
        Column("loan_id", pl.String(), "Loan identifier"),
        Column("as_of", pl.Date(), "Snapshot date (month end)"),
        Column(
            "p_dpd30_next_90d",
            pl.Float64(),
            "True probability of reaching 30+ days past due within 90 days",
            nullable=True,
            minimum=0,
            maximum=1,
        ),
        Column(
            "p_cure_30d",
            pl.Float64(),
            "True probability of being current again within 30 days (1-89 days past due)",
            nullable=True,
            minimum=0,
            maximum=1,
        ),
    ),
)

INPUT_TABLES: tuple[Table, ...] = (APPLICATIONS, LOANS, SCHEDULE, REPAYMENTS, COLLECTION_ACTIONS)
CASE_TABLES: tuple[Table, ...] = (AGREEMENTS, LEGAL_CASES, BORROWER_PROFILES)  # optional in an export
TRUTH_TABLES: tuple[Table, ...] = (TRUTH, TRUTH_ACTIONS, TRUTH_SNAPSHOTS)
TABLES: dict[str, Table] = {t.name: t for t in (*INPUT_TABLES, *CASE_TABLES, *TRUTH_TABLES)}


def empty_frame(table: Table) -> pl.DataFrame:
    """An empty frame with the table's schema (useful for sources that lack a table)."""
    return pl.DataFrame(schema=table.schema)


def conform(frame: pl.DataFrame, table: Table) -> pl.DataFrame:
    """Return ``frame`` with the contract's columns, in order, cast to the contract's types."""
    return frame.select([pl.col(c.name).cast(c.dtype) for c in table.columns])
