"""Personal data never leaves ingest: a lender's export with national ID numbers, phone numbers, names, gender
and ethnicity runs through every stage, and no output file holds any of them, nor the hashing salt.

The export is a simulated book in the ``mapping`` format (GBK, Chinese headers for the personal columns,
no borrower id: it comes from the salted hash). The stages run through the CLI in pipeline order (one
subprocess each, as `dvc repro` runs them); a last test checks that `dvc repro`'s load stage reads the export.
"""

from __future__ import annotations

import datetime as dt
import os
import pickle
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml

from risk.config import SimulateParams
from risk.contract import INPUT_TABLES
from risk.features.catalogue import FEATURES, MODEL_FEATURES
from risk.simulate import simulate

ROOT = Path(__file__).resolve().parents[2]
AS_OF = dt.date(2025, 12, 31)
SALT = "pii-salt-7f3a9c2e51d84b6b-私钥"
STAGES = ("ingest", "validate", "features", "train", "evaluate", "policy", "score")
pytestmark = [pytest.mark.slow]

# Whole tokens only: hex hashes and long numbers hold digit runs, never an 18- or 11-digit token of this shape.
ID_NUMBER = re.compile(
    rb"(?<![0-9A-Za-z.])[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}"
    rb"[\dXx](?![0-9A-Za-z])"
)
PHONE = re.compile(rb"(?<![0-9A-Za-z.])1[3-9]\d{9}(?![0-9A-Za-z])")
PROTECTED = (
    "gender",
    "sex",
    "ethnicity",
    "ethnic",
    "race",
    "nation",
    "religion",
    "marital",
    "marriage",
    "性别",
    "民族",
    "宗教",
    "婚姻",
)
PERSONAL = ("id_number", "phone", "name", "身份证号", "手机号", "姓名")
ETHNICITIES = ("汉族", "回族", "维吾尔族", "藏族", "壮族")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂"
AREAS = ("110105", "310104", "440305", "330106", "510107", "420106", "320102", "500103")
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(area: str, born: dt.date, sequence: int) -> str:
    """An 18-digit resident ID number (身份证号) with a valid check character."""
    body = f"{area}{born:%Y%m%d}{sequence:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, ID_WEIGHTS, strict=True)) % 11]


def people(borrowers: list[str], ages: dict[str, int], seed: int = 5) -> pl.DataFrame:
    """One invented person per borrower: ID number, mobile number, Chinese name, gender, ethnicity."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, b in enumerate(borrowers):
        born = dt.date(AS_OF.year - ages[b], 1 + i % 12, 1 + i % 28)
        rows.append(
            {
                "borrower_id": b,
                "身份证号": id_number(AREAS[i % len(AREAS)], born, i % 1000),
                "手机号": f"1{rng.integers(3, 10)}{rng.integers(0, 10**9):09d}",
                "姓名": SURNAMES[i % len(SURNAMES)] + "".join(rng.choice(list(GIVEN), 2)),
                "性别": "女" if i % 2 else "男",
                "民族": ETHNICITIES[i % len(ETHNICITIES)],
            }
        )
    return pl.DataFrame(rows)


def _env() -> dict[str, str]:
    env = {
        **os.environ,
        "DVC_NO_ANALYTICS": "1",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "GIT_PYTHON_REFRESH": "quiet",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "RISK_PII_SALT": SALT,
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def write_export(folder: Path, n_loans: int) -> pl.DataFrame:
    """A lender's export of a simulated book, with personal data in place of borrower ids; returns the people."""
    tables = simulate(SimulateParams(n_loans=n_loans, pending_applications=100), as_of=AS_OF, seed=11)
    apps = tables["applications"]
    ages = dict(apps.group_by("borrower_id").agg(pl.col("age").first()).iter_rows())
    who = people(sorted(ages), ages)
    folder.mkdir(parents=True)
    export = {
        "进件.csv": apps.join(who, on="borrower_id", how="left", maintain_order="left")
        .drop("borrower_id")
        .rename({"application_id": "进件号", "applied_at": "申请时间"}),
        "借据.csv": tables["loans"]
        .join(who.select("borrower_id", "身份证号", "姓名"), on="borrower_id", how="left", maintain_order="left")
        .drop("borrower_id"),
        **{f"{t}.csv": tables[t] for t in ("schedule", "repayments", "collection_actions")},
    }
    for name, frame in export.items():
        text = frame.write_csv(datetime_format="%Y-%m-%d %H:%M:%S", date_format="%Y-%m-%d")
        (folder / name).write_bytes(text.encode("gbk"))
    return who


