"""The Spark engine gives the polars engine's features and scores, on local[2], up to float summation order."""

from __future__ import annotations

import datetime as dt

import pytest
from polars.testing import assert_frame_equal

pytest.importorskip("pyspark", reason="the Spark engine needs the risk[spark] extra: uv sync --extra spark")

from risk.config import FeatureParams, LabelParams, ModelParams, Params, SimulateParams, TrainParams  # noqa: E402
from risk.features.build import build_features  # noqa: E402
from risk.models import tracking  # noqa: E402
from risk.models.model import LIGHTGBM, SCORECARD, to_model_frame  # noqa: E402
from risk.models.train import SPECS, fit_candidates, time_split, training_frame  # noqa: E402
from risk.score.score import collections_queue, review_queue, score_loans  # noqa: E402
from risk.simulate import simulate  # noqa: E402
from risk.spark import features as spark_features  # noqa: E402
from risk.spark.params import SparkParams  # noqa: E402
from risk.spark.partition import collect, spark_tables  # noqa: E402
from risk.spark.score import score_day  # noqa: E402
from risk.spark.session import spark_session  # noqa: E402

pytestmark = pytest.mark.slow

AS_OF = dt.date(2025, 12, 31)
PARTITIONS = 4  # more than one, so borrowers really are split between Python workers
CLOSE = {"check_exact": False, "rel_tol": 1e-9, "abs_tol": 1e-9}  # floats summed in another order


@pytest.fixture(scope="module")
def tables():
    book = simulate(SimulateParams(n_loans=2000, pending_applications=50), as_of=AS_OF, seed=3)
    return {name: frame for name, frame in book.items() if name != "truth"}


@pytest.fixture(scope="module")
def spark():
    session = spark_session(
        SparkParams(master="local[2]", app_name="risk-test", conf={"spark.sql.shuffle.partitions": "8"})
    )
    yield session
    session.stop()


@pytest.fixture(scope="module")
def on_spark(spark, tables):
    return spark_tables(spark, tables)


@pytest.fixture(scope="module")
def polars_features(tables):
    return build_features(tables, FeatureParams(), data_as_of=AS_OF)


@pytest.fixture(scope="module")
def spark_features_(on_spark):
    envelope, schemas = spark_features.snapshots(on_spark, FeatureParams(), data_as_of=AS_OF, partitions=PARTITIONS)
    return spark_features.sort_like_polars(collect(envelope, schemas))


@pytest.fixture(scope="module")
def models(polars_features, tmp_path_factory):
    """The three models, LightGBM as champion and the scorecard as challenger, from a temporary MLflow store."""
    from risk.score.stage import load_models

    tracking.configure(f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}")
    quick = ModelParams(n_estimators=40, early_stopping_rounds=10)
    train = TrainParams(
        pd=quick,
        early_warning=ModelParams(n_estimators=40, early_stopping_rounds=10, embargo_days=90),
        cure=ModelParams(n_estimators=40, early_stopping_rounds=10, embargo_days=30),
    )
    for spec in SPECS.values():
        snaps = (
            polars_features.application_snapshots if spec.dataset == "application" else polars_features.loan_snapshots
        )
        frame = training_frame(snaps, spec, data_as_of=AS_OF, labels=LabelParams())
        split = time_split(
            frame, label=spec.label, windows=train.windows, embargo_days=getattr(train, spec.name).embargo_days
        )
        fitted = fit_candidates(spec, split, train, seed=1)
        example = tracking.input_example(fitted[LIGHTGBM], to_model_frame(split.valid, spec.features))
        infos = {
            kind: tracking.log_candidate(
                m,
                experiment=f"test-{spec.name}",
                registered_name=spec.registered,
                params={"kind": kind},
                example=example,
            )
            for kind, m in fitted.items()
        }
        tracking.set_alias(spec.registered, "champion", infos[LIGHTGBM]["version"])
        tracking.set_alias(spec.registered, "challenger", infos[SCORECARD]["version"])
    return load_models("champion")


@pytest.mark.parametrize("name", ["loan_snapshots", "application_snapshots"])
def test_spark_snapshots_equal_polars_snapshots(name, polars_features, spark_features_):
    """Every row, column, type and value of both snapshot tables, whichever partition a borrower fell in."""
    want = getattr(polars_features, name)
    assert want.height > 1000
    assert_frame_equal(spark_features_[name], want, **CLOSE)


def test_spark_queues_equal_polars_queues(tables, on_spark, models):
    """The same queue rows in the same priority order with the same probabilities, grades and reasons."""
    params = Params()
    scored = score_loans(tables, models, params, as_of=AS_OF)
    want_collections = collections_queue(scored, models, params, as_of=AS_OF)
    want_review = review_queue(tables, models, params, as_of=AS_OF)

    got = score_day(on_spark, models, params, as_of=AS_OF, partitions=PARTITIONS)

    assert got.active_loans == scored.height
    assert want_collections.height > 20 and want_review.height > 10
    assert scored["ew_probability"].drop_nulls().n_unique() > 10  # the models really score
    assert_frame_equal(got.collections_queue, want_collections, **CLOSE)
    assert_frame_equal(got.review_queue, want_review, **CLOSE)


def test_missing_column_names_table_and_column(spark, tables):
    """A Spark input without a contract column stops at the boundary, naming the table and the column."""
    from risk.exceptions import RiskDataError

    repayments = spark_tables(spark, tables)["repayments"].drop("amount")
    with pytest.raises(RiskDataError, match=r"repayments: column\(s\) \['amount'\] missing"):
        spark_tables(spark, {**tables, "repayments": repayments})


def test_spark_reads_the_validated_tables_as_the_validate_stage_writes_them(spark, tables, tmp_path):
    """The validated folder is compressed for polars to decode fast (io.READ_OFTEN, LZ4); the Spark engine reads the
    same folder (spark.tables_uri's default), every row and value."""
    from risk import io
    from risk.contract import INPUT_TABLES

    folder = tmp_path / "validated"
    io.write_tables({t.name: tables[t.name] for t in INPUT_TABLES}, folder, compression=io.READ_OFTEN)
    read = spark_tables(spark, {t.name: str(folder / f"{t.name}.parquet") for t in INPUT_TABLES})
    for t in INPUT_TABLES:
        assert read[t.name].count() == tables[t.name].height > 0, t.name
    loans = read["loans"].toPandas()
    assert sorted(loans["loan_id"]) == sorted(tables["loans"]["loan_id"].to_list())
    assert loans["principal"].sum() == pytest.approx(tables["loans"]["principal"].sum())
