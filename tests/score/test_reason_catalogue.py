"""Every feature a model uses has one reason code with English and Chinese text, and scoring says so by name
when one does not."""

from __future__ import annotations

import re

import numpy as np
import polars as pl
import pytest

from risk.docs import reason_codes_md
from risk.exceptions import RiskDataError
from risk.features.catalogue import (
    CURE,
    EW,
    FEATURES,
    MODEL_FEATURES,
    PD,
    REASON_CATALOGUE_VERSION,
    reason_catalogue,
)
from risk.models.calibration import Calibrator
from risk.models.model import SCORECARD, RiskModel
from risk.models.train import SPECS
from risk.score.reasons import top_reasons

CATALOGUE = reason_catalogue()
BY_FEATURE = {r["feature"]: r for r in CATALOGUE.iter_rows(named=True)}
HAN = re.compile(r"[\u4e00-\u9fff]")

USED = sorted(
    {(m, f) for m in (PD, EW, CURE) for f in MODEL_FEATURES[m]}
    | {(name, f) for name, spec in SPECS.items() for f in spec.features}
)


@pytest.mark.parametrize(("model", "feature"), USED, ids=[f"{m}-{f}" for m, f in USED])
def test_every_feature_a_model_uses_has_an_entry_with_english_and_chinese_text(model: str, feature: str) -> None:
    entry = BY_FEATURE.get(feature)
    assert entry is not None, f"{model} uses {feature}, which the reason catalogue lacks"
    assert entry["reason_en"].strip() and not HAN.search(entry["reason_en"]), entry["reason_en"]
    assert HAN.search(entry["reason_zh"]), entry["reason_zh"]


def test_codes_are_unique_and_derived_from_the_feature_name() -> None:
    assert CATALOGUE["code"].is_unique().all()
    assert CATALOGUE["code"].to_list() == ["R_" + f.upper() for f in CATALOGUE["feature"]]


@pytest.mark.parametrize("feature", FEATURES, ids=lambda f: f.name)
def test_direction_follows_the_feature_risk(feature) -> None:
    expected = {+1: "raises", -1: "lowers", 0: "either"}[feature.risk]
    assert BY_FEATURE[feature.name]["direction"] == expected


def test_catalogue_has_one_row_per_feature_and_carries_its_version() -> None:
    assert CATALOGUE.columns == [
        "code",
        "feature",
        "family",
        "direction",
        "models",
        "reason_en",
        "reason_zh",
        "version",
    ]
    assert CATALOGUE.height == len(FEATURES)
    assert CATALOGUE["version"].unique().to_list() == [REASON_CATALOGUE_VERSION]


class _FixedContributions:
    """A scorecard stand-in whose every feature pushes every row's risk up, in declared order."""

    def __init__(self, n_features: int) -> None:
        self.n_features = n_features

    def contributions(self, X) -> np.ndarray:
        return np.tile(np.arange(self.n_features, 0, -1, dtype=float), (len(X), 1))


def _model(features: list[str]) -> RiskModel:
    return RiskModel("pd", SCORECARD, "default_12m", features, _FixedContributions(len(features)), Calibrator())


def test_reasons_come_from_the_catalogue() -> None:
    frame = pl.DataFrame({"days_past_due": [12.0], "monthly_income": [3000.0]})
    out = top_reasons(_model(["days_past_due", "monthly_income"]), frame, n=2)
    assert out.row(0) == (
        ["R_DAYS_PAST_DUE", "R_MONTHLY_INCOME"],
        [BY_FEATURE["days_past_due"]["reason_en"], BY_FEATURE["monthly_income"]["reason_en"]],
        [BY_FEATURE["days_past_due"]["reason_zh"], BY_FEATURE["monthly_income"]["reason_zh"]],
    )


class _GivenContributions:
    """A scorecard stand-in returning the contributions it was given."""

    def __init__(self, contributions: np.ndarray) -> None:
        self.given = contributions

    def contributions(self, X) -> np.ndarray:
        return self.given


@pytest.mark.parametrize("n", [1, 3, 9], ids=["top-1", "top-3", "more-than-features"])
@pytest.mark.parametrize("sign", [+1, -1], ids=["bad-label", "good-label"])
def test_each_row_gets_its_features_raising_the_risk_most_first_ties_in_feature_order(n: int, sign: int) -> None:
    features = ["days_past_due", "monthly_income", "contacts_7d", "arrears_amount", "promises_90d"]
    rng = np.random.default_rng(5)
    # few distinct values, so ties, zeros and rows with nothing raising the risk are common; one NaN
    given = rng.integers(-2, 3, size=(400, len(features))).astype(float)
    given[7, 2] = np.nan
    frame = pl.DataFrame({f: [0.0] * len(given) for f in features})
    out = top_reasons(
        RiskModel("pd", SCORECARD, "default_12m", features, _GivenContributions(given), Calibrator()),
        frame,
        n=n,
        sign=sign,
    )
    for row, codes, en, zh in zip(given * sign, out["reason_codes"], out["reasons_en"], out["reasons_zh"], strict=True):
        ranked = sorted(range(len(features)), key=lambda i: (-row[i] if row[i] == row[i] else np.inf, i))
        expected = [features[i] for i in ranked[:n] if row[i] > 0]
        assert codes.to_list() == [BY_FEATURE[f]["code"] for f in expected]
        assert en.to_list() == [BY_FEATURE[f]["reason_en"] for f in expected]
        assert zh.to_list() == [BY_FEATURE[f]["reason_zh"] for f in expected]


@pytest.mark.parametrize("rows", [1, 0], ids=["scored-rows", "empty-frame"])
def test_a_model_feature_missing_from_the_catalogue_is_an_error_by_name(rows: int) -> None:
    """No fallback text: the feature is named, whether or not a row would have picked it."""
    frame = pl.DataFrame({"monthly_income": [3000.0] * rows, "PAY_0": [2.0] * rows})
    with pytest.raises(RiskDataError, match=r"model pd .*no reason-catalogue entry: PAY_0"):
        top_reasons(_model(["monthly_income", "PAY_0"]), frame, n=2)


def test_generated_page_lists_every_code_with_the_version() -> None:
    page = reason_codes_md()
    assert f"**{REASON_CATALOGUE_VERSION}**" in page
    rows = [line for line in page.splitlines() if line.startswith("| `R_")]
    assert [row.split("`")[1] for row in rows] == CATALOGUE["code"].to_list()
