"""The day's plan: one action per borrower, each team within capacity, optimal, with a fair control group."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from risk.policy.plan import assign, control_draw, plan_day

WORK = dt.date(2026, 1, 1)
TEAMS = ("sms", "call", "negotiation")


@st.composite
def days(draw):
    """Options of up to 7 borrowers (1-2 loans each, 1-3 options per loan) and capacities of 0-3 per team."""
    rows = []
    for b in range(draw(st.integers(1, 7))):
        for loan in range(draw(st.integers(1, 2))):
            teams = draw(st.lists(st.sampled_from(TEAMS), min_size=1, max_size=3, unique=True))
            for team in teams:
                value = draw(st.floats(-50, 500, allow_nan=False))
                rows.append(
                    {"borrower_id": f"B{b}", "loan_id": f"L{b}_{loan}", "action": team, "team": team, "value": value}
                )
    capacity = {t: draw(st.integers(0, 3)) for t in TEAMS}
    return pl.DataFrame(rows), capacity


def brute_force(options: pl.DataFrame, capacity: dict[str, int]) -> float:
    """The best total value by trying every choice of at most one option per borrower."""
    choices = [[None, *g.iter_rows(named=True)] for _, g in options.group_by("borrower_id", maintain_order=True)]
    best = 0.0
    for pick in itertools.product(*choices):
        taken = [r for r in pick if r is not None]
        used = {t: sum(r["team"] == t for r in taken) for t in TEAMS}
        if all(used[t] <= capacity[t] for t in TEAMS):
            best = max(best, sum(r["value"] for r in taken))
    return best


@settings(max_examples=120, deadline=None)
@given(days())
def test_assignment_takes_one_action_per_borrower_within_capacity_and_is_optimal(day):
    options, capacity = day
    taken = assign(options, capacity)
    assert taken["borrower_id"].is_unique().all()
    for team, cap in capacity.items():
        assert (taken["team"] == team).sum() <= cap
    assert (taken["value"] > 0).all()  # doing nothing is always allowed and worth 0
    assert abs(taken["value"].sum() - brute_force(options, capacity)) < 1e-6


def test_a_teams_option_as_low_as_every_slot_together_can_be_the_one_taken():
    """Only each team's best options, as many as every team's slots together, can be taken: here the call team's
    second best is, because its best borrower is worth more to the negotiation team."""
    options = pl.DataFrame(
        {
            "borrower_id": ["X", "Y", "Z", "X"],
            "loan_id": ["LX", "LY", "LZ", "LX"],
            "action": ["call", "call", "call", "instalment_plan"],
            "team": ["call", "call", "call", "negotiation"],
            "value": [100.0, 90.0, 10.0, 1000.0],
        }
    )
    taken = assign(options, {"call": 1, "negotiation": 1}).sort("borrower_id")
    assert taken.select("borrower_id", "team").rows() == [("X", "negotiation"), ("Y", "call")]


@settings(max_examples=60, deadline=None)
@given(days(), st.floats(0.0, 0.5))
def test_control_borrowers_get_nothing_and_free_no_one_elses_limits(day, share):
    options, capacity = day
    plan = plan_day(options, capacity, control_share=share, seed=1, work_date=WORK)
    assert plan["borrower_id"].is_unique().all()
    held = plan.filter(pl.col("policy") == "hold_out")
    assert (held["action"] == "hold_out").all() and held["loan_id"].is_null().all()
    assert (held["assignment_probability"] == share).all()
    acted = plan.filter(pl.col("policy") == "champion", pl.col("action").is_not_null())
    for team, cap in capacity.items():
        assert (acted["team"] == team).sum() <= cap


def test_the_control_group_is_its_share_of_borrowers_and_fixed_by_seed_and_day():
    ids = pl.Series([f"B{i}" for i in range(20_000)])
    draw = control_draw(ids, seed=42, work_date=WORK)
    assert abs((draw < 0.05).mean() - 0.05) < 0.005
    assert (draw == control_draw(ids, seed=42, work_date=WORK)).all()
    assert (draw != control_draw(ids, seed=42, work_date=WORK + dt.timedelta(days=1))).mean() > 0.99
    # a borrower's draw does not depend on who else is in the book
    assert control_draw(ids[5:6], seed=42, work_date=WORK)[0] == draw[5]
    # the logged probability's draw, as documented: BLAKE2b of "seed|work day|borrower", its 8 bytes over 2**64
    for i in (0, 7, 19_999):
        digest = hashlib.blake2b(f"42|{WORK.isoformat()}|B{i}".encode(), digest_size=8).digest()
        assert draw[i] == int.from_bytes(digest, "big") / 2**64


def test_a_scarce_team_goes_to_the_borrower_it_helps_most_not_the_likeliest_payer():
    options = pl.DataFrame(
        {
            "borrower_id": ["B1", "B1", "B2", "B2"],
            "loan_id": ["L1", "L1", "L2", "L2"],
            "action": ["settlement", "call", "settlement", "call"],
            "team": ["negotiation", "call", "negotiation", "call"],
            "value": [900.0, 100.0, 800.0, 600.0],
        }
    )
    taken = assign(options, {"negotiation": 1, "call": 5}).sort("borrower_id")
    # B2's settlement adds 200 over its call, B1's adds 800: B1 negotiates, B2 gets the call
    assert taken.select("borrower_id", "action").rows() == [("B1", "settlement"), ("B2", "call")]


def test_a_large_day_takes_exactly_the_options_the_mixed_integer_solve_takes(monkeypatch):
    """The linear programme's vertex is the assignment itself (the constraints are totally unimodular), and dropping
    each borrower's weaker options within a team loses nothing: on 2,000 borrowers with several loans and
    actions per team, the same options as the mixed-integer solve over every option."""
    import numpy as np
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import csr_array

    rng = np.random.default_rng(7)
    n = 20_000
    options = pl.DataFrame(
        {
            "borrower_id": [f"B{b}" for b in rng.integers(0, 2_000, n)],
            "loan_id": [f"L{i}" for i in range(n)],
            "action": "some action",
            "team": rng.choice(["sms", "call", "negotiation", "litigation"], n, p=[0.4, 0.3, 0.25, 0.05]),
            "value": rng.normal(100, 150, n),
        }
    )
    capacity = {"sms": 400, "call": 120, "negotiation": 30, "litigation": 5}
    with monkeypatch.context() as patch:  # the linear programme alone: the mixed-integer solve is the fallback
        patch.setattr("risk.policy.plan.milp", lambda *a, **k: pytest.fail("fell back to the mixed-integer solve"))
        taken = assign(options, capacity)

    worth = options.filter(pl.col("value") > 0)
    borrower = worth["borrower_id"].rank("dense").cast(pl.Int64).to_numpy() - 1
    team = worth["team"].replace_strict({t: i for i, t in enumerate(capacity)}, return_dtype=pl.Int64).to_numpy()
    m, n_b = worth.height, int(borrower.max()) + 1
    a = csr_array(
        (np.ones(2 * m), (np.concatenate([borrower, n_b + team]), np.concatenate([np.arange(m), np.arange(m)]))),
        shape=(n_b + len(capacity), m),
    )
    upper = np.concatenate([np.ones(n_b), list(map(float, capacity.values()))])
    exact = milp(
        -worth["value"].to_numpy(),
        constraints=LinearConstraint(a, -np.inf, upper),
        integrality=np.ones(m),
        bounds=Bounds(0, 1),
    )
    expected = worth.filter(pl.Series(exact.x > 0.5))
    assert taken.height == expected.height == sum(capacity.values())
    assert taken.equals(expected)


def test_an_answer_that_is_not_integral_falls_back_to_the_mixed_integer_solve(monkeypatch):
    import types

    import numpy as np

    options = pl.DataFrame(
        {
            "borrower_id": ["B1", "B2", "B3"],
            "loan_id": ["L1", "L2", "L3"],
            "action": "call",
            "team": "call",
            "value": [300.0, 200.0, 100.0],
        }
    )
    half = types.SimpleNamespace(status=0, x=np.full(3, 0.5))
    monkeypatch.setattr("risk.policy.plan.linprog", lambda *a, **k: half)
    assert assign(options, {"call": 2})["loan_id"].to_list() == ["L1", "L2"]


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_an_option_whose_value_is_not_a_number_is_refused_naming_its_loan(bad):
    from risk.exceptions import RiskDataError

    options = pl.DataFrame(
        {"borrower_id": ["B1", "B2"], "loan_id": ["L1", "L2"], "action": "sms", "team": "sms", "value": [5.0, bad]}
    )
    with pytest.raises(RiskDataError, match=r"1 collections options .* not a number \(loans L2\)"):
        assign(options, {"sms": 2})
