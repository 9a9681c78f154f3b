"""params.yaml, read once into frozen, typed objects.

No other module reads params.yaml or the environment for settings: the CLI calls :func:`load_params`
and hands each stage its own section. Unknown keys, wrong types and bad values raise
:class:`~risk.exceptions.ConfigError` naming the key, what is allowed and what was given.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from risk.exceptions import ConfigError


# --- sections ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DataParams:
    source: str = "simulate"  # simulate | ingest
    as_of: dt.date = dt.date(2025, 12, 31)  # the data's as-of date: nothing may be dated after it

    def __post_init__(self) -> None:
        _one_of("data.source", self.source, ("simulate", "ingest"))
        today = dt.date.today()
        if self.as_of > today:
            # scored as of a day not yet lived, every unpaid instalment before it is missed: the book charges off
            msg = f"data.as_of {self.as_of} is after today ({today}): nothing can be known about a day not yet lived"
            raise ConfigError(msg)


@dataclass(frozen=True)
class ShockParams:
    start: dt.date = dt.date(2023, 4, 1)
    end: dt.date = dt.date(2023, 9, 30)
    multiplier: float = 2.3  # hazard multiplier on loans exposed during the shock

    def __post_init__(self) -> None:
        if self.end < self.start:
            msg = f"simulate.shock: end {self.end} is before start {self.start}"
            raise ConfigError(msg)
        _positive("simulate.shock.multiplier", self.multiplier)


@dataclass(frozen=True)
class SimulateParams:
    n_loans: int = 40_000  # loans booked over the history
    start: dt.date = dt.date(2022, 1, 1)  # first vintage
    pending_applications: int = 400
    approval_rate: float = 0.6
    shock: ShockParams = field(default_factory=ShockParams)
    volume_growth: float = 2.0  # monthly volume in the last vintage over the first
    repeat_borrower_share: float = 0.3  # applications from a borrower who applied before (复贷)
    risk_scale: float = 1.2  # multiplier on every loan's monthly hazard of falling overdue
    prepayment_rate: float = 0.25  # share of loans whose borrower plans to repay early (提前还款)
    charge_off_dpd: int = 180  # days past due at which a loan is charged off (核销)
    holdout_share: float = 0.05  # eligible loan-days left without action by design (对照组), logged
    violation_share: float = 0.003  # contacts made against the collection rules on purpose (validation flags them)
    collections_policy: str = "logged"  # logged: the lender's ladder with its hold-outs | withhold: no action at all

    def __post_init__(self) -> None:
        _between("simulate.holdout_share", self.holdout_share, 0.0, 0.5)
        _between("simulate.violation_share", self.violation_share, 0.0, 0.1)
        _one_of("simulate.collections_policy", self.collections_policy, ("logged", "withhold"))
        _positive("simulate.n_loans", self.n_loans)
        _between("simulate.approval_rate", self.approval_rate, 0.01, 1.0)
        _positive("simulate.volume_growth", self.volume_growth)
        _between("simulate.repeat_borrower_share", self.repeat_borrower_share, 0.0, 0.9)
        _positive("simulate.risk_scale", self.risk_scale)
        _between("simulate.prepayment_rate", self.prepayment_rate, 0.0, 1.0)
        _positive("simulate.charge_off_dpd", self.charge_off_dpd)


@dataclass(frozen=True)
class CollectionRules:
    """Lawful collection (合规催收), GB/T 45251-2025 and the China Banking Association's 2026 guideline.

    One place for the limits the simulator's lender follows, validation flags and scoring plans within.
    """

    quiet_start_hour: int = 22  # no contact from 22:00 ...
    quiet_end_hour: int = 8  # ... to 08:00
    max_voice_contacts_per_day: int = 3  # effective (answered) voice contacts per debtor per day, all loans together
    max_unanswered_per_day: int = 6  # unanswered attempts per phone number per day
    third_party_after_failed_attempts: int = 3  # consecutive failed attempts before a third party may be contacted
    no_contact_days_after_request: int = 30  # none after a no-contact request or a complaint, until resolved
    promise_grace_days: int = 3  # a promise to pay suppresses contact until its date plus this

    def __post_init__(self) -> None:
        _between("collection_rules.quiet_start_hour", self.quiet_start_hour, 12, 24)
        _between("collection_rules.quiet_end_hour", self.quiet_end_hour, 0, 12)
        _positive("collection_rules.max_voice_contacts_per_day", self.max_voice_contacts_per_day)
        _positive("collection_rules.max_unanswered_per_day", self.max_unanswered_per_day)
        _positive("collection_rules.third_party_after_failed_attempts", self.third_party_after_failed_attempts)
        _positive("collection_rules.no_contact_days_after_request", self.no_contact_days_after_request)
        _between("collection_rules.promise_grace_days", self.promise_grace_days, 0, 30)


@dataclass(frozen=True)
class AttributeParams:
    """A source column beyond the contract, carried as a PD feature (risk.attributes); format mapping."""

    kind: str = "numeric"  # numeric | categorical
    description: str = ""  # for the feature dictionary and the reason codes
    column: str = ""  # the source column; default: the attribute's own name
    risk: int = 0  # numeric: +1 a higher value is riskier, -1 safer (the models hold to it), 0 either
    values: list[str] = field(default_factory=list)  # categorical: the allowed values (default: those found)
    max_missing: float = 0.5  # validation: a larger share of empty values is an error
    minimum: float | None = None  # numeric: validation's range
    maximum: float | None = None
    reason_en: str = ""  # the reason text (default: the description)
    reason_zh: str = ""

    def __post_init__(self) -> None:
        _one_of("kind", self.kind, ("numeric", "categorical"))
        if not self.description.strip():
            msg = "description: say what the attribute is; the feature dictionary and the reason codes show it"
            raise ConfigError(msg)


@dataclass(frozen=True)
class OutcomeParams:
    """Application-only mode: the source column with each application's outcome, and the values meaning bad."""

    column: str = ""
    bad: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class IngestParams:
    format: str = "contract"  # contract | lendingclub | taiwan | mapping
    path: str = ""
    encoding: str = "utf-8"  # utf-8 | gbk | gb18030
    columns: dict[str, dict[str, str]] = field(default_factory=dict)  # table -> {contract column: source column}
    # format mapping only; keys are "column" (every table) or "table.column". Shape and a worked example:
    # risk.ingest.mapping's module docstring.
    files: dict[str, str] = field(default_factory=dict)  # table -> file name in path (default <table>.csv)
    date_formats: dict[str, str] = field(default_factory=dict)  # column -> strftime format, e.g. "%Y/%m/%d"
    codes: dict[str, dict[str, str]] = field(default_factory=dict)  # column -> {source code: contract value}
    scale: dict[str, float] = field(default_factory=dict)  # column -> factor, e.g. 0.01 for fen -> yuan
    constants: dict[str, Any] = field(default_factory=dict)  # column -> value for every row, when not mapped
    # the platform's zone: a timestamp with a UTC offset or Z is stored as this zone's naive wall time
    timezone: str = "Asia/Shanghai"
    max_file_mb: int = 2048  # a source file larger than this is refused before it is read
    # format mapping: full (dated loans, schedule, repayments) | application_only (one outcome per application)
    mode: str = "full"
    outcome: OutcomeParams | None = None  # application_only: {column: ..., bad: [...]}
    generate_ids: bool = False  # the applications file has no id column: number its rows
    attributes: dict[str, AttributeParams] = field(default_factory=dict)  # feature name -> declaration
    protected: list[str] = field(default_factory=list)  # source columns never used (sex, marital status...)

    def __post_init__(self) -> None:
        # imported here: only this check needs the zone database
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        _one_of("ingest.format", self.format, ("contract", "mapping", "lendingclub", "taiwan"))
        _one_of("ingest.mode", self.mode, ("full", "application_only"))
        if self.mode == "application_only" and self.format != "mapping":
            msg = f"ingest.mode: application_only is for format mapping (format {self.format} decides its own mode)"
            raise ConfigError(msg)
        _one_of("ingest.encoding", self.encoding, ("utf-8", "gbk", "gb18030"))
        _positive("ingest.max_file_mb", self.max_file_mb)
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):  # ValueError: not a zone key at all ("", "../x")
            msg = f"ingest.timezone: must be a known IANA time zone such as 'Asia/Shanghai', got {self.timezone!r}"
            raise ConfigError(msg) from None


