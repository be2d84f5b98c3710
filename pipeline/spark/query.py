"""The named queries as Spark SQL, over the same tables, with the same answers as DuckDB.

:func:`views` gives a SparkSession the temp views :func:`trailwise.pipeline.query.views.connect`
gives DuckDB (same names, same columns, same types), from the data files pyiceberg plans for each
table's current snapshot. A named query's DuckDB text is translated by sqlglot (:func:`translate`)
unless a reviewed Spark text lies beside it (``queries/NAME.spark.sql``, :func:`spark_text`);
values are bound as Spark's named parameter markers (``:since``), never spliced into the text.
Results come back as Arrow tables with DuckDB's column types (:func:`_to_duckdb_types`).
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

import pyarrow as pa

from trailwise.pipeline import sqlfile
from trailwise.pipeline.errors import QueryError
from trailwise.pipeline.iam import observable, store, trusts
from trailwise.pipeline.iam import resources as iam_resources
from trailwise.pipeline.iam.store import GRANTS_SCHEMA
from trailwise.pipeline.iam.tables import SCHEMAS
from trailwise.pipeline.lake import ACTIONS_TABLE, AGGREGATED_TABLE, EVENTS_TABLE, Lake
from trailwise.pipeline.lake.tables import TABLES
from trailwise.pipeline.query.named import SPARK_SUFFIX, bind
from trailwise.pipeline.query.views import (
    AGGREGATED_APIS,
    SERVICE_APIS,
    api_actions,
    catalogue_table,
)
from trailwise.pipeline.spark.session import spark_session
from trailwise.pipeline.sqlfile import NamedQuery, Param, parse_query

_PACKAGE = "trailwise.pipeline.query"
# Java reflection from SQL: a SELECT that runs any static method is no read-only statement.
_UNSAFE_FUNCTIONS = {"reflect", "java_method", "try_reflect"}


def views(spark: Any, lake: Lake) -> None:
    """Temp views of ``spark`` over the lake's current snapshots, as DuckDB's: ``events``,
    ``event_actions``, ``aggregated_events``, ``iam_actions``, ``aggregated_use``, the ``iam_*``
    views when IAM snapshots are loaded, and ``iam_resource_policies``,
    ``iam_identity_providers`` and ``iam_role_trusts`` always (empty until a snapshot holds
    them)."""
    lake.require()
    _quiet(spark)
    for view, table_name in (
        ("events", EVENTS_TABLE),
        ("event_actions", ACTIONS_TABLE),
        ("aggregated_events", AGGREGATED_TABLE),
    ):
        read_table(spark, lake, table_name).createOrReplaceTempView(view)
    frame(spark, catalogue_table()).createOrReplaceTempView("iam_actions")
    _aggregated_use(spark)
    _resource_uses(spark)
    _iam_views(spark, lake)
    _iam_resource_views(spark, lake)
    frame(spark, trusts.table(lake)).createOrReplaceTempView("iam_role_trusts")


def read_table(spark: Any, lake: Lake, table_name: str) -> Any:
    """A table's data files of the current snapshot as exactly its columns, in the schema's
    order (as :func:`trailwise.pipeline.lake.lake.read_table` reads them for DuckDB).

    The schema is given, not inferred: a column an older data file lacks reads as null, and the
    ``event_date=...`` folder names add no partition column (the select keeps only the schema's).
    """
    schema = TABLES[table_name]
    files = lake.data_files(table_name)
    if not files:
        return frame(spark, schema.empty_table())
    return spark.read.schema(_spark_schema(schema)).parquet(*files).select(*schema.names)


def frame(spark: Any, table: pa.Table) -> Any:
    """A small Arrow table as a Spark DataFrame of the same types: pyspark would make a naive
    timestamp a zoned TIMESTAMP, DuckDB keeps it naive (TIMESTAMP_NTZ)."""
    return spark.createDataFrame(table, schema=_spark_schema(table.schema))


def _spark_schema(schema: pa.Schema) -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema

    # Naive timestamps are UTC by contract: TIMESTAMP_NTZ, as DuckDB's TIMESTAMP.
    return from_arrow_schema(schema, prefer_timestamp_ntz=True)


def _aggregated_use(spark: Any) -> None:
    """``aggregated_use`` from the same SQL files DuckDB's view is made of."""
    spark.sql(translate(sqlfile.text(_PACKAGE, "aggregated_calls"))).createOrReplaceTempView(
        "_aggregated_calls"
    )
    pairs = [(row[0], row[1]) for row in spark.sql(AGGREGATED_APIS).collect()]
    frame(spark, api_actions(pairs)).createOrReplaceTempView("_aggregated_api_actions")
    spark.sql(translate(sqlfile.text(_PACKAGE, "aggregated_use"))).createOrReplaceTempView(
        "aggregated_use"
    )


def _resource_uses(spark: Any) -> None:
    """``known_principals`` and ``resource_uses`` from the SQL files DuckDB's views are made
    of."""
    pairs = [(row[0], row[1]) for row in spark.sql(SERVICE_APIS).collect()]
    frame(spark, api_actions(pairs)).createOrReplaceTempView("_service_api_actions")
    for view in ("known_principals", "resource_uses"):
        spark.sql(translate(sqlfile.text(_PACKAGE, view))).createOrReplaceTempView(view)


def _iam_views(spark: Any, lake: Lake) -> None:
    """``iam_<table>`` over the latest IAM snapshot of each account, as DuckDB's."""
    latest = store.latest(lake)
    for name in (*store.TABLES, "observable_actions"):
        spark.catalog.dropTempView(f"iam_{name}")  # a lake without snapshots has none
    if latest.num_rows == 0:
        return
    frame(spark, observable.table(lake)).createOrReplaceTempView("iam_observable_actions")
    chosen = frame(spark, latest)
    chosen.createOrReplaceTempView("_iam_latest")
    for name in store.TABLES:
        if name == "policies":
            continue  # below
        files = store.table_files(lake, name, latest.column("snapshot_id").to_pylist())
        rows = _read_iam(spark, name, files)
        rows.join(chosen, ["snapshot_id", "account_id"], "left_semi").select(
            *rows.columns
        ).createOrReplaceTempView(f"iam_{name}")
    every = [m["snapshot_id"] for m in store.manifests(lake)]
    policies = _read_iam(spark, "policies", store.table_files(lake, "policies", every))
    policies.createOrReplaceTempView("_iam_policies_all")
    spark.sql(translate(sqlfile.text(_PACKAGE, "iam_policies"))).createOrReplaceTempView(
        "iam_policies"
    )


def _iam_resource_views(spark: Any, lake: Lake) -> None:
    """``iam_resource_policies`` and ``iam_identity_providers`` over the latest snapshot of each
    account that holds them, as DuckDB's; always defined (empty without one), so that a query
    over them runs on lakes of older snapshots too."""
    latest = store.latest_resources(lake)
    chosen = frame(spark, latest)
    chosen.createOrReplaceTempView("_iam_resources_latest")
    for name in iam_resources.TABLES:
        files = store.table_files(lake, name, latest.column("snapshot_id").to_pylist())
        if not files:
            frame(spark, iam_resources.empty_table(name)).createOrReplaceTempView(f"iam_{name}")
            continue
        rows = _read_iam(spark, name, files)
        rows.join(chosen, ["snapshot_id", "account_id"], "left_semi").select(
            *rows.columns
        ).createOrReplaceTempView(f"iam_{name}")


def _read_iam(spark: Any, name: str, files: list[str]) -> Any:
    """An IAM snapshot table's files in the store's schema (its zoned timestamps TIMESTAMP)."""
    if name in iam_resources.SCHEMAS:
        schema = iam_resources.SCHEMAS[name]
    else:
        schema = GRANTS_SCHEMA if name == "grants" else SCHEMAS[name]
    return spark.read.schema(_spark_schema(schema)).parquet(*files).select(*schema.names)


# A placeholder's declared type (sqlfile's param types) in Spark SQL: a bound value is cast to
# it, so that a null (an optional parameter left out) is a typed null, as DuckDB's binder types
# it, not Spark's untyped NULL that array_contains() and the like refuse. Naive timestamps are
# TIMESTAMP_NTZ, as DuckDB's TIMESTAMP.
_SPARK_TYPES = {
    "timestamp": "timestamp_ntz",
    "date": "date",
    "varchar": "string",
    "integer": "int",
    "boolean": "boolean",
    "varchar[]": "array<string>",
}


def translate(sql: str, params: tuple[Param, ...] = ()) -> str:
    """DuckDB SQL as Spark SQL (sqlglot): each ``$name`` placeholder becomes the ``:name``
    marker, cast to its declared type when ``params`` declares it.

    Where sqlglot's Spark SQL would mean something else than the DuckDB text, the DuckDB text is
    written so that it does not (see the queries' comments), or a reviewed Spark text is kept
    beside it (:func:`spark_text`). Beyond the types, the one change made here is to drop a
    CTE's ``[NOT] MATERIALIZED``: a hint to DuckDB's planner that Spark's grammar lacks.
    """
    return _translate(sql, tuple((p.name, _SPARK_TYPES[p.type]) for p in params))


@cache
def _translate(sql: str, types: tuple[tuple[str, str], ...]) -> str:
    import sqlglot
    from sqlglot import exp

    declared = dict(types)
    try:
        statements = sqlglot.parse(sql, read="duckdb")
        if len(statements) != 1 or statements[0] is None:
            raise QueryError(f"expected one SQL statement to translate, got {len(statements)}")
        tree = statements[0]
        for cte in tree.find_all(exp.CTE):
            cte.set("materialized", None)
        for placeholder in list(tree.find_all(exp.Placeholder)):
            if placeholder.name in declared:
                to = exp.DataType.build(declared[placeholder.name], dialect="spark")
                placeholder.replace(exp.Cast(this=placeholder.copy(), to=to))
        return str(tree.sql(dialect="spark", unsupported_level=sqlglot.ErrorLevel.RAISE))
    except sqlglot.errors.SqlglotError as exc:
        first = str(exc).strip().splitlines()[0]
        raise QueryError(f"cannot translate the query to Spark SQL: {first}") from exc


@cache
def spark_text(query: NamedQuery) -> str:
    """The Spark SQL of a named query: its reviewed ``NAME.spark.sql`` when there is one (same
    header as the DuckDB file), else the translation of its DuckDB text."""
    variant = resources.files("trailwise.queries").joinpath(query.name + SPARK_SUFFIX)
    if not variant.is_file():
        return translate(query.sql, query.params)
    filename = query.name + SPARK_SUFFIX
    text = variant.read_text(encoding="utf-8")
    spark_query = parse_query(text, filename)
    if (spark_query.name, spark_query.params, spark_query.columns, spark_query.uses) != (
        query.name,
        query.params,
        query.columns,
        query.uses,
    ):
        raise QueryError(f"{filename}: its header is not the header of {query.name}.sql")
    markers = _markers(text, filename)
    if markers != query.placeholders:
        raise QueryError(
            f"{filename}: its :markers {sorted(markers)} are not the placeholders of "
            f"{query.name}.sql {sorted(query.placeholders)}"
        )
    return text


def _markers(sql: str, filename: str) -> set[str]:
    """The named parameter markers (``:name``) of a Spark SQL text."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, read="spark")
    except sqlglot.errors.SqlglotError as exc:
        first = str(exc).strip().splitlines()[0]
        raise QueryError(f"{filename} does not parse as Spark SQL: {first}") from exc
    return {str(p.name) for p in tree.find_all(exp.Placeholder) if p.name}


def run_named(
    lake: Lake,
    name: str,
    params: dict[str, Any] | None = None,
    spark: Any = None,
    *,
    fresh_views: bool = True,
) -> pa.Table:
    """A named query on Spark: the same checks, the same answer as
    :func:`trailwise.pipeline.query.named.run_named`. A query that uses others reads their
    answers as temp views, registered first and dropped after. ``fresh_views=False`` reads the
    session's views as they are (:class:`SparkQueries` made them)."""
    bound = bind(name, params)
    session = spark or spark_session()
    try:
        if fresh_views:
            views(session, lake)
        for view, used, values in bound.before:
            result = _to_duckdb_types(_sql(session, spark_text(used), values).toArrow())
            frame(session, result).createOrReplaceTempView(view)
        return _to_duckdb_types(_sql(session, spark_text(bound.query), bound.params).toArrow())
    except _spark_errors() as exc:
        raise _query_error(exc) from exc
    finally:
        for view, _, _ in bound.before:
            session.catalog.dropTempView(view)


class SparkQueries:
    """Named queries and a package's SQL files on one Spark session whose views are made once:
    what ``policy bulk --engine spark`` asks of Spark for every principal (a
    :class:`trailwise.pipeline.query.named.Queries`)."""

    def __init__(self, lake: Lake, spark: Any) -> None:
        self.lake, self.spark = lake, spark
        try:
            views(spark, lake)
        except _spark_errors() as exc:
            raise _query_error(exc) from exc

    def named(self, name: str, params: dict[str, Any]) -> pa.Table:
        return run_named(self.lake, name, params, self.spark, fresh_views=False)

    def sql_file(self, package: str, name: str, params: dict[str, Any]) -> pa.Table:
        """``package``'s ``sql/NAME.sql`` (its header declares the parameters' types)."""
        filename = f"{name}.sql"
        query = parse_query(sqlfile.text(package, name), filename)
        try:
            return _to_duckdb_types(
                _sql(self.spark, translate(query.sql, query.params), params).toArrow()
            )
        except _spark_errors() as exc:
            raise _query_error(exc) from exc


def run_sql(lake: Lake, sql: str, spark: Any = None) -> pa.Table:
    """One read-only Spark SQL query (SELECT or WITH) over the lake's views."""
    check_read_only(sql)
    session = spark or spark_session()
    try:
        views(session, lake)
        return _to_duckdb_types(session.sql(sql).toArrow())
    except _spark_errors() as exc:
        raise _query_error(exc) from exc


def check_read_only(sql: str) -> None:
    """Refuse anything but one SELECT or WITH query (Spark SQL), and the parts of one that run
    code: Java reflection, and TRANSFORM ... USING a script.

    Raises:
        QueryError: the text does not parse, holds more than one statement, or is no query.
    """
    import sqlglot
    from sqlglot import exp

    # sqlglot warns on stderr when it falls back to a raw command (EXPLAIN, SET): the refusal
    # below says it in one line.
    sqlglot_log = logging.getLogger("sqlglot")
    level = sqlglot_log.level
    sqlglot_log.setLevel(logging.ERROR)
    try:
        statements = [s for s in sqlglot.parse(sql, read="spark") if s is not None]
    except sqlglot.errors.SqlglotError as exc:
        first = str(exc).strip().splitlines()[0]
        raise QueryError(f"SQL does not parse: {first}") from exc
    finally:
        sqlglot_log.setLevel(level)
    if len(statements) != 1:
        raise QueryError(f"expected one SQL statement, got {len(statements)}")
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        kind = statement.key.upper()
        if isinstance(statement, exp.Command):
            kind = str(statement.this).upper()
        raise QueryError(f"only read-only SELECT statements run here, not {kind}")
    for call in statement.find_all(exp.Anonymous):
        if str(call.name).lower() in _UNSAFE_FUNCTIONS:
            raise QueryError(f"{call.name}() runs Java code: not in a read-only query")
    if statement.find(exp.QueryTransform):
        raise QueryError("TRANSFORM ... USING runs a script: not in a read-only query")


def _sql(spark: Any, sql: str, params: dict[str, Any]) -> Any:
    return spark.sql(sql, args={k: _literal(v) for k, v in params.items()} or None)


def _literal(value: Any) -> Any:
    """A value as Spark binds it: a naive datetime (UTC by contract) made aware, since pyspark
    would read a naive one in the Python process's local zone."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _to_duckdb_types(table: pa.Table) -> pa.Table:
    """Spark's Arrow result in DuckDB's types: every field nullable, strings and lists not
    large, a list's item named ``l``, a zoned timestamp in UTC (Spark's naive TIMESTAMP_NTZ
    stays naive, as DuckDB's TIMESTAMP)."""
    schema = pa.schema([_duckdb_field(field) for field in table.schema])
    return table if schema == table.schema else table.cast(schema)


def _duckdb_field(field: pa.Field, name: str | None = None) -> pa.Field:
    t = field.type
    if pa.types.is_large_string(t):
        t = pa.string()
    elif pa.types.is_timestamp(t):
        t = pa.timestamp("us", tz="UTC" if t.tz else None)
    elif pa.types.is_large_list(t) or pa.types.is_list(t):
        t = pa.list_(_duckdb_field(t.value_field, "l"))
    elif pa.types.is_struct(t):
        t = pa.struct([_duckdb_field(f) for f in t])
    return pa.field(name or field.name, t, nullable=True)


def _spark_errors() -> tuple[type[BaseException], ...]:
    """What Spark raises for a query it cannot analyse or run (pyspark's own errors, and a JVM
    error pyspark did not convert)."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    return (PySparkException, Py4JJavaError)


def _query_error(exc: BaseException) -> QueryError:
    """A Spark error as one line: its message's first, without the plan Spark appends, the
    SQLSTATE, or the class of an error the query raised itself."""
    java = getattr(exc, "java_exception", None)
    text = str(java.getMessage()) if java is not None else str(exc)
    first = (text.strip().splitlines() or [type(exc).__name__])[0]
    first = first.removeprefix("[USER_RAISED_EXCEPTION] ")
    # "... SQLSTATE: 42703; line 1 pos 7;" -> "... (line 1 pos 7)"
    if state := re.search(r"\s*SQLSTATE: \w+;?\s*(.*)$", first):
        where = state.group(1).strip().rstrip(";").removeprefix("(").removesuffix(")")
        first = first[: state.start()] + (f" ({where})" if where else "")
    if "iam_" in first and "TABLE_OR_VIEW_NOT_FOUND" in first:
        return QueryError(
            f"query failed: {first}", hint="load an IAM snapshot first: trailwise iam load FILE"
        )
    return QueryError(f"query failed: {first}")


def _quiet(spark: Any) -> None:
    """pyspark logs each analysis error as JSON on stderr before raising it; trailwise reports
    the error itself, in one line."""
    from pyspark.logger import PySparkLogger

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL)
