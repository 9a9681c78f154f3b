"""The policy's models on a simulated book whose true types and effects are known (and never read by them)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import polars as pl
import pytest
from tests.conftest import AS_OF

from risk.config import FeatureParams, Params
from risk.contract import CASE_TABLES, INPUT_TABLES
from risk.delinquency import instalment_ledger
from risk.features.build import _active_at, loan_state
from risk.policy.evidence import case_evidence
from risk.policy.fit import PolicyModels, fit_policy
from risk.policy.history import balance
from risk.policy.types import TYPES, established_types

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tables(small_book):
    names = {t.name for t in (*INPUT_TABLES, *CASE_TABLES)}
    return {k: v for k, v in small_book.items() if k in names}


@pytest.fixture(scope="module")
def params() -> Params:
    p = Params()
    return dataclasses.replace(p, data=dataclasses.replace(p.data, as_of=AS_OF))


@pytest.fixture(scope="module")
def fitted(tables, params):
    return fit_policy(tables, params)


@pytest.fixture(scope="module")
def overdue_at_as_of(tables, params, fitted):
    """Every loan past due at as_of with its features and evidence, classified by the type model."""
    t = {k: v.lazy() for k, v in tables.items()}
    ledger = instalment_ledger(t["loans"], t["schedule"], t["repayments"]).collect().lazy()
    pairs = _active_at(t["loans"], ledger, [AS_OF])
    state = loan_state(t, pairs, FeatureParams(), ledger=ledger).join(
        case_evidence(t, pairs, grace_days=params.collection_rules.promise_grace_days),
        on=["loan_id", "borrower_id", "as_of"],
    )
    frame = state.filter(pl.col("days_past_due") > 0).with_columns(balance=balance()).collect()
    models, _ = fitted
    return pl.concat([frame, models.types.classify(frame)], how="horizontal")


def test_types_are_established_only_by_outcomes_old_enough_to_be_known(tables):
    labels = established_types(tables, data_as_of=AS_OF, settle_days=180)
    assert set(labels["established_type"]) <= set(TYPES)
    assert (labels["onset"] <= AS_OF - dt.timedelta(days=180)).all()
    assert labels["loan_id"].is_unique().all()


def test_established_types_mostly_agree_with_the_truth_they_never_read(tables, small_book):
    labels = established_types(tables, data_as_of=AS_OF).join(
        small_book["truth"].select("loan_id", "overdue_type"), on="loan_id"
    )
    assert (labels["established_type"] == labels["overdue_type"]).mean() > 0.8


def test_the_type_model_beats_calling_everyone_the_commonest_type(overdue_at_as_of, small_book):
    rows = overdue_at_as_of.join(small_book["truth"].select("loan_id", true="overdue_type"), on="loan_id")
    accuracy = (rows["overdue_type"] == rows["true"]).mean()
    majority = rows["true"].value_counts()["count"].max() / rows.height
    assert rows.height > 40
    assert accuracy > majority + 0.1, (accuracy, majority)
    assert rows["type_confidence"].is_between(0.25, 1.0).all()


def test_the_learned_effects_order_the_actions_as_the_truth_does(overdue_at_as_of, fitted, small_book):
    models, _ = fitted
    probabilities = models.types.probabilities(overdue_at_as_of)
    frame = overdue_at_as_of.with_columns(pl.Series(f"p_{t}", probabilities[:, i]) for i, t in enumerate(TYPES))
    learned = models.effects.expected_paid(frame).filter(pl.col("action") != "hold_out")
    truth = small_book["truth_actions"]
    nothing = truth.filter(pl.col("action") == "hold_out").select("loan_id", nothing="expected_paid_30d")
    by_action = (
        learned.join(truth, on=["loan_id", "action"])
        .join(nothing, on="loan_id")
        .group_by("action")
        .agg(learned=pl.col("expected_gain").mean(), true=(pl.col("expected_paid_30d") - pl.col("nothing")).mean())
    )
    assert by_action.height >= 6
    assert by_action.select(pl.corr("learned", "true", method="spearman")).item() > 0.5, by_action
    best = by_action.sort("learned", descending=True)["action"][0]
    assert best == by_action.sort("true", descending=True)["action"][0] == "settlement"


def test_the_figures_say_how_the_effects_did_out_of_time(fitted):
    _, figures = fitted
    assert figures["decisions_by_action"]["hold_out"] > 200
    for action, q in figures["effects_out_of_time"].items():
        assert q["n_control"] > 0, action
        assert len(q["curve"]) >= 2


def test_a_saved_policy_loads_and_predicts_the_same(fitted, overdue_at_as_of, tmp_path):
    models, _ = fitted
    models.save(tmp_path / "policy")
    again = PolicyModels.load(tmp_path / "policy")
    frame = overdue_at_as_of.head(20)
    assert (again.types.probabilities(frame) == models.types.probabilities(frame)).all()
    assert (again.recovery.share(frame) == models.recovery.share(frame)).all()


def test_the_same_log_and_seed_give_the_same_models(tables, params, fitted, overdue_at_as_of):
    models, _ = fitted
    again, _ = fit_policy(tables, params)
    frame = overdue_at_as_of.head(50)
    assert (again.types.probabilities(frame) == models.types.probabilities(frame)).all()
