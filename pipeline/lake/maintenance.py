"""Keeping the lake tidy and telling what it holds: ``status`` and ``compact``."""

from __future__ import annotations

import os
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from trailwise.pipeline import sqlfile
from trailwise.pipeline.lake import actions
from trailwise.pipeline.lake.io import duckdb_connect, local_path, new_run_id
from trailwise.pipeline.lake.lake import Lake, read_table
from trailwise.pipeline.lake.tables import (
    ACTIONS_TABLE,
    AGGREGATED_TABLE,
    EVENTS_TABLE,
    OBJECTS_TABLE,
    STATE_TABLES,
    TABLES,
)
from trailwise.pipeline.mapping import mapping_version
from trailwise.pipeline.timeutil import now_iso

EXPIRE_AFTER = timedelta(days=7)
# At most this many snapshots per table (TRAILWISE_KEEP_SNAPSHOTS), however young: every commit
# copies and rewrites the table's metadata, which lists them all (at 130, a third of an hourly
# run went to that). 48: two days of an hourly job to travel back to.
KEEP_SNAPSHOTS = 48
# The state tables (object records, run log) are read at their current snapshot only.
KEEP_STATE_SNAPSHOTS = 4
MAINTAIN_EVERY = 24  # ingest runs between the job's own compactions (a day of hourly runs)
COMPACT_GROUP_BYTES = 64 << 20  # compressed bytes rewritten at once; bounds memory (~8x in Arrow)
# Compact holds the lake lock, so no writer can own an unreferenced file: it is garbage.
ORPHAN_GRACE = timedelta(0)


def _sql(name: str) -> str:
    return sqlfile.text("trailwise.pipeline.lake", name)


def status(lake: Lake) -> dict[str, Any]:
    """What the lake holds and what its last runs did."""
    lake.require()
    table = lake.events_table()
    files = [t.file for t in table.scan().plan_files()]
    out: dict[str, Any] = {
        "lake": str(lake.root),
        "events": sum(f.record_count for f in files),
        "data_files": len(files),
        "data_bytes": sum(f.file_size_in_bytes for f in files),
        "days": len({f.partition[0] for f in files}),
        "snapshots": len(table.metadata.snapshots),
    }
    if files:
        con = duckdb_connect()
        try:
            row = con.execute(
                _sql("events_span"), {"files": [local_path(f.file_path) for f in files]}
            ).fetchone()
        finally:
            con.close()
        assert row is not None
        first, last, accounts, regions = row
        out |= {
            "first_event_at": f"{first:%Y-%m-%dT%H:%M:%S}Z",
            "last_event_at": f"{last:%Y-%m-%dT%H:%M:%S}Z",
            "accounts": accounts,
            "regions": regions,
        }
    out["aggregated_events"] = (
        sum(t.file.record_count for t in lake.load(AGGREGATED_TABLE).scan().plan_files())
        if lake.has_table(AGGREGATED_TABLE)
        else 0
    )
    action_files = lake.data_files(ACTIONS_TABLE)
    out["mapping_version"] = mapping_version()
    out["action_rows"] = 0
    out["stale_action_rows"] = 0
    if action_files:
        con = duckdb_connect()
        try:
            counts = con.execute(
                _sql("action_rows"), {"files": action_files, "version": out["mapping_version"]}
            ).fetchone()
        finally:
            con.close()
        assert counts is not None
        out["action_rows"], out["stale_action_rows"] = counts
    runs = lake.runs()
    out["runs"] = len(runs)
    out["last_runs"] = runs[-5:]
    out["quarantined_files"] = sum(
        1
        for q in lake.store.list(lake.quarantine_key)
        if "/files/" in q.uri and not q.uri.endswith(".reason.json")
    )
    return out


@dataclass
class CompactResult:
    days_compacted: int = 0
    files_before: int = 0
    files_after: int = 0
    rows: int = 0
    snapshots_expired: int = 0
    files_deleted: int = 0
    state_files_merged: int = 0
    seconds: float = 0.0
    days: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compact(lake: Lake, expire_older_than: timedelta = EXPIRE_AFTER) -> CompactResult:
    """Merge each day's small files (rows unchanged, sorted by account and time), in one commit;
    then expire snapshots older than ``expire_older_than`` and delete files no snapshot needs."""
    lake.require()
    with lake.lock():
        started_at = now_iso()
        result = compact_locked(lake, expire_older_than)
        lake.append_run(
            {
                "run_id": new_run_id(),
                "started_at": started_at,
                "finished_at": now_iso(),
                "command": "compact",
            }
            | result.to_dict()
        )
    return result


def compact_locked(lake: Lake, expire_older_than: timedelta = EXPIRE_AFTER) -> CompactResult:
    """:func:`compact`, the caller holding the lake's lock (an ingest run that is due)."""
    started = time.perf_counter()
    result = CompactResult()
    lake.create()  # an older lake's tables gain the columns compacted files will have
    for table_name in (EVENTS_TABLE, AGGREGATED_TABLE):
        _compact_table(lake, table_name, result)
    result.days_compacted = len(result.days)
    # Compacted days have new events files: their actions follow them.
    actions.sync(lake)
    lake.migrate_state()
    result.state_files_merged = sum(_merge_state(lake, name) for name in STATE_TABLES)
    for table_name in TABLES | STATE_TABLES:
        keep = KEEP_STATE_SNAPSHOTS if table_name in STATE_TABLES else None
        expired, deleted = _expire(lake, lake.load(table_name), expire_older_than, keep)
        result.snapshots_expired += expired
        result.files_deleted += deleted
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def maintenance_due(runs: list[dict[str, Any]]) -> bool:
    """Whether an ingest run should compact the lake itself: every MAINTAIN_EVERY runs
    (``TRAILWISE_MAINTAIN_EVERY``; 0: never), counted since the last compaction of any kind.

    Years of hourly runs then cost what the first days did: a day's hourly files become one,
    the state tables stay a file each, and old snapshots (the metadata every commit rewrites)
    are expired.
    """
    every = int(os.environ.get("TRAILWISE_MAINTAIN_EVERY") or MAINTAIN_EVERY)
    if every <= 0:
        return False
    since = 0
    for run in reversed(runs):
        if run.get("command") == "compact" or run.get("compacted"):
            break
        since += 1
    return since + 1 >= every


