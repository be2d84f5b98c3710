"""The named queries give on Spark the answers they give on DuckDB: every golden case, the
same column types, the same one-line errors, the same CLI output."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from tests.given import an_event, given_delivery_file
from tests.goldens import CASES, _plain, path_of
from trailwise.pipeline import api
from trailwise.pipeline.errors import QueryError
from trailwise.pipeline.lake import Lake
from trailwise.pipeline.query.named import run_named as duckdb_run_named
from trailwise.pipeline.query.views import connect
from trailwise.pipeline.spark import query as spark_query

pytestmark = [pytest.mark.xdist_group("spark")]


@pytest.fixture(scope="module")
def lake(sample_lake):
    return Lake(sample_lake)


@pytest.fixture(scope="module")
def sample_queries(spark, lake):
    """The sample lake's views made once, as ``policy bulk --engine spark`` makes them
    (:class:`SparkQueries`), in a session of their own: a child of the test session (same JVM,
    same runtime settings) whose temp views no other test's ``views()`` can replace. Building
    them for each golden case cost more than most of the cases themselves."""
    session = spark.newSession()
    for key, value in spark.conf.getAll.items():
        if spark.conf.isModifiable(key):
            session.conf.set(key, value)
    queries = spark_query.SparkQueries(lake, session)
    # pyspark makes the session that last called createDataFrame the active one, which the
    # CLI's spark_session() joins: give that back to the test session, so that a CLI test's
    # views() never replaces these.
    spark.createDataFrame([], "x int")
    return queries


@pytest.fixture(scope="module")
def duckdb_con(lake):
    """One DuckDB connection of the sample lake for the types to compare with (the report asks
    its queries the same way)."""
    con = connect(lake)
    yield con
    con.close()


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_query_answers_on_spark_as_its_golden_and_in_duckdbs_types(
    sample_queries, duckdb_con, lake, case
):
    query, params = CASES[case]
    table = sample_queries.named(query, params)
    # test_goldens' comparison, with nothing normalised beyond it: lists in their order, a
    # timestamp as its ISO text (naive stays naive, a zoned one carries +00:00), floats equal.
    expected = json.loads(path_of(case).read_text())
    assert [_plain(row) for row in table.to_pylist()] == expected
    assert table.schema == duckdb_run_named(lake, query, params, duckdb_con).schema


def test_the_golden_cases_views_are_the_ones_run_named_builds(spark, lake):
    """The golden cases read views made once (``fresh_views=False``); the default path builds
    them for the query, and answers as its golden too (one case of them)."""
    query, params = CASES["used_actions-app-role"]
    table = spark_query.run_named(lake, query, params, spark)
    expected = json.loads(path_of("used_actions-app-role").read_text())
    assert [_plain(row) for row in table.to_pylist()] == expected


def test_a_parameter_error_is_the_same_one_line_error_on_both_engines(spark, lake):
    for params in ({"since": "last tuesday"}, {"colour": "red"}, {}):
        with pytest.raises(QueryError) as duckdb_error:
            api.run_named("unused_principals", lake, params)
        with pytest.raises(QueryError) as spark_error:
            spark_query.run_named(lake, "unused_principals", params, spark)
        assert str(spark_error.value) == str(duckdb_error.value)
        assert len(str(spark_error.value).splitlines()) == 1


def test_an_unknown_sensitive_category_is_refused_by_the_query_on_spark(spark, lake):
    with pytest.raises(QueryError, match=r"unknown category iam_polcy_change \(known: "):
        spark_query.run_named(lake, "sensitive_actions", {"category": "iam_polcy_change"}, spark)


def zoned_in_utc(schema: pa.Schema) -> pa.Schema:
    """``schema`` with every zoned timestamp named in UTC: DuckDB hands a TIMESTAMPTZ to Arrow in
    its session's zone (the machine's, ``Etc/UTC`` here), Spark's answer says ``UTC``; both are
    the same instants."""
    return pa.schema(
        pa.field(f.name, pa.timestamp(f.type.unit, "UTC"), f.nullable)
        if pa.types.is_timestamp(f.type) and f.type.tz
        else f
        for f in schema
    )


RESOURCE_VIEWS = {
    "iam_resource_policies": "select * from iam_resource_policies order by resource_arn, region",
    "iam_identity_providers": "select * from iam_identity_providers order by provider_arn",
}


@pytest.mark.parametrize("view", sorted(RESOURCE_VIEWS))
def test_the_resource_views_hold_on_spark_the_rows_and_types_duckdb_holds(
    spark, lake, duckdb_con, view
):
    sql = RESOURCE_VIEWS[view]
    on_spark = spark_query.run_sql(lake, sql, spark)
    on_duckdb = duckdb_con.sql(sql).to_arrow_table()
    assert on_spark.num_rows > 0  # the sample's captures hold both
    assert on_spark.schema == zoned_in_utc(on_duckdb.schema)
    assert on_spark.to_pylist() == on_duckdb.to_pylist()


@pytest.mark.parametrize("view", sorted(RESOURCE_VIEWS))
def test_a_lake_without_captures_has_empty_resource_views_of_the_same_types(
    spark, tmp_path, lake_dir, view
):
    given_delivery_file(tmp_path / "logs", [an_event()])
    api.ingest([str(tmp_path / "logs")], lake_dir)
    sql = RESOURCE_VIEWS[view]
    on_spark = spark_query.run_sql(Lake(lake_dir), sql, spark)
    assert on_spark.num_rows == 0
    assert on_spark.schema == zoned_in_utc(api.run_sql(sql, lake_dir).schema)


def test_stale_federation_runs_alike_on_a_lake_of_captures_without_any_snapshot(spark, tmp_path):
    """No iam_principals there: the query reads iam_role_trusts, defined on both engines."""
    from tests.query.test_federation import PROD, a_saml_sign_in, given_a_lake, role
    from tests.query.test_federation import saml_provider as provider

    lake = given_a_lake(
        tmp_path,
        [
            a_saml_sign_in(provider(PROD), role(PROD, "admins"), "2026-11-01T08:00:00Z"),
            an_event(eventTime="2026-11-03T10:00:00Z"),
        ],
        [provider(PROD), provider(PROD, "adfs")],
    )
    window = {"since": "2026-11-03", "until": "2026-11-05"}
    on_duckdb = api.run_named("stale_federation", lake, window)
    on_spark = spark_query.run_named(Lake(lake), "stale_federation", window, spark)
    assert on_spark.num_rows == 2
    assert on_spark.schema == on_duckdb.schema
    assert on_spark.to_pylist() == on_duckdb.to_pylist()


def test_spark_sql_runs_over_the_same_views(spark, lake):
    sql = "select count(*) as n from events where event_name = 'ConsoleLogin'"
    assert spark_query.run_sql(lake, sql, spark).to_pylist() == api.run_sql(sql, lake).to_pylist()


@pytest.mark.parametrize(
    ("sql", "error"),
    [
        ("insert into events select * from events", "only read-only SELECT statements run here"),
        ("drop view events", "only read-only SELECT statements run here, not DROP"),
        ("select 1; select 2", "expected one SQL statement, got 2"),
        ("select reflect('java.lang.System', 'exit', 0)", "reflect() runs Java code"),
        ("select no_such_column from events", "query failed: [UNRESOLVED_COLUMN"),
    ],
)
def test_spark_sql_that_is_no_single_query_or_fails_is_a_one_line_error(
    spark, cli, sample_lake, sql, error
):
    result = cli("query", "--sql", sql, "--engine", "spark", "--lake", sample_lake)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {error}")
    assert len(result.stderr.strip().splitlines()) == 1


def test_lake_summary_prints_the_same_on_both_engines(spark, cli, sample_lake):
    on_duckdb = cli("query", "lake_summary", "--lake", sample_lake)
    on_spark = cli("query", "lake_summary", "--engine", "spark", "--lake", sample_lake)
    assert on_spark.exit_code == 0, on_spark.stderr
    assert on_spark.stdout == on_duckdb.stdout


def test_a_window_given_as_dates_selects_the_same_rows_on_both_engines(spark, cli, sample_lake):
    window = ("--since", "2026-11-02", "--until", "2026-11-03", "--lake", sample_lake)
    on_duckdb = cli.json("query", "root_summary", *window)
    on_spark = cli.json("query", "root_summary", "--engine", "spark", *window)
    assert on_spark == on_duckdb


def test_a_permission_query_on_a_lake_without_iam_snapshots_says_to_load_one(
    spark, cli, tmp_path, lake_dir
):
    given_delivery_file(tmp_path / "logs", [an_event()])
    cli.json("ingest", tmp_path / "logs", "--lake", lake_dir)
    window = ("--since", "2026-11-01", "--until", "2026-11-06")
    result = cli("query", "unused_principals", *window, "--engine", "spark", "--lake", lake_dir)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: query failed: [TABLE_OR_VIEW_NOT_FOUND]")
    assert result.stderr.strip().endswith("(load an IAM snapshot first: trailwise iam load FILE)")
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_spark_master_without_the_spark_engine_is_a_usage_error(cli, sample_lake):
    result = cli("query", "lake_summary", "--spark-master", "local[1]", "--lake", sample_lake)
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: --spark-master needs --engine spark"