@dataclass(frozen=True)
class ShiftParams:
    """How far an export may move from the previous accepted one of the same source (validate's profile)."""

    max_row_ratio: float = 3.0  # rows per table: at most this factor up or down (0 rows always fails)
    max_amount_ratio: float = 3.0  # each amount column's median (fen for yuan is 100)
    max_share_change: float = 0.25  # each column's null share and each category's share, absolute

    def __post_init__(self) -> None:
        if self.max_row_ratio <= 1 or self.max_amount_ratio <= 1:
            msg = "validate.shift: max_row_ratio and max_amount_ratio must be above 1 (a factor up or down)"
            raise ConfigError(msg)
        _between("validate.shift.max_share_change", self.max_share_change, 0, 1)


@dataclass(frozen=True)
class ValidateParams:
    max_examples: int = 5
    # rules listed here are reported as warnings instead of stopping the pipeline
    warn_only: tuple[str, ...] = ()
    # date_plausible: nothing dated before the platform's first day (a year typed as 24 is the year 24) ...
    first_day: dt.date = dt.date(2000, 1, 1)
    # ... and nothing further ahead of as_of than this (the longest term, extensions and plans included)
    max_years_ahead: int = 10
    shift: ShiftParams = field(default_factory=ShiftParams)

    def __post_init__(self) -> None:
        _positive("validate.max_years_ahead", self.max_years_ahead)


