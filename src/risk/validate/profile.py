"""Each export against the previous accepted one: row counts, amount scales, null and category shares.

A file can pass every rule and still be wrong: a repayments export with a header and no rows, amounts in
fen instead of yuan, a status column whose codes were remapped. Yesterday's accepted export is the best
witness of what today's should look like, so validate keeps a small profile of it (``profile_of``) and
compares the new export with it (``compare``). A change beyond ``validate.shift`` is an error by name,
which ``validate.warn_only`` may downgrade once the change is understood. Profiles of different sources
(another simulated book, another export folder) are not compared: the first export of a source starts it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import polars as pl

from risk.config import ShiftParams
from risk.contract import CASE_TABLES, INPUT_TABLES, Table
from risk.validate.report import RuleResult
from risk.validate.rules import Rule, severity

TABLES: dict[str, Table] = {t.name: t for t in (*INPUT_TABLES, *CASE_TABLES)}
VERSION = 1


def profile_of(tables: Mapping[str, pl.DataFrame], *, source: str, as_of: dt.date) -> dict[str, Any]:
    """A JSON-ready profile: per table its rows, each column's null share, each categorical column's shares
    and each amount column's median (contract columns only)."""
    out: dict[str, Any] = {"version": VERSION, "source": source, "as_of": as_of.isoformat(), "tables": {}}
    for name, frame in tables.items():
        table = TABLES.get(name)
        if table is None:
            continue
        columns = [c for c in table.columns if c.name in frame.columns]
        rows = frame.height
        entry: dict[str, Any] = {"rows": rows, "null_share": {}, "categories": {}, "medians": {}}
        for c in columns:
            s = frame[c.name]
            entry["null_share"][c.name] = round(s.null_count() / rows, 6) if rows else 0.0
            if c.domain is not None and rows:
                entry["categories"][c.name] = {v: round(x, 6) for v, x in category_shares(s).items()}
            if c.unit == "RMB" and s.dtype.is_numeric():
                median = s.drop_nulls().median()
                entry["medians"][c.name] = None if median is None else float(median)
        out["tables"][name] = entry
    return out


def category_counts(s: pl.Series) -> dict[str, int]:
    """Each non-null value of ``s`` (as text) and its count: counted as they are (an enum's codes, not a million
    values as text), then named."""
    counts = s.drop_nulls().value_counts()
    return dict(zip(counts[s.name].cast(pl.String), counts["count"], strict=True))


def category_shares(s: pl.Series) -> dict[str, float]:
    """Each value's share of the non-null values of ``s`` (as text)."""
    return shares_of(category_counts(s))


def shares_of(counts: dict[str, int]) -> dict[str, float]:
    """Each value's share of ``counts`` (:func:`category_counts`)."""
    total = max(sum(counts.values()), 1)
    return {v: n / total for v, n in counts.items()}


def compare(
    previous: Mapping[str, Any] | None,
    current: Mapping[str, Any],
    params: ShiftParams,
    *,
    warn_only: tuple[str, ...] = (),
) -> list[RuleResult]:
    """One result per table and shift rule: the measures compared, each failing one named with both values.

    Nothing is compared (and nothing reported) without a previous profile of the same source.
    """
    if not previous or previous.get("version") != VERSION or previous.get("source") != current["source"]:
        return []
    results: list[RuleResult] = []
    since = f"previous export as of {previous['as_of']}"
    for name, now in current["tables"].items():
        before = previous["tables"].get(name)
        if before is None:
            continue
        results.append(_rows(name, before["rows"], now["rows"], params.max_row_ratio, since, warn_only))
        results += _by_column(
            name,
            Rule.AMOUNT_SCALE_SHIFT,
            _scale_changes(before["medians"], now["medians"], params.max_amount_ratio),
            f"each amount column's median within a factor {params.max_amount_ratio:g} of the {since} "
            "(validate.shift.max_amount_ratio): amounts in fen instead of yuan move it 100-fold",
            warn_only,
        )
        results += _by_column(
            name,
            Rule.NULL_SHARE_SHIFT,
            _share_changes(
                {k: {"null": v} for k, v in before["null_share"].items()},
                {k: {"null": v} for k, v in now["null_share"].items()},
                params.max_share_change,
            ),
            f"each column's share of nulls within {params.max_share_change:.0%} of the {since} "
            "(validate.shift.max_share_change)",
            warn_only,
        )
        results += _by_column(
            name,
            Rule.CATEGORY_SHARE_SHIFT,
            _share_changes(before["categories"], now["categories"], params.max_share_change),
            f"each category's share within {params.max_share_change:.0%} of the {since} "
            "(validate.shift.max_share_change): a remapped code moves a whole category",
            warn_only,
        )
    return results


def _rows(name: str, before: int, now: int, ratio: float, since: str, warn_only: tuple[str, ...]) -> RuleResult:
    shrank = before > 0 and (now == 0 or before / now > ratio)
    grew = now > 0 and (before == 0 or now / before > ratio)
    ok = not (shrank or grew)
    detail = (
        f"{name}: {now:,} rows, {since} {before:,}; expected within a factor {ratio:g} (validate.shift.max_row_ratio)"
    )
    examples = () if ok else ({"measure": "rows", "previous": before, "current": now},)
    sev = severity(name, None, Rule.ROW_COUNT_SHIFT, warn_only)
    return RuleResult(name, None, Rule.ROW_COUNT_SHIFT.value, sev, ok, int(not ok), examples, detail)


def _scale_changes(before: Mapping[str, float | None], now: Mapping[str, float | None], ratio: float) -> dict:
    """Per column: (previous median, current median, failed?) where both are positive."""
    out = {}
    for column, b in before.items():
        n = now.get(column)
        if b is None or n is None or b <= 0 or n <= 0:
            continue
        out[column] = [("median", b, n, max(n / b, b / n) > ratio)]
    return out


def _share_changes(before: Mapping[str, Mapping[str, float]], now: Mapping[str, Mapping[str, float]], limit: float):
    """Per column: (value, previous share, current share, failed?) for every value either export holds."""
    out = {}
    for column, shares in before.items():
        if column not in now:
            continue
        values = sorted(set(shares) | set(now[column]))
        out[column] = [
            (v, shares.get(v, 0.0), now[column].get(v, 0.0), abs(now[column].get(v, 0.0) - shares.get(v, 0.0)) > limit)
            for v in values
        ]
    return out


def _by_column(name: str, rule: Rule, changes: dict, detail: str, warn_only: tuple[str, ...]) -> list[RuleResult]:
    results = []
    for column, measures in changes.items():
        bad = [(m, b, n) for m, b, n, failed in measures if failed]
        examples = tuple({"measure": m, "previous": b, "current": n} for m, b, n in bad)
        sev = severity(name, column, rule, warn_only)
        results.append(RuleResult(name, column, rule.value, sev, not bad, len(bad), examples, detail))
    return results
