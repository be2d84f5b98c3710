"""An init file for any DuckDB: the lake's views, over its current snapshot's files.

``trailwise connect`` writes SQL statements that define the views :func:`.views.connect` gives
trailwise's own queries (``events``, ``event_actions``, ``aggregated_events``,
``aggregated_use``, ``iam_actions`` and the ``iam_*`` views of the latest IAM snapshots), with
the same names and columns, so that an analyst runs ``duckdb -init "$(trailwise connect)"`` or
opens the file from any DuckDB client. Every name is a temp view or table: nothing lands in a
database file the analyst has open, and the next session asks again.

The views name the data files of each table's current snapshot (Iceberg's own list, as
:func:`~trailwise.pipeline.lake.lake.read_table` reads them), so the file is a snapshot too: it
stays valid while those files exist (until ``compact`` expires them) and shows nothing newer.
The small tables trailwise computes in Python (the action catalogue, the observable actions,
which snapshot is each account's latest, the actions of the APIs aggregated summaries name) are
inlined as one JSON literal each. An init file cannot bind parameters, so every value is an
inlined literal, quoted by :func:`literal`.

An S3 lake's file begins with what the analyst's DuckDB needs to read ``s3://`` (its httpfs and
aws extensions): a secret of the ``credential_chain`` provider scoped to the lake, with the
region and, off AWS, the endpoint botocore resolved. No key, secret or token is ever written:
DuckDB finds the analyst's own credentials the way the AWS CLI does.

Every statement is run in a scratch connection before the file is written (an S3 lake's files
through trailwise's own S3 client), so a file that is written is one DuckDB accepts.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import orjson
import pyarrow as pa

from trailwise.pipeline import sqlfile
from trailwise.pipeline.errors import UsageError
from trailwise.pipeline.iam import observable, resources, store, trusts
from trailwise.pipeline.lake import (
    ACTIONS_TABLE,
    AGGREGATED_TABLE,
    EVENTS_TABLE,
    Lake,
    duckdb_connect,
    write_atomic,
)
from trailwise.pipeline.lake.store import S3Store, custom_endpoint
from trailwise.pipeline.lake.tables import TABLES
from trailwise.pipeline.query.views import (
    SERVICE_APIS,
    aggregated_api_actions,
    api_actions,
    catalogue_table,
)

CONNECT_FILE = "connect.sql"  # in a local lake's folder
# The name of the DuckDB secret: it holds no credential.
S3_SECRET = "trailwise_lake"  # noqa: S105
_EVENT_VIEWS = (
    ("events", EVENTS_TABLE),
    ("event_actions", ACTIONS_TABLE),
    ("aggregated_events", AGGREGATED_TABLE),
)


@dataclass
class ConnectResult:
    """The init file written, and what it defines."""

    path: str
    lake: str
    views: list[str] = field(default_factory=list)
    data_files: int = 0  # data files of the current snapshots the views name

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def literal(value: str) -> str:
    """``value`` as a SQL string literal (single quotes doubled)."""
    if "\x00" in value:
        raise UsageError(f"{value!r} holds a NUL character, which SQL text cannot carry")
    return "'" + value.replace("'", "''") + "'"


def _file_list(paths: Iterable[str]) -> str:
    return "[" + ", ".join(literal(p) for p in paths) + "]"


def _library_sql(name: str) -> str:
    """A view's SQL from the query package's ``sql/`` folder, its header comment left out (a
    trailing line comment would swallow the statement's semicolon)."""
    lines = sqlfile.text("trailwise.pipeline.query", name).strip().splitlines()
    while lines and (not lines[0].strip() or lines[0].startswith("--")):
        lines.pop(0)
    if lines and "--" in lines[-1]:
        lines.append("")
    return "\n".join(lines)


def _comment(text: str) -> str:
    """A one-line comment: a line break in a name must not end it."""
    return "-- " + " ".join(text.splitlines())


def default_path(lake: Lake) -> Path:
    """Where the file goes: a local lake's folder; for an S3 lake, this user's cache folder,
    named for the lake (``~/.cache/trailwise/connect-HASH.sql``, or under $XDG_CACHE_HOME)."""
    if lake.is_local:
        return lake.folder / CONNECT_FILE
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "trailwise"
    digest = hashlib.sha256(lake.root.encode()).hexdigest()[:12]
    return cache / f"connect-{digest}.sql"


def s3_settings(lake: Lake) -> list[str]:
    """The statements a DuckDB needs to read an S3 lake with httpfs: its extensions and a
    ``credential_chain`` secret scoped to the lake (region, and a custom endpoint's address,
    path-style URLs and scheme). None for a local lake."""
    if not isinstance(lake.store, S3Store):
        return []
    config = lake.store.config
    if config.role_arn:
        raise UsageError(
            "connect cannot hand a role to DuckDB",
            hint="name a profile that assumes it (role_arn in ~/.aws/config) instead",
        )
    client = lake.store.client()
    options = [
        "type s3",
        "provider credential_chain",
        f"region {literal(client.meta.region_name or 'us-east-1')}",
    ]
    if config.profile:
        options += ["chain 'config'", f"profile {literal(config.profile)}"]
    endpoint = str(client.meta.endpoint_url)
    if custom_endpoint(endpoint):
        parts = urlsplit(endpoint)
        address = (parts.netloc + parts.path).rstrip("/")
        options += [
            f"endpoint {literal(address)}",
            "url_style 'path'",
            f"use_ssl {'true' if parts.scheme == 'https' else 'false'}",
        ]
    options.append(f"scope {literal(lake.root + '/')}")
    secret = ",\n".join(f"    {option}" for option in options)
    return [
        "install httpfs",
        "load httpfs",
        "install aws",  # the credential_chain provider
        "load aws",
        f"create or replace secret {S3_SECRET} (\n{secret}\n)",
    ]


def _table_select(
    con: duckdb.DuckDBPyConnection, lake: Lake, table_name: str, files: list[str]
) -> str:
    """What :func:`read_table` reads, as SQL: the table's columns in its schema's order, from
    ``files``; null for a column no file has; no rows without files."""
    schema = TABLES[table_name]
    types = [str(t) for t in con.from_arrow(schema.empty_table()).types]
    nulls = {f.name: f"cast(null as {t}) as {f.name}" for f, t in zip(schema, types, strict=True)}
    if not files:
        return f"select {', '.join(nulls.values())} limit 0"
    by_name = lake.mixes_schemas(table_name)
    present = set(con.read_parquet(files, hive_partitioning=False, union_by_name=by_name).columns)
    columns = ", ".join(name if name in present else nulls[name] for name in schema.names)
    options = f"hive_partitioning = false, union_by_name = {str(by_name).lower()}"
    return f"select {columns}\nfrom read_parquet({_file_list(files)}, {options})"


def _rows_select(con: duckdb.DuckDBPyConnection, table: pa.Table) -> str:
    """An Arrow table as a select of one JSON literal (its columns as lists, zipped by unnest):
    one string is parsed in milliseconds where a VALUES list of thousands of rows takes a
    second."""
    types = [str(t) for t in con.from_arrow(table).types]
    structure = {name: [t] for name, t in zip(table.column_names, types, strict=True)}
    data = orjson.dumps(table.to_pydict(), option=orjson.OPT_UTC_Z).decode()
    columns = ",\n    ".join(
        f"cast(unnest(j.{name}) as {t}) as {name}"
        for name, t in zip(table.column_names, types, strict=True)
    )
    parsed = f"from_json({literal(data)}, {literal(orjson.dumps(structure).decode())})"
    return f"select\n    {columns}\nfrom (select {parsed} as j)"


class _Script:
    """The init file's statements, each run in a scratch connection as it is added."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.lines: list[str] = []
        self.names: list[str] = []

    def comment(self, text: str) -> None:
        self.lines.append(_comment(text))

    def statement(self, sql: str, *, run: bool = True) -> None:
        if run:
            self.con.execute(sql)
        self.lines.append(sql.rstrip() + ";")

    def view(self, name: str, select: str) -> None:
        self.statement(f"create or replace temp view {name} as\n{select}")
        self.names.append(name)

    def rows(self, name: str, table: pa.Table) -> None:
        """A computed table, materialised once per session (a view would parse it per query)."""
        self.statement(f"create or replace temp table {name} as\n{_rows_select(self.con, table)}")
        self.names.append(name)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def init_sql(lake: Lake) -> tuple[str, ConnectResult]:
    """The init file's text for the lake as it is now, and what it defines."""
    lake.require()
    con = duckdb_connect()
    try:
        script = _Script(con)
        result = ConnectResult(path="", lake=lake.root)
        script.comment(f"trailwise connect: the views of the lake {lake.root}")
        script.comment("at the snapshots below; run 'trailwise connect' again to see newer data.")
        settings = s3_settings(lake)
        if settings:
            script.comment("DuckDB reads s3:// with httpfs; credentials come from your AWS chain.")
            for sql in settings:
                # Our scratch connection reads S3 through trailwise's own client instead.
                script.statement(sql, run=False)
        for view, table_name in _EVENT_VIEWS:
            snapshot = (
                lake.load(table_name).current_snapshot() if lake.has_table(table_name) else None
            )
            script.comment(
                f"{view}: snapshot {snapshot.snapshot_id if snapshot else 'none (no data)'}"
            )
            files = lake.data_files(table_name)
            script.view(view, _table_select(con, lake, table_name, files))
            result.data_files += len(files)
        script.rows("iam_actions", catalogue_table())
        script.view("_aggregated_calls", _library_sql("aggregated_calls"))
        script.rows("_aggregated_api_actions", aggregated_api_actions(con))
        script.view("aggregated_use", _library_sql("aggregated_use"))
        script.rows("_service_api_actions", api_actions(con.sql(SERVICE_APIS).fetchall()))
        script.view("known_principals", _library_sql("known_principals"))
        script.view("resource_uses", _library_sql("resource_uses"))
        _iam(script, lake)
        _iam_resources(script, lake)
        script.rows("iam_role_trusts", trusts.table(lake))
        result.views = script.names
        return script.text(), result
    finally:
        con.close()


def _iam(script: _Script, lake: Lake) -> None:
    """The ``iam_*`` views of :func:`.views._iam_views`, when the lake holds IAM snapshots."""
    latest = store.latest(lake)
    if latest.num_rows == 0:
        return
    script.comment("IAM: the latest snapshot of each account")
    script.rows("iam_observable_actions", observable.table(lake))
    script.rows("_iam_latest", latest)
    chosen = latest.column("snapshot_id").to_pylist()
    for name in store.TABLES:
        if name == "policies":
            continue  # below
        files = _file_list(store.table_files(lake, name, chosen))
        script.view(
            f"iam_{name}",
            f"select rows.*\nfrom read_parquet({files}, hive_partitioning = false) as rows\n"
            "semi join _iam_latest using (snapshot_id, account_id)",
        )
    every = [m["snapshot_id"] for m in store.manifests(lake)]
    files = _file_list(store.table_files(lake, "policies", every))
    script.view(
        "_iam_policies_all", f"select *\nfrom read_parquet({files}, hive_partitioning = false)"
    )
    script.view("iam_policies", _library_sql("iam_policies"))


def _iam_resources(script: _Script, lake: Lake) -> None:
    """The views of :func:`.views._iam_resource_views`: always there, empty without a snapshot
    that holds them."""
    latest = store.latest_resources(lake)
    script.comment("IAM resource policies and identity providers: the latest of each account")
    script.rows("_iam_resources_latest", latest)
    chosen = latest.column("snapshot_id").to_pylist()
    for name in resources.TABLES:
        files = store.table_files(lake, name, chosen)
        if not files:
            schema = resources.SCHEMAS[name]
            types = [str(t) for t in script.con.from_arrow(schema.empty_table()).types]
            nulls = (f"cast(null as {t}) as {f.name}" for f, t in zip(schema, types, strict=True))
            script.view(f"iam_{name}", f"select {', '.join(nulls)} limit 0")
            continue
        script.view(
            f"iam_{name}",
            f"select rows.*\nfrom read_parquet({_file_list(files)}, hive_partitioning = false)"
            " as rows\nsemi join _iam_resources_latest using (snapshot_id, account_id)",
        )


def write_init_file(lake: Lake, output: Path | None = None) -> ConnectResult:
    """Write the lake's DuckDB init file (see the module) to ``output`` or :func:`default_path`.

    Raises:
        LakeError: there is no lake at the root.
        UsageError: the lake's S3 access cannot be handed to DuckDB (a role to assume).
    """
    text, result = init_sql(lake)
    path = (output or default_path(lake)).expanduser().resolve()
    write_atomic(path, text.encode())
    result.path = str(path)
    return result
