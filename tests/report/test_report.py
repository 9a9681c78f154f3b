"""The report: portfolio measures on tiny books with known answers, and the rendered page."""

import dataclasses
import datetime as dt
import re

import numpy as np
import polars as pl
import pytest
from tests.books import LoanSpec, book, pay_on_schedule

from risk.config import FeatureParams
from risk.features import build_features
from risk.features.build import month_ends
from risk.models import metrics
from risk.models.model import LIGHTGBM, SCORECARD
from risk.report import portfolio, render_report
from risk.report.html import APPLICATION_ONLY_NOTE, NO_QUEUES_NOTE
from risk.report.model_results import ModelResults

D = dt.date
T = dt.datetime
AS_OF = D(2024, 12, 31)


def _snapshots(tables, data_as_of=AS_OF):
    dates = month_ends(D(2024, 1, 1), data_as_of)
    fs = build_features(tables, FeatureParams(), data_as_of=data_as_of, as_of_dates=dates)
    return fs.loan_snapshots.select("loan_id", "as_of", "days_past_due")


def _stops_after_first(loan_id="BAD"):
    """Originated 2024-01-15; pays the first instalment (due 02-15) on time, then nothing."""
    return pay_on_schedule(LoanSpec(loan_id, D(2024, 1, 15)), through=1)


def test_loan_missing_its_second_instalment_rolls_m1_then_m2_then_m3():
    """Second instalment due 03-15 unpaid: M1 at end of March, M2 at end of April, M3 at end of May."""
    tables = book(_stops_after_first(), pay_on_schedule(LoanSpec("GOOD", D(2024, 1, 15))))
    snaps = _snapshots(tables, D(2024, 5, 31))
    bad = snaps.filter(pl.col("loan_id") == "BAD").sort("as_of")
    assert bad.select(portfolio.dpd_bucket())["bucket"].to_list() == ["current", "current", "M1", "M2", "M3"]
    matrix = portfolio.roll_rates(snaps, last_months=None).to_dicts()
    rows = {r["from"]: r for r in matrix}
    assert rows["M1"]["M2"] == 1.0 and rows["M1"]["loans"] == 1
    assert rows["M2"]["M3"] == 1.0
    # current -> current 6 times (GOOD Jan-Apr transitions, BAD Jan and Feb), current -> M1 once
    assert rows["current"]["loans"] == 6
    assert rows["current"]["M1"] == pytest.approx(1 / 6)
    assert rows["M3+"]["loans"] == 0


def test_paid_off_loan_rolls_to_settled():
    """A 2-instalment loan paid on schedule leaves the book: current -> settled (in March)."""
    tables = book(
        pay_on_schedule(LoanSpec("S", D(2024, 1, 10), term=2)),
        pay_on_schedule(LoanSpec("LONG", D(2024, 1, 10), term=12)),
    )
    snaps = _snapshots(tables, D(2024, 4, 30))
    moves = portfolio.roll_rates(snaps.filter(pl.col("loan_id") == "S"), last_months=None)
    assert moves.filter(pl.col("from") == "current")["loans"].item() == 1  # Jan -> Feb only: March is not observed
    current = portfolio.roll_rates(snaps, last_months=None).filter(pl.col("from") == "current").row(0, named=True)
    # S: Jan->Feb current, Feb->Mar settled; LONG: three times current
    assert current["loans"] == 5 and current["settled"] == pytest.approx(0.2) and current["current"] == 0.8


def test_catch_up_payment_is_a_cure_for_its_overdue_type():
    """A loan in M1 at one month end that pays all arrears before the next is cured; a stopper is not."""
    late = LoanSpec("LATE", D(2024, 1, 15))
    late.payments += [(T(2024, 2, 15, 9), 200.0), (T(2024, 4, 10, 9), 400.0), (T(2024, 5, 15, 9), 200.0)]
    tables = book(late, _stops_after_first())
    types = pl.DataFrame({"loan_id": ["LATE", "BAD"], "overdue_type": ["temporary", "insolvent"]})
    cures = portfolio.cure_rates(_snapshots(tables, D(2024, 6, 30)), types, last_months=None)
    m1 = {r["overdue_type"]: r for r in cures.filter(pl.col("from") == "M1").to_dicts()}
    assert m1["temporary"]["cure_rate"] == 1.0 and m1["temporary"]["loans"] == 1
    assert m1["insolvent"]["cure_rate"] == 0.0
    assert m1["all"]["loans"] == 2 and m1["all"]["cure_rate"] == 0.5


