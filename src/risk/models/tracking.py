"""MLflow at the edge: log runs, register versions, set aliases, load models by alias.

Tracking defaults to ``sqlite:///mlflow.db`` in the project root (MLFLOW_TRACKING_URI overrides it).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature

from risk.exceptions import ModelNotFound, RiskDataError
from risk.features.catalogue import CATEGORICAL
from risk.models.inputs import InputSchema
from risk.models.model import RiskModel

PIP_REQUIREMENTS = [
    f"{pkg}=={__import__('importlib.metadata').metadata.version(pkg)}"
    for pkg in ("lightgbm", "scikit-learn", "pandas", "numpy", "polars", "pyarrow")
]


class RiskPyfunc(mlflow.pyfunc.PythonModel):
    """pyfunc wrapper: a pandas frame of features in, calibrated probabilities out."""

    def __init__(self, model: RiskModel):
        self.model = model

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None) -> np.ndarray:
        """Calibrated probabilities; the input checked against the training schema first (an error names a
        missing column, text in a number column or an unseen category; out-of-range numbers are logged)."""
        schema = self.model.meta.get("input_schema")
        if schema is not None:
            try:
                notes = InputSchema.from_dict(schema).check(model_input)
            except RiskDataError as e:  # as MLflow's own error, so that a server answers 400 with the message
                raise mlflow.exceptions.MlflowException.invalid_parameter_value(str(e)) from None
            for note in notes:
                logging.getLogger("risk").warning("%s: %s", self.model.name, note)
        return self.model.predict_proba(model_input)


# the project store configure last chose: MLflow puts a URI it is given in MLFLOW_TRACKING_URI (and the registry's
# in MLFLOW_REGISTRY_URI), so that variable holding it is not a user's choice, and a second project's configure in
# the same process (a notebook, a test after another) must not read it as one
_DEFAULTED: str | None = None


def configure(default_uri: str) -> str:
    """Point MLflow at ``MLFLOW_TRACKING_URI`` or the project's sqlite store; keep its chatter to warnings."""
    global _DEFAULTED
    import warnings

    # MLflow warns on every model it logs (CloudPickle, pip's version): nothing a user of this project acts on
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*python_model.*CloudPickle.*")
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if not uri or uri == _DEFAULTED:
        uri = _DEFAULTED = default_uri
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def input_example(model: RiskModel, frame: pd.DataFrame, rows: int = 5) -> pd.DataFrame:
    """The first ``rows`` rows in the pyfunc's input form: categoricals as strings, numbers as float."""
    ex = frame[model.features].head(rows).copy()
    for c in model.features:
        categorical = c in CATEGORICAL or isinstance(ex[c].dtype, pd.CategoricalDtype)
        ex[c] = ex[c].astype("string").astype(object) if categorical else ex[c].astype("float64")
    return ex


