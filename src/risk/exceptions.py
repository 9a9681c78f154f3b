"""The project's errors: each names what was wrong, where, and shows a few examples.

The CLI turns a :class:`RiskError` into a message and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class RiskError(Exception):
    """Base class of every error the project raises on purpose."""

    exit_code = 1


class ConfigError(RiskError):
    """params.yaml (or an override) holds a key, type or value that is not allowed."""

    exit_code = 2


class RiskDataError(RiskError):
    """An input table breaks the data contract.

    Carries the table, the column and the rule that failed, how many rows failed and a few examples,
    so that a message can say exactly what to fix.
    """

    exit_code = 3

    def __init__(
        self,
        message: str,
        *,
        table: str | None = None,
        column: str | None = None,
        rule: str | None = None,
        failing_rows: int | None = None,
        examples: Sequence[Any] = (),
    ) -> None:
        self.table = table
        self.column = column
        self.rule = rule
        self.failing_rows = failing_rows
        self.examples = list(examples)[:5]
        where = ".".join(p for p in (table, column) if p)
        parts = [f"{where}: " if where else "", message]
        if rule:
            parts.append(f" [rule: {rule}]")
        if failing_rows is not None:
            parts.append(f" ({failing_rows} failing rows)")
        if self.examples:
            parts.append(f"; examples: {self.examples}")
        super().__init__("".join(parts))


class ValidationFailed(RiskDataError):
    """One or more error-level validation rules failed; ``failures`` lists them all."""

    def __init__(self, failures: Sequence[RiskDataError]) -> None:
        self.failures = list(failures)
        lines = [f"{len(self.failures)} error-level rule(s) failed:"] + [f"  - {f}" for f in self.failures]
        first = self.failures[0] if self.failures else None
        RiskError.__init__(self, "\n".join(lines))
        self.table = first.table if first else None
        self.column = first.column if first else None
        self.rule = first.rule if first else None
        self.failing_rows = first.failing_rows if first else None
        self.examples = first.examples if first else []


class LockHeld(RiskError):
    """Another run holds the lock for the same output (for example two scorings of one as_of)."""

    exit_code = 75  # EX_TEMPFAIL: a scheduler may retry later


class ModelNotFound(RiskError):
    """A registered model or alias the stage needs does not exist in the MLflow registry."""

    exit_code = 4