def test_vintage_curve_counts_a_loan_from_the_month_it_reached_30_days():
    """First instalment due 02-01 never paid: 30 dpd on 03-02, so bad from MOB 3 (ends 04-01), not MOB 2."""
    tables = book(LoanSpec("BAD", D(2024, 1, 1)), pay_on_schedule(LoanSpec("GOOD", D(2024, 1, 1))))
    outcomes = portfolio.loan_outcomes(tables, as_of=D(2024, 5, 15))
    curves = portfolio.vintage_curves(outcomes, as_of=D(2024, 5, 15))
    assert curves["vintage"].unique().to_list() == ["2024Q1"]
    assert curves.sort("months_on_book")["rate"].to_list() == [0.0, 0.0, 0.5, 0.5]  # MOB 5 not reached yet
    assert outcomes.filter(pl.col("loan_id") == "BAD")["fpd30"].item() is True


def test_vintage_waits_until_its_youngest_loan_reached_the_month():
    tables = book(pay_on_schedule(LoanSpec("A", D(2024, 1, 5))), pay_on_schedule(LoanSpec("B", D(2024, 3, 20))))
    curves = portfolio.vintage_curves(portfolio.loan_outcomes(tables, as_of=D(2024, 6, 30)), as_of=D(2024, 6, 30))
    assert curves["months_on_book"].max() == 3  # 03-20 + 3 months = 06-20 <= 06-30 < 07-20


def test_summary_counts_prepayment_fpd_and_90_plus_on_balance():
    early = pay_on_schedule(LoanSpec("EARLY", D(2024, 1, 1)), through=2)
    early.payments.append((T(2024, 3, 10, 9), 800.0))  # settles 4 months ahead of maturity
    stopper = LoanSpec("FPD", D(2024, 8, 1), principal=600.0)  # never pays
    good = pay_on_schedule(LoanSpec("GOOD", D(2024, 6, 1), principal=600.0, term=12), through=6)
    outcomes = portfolio.loan_outcomes(book(early, stopper, good), as_of=AS_OF)
    s = portfolio.portfolio_summary(outcomes, as_of=AS_OF)
    assert s["prepayment_share"] == pytest.approx(1 / 3)
    assert s["fpd30"] == pytest.approx(1 / 3)
    # FPD: 600 outstanding, 121 dpd (91-180); GOOD: 300 outstanding, current
    assert s["balance"] == pytest.approx(900.0)
    assert s["dpd90_on_balance"] == pytest.approx(600.0 / 900.0)
    assert s["active_loans"] == 2


def test_thirty_day_collection_rate_weighs_amounts_repaid_within_30_days():
    """Two loans miss their first instalment; one pays 10 days late, the other never: 50%."""
    late = LoanSpec("LATE", D(2024, 6, 1))
    late.payments.append((T(2024, 7, 11, 9), 200.0))
    never = LoanSpec("NEVER", D(2024, 6, 1))
    rate = portfolio.collection_rate_30d(book(late, never), as_of=D(2024, 8, 15))
    assert rate == pytest.approx(0.5)


def test_funnel_counts_delinquent_loans_reaching_each_ladder_step_or_beyond():
    sms = (T(2024, 2, 5, 10), "sms", "sms", "delivered")
    letter = (T(2024, 3, 20, 10), "lawyers_letter", "letter", "delivered")
    a = LoanSpec("A", D(2024, 1, 1), actions=[sms, letter])
    b = LoanSpec("B", D(2024, 1, 1), actions=[sms])
    c = pay_on_schedule(LoanSpec("C", D(2024, 1, 1)))  # never delinquent: not in the base
    tables = book(a, b, c)
    outcomes = portfolio.loan_outcomes(tables, as_of=D(2024, 6, 30))
    funnel = portfolio.collection_funnel(outcomes, tables["collection_actions"])
    funnel = dict(funnel.select("step", "share").iter_rows())
    assert funnel == {
        "delinquent (1+ dpd)": 1.0,
        "reminder": 1.0,
        "negotiation": 0.5,
        "lawyers_letter": 0.5,
        "litigation": 0.0,
        "enforcement": 0.0,
    }


def test_bad_rates_by_segment_only_count_loans_with_twelve_months_on_book():
    tables = book(
        LoanSpec("OLD_BAD", D(2023, 1, 1)),
        pay_on_schedule(LoanSpec("OLD_GOOD", D(2023, 1, 1))),
        LoanSpec("YOUNG_BAD", D(2024, 6, 1)),
    )
    seg = portfolio.bad_rates_by_segment(portfolio.loan_outcomes(tables, as_of=AS_OF), as_of=AS_OF)
    assert seg.select("loans", "bad_rate").row(0) == (2, 0.5)


