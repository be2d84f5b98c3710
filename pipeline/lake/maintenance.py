"""Keeping the lake tidy and telling what it holds: ``status`` and ``compact``."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from trailwise.pipeline import sqlfile
from trailwise.pipeline.lake import actions
from trailwise.pipeline.lake.io import duckdb_connect, local_path, new_run_id
from trailwise.pipeline.lake.lake import Lake, read_table
from trailwise.pipeline.lake.tables import AGGREGATED_TABLE, EVENTS_TABLE, TABLES
from trailwise.pipeline.mapping import mapping_version

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
        sum(t.file.record_count for t in lake.aggregated_table().scan().plan_files())
        if lake.has_table(AGGREGATED_TABLE)
        else 0
    )
    action_files = [local_path(t.file.file_path) for t in lake.actions_table().scan().plan_files()]
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
    quarantine = lake.quarantine_dir
    out["quarantined_files"] = (
        len([p for p in quarantine.glob("*/files/*") if not p.name.endswith(".reason.json")])
        if quarantine.exists()
        else 0
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


def compact(lake: Lake, expire_older_than: timedelta = timedelta(days=7)) -> CompactResult:
    """Merge each day's small files (rows unchanged, sorted by account and time), in one commit;
    then expire snapshots older than ``expire_older_than`` and delete files no snapshot needs."""
    lake.require()
    started = time.perf_counter()
    result = CompactResult()
    with lake.lock():
        lake.create()  # an older lake's tables gain the columns compacted files will have
        for table_name in (EVENTS_TABLE, AGGREGATED_TABLE):
            _compact_table(lake, table_name, result)
        result.days_compacted = len(result.days)
        # Compacted days have new events files: their actions follow them.
        actions.sync(lake)
        for table_name in TABLES:
            expired, deleted = _expire(
                lake, lake.catalog().load_table(table_name), expire_older_than
            )
            result.snapshots_expired += expired
            result.files_deleted += deleted
        result.state_files_merged = _merge_object_records(lake)
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _compact_table(lake: Lake, table_name: str, result: CompactResult) -> None:
    """Merge each day's small files of one table in one commit (rows unchanged, sorted by
    account and time so that account filters prune row groups)."""
    from pyiceberg.io.pyarrow import _dataframe_to_data_files

    table = lake.catalog().load_table(table_name)
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


def _merge_object_records(lake: Lake) -> int:
    """One object-record file instead of one per run, so the next run's lookup opens one file.

    The merged file lands before the originals go: a crash in between leaves duplicate records,
    which lookups already tolerate.
    """
    files = sorted(lake.objects_dir.glob("*.parquet")) if lake.objects_dir.exists() else []
    if len(files) < 2:
        return 0
    merged = pa.concat_tables(pq.read_table(f) for f in files)
    lake.record_objects(f"merged-{new_run_id()}", merged)
    for f in files:
        f.unlink()
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


def _expire(lake: Lake, table: Any, older_than: timedelta) -> tuple[int, int]:
    """Expire a table's old snapshots, then delete data and manifest files no remaining snapshot
    uses."""
    cutoff = datetime.now(UTC) - older_than
    current = table.metadata.current_snapshot_id
    old = [
        s.snapshot_id
        for s in table.metadata.snapshots
        if s.timestamp_ms < cutoff.timestamp() * 1000 and s.snapshot_id != current
    ]
    if old:
        table.maintenance.expire_snapshots().by_ids(old).commit()
        table = lake.catalog().load_table(table.name())
    referenced: set[str] = set()
    for snapshot in table.metadata.snapshots:
        referenced.add(local_path(snapshot.manifest_list))
        for manifest in snapshot.manifests(table.io):
            referenced.add(local_path(manifest.manifest_path))
            for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
                referenced.add(local_path(entry.data_file.file_path))
    table_dir = Path(local_path(table.metadata.location))
    grace = time.time() - ORPHAN_GRACE.total_seconds()
    deleted = 0
    candidates = list((table_dir / "data").rglob("*.parquet")) + list(
        (table_dir / "metadata").glob("*.avro")
    )
    for path in candidates:
        if str(path) not in referenced and path.stat().st_mtime < grace:
            path.unlink()
            deleted += 1
    return len(old), deleted
