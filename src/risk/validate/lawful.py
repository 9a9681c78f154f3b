"""Lawful collection (合规催收) as rules on the recorded contacts: warnings by default, named and counted.

The thresholds are params' ``collection_rules`` (GB/T 45251-2025 and the China Banking Association's
2026 guideline). A real history has a few breaches, so they are reported, not stopped on. A *debtor
contact* is an action through a contact channel (sms, phone, email, app, video, face_to_face) other
than a third-party contact; hold-outs (channel none), lawyer's letters and court steps are none. Per
borrower means across all of that borrower's loans (borrower via ``loans.borrower_id``).
"""

from __future__ import annotations

import polars as pl

from risk.contract import CONTACT_CHANNELS, REACHED_OUTCOMES, VOICE_CHANNELS, Action, Outcome
from risk.validate.checks import Check, Frames, Reporter, with_borrower
from risk.validate.report import RuleResult
from risk.validate.rules import Rule

TABLE = "collection_actions"
REQUESTS = (Outcome.NO_CONTACT_REQUESTED.value, Outcome.COMPLAINT.value)


def contact() -> pl.Expr:
    """Rows that contact someone: the debtor or a third party."""
    return pl.col("channel").is_in(CONTACT_CHANNELS)


def debtor_contact() -> pl.Expr:
    return contact() & (pl.col("action") != Action.THIRD_PARTY_CONTACT.value)


def _contact_in_quiet_hours(t: Frames, r: Reporter) -> RuleResult:
    hour = pl.col("action_at").dt.hour()
    quiet = (hour >= r.rules.quiet_start_hour) | (hour < r.rules.quiet_end_hour)
    bad = contact() & quiet
    show = ("loan_id", "action", "channel")
    return r.rows(TABLE, "action_at", Rule.CONTACT_IN_QUIET_HOURS, t[TABLE], bad, show)


def _beyond_daily_cap(t: Frames, r: Reporter, rule: Rule, counted: pl.Expr, cap: int) -> RuleResult:
    """The ``counted`` rows of a borrower's calendar day beyond the first ``cap`` (in time order)."""
    frame = with_borrower(t[TABLE], t["loans"]).with_columns(
        _day=pl.col("action_at").dt.date(), _counted=counted.fill_null(False)
    )
    day = ["borrower_id", "_day"]
    frame = frame.with_columns(
        that_day=pl.col("_counted").sum().over(day),
        _nth=pl.when(pl.col("_counted")).then(pl.col("action_at").rank("ordinal").over([*day, "_counted"])),
    )
    bad = pl.col("borrower_id").is_not_null() & (pl.col("_nth") > cap)
    show = ("loan_id", "borrower_id", "channel", "outcome", "that_day")
    return r.rows(TABLE, "action_at", rule, frame, bad, show)


def _voice_contacts_over_daily_cap(t: Frames, r: Reporter) -> RuleResult:
    effective = debtor_contact() & pl.col("channel").is_in(VOICE_CHANNELS) & pl.col("outcome").is_in(REACHED_OUTCOMES)
    cap = r.rules.max_voice_contacts_per_day
    return _beyond_daily_cap(t, r, Rule.VOICE_CONTACTS_OVER_DAILY_CAP, effective, cap)


def _unanswered_over_daily_cap(t: Frames, r: Reporter) -> RuleResult:
    unanswered = (
        debtor_contact() & pl.col("channel").is_in(VOICE_CHANNELS) & (pl.col("outcome") == Outcome.UNREACHABLE.value)
    )
    cap = r.rules.max_unanswered_per_day
    return _beyond_daily_cap(t, r, Rule.UNANSWERED_OVER_DAILY_CAP, unanswered, cap)


def _third_party_before_unreachable(t: Frames, r: Reporter) -> RuleResult:
    """Each third-party contact against the run of unreachable debtor attempts on its loan just before it.

    An attempt is a debtor contact with a verdict: reached (one of REACHED_OUTCOMES) restarts the run,
    unreachable extends it; a delivered message has no verdict and leaves the run as it was.
    """
    attempt = debtor_contact()
    reached = (attempt & pl.col("outcome").is_in(REACHED_OUTCOMES)).fill_null(False).cast(pl.Int32)
    unreachable = (attempt & (pl.col("outcome") == Outcome.UNREACHABLE.value)).fill_null(False).cast(pl.Int32)
    third = (pl.col("action") == Action.THIRD_PARTY_CONTACT.value).fill_null(False)
    frame = (
        t[TABLE]
        .with_row_index("_row")
        # at one instant, the attempts first: a third party called right after the debtor failed to answer
        .sort("loan_id", "action_at", third, "_row", nulls_last=True)
        .with_columns(_reached=reached, _unreachable=unreachable)
        .with_columns(_since=pl.col("_reached").cum_sum().over("loan_id"))
        .with_columns(unreachable_run=pl.col("_unreachable").cum_sum().over(["loan_id", "_since"]))
        .sort("_row")
    )
    bad = third & (pl.col("unreachable_run") < r.rules.third_party_after_failed_attempts)
    show = ("loan_id", "action", "unreachable_run")
    return r.rows(TABLE, "action", Rule.THIRD_PARTY_BEFORE_UNREACHABLE, frame, bad, show)


def _contact_after_no_contact_request(t: Frames, r: Reporter) -> RuleResult:
    """Each debtor contact against the borrower's latest no-contact request or complaint strictly before it."""
    actions = with_borrower(t[TABLE], t["loans"]).with_row_index("_row")
    requests = (
        actions.filter(pl.col("outcome").is_in(REQUESTS) & pl.col("borrower_id").is_not_null())
        .select("borrower_id", requested_at=pl.col("action_at"), request=pl.col("outcome"))
        .drop_nulls("requested_at")
        .sort("requested_at")
    )
    contacts = (
        actions.filter(debtor_contact().fill_null(False) & pl.col("action_at").is_not_null())
        .select("_row", "borrower_id", "action_at")
        .sort("action_at")
        .join_asof(
            requests,
            left_on="action_at",
            right_on="requested_at",
            by="borrower_id",
            strategy="backward",
            allow_exact_matches=False,
            check_sortedness=False,  # sorted by time above, so sorted within every borrower too
        )
        .select("_row", "requested_at", "request")
    )
    frame = actions.join(contacts, on="_row", how="left", maintain_order="left")
    window = pl.duration(days=r.rules.no_contact_days_after_request)
    bad = pl.col("requested_at").is_not_null() & (pl.col("action_at") < pl.col("requested_at") + window)
    show = ("loan_id", "borrower_id", "action", "channel", "request", "requested_at")
    return r.rows(TABLE, "action_at", Rule.CONTACT_AFTER_NO_CONTACT_REQUEST, frame, bad, show)


_ACTIONS = ("action_id", "loan_id", "action_at", "action", "channel", "outcome")
_PER_BORROWER = {TABLE: _ACTIONS, "loans": ("loan_id", "borrower_id")}
CHECKS: tuple[Check, ...] = (
    ({TABLE: _ACTIONS}, _contact_in_quiet_hours),
    (_PER_BORROWER, _voice_contacts_over_daily_cap),
    (_PER_BORROWER, _unanswered_over_daily_cap),
    ({TABLE: _ACTIONS}, _third_party_before_unreachable),
    (_PER_BORROWER, _contact_after_no_contact_request),
)
