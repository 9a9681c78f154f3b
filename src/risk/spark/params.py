"""The engine switch and the Spark section of params.yaml live in :mod:`risk.config` with every other
section; they are re-exported here for the Spark modules."""

from risk.config import ENGINES, SparkParams, check_engine

__all__ = ["ENGINES", "SparkParams", "check_engine"]
