"""The scorecard as one SQL query: DuckDB and Spark give the Python scorecard's points, PD and reason codes
row for row, on rows with NULL, NaN, infinities, values on a bin edge and categories never seen in training."""

from __future__ import annotations

import pickle
import re
import shutil
import struct

import duckdb
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import ROOT
from typer.testing import CliRunner

from risk.cli import app
from risk.contract import Channel
from risk.exceptions import ConfigError, ModelNotFound, RiskDataError, RiskError
from risk.models.calibration import Calibrator
from risk.models.export_sql import DIALECTS, _num, scorecard_sql
from risk.models.model import LIGHTGBM, SCORECARD, RiskModel, to_model_frame
from risk.models.scorecard import MISSING, Scorecard, WoeBinner

FEATURES = ["monthly_income", "credit_inquiries_6m", "channel"]
COLUMNS = ["application_id", *FEATURES]
WEIRD = "agent's \\ desk"  # a category only a correctly escaped literal matches, in either dialect
TRAINED = [Channel.APP_ORGANIC.value, Channel.ONLINE_ADS.value, Channel.OFFLINE_AGENT.value, WEIRD]
UNSEEN = Channel.PARTNER_REFERRAL.value  # in the catalogue, never in training
NAN, INF = float("nan"), float("inf")


def applications(n: int, seed: int) -> pl.DataFrame:
    """Applications with a known default pattern: inquiries matter most, income next, channel least; and the
    gaps a lender's table has (NULL, NaN, +-inf) in every numeric feature and a NULL channel."""
    rng = np.random.default_rng(seed)
    income = rng.lognormal(8.5, 0.5, n)
    inquiries = rng.poisson(2.0, n).astype(float)
    channel = rng.choice(np.array(TRAINED, dtype=object), n)
    logit = -2.2 + 0.9 * np.minimum(inquiries, 6) - 0.8 * np.log(income / 5000) + 0.3 * (channel == TRAINED[1])
    default = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    income_out: list[float | None] = list(income)
    inquiries_out: list[float | None] = list(inquiries)
    channel_out: list[str | None] = list(channel)
    for i in range(0, n, 23):
        income_out[i] = NAN
    for i in range(5, n, 41):
        income_out[i] = None
    for i in range(13, n, 47):
        income_out[i] = INF
    for i in range(17, n, 53):
        inquiries_out[i] = NAN
    for i in range(3, n, 31):
        inquiries_out[i] = INF
    for i in range(7, n, 37):
        inquiries_out[i] = -INF
    for i in range(11, n, 43):
        inquiries_out[i] = None
    for i in range(2, n, 29):
        channel_out[i] = None
    return pl.DataFrame(
        {
            "application_id": list(range(1, n + 1)),
            "monthly_income": income_out,
            "credit_inquiries_6m": inquiries_out,
            "channel": channel_out,
            "default_12m": default,
        },
        schema={
            "application_id": pl.Int64,
            "monthly_income": pl.Float64,
            "credit_inquiries_6m": pl.Float64,
            "channel": pl.String,
            "default_12m": pl.Int64,
        },
    )


@pytest.fixture(scope="module")
def book() -> pl.DataFrame:
    return applications(800, seed=11)


@pytest.fixture(scope="module")
def card(book) -> Scorecard:
    """A bare Scorecard fitted on the raw frame: an unseen category scores WOE 0."""
    y = book["default_12m"].to_numpy()
    return Scorecard(categorical=["channel"]).fit(book.select(FEATURES).to_pandas(), y)


@pytest.fixture(scope="module")
def model(book) -> RiskModel:
    """The PD scorecard as `risk train` wraps it: fitted on the model frame, an unknown code scores as missing."""
    y = book["default_12m"].to_numpy()
    estimator = Scorecard(categorical=["channel"]).fit(to_model_frame(book, FEATURES), y)
    return RiskModel("pd", SCORECARD, "default_12m", list(FEATURES), estimator, Calibrator())


