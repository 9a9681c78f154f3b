"""Litigation priced as the law awards the claim and as the book's own closed cases recovered."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from risk.config import LegalParams
from risk.policy.court import RecoveryModel, claim, fit_recovery, recovery_cells

LEGAL = LegalParams(court_fee_fixed=300.0, court_fee_rate=0.02, lawyer_fee=1500.0, annual_discount_rate=0.12)


def test_a_claim_by_hand_is_principal_plus_interest_at_the_capped_rate():
    loans = pl.DataFrame(
        {"outstanding_principal": [10_000.0, 10_000.0], "annual_rate": [0.36, 0.18], "days_past_due": [73, 73]}
    )
    got = loans.select(claim(loans, rate_cap=0.24))["outstanding_principal"].to_list()
    # 36% is above what courts support: 24% for 73 days is 4.8%; 18% stands: 3.6%; no arrears added twice
    assert got == pytest.approx([10_480.0, 10_360.0])


def test_a_suits_net_value_by_hand():
    loan = pl.DataFrame(
        {
            "outstanding_principal": [10_000.0],
            "annual_rate": [0.24],
            "days_past_due": [365],
            "property_owned": [None],
            "social_insurance": [None],
        }
    )
    out = (
        RecoveryModel(None, mean_share=0.5, months_to_recovery=12.0)
        .economics(loan, LEGAL, rate_cap=0.24)
        .row(0, named=True)
    )
    assert out["court_claim"] == pytest.approx(12_400.0)
    assert out["litigation_expected_recovery"] == pytest.approx(0.5 * 12_400 / 1.12)
    assert out["litigation_cost"] == pytest.approx(300 + 0.02 * 12_400 + 1500)
    assert out["litigation_net_value"] == pytest.approx(0.5 * 12_400 / 1.12 - (300 + 248 + 1500))


def closed(n: int, seed: int = 0) -> pl.DataFrame:
    """Closed judged cases where a borrower with property recovers 70% of the claim and one without 10%."""
    rng = np.random.default_rng(seed)
    owns = rng.random(n) < 0.4
    share = np.clip(np.where(owns, 0.7, 0.1) + rng.normal(0, 0.05, n), 0, 1)
    return pl.DataFrame(
        {
            "case_id": [f"J{i}" for i in range(n)],
            "property_owned": owns,
            "vehicle_owned": rng.random(n) < 0.2,
            "social_insurance": rng.random(n) < 0.5,
            "other_platform_loans": rng.integers(0, 4, n),
            "monthly_income": rng.uniform(3000, 9000, n),
            "existing_debt": rng.uniform(0, 20000, n),
            "claim": rng.uniform(5000, 20000, n),
            "principal": rng.uniform(5000, 20000, n),
            "recovered_share": share,
            "months_to_recovery": rng.uniform(6, 12, n),
        }
    )


def test_recovery_is_learned_from_the_closed_cases_and_calibrated_by_decile():
    model, figures = fit_recovery(closed(600), seed=1)
    probe = closed(200, seed=9)
    share = model.share(probe)
    owns = probe["property_owned"].to_numpy()
    assert share[owns].mean() == pytest.approx(0.7, abs=0.05)
    assert share[~owns].mean() == pytest.approx(0.1, abs=0.05)
    assert figures["deciles_within_5_points"] >= 8
    # the interval is the observed mean's sampling error alone; a cross-validated prediction carries its own
    # too, so a calibrated model has about 8 of 10 deciles inside (5 to 10 over 40 books like this one)
    assert figures["deciles_within_interval"] >= 6
    for decile in figures["calibration_by_decile"]:
        assert decile["observed_low"] <= decile["observed"] <= decile["observed_high"], decile
    assert 6 <= figures["median_months_to_recovery"] <= 12


def test_a_cells_share_is_its_cases_mean_weighted_by_its_credibility_by_hand():
    """Two cases with property recovered 0.9 and 0.5, three without 0.0, 0.1 and 0.2: the book's mean is 0.34."""
    cases = pl.DataFrame(
        {
            "property_owned": [True, True, False, False, False],
            "social_insurance": [False] * 5,
            "recovered_share": [0.9, 0.5, 0.0, 0.1, 0.2],
        }
    )
    cells = recovery_cells(cases)
    # a case's share varies within its cell by (0.08 + 0.02) / (5 - 2), the cells' true means (0.7 and 0.1
    # observed) by (2 * 0.36² + 3 * 0.24² - 1/30) / (5 - 13/5): the book's mean counts as k = 0.2 cases a cell
    k = (0.1 / 3) / ((2 * 0.36**2 + 3 * 0.24**2 - 0.1 / 3) / 2.4)
    with_property = (2 * 0.7 + k * 0.34) / (2 + k)
    without = (3 * 0.1 + k * 0.34) / (3 + k)
    assert cells["cases"].to_list() == [3, 2]
    assert cells["share"].to_list() == pytest.approx([without, with_property])
    model = RecoveryModel(cells, mean_share=0.34, months_to_recovery=9.0)
    borrowers = pl.DataFrame({"property_owned": [True, False, None], "social_insurance": [False, False, True]})
    # the third borrower's property is unknown: no closed case had that cell, so the book's mean
    assert model.share(borrowers).tolist() == pytest.approx([with_property, without, 0.34])


def test_cells_that_differ_by_no_more_than_their_noise_all_get_the_books_mean():
    cases = pl.DataFrame(
        {
            "property_owned": [True, True, False, False],
            "social_insurance": [False] * 4,
            "recovered_share": [0.1, 0.9, 0.0, 0.8],
        }
    )
    # means 0.4 and 0.5, but a case's share varies by 0.32 (a variance) within its cell: the difference is noise
    assert recovery_cells(cases)["share"].to_list() == pytest.approx([0.45, 0.45])


def test_the_calibration_figures_do_not_depend_on_the_order_of_the_cases():
    """Tied predictions (one per cell) split into deciles by case id, not by the order the cases came in."""
    cases = closed(300)
    _, figures = fit_recovery(cases, seed=1)
    _, shuffled = fit_recovery(cases.sample(fraction=1.0, shuffle=True, seed=2), seed=1)
    assert shuffled == figures


def test_too_few_closed_cases_fall_back_to_the_books_mean_share():
    model, figures = fit_recovery(closed(10), seed=1)
    assert model.cells is None and "fewer than" in figures["note"]
    assert model.share(closed(3)).tolist() == pytest.approx([model.mean_share] * 3)
