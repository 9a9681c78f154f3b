"""Ingest: a lender's export, or a public data set, into the five contract tables (and the optional case
tables the export has: agreements, legal_cases, borrower_profiles) in data/raw.

Formats: ``contract`` (the tables under their contract names), ``mapping`` (a lender's own export,
described in params: :mod:`risk.ingest.mapping`), ``lendingclub`` and ``taiwan`` (public data sets with
one row per loan or client and a final outcome: application-only mode, with an extra ``outcomes``
table). The core :func:`ingest_tables` takes frames; :func:`run` reads and writes.
"""

from risk.ingest.core import ingest_tables, summarise
from risk.ingest.result import OUTCOMES, IngestMode, IngestResult, SourceFormat
from risk.ingest.stage import read_source, run

__all__ = [
    "OUTCOMES",
    "IngestMode",
    "IngestResult",
    "SourceFormat",
    "ingest_tables",
    "read_source",
    "run",
    "summarise",
]