def inside(card: Scorecard, feature: str, label: str) -> float | str | None:
    """A value that falls in ``feature``'s bin ``label``."""
    if label == MISSING:
        return None
    if feature not in card.binner_.edges_:
        return label
    edges = card.binner_.edges_[feature]
    candidates = np.array([edges[0] - 1.0, *edges])  # one value in each bin: edge i opens bin i + 1
    labels = WoeBinner._numeric_labels(candidates, edges)
    return float(candidates[list(labels).index(label)])


def extreme_bin(card: Scorecard, feature: str, *, best: bool, features: list[str] = FEATURES) -> str:
    """The label of the bin where ``feature`` earns most (``best``) or fewest points."""
    coef = dict(zip(features, card.lr_.coef_[0], strict=True))[feature]
    woe = card.binner_.woe_[feature]
    pick = min if best else max  # points fall as coef * woe rises
    return pick(woe, key=lambda label: coef * woe[label])


def scoring_rows(card: Scorecard, book: pl.DataFrame) -> pl.DataFrame:
    """The book plus rows on the edges of the bins' rules, ids from 9001."""
    inc, inq = card.binner_.edges_["monthly_income"], card.binner_.edges_["credit_inquiries_6m"]
    best = {f: inside(card, f, extreme_bin(card, f, best=True)) for f in FEATURES}
    worst = {f: inside(card, f, extreme_bin(card, f, best=False)) for f in FEATURES}
    extra = [
        (9001, None, INF, None),  # NULL, +inf, NULL category
        (9002, NAN, -INF, "kiosk"),  # NaN, -inf, a code nobody knows
        (9003, float(inc[1]), float(inq[0]), UNSEEN),  # exactly on an edge: the bin above (side="right")
        (9004, float(np.nextafter(inc[1], -INF)), float(np.nextafter(inq[0], -INF)), MISSING),  # just below
        (9005, 1e300, -1e300, WEIRD),
        (9006, best["monthly_income"], best["credit_inquiries_6m"], best["channel"]),  # best bin everywhere
        (9007, best["monthly_income"], worst["credit_inquiries_6m"], best["channel"]),  # worst inquiries only
        (9008, worst["monthly_income"], worst["credit_inquiries_6m"], worst["channel"]),  # worst bin everywhere
    ]
    rows = pl.DataFrame(extra, schema=book.select(COLUMNS).schema, orient="row")
    return pl.concat([book.select(COLUMNS), rows])


def run_duckdb(sql: str, frame: pl.DataFrame) -> pl.DataFrame:
    con = duckdb.connect()
    con.register("applications_features", frame.select(COLUMNS).to_arrow())
    return con.sql(sql).pl().sort("application_id")


def bin_points(card: Scorecard, feature: str, woe: float) -> float:
    """Points of one bin (``points_table``'s, unrounded): the share of offset and intercept, minus coef x WOE."""
    k, offset = len(card.binner_.features_), card.base_score - card.factor_ * np.log(card.base_odds)
    coef = dict(zip(card.binner_.features_, card.lr_.coef_[0], strict=True))[feature]
    return offset / k - card.factor_ * (coef * woe + card.lr_.intercept_[0] / k)


def feature_points(card: Scorecard, X) -> np.ndarray:
    """Points per row and feature, as ``bin_points`` gives them for the bins the rows fall in."""
    k, offset = len(card.binner_.features_), card.base_score - card.factor_ * np.log(card.base_odds)
    return offset / k - card.factor_ * (card.contributions(X) + card.lr_.intercept_[0] / k)


def expected_reasons(card: Scorecard, X, n: int) -> list[list[str]]:
    """Reference: the features that lost most points against their best bin, most first, ties in feature
    order, only those that lost any."""
    best = [max(bin_points(card, f, w) for w in card.binner_.woe_[f].values()) for f in FEATURES]
    lost = np.asarray(best) - feature_points(card, X)
    order = np.argsort(-lost, axis=1, kind="stable")[:, :n]
    return [["R_" + FEATURES[j].upper() for j in idx if row[j] > 0] for row, idx in zip(lost, order, strict=True)]


