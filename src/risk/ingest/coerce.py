"""Turn source columns (usually text read from CSV) into the contract's types, naming every failure.

Readers load CSV columns as text so that nothing is guessed; this module parses numbers, dates and
flags per contract column and raises :class:`~risk.exceptions.RiskDataError` with the table, the
column, the rule and a few of the offending values when a value does not parse.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import polars as pl

from risk.config import IngestParams
from risk.contract import Column, Table
from risk.exceptions import RiskDataError

LOCAL_TIMEZONE = IngestParams.timezone  # the default of ingest.timezone, kept in one place

# Tried in order when no format is configured; the first that parses every value wins.
DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y%m%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M",
)
TRUE_TEXT = ("true", "t", "1", "1.0", "yes", "y", "是", "已认证", "已验证")
FALSE_TEXT = ("false", "f", "0", "0.0", "no", "n", "否", "未认证", "未验证")
# markers exports write for "no value" in number, date and flag columns (pandas writes "nan")
MISSING_TEXT = ("nan", "na", "n/a", "#n/a", "null", "none", "-")
# a UTC offset closing a timestamp ("...10:00:00+08:00", "+0800", "-05", "...02:00:00Z", "... UTC"); only after a
# time of day, so that the "-05" of "2025-03-05" is never taken for one
OFFSET_AT_END = r"(?i)^(?P<wall>.*\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?)\s*(?P<offset>z|utc|[+-]\d{2}(?::?\d{2})?)$"


def _blank_to_null(s: pl.Series, *, markers: bool = False) -> pl.Series:
    s = s.str.strip_chars()
    keep = s.str.len_chars() > 0
    if markers:
        keep = keep & ~s.str.to_lowercase().is_in(MISSING_TEXT)
    return pl.select(pl.when(keep).then(s)).to_series().alias(s.name)


def as_text(s: pl.Series, *, table: str, column: str | None = None) -> pl.Series:
    """``s`` cast to text; a column with no text form (lists, structs from a Parquet export) is an error."""
    try:
        return s.cast(pl.String)
    except pl.exceptions.PolarsError:
        msg = f"expected text, numbers, dates or flags, got a {s.dtype} column"
        raise RiskDataError(msg, table=table, column=column or s.name, rule="dtype") from None


def _examples(raw: pl.Series, bad: pl.Series) -> list[str]:
    return raw.filter(bad).unique(maintain_order=True).head(5).to_list()


def parse_number(s: pl.Series, *, table: str, column: str | None = None) -> pl.Series:
    """Parse text as Float64: blanks and ``nan``/``NA``/``null`` are null; ``1,234.5``, ``¥12``, ``1.0E+05``
    and ``12%`` (= 0.12) are understood."""
    column = column or s.name
    if s.dtype.is_numeric():
        return s.cast(pl.Float64)
    if s.dtype == pl.Boolean:
        return s.cast(pl.Float64)
    if s.dtype != pl.String:
        msg = f"expected numbers, got a {s.dtype} column"
        raise RiskDataError(msg, table=table, column=column, rule="numeric")
    text = _blank_to_null(s, markers=True)
    percent = text.str.ends_with("%")
    cleaned = text.str.replace_all(r"[,\s¥￥]", "").str.strip_suffix("%")
    value = cleaned.cast(pl.Float64, strict=False)
    bad = text.is_not_null() & value.is_null()
    if bad.any():
        msg = "non-numeric text in a numeric column"
        raise RiskDataError(
            msg, table=table, column=column, rule="numeric", failing_rows=int(bad.sum()), examples=_examples(s, bad)
        )
    return pl.select(pl.when(percent).then(value / 100).otherwise(value)).to_series().alias(s.name)


def parse_integer(s: pl.Series, *, table: str, column: str | None = None) -> pl.Series:
    """Parse text as Int64; a fractional value is an error, not silently truncated."""
    column = column or s.name
    value = parse_number(s, table=table, column=column)
    # infinite or beyond Int64 (an ID read as a number, "1e400") cannot be cast: name it, as for a fraction
    bad = value.is_not_null() & ((value != value.round(0)) | ~value.is_finite() | (value.abs() >= 2.0**63))
    if bad.any():
        msg = "fractional, infinite or out-of-range value in a whole-number column"
        raise RiskDataError(
            msg, table=table, column=column, rule="integer", failing_rows=int(bad.sum()), examples=_examples(s, bad)
        )
    return value.cast(pl.Int64)


def parse_boolean(s: pl.Series, *, table: str, column: str | None = None) -> pl.Series:
    """Parse ``true/false``, ``1/0``, ``yes/no``, ``是/否`` (any case) as Boolean."""
    column = column or s.name
    if s.dtype == pl.Boolean:
        return s
    text = _blank_to_null(as_text(s, table=table, column=column), markers=True).str.to_lowercase()
    value = pl.select(pl.when(text.is_in(TRUE_TEXT)).then(True).when(text.is_in(FALSE_TEXT)).then(False)).to_series()
    bad = text.is_not_null() & value.is_null()
    if bad.any():
        msg = f"not a yes/no value (allowed: {', '.join(TRUE_TEXT)} / {', '.join(FALSE_TEXT)})"
        raise RiskDataError(
            msg, table=table, column=column, rule="boolean", failing_rows=int(bad.sum()), examples=_examples(s, bad)
        )
    return value.alias(s.name)


def split_offset(text: pl.Series) -> pl.DataFrame:
    """``wall``: ``text`` without a trailing UTC offset; ``minutes``: that offset east of UTC, null where none.

    An offset out of range (``+25:00``) leaves ``wall`` null, so that the value is reported as unparsed.
    """
    offset = pl.col("parts").struct.field("offset").str.to_lowercase()
    digits = offset.str.replace(":", "", literal=True).str.slice(1)
    hours = digits.str.slice(0, 2).cast(pl.Int64, strict=False)
    minutes = digits.str.slice(2).cast(pl.Int64, strict=False).fill_null(0)  # "+08": whole hours
    sign = pl.when(offset.str.starts_with("-")).then(-1).otherwise(1)
    valid = (hours < 24) & (minutes < 60)
    east = pl.when(offset.is_in(["z", "utc"])).then(0).when(valid).then(sign * (hours * 60 + minutes))
    wall = pl.when(offset.is_null()).then("text").when(east.is_not_null()).then(pl.col("parts").struct.field("wall"))
    frame = pl.DataFrame({"text": text}).with_columns(parts=pl.col("text").str.extract_groups(OFFSET_AT_END))
    return frame.select(wall=wall, minutes=east)


def to_local(wall: pl.Series, minutes: pl.Series, timezone: str) -> pl.Series:
    """``wall`` where ``minutes`` is null (naive: already local); elsewhere the instant ``wall`` at UTC+``minutes``
    as ``timezone``'s naive wall time: "02:00Z" is 10:00 in Asia/Shanghai, never 02:00."""
    if minutes.null_count() == len(minutes):
        return wall  # the usual export: every timestamp naive, nothing to convert
    instant = (pl.col("wall") - pl.duration(minutes=pl.col("minutes"))).dt.replace_time_zone("UTC")
    local = instant.dt.convert_time_zone(timezone).dt.replace_time_zone(None)
    frame = pl.DataFrame({"wall": wall, "minutes": minutes})
    return frame.select(pl.when(pl.col("minutes").is_null()).then("wall").otherwise(local)).to_series().alias(wall.name)


