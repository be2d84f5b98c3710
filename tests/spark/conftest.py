"""One SparkSession per test worker: the Spark tests form two xdist groups (queries; ingest and
bulk), so ``make test`` starts at most two JVMs, one per worker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """A local SparkSession, or the test is skipped saying why Spark cannot run here."""
    from trailwise.pipeline.spark.session import java_missing, pyspark_missing, spark_session

    reason = pyspark_missing() or java_missing()
    if reason:
        pytest.skip(reason)
    session = spark_session("local[2]")
    # The sample lake is tiny: one shuffle partition saves a third of each query's time, and
    # answers do not depend on it.
    session.conf.set("spark.sql.shuffle.partitions", "1")
    yield session
    session.stop()