@dataclass(frozen=True)
class LabelParams:
    default_dpd: int = 90
    default_horizon_months: int = 12
    early_warning_dpd: int = 30
    early_warning_horizon_days: int = 90
    cure_horizon_days: int = 30
    cure_max_dpd: int = 89


@dataclass(frozen=True)
class FeatureParams:
    first_as_of: dt.date | None = None  # None: the first month end after the first origination
    late_grace_days: int = 3  # a payment this many days after due still counts as on time
    labels: LabelParams = field(default_factory=LabelParams)

    def __post_init__(self) -> None:
        # a negative grace would call a payment before its due day late (and the overdue counts read only the
        # instalments paid after it: features.build._ever_late)
        _between("features.late_grace_days", self.late_grace_days, 0, 365)


@dataclass(frozen=True)
class ModelParams:
    """One model's LightGBM settings and its time split."""

    num_leaves: int = 15
    max_depth: int = 5
    learning_rate: float = 0.05
    n_estimators: int = 1000
    min_child_samples: int = 100
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    reg_lambda: float = 1.0
    early_stopping_rounds: int = 50
    embargo_days: int = 0  # gap between windows so training labels never look into the validation window
    max_train_rows: int = 400_000  # the latest rows of the training window are kept above this
    calibration: str | None = None  # isotonic | platt for this model; None: train.calibration

    def __post_init__(self) -> None:
        if self.calibration is not None:
            _one_of("calibration", self.calibration, ("isotonic", "platt"))
        _between("max_depth", self.max_depth, 1, 16)
        _between("learning_rate", self.learning_rate, 1e-4, 1.0)
        _positive("num_leaves", self.num_leaves)


