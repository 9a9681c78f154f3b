"""Edge of the ingest stage: read the source files, run the core, write data/raw in one atomic step."""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl

from risk import io
from risk.config import Params
from risk.contract import CASE_TABLES, INPUT_TABLES
from risk.exceptions import ConfigError
from risk.ingest import readers
from risk.ingest.core import ADAPTERS, ingest_tables, source_format, summarise
from risk.ingest.pii import SALT_ENV
from risk.ingest.result import IngestResult
from risk.paths import Paths

MANIFEST = "_ingest.json"  # mode, currency, lacks and warnings, beside the tables it describes


DAY_PLACEHOLDER = "{as_of}"  # in ingest.path: the day's export folder, e.g. exports/{as_of}


def export_path(params: Params) -> str:
    """``ingest.path`` with ``{as_of}`` replaced by ``data.as_of`` (ISO), so that one setting names every day's
    export: ``risk run --as-of`` sets the day, ``dvc repro`` uses params' own."""
    return params.ingest.path.replace(DAY_PLACEHOLDER, params.data.as_of.isoformat())


def read_source(source: str | Path, fmt: str, params: Params) -> dict[str, pl.DataFrame]:
    """The frames ``ingest_tables`` expects, read from ``source`` (a folder, or one file for the public sets)."""
    kind = source_format(fmt)
    encoding, limit = params.ingest.encoding, params.ingest.max_file_mb
    if kind in ADAPTERS:
        adapter = ADAPTERS[kind]
        frame = readers.read_single(
            source, adapter.FILE_NAME, table=adapter.SOURCE, encoding=encoding, max_file_mb=limit
        )
        return {adapter.SOURCE: frame}
    names = tuple(t.name for t in (*INPUT_TABLES, *CASE_TABLES))  # a table without a file is simply absent
    return readers.read_folder(source, names, encoding=encoding, files=params.ingest.files, max_file_mb=limit)


def write_raw(result: IngestResult, folder: Path, *, source: str = "") -> None:
    """Write every table of ``result`` as Parquet and the manifest, replacing ``folder`` at once.

    An absent case table is not in ``result`` and gets no file: downstream reads the case tables as optional.
    ``source`` names where the export came from: validate compares an export only with earlier ones of the
    same source.
    """
    with io.atomic_path(folder) as tmp:
        tmp.mkdir(parents=True)
        for name, frame in result.tables.items():
            frame.write_parquet(tmp / f"{name}.parquet", compression="zstd", statistics=True)
        (tmp / MANIFEST).write_text(
            json.dumps({**result.manifest(), "source": source}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )


def run(paths: Paths, params: Params, *, source: str | None = None, fmt: str | None = None) -> str:
    """Read ``source`` (default ``ingest.path``, its ``{as_of}`` filled with ``data.as_of``) in ``fmt``
    (default ``ingest.format``) into data/raw."""
    source = source or export_path(params)
    fmt = fmt or params.ingest.format
    if not source:
        msg = "ingest.path: no source given; set ingest.path in params.yaml or pass --from"
        raise ConfigError(msg)
    frames = read_source(source, fmt, params)
    result = ingest_tables(frames, fmt, params.ingest, pii_salt=os.environ.get(SALT_ENV) or None)
    # one source per format, wherever the day's folder is: exports dated by folder are still compared
    write_raw(result, paths.raw, source=f"{fmt} export")
    return summarise(result, fmt=fmt, source=str(source), target=str(paths.raw))
