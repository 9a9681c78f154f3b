"""Map a lender's own export onto the contract: rename columns, translate code lists, fix units and dates.

The ``ingest`` section of params.yaml describes the export. Every key below is optional except
``columns`` for the tables whose column names differ from the contract's; a table not listed under
``columns`` is expected to use the contract's names already. Keys of ``date_formats``, ``codes``,
``scale`` and ``constants`` are a contract column (``product``: every table that has it) or
``table.column`` (``collection_actions.channel``), the latter winning.

- ``files``: table -> file name inside ``path`` (default ``<table>.csv`` or ``<table>.parquet``).
- ``columns``: table -> {contract column: source column}. Two contract columns may share one source
  column. Personal data is mapped to the names ``id_number``, ``phone``, ``name``: it is hashed into
  ``borrower_id`` when none is mapped, then dropped (:mod:`risk.ingest.pii`).
- ``codes``: column -> {source value: contract value}, applied to the text before it is parsed; a
  value that is neither in the list nor already a contract value is an error (rule ``code_list``).
- ``date_formats``: column -> strftime format (``"%Y年%m月%d日"``); default: ISO-like formats.
- ``scale``: column -> factor applied after parsing (``0.01`` for amounts in fen 分; rates written
  ``24`` for 24% need ``0.01``, rates written ``24%`` are understood as 0.24 already).
- ``constants``: column -> value for every row, for a column the export does not have
  (``repayment_method: equal_instalment`` when every loan is 等额本息).

Worked example: a GBK export with Chinese headers, ``借据.csv``::

    借据号,客户号,进件号,放款日期,放款金额,年利率,期数,还款方式,产品
    JJ001,KH01,JK01,2024/03/05,"12,000.00",24%,12,等额本息,现金贷

is described by::

    ingest:
      format: mapping
      path: exports/2025-12
      encoding: gbk
      files: {loans: 借据.csv, schedule: 还款计划.csv, repayments: 还款流水.csv, applications: 进件.csv}
      columns:
        loans: {loan_id: 借据号, borrower_id: 客户号, application_id: 进件号, originated_on: 放款日期,
                principal: 放款金额, annual_rate: 年利率, term_months: 期数, repayment_method: 还款方式,
                product: 产品}
        applications: {application_id: 进件号, borrower_id: 客户号, id_number: 身份证号, phone: 手机号}
      date_formats: {originated_on: "%Y/%m/%d"}
      codes:
        product: {现金贷: cash_loan, 消费分期: consumer_instalment, 小微经营贷: micro_business}
        repayment_method: {等额本息: equal_instalment, 等额本金: equal_principal, 先息后本: bullet}
        collection_actions.channel: {短信: sms, 电话: phone}
      constants: {contract_max_overdue_days: 90}

(the other tables' ``columns`` follow the same pattern; tests/ingest/test_mapping.py maps all five).
The case tables (``agreements``, ``legal_cases``, ``borrower_profiles``) are optional: an export that has
them lists them under ``files`` and ``columns`` like any table, and every key above applies to them
(``kind: {承诺还款: promise_to_pay}`` under ``codes``); one without them is reported in what the source lacks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from risk.config import IngestParams
from risk.contract import CASE_TABLES, INPUT_TABLES, TABLES, Table
from risk.exceptions import ConfigError, RiskDataError
from risk.ingest.pii import PII_COLUMNS

_KEYED = ("date_formats", "codes", "scale", "constants")


def check_params(params: IngestParams) -> None:
    """Raise ConfigError naming the key when a mapping refers to an unknown table or column."""
    known_tables = [t.name for t in (*INPUT_TABLES, *CASE_TABLES)]  # never the simulator's truth
    for key in (*params.columns, *params.files):
        if key not in known_tables:
            msg = f"ingest: unknown table {key!r}; allowed: {known_tables}"
            raise ConfigError(msg)
    for table, mapping in params.columns.items():
        allowed = [*TABLES[table].schema, *PII_COLUMNS]
        for column in mapping:
            if column not in allowed:
                msg = f"ingest.columns.{table}: unknown contract column {column!r}; allowed: {allowed}"
                raise ConfigError(msg)
    every_column = {c for t in known_tables for c in TABLES[t].schema}
    for section in _KEYED:
        for key in getattr(params, section):
            table, _, column = key.rpartition(".")
            ok = column in TABLES[table].schema if table in known_tables else not table and key in every_column
            if not ok:
                msg = f"ingest.{section}: {key!r} is neither a contract column nor table.column"
                raise ConfigError(msg)


def for_table(section: Mapping[str, Any], table: Table) -> dict[str, Any]:
    """The entries of a ``column``/``table.column``-keyed section that apply to ``table``, by column."""
    out = {k: v for k, v in section.items() if "." not in k and k in table.schema}
    out |= {k.split(".", 1)[1]: v for k, v in section.items() if k.startswith(f"{table.name}.")}
    return out


def apply_mapping(frame: pl.DataFrame, table: Table, params: IngestParams) -> tuple[pl.DataFrame, dict[str, str]]:
    """Return ``(frame with contract column names, {contract column: source column})``.

    Mapped columns are renamed, code lists translated and constants added; unmapped source columns
    stay (under their own names) so that :func:`risk.ingest.coerce.to_contract` can report them.
    """
    mapping = params.columns.get(table.name, {})
    missing = [src for src in mapping.values() if src not in frame.columns]
    if missing:
        wanted = {src: dst for dst, src in mapping.items()}
        names = ", ".join(f"{src!r} (for {wanted[src]})" for src in missing)
        msg = f"mapped source column(s) {names} not in the file; it has: {', '.join(frame.columns)}"
        raise RiskDataError(msg, table=table.name, column=missing[0], rule="missing_column")
    mapped_sources = set(mapping.values())
    keep = [c for c in frame.columns if c not in mapped_sources and c not in mapping]
    # Series, not pl.col: an export's column may be named "*" or "^...$", which pl.col reads as a pattern
    out = pl.DataFrame(
        [frame.get_column(src).alias(dst) for dst, src in mapping.items()] + [frame.get_column(c) for c in keep]
    )
    source_names = {dst: src for dst, src in mapping.items() if dst != src}
    for column, codes in for_table(params.codes, table).items():
        if column in out.columns:
            out = out.with_columns(
                translate(out[column], codes, table=table, column=column, source=source_names.get(column))
            )
    for column, value in for_table(params.constants, table).items():
        if column not in out.columns:
            out = out.with_columns(pl.lit(value).alias(column))
    return out, source_names


def translate(
    s: pl.Series, codes: Mapping[Any, Any], *, table: Table, column: str, source: str | None = None
) -> pl.Series:
    """Replace source codes by contract values; a value in neither is an error naming a few of them."""
    lookup = {str(k): str(v) for k, v in codes.items()}
    text = s.cast(pl.String).str.strip_chars()
    out = text.replace(lookup)
    domain = table.column(column).domain if column in table.schema else None
    known = set(lookup) | set(lookup.values()) | set(domain or ())
    bad = out.is_not_null() & ~text.is_in(list(known))
    if bad.any():
        where = f"{column} (source column {source!r})" if source else column
        msg = f"values missing from ingest.codes.{column}; known: {sorted(lookup)}"
        raise RiskDataError(
            msg,
            table=table.name,
            column=where,
            rule="code_list",
            failing_rows=int(bad.sum()),
            examples=text.filter(bad).unique(maintain_order=True).head(5).to_list(),
        )
    return out.alias(column)
