"""Edge of the validate stage: read the raw tables, validate, write the report and the validated tables."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import polars as pl

from risk import io
from risk.attributes import TABLE as ATTRIBUTES
from risk.attributes import attributes_table, from_manifest
from risk.config import CollectionRules, Params, ValidateParams
from risk.contract import CASE_TABLES, INPUT_TABLES, conform
from risk.exceptions import RiskDataError
from risk.paths import Paths
from risk.validate.core import DEFAULT_RULES, validate_tables
from risk.validate.report import ValidationReport
from risk.validate.structure import with_absent_nullable


def run(
    raw_dir: Path,
    validated_dir: Path,
    reports_dir: Path,
    *,
    as_of: dt.date,
    params: ValidateParams,
    rules: CollectionRules = DEFAULT_RULES,
    profile: Path | None = None,
) -> ValidationReport:
    """Validate ``raw_dir``; write the report always and the conformed tables only when no error fails.

    ``profile`` is the file keeping the last accepted export's profile: read to compare this export with
    it, and replaced by this export's once it is accepted (None: no comparison).

    ``reports_dir`` receives ``validation.html`` and ``validation.json`` even when validation fails, so
    the user can read what to fix; ``validated_dir`` is replaced at once, and left untouched on failure.
    The case tables are optional: those in ``raw_dir`` are validated and written, the others noted in
    the report. ``rules`` holds the thresholds of the lawful-collection rules (params' ``collection_rules``).

    Raises
    ------
    ValidationFailed
        When an error-level rule fails (after the report is written).
    """
    names = tuple(t.name for t in INPUT_TABLES)
    # a missing input file is reported as table_present, a missing case table (always optional) as table_absent
    tables = io.read_tables(raw_dir, (*INPUT_TABLES, *CASE_TABLES), optional=names)
    manifest = io.read_manifest(raw_dir)
    extra: dict[str, pl.DataFrame] = {}
    if manifest.get("mode") == io.APPLICATION_ONLY:
        params = replace(params, warn_only=(*params.warn_only, *lacking_columns(tables)))
        extra["outcomes"] = io.read_parquet(Path(raw_dir) / "outcomes.parquet", table="outcomes")
    attributes = from_manifest(manifest)
    if attributes:
        tables[ATTRIBUTES] = io.read_parquet(Path(raw_dir) / f"{ATTRIBUTES}.parquet", table=ATTRIBUTES)
    previous = read_profile(profile) if profile is not None else None
    source = str(manifest.get("source", ""))
    report = validate_tables(
        tables, as_of=as_of, params=params, rules=rules, source=source, previous=previous, attributes=attributes
    )
    io.write_text(report.to_html(), Path(reports_dir) / "validation.html")
    io.write_json(report.to_dict(), Path(reports_dir) / "validation.json")
    report.raise_for_errors()
    conformed = {
        t.name: conform(with_absent_nullable(tables[t.name], t), t)
        for t in (*INPUT_TABLES, *CASE_TABLES)
        if t.name in tables
    }
    if attributes:
        extra[ATTRIBUTES] = conform(tables[ATTRIBUTES], attributes_table(attributes))
    io.write_tables(
        {**conformed, **extra}, validated_dir, manifest=manifest, compression=io.READ_OFTEN, one_row_group=True
    )
    if profile is not None and report.profile is not None:
        io.write_json(report.profile, profile)
    return report


def run_project(paths: Paths, params: Params) -> ValidationReport:
    """:func:`run` on the project's folders with its params: what ``risk validate`` and ``risk run`` call."""
    return run(
        paths.raw,
        paths.validated,
        paths.reports,
        as_of=params.data.as_of,
        params=params.validate,
        rules=params.collection_rules,
        profile=paths.export_profile,
    )


def read_profile(path: Path) -> dict | None:
    """The previous accepted export's profile; None when there is none yet (the first export of a project).

    Raises
    ------
    RiskDataError
        When the file is there but unreadable (it is written atomically, so only a hand edit does that).
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        msg = f"cannot read the previous export's profile {path} ({e}); delete it to compare from the next export on"
        raise RiskDataError(msg, rule="readable_profile") from None


def lacking_columns(tables: dict[str, pl.DataFrame]) -> list[str]:
    """``table.column.not_null`` for every required column a source left wholly empty.

    An application-only source (one row per application with an outcome, no history) lacks many
    columns; each is reported as a warning naming it, instead of failing the run, and the models
    simply get no signal from it.
    """
    lacking = []
    for t in INPUT_TABLES:
        frame = tables.get(t.name)
        if frame is None or frame.is_empty():
            continue
        for c in t.columns:
            if not c.nullable and c.name in frame.columns and frame[c.name].null_count() == frame.height:
                lacking.append(f"{t.name}.{c.name}.not_null")
    return lacking
