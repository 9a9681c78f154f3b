"""Where every stage reads and writes, from one root. dvc.yaml declares the same paths.

No work happens at import time: build a :class:`Paths` from the project root (the CLI uses the
current directory) and pass it around.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Paths:
    root: Path

    @classmethod
    def at(cls, root: str | Path = ".") -> Paths:
        return cls(Path(root).resolve())

    @property
    def params(self) -> Path:
        return self.root / "params.yaml"

    @property
    def raw(self) -> Path:
        """Tables as simulated or ingested (01_raw): the five contract tables, plus truth when simulated."""
        return self.root / "data" / "raw"

    @property
    def validated(self) -> Path:
        return self.root / "data" / "validated"

    @property
    def export_profile(self) -> Path:
        """The last accepted export's profile (rows, amount scales, shares): what validate compares the next with."""
        return self.root / "data" / "export_profile.json"

    @property
    def features(self) -> Path:
        return self.root / "data" / "features"

    @property
    def scored(self) -> Path:
        return self.root / "data" / "scored"

    @property
    def duckdb(self) -> Path:
        return self.scored / "risk.duckdb"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def pinned_models(self) -> Path:
        """The model versions ``evaluate`` chose (champion and challenger per model): what ``score`` loads, so
        DVC knows which models scored a queue, whatever MLflow's aliases say later."""
        return self.models / "pinned.json"

    @property
    def compiled_models(self) -> Path:
        """What ``compile`` compiled ahead for ``score`` (the machine code itself is cached outside the project,
        :func:`risk.models.compiled.cache_dir`)."""
        return self.models / "compiled.json"

    @property
    def policy_models(self) -> Path:
        """The learned collections policy: the overdue-type model and one effect model per action."""
        return self.models / "policy"

    @property
    def model_export(self) -> Path:
        """The PD scorecard as SQL for DuckDB and Spark, written on demand by ``risk export`` (not a DVC stage)."""
        return self.models / "export"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics"

    def score_sample(self, model: str) -> Path:
        """Evaluate's calibrated scores of the candidates on the training reference and the test window."""
        return self.metrics / "scores" / f"{model}.parquet"

    def monitoring_reference(self, model: str) -> Path:
        """The training window's profile each scoring run is monitored against (risk.score.monitoring)."""
        return self.metrics / "scores" / f"{model}_reference.json"

    @property
    def plots(self) -> Path:
        return self.root / "plots"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def mlflow_uri(self) -> str:
        return f"sqlite:///{self.root / 'mlflow.db'}"
