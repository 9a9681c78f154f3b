"""The simulator's collections world: actions change outcomes, and the data alone can show by how much.

Ranges are REALISM.md's "Collections: what actions do, agreements and courts"; the causal tests compare
the same book simulated twice with the same seed, once with the lender's logged policy and once with
every action withheld, and check that the logged hold-outs estimate that difference.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import polars as pl
import pytest
from tests.test_simulate import instalment_ledger

from risk.config import CollectionRules, SimulateParams
from risk.contract import REACHED_OUTCOMES, VOICE_CHANNELS
from risk.simulate import simulate

AS_OF = dt.date(2025, 12, 31)
SEED = 42
PARAMS = SimulateParams(n_loans=20_000, pending_applications=100)
RULES = CollectionRules()
CONTACT = ("sms", "phone", "email", "app", "video", "face_to_face")


@pytest.fixture(scope="module")
def book() -> dict[str, pl.DataFrame]:
    return simulate(PARAMS, as_of=AS_OF, seed=SEED)


@pytest.fixture(scope="module")
def withheld() -> dict[str, pl.DataFrame]:
    """The same borrowers in the same circumstances, with no collection action at all."""
    return simulate(
        SimulateParams(n_loans=20_000, pending_applications=100, collections_policy="withhold"), as_of=AS_OF, seed=SEED
    )


def first_overdue(book: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Each loan's first instalment unpaid on its due date, and whether it was paid within 30 days."""
    return (
        instalment_ledger(book)
        .filter(
            pl.col("paid_on").is_null() | (pl.col("paid_on") > pl.col("due_date")),
            pl.col("due_date") + pl.duration(days=30) <= AS_OF,
        )
        .sort("loan_id", "instalment_no")
        .group_by("loan_id")
        .first()
        .with_columns(
            paid_30d=pl.col("paid_on").is_not_null() & (pl.col("paid_on") <= pl.col("due_date") + pl.duration(days=30))
        )
        .select("loan_id", "instalment_no", "due_date", "paid_30d")
    )


def held_out(book: dict[str, pl.DataFrame], events: pl.DataFrame) -> pl.DataFrame:
    """Events whose first days overdue fell in a hold-out (对照组), read from the logged actions alone."""
    hold = (
        book["collection_actions"]
        .filter(pl.col("policy") == "hold_out")
        .select("loan_id", day=pl.col("action_at").dt.date())
    )
    flagged = (
        events.join(hold, on="loan_id")
        .filter(pl.col("day") > pl.col("due_date"), pl.col("day") <= pl.col("due_date") + pl.duration(days=3))
        .select("loan_id")
        .unique()
        .with_columns(held=pl.lit(True))
    )
    return events.join(flagged, on="loan_id", how="left").with_columns(pl.col("held").fill_null(False))


# --- causal structure --------------------------------------------------------------------------------------
def test_withholding_actions_changes_nothing_but_collections(book, withheld) -> None:
    """Same applicants, loans and schedules (a loan's status at as_of follows its repayments, so it may differ)."""
    assert book["applications"].equals(withheld["applications"])
    assert book["loans"].drop("status").equals(withheld["loans"].drop("status"))
    assert book["schedule"].equals(withheld["schedule"])
    assert withheld["collection_actions"].height == 0
    assert withheld["agreements"].height == 0 and withheld["legal_cases"].height == 0


def test_the_logged_policy_collects_more_than_doing_nothing(book, withheld) -> None:
    """Same borrowers, same draws: the overdue instalments paid within 30 days rise with the actions."""
    logged, none = first_overdue(book), first_overdue(withheld)
    both = logged.join(none, on=["loan_id", "instalment_no"], suffix="_none")
    effect = both["paid_30d"].mean() - both["paid_30d_none"].mean()
    assert 0.03 < effect < 0.25, effect
    # money, too: more is repaid in all
    assert book["repayments"]["amount"].sum() > withheld["repayments"]["amount"].sum()