def python_scores(model: Scorecard | RiskModel, frame: pl.DataFrame) -> tuple[Scorecard, object]:
    """The scorecard and the pandas input Python scores ``frame`` with, for either wrapper."""
    if isinstance(model, RiskModel):
        return model.estimator, to_model_frame(frame, model.features)
    return model, frame.select(FEATURES).to_pandas()


# --- DuckDB ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["model", "card"])
def test_duckdb_points_and_pd_equal_python_row_for_row(which, request, book):
    """Total and per-feature points to 1e-9 and PD to 1e-12, for a RiskModel (unknown code = missing) and a
    bare Scorecard (unseen category = WOE 0), on every row including NULL, NaN, +-inf and bin edges."""
    fitted = request.getfixturevalue(which)
    card, _ = python_scores(fitted, book)
    scoring = scoring_rows(card, book)
    _, X = python_scores(fitted, scoring)
    out = run_duckdb(scorecard_sql(fitted, dialect="duckdb"), scoring)
    assert out["application_id"].to_list() == scoring["application_id"].to_list()
    expected_points = fitted.points(scoring) if isinstance(fitted, RiskModel) else card.points(X)
    np.testing.assert_allclose(out["points"].to_numpy(), expected_points, rtol=0, atol=1e-9)
    np.testing.assert_allclose(out["pd"].to_numpy(), card.predict_proba(X)[:, 1], rtol=0, atol=1e-12)
    per_feature = feature_points(card, X)
    for j, f in enumerate(FEATURES):
        np.testing.assert_allclose(out[f"points_{f}"].to_numpy(), per_feature[:, j], rtol=0, atol=1e-9)


@pytest.mark.parametrize("which", ["model", "card"])
def test_duckdb_reason_codes_equal_the_reference(which, request, book):
    """Every row's reason codes are the reference's: points lost against the best bin, most first, > 0 only."""
    fitted = request.getfixturevalue(which)
    card, _ = python_scores(fitted, book)
    scoring = scoring_rows(card, book)
    _, X = python_scores(fitted, scoring)
    for n in (3, 1, 0):
        out = run_duckdb(scorecard_sql(fitted, n_reasons=n), scoring)
        assert out["reason_codes"].to_list() == expected_reasons(card, X, n)


def test_reason_codes_on_hand_checked_rows(model, book):
    """Best bin everywhere: no reason. Worst inquiries only: that one. Worst everywhere: all three, the widest
    points range first (inquiries, then income, then channel, as the book was drawn)."""
    scoring = scoring_rows(model.estimator, book)
    out = run_duckdb(scorecard_sql(model), scoring).filter(pl.col("application_id") >= 9006)
    assert out["reason_codes"].to_list() == [
        [],
        ["R_CREDIT_INQUIRIES_6M"],
        ["R_CREDIT_INQUIRIES_6M", "R_MONTHLY_INCOME", "R_CHANNEL"],
    ]
    table = model.estimator.points_table()
    spread = table.group_by("feature").agg((pl.col("points").max() - pl.col("points").min()).alias("range"))
    ranges = dict(spread.iter_rows())
    assert ranges["credit_inquiries_6m"] > ranges["monthly_income"] > ranges["channel"] > 0


@pytest.mark.parametrize("order", [["existing_debt", "monthly_income"], ["monthly_income", "existing_debt"]])
def test_tied_reasons_go_in_feature_order(book, order):
    """Two copies of one column lose exactly the same points: the first feature comes first."""
    income = book["monthly_income"].fill_nan(None).fill_null(5000.0).to_numpy()
    X = pl.DataFrame({name: income for name in order}).to_pandas()
    card = Scorecard().fit(X, book["default_12m"].to_numpy())
    assert card.lr_.coef_[0][0] == card.lr_.coef_[0][1]  # the tie is exact, not within a tolerance
    worst = inside(card, order[0], extreme_bin(card, order[0], best=False, features=order))
    frame = pl.DataFrame({"application_id": [1], **{name: [worst] for name in order}})
    con = duckdb.connect()
    con.register("applications_features", frame.to_arrow())
    assert con.sql(scorecard_sql(card)).pl()["reason_codes"].to_list() == [["R_" + name.upper() for name in order]]


