"""The real pipeline, end to end: `dvc repro` on a small simulated book in a temporary copy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml
from tests.conftest import run_tool

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
RISK_MODELS = ("pd", "early_warning", "cure")


@pytest.fixture(scope="module")
def project(pipeline_project: Path) -> Path:
    return pipeline_project


def test_repro_writes_every_output(project: Path):
    for rel in (
        "data/raw/loans.parquet",
        "data/validated/repayments.parquet",
        "data/features/feature_dictionary.csv",
        "models/fitted/registry.json",
        "models/compiled.json",
        "metrics/pd.json",
        "reports/validation.html",
        "reports/model_cards/early_warning.md",
        "data/scored/risk.duckdb",
    ):
        assert (project / rel).exists(), rel


def test_each_model_is_judged_out_of_time_with_a_champion(project: Path):
    for name in ("pd", "early_warning", "cure"):
        m = json.loads((project / "metrics" / f"{name}.json").read_text())
        assert m["champion"] in ("lightgbm", "scorecard")
        assert 0.6 < m[m["champion"]]["auc"] <= 1.0
    assert "auc" in json.loads((project / "metrics" / "pd.json").read_text())["oracle"]


def test_scored_day_is_in_parquet_and_duckdb(project: Path):
    params = yaml.safe_load((project / "params.yaml").read_text())
    day = params["data"]["as_of"]
    folder = project / "data" / "scored" / f"as_of={day}"
    cq = pl.read_parquet(folder / "collections_queue.parquet")
    rq = pl.read_parquet(folder / "review_queue.parquet")
    assert cq.height > 0 and rq.height == 150
    con = duckdb.connect(str(project / "data" / "scored" / "risk.duckdb"), read_only=True)
    try:
        counts = con.execute("SELECT count(*) FROM collections_queue WHERE as_of = ?", [day]).fetchone()
    finally:
        con.close()
    assert counts[0] == cq.height


def test_second_repro_reruns_nothing(project: Path):
    out = run_tool(["dvc", "status"], project).stdout
    assert "changed" not in out, out
    repro = run_tool(["dvc", "repro"], project).stdout
    assert "Running stage" not in repro, repro


def test_the_models_are_compiled_ahead_when_the_book_asks_and_the_day_loads_them_as_compiled(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """`risk compile`, the stage before `score`: nothing on a book under score.compiled_min_rows. With
    score.compiled_predictor always, every model the scorer loads is compiled into the cache; the day then loads the
    objects rather than compiling them, and writes the tables LightGBM's own predict wrote."""
    record = json.loads((project / "models" / "compiled.json").read_text())
    assert not record["compiled"] and not record["models"] and record["loans"] < record["compiled_min_rows"]

    root = Path(shutil.copytree(project, tmp_path / "project", symlinks=True))
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["score"]["compiled_predictor"] = "always"
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False, allow_unicode=True))
    monkeypatch.setenv("RISK_CACHE_DIR", str(tmp_path / "cache"))
    out = run_tool(["risk", "compile"], root).stdout
    record = json.loads((root / "models" / "compiled.json").read_text())
    policy = {"policy_types", "policy_effects"}
    # the policy's and the risk models' LightGBM ones (a scorecard in service is not compiled)
    assert record["compiled"] and policy < set(record["models"]) <= {*RISK_MODELS, *policy}
    assert f"{len(record['models'])} compiled and 0 already in" in out, out
    objects = {f: f.stat().st_mtime_ns for f in (tmp_path / "cache" / "lleaves").glob("*.o")}
    assert len(objects) == len(record["models"])

    out = run_tool(["risk", "score", "--accept-shift"], root).stdout
    assert f"Compiled models: {len(objects)} loaded from the cache." in out, out
    assert {f: f.stat().st_mtime_ns for f in (tmp_path / "cache" / "lleaves").glob("*.o")} == objects
    day = f"as_of={params['data']['as_of']}"
    written = sorted((project / "data" / "scored" / day).glob("*.parquet"))
    assert len(written) >= 5
    for table in written:
        frame = pl.read_parquet(root / "data" / "scored" / day / table.name)
        assert frame.equals(pl.read_parquet(table)), f"{table.name}: the compiled day differs from LightGBM's"


