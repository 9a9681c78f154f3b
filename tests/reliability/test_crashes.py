"""Crashes and races on a real project: a SIGKILL midway through `risk features` or `risk score` leaves the
previous outputs whole and a rerun completes; two scorings of one day leave one copy of it; the same seed
gives the same scores.

One small project (a copy of the session's pipeline project, after its `dvc repro`) serves every test; a twin
built from the same params and reproduced on its own checks reproducibility. A killed run is given a slow disk (each
Parquet file written into a temporary folder, or the DuckDB transaction after its DELETE, is followed by a
long sleep) so that the SIGKILL lands while the new output is half written, not before or after it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml
from polars.testing import assert_frame_equal
from tests.conftest import make_project

from risk import io
from risk.score.sinks import STAGING

ROOT = Path(__file__).resolve().parents[2]
QUEUES = ("collections_queue", "review_queue")
KEYS = {"collections_queue": "loan_id", "review_queue": "application_id"}
pytestmark = [pytest.mark.slow]

# Runs the CLI with a slow disk: after the first Parquet file written into a temporary folder (CRASH_AT=parquet),
# or after the DELETE of DuckDB's day replacement (CRASH_AT=duckdb, touching CRASH_MARKER), it sleeps, so
# that a SIGKILL from the test lands midway through the write.
SLOW_DISK = """
import os, sys, time
from pathlib import Path
import duckdb, polars as pl

where = os.environ.get("CRASH_AT")
if where == "parquet":
    write = pl.DataFrame.write_parquet
    def slow_write(self, file, *args, **kwargs):
        write(self, file, *args, **kwargs)
        if ".tmp-" in str(file):
            time.sleep(60)
    pl.DataFrame.write_parquet = slow_write
elif where == "duckdb":
    connect = duckdb.connect
    class SlowConnection:
        def __init__(self, con):
            self._con = con
        def __getattr__(self, name):
            return getattr(self._con, name)
        def cursor(self):  # the scored days are attached to one DuckDB and written through its cursors
            return SlowConnection(self._con.cursor())
        def execute(self, sql, *args, **kwargs):
            out = self._con.execute(sql, *args, **kwargs)
            if sql.lstrip().upper().startswith("DELETE"):
                Path(os.environ["CRASH_MARKER"]).touch()
                time.sleep(60)
            return out
    duckdb.connect = lambda *a, **k: SlowConnection(connect(*a, **k))

from risk.cli import app
sys.argv[0] = "risk"
app()
"""


def _env(**extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DVC_NO_ANALYTICS": "1",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "GIT_PYTHON_REFRESH": "quiet",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        **extra,
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def risk(*args: str) -> list[str]:
    return [sys.executable, "-m", "risk.cli", *args]


@pytest.fixture(scope="module")
def projects(tmp_path_factory, pipeline_project: Path) -> tuple[Path, Path, Path]:
    """A copy of the session's small project after `dvc repro`, its twin (a fresh project from the same params,
    reproduced on its own) and a copy of the project's first scored day (the tests below rescore the project)."""
    project = Path(shutil.copytree(pipeline_project, tmp_path_factory.mktemp("project") / "project", symlinks=True))
    twin = make_project(tmp_path_factory.mktemp("twin"))  # make_project's book, as the session's project has
    proc = subprocess.run(["dvc", "repro"], cwd=twin, env=_env(), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"dvc repro in {twin} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
    first = tmp_path_factory.mktemp("first") / "scored"
    shutil.copytree(project / "data" / "scored", first)
    return project, twin, first


@pytest.fixture(scope="module")
def project(projects) -> Path:
    return projects[0]


def as_of(project: Path) -> dt.date:
    return dt.date.fromisoformat(yaml.safe_load((project / "params.yaml").read_text())["data"]["as_of"])


def hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def duckdb_day(project: Path, day: dt.date) -> dict[str, pl.DataFrame]:
    """Each queue's rows for ``day`` in DuckDB, sorted, and the row count of every day."""
    con = duckdb.connect(str(project / "data" / "scored" / "risk.duckdb"), read_only=True)
    try:
        out = {name: con.sql(f"SELECT * FROM {name} WHERE as_of = ?", params=[day]).pl() for name in QUEUES}
        out |= {
            f"{name} per day": con.sql(f"SELECT as_of, count(*) n FROM {name} GROUP BY 1 ORDER BY 1").pl()
            for name in QUEUES
        }
    finally:
        con.close()
    return {k: v.sort(v.columns[:3]) if "per day" not in k else v for k, v in out.items()}


def scored_parquet(project: Path, day: dt.date, *, scored: Path | None = None) -> dict[str, pl.DataFrame]:
    folder = (scored or project / "data" / "scored") / f"as_of={day.isoformat()}"
    return {name: pl.read_parquet(folder / f"{name}.parquet") for name in QUEUES}


def variant_params(project: Path, name: str, section: str, key: str, value: object) -> Path:
    """A params file in the project root (so the same root) with one value changed: a run whose output differs."""
    params = yaml.safe_load((project / "params.yaml").read_text())
    params[section][key] = value
    path = project / name
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def kill_midway(args: list[str], cwd: Path, *, crash_at: str, ready, timeout: float = 300) -> None:
    """Start ``risk <args>`` on a slow disk, SIGKILL it as soon as ``ready()`` holds, and check it was still running."""
    marker = cwd / ".crash-marker"
    marker.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_DISK, *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(CRASH_AT=crash_at, CRASH_MARKER=str(marker)),
    )
    deadline = time.monotonic() + timeout
    try:
        while not ready(marker):
            assert proc.poll() is None, f"the run ended before the crash point:\n{proc.stdout.read()[-3000:]}"
            assert time.monotonic() < deadline, "the crash point was never reached"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        marker.unlink(missing_ok=True)


