"""Pre-loan review's hard policy rules: each hits by name before the PD decides, none ever approves, and a rule
the data cannot check is reported, never passed."""

import dataclasses
import datetime as dt
import doctest
from pathlib import Path

import polars as pl
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import risk.score.review_rules as review_rules
from risk.config import REVIEW_RULE_DECISIONS, ReviewRuleParams, ScoreParams, load_params
from risk.exceptions import ConfigError, RiskDataError
from risk.score.review import build_review_queue, decide
from risk.score.review_rules import (
    RULES,
    PolicyDecision,
    PolicyRule,
    apply_review_rules,
    precedence,
    review_facts,
    with_policy_reasons,
)

ROOT = Path(__file__).resolve().parents[2]
AS_OF = dt.date(2025, 12, 31)
RULE_PARAMS = ReviewRuleParams()
# an applicant no rule stops, with every fact known
CLEAN = {
    "application_id": "a1",
    "borrower_id": "b1",
    "pd": 0.01,
    "requested_amount": 5000.0,
    "age": 30,
    "identity_verified": True,
    "income_verified": True,
    "other_active_loans": 0,
    "other_platform_loans": 0,
    "dishonest_debtor_listed": False,
}


def applications(*rows: dict) -> pl.DataFrame:
    """Pending applications: each row is :data:`CLEAN` with the given changes."""
    return pl.DataFrame(
        [{**CLEAN, "application_id": f"a{i}", **row} for i, row in enumerate(rows, 1)],
        schema_overrides={"other_platform_loans": pl.Int64, "dishonest_debtor_listed": pl.Boolean},
    )


def ruled(*rows: dict, params: ReviewRuleParams = RULE_PARAMS) -> list[tuple]:
    return apply_review_rules(applications(*rows), params)["policy_rule", "policy_decision"].rows()


@pytest.mark.parametrize(
    ("change", "rule", "decision"),
    [
        ({"age": 17}, "under_legal_age", "declined"),
        ({"dishonest_debtor_listed": True}, "blacklist_match", "declined"),
        ({"identity_verified": False}, "identity_not_verified", "manual_review"),
        ({"other_active_loans": 2, "other_platform_loans": 3}, "too_many_online_loans", "declined"),
        ({"other_active_loans": 5, "other_platform_loans": None}, "too_many_online_loans", "declined"),
        ({"income_verified": False, "requested_amount": 20_001.0}, "income_not_verified_above", "manual_review"),
        ({"age": 61}, "above_max_age", "manual_review"),
    ],
)
def test_each_rule_hits_by_name_with_its_decision(change, rule, decision):
    assert ruled(change) == [(rule, decision)]


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"age": 18},
        {"age": 60},
        {"other_active_loans": 1, "other_platform_loans": 3},
        {"income_verified": False, "requested_amount": 20_000.0},
        {"income_verified": True, "requested_amount": 150_000.0},
    ],
)
def test_at_the_limits_no_rule_hits(change):
    """The thresholds are the last values allowed: 18 and 60 years, 4 other loans, 20,000 RMB unverified."""
    out = apply_review_rules(applications(change), RULE_PARAMS)
    assert out["policy_rule", "policy_decision"].rows() == [(None, None)]
    assert out["policy_not_checked"].to_list() == [[]]


def test_a_verification_flag_that_is_not_true_is_not_verified():
    """A null flag is a check that did not pass: the identity rule holds the row."""
    assert ruled({"identity_verified": None}) == [("identity_not_verified", "manual_review")]


@pytest.mark.parametrize(
    ("field", "change", "rule"),
    [
        ("identity_not_verified_decision", {"identity_verified": False}, "identity_not_verified"),
        ("too_many_online_loans_decision", {"other_active_loans": 9}, "too_many_online_loans"),
    ],
)
@pytest.mark.parametrize("decision", REVIEW_RULE_DECISIONS)
def test_the_configurable_decisions_follow_the_params(field, change, rule, decision):
    params = dataclasses.replace(RULE_PARAMS, **{field: decision})
    assert ruled(change, params=params) == [(rule, decision)]