def test_the_collections_plan_is_lawful_within_capacity_with_a_control_group(project: Path):
    policy = json.loads((project / "metrics" / "policy.json").read_text())
    assert policy["strategy"] == "learned"
    assert policy["lawful_violations"] == 0, policy["lawful_violations_by_rule"]
    params = yaml.safe_load((project / "params.yaml").read_text())
    day = params["data"]["as_of"]
    cq = pl.read_parquet(project / "data" / "scored" / f"as_of={day}" / "collections_queue.parquet")
    planned = cq.filter(pl.col("scheduled"))
    assert planned["borrower_id"].is_unique().all()  # one action per borrower, all their loans together
    capacity = params["score"]["capacity"]
    for channel, used in planned.group_by("channel").len().iter_rows():
        assert used <= capacity[channel], channel
    held = cq.filter(pl.col("policy") == "hold_out")
    assert held.height > 0 and not held["scheduled"].any()
    assert set(cq["policy"]) <= {"champion", "hold_out", "pre_due_reminder"}
    assert cq.filter(pl.col("policy") == "champion", pl.col("scheduled"))["action_reason_zh"].str.contains("元").all()


def test_the_plan_is_priced_against_the_truth_for_every_strategy(project: Path):
    policy = json.loads((project / "metrics" / "policy.json").read_text())
    values = policy["strategies"]
    assert set(values) == {"learned", "rules", "random", "oracle"}
    assert values["oracle"]["net"] >= max(values[s]["net"] for s in ("learned", "rules", "random")) - 1e-6
    assert values["learned"]["net"] > values["random"]["net"]
    assert policy["overdue_type"]["learned"]["n"] > 0
    assert [p["capacity_factor"] for p in policy["capacity_curve"]] == [0.25, 0.5, 1.0, 2.0, 4.0]
    effects = json.loads((project / "metrics" / "effects.json").read_text())
    assert effects["decisions_by_action"]["hold_out"] > 0


def test_each_model_is_tested_for_calibration_by_grade_and_passes_the_promotion_gate(project: Path):
    """Every candidate's grades carry a Jeffreys p-value and a traffic light; a fresh project's first candidate
    goes live; the model card and the report show both."""
    for name, grades in (("pd", {"A", "B", "C", "D", "E"}), ("early_warning", {f"P{i}" for i in range(1, 6)})):
        m = json.loads((project / "metrics" / f"{name}.json").read_text())
        for kind in ("lightgbm", "scorecard"):
            checks = m["calibration_by_grade"][kind]
            assert {g["grade"] for g in checks["grades"]} == grades
            assert all(g["traffic_light"] in ("green", "amber", "red", None) for g in checks["grades"])
            assert checks["auc"]["low"] <= checks["auc"]["auc"] <= checks["auc"]["high"]
        assert m["promotion"]["decision"] == "first" and m["promotion"]["live"]
        card = (project / "reports" / "model_cards" / f"{name}.md").read_text()
        assert "## Calibration by grade" in card and "## Promotion gate" in card
    pinned = json.loads((project / "models" / "pinned.json").read_text())
    assert set(pinned["risk-pd"]) == {"champion", "challenger", "scorecard"}
    assert "Calibration by grade on the test window" in (project / "reports" / "risk_report.html").read_text()