def leftovers(parent: Path, name: str) -> list[Path]:
    """Temporary paths beside ``parent / name`` (an atomic writer's, or one a killed run left)."""
    return sorted(parent.glob(f".{name}.tmp-*"))


def _tmp_with_a_file(parent: Path, prefix: str):
    """``ready`` for kill_midway: a temporary folder ``.<prefix>.tmp-*`` in ``parent`` holds a file."""
    return lambda _marker: any(p.is_file() for t in parent.glob(f".{prefix}.tmp-*") for p in t.rglob("*"))


def loan_snapshots(project: Path) -> pl.DataFrame:
    return pl.read_parquet(project / "data" / "features" / "loan_snapshots", hive_partitioning=True).sort(
        "loan_id", "as_of"
    )


def test_sigkill_midway_through_features_keeps_the_previous_features(project: Path):
    """Killed while writing the new snapshots, `risk features` leaves data/features as it was; a rerun completes."""
    features = project / "data" / "features"
    before, snapshots = hashes(features), loan_snapshots(project)
    # a run whose features differ, so that old and new are told apart
    params = variant_params(project, "params-crash.yaml", "features", "late_grace_days", 9)
    kill_midway(
        ["features", "--params", str(params)],
        project,
        crash_at="parquet",
        ready=_tmp_with_a_file(project / "data", "features"),
    )
    assert hashes(features) == before
    assert leftovers(project / "data", "features")  # the kill left its half-written folder, hidden
    _run(risk("features"), project)
    assert leftovers(project / "data", "features") == []  # the rerun cleared it
    rerun = loan_snapshots(project)
    assert rerun.schema == snapshots.schema
    assert_frame_equal(rerun.select("loan_id", "as_of"), snapshots.select("loan_id", "as_of"))


def test_features_rerun_on_the_same_inputs_gives_the_same_snapshots(project: Path):
    """Rerunning `risk features` on unchanged validated tables gives exactly the same snapshots."""
    snapshots = loan_snapshots(project)
    _run(risk("features"), project)
    assert_frame_equal(loan_snapshots(project), snapshots, check_exact=True)


