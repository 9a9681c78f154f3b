"""The Spark engine: the same polars feature and scoring functions, run per partition of borrowers on Spark.

Importing this package does not import Spark (``risk.spark.params`` is read by :mod:`risk.config`);
``session``, ``partition``, ``features``, ``score`` and ``stage`` need the ``risk[spark]`` extra.
See docs/spark.md.
"""