# --- the rendered page --------------------------------------------------------------------------------
def _model_results(book_tables, features) -> list[ModelResults]:
    """Results shaped like evaluate's outputs, from the truth table's PD as a stand-in score."""
    apps = features.application_snapshots.filter(pl.col("default_12m").is_not_null())
    frame = apps.join(book_tables["truth"].select("application_id", "true_pd"), on="application_id")
    y, p = frame["default_12m"].to_numpy().astype(int), frame["true_pd"].to_numpy()
    rng = np.random.default_rng(0)
    noisy = np.clip(p + rng.normal(0, 0.02, len(p)), 1e-4, 1)
    half = len(p) // 2
    summary = {
        "champion": LIGHTGBM,
        "oracle": {"auc": metrics.safe_auc(y, p)},
        LIGHTGBM: metrics.binary_report(y, p, reference=p[:half]),
        SCORECARD: metrics.binary_report(y, noisy, reference=noisy[:half]),
    }
    vintage = frame.select(pl.format("{}Q{}", pl.col("as_of").dt.year(), pl.col("as_of").dt.quarter())).to_series()
    scores = pl.concat(
        [
            pl.DataFrame({"kind": kind, "sample": sample, "probability": q[sl], "label": y[sl], "vintage": vintage[sl]})
            for kind, q in ((LIGHTGBM, p), (SCORECARD, noisy))
            for sample, sl in (("train", slice(0, half)), ("test", slice(half, None)))
        ]
    )
    return [
        ModelResults(
            "pd",
            "risk-pd — application PD",
            summary,
            roc={LIGHTGBM: metrics.roc_points(y, p), SCORECARD: metrics.roc_points(y, noisy)},
            calibration={LIGHTGBM: metrics.calibration_table(y, p), SCORECARD: metrics.calibration_table(y, noisy)},
            ks=metrics.ks_points(y, p),
            scores=scores,
        )
    ]


def _queues(loans: pl.DataFrame) -> dict[str, pl.DataFrame]:
    ids = loans["loan_id"].head(6).to_list()
    cq = pl.DataFrame(
        {
            "loan_id": ids,
            "overdue_type": [None, "temporary", "temporary", "severe", "malicious", "insolvent"],
            "next_action": ["sms", "sms", "call", "instalment_plan", "lawyers_letter", "settlement"],
            "scheduled": [True, True, True, False, True, False],
            "legal_referral": [False, False, False, True, True, True],
            "legal_criteria": [
                [],
                [],
                [],
                ["overdue_beyond_contract_max"],
                ["fraud_or_malicious_evasion", "refuses_to_communicate"],
                ["overdue_beyond_contract_max"],
            ],
            "exposure": [1000.0, 2000.0, 1500.0, 3000.0, 5000.0, 800.0],
            "litigation_net_value": [None, None, None, -100.0, 900.0, -50.0],
            "expected_value": [5.0, 20.0, 35.0, 60.0, 300.0, -10.0],
        }
    )
    rq = pl.DataFrame(
        {
            "risk_grade": ["A", "C", "E"],
            "recommended_decision": ["approved", "manual_review", "declined"],
            "pd": [0.01, 0.09, 0.4],
            "requested_amount": [3000.0, 5000.0, 8000.0],
            "expected_loss": [19.5, 292.5, 2080.0],
        }
    )
    return {"collections_queue": cq, "review_queue": rq}


def _self_contained_images(page: str) -> list[str]:
    """Every image is a data: URI, links are in-page anchors, nothing is fetched; the images' sources."""
    images = re.findall(r"<img [^>]*src=\"([^\"]*)\"", page)
    assert all(src.startswith("data:image/png;base64,") for src in images)
    assert not re.search(r"(src|href)=\"(?!data:|#)", page), "only data URIs and in-page anchors"
    assert not re.search(r"https?://", page)
    assert "<script" not in page and "<link" not in page
    return images


