"""Named queries and ad-hoc read-only SQL over the lake's views (:mod:`.views`).

Named queries are the ``.sql`` files shipped in ``trailwise.queries``, with the header of
:mod:`trailwise.pipeline.sqlfile`. Values are always bound parameters, never spliced into SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from typing import Any, Protocol

import duckdb
import pyarrow as pa

from trailwise.pipeline.errors import QueryError
from trailwise.pipeline.lake import Lake, as_lake
from trailwise.pipeline.query.views import connect
from trailwise.pipeline.sqlfile import NamedQuery, Param, parse_query

# A reviewed Spark SQL text of a named query, beside its DuckDB one (NAME.spark.sql): read by
# the Spark engine only (trailwise.pipeline.spark.query), never listed as a query of its own.
SPARK_SUFFIX = ".spark.sql"


def named_queries() -> dict[str, NamedQuery]:
    """Every query shipped with trailwise, by name."""
    out: dict[str, NamedQuery] = {}
    for entry in sorted(resources.files("trailwise.queries").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql") and not entry.name.endswith(SPARK_SUFFIX):
            query = parse_query(entry.read_text(encoding="utf-8"), entry.name)
            out[query.name] = query
    return out


def _coerce(param: Param, value: Any) -> Any:
    if value is None or param.type == "varchar":
        return value
    try:
        if param.type == "integer":
            return int(value)
        if param.type == "boolean":
            return value if isinstance(value, bool) else str(value).lower() in {"1", "true", "yes"}
        if param.type == "date":
            return value if isinstance(value, date) else date.fromisoformat(str(value))
        return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise QueryError(f"parameter {param.name}: {value!r} is not a {param.type}") from exc


class Queries(Protocol):
    """Where a policy's event-side questions are asked when not in its own DuckDB connection:
    ``policy bulk --engine spark`` passes Spark's (:class:`trailwise.pipeline.spark.query.
    SparkQueries`), whose answers equal DuckDB's."""

    def named(self, name: str, params: dict[str, Any]) -> pa.Table:
        """A named query's answer."""
        ...

    def sql_file(self, package: str, name: str, params: dict[str, Any]) -> pa.Table:
        """The answer of ``package``'s ``sql/NAME.sql``."""
        ...


@dataclass(frozen=True)
class Bound:
    """A named query with its values checked and bound, ready for either engine."""

    query: NamedQuery
    params: dict[str, Any]  # the values of the query's own placeholders
    # (view, query, values): the queries it uses, each run first and read as a view
    before: tuple[tuple[str, NamedQuery, dict[str, Any]], ...] = ()


def bind(name: str, params: dict[str, Any] | None = None) -> Bound:
    """Check ``params`` against the query's header and coerce them to its types.

    Raises:
        QueryError: no such query, a parameter it does not declare, a required one missing,
            or a value that is not of the declared type.
    """
    queries = named_queries()
    if name not in queries:
        raise QueryError(f"no query named {name!r}", hint=f"known: {', '.join(sorted(queries))}")
    query = queries[name]
    given = dict(params or {})
    declared = {p.name: p for p in query.params}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        valid = ", ".join(sorted(declared)) or "none"
        raise QueryError(
            f"query {name} has no parameter {', '.join(unknown)}", hint=f"valid: {valid}"
        )
    missing = sorted(p.name for p in query.params if not p.optional and given.get(p.name) is None)
    if missing:
        raise QueryError(
            f"query {name} needs parameter {', '.join(missing)}",
            hint="pass --param KEY=VALUE (or --since/--until)",
        )
    # Optional parameters are bound as null; the query reads null as "no bound".
    bound = {p.name: _coerce(p, given.get(p.name)) for p in query.params}
    before = tuple(
        (
            dependency,
            queries[dependency],
            {p.name: bound.get(p.name) for p in queries[dependency].params},
        )
        for dependency in query.uses
    )
    own = {name: value for name, value in bound.items() if name in query.placeholders}
    return Bound(query, own, before)


def run_named(
    lake: Lake,
    name: str,
    params: dict[str, Any] | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pa.Table:
    """Run a named query with bound parameters; unknown or missing ones are a QueryError.

    ``con``: a connection of :func:`connect` to ask in, for a caller asking many queries (the
    report): making the views costs more than most queries on a small lake."""
    bound = bind(name, params)
    before = [(view, used.sql, values) for view, used, values in bound.before]
    return _execute(lake, bound.query.sql, bound.params, before, con)


def run_sql(lake: Lake, sql: str) -> pa.Table:
    """Run one read-only statement (SELECT, WITH, DESCRIBE...) over the lake's views."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(f"SQL does not parse: {exc}") from exc
    if len(statements) != 1:
        raise QueryError(f"expected one SQL statement, got {len(statements)}")
    kind = statements[0].type
    if kind not in (duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN):
        raise QueryError(f"only read-only SELECT statements run here, not {kind.name}")
    return _execute(lake, sql, {})


def _execute(
    lake: Lake,
    sql: str,
    params: dict[str, Any],
    before: list[tuple[str, str, dict[str, Any]]] | None = None,
    shared: duckdb.DuckDBPyConnection | None = None,
) -> pa.Table:
    """Run ``sql`` (in ``shared``, else a connection of its own); first register each (view,
    sql, params) of ``before`` as a view of its result, so that one named query can build on
    another without repeating it."""
    con = shared or connect(lake)
    try:
        for view, view_sql, view_params in before or []:
            result = con.sql(view_sql, params=view_params or None).to_arrow_table()
            con.from_arrow(result).create_view(view)
        return con.sql(sql, params=params or None).to_arrow_table()
    except duckdb.CatalogException as exc:
        first = str(exc).splitlines()[0]
        if "iam_" in first:
            raise QueryError(
                f"query failed: {first}", hint="load an IAM snapshot first: trailwise iam load FILE"
            ) from exc
        raise QueryError(f"query failed: {first}") from exc
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise QueryError(f"query failed: {first}") from exc
    finally:
        if shared is None:
            con.close()


def fetch(con: duckdb.DuckDBPyConnection, sql: str, **params: Any) -> list[dict[str, Any]]:
    """Rows of ``sql`` with bound ``$params``, as dicts; DuckDB errors become QueryError."""
    try:
        rows: list[dict[str, Any]] = (
            con.sql(sql, params=params or None).to_arrow_table().to_pylist()
        )
    except duckdb.Error as exc:
        raise QueryError(f"query failed: {str(exc).splitlines()[0]}") from exc
    return rows


def run_query(lake: Lake | str, name: str, **params: Any) -> Any:
    """Notebook API: a named query's result as a polars DataFrame."""
    import polars as pl

    target = as_lake(lake)
    return pl.from_arrow(run_named(target, name, params))
