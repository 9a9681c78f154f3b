"""What ingest hands back: the contract tables, what the source lacks, and the mode it supports."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import polars as pl

from risk.attributes import Attribute
from risk.contract import Column, Table


class SourceFormat(StrEnum):
    CONTRACT = "contract"  # a folder of the five tables (and any case tables) under the contract's names
    MAPPING = "mapping"  # a lender's own export, described in params (risk.ingest.mapping)
    LENDINGCLUB = "lendingclub"  # LoanStats3a.csv, LendingClub 2007-2011
    TAIWAN = "taiwan"  # UCI_Credit_Card.csv, Taiwan 2005


class IngestMode(StrEnum):
    """What the source supports downstream."""

    FULL = "full"  # dated loans, schedules and payments: point-in-time features and dated labels
    # one row per application with a final outcome and no dates: application PD only, random split
    APPLICATION_ONLY = "application_only"


OUTCOMES = Table(
    "outcomes",
    "Application-only sources: the outcome the source reports per application (not derived from payments).",
    key=("application_id",),
    columns=(
        Column("application_id", pl.String(), "Application identifier"),
        Column("default_flag", pl.Int8(), "1 = the source's bad outcome, 0 = good", minimum=0, maximum=1),
        Column("source_label_name", pl.String(), "The source column the label comes from"),
    ),
)


@dataclass(frozen=True)
class IngestResult:
    """The five contract tables, the case tables the source has (plus ``outcomes`` in application-only mode) and
    what to know about them."""

    tables: dict[str, pl.DataFrame]
    lacks: list[str]  # plain sentences: which tables and columns the source does not have
    mode: IngestMode
    warnings: list[str]
    dropped: list[str] = field(default_factory=list)  # personal or protected source columns left out
    currency: str = "RMB"  # of every amount; the contract assumes RMB
    attributes: tuple[Attribute, ...] = ()  # declared source attributes, in the ``attributes`` table

    def manifest(self) -> dict[str, object]:
        """A JSON-able record of the result, without the frames (written as ``_ingest.json``)."""
        return {
            "mode": self.mode.value,
            "currency": self.currency,
            "rows": {name: frame.height for name, frame in self.tables.items()},
            "lacks": self.lacks,
            "warnings": self.warnings,
            "dropped": self.dropped,
            "attributes": [a.to_dict() for a in self.attributes],
        }
