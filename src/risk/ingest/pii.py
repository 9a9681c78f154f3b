"""Personal data never reaches data/raw: national ID numbers, phone numbers and names are hashed or dropped.

A source (or a mapping) may carry the columns ``id_number`` (身份证号), ``phone`` (手机号) and ``name``
(姓名). When the table has no ``borrower_id``, the borrower id becomes a salted SHA-256 of the first
present of ID number, phone, name (in that order, row by row), so the same person gets the same id
across tables and applications without the raw value being stored. The raw columns are dropped
either way. The salt (``RISK_PII_SALT``, read by the CLI edge) must be set when hashing is needed:
an unsalted hash of an 18-digit ID number can be reversed by enumeration.
"""

from __future__ import annotations

import hashlib

import polars as pl

from risk.exceptions import RiskDataError
from risk.ingest.coerce import as_text

PII_COLUMNS = ("id_number", "phone", "name")  # in order of preference for the borrower id
SALT_ENV = "RISK_PII_SALT"


def _normalise(value: str) -> str:
    # the same person written "11010519491231002x " and "11010519491231002X" hashes alike
    return "".join(value.split()).replace("-", "").upper()


def hash_value(value: str | None, *, kind: str, salt: str) -> str | None:
    """Salted SHA-256 of one personal value (hex), or None for a missing value."""
    if value is None or not _normalise(value):
        return None
    return hashlib.sha256(f"{salt}|{kind}|{_normalise(value)}".encode()).hexdigest()


def pseudonymise(frame: pl.DataFrame, *, table: str, salt: str | None) -> tuple[pl.DataFrame, list[str]]:
    """Return ``(frame without raw personal columns, names of the columns dropped)``.

    Examples
    --------
    >>> f = pl.DataFrame({"application_id": ["a1"], "id_number": ["110105194912310021"]})
    >>> out, dropped = pseudonymise(f, table="applications", salt="s3cret")
    >>> out.columns, dropped, len(out["borrower_id"][0])
    (['application_id', 'borrower_id'], ['id_number'], 64)
    """
    present = [c for c in PII_COLUMNS if c in frame.columns]
    if not present:
        return frame, []
    out = frame
    if "borrower_id" not in frame.columns:
        if not salt:
            msg = (
                f"the source has personal data ({', '.join(present)}) and no borrower id; set the "
                f"environment variable {SALT_ENV} to a long secret so they can be replaced by salted "
                "hashes (keep it stable: it decides the borrower ids)"
            )
            raise RiskDataError(msg, table=table, column=present[0], rule="pii_salt")
        hashed = pl.DataFrame(
            [
                as_text(frame[c], table=table, column=c).map_elements(
                    lambda v, kind=c: hash_value(v, kind=kind, salt=salt), return_dtype=pl.String
                )
                for c in present
            ]
        )
        out = out.with_columns(hashed.select(pl.coalesce(present).alias("borrower_id")).to_series())
    return out.drop(present), present
