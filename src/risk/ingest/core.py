"""The pure core of ingest: source frames in, contract tables and an honest account of the gaps out."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from risk import contract
from risk.attributes import TABLE as ATTRIBUTES
from risk.attributes import attributes_table
from risk.case_tables import WITHOUT
from risk.config import IngestParams
from risk.contract import CASE_TABLES, INPUT_TABLES
from risk.exceptions import ConfigError, RiskDataError
from risk.ingest import extras, lendingclub, taiwan
from risk.ingest.coerce import complete_nullable, parse_text, to_contract
from risk.ingest.mapping import apply_mapping, check_params, for_table
from risk.ingest.pii import pseudonymise
from risk.ingest.result import OUTCOMES, IngestMode, IngestResult, SourceFormat

# a lender's export without these cannot give dated labels; collection_actions may be absent
REQUIRED_TABLES = ("applications", "loans", "schedule", "repayments")
ADAPTERS = {SourceFormat.LENDINGCLUB: lendingclub, SourceFormat.TAIWAN: taiwan}


def source_format(fmt: str) -> SourceFormat:
    """``fmt`` as a :class:`SourceFormat`, or a ConfigError listing the allowed ones."""
    try:
        return SourceFormat(fmt)
    except ValueError:
        msg = f"ingest.format: must be one of {[f.value for f in SourceFormat]}, got {fmt!r}"
        raise ConfigError(msg) from None


def ingest_tables(
    frames: Mapping[str, pl.DataFrame], fmt: str, params: IngestParams, *, pii_salt: str | None = None
) -> IngestResult:
    """Map source frames onto the five contract tables and the case tables present, conformed to the contract.

    ``frames`` holds, for ``contract`` and ``mapping``, one frame per table found (keyed by contract table
    name); for ``lendingclub`` and ``taiwan``, the one source frame (any key). Input tables the source
    lacks come back empty with the contract's schema; case tables it lacks are left out (they are
    optional, and an empty one would claim there are no agreements or cases); both are named in
    ``lacks``, a case table with what the pipeline cannot know without it. ``pii_salt`` salts the
    hashes that replace national ID numbers, phones and names (see :mod:`risk.ingest.pii`).
    """
    kind = source_format(fmt)
    if kind in ADAPTERS:
        if len(frames) != 1:
            msg = f"the {kind.value} format reads one file, got {len(frames)} frames"
            raise RiskDataError(msg, rule="file_exists")
        result = ADAPTERS[kind].adapt(next(iter(frames.values())))
    else:
        # a contract-format source has no mapping to honour, but its timestamps still need the platform's zone
        own = params if kind is SourceFormat.MAPPING else IngestParams(timezone=params.timezone)
        if own.mode == "application_only":
            result = _application_only(frames, own, pii_salt)
        else:
            result = _from_tables(frames, own, pii_salt)
    return _finish(result)


def _application_only(frames: Mapping[str, pl.DataFrame], params: IngestParams, salt: str | None) -> IngestResult:
    """One row per application with its declared outcome: applications, outcomes and the attributes table.

    Contract columns the file does not have are left empty (named in ``lacks``), whether the contract requires
    them of a full book or not; the ids may be generated; every input table but applications is written empty.
    """
    check_params(params)
    if "applications" not in frames:
        msg = "application-only mode reads one applications file (ingest.files.applications)"
        raise RiskDataError(msg, table="applications", rule="file_exists")
    unused = sorted(set(frames) - {"applications"})
    source = frames["applications"]
    attributes = extras.declared(params)
    protected, warnings = extras.protected_columns(source, params, attributes)
    mapped_sources = set(params.columns.get("applications", {}).values())
    held = {a.column for a in attributes} | {params.outcome.column if params.outcome else ""}
    frame, source_names = apply_mapping(
        source.drop([c for c in source.columns if c in held - mapped_sources or c in protected]),
        contract.APPLICATIONS,
        params,
    )
    frame, gone = pseudonymise(frame, table="applications", salt=salt)
    frame = extras.ensure_ids(frame, params)
    frame = frame.with_columns(pl.col("application_id").cast(pl.String), pl.col("borrower_id").cast(pl.String))
    if "decision" not in frame.columns:  # every application with an outcome was booked
        frame = frame.with_columns(pl.lit(contract.Decision.APPROVED.value).alias("decision"))
    lacks = [f"{name}: not in an application-only source (written empty)." for name in REQUIRED_TABLES[1:]]
    for c in contract.APPLICATIONS.columns:
        if c.name not in frame.columns and not c.nullable:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(c.name))
            lacks.append(f"applications.{c.name} is not in the source (left empty).")
    conformed, lacking, extra = to_contract(
        frame,
        contract.APPLICATIONS,
        date_formats=for_table(params.date_formats, contract.APPLICATIONS),
        scale=for_table(params.scale, contract.APPLICATIONS),
        source_names=source_names,
        timezone=params.timezone,
    )
    ids = conformed["application_id"]
    table, attributes = extras.attribute_frame(source, attributes, ids)
    outcomes = extras.outcome_frame(source, params, ids)
    if unused:
        warnings.append(f"application-only mode reads only applications; not read: {', '.join(unused)}.")
    return IngestResult(
        tables={"applications": conformed, OUTCOMES.name: outcomes, ATTRIBUTES: table},
        lacks=[*lacks, *lacking],
        mode=IngestMode.APPLICATION_ONLY,
        warnings=[*warnings, *extra],
        dropped=[*(f"applications.{c}" for c in protected), *(f"applications.{source_names.get(c, c)}" for c in gone)],
        attributes=attributes,
    )


def _from_tables(frames: Mapping[str, pl.DataFrame], params: IngestParams, salt: str | None) -> IngestResult:
    check_params(params)
    absent = [t for t in REQUIRED_TABLES if t not in frames]
    if absent:
        msg = (
            f"no file for table(s) {', '.join(absent)}; a lender's export needs applications, loans, "
            "schedule and repayments (collection_actions may be absent)"
        )
        raise RiskDataError(msg, table=absent[0], rule="file_exists")
    tables: dict[str, pl.DataFrame] = {}
    lacks: list[str] = []
    warnings: list[str] = []
    dropped: list[str] = []
    for table in (*INPUT_TABLES, *CASE_TABLES):
        if table.name not in frames:
            if table in INPUT_TABLES:
                lacks.append(f"{table.name}: not in the source (written empty).")
            continue  # an absent case table is named in lacks by _finish, for every format
        frame, source_names = apply_mapping(frames[table.name], table, params)
        frame, gone = pseudonymise(frame, table=table.name, salt=salt)
        dropped += [f"{table.name}.{source_names.get(c, c)}" for c in gone]
        if (
            table.name == "loans"
            and "borrower_id" not in frame.columns
            and "application_id" in frame.columns
            and "applications" in tables
        ):
            # joined as text, the type applications.application_id already has (a Parquet export may hold numbers)
            frame = frame.with_columns(parse_text(frame["application_id"], table=table.name, column="application_id"))
            frame = frame.join(
                tables["applications"].select("application_id", "borrower_id"),
                on="application_id",
                how="left",
                maintain_order="left",
            )
        conformed, lacking, extra = to_contract(
            frame,
            table,
            date_formats=for_table(params.date_formats, table),
            scale=for_table(params.scale, table),
            source_names=source_names,
            timezone=params.timezone,
        )
        tables[table.name] = conformed
        lacks += lacking
        warnings += extra
    attributes = extras.declared(params)
    if attributes:  # the applications file's columns beyond the contract, as PD features
        source = frames["applications"]
        protected, _ = extras.protected_columns(source, params, attributes)
        tables[ATTRIBUTES], attributes = extras.attribute_frame(
            source, attributes, tables["applications"]["application_id"]
        )
        dropped += [f"applications.{c}" for c in protected]
    return IngestResult(
        tables=tables, lacks=lacks, mode=IngestMode.FULL, warnings=warnings, dropped=dropped, attributes=attributes
    )


def _finish(result: IngestResult) -> IngestResult:
    """Every input table present and conformed, the case tables the source has, and ``outcomes`` in
    application-only mode; each case table the source lacks is named in ``lacks``."""
    tables = {
        t.name: contract.conform(complete_nullable(result.tables[t.name], t), t)
        if t.name in result.tables
        else contract.empty_frame(t)
        for t in INPUT_TABLES
    }
    tables |= {t.name: contract.conform(result.tables[t.name], t) for t in CASE_TABLES if t.name in result.tables}
    lacks = [
        *result.lacks,
        *(f"{t.name}: not in the source ({WITHOUT[t.name]})." for t in CASE_TABLES if t.name not in result.tables),
    ]
    if result.mode is IngestMode.APPLICATION_ONLY:
        tables[OUTCOMES.name] = contract.conform(result.tables[OUTCOMES.name], OUTCOMES)
    if ATTRIBUTES in result.tables:
        tables[ATTRIBUTES] = contract.conform(result.tables[ATTRIBUTES], attributes_table(result.attributes))
    return IngestResult(
        tables=tables,
        lacks=lacks,
        mode=result.mode,
        warnings=result.warnings,
        dropped=result.dropped,
        currency=result.currency,
        attributes=result.attributes,
    )


def summarise(result: IngestResult, *, fmt: str, source: str, target: str) -> str:
    """One paragraph: rows per table, the mode, the currency, what the source lacks and what was dropped."""
    rows = ", ".join(f"{name} {frame.height:,}" for name, frame in result.tables.items())
    parts = [f"ingest ({fmt}, mode {result.mode.value}): read {source}; wrote {target} ({rows})."]
    if OUTCOMES.name in result.tables and result.tables[OUTCOMES.name].height:
        out = result.tables[OUTCOMES.name]
        parts.append(f"Outcome label {out['source_label_name'][0]}: bad rate {out['default_flag'].mean():.2%}.")
    if result.currency != "RMB":
        parts.append(f"Amounts are in {result.currency}, not RMB.")
    if result.dropped:
        parts.append(f"Dropped personal or protected columns: {', '.join(result.dropped)}.")
    if result.lacks:
        parts.append("The source lacks: " + " ".join(result.lacks))
    if result.warnings:
        parts.append("Warnings: " + " ".join(result.warnings))
    return " ".join(parts)
