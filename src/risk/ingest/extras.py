"""What a lender's mapping adds beyond the contract: source attributes, protected columns, a declared outcome
and generated ids (pure: frames and declarations in, frames out).

- ``ingest.attributes``: source columns carried as PD features (:mod:`risk.attributes`), parsed as numbers or
  kept as text categories, in the ``attributes`` table.
- ``ingest.protected``: source columns that are never features (sex, marital status...): dropped and
  reported. A column whose name looks protected and is neither declared protected nor an attribute is
  dropped too, and named in a warning; one declared as an attribute is refused.
- ``ingest.outcome``: in application-only mode, the source column holding each application's outcome and the
  values that mean bad; every other value is good, an empty one an error naming the rows.
- ``ingest.generate_ids``: a file with no id column gets ``application_id`` from its row number (and
  ``borrower_id`` the same, one application per borrower).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from risk.attributes import KINDS, NAME, NUMERIC, Attribute, looks_protected
from risk.config import IngestParams
from risk.contract import TABLES
from risk.exceptions import ConfigError, RiskDataError
from risk.features.catalogue import FEATURES
from risk.ingest.coerce import as_text, parse_number

SOURCE_TABLE = "applications"
SNAPSHOT_COLUMNS = ("as_of", "applied_on", "originated_on", "default_12m")
# names an attribute may not take: the SQL export writes feature names as bare identifiers
_KEYWORDS = """
all analyse analyze and any array as asc asymmetric between both by case cast check collate column
constraint create cross current_date current_time current_timestamp current_user default deferrable desc
distinct do else end except false fetch for foreign from full grant group having ilike in initially inner
intersect into is join lateral leading left like limit localtime localtimestamp natural not null offset on
only or order outer over partition pivot placing primary qualify range references returning right row rows
select session_user similar some symmetric table then to trailing true union unique unpivot user using
values variadic when where window with
"""
SQL_KEYWORDS = frozenset(_KEYWORDS.split())


def declared(params: IngestParams) -> tuple[Attribute, ...]:
    """The attributes ``params`` declares, checked: a snake_case name that is no contract column or feature,
    a known kind, a risk sign, and no column that is also protected or looks protected."""
    # the snapshot keys and the label share the application snapshots with the attributes
    taken = {*TABLES[SOURCE_TABLE].schema, *(f.name for f in FEATURES), *SNAPSHOT_COLUMNS}
    protected = set(params.protected)
    outcome = params.outcome.column if params.outcome else None
    mapped = set(params.columns.get(SOURCE_TABLE, {}).values())
    out = []
    for name, a in params.attributes.items():
        key = f"ingest.attributes.{name}"
        column = a.column or name
        if not NAME.match(name):
            msg = (
                f"{key}: a feature name must be snake_case ASCII (a-z, 0-9, _), got {name!r}; "
                "name the source column with column:"
            )
            raise ConfigError(msg)
        if name in taken:
            msg = f"{key}: {name!r} is already a contract column or a feature; choose another name"
            raise ConfigError(msg)
        if a.kind not in KINDS:
            msg = f"{key}.kind: must be one of {list(KINDS)}, got {a.kind!r}"
            raise ConfigError(msg)
        if a.risk not in (-1, 0, 1):
            msg = f"{key}.risk: must be -1, 0 or 1, got {a.risk!r}"
            raise ConfigError(msg)
        if name in SQL_KEYWORDS:
            msg = f"{key}: {name!r} is an SQL keyword (the scorecard's SQL names features bare); choose another name"
            raise ConfigError(msg)
        if column == outcome:
            msg = f"{key}: column {column!r} is the outcome (ingest.outcome.column): a feature of the label is leakage"
            raise ConfigError(msg)
        if column in mapped:
            msg = f"{key}: column {column!r} is already mapped to a contract column under ingest.columns.{SOURCE_TABLE}"
            raise ConfigError(msg)
        if column in protected or looks_protected(column) or looks_protected(name):
            msg = (
                f"{key}: column {column!r} is (or looks like) a protected attribute and is never a feature; "
                "list it under ingest.protected"
            )
            raise ConfigError(msg)
        if not 0.0 <= a.max_missing <= 1.0:
            msg = f"{key}.max_missing: must be between 0 and 1, got {a.max_missing!r}"
            raise ConfigError(msg)
        out.append(
            Attribute(
                name=name,
                column=column,
                kind=a.kind,
                description=a.description,
                risk=a.risk if a.kind == NUMERIC else 0,
                categories=tuple(str(v) for v in a.values),
                max_missing=a.max_missing,
                minimum=a.minimum,
                maximum=a.maximum,
                reason_en=a.reason_en,
                reason_zh=a.reason_zh,
                extra={"declared_values": bool(a.values)},
            )
        )
    return tuple(out)


def generated_ids(n: int) -> pl.Series:
    """``app-000001``... for a file with no id column: its row order is the only identity it has."""
    width = max(6, len(str(n)))
    return pl.Series("application_id", [f"app-{i:0{width}d}" for i in range(1, n + 1)], dtype=pl.String)


def ensure_ids(frame: pl.DataFrame, params: IngestParams) -> pl.DataFrame:
    """``frame`` (mapped applications) with ``application_id``, generated from the row order when
    ``generate_ids`` and the file has none, and ``borrower_id`` the application's own when unmapped."""
    if "application_id" in frame.columns:
        if params.generate_ids:
            msg = "ingest.generate_ids: the applications file already has an application_id column; drop one of them"
            raise ConfigError(msg)
    elif params.generate_ids:
        frame = frame.with_columns(generated_ids(frame.height))
    else:
        msg = (
            "applications: no application_id column; map one under ingest.columns.applications, or set "
            "ingest.generate_ids: true to number the rows"
        )
        raise RiskDataError(msg, table=SOURCE_TABLE, column="application_id", rule="missing_column")
    if "borrower_id" not in frame.columns:
        frame = frame.with_columns(pl.col("application_id").cast(pl.String).alias("borrower_id"))
    return frame


