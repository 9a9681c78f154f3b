"""A model loaded from the MLflow registry by alias scores exactly like the one that was trained."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.conftest import AS_OF

from risk.config import LabelParams, ModelParams, TrainParams
from risk.models import tracking
from risk.models.model import LIGHTGBM, SCORECARD, to_model_frame
from risk.models.train import SPECS, fit_candidates, time_split, training_frame


@pytest.fixture(scope="module")
def registered(small_features, tmp_path_factory):
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    tracking.configure(uri)
    spec = SPECS["cure"]
    params = TrainParams(cure=ModelParams(n_estimators=60, embargo_days=30))
    frame = training_frame(small_features.loan_snapshots, spec, data_as_of=AS_OF, labels=LabelParams())
    split = time_split(frame, label=spec.label, windows=params.windows, embargo_days=30)
    models = fit_candidates(spec, split, params, seed=1)
    example = tracking.input_example(models[LIGHTGBM], to_model_frame(split.valid, spec.features))
    infos = {
        k: tracking.log_candidate(
            m, experiment="test-cure", registered_name="test-risk-cure", params={"k": k}, example=example
        )
        for k, m in models.items()
    }
    tracking.set_alias("test-risk-cure", "champion", infos[LIGHTGBM]["version"])
    tracking.set_alias("test-risk-cure", "challenger", infos[SCORECARD]["version"])
    return split, models


def test_loaded_by_alias_scores_like_the_trained_model(registered):
    split, models = registered
    for alias, kind in (("champion", LIGHTGBM), ("challenger", SCORECARD)):
        loaded = tracking.load_by_alias("test-risk-cure", alias)
        np.testing.assert_array_equal(loaded.predict_proba(split.test), models[kind].predict_proba(split.test))


def test_pyfunc_takes_plain_pandas_and_agrees(registered):
    import mlflow

    split, models = registered
    pyfunc = mlflow.pyfunc.load_model("models:/test-risk-cure@champion")
    frame = tracking.input_example(models[LIGHTGBM], to_model_frame(split.test, models[LIGHTGBM].features), rows=50)
    np.testing.assert_allclose(pyfunc.predict(frame), models[LIGHTGBM].predict_proba(split.test.head(50)))


def test_a_model_logged_with_other_package_versions_is_loaded_with_a_warning_naming_them(registered, caplog):
    """The requirements MLflow logged beside the model are read on load: the same versions say nothing, a pin this
    environment does not hold is named (the scores may differ from the ones evaluated), and the model loads."""
    import logging
    from importlib.metadata import version

    import mlflow

    requirements = Path(mlflow.artifacts.download_artifacts("models:/test-risk-cure@champion")) / "requirements.txt"
    logged = requirements.read_text()
    with caplog.at_level(logging.WARNING, logger="risk"):
        tracking.load_by_alias("test-risk-cure", "champion")
    assert not caplog.records
    try:
        requirements.write_text(logged.replace(f"lightgbm=={version('lightgbm')}", "lightgbm==0.0.1"))
        with caplog.at_level(logging.WARNING, logger="risk"):
            assert tracking.load_by_alias("test-risk-cure", "champion").kind == LIGHTGBM
    finally:
        requirements.write_text(logged)
    assert [r.getMessage() for r in caplog.records] == [
        f"models:/test-risk-cure@champion: logged with lightgbm==0.0.1, this environment has {version('lightgbm')}"
    ]


def test_requirement_pins_are_read_as_pip_reads_them_and_never_break_a_load(tmp_path):
    from importlib.metadata import version

    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        "# numpy==0.1\n"
        "-r other.txt\n"
        f"numpy=={version('numpy')} ; python_version >= '3.9'\n"
        "numpy==0.0.1 ; python_version < '3.0'\n"
        f"polars[pyarrow]=={version('polars')}  # the engine\n"
        "cloudpickle>=2\n"
        "==1.0\n"
        "\n"
        "not-a-package-here==1.0\n"
        "pandas<1\n"
    )
    assert tracking.requirement_mismatches(requirements) == [
        "logged with not-a-package-here==1.0, this environment has none",
        f"logged with pandas<1, this environment has {version('pandas')}",
    ]
    assert tracking.requirement_mismatches(tmp_path / "absent.txt") == []
    requirements.write_bytes(b"\xff\xfe numpy")
    assert tracking.requirement_mismatches(requirements)[0].startswith("cannot read requirements.txt")


def test_missing_alias_is_a_clear_error(registered):
    from risk.exceptions import ModelNotFound

    with pytest.raises(ModelNotFound, match="models:/test-risk-cure@nope"):
        tracking.load_by_alias("test-risk-cure", "nope")


def test_the_pyfunc_names_what_it_cannot_score(registered):
    """Served alone, the model checks its input against training: an unseen category is an error naming it,
    a missing column one naming the column (MLflow's signature), and the clean rows still score."""
    import mlflow

    split, models = registered
    pyfunc = mlflow.pyfunc.load_model("models:/test-risk-cure@champion")
    frame = tracking.input_example(models[LIGHTGBM], to_model_frame(split.test, models[LIGHTGBM].features), rows=5)
    unseen = frame.assign(product=["payday_loan", *frame["product"].iloc[1:]])
    with pytest.raises(Exception, match=r"payday_loan.*\[rule: model_input_category\]"):
        pyfunc.predict(unseen)
    with pytest.raises(Exception, match="annual_rate"):
        pyfunc.predict(frame.drop(columns=["annual_rate"]))
    assert len(pyfunc.predict(frame)) == 5


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_mlflow_models_serve_scores_like_the_trained_model_and_refuses_an_unseen_category(registered, tmp_path):
    """`mlflow models serve` on loopback: the same probabilities over HTTP; a bad row is a 4xx naming the column."""
    import json
    import os
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request
    from pathlib import Path

    import mlflow

    split, models = registered
    frame = tracking.input_example(models[LIGHTGBM], to_model_frame(split.test, models[LIGHTGBM].features), rows=20)
    port = _free_port()
    bin_dir = Path(sys.executable).parent  # mlflow starts uvicorn by name: this environment's, not the system's
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": mlflow.get_tracking_uri(),
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    mlflow_cli = str(bin_dir / "mlflow")
    server = subprocess.Popen(
        [mlflow_cli, "models", "serve", "-m", "models:/test-risk-cure@champion", "--env-manager", "local",
         "-h", "127.0.0.1", "-p", str(port)],
        env=env, stdout=(log := (tmp_path / "serve.log").open("w")), stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def post(rows):
        body = json.dumps({"dataframe_split": json.loads(rows.to_json(orient="split", index=False))}).encode()
        request = urllib.request.Request(f"{base}/invocations", body, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{base}/ping", timeout=2):
                    break
            except OSError:
                assert server.poll() is None, f"mlflow models serve exited:\n{(tmp_path / 'serve.log').read_text()}"
                assert time.monotonic() < deadline, "mlflow models serve did not answer /ping in 180 s"
                time.sleep(1)
        status, answer = post(frame)
        assert status == 200
        np.testing.assert_allclose(answer["predictions"], models[LIGHTGBM].predict_proba(frame), rtol=1e-12)
        status, answer = post(frame.assign(product="payday_loan"))
        assert 400 <= status < 500 and "payday_loan" in answer["message"] and "product" in answer["message"]
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
