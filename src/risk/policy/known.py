"""The book as it was known on a past day (当时可知的数据): for validating the policy out of time.

Rows dated after ``day`` are dropped; an agreement or a legal case that existed then keeps only what had
happened by then (a status reached later is still ``active``; a judgment, recovery or listing dated later
is unknown). Fitting on ``known_by(tables, split)`` and scoring decisions after ``split`` is a true
out-of-time test: neither the types' established outcomes nor the effects can see the later window.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import polars as pl

from risk.contract import AgreementStatus


def _by(col: str, day: dt.date) -> pl.Expr:
    return pl.col(col).is_not_null() & (pl.col(col) <= day)


def known_by(tables: Mapping[str, pl.DataFrame], day: dt.date) -> dict[str, pl.DataFrame]:
    """Every table as known at the end of ``day``."""
    c = pl.col
    loans = tables["loans"].filter(c("originated_on") <= day)
    out = {
        "applications": tables["applications"].filter(c("applied_at").dt.date() <= day),
        "loans": loans,
        "schedule": tables["schedule"].join(loans.select("loan_id"), on="loan_id", how="semi"),
        "repayments": tables["repayments"].filter(c("paid_at").dt.date() <= day),
        "collection_actions": tables["collection_actions"].filter(c("action_at").dt.date() <= day),
    }
    if "agreements" in tables:
        later = ~_by("status_on", day)
        out["agreements"] = (
            tables["agreements"]
            .filter(c("signed_at").dt.date() <= day)
            .with_columns(
                status=pl.when(later).then(pl.lit(AgreementStatus.ACTIVE.value)).otherwise(c("status")),
                status_on=pl.when(later).then(None).otherwise(c("status_on")),
                certificate_on=pl.when(_by("certificate_on", day)).then(c("certificate_on")),
            )
        )
    if "legal_cases" in tables:
        out["legal_cases"] = (
            tables["legal_cases"]
            .filter(c("registered_on") <= day)
            .with_columns(
                response_deadline=pl.when(_by("letter_sent_on", day)).then(c("response_deadline")),
                claim_amount=pl.when(_by("filed_on", day)).then(c("claim_amount")),
                awarded_amount=pl.when(_by("judgment_on", day)).then(c("awarded_amount")),
                recovered_amount=pl.when(_by("last_recovery_on", day))
                .then(c("recovered_amount"))
                .otherwise(pl.lit(0.0)),
                close_reason=pl.when(_by("closed_on", day)).then(c("close_reason")),
                dishonest_debtor_listed=_by("listed_on", day),
            )
            .with_columns(
                *(
                    pl.when(_by(col, day)).then(c(col)).alias(col)
                    for col in ("letter_sent_on", "filed_on", "judgment_on", "enforcement_on", "last_recovery_on")
                ),
                closed_on=pl.when(_by("closed_on", day)).then(c("closed_on")),
                listed_on=pl.when(_by("listed_on", day)).then(c("listed_on")),
            )
        )
    if "borrower_profiles" in tables:
        out["borrower_profiles"] = tables["borrower_profiles"].filter(c("observed_on") <= day)
    return out
