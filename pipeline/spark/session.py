"""One SparkSession for trailwise: joined when spark-submit started us, otherwise started.

Under ``spark-submit`` (EMR, EMR Serverless, Glue) the cluster's own configuration decides the
master and resources, so nothing is set but what trailwise's answers depend on (UTC session
time). Elsewhere a local session is started (``local[*]``, or ``--spark-master URL``).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

from trailwise.pipeline.errors import UsageError

MASTER_ENV = "TRAILWISE_SPARK_MASTER"
INSTALL_HINT = "pip install 'trailwise[spark]'"

_started: dict[str, Any] = {}


def java_missing() -> str | None:
    """Why Spark cannot start on this machine (no Java), or None."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return None
    if shutil.which("java"):
        return None
    return (
        "Spark needs Java 17 or later: install it "
        "(e.g. apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
    )


def pyspark_missing() -> str | None:
    """Why pyspark cannot be imported, or None."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return f"the Spark engine needs pyspark: {INSTALL_HINT}"
    return None


def spark_session(master: str | None = None) -> Any:
    """The SparkSession trailwise runs on.

    ``master`` (or ``TRAILWISE_SPARK_MASTER``) is used only when trailwise starts Spark itself;
    inside spark-submit the session the cluster configured is joined.

    Raises:
        UsageError: pyspark is not installed, or Java is missing.
    """
    missing = pyspark_missing()
    if missing:
        raise UsageError(missing)
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return _configured(active)
    master = master or os.environ.get(MASTER_ENV)
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ  # spark-submit's JVM started this Python
    if not submitted:
        reason = java_missing()
        if reason:
            raise UsageError(reason)
    builder = SparkSession.builder.appName("trailwise")
    if master or not submitted:
        builder = builder.master(master or "local[*]")
    if not submitted:
        # A local session: no web UI to bind, few shuffle partitions (the default 200 would
        # schedule 200 tiny tasks per query), and executors on this very interpreter.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        builder = (
            builder.config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", str(max(2, os.cpu_count() or 2)))
            .config("spark.driver.memory", os.environ.get("TRAILWISE_SPARK_DRIVER_MEMORY", "2g"))
        )
    session = builder.getOrCreate()
    if not submitted:
        session.sparkContext.setLogLevel("ERROR")
    return _configured(session)


def _configured(session: Any) -> Any:
    # Timestamps are UTC instants in the lake; Spark would otherwise show them (and cast text
    # to them) in the JVM's zone.
    session.conf.set("spark.sql.session.timeZone", "UTC")
    return session
