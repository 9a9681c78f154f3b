"""The learned queue's text a collector reads: the type with its confidence, then only the evidence a loan has."""

from __future__ import annotations

import polars as pl

from risk.policy.queue import EVIDENCE, type_evidence


def _loans(**overrides: list) -> pl.DataFrame:
    n = len(next(iter(overrides.values())))
    counts = {col: [0] * n for col, *_ in EVIDENCE}
    base = {
        "overdue_type": ["malicious"] * n,
        "type_confidence": [0.874] * n,
        "days_past_due": [45] * n,
        "property_owned": [False] * n,
        "vehicle_owned": [False] * n,
        **counts,
    }
    return pl.DataFrame({**base, **overrides})


def test_the_evidence_names_the_type_then_only_what_the_loan_has_joined_without_gaps_in_both_languages():
    loans = _loans(
        overdue_type=["malicious", None],  # a loan not yet typed: no head, no empty part
        n_refused=[2, 0],
        n_unreachable=[2, 5],  # below three attempts it is not evidence
        vehicle_owned=[True, None],
    )
    out = type_evidence(loans)
    assert out["type_evidence"].to_list() == [
        "malicious (87%); 45 days past due; refusals: 2; owns property or a vehicle",
        "45 days past due; unreachable: 5",
    ]
    assert out["type_evidence_zh"].to_list() == [
        "恶意逾期(87%)；逾期45天；2次拒绝还款；名下有房产或车辆",
        "逾期45天；5次联系不上",
    ]
