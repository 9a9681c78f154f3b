"""The scorecard's bins: optimal (optbinning), monotone where the business expects it, with missing and
special bins, and the same bins wherever the card is served (Python, SQL, model card)."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from risk.config import ScorecardParams
from risk.exceptions import ConfigError
from risk.models.export_sql import scorecard_sql
from risk.models.scorecard import MISSING, SPECIAL, Scorecard, WoeBinner


def _bureau_book(n: int = 6000, seed: int = 7) -> tuple[pd.DataFrame, np.ndarray]:
    """Income lowers the risk, inquiries raise it, with noise that makes a quantile binner non-monotone;
    -1 inquiries means "no bureau record" (riskier than any count), and a tenth of incomes are missing."""
    rng = np.random.default_rng(seed)
    income = rng.lognormal(8.5, 0.6, n)
    inquiries = rng.poisson(2.0, n).astype(float)
    no_record = rng.random(n) < 0.08
    logit = -1.6 - 0.8 * np.log(income / 5000) + 0.25 * inquiries + 1.2 * no_record
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    inquiries[no_record] = -1.0
    income[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame({"monthly_income": income, "credit_inquiries_6m": inquiries}), y


def _numeric_rows(binner: WoeBinner, feature: str) -> list[dict]:
    return [r for r in binner.table_ if r["feature"] == feature and r["bin"] not in (MISSING, SPECIAL)]


def test_optimal_bins_keep_the_bad_rate_monotone_in_the_expected_direction():
    X, y = _bureau_book()
    binner = WoeBinner(
        max_bins=6,
        monotone={"monthly_income": -1, "credit_inquiries_6m": +1},
        special_codes={"credit_inquiries_6m": [-1.0]},
    ).fit(X, y)
    income = [r["bad_rate"] for r in _numeric_rows(binner, "monthly_income")]
    inquiries = [r["bad_rate"] for r in _numeric_rows(binner, "credit_inquiries_6m")]
    assert len(income) >= 3 and np.all(np.diff(income) < 0), income
    assert len(inquiries) >= 2 and np.all(np.diff(inquiries) > 0), inquiries
    assert binner.trend_ == {"monthly_income": "descending", "credit_inquiries_6m": "ascending"}


def test_every_bin_holds_at_least_the_minimum_share_and_at_most_max_bins():
    X, y = _bureau_book()
    binner = WoeBinner(max_bins=4, min_bin_share=0.1, monotone={"monthly_income": -1}).fit(X, y)
    rows = _numeric_rows(binner, "monthly_income")
    assert len(rows) <= 4
    assert min(r["n"] for r in rows) >= 0.1 * X["monthly_income"].notna().sum()


def test_missing_and_special_values_get_their_own_bins_and_weights():
    X, y = _bureau_book()
    binner = WoeBinner(special_codes={"credit_inquiries_6m": [-1.0]}, monotone={"credit_inquiries_6m": 1}).fit(X, y)
    labels = binner.labels(X)
    assert (labels["monthly_income"] == MISSING).sum() == X["monthly_income"].isna().sum()
    assert (labels["credit_inquiries_6m"] == SPECIAL).sum() == (X["credit_inquiries_6m"] == -1).sum()
    # no record is riskier than any count: its WOE is below every numeric bin's
    woe = binner.woe_["credit_inquiries_6m"]
    assert woe[SPECIAL] < min(w for b, w in woe.items() if b not in (SPECIAL, MISSING))
    # a special code never lands in the lowest numeric bin
    assert not np.isin(binner.edges_["credit_inquiries_6m"], [-1.0]).any()


def test_quantile_binning_stays_available_as_the_baseline_and_unknown_methods_are_refused():
    X, y = _bureau_book()
    quantile = WoeBinner(binning="quantile", max_bins=6).fit(X, y)
    assert quantile.trend_["monthly_income"] == "quantile"
    assert len(quantile.edges_["monthly_income"]) == 5
    with pytest.raises(ValueError, match="binning must be one of optimal, quantile"):
        WoeBinner(binning="chimerge").fit(X, y)
    with pytest.raises(ConfigError, match="train.scorecard.binning"):
        ScorecardParams(binning="chimerge")
    with pytest.raises(ConfigError, match="min_bin_share"):
        ScorecardParams(min_bin_share=0.7)


def test_information_value_sums_the_bins_and_ranks_the_stronger_feature_first():
    X, y = _bureau_book()
    binner = WoeBinner(monotone={"monthly_income": -1, "credit_inquiries_6m": 1}).fit(X, y)
    iv = binner.information_value()
    income_bins = [r["iv"] for r in binner.table_ if r["feature"] == "monthly_income"]
    assert iv["monthly_income"] == pytest.approx(sum(income_bins))
    assert all(v > 0.02 for v in iv.values())


def test_the_sql_export_scores_special_codes_as_python_does():
    X, y = _bureau_book(n=3000)
    card = Scorecard(
        monotone={"monthly_income": -1, "credit_inquiries_6m": 1}, special_codes={"credit_inquiries_6m": [-1.0]}
    ).fit(X, y)
    sql = scorecard_sql(card, table="applications", dialect="duckdb")
    frame = X.assign(application_id=[f"A{i}" for i in range(len(X))])
    con = duckdb.connect()
    con.register("applications", frame)
    got = con.execute(sql).df().set_index("application_id").loc[frame["application_id"]]
    np.testing.assert_allclose(got["points"].to_numpy(), card.points(X), atol=1e-9)
    assert "IN (" in sql and "special" in sql


def test_a_rare_flag_keeps_its_own_bin_below_the_minimum_share():
    """3.5% unverified identities are a bin of their own: the minimum share is for cutting ranges, not flags."""
    X, y = _bureau_book()
    rng = np.random.default_rng(3)
    unverified = rng.random(len(X)) < 0.035
    y = np.where(unverified & (rng.random(len(X)) < 0.5), 1, y)
    X = X.assign(identity_verified=np.where(unverified, 0.0, 1.0))
    binner = WoeBinner(min_bin_share=0.05).fit(X, y)
    assert binner.trend_["identity_verified"] == "flag"
    woe = binner.woe_["identity_verified"]
    assert len(woe) == 2 and min(woe.values()) < -0.5
