"""Reading and writing tables, always atomically: write beside the target, then rename.

A run that dies midway leaves the previous output in place, never a half-written file or folder.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl

from risk.contract import INPUT_TABLES, Table
from risk.exceptions import RiskDataError


def _tmp_beside(target: Path) -> Path:
    return target.with_name(f".{target.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it onto ``target``.

    Works for files and folders. On error the temporary path is removed and ``target`` is untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_beside(target)
    try:
        yield tmp
        _replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp) if tmp.is_dir() else tmp.unlink()


def _replace(src: Path, target: Path) -> None:
    if src.is_dir() and target.exists():
        old = _tmp_beside(target)
        os.rename(target, old)
        os.rename(src, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(src, target)


def write_parquet(frame: pl.DataFrame, target: str | Path) -> None:
    with atomic_path(target) as tmp:
        frame.write_parquet(tmp, compression="zstd", statistics=True)


def write_json(obj: Any, target: str | Path) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")


def write_text(text: str, target: str | Path) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_tables(
    tables: Mapping[str, pl.DataFrame], folder: str | Path, *, manifest: Mapping[str, Any] | None = None
) -> None:
    """Write each frame as ``<name>.parquet`` into ``folder`` (plus the manifest, when given), replacing
    the whole folder at once."""
    with atomic_path(folder) as tmp:
        tmp.mkdir(parents=True)
        for name, frame in tables.items():
            frame.write_parquet(tmp / f"{name}.parquet", compression="zstd", statistics=True)
        if manifest is not None:
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


MANIFEST = "_ingest.json"  # beside the tables: the source's mode, currency and what it lacks
FULL, APPLICATION_ONLY = "full", "application_only"


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The manifest ingest wrote beside the tables; a simulated or contract book is mode ``full``."""
    path = Path(folder) / MANIFEST
    if not path.exists():
        return {"mode": FULL}
    return json.loads(path.read_text(encoding="utf-8"))


def read_parquet(path: str | Path, *, table: str | None = None) -> pl.DataFrame:
    """Read a Parquet file, turning a missing or corrupt file into a :class:`RiskDataError`."""
    path = Path(path)
    name = table or path.stem
    if not path.exists():
        msg = f"file not found: {path}"
        raise RiskDataError(msg, table=name, rule="file_exists")
    try:
        return pl.read_parquet(path)
    except Exception as e:  # polars/pyarrow raise many types for a damaged file
        msg = f"cannot read Parquet file {path}: {type(e).__name__}: {str(e).splitlines()[0][:200]}"
        raise RiskDataError(msg, table=name, rule="readable_parquet") from e


def read_tables(
    folder: str | Path, tables: tuple[Table, ...] = INPUT_TABLES, *, optional: tuple[str, ...] = ()
) -> dict[str, pl.DataFrame]:
    """Read ``<name>.parquet`` for each table in ``folder``."""
    folder = Path(folder)
    out = {}
    for t in tables:
        p = folder / f"{t.name}.parquet"
        if t.name in optional and not p.exists():
            continue
        out[t.name] = read_parquet(p, table=t.name)
    return out


@contextmanager
def file_lock(path: str | Path, on_busy: Callable[[], Exception]) -> Iterator[None]:
    """Hold an exclusive, non-blocking lock on ``path``; raise ``on_busy()`` if another process holds it."""
    import fcntl

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            raise on_busy() from e
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