def log_candidate(
    model: RiskModel,
    *,
    experiment: str,
    registered_name: str,
    params: dict[str, Any],
    example: pd.DataFrame,
    artifacts: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One MLflow run for a fitted candidate: params, data windows, feature list, the model; registered."""
    mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name=f"{model.name}-{model.kind}") as run:
        mlflow.set_tags({"model": model.name, "kind": model.kind, "label": model.label})
        mlflow.log_params({k: v for k, v in params.items() if v is not None})
        mlflow.log_dict({"features": model.features, **model.meta}, "data_window.json")
        for name, text in (artifacts or {}).items():
            mlflow.log_text(text, name)
        preds = model.predict_proba(example)
        # the registry prints "Successfully registered model ..." for each version: the stage's summary says it
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            info = _log_model(model, example, preds, registered_name)
    return {"run_id": run.info.run_id, "version": str(info.registered_model_version), "model_uri": info.model_uri}


def _log_model(model: RiskModel, example: pd.DataFrame, preds: np.ndarray, registered_name: str) -> Any:
    return mlflow.pyfunc.log_model(
        name="model",
        python_model=RiskPyfunc(model),
        signature=infer_signature(example, preds),
        input_example=example,
        pip_requirements=PIP_REQUIREMENTS,
        registered_model_name=registered_name,
    )


def log_evaluation(run_id: str, metrics: dict[str, float], files: dict[str, Path]) -> None:
    with mlflow.start_run(run_id=run_id):
        mlflow.log_metrics({f"test_{k}": float(v) for k, v in metrics.items() if v == v})
        for artifact_path, path in files.items():
            if Path(path).is_dir():
                mlflow.log_artifacts(str(path), artifact_path=artifact_path)
            else:
                mlflow.log_artifact(str(path), artifact_path=artifact_path)


def tag_run(run_id: str, tags: dict[str, str]) -> None:
    client = mlflow.MlflowClient()
    for key, value in tags.items():
        client.set_tag(run_id, key, value)


def set_alias(registered_name: str, alias: str, version: str) -> None:
    mlflow.MlflowClient().set_registered_model_alias(registered_name, alias, version)


def load_by_alias(registered_name: str, alias: str) -> RiskModel:
    """The RiskModel behind ``models:/NAME@alias``; ModelNotFound if the name or alias is missing."""
    return _load(f"models:/{registered_name}@{alias}")


def load_version(registered_name: str, version: str) -> RiskModel:
    """The RiskModel of ``models:/NAME/VERSION`` (a pinned version); ModelNotFound if it is not registered."""
    return _load(f"models:/{registered_name}/{version}")


def alias_version(registered_name: str, alias: str) -> str | None:
    """The version MLflow's ``alias`` points at now, or None."""
    try:
        return str(mlflow.MlflowClient().get_model_version_by_alias(registered_name, alias).version)
    except mlflow.exceptions.MlflowException:
        return None


def _load(uri: str) -> RiskModel:
    try:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))  # the store's own folder when local
        model = mlflow.pyfunc.load_model(str(local), suppress_warnings=True).unwrap_python_model().model
    except mlflow.exceptions.MlflowException as e:
        first_line = str(e).splitlines()[0]
        msg = f"cannot load {uri} from {mlflow.get_tracking_uri()}: {first_line} (run `dvc repro train evaluate`)"
        raise ModelNotFound(msg) from e
    for note in requirement_mismatches(local / "requirements.txt"):
        logging.getLogger("risk").warning("%s: %s", uri, note)
    return model


def requirement_mismatches(requirements: Path) -> list[str]:
    """The packages a model was logged with (``PIP_REQUIREMENTS``, in its requirements.txt) that this environment
    holds in a version the pin does not allow, or not at all: its scores may then differ from the ones evaluated.

    MLflow's own check, skipped on load, maps every installed package to its modules each time (0.3-0.45 s of
    loading four models), and its warning was hidden with MLflow's chatter; this one reads the pins only. Lines
    it cannot read (comments, options, a marker that does not apply here) are skipped: it only ever warns.
    """
    from importlib.metadata import PackageNotFoundError, version

    from packaging.requirements import InvalidRequirement, Requirement

    try:
        lines = requirements.read_text(encoding="utf-8").splitlines() if requirements.exists() else []
    except (OSError, UnicodeDecodeError) as e:
        return [f"cannot read {requirements.name} ({e}): the versions it was logged with are not checked"]
    notes = []
    for line in lines:
        text = line.split(" #")[0].strip()
        if not text or text.startswith(("#", "-")):
            continue
        try:
            pin = Requirement(text)
        except InvalidRequirement:
            continue
        if not pin.specifier or (pin.marker is not None and not pin.marker.evaluate()):
            continue
        try:
            installed = version(pin.name)
        except PackageNotFoundError:
            installed = None
        if installed is None or not pin.specifier.contains(installed, prereleases=True):
            notes.append(f"logged with {pin.name}{pin.specifier}, this environment has {installed or 'none'}")
    return notes
