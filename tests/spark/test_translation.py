"""How a named query's DuckDB text becomes Spark SQL, and which text Spark runs."""

from __future__ import annotations

import pytest

from trailwise.pipeline.query import named_queries
from trailwise.pipeline.spark.query import spark_text, translate
from trailwise.pipeline.sqlfile import Param

pytestmark = [pytest.mark.xdist_group("spark")]


@pytest.fixture(autouse=True)
def _sqlglot():
    pytest.importorskip(
        "sqlglot", reason="the Spark engine needs sqlglot: pip install trailwise[spark]"
    )


def test_a_placeholder_becomes_a_spark_marker_cast_to_its_declared_type():
    params = (Param("since", "timestamp", ""), Param("account_id", "varchar", ""))
    sql = translate(
        "select * from events where event_time >= $since or $account_id is null", params
    )
    assert "CAST(:since AS TIMESTAMP_NTZ)" in sql
    assert "CAST(:account_id AS STRING)" in sql


def test_duckdbs_materialization_hints_are_dropped():
    sql = translate("with a as materialized (select 1 as x) select * from a")
    assert sql == "WITH a AS (SELECT 1 AS x) SELECT * FROM a"


def test_a_spark_variant_is_read_by_spark_and_never_listed_as_a_query():
    queries = named_queries()
    assert not any(name.endswith(".spark") for name in queries)
    assert "raise_error(" in spark_text(queries["sensitive_actions"])
    assert "raise_error(" not in queries["sensitive_actions"].sql


def test_every_named_query_has_a_spark_text():
    for query in named_queries().values():
        assert spark_text(query).strip()
