"""Edge of the validate stage: read the raw tables, validate, write the report and the validated tables."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from risk import io
from risk.config import ValidateParams
from risk.contract import INPUT_TABLES, conform
from risk.validate.core import validate_tables
from risk.validate.report import ValidationReport


def run(
    raw_dir: Path, validated_dir: Path, reports_dir: Path, *, as_of: dt.date, params: ValidateParams
) -> ValidationReport:
    """Validate ``raw_dir``; write the report always and the conformed tables only when no error fails.

    ``reports_dir`` receives ``validation.html`` and ``validation.json`` even when validation fails, so
    the user can read what to fix; ``validated_dir`` is replaced at once, and left untouched on failure.

    Raises
    ------
    ValidationFailed
        When an error-level rule fails (after the report is written).
    """
    names = tuple(t.name for t in INPUT_TABLES)
    tables = io.read_tables(raw_dir, optional=names)  # a missing file is reported as table_present
    report = validate_tables(tables, as_of=as_of, params=params)
    io.write_text(report.to_html(), Path(reports_dir) / "validation.html")
    io.write_json(report.to_dict(), Path(reports_dir) / "validation.json")
    report.raise_for_errors()
    io.write_tables({t.name: conform(tables[t.name], t) for t in INPUT_TABLES}, validated_dir)
    return report
