"""The promotion gate: a new candidate goes live only when it beats the champion in service by the margin and
passes the calibration test; the reason names the figures."""

from __future__ import annotations

from risk.config import PromotionParams
from risk.models.gate import FIRST, HELD, PROMOTED, decide

PARAMS = PromotionParams(margin=0.005, require_calibration=True)


def gate(candidate_auc=0.760, red=0, incumbent="3", incumbent_auc=0.750, params=PARAMS):
    return decide(
        candidate_kind="lightgbm",
        candidate_version="5",
        candidate_auc=candidate_auc,
        candidate_red_grades=red,
        incumbent_version=incumbent,
        incumbent_auc=incumbent_auc,
        params=params,
    )


def test_the_first_candidate_goes_live() -> None:
    first = gate(incumbent=None, incumbent_auc=None)
    assert first.decision == FIRST and first.live


def test_a_candidate_better_by_the_margin_and_calibrated_is_promoted() -> None:
    promoted = gate()
    assert promoted.decision == PROMOTED and promoted.live and "+0.0100" in promoted.reason


def test_a_candidate_within_the_margin_is_held() -> None:
    held = gate(candidate_auc=0.752)
    assert held.decision == HELD and not held.live and "less than the margin" in held.reason


def test_an_equal_retrain_is_held() -> None:
    assert gate(candidate_auc=0.750).decision == HELD


def test_a_better_but_miscalibrated_candidate_is_held_unless_params_waive_it() -> None:
    assert gate(red=1).decision == HELD
    assert gate(red=1, params=PromotionParams(margin=0.005, require_calibration=False)).decision == PROMOTED


def test_a_champion_that_cannot_score_today_s_features_is_replaced() -> None:
    assert gate(incumbent_auc=None).decision == PROMOTED


def test_a_held_candidate_challenges_the_champion_in_service_and_the_newest_scorecard_is_pinned() -> None:
    from risk.models.stage import pin
    from risk.models.train import SPECS

    versions = {"lightgbm": "5", "scorecard": "6"}
    registry = {k: {"run_id": f"run-{v}"} for k, v in versions.items()}
    pinned = pin(SPECS["pd"], gate(candidate_auc=0.750), versions, registry, "lightgbm")
    assert pinned["champion"]["version"] == "3" and pinned["challenger"]["version"] == "5"
    assert pinned["scorecard"]["version"] == "6"
    live = pin(SPECS["pd"], gate(), versions, registry, "lightgbm")
    assert (live["champion"]["version"], live["challenger"]["version"]) == ("5", "6")


def test_the_pd_model_is_graded_by_the_business_grades_and_the_loan_models_by_quintiles() -> None:
    import numpy as np

    from risk.models.stage import grades_of
    from risk.models.train import SPECS

    p = np.array([0.01, 0.03, 0.05, 0.2, 0.5])
    grades, order = grades_of(SPECS["pd"], p, (0.03, 0.06, 0.12, 0.25))
    assert list(grades) == ["A", "B", "B", "D", "E"] and order == ("A", "B", "C", "D", "E")
    bands, order = grades_of(SPECS["early_warning"], np.linspace(0, 1, 10), (0.03, 0.06, 0.12, 0.25))
    assert order == ("P1", "P2", "P3", "P4", "P5") and list(bands).count("P1") == 2
