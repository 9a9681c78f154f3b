"""The validation rules' names and severities, and how ``validate.warn_only`` downgrades them."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from risk.exceptions import ConfigError


class Severity(StrEnum):
    ERROR = "error"  # stops the pipeline
    WARNING = "warning"  # reported, the pipeline goes on


class Rule(StrEnum):
    """Every rule the validate stage checks; ``warn_only`` names them by these values."""

    # structure, checked in polars before Great Expectations (which would crash on them)
    TABLE_PRESENT = "table_present"
    REQUIRED_COLUMN = "required_column"
    DTYPE = "dtype"
    EXTRA_COLUMNS = "extra_columns"
    FINITE = "finite"
    # per column, Great Expectations suites generated from the contract
    NOT_NULL = "not_null"
    UNIQUE_KEY = "unique_key"
    IN_DOMAIN = "in_domain"
    IN_RANGE = "in_range"
    NOT_AFTER_AS_OF = "not_after_as_of"
    # across tables, polars joins
    FK_LOAN_EXISTS = "fk_loan_exists"
    FK_APPLICATION_EXISTS = "fk_application_exists"
    APPLICATION_APPROVED = "application_approved"
    PAID_NOT_BEFORE_ORIGINATION = "paid_not_before_origination"
    INSTALMENTS_CONTIGUOUS = "instalments_contiguous"
    DUE_AFTER_ORIGINATION = "due_after_origination"


# Without these the tables cannot be conformed to the contract, so they can never be downgraded.
STRUCTURAL: frozenset[Rule] = frozenset({Rule.TABLE_PRESENT, Rule.REQUIRED_COLUMN, Rule.DTYPE})
DEFAULT_WARNINGS: frozenset[Rule] = frozenset({Rule.EXTRA_COLUMNS})


def check_warn_only(warn_only: Iterable[str]) -> None:
    """Raise :class:`ConfigError` for an entry that names no rule, or a rule that cannot be downgraded.

    An entry is ``rule``, ``table.rule`` or ``table.column.rule``.
    """
    known = {r.value for r in Rule}
    for entry in warn_only:
        rule = entry.rsplit(".", 1)[-1]
        if rule not in known:
            msg = (
                f"validate.warn_only: {entry!r} names no rule; expected 'rule', 'table.rule' or "
                f"'table.column.rule' with rule one of {sorted(known)}"
            )
            raise ConfigError(msg)
        if rule in STRUCTURAL:
            msg = (
                f"validate.warn_only: {entry!r} cannot be downgraded: without it the tables cannot be "
                f"conformed to the contract (structural rules: {sorted(STRUCTURAL)})"
            )
            raise ConfigError(msg)


def severity(table: str, column: str | None, rule: Rule, warn_only: Iterable[str]) -> Severity:
    """The severity of ``rule`` on ``table.column``: error, unless a default warning or in ``warn_only``."""
    if rule in DEFAULT_WARNINGS:
        return Severity.WARNING
    names = {rule.value, f"{table}.{rule.value}"}
    if column:
        names.add(f"{table}.{column}.{rule.value}")
    return Severity.WARNING if names & set(warn_only) else Severity.ERROR
