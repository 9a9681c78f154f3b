"""Effects learned from a log with a known effect, and the Qini measure that validates them."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from risk.policy.effects import ACTION_CODE, EFFECT_FEATURES, fit_effects, qini

N = 8000


@pytest.fixture(scope="module")
def log() -> pl.DataFrame:
    """A log where a call adds 0.25 of the balance for willing borrowers (no hardship reported) and nothing
    for the others, an SMS adds 0.05 for everyone, and the logged policy calls the late ones more often."""
    rng = np.random.default_rng(0)
    frame = pl.DataFrame({c: rng.normal(size=N) for c in EFFECT_FEATURES})
    hardship = rng.random(N) < 0.4
    dpd = rng.integers(1, 90, N)
    frame = frame.with_columns(
        n_hardship_reported=pl.Series(hardship.astype(float) * 2),
        days_past_due=pl.Series(dpd.astype(float)),
    )
    p_call = np.where(dpd > 30, 0.7, 0.3)
    u = rng.random(N)
    control = u < 0.1
    call = ~control & (u < 0.1 + 0.9 * p_call)
    treatment = np.where(control, "hold_out", np.where(call, "call", "sms"))
    propensity = np.where(control, 0.1, np.where(call, 0.9 * p_call, 0.9 * (1 - p_call)))
    base = 0.3 - 0.002 * dpd
    effect = np.where(call, np.where(hardship, 0.0, 0.25), np.where(treatment == "sms", 0.05, 0.0))
    share = np.clip(base + effect + rng.normal(0, 0.05, N), 0, 1)
    return frame.with_columns(
        treatment=pl.Series(treatment),
        propensity=pl.Series(propensity),
        paid_share=pl.Series(share),
        loan_id=pl.Series([f"L{i}" for i in range(N)]),
        balance=pl.lit(1000.0),
    )


def test_the_learned_effect_of_a_call_is_large_for_the_willing_and_nil_for_the_hardship_cases(log):
    model = fit_effects(log, seed=1)
    share = model.paid_share(log)
    uplift = share["call"] - share["hold_out"]
    willing = log["n_hardship_reported"].to_numpy() == 0
    assert uplift[willing].mean() == pytest.approx(0.25, abs=0.04)
    assert uplift[~willing].mean() == pytest.approx(0.0, abs=0.04)
    assert (share["sms"] - share["hold_out"]).mean() == pytest.approx(0.05, abs=0.03)


def test_expected_amounts_are_shares_of_the_balance(log):
    model = fit_effects(log, seed=1)
    paid = model.expected_paid(log.head(10))
    call = paid.filter(pl.col("action") == "call")
    control = paid.filter(pl.col("action") == "hold_out")
    assert np.allclose(call["expected_gain"], call["expected_paid"] - control["expected_paid"])
    assert set(paid["action"]) == {"hold_out", "call", "sms"}  # only actions with support in the log


def test_the_effects_of_named_actions_are_those_of_all_actions_and_keep_the_control(log):
    """The cases price only a settlement: asking for it (and an action without support) models only it and the
    control, with the same amounts the full set gives."""
    model = fit_effects(log, seed=1)
    everything = model.expected_paid(log.head(50))
    named = model.expected_paid(log.head(50), actions=("call", "litigation"))
    assert named.equals(everything.filter(pl.col("action").is_in(["hold_out", "call"])))
    assert set(model.paid_share(log.head(0), actions=("sms",))) == {"hold_out", "sms"}


def test_pricing_the_actions_together_gives_each_row_what_the_model_says_for_it_alone(log):
    """One model call prices every action over stacked rows: each share is, to the bit, the model's own
    prediction for that row under that action (clipped to [0, 1])."""
    model = fit_effects(log, seed=1)
    rows = log.head(40)
    share = model.paid_share(rows)
    evidence = rows.select(pl.col(c).cast(pl.Float64) for c in EFFECT_FEATURES).to_numpy()
    for action in model.supported:
        for i in (0, 17, 39):
            x = np.append(evidence[i], float(ACTION_CODE[action]))[None, :]
            assert share[action][i] == np.clip(model.booster.predict(x)[0], 0.0, 1.0)


def test_pricing_an_action_only_where_it_is_allowed_gives_those_rows_what_pricing_every_row_gives(log):
    """The plan prices an action only for the loans an option could offer it to (its rows' mask); the control is
    priced for every loan whatever the masks say, and each priced row gets what the full pricing gives it."""
    model = fit_effects(log, seed=1)
    frame = log.head(60)
    everything = model.expected_paid(frame)
    rng = np.random.default_rng(3)
    rows = {"call": rng.random(60) < 0.5, "sms": np.zeros(60, bool), "hold_out": np.zeros(60, bool)}
    priced = model.expected_paid(frame, rows=rows)
    keys = pl.DataFrame({"loan_id": frame["loan_id"], "call": rows["call"]})
    wanted = everything.join(keys, on="loan_id").filter(
        (pl.col("action") == "hold_out") | ((pl.col("action") == "call") & pl.col("call"))
    )
    assert priced.height == 60 + int(rows["call"].sum())
    assert priced.sort("action", "loan_id").equals(wanted.drop("call").sort("action", "loan_id"))


def test_the_options_are_the_same_when_only_the_allowed_actions_are_priced(log):
    """What :func:`allowed_rows` leaves unpriced, :func:`options` would have barred: the lawful options are the
    same, row for row, whether every (loan, action) or only the allowed ones are priced."""
    from risk.config import ScoreParams
    from risk.policy.options import allowed_rows, options

    model = fit_effects(log, seed=1)
    frame = log.head(80).with_columns(borrower_id=pl.col("loan_id"), litigation_cost=pl.lit(500.0))
    rng = np.random.default_rng(4)
    gates = frame.select("loan_id").with_columns(
        **{g: pl.Series(rng.random(80) < 0.6) for g in ("may_contact", "may_call", "may_letter", "may_sue")}
    )
    full = options(frame, model.expected_paid(frame), gates, ScoreParams())
    rows = allowed_rows(frame["loan_id"].reverse(), gates, model.actions)  # any order of the loans: their own
    assert rows["call"].tolist() == gates["may_call"].reverse().to_list()
    assert rows["sms"].tolist() == gates["may_contact"].reverse().to_list()
    reversed_frame = frame.reverse()
    priced = options(reversed_frame, model.expected_paid(reversed_frame, rows=rows), gates, ScoreParams())
    assert full.height > 0 and priced.equals(full)


def test_an_action_logged_too_rarely_is_never_offered(log):
    rare_sms = pl.concat([log.filter(pl.col("treatment") != "sms"), log.filter(pl.col("treatment") == "sms").head(50)])
    model = fit_effects(rare_sms, seed=1)
    assert model.actions == ("call",)
    assert set(model.expected_paid(log.head(3))["action"]) == {"call", "hold_out"}


def test_no_control_arm_is_an_error(log):
    with pytest.raises(ValueError, match="hold-out"):
        fit_effects(log.filter(pl.col("treatment") != "hold_out"), seed=1)


def test_qini_ranks_a_perfect_uplift_above_random_and_a_reversed_one_below():
    rng = np.random.default_rng(3)
    n = 4000
    true_uplift = rng.random(n)
    treated = (rng.random(n) < 0.5).astype(float)
    outcome = (rng.random(n) < 0.2 + 0.5 * true_uplift * treated).astype(float)
    weight = np.ones(n)
    good = qini(true_uplift, outcome, treated, weight)
    bad = qini(-true_uplift, outcome, treated, weight)
    assert good["uplift_auc"] > 0.02 > -0.02 > bad["uplift_auc"]
    assert good["total_gain"] == pytest.approx(bad["total_gain"])
