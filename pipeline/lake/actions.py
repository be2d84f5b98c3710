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
import pyarrow.compute as pc
import pyarrow.parquet as pq

from trailwise.pipeline.lake.io import local_path
from trailwise.pipeline.lake.lake import Lake
from trailwise.pipeline.lake.tables import ACTIONS_SCHEMA
from trailwise.pipeline.mapping import MAPPING_INPUTS, map_event, mapping_version

# What an action row copies from its event; the mapping itself reads MAPPING_INPUTS.
_EVENT_COLUMNS = [
    "event_id",
    "recipient_account_id",
    "event_time",
    "principal_arn",
    "event_source",
    "event_name",
    "error_code",
]
INPUT_COLUMNS = list(dict.fromkeys(_EVENT_COLUMNS + list(MAPPING_INPUTS)))
INLINE_FILES = 4  # fewer files than this are mapped in-process
MAP_BATCH_ROWS = 16_384
# Mappings kept per process: trails repeat the same calls (pollers, agents, one role's routine),
# and each distinct call is mapped once.
_MEMO_LIMIT = 200_000
_memo: dict[tuple[Any, ...], tuple[tuple[Any, ...], ...]] = {}


def _mapped_rows(key: tuple[Any, ...]) -> tuple[tuple[Any, ...], ...]:
    """The mapping-derived values of each action row of one distinct call (ACTIONS_SCHEMA's
    classification .. reason)."""
    mapped = map_event(dict(zip(MAPPING_INPUTS, key, strict=True)))
    denial = mapped.denial
    return tuple(
        (
            mapped.classification,
            use.action if use else None,
            use.resource_arn if use else None,
            mapped.is_authorized,
            use.inferred_from if use else None,
            denial.action if denial else None,
            denial.resource if denial else None,
            denial.policy_type if denial else None,
            denial.explicit_deny if denial else None,
            mapped.reason,
        )
        for use in (mapped.actions or (None,))
    )


_MAPPED_COLUMNS = (
    "classification",
    "action",
    "resource_arn",
    "is_authorized",
    "inferred_from",
    "denied_action",
    "denied_resource",
    "denied_by",
    "is_explicit_deny",
    "reason",
)


def map_table(events: pa.Table) -> pa.Table:
    """The action rows of a table of events (one row per action, one for an event without), in
    the events' order.

    The mapping is a pure function of :data:`MAPPING_INPUTS`, so Arrow groups the events by
    those columns, each distinct combination is mapped once (and remembered across tables),
    and its rows are spread back to its events with ``take``: Python work per distinct call,
    not per event.
    """
    if len(_memo) > _MEMO_LIMIT:
        _memo.clear()
    n = events.num_rows
    keyed = events.select(list(MAPPING_INPUTS)).append_column(
        "_row", pa.array(range(n), pa.int64())
    )
    groups = keyed.group_by(list(MAPPING_INPUTS), use_threads=False).aggregate([("_row", "list")])
    # The derived values of every group's rows, one group after another.
    derived: list[tuple[Any, ...]] = []
    first: list[int] = []  # where each group's rows start in ``derived``
    uses: list[int] = []  # how many action rows each group's events get
    for key in zip(*(groups.column(name).to_pylist() for name in MAPPING_INPUTS), strict=True):
        mapped = _memo.get(key)
        if mapped is None:
            mapped = _memo[key] = _mapped_rows(key)
        first.append(len(derived))
        uses.append(len(mapped))
        derived.extend(mapped)
    members = groups.column("_row_list").combine_chunks()
    rows = pc.list_flatten(members)
    group_of_event = pc.take(pc.list_parent_indices(members), pc.sort_indices(rows))
    per_event = pc.take(pa.array(uses, pa.int64()), group_of_event)
    # One output row per (event, use): the event's index, and the use's place in ``derived``.
    spread = pa.ListArray.from_arrays(
        pa.concat_arrays([pa.array([0], pa.int64()), pc.cumulative_sum(per_event)]),
        pa.nulls(pc.sum(per_event).as_py() or 0, pa.int64()),
    )
    event_of_row = pc.list_parent_indices(spread)
    starts = pc.take(spread.offsets, event_of_row)
    position = pc.subtract(pa.array(range(len(event_of_row)), pa.int64()), starts)
    derived_of_row = pc.add(
        pc.take(pc.take(pa.array(first, pa.int64()), group_of_event), event_of_row), position
    )
    values = pa.Table.from_arrays(
        [
            pa.array(column, ACTIONS_SCHEMA.field(name).type)
            for name, column in zip(
                _MAPPED_COLUMNS,
                list(zip(*derived, strict=True)) if derived else [() for _ in _MAPPED_COLUMNS],
                strict=True,
            )
        ],
        names=list(_MAPPED_COLUMNS),
    ).take(derived_of_row)
    taken = events.select(_EVENT_COLUMNS).take(event_of_row)
    columns = dict(zip(_EVENT_COLUMNS, taken.columns, strict=True))
    columns |= dict(zip(_MAPPED_COLUMNS, values.columns, strict=True))
    version = pa.array([mapping_version()], pa.string())
    columns["mapping_version"] = pc.take(
        version, pa.nulls(len(event_of_row), pa.int64()).fill_null(0)
    )
    return pa.Table.from_arrays(
        [columns[field.name] for field in ACTIONS_SCHEMA], schema=ACTIONS_SCHEMA
    )


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
