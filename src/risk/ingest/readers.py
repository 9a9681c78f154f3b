"""Read a lender's files (CSV in UTF-8, GBK or GB18030, or Parquet) into frames; the only ingest code that
touches the disk on the way in.

CSV columns are read as text (nothing is guessed); :mod:`risk.ingest.coerce` parses them per contract
column. Every failure is a :class:`~risk.exceptions.RiskDataError` naming the table or file and the rule:
``file_exists``, ``file_outside_source``, ``file_size``, ``empty_file``, ``encoding``, ``readable_csv``,
``readable_parquet``.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from risk import io
from risk.config import IngestParams
from risk.exceptions import RiskDataError

SUFFIXES = (".csv", ".parquet")
ENCODINGS = ("utf-8", "gbk", "gb18030")
MAX_FILE_MB = IngestParams.max_file_mb  # the default of ingest.max_file_mb, kept in one place


def check_size(path: Path, *, table: str, max_file_mb: int = MAX_FILE_MB) -> None:
    """Refuse ``path`` when it is larger than ``max_file_mb`` (rule ``file_size``), before a byte is read.

    A file is read whole into memory; one larger than the machine can hold would end the run with no
    message at all, so the limit is a setting to raise on purpose rather than a crash to discover.
    """
    size = path.stat().st_size
    if size > max_file_mb * 2**20:
        msg = (
            f"file {path} is {size:,} bytes ({size / 2**20:,.1f} MB), over the limit of {max_file_mb:,} MB; "
            "if the machine has the memory for it, raise ingest.max_file_mb in params.yaml"
        )
        raise RiskDataError(msg, table=table, rule="file_size")


def decode(raw: bytes, encoding: str, *, table: str, path: Path | str = "") -> str:
    """Decode ``raw`` with the declared ``encoding``; a file in the other encoding is an error, not mojibake.

    UTF-8 and GBK are told apart both ways: a file declared UTF-8 must decode as UTF-8 (a GBK file does
    not); a file declared GBK/GB18030 whose non-ASCII bytes are also valid UTF-8 is taken to be UTF-8
    mislabelled, because Chinese GBK text practically never forms valid UTF-8 sequences, whereas
    UTF-8 text decoded as GBK yields plausible-looking nonsense (mojibake) instead of failing.
    """
    where = f" {path}" if path else ""
    if encoding not in ENCODINGS:
        msg = f"unsupported encoding {encoding!r}; allowed: {', '.join(ENCODINGS)}"
        raise RiskDataError(msg, table=table, rule="encoding")
    if encoding == "utf-8":
        try:
            return raw.decode("utf-8-sig")  # Excel writes a byte-order mark
        except UnicodeDecodeError as e:
            hint = ""
            try:
                raw.decode("gb18030")
                hint = "; it decodes as GBK/GB18030: set ingest.encoding: gbk"
            except UnicodeDecodeError:
                pass
            msg = f"file{where} is not valid UTF-8 (byte {e.start}: {raw[e.start : e.start + 2]!r}){hint}"
            raise RiskDataError(msg, table=table, rule="encoding") from None
    if not raw.isascii():
        try:
            raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            pass
        else:
            msg = (
                f"file{where} is declared {encoding} but its text is UTF-8 (reading it as {encoding} "
                "would garble every Chinese character); set ingest.encoding: utf-8"
            )
            raise RiskDataError(msg, table=table, rule="encoding")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as e:
        msg = f"file{where} is not valid {encoding} (byte {e.start}: {raw[e.start : e.start + 2]!r})"
        raise RiskDataError(msg, table=table, rule="encoding") from None


def read_csv_text(text: str, *, table: str, path: Path | str = "", skip_rows: int = 0) -> pl.DataFrame:
    """Parse CSV ``text`` with every column as text; an empty file raises ``rule="empty_file"``."""
    where = f" {path}" if path else ""
    if not text.strip():
        msg = f"file{where} is empty (no header, no rows)"
        raise RiskDataError(msg, table=table, rule="empty_file")
    try:
        return pl.read_csv(text.encode("utf-8"), infer_schema=False, skip_rows=skip_rows, truncate_ragged_lines=False)
    except (pl.exceptions.ComputeError, pl.exceptions.DuplicateError, pl.exceptions.NoDataError) as e:
        msg = f"cannot parse CSV{where}: {str(e).splitlines()[0][:200]}"
        raise RiskDataError(msg, table=table, rule="readable_csv") from e


def read_table_file(
    path: Path | str, *, table: str, encoding: str = "utf-8", skip_rows: int = 0, max_file_mb: int = MAX_FILE_MB
) -> pl.DataFrame:
    """Read one ``.csv`` (as text columns, in ``encoding``) or ``.parquet`` file for ``table``, refusing one
    over ``max_file_mb``."""
    path = Path(path)
    if not path.is_file():
        msg = f"file not found: {path}"
        raise RiskDataError(msg, table=table, rule="file_exists")
    check_size(path, table=table, max_file_mb=max_file_mb)
    if path.suffix.lower() == ".parquet":
        if path.stat().st_size == 0:
            msg = f"file {path} is empty"
            raise RiskDataError(msg, table=table, rule="empty_file")
        return io.read_parquet(path, table=table)
    text = decode(path.read_bytes(), encoding, table=table, path=path)
    return read_csv_text(text, table=table, path=path, skip_rows=skip_rows)


def find_table_file(folder: Path | str, table: str, name: str | None = None) -> Path | None:
    """The file holding ``table`` in ``folder``: ``name`` if given, else ``<table>.csv`` or ``<table>.parquet``.

    A ``name`` (from ``ingest.files``) must stay inside ``folder``: an absolute path, ``..`` or a symlink
    leading out is refused (rule ``file_outside_source``), so that params cannot make ingest read, and
    copy into data/raw, a file that is not part of the export.
    """
    folder = Path(folder)
    if name:
        path = folder / name
        if Path(name).is_absolute() or not path.resolve().is_relative_to(folder.resolve()):
            msg = (
                f"ingest.files.{table}: {name!r} is outside the source folder {folder} (an absolute path, '..' or "
                "a symlink leading out); name a file inside it"
            )
            raise RiskDataError(msg, table=table, rule="file_outside_source")
        return path  # named explicitly: a missing file is an error the reader reports
    found = [folder / f"{table}{s}" for s in SUFFIXES if (folder / f"{table}{s}").is_file()]
    if len(found) > 1:
        msg = f"both {found[0].name} and {found[1].name} in {folder}; keep one"
        raise RiskDataError(msg, table=table, rule="file_exists")
    return found[0] if found else None


def read_folder(
    folder: Path | str,
    tables: tuple[str, ...],
    *,
    encoding: str = "utf-8",
    files: dict[str, str] | None = None,
    max_file_mb: int = MAX_FILE_MB,
) -> dict[str, pl.DataFrame]:
    """Read each of ``tables`` found in ``folder``; tables without a file are simply absent from the result.

    ``files`` names a table's file inside ``folder`` (never outside it); a file over ``max_file_mb`` is refused.
    """
    folder = Path(folder)
    if not folder.is_dir():
        msg = f"source folder not found: {folder}"
        raise RiskDataError(msg, rule="file_exists")
    files = files or {}
    out = {}
    for table in tables:
        path = find_table_file(folder, table, files.get(table))
        if path is not None:
            out[table] = read_table_file(path, table=table, encoding=encoding, max_file_mb=max_file_mb)
    return out


def read_single(
    source: Path | str, default_name: str, *, table: str, encoding: str = "utf-8", max_file_mb: int = MAX_FILE_MB
) -> pl.DataFrame:
    """Read a one-file source: ``source`` itself, or ``default_name`` inside the folder ``source``; a file over
    ``max_file_mb`` is refused.

    A leading preamble line that is not the header (LendingClub's "Notes offered by Prospectus ...")
    is skipped: the header is the first line with more than one comma-separated field.
    """
    source = Path(source)
    path = source / default_name if source.is_dir() else source
    if not path.is_file():
        msg = f"file not found: {path}"
        raise RiskDataError(msg, table=table, rule="file_exists")
    check_size(path, table=table, max_file_mb=max_file_mb)
    if path.suffix.lower() == ".parquet":
        return read_table_file(path, table=table, max_file_mb=max_file_mb)
    text = decode(path.read_bytes(), encoding, table=table, path=path)
    first = text.split("\n", 1)[0]
    skip = 1 if first.strip() and "," not in first and "\n" in text else 0
    return read_csv_text(text, table=table, path=path, skip_rows=skip)
