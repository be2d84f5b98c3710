"""One local Spark session for every Spark test (they share one xdist worker: ``--dist
loadgroup`` and the ``spark`` group), skipped with the reason where Spark cannot run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from trailwise.pipeline.spark.session import java_missing, pyspark_missing, spark_session


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    reason = pyspark_missing() or java_missing()
    if reason:
        pytest.skip(reason)
    session = spark_session("local[2]")
    yield session
    session.stop()
