"""The Spark engine (`engine = 'spark'`): a local session and a dataset's files read into it.
pyspark is imported inside the functions."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mlci.errors import ServiceError
from mlci.validate.data.readers import first_line
from mlci.validate.data.suites import Dataset

__all__ = ["spark_frame", "spark_session"]


def spark_session() -> tuple[Any, bool]:
    """A local Spark session and whether mlci started it (then mlci stops it afterwards)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ServiceError("engine = 'spark' needs pyspark: pip install 'mlci[spark]'") from None
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    running = SparkSession.getActiveSession()
    if running is not None:
        return running, False  # the caller's session: used as it is, left running
    try:
        session = (
            SparkSession.builder.master("local[1]")
            .appName("mlci-validate")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "1")
            .config("spark.driver.memory", "512m")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .getOrCreate()
        )
    except Exception as exc:  # no Java, a JVM that does not start
        raise ServiceError(f"cannot start a local Spark session: {first_line(exc)}") from None
    session.sparkContext.setLogLevel("ERROR")
    return session, True


def spark_frame(spark: Any, root: Path, item: Dataset) -> Any:
    paths = [str(root / shown) for shown in item.table.files]
    reader = spark.read
    if item.config.format == "parquet":
        return reader.parquet(*paths)
    return reader.csv(paths, header=True, inferSchema=True, sep=item.config.delimiter)
