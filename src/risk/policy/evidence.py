"""What a collector can observe about an overdue case at as_of (催收证据), beyond the model features.

Contact outcomes and hardship reasons, disputes and complaints, agreements kept and broken, the legal
case's state and the borrower's assets and other debts, for any (loan_id, borrower_id, as_of) pairs and
only from rows dated on or before each as_of. The case tables are optional: without them their
evidence is absent (zero counts, unknown assets), never invented.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from risk.contract import AgreementKind, AgreementStatus, HardshipReason, Outcome, ProfileSource

SIGNALS = (
    Outcome.HARDSHIP_REPORTED,
    Outcome.DISPUTED,
    Outcome.COMPLAINT,
    Outcome.NO_CONTACT_REQUESTED,
    Outcome.REFUSED,
    Outcome.UNREACHABLE,
    Outcome.REACHED,
    Outcome.PROMISE_TO_PAY,
    Outcome.BROKEN_PROMISE,
)
REASONS = tuple(r.value for r in HardshipReason)
PLAN_KINDS = (AgreementKind.INSTALMENT_PLAN, AgreementKind.EXTENSION, AgreementKind.INTEREST_RELIEF)
EVIDENCE_COUNTS = (
    *(f"n_{o.value}" for o in SIGNALS),
    *(f"hardship_{r}" for r in REASONS),
    "agreements_kept",
    "agreements_broken",
    "signed_agreements_broken",
    "plans_signed",
    "settlements_signed",
)
ASSETS = ("property_owned", "vehicle_owned", "social_insurance", "other_platform_loans")
# on one day, the later source in ProfileSource's order is the later word: a bureau refresh over the declaration at
# application, a collector's finding over both; a source outside the contract (validation downgraded) says least
_SOURCE_ORDER = pl.col("source").replace_strict(
    {s.value: i for i, s in enumerate(ProfileSource)}, default=-1, return_dtype=pl.Int64
)


def latest_observed(column: str) -> pl.Expr:
    """Within a group of a borrower's profile rows, the latest known ``column``: the last non-null value by
    ``observed_on`` and, on one day, by source. ``(borrower_id, observed_on, source)`` is the table's key, so one
    row is the latest whatever order the rows come in (a plain sort by day left same-day rows in the order a join
    happened to give: the evidence of a borrower then hung on which other borrowers were in the frame). Should the
    key not hold (validation downgraded), the larger value wins a tie, so the choice still ignores the rows' order."""
    return pl.col(column).sort_by("observed_on", _SOURCE_ORDER, pl.col(column)).drop_nulls().last()


