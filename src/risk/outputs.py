"""Print where every pipeline output is (``python -m risk.outputs``, called by ``make run``)."""

from __future__ import annotations

from pathlib import Path

from risk.paths import Paths


def outputs(paths: Paths) -> list[tuple[str, Path]]:
    """(what, where) for every output of the pipeline, in stage order."""
    return [
        ("raw tables (simulated or ingested)", paths.raw),
        ("validation report", paths.reports / "validation.html"),
        ("validated tables", paths.validated),
        ("feature snapshots and dictionary", paths.features),
        ("fitted models (also in the MLflow registry)", paths.models / "fitted"),
        ("metrics: dvc metrics show", paths.metrics),
        ("plots: dvc plots show", paths.plots),
        ("model cards", paths.reports / "model_cards"),
        ("collections and review queues (Parquet)", paths.scored),
        ("collections and review queues (DuckDB)", paths.duckdb),
        ("risk report (open in a browser)", paths.reports / "risk_report.html"),
        ("MLflow store: uv run mlflow ui --backend-store-uri sqlite:///mlflow.db", paths.root / "mlflow.db"),
    ]


def describe(paths: Paths) -> str:
    lines = ["outputs:"]
    for label, p in outputs(paths):
        mark = "" if p.exists() else "   (not written yet)"
        lines.append(f"  {label:<72} {p.relative_to(paths.root)}{mark}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(describe(Paths.at(".")))