def ingest_params(export: Path) -> dict:
    return {
        "format": "mapping",
        "path": str(export),
        "encoding": "gbk",
        "files": {"applications": "进件.csv", "loans": "借据.csv"},
        "columns": {
            "applications": {
                "application_id": "进件号",
                "applied_at": "申请时间",
                "id_number": "身份证号",
                "phone": "手机号",
                "name": "姓名",
            },
            "loans": {"id_number": "身份证号", "name": "姓名"},
        },
    }


def make_project(folder: Path, export: Path) -> Path:
    folder.mkdir(parents=True)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"] = {"source": "ingest", "as_of": AS_OF.isoformat()}
    params["ingest"] = ingest_params(export)
    (folder / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, pl.DataFrame]:
    """The whole pipeline on the export, stage by stage through the CLI; the project and the people in it."""
    root = tmp_path_factory.mktemp("privacy")
    who = write_export(root / "export", n_loans=3000)
    project = make_project(root / "project", root / "export")
    for stage in STAGES:
        _run([sys.executable, "-m", "risk.cli", stage], project)
    return project, who


def output_files(project: Path) -> list[Path]:
    files = [p for p in sorted(project.rglob("*")) if p.is_file() and p.name != "params.yaml"]
    assert {"data", "models", "metrics", "plots", "reports", "mlflow.db", "mlruns"} <= {
        p.relative_to(project).parts[0] for p in files
    }
    return files


DIGIT_RUN = re.compile(rb"[0-9Xx]{11,}")
HANZI_RUN = re.compile(rb"(?:[\xe4-\xe9][\x80-\xbf]{2}){3,}")  # U+4E00..U+9FFF, where the names' characters are


def windows_of(blob: bytes, run: re.Pattern, *, sizes: tuple[int, ...], step: int) -> set[bytes]:
    """Every substring of ``blob`` of a length in ``sizes`` inside a match of ``run``, at multiples of ``step``."""
    out: set[bytes] = set()
    for m in run.finditer(blob):
        s = m.group(0)
        for n in sizes:
            out.update(s[i : i + n] for i in range(0, len(s) - n + 1, step))
    return out


def where(files: list[Path], needle: bytes | re.Pattern) -> list[str]:
    found = []
    for p in files:
        data = p.read_bytes()
        hit = needle.search(data) if isinstance(needle, re.Pattern) else (needle if needle in data else None)
        if hit:
            found.append(f"{p}: {hit.group(0) if isinstance(needle, re.Pattern) else needle!r}")
    return found


def test_the_pipeline_ran_on_the_export_with_hashed_borrower_ids(run):
    """The export, not a simulation, fed the run: borrower ids are salted hashes, one per person across tables."""
    project, who = run
    raw = {t.name: pl.read_parquet(project / "data" / "raw" / f"{t.name}.parquet") for t in INPUT_TABLES}
    assert raw["applications"]["borrower_id"].str.contains(r"^[0-9a-f]{64}$").all()
    linked = raw["loans"].join(raw["applications"], on="application_id", suffix="_app")
    assert linked.height == raw["loans"].height
    assert (linked["borrower_id"] == linked["borrower_id_app"]).all()
    assert raw["applications"]["borrower_id"].n_unique() == who.height
    assert (project / "data" / "scored" / f"as_of={AS_OF.isoformat()}" / "review_queue.parquet").exists()