def _lazy(frame: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    return frame.lazy() if isinstance(frame, pl.DataFrame) else frame


def contact_evidence(pairs: pl.LazyFrame, actions: pl.LazyFrame) -> pl.LazyFrame:
    """Counts of each signal and hardship reason on the loan up to as_of."""
    return (
        pairs.select("loan_id", "as_of")
        .join(actions.select("loan_id", "action_at", "outcome", "hardship_reason"), on="loan_id")
        .filter(pl.col("action_at").dt.date() <= pl.col("as_of"))
        .group_by("loan_id", "as_of")
        .agg(
            *((pl.col("outcome") == o.value).sum().alias(f"n_{o.value}") for o in SIGNALS),
            *((pl.col("hardship_reason") == r).sum().alias(f"hardship_{r}") for r in REASONS),
        )
    )


def borrower_silences(pairs: pl.LazyFrame, actions: pl.LazyFrame, loans: pl.LazyFrame) -> pl.LazyFrame:
    """The borrower's last no-contact request or complaint and last refusal up to as_of, on any of their
    loans: the rules protect the debtor, not the loan."""
    on = pl.col("action_at").dt.date()
    silenced = pl.col("outcome").is_in([Outcome.COMPLAINT.value, Outcome.NO_CONTACT_REQUESTED.value])
    refused = pl.col("outcome") == Outcome.REFUSED.value
    mine = actions.filter(silenced | refused).join(loans.select("loan_id", "borrower_id"), on="loan_id")
    return (
        pairs.select("borrower_id", "as_of")
        .unique()
        .join(mine.select("borrower_id", "action_at", "outcome"), on="borrower_id")
        .filter(on <= pl.col("as_of"))
        .group_by("borrower_id", "as_of")
        .agg(
            last_silenced_on=on.filter(silenced).max(),
            last_refusal_at=pl.col("action_at").filter(refused).max(),
        )
    )


def agreement_evidence(pairs: pl.LazyFrame, agreements: pl.LazyFrame, *, grace_days: int) -> pl.LazyFrame:
    """Agreements signed by as_of: kept and broken (as known then), and what still runs at as_of.

    A promise runs until its date plus ``grace_days``; a plan, extension or relief until its status
    changed (kept, broken or completed) after as_of, as far as as_of can know: still open.
    """
    a = pl.col("as_of")
    signed = pl.col("signed_at").dt.date()
    settled = pl.col("status_on").is_not_null() & (pl.col("status_on") <= a)
    status_then = pl.when(settled).then(pl.col("status")).otherwise(pl.lit(AgreementStatus.ACTIVE.value))
    promise = pl.col("kind") == AgreementKind.PROMISE_TO_PAY.value
    plan = pl.col("kind").is_in([k.value for k in PLAN_KINDS])
    promise_until = pl.col("promised_date") + pl.duration(days=grace_days)
    return (
        pairs.select("loan_id", "as_of")
        .join(agreements, on="loan_id")
        .filter(signed <= a)
        .with_columns(status_then=status_then)
        .group_by("loan_id", "as_of")
        .agg(
            agreements_kept=pl.col("status_then")
            .is_in([AgreementStatus.KEPT.value, AgreementStatus.COMPLETED.value])
            .sum(),
            agreements_broken=(pl.col("status_then") == AgreementStatus.BROKEN.value).sum(),
            # plans, extensions, reliefs and settlements broken: written agreements, not promises
            signed_agreements_broken=((pl.col("status_then") == AgreementStatus.BROKEN.value) & ~promise).sum(),
            plans_signed=plan.sum(),
            settlements_signed=(pl.col("kind") == AgreementKind.SETTLEMENT.value).sum(),
            promise_until=promise_until.filter(promise & (pl.col("status_then") == AgreementStatus.ACTIVE.value)).max(),
            agreement_running=((pl.col("status_then") == AgreementStatus.ACTIVE.value) & ~promise).any(),
        )
    )


def legal_evidence(pairs: pl.LazyFrame, cases: pl.LazyFrame) -> pl.LazyFrame:
    """The legal case's state at as_of: registered, letter and its deadline, filed, judged, enforced."""
    a = pl.col("as_of")

    def by(col: str) -> pl.Expr:
        return pl.col(col).filter(pl.col(col) <= a).max()

    return (
        pairs.select("loan_id", "as_of")
        .join(cases, on="loan_id")
        .filter(pl.col("registered_on") <= a)
        .group_by("loan_id", "as_of")
        .agg(
            case_registered_on=pl.col("registered_on").max(),
            letter_sent_on=by("letter_sent_on"),
            response_deadline=pl.col("response_deadline").filter(pl.col("letter_sent_on") <= a).max(),
            filed_on=by("filed_on"),
            judgment_on=by("judgment_on"),
            enforcement_on=by("enforcement_on"),
            listed_dishonest=(pl.col("listed_on") <= a).fill_null(False).any(),
        )
    )


def asset_evidence(pairs: pl.LazyFrame, profiles: pl.LazyFrame) -> pl.LazyFrame:
    """The borrower's latest observed assets and other platforms' debt at as_of (null when never seen)."""
    return (
        pairs.select("borrower_id", "as_of")
        .unique()
        .join(profiles, on="borrower_id")
        .filter(pl.col("observed_on") <= pl.col("as_of"))
        .group_by("borrower_id", "as_of")
        .agg(latest_observed(c) for c in ASSETS)
    )


def case_evidence(
    tables: Mapping[str, pl.DataFrame | pl.LazyFrame], pairs: pl.LazyFrame, *, grace_days: int
) -> pl.LazyFrame:
    """All the evidence above for ``pairs`` (loan_id, borrower_id, as_of), one row per pair."""
    actions = _lazy(tables["collection_actions"])
    frame = (
        pairs.select("loan_id", "borrower_id", "as_of")
        .join(contact_evidence(pairs, actions), on=["loan_id", "as_of"], how="left")
        .join(borrower_silences(pairs, actions, _lazy(tables["loans"])), on=["borrower_id", "as_of"], how="left")
    )
    if "agreements" in tables:
        frame = frame.join(
            agreement_evidence(pairs, _lazy(tables["agreements"]), grace_days=grace_days),
            on=["loan_id", "as_of"],
            how="left",
        )
    else:
        frame = frame.with_columns(
            *(
                pl.lit(0, dtype=pl.UInt32).alias(c)
                for c in ("agreements_kept", "agreements_broken", "signed_agreements_broken")
            ),
            *(pl.lit(0, dtype=pl.UInt32).alias(c) for c in ("plans_signed", "settlements_signed")),
            promise_until=pl.lit(None, dtype=pl.Date),
            agreement_running=pl.lit(False),
        )
    if "legal_cases" in tables:
        frame = frame.join(legal_evidence(pairs, _lazy(tables["legal_cases"])), on=["loan_id", "as_of"], how="left")
    else:
        frame = frame.with_columns(
            *(
                pl.lit(None, dtype=pl.Date).alias(c)
                for c in (
                    "case_registered_on",
                    "letter_sent_on",
                    "response_deadline",
                    "filed_on",
                    "judgment_on",
                    "enforcement_on",
                )
            ),
            listed_dishonest=pl.lit(False),
        )
    if "borrower_profiles" in tables:
        frame = frame.join(
            asset_evidence(pairs, _lazy(tables["borrower_profiles"])), on=["borrower_id", "as_of"], how="left"
        )
    else:
        frame = frame.with_columns(
            *(pl.lit(None, dtype=pl.Boolean).alias(c) for c in ASSETS[:3]),
            other_platform_loans=pl.lit(None, dtype=pl.Int64),
        )
    return frame.with_columns(
        *(pl.col(c).fill_null(0).cast(pl.Int64) for c in EVIDENCE_COUNTS),
        pl.col("agreement_running", "listed_dishonest").fill_null(False),
    )