def parse_datetime(
    s: pl.Series, *, table: str, column: str | None = None, fmt: str | None = None, timezone: str = LOCAL_TIMEZONE
) -> pl.Series:
    """Parse text as Datetime(us) with ``fmt``, or with the first of :data:`DATE_FORMATS` that fits all.

    The contract's timestamps are naive local time: a value with a UTC offset or ``Z`` (each its own, so one
    column may mix them), or a time-zone-aware column from Parquet, is converted to ``timezone`` and stored as
    that wall time; a naive value is taken as already local. ``fmt`` describes the part before the offset.
    """
    column = column or s.name
    if isinstance(s.dtype, pl.Datetime) and s.dtype.time_zone is not None:
        return s.dt.convert_time_zone(timezone).dt.replace_time_zone(None).cast(pl.Datetime("us"))
    if s.dtype in (pl.Date, pl.Datetime):
        return s.cast(pl.Datetime("us"))
    if s.dtype != pl.String:
        msg = f"expected dates, got a {s.dtype} column"
        raise RiskDataError(msg, table=table, column=column, rule="date_format")
    text = _blank_to_null(s, markers=True)
    parts = split_offset(text)
    wall = parts["wall"]
    fmt = re.sub(r"\s*%[:#]?z$", "", fmt) if fmt else fmt  # the offset is read on its own, whatever the format says
    best: tuple[int, pl.Series, str] | None = None
    for candidate in (fmt,) if fmt else DATE_FORMATS:
        value = wall.str.to_datetime(candidate, strict=False, time_unit="us")
        failures = int((text.is_not_null() & value.is_null()).sum())
        if failures == 0:
            return to_local(value, parts["minutes"], timezone).alias(s.name)
        if best is None or failures < best[0]:
            best = (failures, value, candidate)
    assert best is not None
    bad = text.is_not_null() & best[1].is_null()
    tried = f"format {fmt!r}" if fmt else f"formats {', '.join(DATE_FORMATS)}"
    msg = (
        f"dates that do not parse with {tried} (each optionally followed by a UTC offset or Z, at most ±23:59); "
        "set ingest.date_formats for this column"
    )
    raise RiskDataError(
        msg, table=table, column=column, rule="date_format", failing_rows=best[0], examples=_examples(s, bad)
    )