def test_no_raw_personal_value_is_written_anywhere(run):
    """No ID number, phone number or name of the export appears, as bytes, in any output file."""
    project, who = run
    files = output_files(project)
    values = {v.encode("utf-8") for c in ("身份证号", "手机号", "姓名") for v in who[c].to_list()}
    blob = b"\0".join(p.read_bytes() for p in files)
    # every window of an ID or phone number's length in each digit run, of a name's in each run of Chinese
    # characters (UTF-8: three bytes each), instead of one scan of the whole output per value
    windows = windows_of(blob, DIGIT_RUN, sizes=(11, 18), step=1) | windows_of(blob, HANZI_RUN, sizes=(9,), step=3)
    leaked = sorted(v.decode() for v in values & windows)
    assert leaked == [], f"{len(leaked)} raw values leaked, e.g. {leaked[:5]}: {where(files, leaked[0].encode())}"


@pytest.mark.parametrize(("kind", "pattern"), [("ID number", ID_NUMBER), ("phone number", PHONE)])
def test_no_id_or_phone_number_pattern_is_written_anywhere(run, kind: str, pattern: re.Pattern):
    """Nothing shaped like a resident ID number or a mainland mobile number is in any output file."""
    project, _ = run
    assert where(output_files(project), pattern) == [], kind


def test_the_salt_is_written_nowhere(run):
    """The salt decides every borrower id; it stays in the environment, never in an output or a log."""
    project, _ = run
    for needle in (SALT.encode("utf-8"), SALT.split("-私钥")[0].encode()):
        assert where(output_files(project), needle) == []


def test_protected_attributes_never_reach_features_or_models(run):
    """Gender and ethnicity in the export are left out at ingest: no table, feature or fitted model has them."""
    project, _ = run

    def protected(names) -> list[str]:
        return [n for n in names if any(p in n.lower() for p in PROTECTED + PERSONAL)]

    assert protected(f.name for f in FEATURES) == []
    for fitted in sorted((project / "models" / "fitted").glob("*.pkl")):
        model = pickle.loads(fitted.read_bytes())
        assert set(model.features) <= set(MODEL_FEATURES[model.name]), fitted.name
        assert protected(model.features) == [], fitted.name
    for parquet in sorted((project / "data").rglob("*.parquet")):
        assert protected(pl.read_parquet_schema(parquet)) == [], parquet
    files = output_files(project)
    for value in ETHNICITIES:
        assert where(files, value.encode("utf-8")) == [], value


def test_dvc_repro_reads_the_export_when_data_source_is_ingest(tmp_path: Path):
    """With data.source: ingest, `dvc repro` builds data/raw from the export (no personal data in it)."""
    who = write_export(tmp_path / "export", n_loans=300)
    project = make_project(tmp_path / "project", tmp_path / "export")
    for name in ("dvc.yaml", "pyproject.toml"):
        shutil.copy(ROOT / name, project / name)
    shutil.copytree(ROOT / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__"))
    _run(["git", "init", "-q"], project)
    _run(["dvc", "init", "-q"], project)
    _run(["dvc", "repro", "validate"], project)
    applications = pl.read_parquet(project / "data" / "raw" / "applications.parquet")
    assert applications["borrower_id"].str.contains(r"^[0-9a-f]{64}$").all()
    assert applications["borrower_id"].n_unique() == who.height


def test_the_scan_finds_planted_values():
    """The scan itself works: an ID number, a phone number and a name hidden in binary bytes are found."""
    who = people(["b1"], {"b1": 30})
    planted = [who[c][0].encode("utf-8") for c in ("身份证号", "手机号", "姓名")]
    blob = b"\x00\xff" + b"\x01".join(planted) + b"\xe4\xb8\x80"
    windows = windows_of(blob, DIGIT_RUN, sizes=(11, 18), step=1) | windows_of(blob, HANZI_RUN, sizes=(9,), step=3)
    assert set(planted) <= windows
    assert ID_NUMBER.search(blob) and PHONE.search(blob)