@dataclass(frozen=True)
class ScorecardParams:
    binning: str = "optimal"  # optimal (optbinning, monotone in the catalogue's risk direction) | quantile
    max_bins: int = 6
    min_bin_share: float = 0.05
    C: float = 1.0
    base_score: float = 600.0  # points at the base odds (good:bad)
    base_odds: float = 50.0
    pdo: float = 20.0  # points to double the odds
    # feature -> values binned apart from the rest (say -1 for "no bureau record"), each its own special bin
    special_codes: dict[str, list[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _one_of("train.scorecard.binning", self.binning, ("optimal", "quantile"))
        _positive("train.scorecard.max_bins", self.max_bins)
        if not 0.0 < self.min_bin_share < 0.5:
            msg = f"train.scorecard.min_bin_share must be in (0, 0.5), got {self.min_bin_share}"
            raise ConfigError(msg)


@dataclass(frozen=True)
class SmallDataParams:
    """A source with no dates and fewer labelled rows than ``max_rows`` (risk.models.small): trees chosen by
    cross-validation, Platt calibration on out-of-fold scores, figures over repeated stratified splits."""

    max_rows: int = 20_000
    repeats: int = 5  # stratified splits the reported figures average over (seeds seed, seed + 1, ...)
    test_share: float = 0.3
    folds: int = 5  # cross-validation choosing the number of trees and giving the out-of-fold scores

    def __post_init__(self) -> None:
        _between("train.small_data.test_share", self.test_share, 0.05, 0.5)
        _between("train.small_data.folds", self.folds, 2, 20)
        _between("train.small_data.repeats", self.repeats, 1, 50)


@dataclass(frozen=True)
class WindowParams:
    valid_months: int = 6
    test_months: int = 6

    def __post_init__(self) -> None:
        _positive("train.windows.valid_months", self.valid_months)
        _positive("train.windows.test_months", self.test_months)


@dataclass(frozen=True)
class ChampionRule:
    metric: str = "auc"  # compared on the test window
    min_gain: float = 0.0  # the scorecard becomes champion only if better by more than this

    def __post_init__(self) -> None:
        _one_of("train.champion_rule.metric", self.metric, ("auc", "ks", "brier", "log_loss"))


@dataclass(frozen=True)
class GradeTestParams:
    """Calibration by grade on the test window (ECB IRB validation practice): Jeffreys test per grade."""

    amber: float = 0.05  # a grade whose Jeffreys p-value is below this is amber ...
    red: float = 0.01  # ... below this, red: its PD underestimates the observed rate
    fail_on_red: bool = False  # a red grade of the champion fails `risk evaluate`

    def __post_init__(self) -> None:
        if not 0 < self.red < self.amber < 1:
            msg = f"train.grade_tests: expected 0 < red < amber < 1, got red {self.red!r}, amber {self.amber!r}"
            raise ConfigError(msg)


@dataclass(frozen=True)
class PromotionParams:
    """When a newly trained candidate replaces the champion in service (the promotion gate)."""

    margin: float = 0.005  # AUC on the current test window by which it must beat the incumbent champion ...
    require_calibration: bool = True  # ... and no red grade

    def __post_init__(self) -> None:
        _between("train.promotion.margin", self.margin, 0.0, 0.5)


@dataclass(frozen=True)
class RejectInferenceParams:
    """The PD's reject inference study (拒绝推断): declined applicants given inferred outcomes."""

    methods: list[str] = field(default_factory=lambda: ["parcelling", "fuzzy"])  # each against accepts only
    # rejects' inferred bad rate = the accepts-only model's (band) rate × each factor in turn: rejects are
    # worse than accepts of the same score by what the lender saw and the features do not
    bad_rate_factors: list[float] = field(default_factory=lambda: [1.0, 1.5])
    bands: int = 10  # parcelling's score bands

    def __post_init__(self) -> None:
        for m in self.methods:
            _one_of("train.reject_inference.methods", m, ("parcelling", "fuzzy"))
        _positive("train.reject_inference.bands", self.bands)
        if not self.bad_rate_factors or min(self.bad_rate_factors) <= 0:
            msg = f"train.reject_inference.bad_rate_factors must be positive numbers, got {self.bad_rate_factors}"
            raise ConfigError(msg)


@dataclass(frozen=True)
class TrainParams:
    windows: WindowParams = field(default_factory=WindowParams)
    calibration: str = "isotonic"  # isotonic | platt
    champion_rule: ChampionRule = field(default_factory=ChampionRule)
    grade_tests: GradeTestParams = field(default_factory=GradeTestParams)
    promotion: PromotionParams = field(default_factory=PromotionParams)
    scorecard: ScorecardParams = field(default_factory=ScorecardParams)
    reject_inference: RejectInferenceParams = field(default_factory=RejectInferenceParams)
    small_data: SmallDataParams = field(default_factory=SmallDataParams)
    # the models to train: a source that supports only the PD can say so (the others are skipped, named)
    models: list[str] = field(default_factory=lambda: ["pd", "early_warning", "cure"])
    pd: ModelParams = field(default_factory=ModelParams)
    early_warning: ModelParams = field(default_factory=lambda: ModelParams(embargo_days=90))
    cure: ModelParams = field(default_factory=lambda: ModelParams(embargo_days=30))

    def __post_init__(self) -> None:
        _one_of("train.calibration", self.calibration, ("isotonic", "platt"))
        for m in self.models:
            _one_of("train.models", m, ("pd", "early_warning", "cure"))
        if "pd" not in self.models:
            msg = f"train.models: the PD model is always trained (the review queue needs it), got {self.models}"
            raise ConfigError(msg)


@dataclass(frozen=True)
class OverdueTypeRules:
    """Thresholds that classify an overdue loan (四类逾期); evaluated in the order malicious, insolvent,
    severe, temporary: the first that matches decides."""

    malicious_refusals: int = 2  # reached but refused at least this often in 90 days
    malicious_unreachable: int = 4  # unreachable at least this often with no payment since ...
    malicious_silence_days: int = 30  # ... this many days
    first_payment_default_dpd: int = 15  # never paid a single instalment and this far overdue
    insolvent_dpd: int = 90  # long overdue ...
    insolvent_cure_below: float = 0.05  # ... with almost no chance to cure ...
    insolvent_silence_days: int = 60  # ... and no payment for this long
    severe_dpd: int = 60  # long overdue, or ...
    severe_partial_payments: int = 2  # ... paying in part (weak ability, still willing)
    temporary_cure_above: float = 0.0  # everything else; shown for completeness


@dataclass(frozen=True)
class GuardParams:
    """The blast-radius guard: a day whose queue moves this far from the previous scored day is not written
    until a person confirms it (``risk score --accept-shift``); a wrong export looks exactly like this."""

    max_share_change: float = 0.05  # of open loans charged off, referred to legal or queued: absolute change
    max_ratio: float = 2.0  # or a count this many times larger or smaller ...
    min_count: int = 50  # ... when the larger of the two days' counts is at least this
    window_days: int = 7  # compared with the latest day scored within this many days before

    def __post_init__(self) -> None:
        _between("score.guard.max_share_change", self.max_share_change, 0, 1)
        if self.max_ratio <= 1:
            msg = f"score.guard.max_ratio: must be above 1 (a factor up or down), got {self.max_ratio!r}"
            raise ConfigError(msg)
        _positive("score.guard.min_count", self.min_count)
        _positive("score.guard.window_days", self.window_days)


REVIEW_RULE_DECISIONS = ("manual_review", "declined")  # what a policy rule may decide: never an approval


@dataclass(frozen=True)
class ReviewRuleParams:
    """Hard policy rules of pre-loan review (贷前审核政策规则), checked before the PD decides
    (:mod:`risk.score.review_rules`). A rule declines or sends to manual review; it never approves."""

    # 实名认证未通过: manual_review while verification can still be completed (no loan before it passes) | declined
    identity_not_verified_decision: str = "manual_review"
    min_age: int = 18  # below: declined (完全民事行为能力; lending to a minor is unlawful)
    max_age: int = 60  # above: manual_review (the lender's own upper limit)
    unverified_income_max_amount: float = 20_000.0  # RMB: income not verified and more requested: manual_review
    max_other_loans: int = 4  # the borrower's other active loans here plus at other platforms (多头借贷), above: ...
    too_many_online_loans_decision: str = "declined"  # ... declined | manual_review
    other_loans_max_age_days: int = 90  # an older bureau count of other platforms' loans is not a current count

    def __post_init__(self) -> None:
        for key in ("identity_not_verified_decision", "too_many_online_loans_decision"):
            _one_of(f"score.review_rules.{key}", getattr(self, key), REVIEW_RULE_DECISIONS)
        _between("score.review_rules.min_age", self.min_age, 18, 100)
        _between("score.review_rules.max_age", self.max_age, self.min_age, 100)
        _between("score.review_rules.unverified_income_max_amount", self.unverified_income_max_amount, 0.0, 1e9)
        _between("score.review_rules.max_other_loans", self.max_other_loans, 0, 1000)
        _positive("score.review_rules.other_loans_max_age_days", self.other_loans_max_age_days)


@dataclass(frozen=True)
class MonitoringParams:
    """Thresholds of each scoring run's monitoring (risk.score.monitoring): warning at the first, error at the
    second; errors stop the run before it writes only when ``fail_on_error``."""

    psi_warn: float = 0.10  # PSI of a score, CSI of a feature (0.10 watch, 0.25 act: the usual reading)
    psi_error: float = 0.25
    missing_change_warn: float = 0.05  # a feature's missing rate, absolute change against training
    missing_change_error: float = 0.20
    unseen_category_warn: float = 0.01  # share of rows in a category training never saw
    unseen_category_error: float = 0.05
    approval_change_warn: float = 0.05  # the PD cut-off's approval rate, absolute change against training
    approval_change_error: float = 0.15
    # realised vs predicted for a cohort whose outcome matured: two-sided binomial p-value below these
    realised_p_warn: float = 0.05
    realised_p_error: float = 0.01
    fail_on_error: bool = False

    def __post_init__(self) -> None:
        for name in ("psi", "missing_change", "unseen_category", "approval_change"):
            warn, error = getattr(self, f"{name}_warn"), getattr(self, f"{name}_error")
            if not 0 < warn <= error:
                msg = f"score.monitoring: expected 0 < {name}_warn <= {name}_error, got {warn!r} and {error!r}"
                raise ConfigError(msg)
        if not 0 < self.realised_p_error <= self.realised_p_warn < 1:
            msg = (
                "score.monitoring: expected 0 < realised_p_error <= realised_p_warn < 1, got "
                f"{self.realised_p_error!r} and {self.realised_p_warn!r}"
            )
            raise ConfigError(msg)


@dataclass(frozen=True)
class ContactRules:
    """Lawful collection (合规催收): hours, frequency and a cooling-off period after a refusal."""

    start_hour: int = 8
    end_hour: int = 21
    daily_cap_per_borrower: int = 3
    cooling_off_hours_after_refusal: int = 48

    def __post_init__(self) -> None:
        _between("score.contact.start_hour", self.start_hour, 0, 23)
        _between("score.contact.end_hour", self.end_hour, self.start_hour + 1, 24)


@dataclass(frozen=True)
class LegalParams:
    """When a case goes to the legal team, and whether suing pays."""

    refusals_to_refer: int = 3  # refuses to communicate
    broken_promises_to_refer: int = 3  # promises broken in 90 days, none running: the proposal is not credible
    broken_agreements_to_refer: int = 2  # signed agreements broken (plans, extensions, settlements), none running
    court_fee_fixed: float = 300.0  # RMB
    court_fee_rate: float = 0.02  # of the amount claimed
    lawyer_fee: float = 1500.0  # RMB per case
    months_to_recovery: float = 9.0  # filing to enforcement
    annual_discount_rate: float = 0.12
    court_recovery_rate: dict[str, float] = field(
        default_factory=lambda: {"temporary": 0.7, "malicious": 0.45, "severe": 0.3, "insolvent": 0.08}
    )


@dataclass(frozen=True)
class ScoreParams:
    alias: str = "champion"  # which registered version scores: champion | challenger
    lgd: float = 0.65  # loss given default, for expected loss
    at_risk_threshold: float = 0.15  # current loans with early-warning probability at least this join the queue
    charge_off_dpd: int = 180  # 核销: from here a loan belongs to the recovery book, not the daily queue
    overdue_types: OverdueTypeRules = field(default_factory=OverdueTypeRules)
    contact: ContactRules = field(default_factory=ContactRules)
    legal: LegalParams = field(default_factory=LegalParams)
    guard: GuardParams = field(default_factory=GuardParams)
    monitoring: MonitoringParams = field(default_factory=MonitoringParams)
    review_rules: ReviewRuleParams = field(default_factory=ReviewRuleParams)
    # LightGBM compiled by lleaves (risk.models.compiled): auto from compiled_min_rows loans, always or never
    compiled_predictor: str = "auto"
    compiled_min_rows: int = 200_000
    # contacts per day per channel (team capacity)
    capacity: dict[str, int] = field(
        default_factory=lambda: {
            "sms": 5000,
            "call": 400,
            "negotiation": 120,
            "lawyers_letter": 40,
            "litigation": 10,
            "enforcement": 10,
        }
    )
    # share of the amount at stake that a contact on this channel brings in, on top of what comes anyway
    uplift: dict[str, float] = field(
        default_factory=lambda: {
            "sms": 0.02,
            "call": 0.06,
            "negotiation": 0.12,
            "lawyers_letter": 0.10,
            "litigation": 0.0,
            "enforcement": 0.0,
        }
    )
    cost: dict[str, float] = field(
        default_factory=lambda: {
            "sms": 0.1,
            "call": 3.0,
            "negotiation": 15.0,
            "lawyers_letter": 50.0,
            "litigation": 0.0,
            "enforcement": 0.0,
        }
    )
    grade_cutoffs: tuple[float, ...] = (0.03, 0.06, 0.12, 0.25)  # PD upper bounds of grades A, B, C, D; E above
    approve_below: float = 0.06  # PD below: approve
    decline_above: float = 0.25  # PD above: decline; in between: manual review
    reasons: int = 3  # reason codes per row
    # which collections rows get reason codes: decided (a scheduled contact or a legal referral) | queue (all)
    reasons_for: str = "decided"
    late_responsiveness: float = 0.05  # assumed response to a contact beyond the cure model's range (90+ dpd)
    # reuse the instalment ledger the last run kept, rebuilding only loans whose rows changed (risk.score.ledger_state);
    # off by default: fingerprinting the export and keeping the ledger cost more than building it (docs/performance.md)
    incremental: bool = False

    def __post_init__(self) -> None:
        _one_of("score.compiled_predictor", self.compiled_predictor, ("auto", "always", "never"))
        _one_of("score.reasons_for", self.reasons_for, ("decided", "queue"))
        _positive("score.compiled_min_rows", self.compiled_min_rows)
        _between("score.lgd", self.lgd, 0.0, 1.0)
        if list(self.grade_cutoffs) != sorted(self.grade_cutoffs) or len(self.grade_cutoffs) != 4:
            msg = f"score.grade_cutoffs: expected 4 increasing PD bounds, got {list(self.grade_cutoffs)}"
            raise ConfigError(msg)
        if not self.approve_below <= self.decline_above:
            msg = "score.approve_below must not exceed score.decline_above"
            raise ConfigError(msg)


@dataclass(frozen=True)
class PolicyParams:
    """The learned collections policy (催收策略): how its models learn from the log and how a day is planned."""

    strategy: str = "learned"  # learned: types, effects and the assignment | rules: the first release's cascade
    control_share: float = 0.05  # borrowers left without action each day by design (对照组), logged
    settle_days: int = 180  # an episode's type counts as established by its outcome this long after onset
    validation_days: int = 180  # the last days of the log held out to validate the effects out of time
    letter_min_dpd: int = 31  # a lawyer's letter from this many days past due ...
    letter_repeat_days: int = 180  # ... and not again within this many days of the last one
    court_rate_cap: float = 0.24  # the interest a court supports on a claim, a year (民间借贷司法保护上限)

    def __post_init__(self) -> None:
        _one_of("policy.strategy", self.strategy, ("learned", "rules"))
        _between("policy.control_share", self.control_share, 0.0, 0.5)
        _positive("policy.settle_days", self.settle_days)
        _positive("policy.validation_days", self.validation_days)
        _positive("policy.letter_min_dpd", self.letter_min_dpd)
        _positive("policy.letter_repeat_days", self.letter_repeat_days)
        _between("policy.court_rate_cap", self.court_rate_cap, 0.0, 1.0)


@dataclass(frozen=True)
class RecoveryParams:
    """The recovery book (核销后回收): what the options beyond the daily queue cost and bring."""

    agency_commission: float = 0.35  # an agency's fee on what it recovers (委外催收佣金), from its contract
    agency_recovery_rate: float = 0.06  # the share of a placed balance the agency's contract quotes it recovers
    placement_cost: float = 30.0  # RMB per loan placed with an agency (file transfer, compliance review)
    enforcement_fee: float = 500.0  # RMB to apply for and follow an enforcement (申请执行)
    settlement_write_down: float = 0.30  # the share of the claim a recovery settlement offer writes down (减免)

    def __post_init__(self) -> None:
        _between("cases.recovery.settlement_write_down", self.settlement_write_down, 0.0, 1.0)
        _between("cases.recovery.agency_commission", self.agency_commission, 0.0, 1.0)
        _between("cases.recovery.agency_recovery_rate", self.agency_recovery_rate, 0.0, 1.0)
        _between("cases.recovery.enforcement_fee", self.enforcement_fee, 0.0, 1e6)
        _between("cases.recovery.placement_cost", self.placement_cost, 0.0, 1e6)


@dataclass(frozen=True)
class CaseParams:
    """Case management (案件管理): agreements followed up, legal cases in order, the recovery book."""

    reminder_days_before: int = 2  # the agreed reminder (SMS) this many days before each agreed date
    # days from signing to the one-off payment an interest relief or a settlement agrees (the lender's terms)
    pay_within_days: dict[str, int] = field(default_factory=lambda: {"interest_relief": 14, "settlement": 7})
    recent_days: int = 7  # kept, broken and completed agreements stay in the day's table this long
    appeal_days: int = 15  # a judgment is enforceable once the appeal period has passed (上诉期)
    enforcement_fail_days: int = 180  # enforcement that recovered under 10% this long: request the dishonest list
    # who may grant what write-down of the balance in a settlement (减免审批权限): the largest share each may grant
    settlement_approval: dict[str, float] = field(
        default_factory=lambda: {"collector": 0.05, "team_lead": 0.15, "risk_manager": 0.30, "committee": 0.60}
    )
    recovery: RecoveryParams = field(default_factory=RecoveryParams)

    def __post_init__(self) -> None:
        _between("cases.reminder_days_before", self.reminder_days_before, 0, 30)
        _positive("cases.recent_days", self.recent_days)
        _positive("cases.appeal_days", self.appeal_days)
        _positive("cases.enforcement_fail_days", self.enforcement_fail_days)
        for kind, days in self.pay_within_days.items():
            _positive(f"cases.pay_within_days.{kind}", days)
        shares = list(self.settlement_approval.values())
        if not shares or shares != sorted(shares) or not all(0.0 <= s <= 1.0 for s in shares):
            msg = (
                "cases.settlement_approval: expected approvers from the lowest to the highest authority, each with "
                f"a larger write-down share in [0, 1], got {self.settlement_approval}"
            )
            raise ConfigError(msg)


# --- engines ---------------------------------------------------------------------------------------
ENGINES = ("polars", "spark")  # polars: one process (the default) | spark: partitions of borrowers on Spark


def check_engine(key: str, value: str) -> None:
    """Raise ConfigError naming ``key`` unless ``value`` is one of :data:`ENGINES`."""
    if value not in ENGINES:
        msg = f"{key}: must be one of {list(ENGINES)}, got {value!r}"
        raise ConfigError(msg)


@dataclass(frozen=True)
class SparkParams:
    """How the Spark engine runs: where, with what settings, in how many borrower partitions, on which data."""

    master: str = ""  # "" : whatever spark-submit / spark-defaults.conf says, else local[*]; e.g. local[2], yarn
    app_name: str = "risk"
    conf: dict[str, str] = field(default_factory=dict)  # any spark.* setting, e.g. spark.executor.memory: 8g
    partitions: int = 0  # borrower partitions (each one polars call in one Python worker); 0: from the book's size
    loans_per_partition: int = 50_000  # with partitions 0: about this many loans per partition
    tables_uri: str = ""  # folder holding <table>.parquet for the five tables; "" : data/validated
    features_uri: str = ""  # where `risk features --engine spark` writes; "" : data/features

    def __post_init__(self) -> None:
        if self.partitions < 0:
            msg = f"spark.partitions: must be >= 0 (0: from the book's size), got {self.partitions!r}"
            raise ConfigError(msg)
        if self.loans_per_partition <= 0:
            msg = f"spark.loans_per_partition: must be > 0, got {self.loans_per_partition!r}"
            raise ConfigError(msg)
        bad = [k for k in self.conf if not k.startswith("spark.")]
        if bad:
            msg = f"spark.conf: keys must start with 'spark.', got {bad}"
            raise ConfigError(msg)


@dataclass(frozen=True)
class Params:
    seed: int = 42
    data: DataParams = field(default_factory=DataParams)
    simulate: SimulateParams = field(default_factory=SimulateParams)
    collection_rules: CollectionRules = field(default_factory=CollectionRules)
    ingest: IngestParams = field(default_factory=IngestParams)
    validate: ValidateParams = field(default_factory=ValidateParams)
    features: FeatureParams = field(default_factory=FeatureParams)
    train: TrainParams = field(default_factory=TrainParams)
    score: ScoreParams = field(default_factory=ScoreParams)
    policy: PolicyParams = field(default_factory=PolicyParams)
    cases: CaseParams = field(default_factory=CaseParams)
    engine: str = "polars"  # polars | spark: how `risk features` and `risk score` run (docs/spark.md)
    spark: SparkParams = field(default_factory=SparkParams)

    def __post_init__(self) -> None:
        check_engine("engine", self.engine)


# --- loading -----------------------------------------------------------------------------------------
def load_params(path: str | Path = "params.yaml") -> Params:
    """Read ``path`` into :class:`Params`; a missing file is an error (a typo in ``--params`` must not run defaults)."""
    p = Path(path)
    if not p.exists():
        msg = f"params file not found: {p} (run from the project folder, or pass --params)"
        raise ConfigError(msg)
    raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        msg = f"{p}: expected a mapping at the top level, got {type(raw).__name__}"
        raise ConfigError(msg)
    return build(Params, raw, "")


def build(cls: type, raw: dict[str, Any], prefix: str) -> Any:
    """Build dataclass ``cls`` from ``raw``, checking every key and type."""
    if not isinstance(raw, dict):
        msg = f"{prefix or 'params'}: expected a mapping, got {raw!r}"
        raise ConfigError(msg)
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - names)
    if unknown:
        msg = f"unknown key(s) {', '.join(prefix + k for k in unknown)}; allowed: {sorted(names)}"
        raise ConfigError(msg)
    defaults = {
        f.name: f.default_factory() for f in dataclasses.fields(cls) if f.default_factory is not dataclasses.MISSING
    }
    kwargs = {k: _coerce(hints[k], v, prefix + k, default=defaults.get(k)) for k, v in raw.items()}
    try:
        return cls(**kwargs)
    except ConfigError as e:
        block = prefix.rstrip(".")
        if block and not str(e).startswith(block):
            msg = f"{block}: {e}"  # say which block (train.pd or train.cure) the value is in
            raise ConfigError(msg) from e
        raise
    except (TypeError, ValueError) as e:
        msg = f"{prefix.rstrip('.') or 'params'}: {e}"
        raise ConfigError(msg) from e


def _coerce(hint: Any, value: Any, key: str, *, default: Any = None) -> Any:
    """``value`` as ``hint``; a mapping with fixed keys (a non-empty default) refuses others and keeps the rest."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        return _coerce(non_none[0], value, key)
    if dataclasses.is_dataclass(hint):
        return build(hint, value, key + ".")
    if hint is Any:
        return value
    if origin is dict:
        if not isinstance(value, dict):
            _wrong(key, "a mapping", value)
        if isinstance(default, dict) and default:
            unknown = sorted(set(value) - set(default))
            if unknown:
                msg = f"unknown key(s) {', '.join(f'{key}.{k}' for k in unknown)}; allowed: {sorted(default)}"
                raise ConfigError(msg)
            value = {**default, **value}  # a partial mapping overrides those it names, never zeroes the others
            if len(args) == 2:
                value = {k: _coerce(args[1], v, f"{key}.{k}") for k, v in value.items()}
        elif len(args) == 2 and dataclasses.is_dataclass(args[1]):  # name -> declaration (ingest.attributes)
            value = {k: _coerce(args[1], v, f"{key}.{k}") for k, v in value.items()}
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            _wrong(key, "a list", value)
        return tuple(value)
    if hint is dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            _wrong(key, "a date YYYY-MM-DD", value)
    if hint is bool:
        if not isinstance(value, bool):
            _wrong(key, "true or false", value)
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            _wrong(key, "an integer", value)
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            _wrong(key, "a number", value)
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            _wrong(key, "a string", value)
        return value
    return value


def _wrong(key: str, expected: str, given: Any) -> typing.NoReturn:
    msg = f"{key}: expected {expected}, got {given!r}"
    raise ConfigError(msg)


def _one_of(key: str, value: Any, allowed: tuple[Any, ...]) -> None:
    if value not in allowed:
        msg = f"{key}: must be one of {list(allowed)}, got {value!r}"
        raise ConfigError(msg)


def _positive(key: str, value: float) -> None:
    if value <= 0:
        msg = f"{key}: must be > 0, got {value!r}"
        raise ConfigError(msg)


def _between(key: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        msg = f"{key}: must be between {low} and {high}, got {value!r}"
        raise ConfigError(msg)