def test_the_hold_outs_estimate_the_policy_effect_within_their_confidence_interval(book, withheld) -> None:
    """From the logged data alone: paid within 30 days, not held out minus held out, against the truth."""
    events = held_out(book, first_overdue(book))
    treated, control = events.filter(~pl.col("held"))["paid_30d"], events.filter("held")["paid_30d"]
    assert control.len() > 200
    estimate = treated.mean() - control.mean()
    se = math.sqrt(
        treated.mean() * (1 - treated.mean()) / treated.len() + control.mean() * (1 - control.mean()) / control.len()
    )
    truth = first_overdue(book).join(first_overdue(withheld), on=["loan_id", "instalment_no"], suffix="_none")
    true_effect = truth["paid_30d"].mean() - truth["paid_30d_none"].mean()
    assert abs(estimate - true_effect) < 2.58 * se, (estimate, true_effect, se)
    assert estimate - 1.96 * se > 0  # the data alone show the policy works


def test_every_decision_is_logged_with_its_policy_and_probability(book) -> None:
    actions = book["collection_actions"]
    chosen = actions.filter(pl.col("policy").is_in(["ladder", "hold_out"]))
    share = (chosen["policy"] == "hold_out").mean()
    assert 0.03 <= share <= 0.10, share
    hold = actions.filter(pl.col("policy") == "hold_out")
    assert (hold["assignment_probability"] == PARAMS.holdout_share).all()
    assert set(hold["channel"].unique()) == {"none"} and set(hold["outcome"].unique()) == {"not_contacted"}
    ladder = actions.filter(pl.col("policy") == "ladder", pl.col("assignment_probability").is_not_null())
    assert ladder["assignment_probability"].is_between(0.0, 1.0, closed="right").all()
    # the few contacts no policy chose are the rule-breaking bursts, recorded as they happened
    assert actions.filter(pl.col("policy") == "ladder")["assignment_probability"].null_count() < 0.01 * actions.height


# --- evidence: ability and willingness overlap ---------------------------------------------------------------
def test_outcomes_carry_evidence_but_no_outcome_names_the_type(book) -> None:
    talks = (
        book["collection_actions"]
        .filter(pl.col("channel") == "phone")
        .join(book["truth"].select("loan_id", "overdue_type"), on="loan_id")
        .filter(pl.col("overdue_type").is_not_null())
    )
    rate = lambda kind, outcomes: talks.filter(pl.col("overdue_type") == kind)["outcome"].is_in(outcomes).mean()  # noqa: E731
    assert rate("malicious", ["refused", "unreachable"]) > 1.5 * rate("temporary", ["refused", "unreachable"])
    assert rate("insolvent", ["hardship_reported"]) > 2 * rate("temporary", ["hardship_reported"])
    assert rate("malicious", ["hardship_reported"]) > 0  # excuses happen
    by_outcome = (
        talks.group_by("outcome", "overdue_type")
        .len()
        .with_columns(share=pl.col("len") / pl.col("len").sum().over("outcome"))
    )
    evidence = by_outcome.filter(
        pl.col("outcome").is_in(["hardship_reported", "refused", "disputed", "promise_to_pay", "unreachable"])
    )
    assert evidence["share"].max() < 0.9  # no single signal gives the type away
    reasons = book["collection_actions"].filter(pl.col("outcome") == "hardship_reported")["hardship_reason"]
    assert reasons.null_count() == 0 and reasons.n_unique() >= 4


# --- lawful collection ---------------------------------------------------------------------------------------
def test_contacts_follow_the_rules_but_for_a_small_known_share(book) -> None:
    contacts = book["collection_actions"].filter(pl.col("channel").is_in(CONTACT))
    hour = contacts["action_at"].dt.hour()
    quiet = ((hour >= RULES.quiet_start_hour) | (hour < RULES.quiet_end_hour)).mean()
    assert 0 < quiet < 0.01
    voice = (
        contacts.filter(pl.col("channel").is_in(VOICE_CHANNELS), pl.col("outcome").is_in(REACHED_OUTCOMES))
        .join(book["loans"].select("loan_id", "borrower_id"), on="loan_id")
        .group_by("borrower_id", pl.col("action_at").dt.date())
        .len()
    )
    over = voice.filter(pl.col("len") > RULES.max_voice_contacts_per_day)["len"].sum()
    assert 0 < over < 0.01 * contacts.height


