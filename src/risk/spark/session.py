"""A SparkSession from :class:`~risk.spark.params.SparkParams`."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from risk.exceptions import ConfigError
from risk.spark.params import SparkParams

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# settings the engine relies on; params' conf and spark-submit's --conf win over them
DEFAULTS = {
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.adaptive.enabled": "true",
}
# on an explicit local master the driver binds to the loopback (no SPARK_LOCAL_IP needed) and the Python workers
# run this interpreter, so they import the same risk and polars
LOCAL = {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}


def spark_session(params: SparkParams) -> SparkSession:
    """The active SparkSession, or a new one built from ``params``.

    An empty ``master`` leaves the choice to Spark: ``spark-submit --master``, ``spark-defaults.conf`` or
    ``PYSPARK_SUBMIT_ARGS``, and local[*] when none says. Under spark-submit (or on Databricks) the
    session already exists and is returned with ``params.conf`` applied where Spark allows it at runtime.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as e:
        msg = "engine spark needs the risk[spark] extra (pyspark[connect]): uv sync --extra spark"
        raise ConfigError(msg) from e

    active = SparkSession.getActiveSession()
    if active is not None:
        for key, value in params.conf.items():
            active.conf.set(key, value)
        return active
    builder = SparkSession.builder.appName(params.app_name)
    if params.master:
        builder = builder.master(params.master)
    settings = dict(DEFAULTS)
    # with no master named, Spark may start local workers with the system python3 (no pyarrow, no risk):
    # unless the user chose an interpreter, the workers run this one (a cluster's own setting wins there)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    if params.master.startswith("local"):
        settings |= LOCAL | {"spark.pyspark.python": sys.executable, "spark.pyspark.driver.python": sys.executable}
    settings |= params.conf
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark
