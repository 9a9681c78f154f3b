"""C kernels for the loan features that walk each loan's own rows, compiled once per host by the system's C compiler.

polars builds the loan features as many small plans (sorts, as-of joins, expansions and group-bys), each at its
engine's speed; a pair's features are a walk over its loan's few instalments, payments and actions. ``walk.c`` does
that walk (:mod:`risk.features.walks` prepares its arrays and gives back polars frames). It is compiled the first time
it is needed into ``$RISK_CACHE_DIR/native`` (default ``~/.cache/risk``), under a name made of its source, the
compiler and the flags, so a changed kernel or another compiler is never read from an older object; the object is
written to a private name and renamed, so two processes never load half a file.

Where no C compiler is found, or ``RISK_NATIVE=0``, :func:`kernels` gives None and the features are built by the
polars code alone, which stays the reference: the two are equal column for column (tests/features/test_walks.py).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import logging
import os
import platform
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("walk.c")
# no contraction of a multiply and an add into one rounding: the kernels compare what polars compares
FLAGS = ("-O2", "-std=c11", "-fPIC", "-shared", "-pthread", "-ffp-contract=off")


def cache_dir() -> Path:
    root = os.environ.get("RISK_CACHE_DIR") or Path.home() / ".cache" / "risk"
    return Path(root) / "native"


@functools.cache
def kernels() -> ctypes.CDLL | None:
    """The compiled kernels, compiled here the first time on this host; None where they cannot be (no compiler, or
    ``RISK_NATIVE=0``), said once in the log."""
    if os.environ.get("RISK_NATIVE", "1") == "0":
        return None
    command = shlex.split(os.environ.get("CC", "cc")) or ["cc"]  # $CC may carry flags, as make's does
    compiler = shutil.which(command[0])
    if compiler is None:
        log.warning("no C compiler (cc, or $CC): the loan features are built by polars alone, more slowly")
        return None
    try:
        lib = ctypes.CDLL(str(_compiled([compiler, *command[1:]])))
    except Exception as error:  # noqa: BLE001 - whatever stops the kernels, the polars code builds the same frames
        log.warning("the feature kernels did not compile (%s): the loan features are built by polars alone", error)
        return None
    lib.active_pairs.restype = ctypes.c_int64  # the others return an int, ctypes' default
    return lib


def _compiled(compiler: list[str]) -> Path:
    """The shared object of ``walk.c`` for this compiler (its path and own flags), compiled unless cached."""
    source = SOURCE.read_bytes()
    version = subprocess.run(
        [*compiler, "--version"], capture_output=True, check=True, text=True, errors="replace", timeout=30
    ).stdout
    made_by = "\n".join([" ".join(compiler), version, " ".join(FLAGS), platform.machine(), platform.libc_ver()[0]])
    key = hashlib.sha256(made_by.encode() + b"\n" + source).hexdigest()[:24]
    folder = cache_dir()
    target = folder / f"walk-{key}.so"
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        scratch = Path(tmp) / "walk.so"
        done = subprocess.run(
            [*compiler, *FLAGS, "-o", str(scratch), str(SOURCE)],
            capture_output=True,
            text=True,
            errors="replace",
            check=False,
            timeout=300,
        )
        if done.returncode != 0:
            raise subprocess.SubprocessError(done.stderr.strip()[-500:] or f"{compiler[0]} exited {done.returncode}")
        os.replace(scratch, target)
    return target
