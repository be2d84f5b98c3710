"""The lake: Iceberg tables of events and their IAM actions, and the state around them.

:mod:`.lake` is the lake itself (location, catalog, tables, object records, run log, lock,
quarantine); :mod:`.tables` names the tables and their schemas; :mod:`.actions` keeps
``event_actions`` in step with ``events``; :mod:`.maintenance` tells what the lake holds and
compacts it; :mod:`.io` holds the helpers every writer shares.
"""

from __future__ import annotations

from trailwise.pipeline.lake.io import duckdb_connect, local_path, new_run_id, write_atomic
from trailwise.pipeline.lake.lake import (
    DEFAULT_LAKE,
    FORMAT_VERSION,
    CatalogConfig,
    DayFiles,
    Lake,
    as_lake,
)
from trailwise.pipeline.lake.tables import ACTIONS_TABLE, AGGREGATED_TABLE, EVENTS_TABLE, NAMESPACE

__all__ = [
    "ACTIONS_TABLE",
    "AGGREGATED_TABLE",
    "DEFAULT_LAKE",
    "EVENTS_TABLE",
    "FORMAT_VERSION",
    "NAMESPACE",
    "CatalogConfig",
    "DayFiles",
    "Lake",
    "as_lake",
    "duckdb_connect",
    "local_path",
    "new_run_id",
    "write_atomic",
]
