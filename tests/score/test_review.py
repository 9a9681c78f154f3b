"""Review queue: grades and decisions follow the cut-offs in params, manual reviews come first."""

import datetime as dt

import polars as pl
import pytest

from risk.config import ScoreParams
from risk.score.review import build_review_queue, grade

PARAMS = ScoreParams()


@pytest.mark.parametrize(
    ("pd_value", "expected"), [(0.0, "A"), (0.0299, "A"), (0.03, "B"), (0.07, "C"), (0.2, "D"), (0.25, "E"), (0.9, "E")]
)
def test_grade_follows_the_cutoffs(pd_value, expected):
    assert pl.select(grade(pl.lit(pd_value), PARAMS.grade_cutoffs)).item() == expected


def test_decisions_and_review_order():
    scored = pl.DataFrame(
        {
            "application_id": ["a", "b", "c", "d"],
            "pd": [0.01, 0.10, 0.20, 0.40],
            "requested_amount": [5000.0, 1000.0, 9000.0, 3000.0],
            # what the policy rules read: applicants none of them stops, so the PD decides
            "age": 30,
            "identity_verified": True,
            "income_verified": True,
            "other_active_loans": 0,
        }
    )
    out = build_review_queue(scored, PARAMS, as_of=dt.date(2025, 12, 31))
    decisions = dict(zip(out["application_id"], out["recommended_decision"], strict=True))
    assert decisions == {"a": "approved", "b": "manual_review", "c": "manual_review", "d": "declined"}
    assert out["decided_by"].to_list() == ["model"] * 4
    # manual reviews first, larger expected loss first
    assert out["application_id"].to_list()[:2] == ["c", "b"]
    assert out["review_order"].to_list()[:2] == [1, 2]
    assert out.filter(pl.col("recommended_decision") != "manual_review")["review_order"].null_count() == 2


def test_the_scorecard_s_own_grade_is_shown_beside_the_deciding_model_s():
    scored = pl.DataFrame(
        {
            "application_id": ["a", "b", "c"],
            "pd": [0.01, 0.10, 0.20],
            "scorecard_pd": [0.02, 0.30, None],  # no scorecard score for c
            "requested_amount": 1000.0,
            "age": 30,
            "identity_verified": True,
            "income_verified": True,
            "other_active_loans": 0,
        }
    )
    out = build_review_queue(scored, PARAMS, as_of=dt.date(2025, 12, 31)).sort("application_id")
    assert out["scorecard_grade"].to_list() == ["A", "E", None]
    assert out["grades_agree"].to_list() == [True, False, None]