@pytest.mark.parametrize("crash_at", ["parquet", "duckdb"])
def test_sigkill_midway_through_score_keeps_the_previous_day(project: Path, crash_at: str):
    """Killed while staging the day's Parquet folder, or inside DuckDB's day replacement (before the commit),
    `risk score` leaves the previous day whole in both sinks; a rerun completes and discards the staged folder."""
    day = as_of(project)
    folder = project / "data" / "scored" / f"as_of={day.isoformat()}"
    before_parquet, before_duckdb = hashes(folder), duckdb_day(project, day)
    # a run whose queues differ, so that the old day and the new are told apart
    params = variant_params(project, "params-crash.yaml", "score", "at_risk_threshold", 0.02)
    staging = folder.parent / STAGING  # the day's Parquet is written there first, swapped in after the commit
    ready = _tmp_with_a_file(staging, folder.name) if crash_at == "parquet" else lambda marker: marker.exists()
    kill_midway(["score", "--params", str(params)], project, crash_at=crash_at, ready=ready)
    assert hashes(folder) == before_parquet  # killed before the database committed: no new day in either sink
    if crash_at == "parquet":
        assert leftovers(staging, folder.name)  # the kill left its half-written folder, hidden and staged
    after = duckdb_day(project, day)
    for name, frame in before_duckdb.items():
        assert_frame_equal(after[name], frame, check_exact=True)
    _run(risk("score"), project)
    assert_one_copy(project, day)
    assert not staging.exists()
    rerun = duckdb_day(project, day)
    for name in QUEUES:
        key = KEYS[name]
        assert rerun[name][key].sort().to_list() == before_duckdb[name][key].sort().to_list()


def assert_one_copy(project: Path, day: dt.date) -> None:
    """The day is in one Parquet folder and once in DuckDB, with the same rows in both."""
    parquet = scored_parquet(project, day)
    in_duckdb = duckdb_day(project, day)
    for name in QUEUES:
        key = KEYS[name]
        assert in_duckdb[name].height == parquet[name].height > 0, name
        assert in_duckdb[name][key].is_unique().all() and parquet[name][key].is_unique().all(), name
        assert in_duckdb[name][key].sort().to_list() == parquet[name][key].sort().to_list(), name
    # nothing else a glob such as data/scored/*/collections_queue.parquet would read as that day
    days = sorted((project / "data" / "scored").glob(f"*as_of={day.isoformat()}*"))
    assert days == [project / "data" / "scored" / f"as_of={day.isoformat()}"], days


def test_two_concurrent_scorings_of_one_day_leave_one_copy(project: Path):
    """Two `risk score` runs of one as_of at once: each ends ok or with LockHeld (75), and the day is there once."""
    day = as_of(project)
    procs = [
        subprocess.Popen(
            risk("score"), cwd=project, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    codes = [p.returncode for p in procs]
    assert set(codes) <= {0, 75} and 0 in codes, "\n".join(outs)
    for out, code in zip(outs, codes, strict=True):
        if code == 75:
            assert "risk score: error:" in out and "Traceback" not in out, out
    assert_one_copy(project, day)


def test_the_same_seed_gives_the_same_scores(projects: tuple[Path, Path, Path]):
    """`dvc repro` (simulate ... score) twice from the same params and seed: identical scored values."""
    project, twin, first = projects
    day = as_of(project)
    for name in QUEUES:
        key = KEYS[name]
        mine, theirs = scored_parquet(project, day, scored=first)[name], scored_parquet(twin, day)[name]
        assert mine.height > 0
        assert_frame_equal(mine.sort(key), theirs.sort(key))


def test_a_crash_between_the_renames_of_a_folder_swap_leaves_old_or_new_whole(tmp_path: Path, monkeypatch):
    """Replacing a folder must never pass through a moment without it: a crash at any point of the swap leaves
    the old folder or the new one at the target."""
    target = tmp_path / "out"
    io.write_tables({"t": pl.DataFrame({"x": [1]})}, target)
    real_rename = os.rename
    calls = []

    class Crash(BaseException):
        pass

    def dying_rename(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:  # dies after moving the old folder aside, before moving the new one in
            raise Crash
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", dying_rename)
    with contextlib.suppress(Crash):  # an atomic exchange makes no second rename to die in
        io.write_tables({"t": pl.DataFrame({"x": [2]})}, target)
    monkeypatch.setattr(os, "rename", real_rename)
    assert pl.read_parquet(target / "t.parquet")["x"].to_list() in ([1], [2])
