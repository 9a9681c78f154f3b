"""The validate stage: check the five input tables against the data contract, then write them conformed.

Per-table rules run as Great Expectations 1.x suites generated from :mod:`risk.contract`; structural
rules (columns present and castable, finite floats) run before them in polars, and cross-table rules
(foreign keys, approvals, dates, instalment sequences) as polars joins. Every result, error or warning,
goes into one :class:`ValidationReport`.
"""

from risk.validate.core import validate_tables
from risk.validate.report import RuleResult, ValidationReport
from risk.validate.rules import Rule, Severity
from risk.validate.stage import run

__all__ = ["Rule", "RuleResult", "Severity", "ValidationReport", "run", "validate_tables"]