def test_nobody_is_contacted_while_a_promise_runs_or_after_asking_for_no_contact(book) -> None:
    actions = book["collection_actions"].with_columns(day=pl.col("action_at").dt.date())
    quiet = actions.filter(pl.col("outcome").is_in(["no_contact_requested", "complaint"])).select(
        "loan_id", asked=pl.col("day")
    )
    after = (
        actions.filter(pl.col("channel").is_in(["phone", "video", "face_to_face"]), pl.col("policy") == "ladder")
        .join(quiet, on="loan_id")
        .filter(
            pl.col("day") > pl.col("asked"),
            pl.col("day") <= pl.col("asked") + pl.duration(days=RULES.no_contact_days_after_request),
        )
    )
    assert after.height < 0.002 * actions.height


# --- the truth: potential outcomes and hazards -------------------------------------------------------------
def alone_effect(book, kind: str, dpd: tuple[int, int], action: str) -> float:
    overdue = book["truth_actions"].join(book["truth"].select("loan_id", "overdue_type"), on="loan_id")
    wide = (
        overdue.join(first_overdue_open(book), on="loan_id")
        .filter(pl.col("overdue_type") == kind, pl.col("dpd").is_between(*dpd))
        .pivot(on="action", index="loan_id", values="p_pay_30d_alone")
    )
    return float((wide[action] - wide["hold_out"]).mean())


def first_overdue_open(book) -> pl.DataFrame:
    """Days past due at as_of of the loans the truth covers (the oldest instalment unpaid then)."""
    paid = book["repayments"].group_by("loan_id").agg(paid=pl.col("amount").sum())
    return (
        book["schedule"]
        .sort("loan_id", "instalment_no")
        .with_columns(cum_due=(pl.col("principal_due") + pl.col("interest_due")).cum_sum().over("loan_id"))
        .join(paid, on="loan_id", how="left")
        .filter(pl.col("cum_due") > pl.col("paid").fill_null(0.0) + 1.0, pl.col("due_date") < AS_OF)
        .group_by("loan_id")
        .agg(dpd=(pl.lit(AS_OF) - pl.col("due_date").min()).dt.total_days())
    )


COLLECTIONS_RANGES = {
    "reminder_temporary_1_30": (0.05, 0.15),
    "reminder_malicious_1_30": (0.0, 0.03),
    "letter_malicious_31_90": (0.05, 0.12),
}


@pytest.mark.parametrize("measure", list(COLLECTIONS_RANGES))
def test_action_effects_land_in_the_realistic_range(book, measure) -> None:
    kind, low, high = {
        "reminder_temporary_1_30": ("temporary", 1, 30),
        "reminder_malicious_1_30": ("malicious", 1, 30),
        "letter_malicious_31_90": ("malicious", 31, 90),
    }[measure]
    if measure.startswith("letter"):
        value = alone_effect(book, kind, (low, high), "lawyers_letter")
    else:
        value = (alone_effect(book, kind, (low, high), "sms") + alone_effect(book, kind, (low, high), "call")) / 2
    lo, hi = COLLECTIONS_RANGES[measure]
    assert lo <= value <= hi, f"{measure} = {value:.4f}, expected [{lo}, {hi}]"


def test_nothing_but_restructuring_helps_the_insolvent(book) -> None:
    t = book["truth_actions"].join(book["truth"].select("loan_id", "overdue_type"), on="loan_id")
    insolvent = t.filter(pl.col("overdue_type") == "insolvent")
    assert insolvent.group_by("action").agg(pl.col("p_pay_30d").mean())["p_pay_30d"].max() < 0.05
    paid = insolvent.group_by("action").agg(pl.col("expected_paid_30d").mean())
    by = dict(zip(paid["action"], paid["expected_paid_30d"], strict=True))
    assert by["instalment_plan"] > 1.5 * by["call"]