def protected_columns(
    frame: pl.DataFrame, params: IngestParams, attributes: Sequence[Attribute]
) -> tuple[list[str], list[str]]:
    """(source columns to drop as protected, warnings for those only their name gave away)."""
    used = {a.column for a in attributes} | set(params.columns.get(SOURCE_TABLE, {}).values())
    declared_ = [c for c in params.protected if c in frame.columns]
    guessed = [c for c in frame.columns if c not in params.protected and c not in used and looks_protected(c)]
    warnings = (
        [
            f"{SOURCE_TABLE}: column(s) {', '.join(repr(c) for c in guessed)} look like protected attributes and were "
            "dropped; list them under ingest.protected to say so"
        ]
        if guessed
        else []
    )
    return declared_ + guessed, warnings


def attribute_frame(
    frame: pl.DataFrame, attributes: Sequence[Attribute], application_id: pl.Series
) -> tuple[pl.DataFrame, tuple[Attribute, ...]]:
    """The ``attributes`` table (application_id and one column per attribute) and the attributes with the
    categories found where none were declared (sorted, so the same data gives the same model)."""
    missing = [a.column for a in attributes if a.column not in frame.columns]
    if missing:
        msg = f"declared attribute column(s) not in the file: {', '.join(missing)}; it has: {', '.join(frame.columns)}"
        raise RiskDataError(msg, table=SOURCE_TABLE, column=missing[0], rule="missing_column")
    columns = [application_id.alias("application_id")]
    found = []
    for a in attributes:
        raw = frame.get_column(a.column)
        if a.kind == NUMERIC:
            values = parse_number(
                as_text(raw, table=SOURCE_TABLE, column=a.column), table=SOURCE_TABLE, column=a.column
            )
            found.append(a)
        else:
            text = as_text(raw, table=SOURCE_TABLE, column=a.column).str.strip_chars()
            values = pl.select(pl.when(text.str.len_chars() > 0).then(text)).to_series()
            if not a.categories:
                a = Attribute(**{**a.__dict__, "categories": tuple(sorted(values.drop_nulls().unique().to_list()))})
            found.append(a)
        columns.append(values.alias(a.name))
    return pl.DataFrame(columns), tuple(found)


def outcome_frame(frame: pl.DataFrame, params: IngestParams, application_id: pl.Series) -> pl.DataFrame:
    """The ``outcomes`` table from the declared outcome column: 1 where the value is one of ``bad``."""
    spec = params.outcome
    if spec is None or not spec.column:
        msg = (
            "ingest.outcome: application-only mode needs the outcome column and its bad values, "
            "e.g. {column: default, bad: ['1']}"
        )
        raise ConfigError(msg)
    if not spec.bad:
        msg = "ingest.outcome.bad: list the value(s) that mean a bad outcome"
        raise ConfigError(msg)
    if spec.column not in frame.columns:
        msg = (
            f"the outcome column {spec.column!r} (ingest.outcome.column) is not in the file; "
            f"it has: {', '.join(frame.columns)}"
        )
        raise RiskDataError(msg, table=SOURCE_TABLE, column=spec.column, rule="missing_column")
    text = as_text(frame.get_column(spec.column), table=SOURCE_TABLE, column=spec.column).str.strip_chars()
    empty = text.is_null() | (text.str.len_chars() == 0)
    if empty.any():
        msg = "an application-only source needs an outcome for every application"
        raise RiskDataError(
            msg,
            table=SOURCE_TABLE,
            column=spec.column,
            rule="label_values",
            failing_rows=int(empty.sum()),
            examples=[f"row {i + 1}" for i in empty.arg_true().head(5).to_list()],
        )
    bad = text.is_in([str(v).strip() for v in spec.bad])
    if bad.all() or not bad.any():
        seen = text.unique().sort().head(10).to_list()
        marks = "every" if bad.all() else "no"
        msg = f"ingest.outcome.bad {list(spec.bad)} marks {marks} application bad; the column holds {seen}"
        raise RiskDataError(msg, table=SOURCE_TABLE, column=spec.column, rule="label_values")
    return pl.DataFrame(
        {
            "application_id": application_id,
            "default_flag": bad.cast(pl.Int8),
            "source_label_name": pl.Series([spec.column] * frame.height, dtype=pl.String),
        }
    )