def test_missing_and_unseen_values_score_as_python_says(model, card, book):
    """NULL, NaN and +-inf take the missing bin's WOE; an unseen category WOE 0 on a bare Scorecard, and a code
    the catalogue does not know scores as missing on the RiskModel (as to_model_frame makes it)."""
    scoring = scoring_rows(card, book).filter(pl.col("application_id").is_in([9001, 9002]))
    out = run_duckdb(scorecard_sql(card), scoring)
    missing = {f: bin_points(card, f, card.binner_.woe_[f][MISSING]) for f in FEATURES}
    for f in ("monthly_income", "credit_inquiries_6m"):
        assert out[f"points_{f}"].to_list() == pytest.approx([missing[f], missing[f]])
    assert out["points_channel"].to_list() == pytest.approx([missing["channel"], bin_points(card, "channel", 0.0)])
    on_model = run_duckdb(scorecard_sql(model), scoring)
    est = model.estimator
    kiosk_as_missing = bin_points(est, "channel", est.binner_.woe_["channel"][MISSING])
    assert on_model["points_channel"].to_list() == pytest.approx([kiosk_as_missing, kiosk_as_missing])


# --- Spark -------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def spark():
    pytest.importorskip("pyspark", reason="the Spark engine needs the risk[spark] extra: uv sync --extra spark")
    from risk.spark.params import SparkParams
    from risk.spark.session import spark_session

    session = spark_session(
        SparkParams(master="local[1]", app_name="risk-export-sql-test", conf={"spark.sql.shuffle.partitions": "2"})
    )
    yield session
    session.stop()