def test_each_scoring_run_is_monitored_against_the_training_window(project: Path):
    """The day's monitoring rows, one per measure and model, with a status; the report shows them over time."""
    params = yaml.safe_load((project / "params.yaml").read_text())
    con = duckdb.connect(str(project / "data" / "scored" / "risk.duckdb"), read_only=True)
    try:
        rows = con.sql("SELECT * FROM monitoring WHERE as_of = ?", params=[params["data"]["as_of"]]).pl()
    finally:
        con.close()
    assert set(rows["model"]) == {"pd", "early_warning", "cure"}
    assert {"score_psi", "feature_csi", "missing_rate_change", "approval_rate_change"} <= set(rows["measure"])
    assert set(rows["status"]) <= {"ok", "warning", "error"} and rows["value"].is_finite().all()
    assert "vintage" not in set(rows["feature"].drop_nulls())  # the calendar is not monitored
    assert "Monitoring" in (project / "reports" / "risk_report.html").read_text()


def test_the_pd_is_studied_for_reject_inference_and_the_scorecards_show_their_bins(project: Path):
    """Parcelling and fuzzy augmentation at each bad-rate factor against the accepts-only model, measured
    against the simulator's true PD through the door; every scorecard's bins in the model card and report."""
    study = json.loads((project / "metrics" / "reject_inference.json").read_text())
    assert set(study["methods"]) == {"none", "parcelling x1", "parcelling x1.5", "fuzzy x1", "fuzzy x1.5"}
    assert study["declined"]["train"] > 0 and study["best"] in study["methods"]
    for v in study["methods"].values():
        assert 0.5 < v["expected_auc"] < 1.0 and v["rmse"] > 0
        assert v["declined_mean_true"] > v["mean_true"]  # the declined are the riskier applicants
    card = (project / "reports" / "model_cards" / "pd.md").read_text()
    assert "## Reject inference" in card and "## Scorecard binning (challenger)" in card
    assert "| identity_verified | flag |" in card
    report = (project / "reports" / "risk_report.html").read_text()
    assert "Bins and rejects" in report and "Reject inference for the PD" in report


def test_the_day_gathers_case_evidence_only_for_the_loans_it_decides_on_and_decides_the_same(project: Path):
    """The stage's `score_loans` skips the evidence of loans no decision reads (most active loans are current and
    out of every queue): the collections plan, its options and the case tables equal those from evidence on
    every loan, and the skipped loans carry none rather than a wrong zero."""
    import dataclasses

    from risk import io
    from risk.cases.day import agreements_of_day, court_day
    from risk.config import load_params
    from risk.models import tracking
    from risk.paths import Paths
    from risk.score.score import decided_loans, plan_queue, score_loans
    from risk.score.stage import load_models, load_policy

    paths, params = Paths.at(project), load_params(project / "params.yaml")
    tracking.configure(paths.mlflow_uri)
    loaded = load_models(params.score.alias, paths.pinned_models)
    models = dataclasses.replace(loaded, policy=load_policy(paths, params))
    tables, as_of = io.read_book(paths.validated), params.data.as_of
    days = {}
    for decided_only in (False, True):
        scored = score_loans(tables, models, params, as_of=as_of, evidence_for_decisions=decided_only)
        cases = agreements_of_day(tables, params, as_of=as_of)  # then the plan and the court queues, as the stage
        queue, options = plan_queue(scored, models, params, as_of=as_of, agreements=cases.get("agreements_day"))
        cases.update(court_day(tables, scored, models.policy, params, as_of=as_of))
        days[decided_only] = scored, {**cases, "collections_queue": queue, "collections_options": options}
    (everywhere, want), (decided, got) = days[False], days[True]
    assert want["collections_queue"].height > 20 and want["collections_options"].height > 20
    for name, frame in want.items():
        assert got[name].equals(frame), f"{name} differs with the evidence of the decided loans only"
    skipped = decided.filter(~decided_loans(tables, params))
    assert 0.5 * decided.height < skipped.height < decided.height
    assert skipped["agreement_running"].is_null().all() and skipped["n_refused"].is_null().all()
    assert everywhere.filter(~decided_loans(tables, params))["agreement_running"].is_not_null().all()