def _compact_table(lake: Lake, table_name: str, result: CompactResult) -> None:
    """Merge each day's small files of one table in one commit (rows unchanged, sorted by
    account and time so that account filters prune row groups)."""
    from pyiceberg.io.pyarrow import _dataframe_to_data_files

    table = lake.load(table_name)
    by_day: dict[date, list[Any]] = defaultdict(list)
    for task in table.scan().plan_files():
        by_day[date(1970, 1, 1) + timedelta(days=task.file.partition[0])].append(task.file)
    groups = []
    for day, day_files in sorted(by_day.items()):
        for group in _size_groups(sorted(day_files, key=lambda f: f.file_path)):
            if len(group) > 1:
                groups.append((day, group))
    if not groups:
        return
    con = duckdb_connect()
    try:
        with table.transaction() as tx, tx.update_snapshot().overwrite() as overwrite:
            for day, group in groups:
                files = [local_path(f.file_path) for f in group]
                rows = (
                    read_table(con, lake, table_name, files)
                    .order("recipient_account_id, event_time, event_id")
                    .to_arrow_table()
                    .cast(TABLES[table_name])
                )
                for old in group:
                    overwrite.delete_data_file(old)
                for new in _dataframe_to_data_files(
                    tx.table_metadata, rows, table.io, write_uuid=overwrite.commit_uuid
                ):
                    overwrite.append_data_file(new)
                    result.files_after += 1
                result.files_before += len(group)
                result.rows += rows.num_rows
                if str(day) not in result.days:
                    result.days.append(str(day))
    finally:
        con.close()


def _merge_state(lake: Lake, table_name: str) -> int:
    """A state table in one file instead of one per run (one commit replacing the files it
    read), the object records sorted by URI: a run's lookup then reads one file's matching row
    groups, and the run log is one read."""
    table = lake.load(table_name)
    files = [t.file for t in table.scan().plan_files()]
    if len(files) < 2:
        return 0
    rows = table.scan().to_arrow()
    rows = rows.sort_by("uri" if table_name == OBJECTS_TABLE else "logged_ns")
    lake.check_lease()
    table.overwrite(rows)
    return len(files)


def _size_groups(files: list[Any]) -> list[list[Any]]:
    groups: list[list[Any]] = [[]]
    size = 0
    for f in files:
        if groups[-1] and size + f.file_size_in_bytes > COMPACT_GROUP_BYTES:
            groups.append([])
            size = 0
        groups[-1].append(f)
        size += f.file_size_in_bytes
    return [g for g in groups if g]


def _expire(
    lake: Lake, table: Any, older_than: timedelta, keep: int | None = None
) -> tuple[int, int]:
    """Expire a table's snapshots older than ``older_than`` or beyond its newest ``keep``
    (default KEEP_SNAPSHOTS), then delete data and manifest files no remaining snapshot uses."""
    cutoff = datetime.now(UTC) - older_than
    current = table.metadata.current_snapshot_id
    keep = keep or int(os.environ.get("TRAILWISE_KEEP_SNAPSHOTS") or KEEP_SNAPSHOTS)
    newest = sorted(table.metadata.snapshots, key=lambda s: s.timestamp_ms)[-keep:]
    kept = {s.snapshot_id for s in newest}
    old = [
        s.snapshot_id
        for s in table.metadata.snapshots
        if s.snapshot_id != current
        and (s.timestamp_ms < cutoff.timestamp() * 1000 or s.snapshot_id not in kept)
    ]
    if old:
        table.maintenance.expire_snapshots().by_ids(old).commit()
        table = lake.catalog().load_table(table.name())
    referenced: set[str] = set()
    # Snapshots share most of their manifests: each is read once, however many list it.
    manifests: dict[str, Any] = {}
    for snapshot in table.metadata.snapshots:
        referenced.add(local_path(snapshot.manifest_list))
        for manifest in snapshot.manifests(table.io):
            manifests.setdefault(manifest.manifest_path, manifest)
    for path, manifest in manifests.items():
        referenced.add(local_path(path))
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
            referenced.add(local_path(entry.data_file.file_path))
    location = local_path(table.metadata.location)
    grace = time.time() - ORPHAN_GRACE.total_seconds()
    deleted = 0
    for listed in lake.store.list(location.removeprefix(lake.root).strip("/")):
        orphan = listed.uri.endswith(".parquet") and "/data/" in listed.uri
        orphan |= listed.uri.endswith(".avro") and "/metadata/" in listed.uri
        if orphan and listed.uri not in referenced and listed.mtime < grace:
            lake.store.delete(listed.uri)
            deleted += 1
    return len(old), deleted