def test_report_is_one_self_contained_page_with_every_section(small_book, small_features):
    """Eight h2 sections, numbered in order; every image is a data: URI; nothing is fetched from the network."""
    as_of = small_features.loan_snapshots["as_of"].max()
    snapshots = small_features.loan_snapshots.select("loan_id", "as_of", "days_past_due")
    page = render_report(
        small_book,
        snapshots,
        _model_results(small_book, small_features),
        _queues(small_book["loans"]),
        as_of=as_of,
        shock=(D(2024, 4, 1), D(2024, 9, 30)),
    )
    headings = re.findall(r"<h2>(.*?)</h2>", page)
    assert [h.split(" ", 1)[1].split(" ")[0] for h in headings] == [
        "Portfolio",
        "Vintage",
        "Roll",
        "Models",
        "Queues",
        "Collections",
        "Agreements",
        "Legal",
    ]
    assert [h.split(".", 1)[0] for h in headings] == [str(i) for i in range(1, 9)]
    assert len(_self_contained_images(page)) == 8  # the agreements chart; no court-recovery figures given
    for text in (
        "90+ dpd on balance",
        "FPD30",
        "capture@10%",
        "oracle (simulator truth)",
        "Legal referrals by criterion",
        "fraud_or_malicious_evasion",
        "manual review",
    ):
        assert text in page


def test_application_only_report_notes_missing_history_and_still_shows_the_pd_model(small_book, small_features):
    """Applications and outcomes only (no loans, schedule, repayments, actions, snapshots or queues; one PD
    model split at random): every loan-book section says why it is empty and the PD section renders fully."""
    empty = ("loans", "schedule", "repayments", "collection_actions")
    tables = {k: (v.clear() if k in empty else v) for k, v in small_book.items() if k != "truth"}
    tables["outcomes"] = pl.DataFrame(
        {
            "application_id": tables["applications"]["application_id"].head(100),
            "default_flag": pl.Series([0, 1] * 50, dtype=pl.Int8),
        }
    )
    snapshots = small_features.loan_snapshots.select("loan_id", "as_of", "days_past_due").clear()
    pd_result = _model_results(small_book, small_features)[0]
    pd_result = dataclasses.replace(
        pd_result,
        windows={"train": ("random", "60%"), "valid": ("random", "20%"), "test": ("random", "20%")},
        scores=pd_result.scores.with_columns(vintage=pl.lit(None, dtype=pl.String)),
    )
    page = render_report(tables, snapshots, [pd_result], {}, as_of=AS_OF)  # application-only: inferred
    assert re.findall(r"<h2>(.*?)</h2>", page)[3] == "4. Models"
    assert page.count(APPLICATION_ONLY_NOTE) >= 3  # overview, vintages, roll rates (and the other models)
    assert NO_QUEUES_NOTE in page
    assert "Split at random (train 60% / valid 20% / test 20%), not out of time" in page
    assert "risk-pd" in page and "capture@10%" in page and "defaulted (source&#x27;s final outcome)" in page
    assert "50.0%" in page
    assert len(_self_contained_images(page)) == 1  # the PD model's four panels, no portfolio charts


def test_the_policy_section_prices_every_strategy_and_shows_the_type_confusion(small_book, small_features):
    policy = {
        "scheduled": 12,
        "lawful_violations": 0,
        "learned_share_of_oracle": 0.9,
        "learned_share_of_oracle_gain": 0.8,
        "learned_over_rules": 1.7,
        "strategies": {
            s: {"actions": 3, "recovered": v + 10.0, "cost": 10.0, "net": v, "over_nothing": v - 50.0}
            for s, v in (("learned", 90.0), ("rules", 60.0), ("random", 55.0), ("oracle", 100.0))
        },
        "capacity_curve": [
            {
                "capacity_factor": 1.0,
                "contacts": {"learned": 3, "rules": 2, "oracle": 3},
                "net": {"learned": 90.0, "rules": 60.0, "oracle": 100.0},
            }
        ],
        "overdue_type": {
            "learned": {
                "n": 4,
                "accuracy": 0.75,
                "recall": {"temporary": 1.0, "malicious": 1.0, "severe": 0.0, "insolvent": 1.0},
                "confusion": {
                    t: {p: int(t == p) for p in ("temporary", "malicious", "severe", "insolvent")}
                    for t in ("temporary", "malicious", "severe", "insolvent")
                },
            },
            "rules": {"n": 4, "accuracy": 0.5, "recall": {}},
        },
    }
    page = render_report(
        small_book,
        small_features.loan_snapshots.select("loan_id", "as_of", "days_past_due"),
        [],
        {},
        as_of=small_features.loan_snapshots["as_of"].max(),
        policy=policy,
    )
    section = page[page.index('id="policy"') :]
    for text in (
        "learned / oracle (net)",
        "90%",
        "oracle",
        "random",
        "Capacity curve",
        "accuracy 75.0% learned, 50.0% rules",
    ):
        assert text in section, text