def test_declines_go_first_then_manual_reviews_each_in_the_documented_order():
    names = [r.name.value for r in precedence(RULE_PARAMS)]
    assert names == [
        "under_legal_age",
        "blacklist_match",
        "too_many_online_loans",
        "identity_not_verified",
        "income_not_verified_above",
        "above_max_age",
    ]
    everything = {
        "age": 17,
        "dishonest_debtor_listed": True,
        "identity_verified": False,
        "other_active_loans": 9,
        "income_verified": False,
        "requested_amount": 50_000.0,
    }
    assert ruled(everything) == [("under_legal_age", "declined")]
    assert ruled({**everything, "age": 30}) == [("blacklist_match", "declined")]


def test_a_manual_review_never_masks_a_decline():
    """Unverified identity (manual review) with too many loans (declined): the decline decides; made a decline
    too, the identity rule comes first again, in the order of RULES."""
    both = {"identity_verified": False, "other_active_loans": 9}
    assert ruled(both) == [("too_many_online_loans", "declined")]
    declines = dataclasses.replace(RULE_PARAMS, identity_not_verified_decision="declined")
    assert ruled(both, params=declines) == [("identity_not_verified", "declined")]
    assert ruled({"identity_verified": False, "income_verified": False, "requested_amount": 50_000.0, "age": 70}) == [
        ("identity_not_verified", "manual_review")
    ]


def test_rules_without_their_data_are_reported_not_passed():
    """No legal cases and no bureau count: the dishonest-debtor list and the other platforms' loans are unknown."""
    frame = applications({}, {"other_active_loans": 7}).drop("dishonest_debtor_listed", "other_platform_loans")
    out = apply_review_rules(frame, RULE_PARAMS)
    assert out["dishonest_debtor_listed"].null_count() == out["other_platform_loans"].null_count() == 2
    assert out["policy_not_checked"].to_list() == [
        ["blacklist_match", "too_many_online_loans"],
        ["blacklist_match"],  # the loans on this platform alone already break the limit
    ]
    assert out["policy_rule"].to_list() == [None, "too_many_online_loans"]


def test_a_row_without_an_age_cannot_pass_the_age_rules():
    out = apply_review_rules(applications({"age": None}), RULE_PARAMS)
    assert out["policy_not_checked"].to_list() == [["under_legal_age", "above_max_age"]]


def test_missing_required_columns_are_refused_by_name():
    with pytest.raises(RiskDataError, match="identity_verified"):
        apply_review_rules(applications({}).drop("identity_verified"), RULE_PARAMS)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.fixed_dictionaries(
            {
                "pd": st.floats(0.0, 1.0),
                "identity_verified": st.booleans(),
                "income_verified": st.booleans(),
                "age": st.integers(16, 75),
                "requested_amount": st.floats(500.0, 100_000.0),
                "other_active_loans": st.integers(0, 8),
                "other_platform_loans": st.one_of(st.none(), st.integers(0, 8)),
                "dishonest_debtor_listed": st.one_of(st.none(), st.booleans()),
            }
        ),
        min_size=1,
        max_size=30,
    ),
    identity=st.sampled_from(REVIEW_RULE_DECISIONS),
)
def test_no_unverified_identity_is_approved_whatever_its_pd(rows, identity):
    params = dataclasses.replace(
        ScoreParams(), review_rules=dataclasses.replace(RULE_PARAMS, identity_not_verified_decision=identity)
    )
    out = build_review_queue(applications(*rows), params, as_of=AS_OF)
    assert (out.filter(~pl.col("identity_verified"))["recommended_decision"] != "approved").all()
    # a rule that hits decides unless the PD's decision is more severe; no rule ever approves
    severity = {"approved": 0, "manual_review": 1, "declined": 2}
    sev = out.select(
        final=pl.col("recommended_decision").replace_strict(severity),
        most_severe=pl.max_horizontal(
            decide(pl.col("pd"), params).replace_strict(severity),
            pl.col("policy_decision").replace_strict(severity, default=None),
        ),
    )
    assert sev["final"].to_list() == sev["most_severe"].to_list()
    by_rule = out.filter(pl.col("decided_by") == "policy_rule")
    assert (by_rule["recommended_decision"] == by_rule["policy_decision"]).all()
    assert by_rule["policy_rule"].null_count() == 0