def parse_text(s: pl.Series, *, table: str = "", column: str | None = None) -> pl.Series:
    """Text with surrounding blanks removed; numbers become their text (``1`` not ``1.0`` for whole ones)."""
    if s.dtype.is_float():
        values = s.drop_nulls()
        if bool(((values == values.round(0)) & (values.abs() < 2.0**63)).all()):  # NaN, inf, 1e20 stay floats
            s = s.cast(pl.Int64)
    return _blank_to_null(as_text(s, table=table, column=column))


def parse_column(
    s: pl.Series,
    column: Column,
    *,
    table: str,
    fmt: str | None = None,
    scale: float | None = None,
    label: str | None = None,
    timezone: str = LOCAL_TIMEZONE,
) -> pl.Series:
    """Parse ``s`` into ``column``'s contract type; ``scale`` multiplies a numeric column (fen -> yuan).

    ``label`` is how errors name the column (for example with its source name); default its name.
    ``timezone`` is the zone a timestamp with a UTC offset is converted to (see :func:`parse_datetime`).
    """
    name = label or column.name
    dtype = column.dtype
    if dtype == pl.String:
        out = parse_text(s, table=table, column=name)
    elif dtype == pl.Boolean:
        out = parse_boolean(s, table=table, column=name)
    elif dtype == pl.Int64:
        out = parse_integer(s, table=table, column=name)
        if scale is not None:
            out = (out * scale).round(0).cast(pl.Int64)
    elif dtype.is_numeric():
        out = parse_number(s, table=table, column=name)
        if scale is not None:
            out = out * scale
    elif dtype == pl.Date:
        out = parse_datetime(s, table=table, column=name, fmt=fmt, timezone=timezone).dt.date()
    elif isinstance(dtype, pl.Datetime):
        out = parse_datetime(s, table=table, column=name, fmt=fmt, timezone=timezone)
    else:  # pragma: no cover - the contract uses only the types above
        out = s.cast(dtype)
    return out.cast(dtype).alias(column.name)


def to_contract(
    frame: pl.DataFrame,
    table: Table,
    *,
    date_formats: Mapping[str, str] | None = None,
    scale: Mapping[str, float] | None = None,
    source_names: Mapping[str, str] | None = None,
    timezone: str = LOCAL_TIMEZONE,
) -> tuple[pl.DataFrame, list[str], list[str]]:
    """Return ``(frame in the contract's columns and types, lacks, warnings)``.

    A required column that is absent raises ``RiskDataError(rule="missing_column")``; an absent
    nullable column is filled with nulls and reported in ``lacks``; a column the contract does not
    know is left out and reported in ``warnings``. ``source_names`` maps contract names back to the
    source's names so that messages say which column to look at in the export. Timestamps with a UTC
    offset are stored as ``timezone``'s wall time.
    """
    date_formats = date_formats or {}
    scale = scale or {}
    source_names = source_names or {}
    lacks: list[str] = []
    columns = []
    for c in table.columns:
        if c.name in frame.columns:
            label = f"{c.name} (source column {source_names[c.name]!r})" if c.name in source_names else None
            columns.append(
                parse_column(
                    frame[c.name],
                    c,
                    table=table.name,
                    fmt=date_formats.get(c.name),
                    scale=scale.get(c.name),
                    label=label,
                    timezone=timezone,
                )
            )
        elif c.nullable:
            columns.append(pl.Series(c.name, [None] * frame.height, dtype=c.dtype))
            lacks.append(f"{table.name}.{c.name} is not in the source (left empty).")
        else:
            present = ", ".join(frame.columns) or "none"
            msg = f"required column {c.name!r} is missing (columns present: {present})"
            raise RiskDataError(msg, table=table.name, column=c.name, rule="missing_column")
    extra = [n for n in frame.columns if n not in table.schema]
    warnings = []
    if extra:
        names = ", ".join(source_names.get(n, n) for n in extra)
        warnings.append(f"{table.name}: {len(extra)} column(s) not in the contract were left out: {names}.")
    return pl.DataFrame(columns, schema=table.schema), lacks, warnings


def complete(frame: pl.DataFrame, table: Table) -> pl.DataFrame:
    """Add every contract column ``frame`` lacks, empty, so that ``contract.conform`` can select them."""
    return frame.with_columns(
        [pl.lit(None, dtype=t).alias(c) for c, t in table.schema.items() if c not in frame.columns]
    )


def complete_nullable(frame: pl.DataFrame, table: Table) -> pl.DataFrame:
    """Add every nullable contract column ``frame`` lacks, empty: an adapter need not know columns added to
    the contract after it was written (a required one it lacks stays an error of ``contract.conform``)."""
    return frame.with_columns(
        [pl.lit(None, dtype=c.dtype).alias(c.name) for c in table.columns if c.nullable and c.name not in frame.columns]
    )