def run_spark(spark, sql: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Run ``sql`` on ``frame`` as a Spark view; NULL and NaN stay apart (rows, not pandas, go over)."""
    schema = "application_id BIGINT, monthly_income DOUBLE, credit_inquiries_6m DOUBLE, channel STRING"
    spark.createDataFrame(frame.select(COLUMNS).rows(), schema=schema).createOrReplaceTempView("applications_features")
    rows = [r.asDict() for r in spark.sql(sql).collect()]
    return pl.DataFrame(rows, schema_overrides={"reason_codes": pl.List(pl.String)}).sort("application_id")


@pytest.mark.slow
@pytest.mark.parametrize("which", ["model", "card"])
def test_spark_sql_gives_the_same_points_and_reasons(which, request, book, spark):
    """The Spark query on a local session: points to 1e-9, PD to 1e-12 and the same reason codes as Python."""
    fitted = request.getfixturevalue(which)
    card, _ = python_scores(fitted, book)
    scoring = scoring_rows(card, book)
    _, X = python_scores(fitted, scoring)
    out = run_spark(spark, scorecard_sql(fitted, dialect="spark"), scoring)
    assert out["application_id"].to_list() == scoring["application_id"].to_list()
    np.testing.assert_allclose(out["points"].to_numpy(), card.points(X), rtol=0, atol=1e-9)
    np.testing.assert_allclose(out["pd"].to_numpy(), card.predict_proba(X)[:, 1], rtol=0, atol=1e-12)
    assert out["reason_codes"].to_list() == expected_reasons(card, X, 3)


@pytest.mark.slow
def test_spark_parses_float_literals_exactly(spark):
    """Spark reads every literal back to the same double, where a bare decimal literal could be off by one ulp."""
    values = [0.1, 2.5000000000000004, 5e-324, 1.7976931348623157e308, -123456.78901234567, 1 / 3]
    row = spark.sql("SELECT " + ", ".join(f"{_num(v)} AS v{i}" for i, v in enumerate(values))).collect()[0]
    assert [_bits(row[f"v{i}"]) for i in range(len(values))] == [_bits(v) for v in values]


# --- the text itself ---------------------------------------------------------------------------------------
def _bits(x: float) -> bytes:
    return struct.pack("<d", x)


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_duckdb_parses_float_literals_exactly(x):
    """Every finite double written by the export reads back bit for bit."""
    assert _bits(duckdb.sql(f"SELECT {_num(x)}").fetchall()[0][0]) == _bits(x)


def test_same_model_gives_the_same_text(model):
    """Deterministic: the same model (also after a pickle round trip) gives identical text, with no date."""
    for dialect in DIALECTS:
        text = scorecard_sql(model, dialect=dialect, version="7")
        assert text == scorecard_sql(pickle.loads(pickle.dumps(model)), dialect=dialect, version="7")
        assert not re.search(r"\d{4}-\d{2}-\d{2}", text)
        assert "registered version 7" in text and "600 at odds 50:1" in text and "20 points to double" in text


def test_dialects_differ_only_where_dialects_says(card):
    """The two texts differ in the header's dialect name, the escaped category and the ordered collect only."""
    duck, spark = (scorecard_sql(card, dialect=d).splitlines() for d in ("duckdb", "spark"))
    differing = [(a, b) for a, b in zip(duck, spark, strict=True) if a != b]
    assert len(differing) == 3
    assert "duckdb query" in differing[0][0] and "spark query" in differing[0][1]
    assert "'agent''s \\ desk'" in differing[1][0] and "'agent\\'s \\\\ desk'" in differing[1][1]
    assert "list(code ORDER BY rn)" in differing[2][0] and "array_sort(collect_list(" in differing[2][1]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"dialect": "postgres"}, "dialect must be one of"),
        ({"table": "applications; DROP TABLE loans"}, "table .* is not a plain SQL identifier"),
        ({"key": "1id"}, "key .* is not a plain SQL identifier"),
        ({"n_reasons": -1}, "n_reasons must be"),
    ],
)
def test_bad_arguments_are_refused_by_name(model, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        scorecard_sql(model, **kwargs)


def test_only_a_scorecard_can_be_exported(model):
    gbm = RiskModel("pd", LIGHTGBM, "default_12m", list(FEATURES), object(), Calibrator())
    with pytest.raises(RiskError, match="only a scorecard"):
        scorecard_sql(gbm)


def test_a_feature_without_a_reason_code_is_refused(book):
    """No reason code is made up: a feature the reason catalogue lacks stops the export, naming it."""
    X = book.select(FEATURES).to_pandas().rename(columns={"monthly_income": "shoe_size"})
    card = Scorecard(categorical=["channel"]).fit(X, book["default_12m"].to_numpy())
    with pytest.raises(RiskDataError, match="shoe_size"):
        scorecard_sql(card)


# --- the command -------------------------------------------------------------------------------------------
def _project(tmp_path, model: RiskModel | None):
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    if model is not None:
        fitted = tmp_path / "models" / "fitted"
        fitted.mkdir(parents=True)
        (fitted / "pd.scorecard.pkl").write_bytes(pickle.dumps(model))
        (fitted / "registry.json").write_text('{"pd": {"scorecard": {"version": "7", "run_id": "r"}}}')
    return tmp_path / "params.yaml"


def test_risk_export_writes_both_dialects(tmp_path, model):
    """`risk export` writes models/export/pd_scorecard.{duckdb,spark}.sql, the version from registry.json."""
    result = CliRunner().invoke(app, ["export", "--params", str(_project(tmp_path, model))])
    assert result.exit_code == 0, result.output
    out = tmp_path / "models" / "export"
    assert result.output.strip().splitlines() == [
        f"export: wrote {out / 'pd_scorecard.duckdb.sql'} and {out / 'pd_scorecard.spark.sql'}"
    ]
    for dialect in DIALECTS:
        text = (out / f"pd_scorecard.{dialect}.sql").read_text(encoding="utf-8")
        assert text == scorecard_sql(model, dialect=dialect, version="7")


def test_risk_export_without_a_fitted_scorecard_says_so(tmp_path):
    result = CliRunner().invoke(app, ["export", "--params", str(_project(tmp_path, None))])
    assert result.exit_code == ModelNotFound.exit_code
    assert "no fitted PD scorecard" in result.output and "risk train" in result.output
    assert "Traceback" not in result.output