def test_a_rule_decision_joins_the_manual_review_order():
    """A low PD would approve; the unverified identity sends it to review, and reviews are numbered first."""
    out = build_review_queue(
        applications({"identity_verified": False, "pd": 0.01}, {"pd": 0.01}), ScoreParams(), as_of=AS_OF
    )
    rows = out.select("application_id", "recommended_decision", "decided_by", "policy_rule", "review_order").rows()
    assert rows == [
        ("a1", "manual_review", "policy_rule", "identity_not_verified", 1),
        ("a2", "approved", "model", None, None),
    ]


def test_a_rule_never_softens_a_pd_decline():
    """A rule's manual review on an application the PD declines leaves it declined, decided by the model;
    a rule's decline on a PD approval declines it."""
    out = build_review_queue(
        applications(
            {"identity_verified": False, "pd": 0.6},
            {"income_verified": False, "requested_amount": 50_000.0, "pd": 0.3},
            {"other_active_loans": 9, "pd": 0.01},
        ),
        ScoreParams(),
        as_of=AS_OF,
    ).sort("application_id")
    assert out.select("policy_rule", "recommended_decision", "decided_by").rows() == [
        ("identity_not_verified", "declined", "model"),
        ("income_not_verified_above", "declined", "model"),
        ("too_many_online_loans", "declined", "policy_rule"),
    ]


def test_the_deciding_rule_is_the_first_reason_and_the_models_follow():
    queue = build_review_queue(
        applications({"identity_verified": False}, {"pd": 0.3}, {"identity_verified": False, "pd": 0.3}),
        ScoreParams(),
        as_of=AS_OF,
    ).with_columns(
        reason_codes=pl.lit(["R_DEBT_TO_INCOME"]),
        reasons_en=pl.lit(["High debt to income"]),
        reasons_zh=pl.lit(["负债收入比高"]),
    )
    out = with_policy_reasons(queue).sort("application_id")
    assert out["reason_codes"].to_list() == [
        ["P_IDENTITY_NOT_VERIFIED", "R_DEBT_TO_INCOME"],
        ["R_DEBT_TO_INCOME"],  # the model decided: its reasons only
        ["R_DEBT_TO_INCOME"],  # a rule hit, but the PD's decline decided
    ]
    assert out["reasons_zh"][0].to_list() == ["实名认证未通过，认证通过前不得放款", "负债收入比高"]
    assert out["reasons_en"][0][0].startswith("Identity verification has not passed")


def test_every_rule_has_one_code_and_text_in_both_languages():
    assert [r.name for r in RULES] == list(PolicyRule)
    assert [r.code for r in RULES] == [f"P_{r.name.value.upper()}" for r in RULES]
    assert all(r.reason_en and r.reason_zh for r in RULES)
    assert set(PolicyDecision) == set(REVIEW_RULE_DECISIONS)


def _book(*, listed_on: dt.date | None, observed_on: dt.date) -> dict[str, pl.DataFrame]:
    return {
        "loans": pl.DataFrame({"loan_id": ["l1"], "borrower_id": ["b1"]}),
        "legal_cases": pl.DataFrame(
            {"loan_id": ["l1"], "dishonest_debtor_listed": [listed_on is not None], "listed_on": [listed_on]},
            schema_overrides={"listed_on": pl.Date},
        ),
        "borrower_profiles": pl.DataFrame(
            {
                "borrower_id": ["b1", "b1"],
                "observed_on": [observed_on, observed_on - dt.timedelta(days=30)],
                "other_platform_loans": [6, 1],
            }
        ),
    }


