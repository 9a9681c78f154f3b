"""Print where every pipeline output is (``python -m risk.outputs``, called by ``make run``)."""

from __future__ import annotations

from pathlib import Path

from risk.paths import Paths

OUTPUTS = (
    ("raw tables (simulated or ingested)", "raw"),
    ("validated tables", "validated"),
    ("validation report", "reports/validation.html"),
    ("feature snapshots and dictionary", "features"),
    ("models (fitted, also in the MLflow registry)", "models"),
    ("metrics (dvc metrics show)", "metrics"),
    ("plots (dvc plots show)", "plots"),
    ("model cards and risk report", "reports"),
    ("scored queues: Parquet and DuckDB", "scored"),
    ("MLflow tracking store (mlflow ui --backend-store-uri sqlite:///mlflow.db)", "mlflow.db"),
)


def describe(paths: Paths) -> str:
    lines = ["outputs:"]
    for label, name in OUTPUTS:
        p = getattr(paths, name) if hasattr(paths, name) and "/" not in name else paths.root / name
        if name == "mlflow.db":
            p = paths.root / "mlflow.db"
        mark = "" if Path(p).exists() else "   (not written yet)"
        lines.append(f"  {label:<72} {Path(p).relative_to(paths.root)}{mark}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(describe(Paths.at(".")))
