"""The loan data contract: five input tables, the simulator's truth table, and the domain's closed sets.

Every stage imports this module; it imports nothing of the project. Money is in RMB (yuan), rates are
annual fractions (0.24 = 24%), terms in months, timestamps are naive local time (Asia/Shanghai).
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


class ContactChannel(StrEnum):
    SMS = "sms"
    PHONE = "phone"
    EMAIL = "email"
    APP = "app"
    LETTER = "letter"
    COURT = "court"


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

INPUT_TABLES: tuple[Table, ...] = (APPLICATIONS, LOANS, SCHEDULE, REPAYMENTS, COLLECTION_ACTIONS)
TABLES: dict[str, Table] = {t.name: t for t in (*INPUT_TABLES, TRUTH)}


def empty_frame(table: Table) -> pl.DataFrame:
    """An empty frame with the table's schema (useful for sources that lack a table)."""
    return pl.DataFrame(schema=table.schema)


def conform(frame: pl.DataFrame, table: Table) -> pl.DataFrame:
    """Return ``frame`` with the contract's columns, in order, cast to the contract's types."""
    return frame.select([pl.col(c.name).cast(c.dtype) for c in table.columns])