def test_the_case_tables_tell_what_was_known_at_as_of():
    """A listing and a bureau count on or before as_of count; a listing after it does not."""
    pending = pl.DataFrame({"application_id": ["a1", "a2"], "borrower_id": ["b1", "b2"]})
    known = review_facts(_book(listed_on=AS_OF, observed_on=AS_OF), pending, RULE_PARAMS, as_of=AS_OF)
    assert known.select("dishonest_debtor_listed", "other_platform_loans").rows() == [(True, 6), (False, None)]
    later = review_facts(
        _book(listed_on=AS_OF + dt.timedelta(days=1), observed_on=AS_OF + dt.timedelta(days=1)),
        pending,
        RULE_PARAMS,
        as_of=AS_OF,
    )
    assert later.select("dishonest_debtor_listed", "other_platform_loans").rows() == [(False, 1), (False, None)]


@pytest.mark.parametrize(("days_before", "count"), [(90, 6), (91, None)])
def test_a_stale_bureau_count_is_not_a_current_one(days_before, count):
    """A count observed at most other_loans_max_age_days (90) before as_of is used; an older one is not."""
    observed = AS_OF - dt.timedelta(days=days_before)
    pending = pl.DataFrame({"application_id": ["a1"], "borrower_id": ["b1"]})
    facts = review_facts(_book(listed_on=None, observed_on=observed), pending, RULE_PARAMS, as_of=AS_OF)
    assert facts.select("dishonest_debtor_listed", "other_platform_loans").rows() == [(False, count)]


def test_without_the_case_tables_the_facts_are_unknown_and_the_rules_say_so():
    pending = applications({"dishonest_debtor_listed": None, "other_platform_loans": None}).drop(
        "dishonest_debtor_listed", "other_platform_loans"
    )
    loans_only = {"loans": pl.DataFrame({"loan_id": ["l1"], "borrower_id": ["b1"]})}
    facts = review_facts(loans_only, pending, RULE_PARAMS, as_of=AS_OF)
    out = apply_review_rules(facts, RULE_PARAMS)
    assert out["policy_rule"].to_list() == [None]
    assert out["policy_not_checked"].to_list() == [["blacklist_match", "too_many_online_loans"]]


def _write(tmp_path: Path, review_rules_block: dict) -> Path:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    raw["score"]["review_rules"] = {**raw["score"]["review_rules"], **review_rules_block}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_the_committed_review_rules_are_the_defaults():
    assert load_params(ROOT / "params.yaml").score.review_rules == ReviewRuleParams()


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"min_agee": 18}, r"score\.review_rules\.min_agee"),
        ({"identity_not_verified_decision": "approved"}, r"score\.review_rules\.identity_not_verified_decision"),
        ({"too_many_online_loans_decision": "decline"}, r"score\.review_rules\.too_many_online_loans_decision"),
        ({"min_age": 16}, r"score\.review_rules\.min_age: must be between 18"),
        ({"max_age": 17}, r"score\.review_rules\.max_age"),
        ({"max_other_loans": "four"}, r"score\.review_rules\.max_other_loans: expected an integer"),
        ({"other_loans_max_age_days": 0}, r"score\.review_rules\.other_loans_max_age_days"),
    ],
)
def test_a_typo_or_a_bad_value_in_review_rules_is_refused_by_its_full_key(tmp_path, block, message):
    with pytest.raises(ConfigError, match=message):
        load_params(_write(tmp_path, block))


def test_the_module_example_runs():
    assert doctest.testmod(review_rules, raise_on_error=False).failed == 0
