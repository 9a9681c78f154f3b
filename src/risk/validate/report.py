"""What validation found: one :class:`RuleResult` per rule checked, summarised as JSON, HTML or an error."""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from dataclasses import dataclass, field
from typing import Any

from risk.contract import CASE_TABLES
from risk.exceptions import RiskDataError, ValidationFailed
from risk.validate.rules import Severity

CASE_TABLE_NAMES = frozenset(t.name for t in CASE_TABLES)


@dataclass(frozen=True)
class RuleResult:
    """The outcome of one rule on one table (and column, where the rule has one).

    ``failing_rows`` counts rows of ``table`` that break the rule, except for ``instalments_contiguous``
    (loans) and ``extra_columns`` (columns); ``examples`` holds up to ``max_examples`` of them as dicts
    with the key columns and the offending column.
    """

    table: str
    column: str | None
    rule: str
    severity: Severity
    success: bool
    failing_rows: int = 0
    examples: tuple[dict[str, Any], ...] = ()
    detail: str = ""  # what the rule expects, in words

    @property
    def where(self) -> str:
        return ".".join(p for p in (self.table, self.column) if p)

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "column": self.column,
            "rule": self.rule,
            "severity": self.severity.value,
            "success": self.success,
            "failing_rows": self.failing_rows,
            "detail": self.detail,
            "examples": [{k: _jsonable(v) for k, v in e.items()} for e in self.examples],
        }

    def to_error(self) -> RiskDataError:
        return RiskDataError(
            self.detail or "rule failed",
            table=self.table,
            column=self.column,
            rule=self.rule,
            failing_rows=self.failing_rows,
            examples=[{k: _jsonable(v) for k, v in e.items()} for e in self.examples],
        )


@dataclass(frozen=True)
class ValidationReport:
    """Every rule checked on the five input tables and the case tables present, as of ``as_of``.

    ``row_counts`` maps each table to its row count (None when the table was missing, or, for a case
    table, absent). ``profile`` is this export's (kept when it is accepted, to judge the next one) and
    ``compared_with`` names the previous export it was compared with, if any.
    """

    as_of: dt.date
    row_counts: dict[str, int | None]
    results: tuple[RuleResult, ...] = field(default_factory=tuple)
    profile: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    compared_with: str | None = None

    @property
    def errors(self) -> list[RuleResult]:
        """Failed rules that stop the pipeline."""
        return [r for r in self.results if not r.success and r.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[RuleResult]:
        """Failed rules that are only reported."""
        return [r for r in self.results if not r.success and r.severity is Severity.WARNING]

    @property
    def notes(self) -> list[RuleResult]:
        """Informational results: what the export does not hold (an optional case table, for one)."""
        return [r for r in self.results if not r.success and r.severity is Severity.INFO]

    @property
    def passed(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: row counts and every rule's result, per table."""
        return {
            "as_of": self.as_of.isoformat(),
            "passed": self.passed,
            "n_errors": len(self.errors),
            "n_warnings": len(self.warnings),
            "n_notes": len(self.notes),
            "compared_with": self.compared_with,
            "tables": {
                name: {"rows": rows, "results": [r.to_dict() for r in self.results if r.table == name]}
                for name, rows in self.row_counts.items()
            },
        }

    def raise_for_errors(self) -> None:
        """Raise :class:`ValidationFailed` listing every error-level failure; do nothing if there is none."""
        if self.errors:
            raise ValidationFailed([r.to_error() for r in self.errors])

    def to_html(self) -> str:
        """A self-contained HTML page: a summary, then one section per table with a row per rule."""
        verdict = "passed" if self.passed else "FAILED"
        head = (
            f"<h1>Validation report, as of {self.as_of.isoformat()}: {verdict}</h1>"
            f"<p>{len(self.errors)} error(s), {len(self.warnings)} warning(s), {len(self.notes)} note(s), "
            f"{len(self.results)} rule(s) checked.</p>"
            f"<p>{self._shift_summary()}</p>"
        )
        sections = [self._html_section(name, rows) for name, rows in self.row_counts.items()]
        return _PAGE.format(title=f"Validation {self.as_of.isoformat()}", body=head + "".join(sections))

    def _shift_summary(self) -> str:
        if self.compared_with is None:
            return "Not compared with a previous export: this is the first accepted export of its source."
        shifts = [r for r in self.results if r.rule.endswith("_shift")]
        failed = [r for r in shifts if not r.success]
        return (
            f"Compared with the previous accepted export as of {_e(self.compared_with)}: "
            f"{len(shifts) - len(failed)} of {len(shifts)} shift check(s) within the limits "
            "(rows, amount scales, null and category shares; rules *_shift in each table below)."
        )

    def _html_section(self, name: str, rows: int | None) -> str:
        results = sorted((r for r in self.results if r.table == name), key=lambda r: (r.success, r.severity != "error"))
        count = "missing" if rows is None else f"{rows:,} rows"
        if rows is None and name in CASE_TABLE_NAMES:
            count = "absent, optional"
        body = "".join(_html_row(r) for r in results)
        return (
            f'<section id="{_e(name)}"><h2>{_e(name)} <small>({count})</small></h2>'
            "<table><thead><tr><th>status</th><th>column</th><th>rule</th><th>severity</th>"
            "<th>failing</th><th>detail</th><th>examples</th></tr></thead>"
            f"<tbody>{body}</tbody></table></section>"
        )


def _html_row(r: RuleResult) -> str:
    status = "pass" if r.success else r.severity.value
    examples = ""
    if r.examples:
        lines = [json.dumps({k: _jsonable(v) for k, v in e.items()}, ensure_ascii=False) for e in r.examples]
        examples = f"<pre>{_e(chr(10).join(lines))}</pre>"
    return (
        f'<tr class="{status}"><td>{status}</td><td>{_e(r.column or "")}</td><td>{_e(r.rule)}</td>'
        f"<td>{_e(r.severity.value)}</td><td>{r.failing_rows:,}</td><td>{_e(r.detail)}</td>"
        f"<td>{examples}</td></tr>"
    )


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _jsonable(value: Any) -> Any:
    """Dates as ISO strings and NaN/inf as strings, so the JSON stays strict and readable."""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; width: 100%; margin-bottom: 2em; font-size: 0.9em; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }}
th {{ background: #f0f0f0; }}
tr.pass td:first-child {{ background: #d8f0d8; }}
tr.error td {{ background: #f8d7d7; }}
tr.warning td {{ background: #fff1c9; }}
tr.info td {{ background: #e3eefb; }}
pre {{ margin: 0; font-size: 0.85em; white-space: pre-wrap; }}
small {{ color: #666; font-weight: normal; }}
</style></head>
<body>{body}</body></html>
"""
