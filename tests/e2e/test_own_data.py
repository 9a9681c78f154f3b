"""README's walk-through for a lender's own application-only export, run for real: a generated credit file with
no id column, one outcome per application, attributes the contract has no column for and two protected ones,
described in a dozen lines of params and run with `dvc repro`."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from tests.books import WALK, credit_file
from tests.conftest import make_project, run_tool

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = make_project(tmp_path_factory.mktemp("own_data"))
    folder = root / "exports" / "credit"
    folder.mkdir(parents=True)
    credit_file().write_csv(folder / "credit.csv")
    params = yaml.safe_load((root / "params.yaml").read_text())
    walk = yaml.safe_load(WALK)
    params["data"].update(walk["data"])
    params["ingest"].update(walk["ingest"])
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False, allow_unicode=True))
    run_tool(["dvc", "repro"], root)
    return root


def test_the_walk_through_trains_a_pd_on_every_declared_attribute(project: Path):
    manifest = json.loads((project / "data" / "raw" / "_ingest.json").read_text())
    assert manifest["mode"] == "application_only"
    assert [a["name"] for a in manifest["attributes"]] == [
        "checking_status",
        "savings_status",
        "installment_commitment",
        "housing",
    ]
    assert manifest["attributes"][0]["categories"] == ["A11", "A12", "A13", "A14"]
    registry = json.loads((project / "models" / "fitted" / "registry.json").read_text())
    assert set(registry) == {"pd"}
    features = pl.read_csv(project / "data" / "features" / "feature_dictionary.csv")
    attrs = features.filter(pl.col("family") == "source attribute")
    assert set(attrs["name"]) == {"checking_status", "savings_status", "installment_commitment", "housing"}
    card = (project / "reports" / "model_cards" / "pd.md").read_text()
    assert "| checking_status |" in card  # binned by the scorecard, ranked by the LightGBM


def test_protected_columns_are_dropped_and_named(project: Path):
    manifest = json.loads((project / "data" / "raw" / "_ingest.json").read_text())
    assert {"applications.personal_status", "applications.foreign_worker"} <= set(manifest["dropped"])
    attributes = pl.read_parquet(project / "data" / "validated" / "attributes.parquet")
    assert "personal_status" not in attributes.columns and "foreign_worker" not in attributes.columns


def test_small_data_is_judged_over_repeated_splits_beside_its_peers(project: Path):
    """2,500 rows and no dates: five stratified splits, each candidate and peer on the same rows and columns; the
    champion is the better mean, and it is within a point of the one-hot logistic regression on a file whose
    outcome is logistic in exactly its one-hot columns (the peer's home ground)."""
    metrics = json.loads((project / "metrics" / "pd.json").read_text())
    figures = metrics["repeated_splits"]
    assert figures["splits"]["seeds"] == [42, 43, 44, 45, 46]
    means = {k: v["auc_mean"] for k, v in figures["candidates"].items()}
    assert metrics["champion"] == max(means, key=means.get)
    assert means[metrics["champion"]] >= figures["peers"]["logistic_regression"]["auc_mean"] - 0.01, figures
    assert means[metrics["champion"]] > figures["peers"]["lightgbm_default"]["auc_mean"]
    assert all(len(v["auc"]) == 5 and v["auc_std"] > 0 for v in figures["candidates"].values())
    for name in ("early_warning", "cure"):
        assert "skipped" in json.loads((project / "metrics" / f"{name}.json").read_text())
    assert "## Repeated stratified splits" in (project / "reports" / "model_cards" / "pd.md").read_text()


@pytest.fixture(scope="module")
def full_book(tmp_path_factory, pipeline_project: Path) -> Path:
    """The small simulated book exported as a lender's mapping export whose applications carry one more column,
    declared as an attribute, then run end to end: a full book (history, collections, scoring) with attributes."""
    import shutil

    from tests.e2e.test_daily_runs import export_as_of

    root = Path(shutil.copytree(pipeline_project, tmp_path_factory.mktemp("attrs") / "project", symlinks=True))
    params = yaml.safe_load((root / "params.yaml").read_text())
    day = params["data"]["as_of"]
    folder = root / "exports" / str(day)
    export_as_of(root / "data" / "raw", dt.date.fromisoformat(str(day)), folder)
    apps = pl.read_parquet(folder / "applications.parquet")
    rng = np.random.default_rng(5)
    apps.with_columns(device_risk=pl.Series(rng.normal(size=apps.height))).write_parquet(
        folder / "applications.parquet"
    )
    params["data"]["source"] = "ingest"
    params["ingest"].update(
        format="mapping",
        path="exports/{as_of}",
        attributes={"device_risk": {"kind": "numeric", "risk": 1, "description": "Device risk score"}},
    )
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False, allow_unicode=True))
    # the stages dvc repro would run, less the collections policy (refitted on the same book: the copy's serves)
    for stage in ("load", "validate", "features", "train", "evaluate", "score"):
        run_tool([sys.executable, "-m", "risk.cli", stage], root)
    return root


def test_a_full_book_with_an_attribute_trains_and_scores_with_it(full_book: Path):
    card = (full_book / "reports" / "model_cards" / "pd.md").read_text()
    assert "| device_risk |" in card
    day = yaml.safe_load((full_book / "params.yaml").read_text())["data"]["as_of"]
    review = pl.read_parquet(full_book / "data" / "scored" / f"as_of={day}" / "review_queue.parquet")
    assert review.height > 0 and review["pd"].is_not_null().all()
    collections = pl.read_parquet(full_book / "data" / "scored" / f"as_of={day}" / "collections_queue.parquet")
    assert collections.height > 0  # the loan models and the policy are untouched by a PD attribute
