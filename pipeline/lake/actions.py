"""Derived facts: which IAM actions each event exercised, as the table ``event_actions``.

The table mirrors the events table file for file: each events data file has exactly one actions
file, named after it (``<events file stem>~<token>.parquet``). :func:`sync` brings the actions in
line with the events table's current files (new files mapped, vanished ones dropped) in one
commit, so a crash between the events commit and the actions commit is repaired by the next sync;
``full=True`` (``trailwise remap``) re-derives everything from the lake after the mapping improved,
without re-reading raw logs.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from trailwise.pipeline.lake.io import local_path
from trailwise.pipeline.lake.lake import Lake
from trailwise.pipeline.lake.tables import ACTIONS_SCHEMA
from trailwise.pipeline.mapping import map_event, mapping_version

# What the mapper reads from each event row.
INPUT_COLUMNS = [
    "event_id",
    "recipient_account_id",
    "event_time",
    "principal_arn",
    "event_source",
    "event_name",
    "event_type",
    "event_category",
    "error_code",
    "error_message",
    "aws_region",
    "user_identity_type",
    "user_identity_arn",
    "user_identity_account_id",
    "user_identity_invoked_by",
    "session_issuer_arn",
    "read_only",
    "management_event",
    "request_parameters",
    "response_elements",
    "resources",
    "additional_event_data",
]
INLINE_FILES = 4  # fewer files than this are mapped in-process
MAP_BATCH_ROWS = 16_384


def map_table(events: pa.Table) -> pa.Table:
    """The action rows of a table of events (one row per action, one for an event without)."""
    version = mapping_version()
    columns: dict[str, list[Any]] = {name: [] for name in ACTIONS_SCHEMA.names}
    add = {name: columns[name].append for name in ACTIONS_SCHEMA.names}
    for row in events.to_pylist():
        mapped = map_event(row)
        denial = mapped.denial
        uses = mapped.actions or (None,)
        for use in uses:
            add["event_id"](row["event_id"])
            add["recipient_account_id"](row["recipient_account_id"])
            add["event_time"](row["event_time"])
            add["principal_arn"](row["principal_arn"])
            add["event_source"](row["event_source"])
            add["event_name"](row["event_name"])
            add["classification"](mapped.classification)
            add["action"](use.action if use else None)
            add["resource_arn"](use.resource_arn if use else None)
            add["is_authorized"](mapped.is_authorized)
            add["inferred_from"](use.inferred_from if use else None)
            add["error_code"](row["error_code"])
            add["denied_action"](denial.action if denial else None)
            add["denied_resource"](denial.resource if denial else None)
            add["denied_by"](denial.policy_type if denial else None)
            add["is_explicit_deny"](denial.explicit_deny if denial else None)
            add["reason"](mapped.reason)
            add["mapping_version"](version)
    return pa.table(columns, schema=ACTIONS_SCHEMA)


def _map_file(task: tuple[str, str]) -> tuple[str, int]:
    """Worker: map one events data file into its actions file, a batch of rows at a time (a
    day's file can hold millions of events)."""
    events_file, out = task
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    rows = 0
    with pq.ParquetWriter(tmp, ACTIONS_SCHEMA, compression="zstd") as writer:
        for batch in pq.ParquetFile(events_file).iter_batches(
            MAP_BATCH_ROWS, columns=INPUT_COLUMNS
        ):
            mapped = map_table(pa.Table.from_batches([batch]))
            writer.write_table(mapped)
            rows += mapped.num_rows
    tmp.replace(target)
    return out, rows


@dataclass
class SyncResult:
    files_mapped: int = 0
    files_dropped: int = 0
    rows_written: int = 0
    mapping_version: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _stem(path: str) -> str:
    return Path(path).name.split("~", 1)[0].removesuffix(".parquet")


def sync(lake: Lake, processes: int | None = None, full: bool = False) -> SyncResult:
    """Make ``event_actions`` mirror the events table's current files; ``full`` re-derives all.

    The caller holds the lake lock.
    """
    started = time.perf_counter()
    result = SyncResult(mapping_version=mapping_version())
    events = {_stem(path): path for path in lake.data_files()}
    table = lake.actions_table()
    current = {_stem(task.file.file_path): task.file for task in table.scan().plan_files()}
    to_drop = [f for stem, f in current.items() if full or stem not in events]
    to_map = [path for stem, path in events.items() if full or stem not in current]
    if not to_drop and not to_map:
        result.seconds = round(time.perf_counter() - started, 3)
        return result
    data_dir = Path(local_path(table.metadata.location)) / "data"
    token = uuid.uuid4().hex[:8]
    tasks = [
        (path, str(data_dir / Path(path).parent.name / f"{_stem(path)}~{token}.parquet"))
        for path in to_map
    ]
    workers = max(1, min(processes or os.cpu_count() or 1, len(tasks)))
    if workers == 1 or len(tasks) < INLINE_FILES:
        written = [_map_file(task) for task in tasks]
    else:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            written = pool.map(_map_file, tasks)
    with table.transaction() as tx:
        if to_drop:
            with tx.update_snapshot().overwrite() as overwrite:
                for data_file in to_drop:
                    overwrite.delete_data_file(data_file)
        if written:
            tx.add_files(
                [f"file://{out}" for out, _ in written],
                snapshot_properties={"trailwise.mapping-version": result.mapping_version},
                check_duplicate_files=False,
            )
    result.files_mapped = len(written)
    result.files_dropped = len(to_drop)
    result.rows_written = sum(n for _, n in written)
    result.seconds = round(time.perf_counter() - started, 3)
    return result
