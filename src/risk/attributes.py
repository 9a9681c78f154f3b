"""Source attributes: a lender's application columns beyond the contract, declared as PD features.

A real export carries far more about an applicant than the contract's fixed columns (bureau fields, device
data, checking account, savings, housing, guarantors). Each one declared under ``ingest.attributes`` becomes an
:class:`Attribute`: ingest carries it in the ``attributes`` table (one row per application) and records the
declaration, with the categories it found, in the source's manifest; validation checks it against a contract
built from the declaration (:func:`attributes_table`: type, domain, range, missing rate); features join it to
the application snapshots; both PD candidates use it, the scorecard bins it, and the reason codes name it
(``A_<NAME>``, with the declared description). The manifest is the one place downstream stages learn of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import polars as pl

from risk.contract import Column, Table
from risk.features.catalogue import DIRECTION, PD, Feature

NUMERIC, CATEGORICAL = "numeric", "categorical"
KINDS = (NUMERIC, CATEGORICAL)
TABLE = "attributes"
FAMILY = "source attribute"
NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# source column names that usually hold a protected attribute: never a feature unless declared protected
PROTECTED_HINTS = re.compile(
    r"(^|_|\b)(sex|gender|marital|marriage|married|personal_status|race|ethnic|ethnicity|religion|nationality|"
    r"foreign_worker|citizenship|pregnan|disabilit|性别|婚姻|民族|宗教|国籍)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Attribute:
    """One declared source attribute: ``name`` is the feature's name, ``column`` the source column."""

    name: str
    column: str
    kind: str
    description: str
    risk: int = 0  # +1: a higher value is riskier, -1: safer, 0: either (numeric only)
    categories: tuple[str, ...] = ()  # categorical: the values the model knows (declared, else as found)
    max_missing: float = 0.5  # validation: a larger share of empty values is an error
    minimum: float | None = None
    maximum: float | None = None
    reason_en: str = ""
    reason_zh: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def code(self) -> str:
        return "A_" + self.name.upper()

    def feature(self) -> Feature:
        """The attribute as the feature catalogue knows features: its reason code and texts from the declaration."""
        return _AttributeFeature(
            self.name,
            FAMILY,
            self.description,
            "",
            (PD,),
            self.risk,
            reason_en=self.reason_en or f"{self.description} ({self.column})",
            reason_zh=self.reason_zh or f"{self.description}（{self.column}）",
        )

    def column_contract(self) -> Column:
        dtype = pl.Float64() if self.kind == NUMERIC else pl.String()
        domain = self.categories if self.kind == CATEGORICAL and self.extra.get("declared_values") else None
        return Column(
            self.name,
            dtype,
            f"{self.description} (source column {self.column!r})",
            nullable=True,
            domain=domain,
            minimum=self.minimum,
            maximum=self.maximum,
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["categories"] = list(self.categories)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Attribute:
        return cls(**{**d, "categories": tuple(d.get("categories", ()))})


class _AttributeFeature(Feature):
    """A catalogue feature whose reason code is ``A_<NAME>`` (attributes are the lender's, not ours)."""

    @property
    def code(self) -> str:
        return "A_" + self.name.upper()


def attributes_table(attributes: Sequence[Attribute]) -> Table:
    """The contract of the ``attributes`` table, built from the declarations."""
    return Table(
        TABLE,
        "Source attributes beyond the contract, one row per application (declared under ingest.attributes).",
        key=("application_id",),
        columns=(
            Column("application_id", pl.String(), "Application identifier"),
            *(a.column_contract() for a in attributes),
        ),
    )


def from_manifest(manifest: Mapping[str, Any]) -> tuple[Attribute, ...]:
    """The attributes a source's manifest declares (none for a simulated or contract book)."""
    return tuple(Attribute.from_dict(d) for d in manifest.get("attributes", ()))


def categories_of(attributes: Iterable[Attribute]) -> dict[str, tuple[str, ...]]:
    """Each categorical attribute's categories, as the model frame needs them."""
    return {a.name: a.categories for a in attributes if a.kind == CATEGORICAL}


def looks_protected(column: str) -> bool:
    """Whether a source column's name suggests a protected attribute (sex, marital status, ethnicity...)."""
    return bool(PROTECTED_HINTS.search(column))


def direction(attribute: Attribute) -> str:
    return DIRECTION[attribute.risk]