def test_agreements_and_courts_land_in_the_realistic_ranges(book) -> None:
    ag = (
        book["agreements"]
        .filter(pl.col("status") != "active")
        .join(book["truth"].select("loan_id", "overdue_type"), on="loan_id")
    )
    kept = (ag.filter(pl.col("kind") == "promise_to_pay")["status"] == "kept").mean()
    assert 0.4 <= kept <= 0.7, kept
    plans = ag.filter(pl.col("kind") == "instalment_plan")
    done = (plans["status"] == "completed").mean()
    insolvent = (plans.filter(pl.col("overdue_type") == "insolvent")["status"] == "completed").mean()
    assert 0.3 <= done <= 0.7 and insolvent < done, (done, insolvent)
    settled = book["agreements"].filter(pl.col("kind") == "settlement", pl.col("status") == "completed")
    assert settled["certificate_on"].is_not_null().mean() > 0.8
    lc = book["legal_cases"]
    resolved = lc.filter(
        pl.col("filed_on").is_not_null(), pl.col("judgment_on").is_not_null() | (pl.col("close_reason") == "withdrawn")
    )
    judged = resolved["judgment_on"].is_not_null().mean()
    assert 0.7 <= judged <= 0.9, judged
    enforced = lc.filter(pl.col("enforcement_on") <= AS_OF - dt.timedelta(days=200))
    listed = enforced["dishonest_debtor_listed"].mean()
    assert 0.2 <= listed <= 0.5, listed


def test_court_recoveries_follow_the_assets_a_judgment_can_reach(book) -> None:
    search = (
        book["borrower_profiles"]
        .filter(pl.col("source") == "collector")
        .select("borrower_id", "observed_on", "property_owned", "social_insurance")
    )
    cases = (
        book["legal_cases"]
        .filter(pl.col("judgment_on") <= AS_OF - dt.timedelta(days=365))
        .join(book["loans"].select("loan_id", "borrower_id"), on="loan_id")
        .join(search, left_on=["borrower_id", "registered_on"], right_on=["borrower_id", "observed_on"])
        .with_columns(reachable=pl.col("property_owned") | pl.col("social_insurance"))
        .group_by("reachable")
        .agg(rate=pl.col("recovered_amount").sum() / pl.col("awarded_amount").sum(), n=pl.len())
    )
    rate = dict(zip(cases["reachable"], cases["rate"], strict=True))
    assert 0.35 <= rate[True] <= 0.7 and rate[False] <= 0.25, rate


def test_legal_steps_happen_in_order(book) -> None:
    lc = book["legal_cases"]
    steps = ["registered_on", "letter_sent_on", "filed_on", "judgment_on", "enforcement_on"]
    for earlier, later in zip(steps, steps[1:], strict=False):
        both = lc.filter(pl.col(later).is_not_null())
        assert both[earlier].is_not_null().all(), (earlier, later)
        assert (both[later] >= both[earlier]).all(), (earlier, later)
    filed = lc.filter(pl.col("filed_on").is_not_null())
    assert (filed["filed_on"] > filed["response_deadline"]).all()


def test_the_truth_has_potential_outcomes_and_snapshot_hazards(book) -> None:
    ta = book["truth_actions"]
    assert ta["action"].n_unique() == 10 and ta.group_by("loan_id").len()["len"].min() == 10
    snaps = book["truth_snapshots"]
    assert snaps["p_dpd30_next_90d"].is_not_null().mean() > 0.9
    assert snaps["p_cure_30d"].is_not_null().sum() > 500


def test_no_model_or_scoring_code_reads_the_truth() -> None:
    """Features, models and scores never open a truth table; only evaluation and the report compare with it."""
    src = Path(__file__).resolve().parents[1] / "src" / "risk"
    for folder in ("features", "score", "delinquency.py"):
        for path in (src / folder).rglob("*.py") if (src / folder).is_dir() else [src / folder]:
            text = path.read_text(encoding="utf-8")
            assert "truth" not in text, path
    # the collections policy learns and plans without it; only its evaluation and stage edge compare
    for path in (src / "policy").glob("*.py"):
        if path.name not in ("evaluate.py", "stage.py"):
            assert "truth" not in path.read_text(encoding="utf-8"), path
    train = (src / "models" / "train.py").read_text(encoding="utf-8")
    fit = train[train.index("def fit_candidates") : train.index("class Evaluation")]
    assert "oracle" not in fit and "truth" not in fit
