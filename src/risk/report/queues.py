"""What the day's queues hold: pure summaries of the collections queue (催收队列) and the review queue (贷前审核)."""

from __future__ import annotations

import polars as pl

from risk.contract import Action, OverdueType

AT_RISK = "current, at risk"  # queue rows without an overdue type: current loans flagged by early warning


def collections_by_type_and_action(queue: pl.DataFrame) -> pl.DataFrame:
    """Loans in the collections queue by overdue type (rows) and next action (columns, in ladder order)."""
    q = queue.with_columns(pl.col("overdue_type").fill_null(AT_RISK))
    actions = [a.value for a in Action if a.value in set(q["next_action"].to_list())]
    types = [t for t in (AT_RISK, *(o.value for o in OverdueType)) if t in set(q["overdue_type"].to_list())]
    counts = q.group_by("overdue_type", "next_action").agg(loans=pl.len())
    grid = pl.DataFrame({"overdue_type": types}).join(pl.DataFrame({"next_action": actions}), how="cross")
    wide = (
        grid.join(counts, on=["overdue_type", "next_action"], how="left")
        .with_columns(pl.col("loans").fill_null(0))
        .pivot("next_action", index="overdue_type", values="loans")
    )
    return wide.with_columns(total=pl.sum_horizontal(actions)) if actions else wide


def legal_referrals_by_criterion(queue: pl.DataFrame) -> pl.DataFrame:
    """Cases handed to the legal team by criterion (one case can meet several): loans and exposure in RMB."""
    legal = queue.filter("legal_referral")
    return (
        legal.select("loan_id", "exposure", "litigation_net_value", criterion="legal_criteria")
        .explode("criterion")
        .drop_nulls("criterion")
        .group_by("criterion")
        .agg(
            loans=pl.len(),
            exposure=pl.col("exposure").sum(),
            litigation_positive=(pl.col("litigation_net_value") > 0).sum(),
        )
        .sort("loans", descending=True)
    )


def recovery_by_capacity(queue: pl.DataFrame) -> pl.DataFrame:
    """What capacity buys: cumulative expected value of the queue's contacts, best first.

    Row ``contacts = k`` is the expected extra recovery (RMB, net of contact cost) of working the ``k``
    contacts with the highest ``expected_value``; the curve flattens where extra capacity stops paying.
    """
    ev = queue.select("expected_value").sort("expected_value", descending=True, nulls_last=True).fill_null(0.0)
    return ev.with_columns(
        contacts=pl.int_range(1, pl.len() + 1),
        cumulative_expected_value=pl.col("expected_value").cum_sum(),
    ).select("contacts", "expected_value", "cumulative_expected_value")


def review_decisions_by_grade(queue: pl.DataFrame) -> pl.DataFrame:
    """Pending applications by risk grade: count per recommended decision, mean PD and requested amount."""
    decisions = ("approved", "manual_review", "declined")
    counts = queue.group_by("risk_grade").agg(
        *[(pl.col("recommended_decision") == d).sum().alias(d) for d in decisions],
        applications=pl.len(),
        mean_pd=pl.col("pd").mean(),
        requested_amount=pl.col("requested_amount").sum(),
        expected_loss=pl.col("expected_loss").sum(),
    )
    return counts.select("risk_grade", "applications", *decisions, "mean_pd", "requested_amount", "expected_loss").sort(
        "risk_grade"
    )
