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

from trailwise.pipeline.lake.io import iceberg_uri
from trailwise.pipeline.lake.lake import Lake
from trailwise.pipeline.lake.store import Store
from trailwise.pipeline.lake.tables import ACTIONS_SCHEMA, ACTIONS_TABLE
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

# The inputs that make nearly every event distinct (its JSON objects), and where the others
# stand in a MAPPING_INPUTS tuple.
_WIDE = ("request_parameters", "resources")
_NARROW_AT = [i for i, name in enumerate(MAPPING_INPUTS) if name not in _WIDE]
# Mappings kept per process, so trails' repeated calls (pollers, agents, one role's routine)
# are mapped once: by the other inputs, for calls whose mapping reads no JSON object, and by
# all inputs for the rest. The second holds JSON text, so it is kept smaller.
_NARROW_LIMIT = 100_000
_WIDE_LIMIT = 20_000
_by_narrow: dict[tuple[Any, ...], tuple[tuple[Any, ...], ...]] = {}
_by_all: dict[tuple[Any, ...], tuple[tuple[Any, ...], ...]] = {}


class WatchedRow(dict[str, Any]):
    """A lake row that notes whether the mapping read one of its JSON objects (the mapping reads
    rows only through ``get`` and ``[]``; tests/mapping/test_corpus.py holds it to that)."""

    read_wide = False

    def get(self, key: str, default: Any = None) -> Any:
        if key in _WIDE:
            self.read_wide = True
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        if key in _WIDE:
            self.read_wide = True
        return super().__getitem__(key)


def _mapped_rows(row: dict[str, Any]) -> tuple[tuple[Any, ...], ...]:
    """The mapping-derived values of each action row of one event (ACTIONS_SCHEMA's
    classification .. reason)."""
    mapped = map_event(row)
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


def _mapping_of(key: tuple[Any, ...]) -> tuple[tuple[Any, ...], ...]:
    """The action rows of one distinct combination of MAPPING_INPUTS (``key``, in that order).
    Calls alike but for their JSON objects share one mapping when it reads neither object."""
    narrow = tuple(key[i] for i in _NARROW_AT)
    mapped = _by_narrow.get(narrow)
    if mapped is None:
        mapped = _by_all.get(key)
    if mapped is None:
        row = WatchedRow(zip(MAPPING_INPUTS, key, strict=True))
        mapped = _mapped_rows(row)
        if row.read_wide:
            _by_all[key] = mapped
        else:
            _by_narrow[narrow] = mapped
    return mapped


def map_table(events: pa.Table) -> pa.Table:
    """The action rows of a table of events (one row per action, one for an event without), in
    the events' order.

    The mapping is a pure function of :data:`MAPPING_INPUTS`: Arrow groups the events by
    them, each distinct combination is mapped once (:func:`_mapping_of`, remembered across
    tables), and the results are spread back to their events with ``take``. Python work is per
    distinct call, and a call's parameters only cost a mapping when its rule reads them.
    """
    for memo, limit in ((_by_narrow, _NARROW_LIMIT), (_by_all, _WIDE_LIMIT)):
        if len(memo) > limit:
            memo.clear()
    n = events.num_rows
    inputs = list(MAPPING_INPUTS)
    keyed = events.select(inputs).append_column("_row", pa.array(range(n), pa.int64()))
    groups = keyed.group_by(inputs, use_threads=False).aggregate([("_row", "list")])
    members = groups.column("_row_list").combine_chunks()
    # Each distinct result once, and which one each group gets.
    results: list[tuple[tuple[Any, ...], ...]] = []
    slot_of: dict[int, int] = {}  # id(result) -> its index in results
    result_of_group: list[int] = []
    for key in zip(*(groups.column(name).to_pylist() for name in inputs), strict=True):
        mapped = _mapping_of(key)
        index = slot_of.get(id(mapped))
        if index is None:
            index = slot_of[id(mapped)] = len(results)
            results.append(mapped)
        result_of_group.append(index)
    derived: list[tuple[Any, ...]] = []
    first_row: list[int] = []  # where each result's rows start in ``derived``
    uses: list[int] = []  # how many action rows each result gives an event
    for result in results:
        first_row.append(len(derived))
        uses.append(len(result))
        derived.extend(result)
    group_of_event = pc.take(
        pc.list_parent_indices(members), pc.sort_indices(pc.list_flatten(members))
    )
    result_of_event = pc.take(pa.array(result_of_group, pa.int64()), group_of_event)
    per_event = pc.take(pa.array(uses, pa.int64()), result_of_event)
    # One output row per (event, use): the event's index, and the use's place in ``derived``.
    spread = pa.ListArray.from_arrays(
        pa.concat_arrays([pa.array([0], pa.int64()), pc.cumulative_sum(per_event)]),
        pa.nulls(pc.sum(per_event).as_py() or 0, pa.int64()),
    )
    event_of_row = pc.list_parent_indices(spread)
    starts = pc.take(spread.offsets, event_of_row)
    position = pc.subtract(pa.array(range(len(event_of_row)), pa.int64()), starts)
    derived_of_row = pc.add(
        pc.take(pc.take(pa.array(first_row, pa.int64()), result_of_event), event_of_row),
        position,
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


def _map_file(task: tuple[Store, str, str]) -> tuple[str, int]:
    """Worker: map one events data file into its actions file, a batch of rows at a time (a
    day's file can hold millions of events). A file left half-written by a crash is referenced
    by nothing: ``compact`` deletes it."""
    store, events_file, out = task
    fs = store.filesystem()
    store.make_parent(out)
    rows = 0
    with (
        fs.open_input_file(store.fs_path(events_file)) as source,
        pq.ParquetWriter(
            store.fs_path(out), ACTIONS_SCHEMA, compression="zstd", filesystem=fs
        ) as writer,
    ):
        for batch in pq.ParquetFile(source).iter_batches(MAP_BATCH_ROWS, columns=INPUT_COLUMNS):
            mapped = map_table(pa.Table.from_batches([batch]))
            writer.write_table(mapped)
            rows += mapped.num_rows
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


def _partition(path: str) -> str:
    """``event_date=YYYY-MM-DD``: the partition folder of a data file."""
    return path.rsplit("/", 2)[-2]


def _stem(path: str) -> str:
    return Path(path).name.split("~", 1)[0].removesuffix(".parquet")


def sync(lake: Lake, processes: int | None = None, full: bool = False) -> SyncResult:
    """Make ``event_actions`` mirror the events table's current files; ``full`` re-derives all.

    The caller holds the lake lock.
    """
    started = time.perf_counter()
    result = SyncResult(mapping_version=mapping_version())
    events = {_stem(path): path for path in lake.data_files()}
    table = lake.load(ACTIONS_TABLE)
    current = {_stem(task.file.file_path): task.file for task in table.scan().plan_files()}
    to_drop = [f for stem, f in current.items() if full or stem not in events]
    to_map = [path for stem, path in events.items() if full or stem not in current]
    if not to_drop and not to_map:
        result.seconds = round(time.perf_counter() - started, 3)
        return result
    data_dir = lake.data_dir(ACTIONS_TABLE)
    token = uuid.uuid4().hex[:8]
    tasks = [
        (lake.store, path, f"{data_dir}/{_partition(path)}/{_stem(path)}~{token}.parquet")
        for path in to_map
    ]
    workers = max(1, min(processes or os.cpu_count() or 1, len(tasks)))
    if workers == 1 or len(tasks) < INLINE_FILES:
        written = [_map_file(task) for task in tasks]
    else:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            written = pool.map(_map_file, tasks)
    lake.check_lease()
    with table.transaction() as tx:
        if to_drop:
            with tx.update_snapshot().overwrite() as overwrite:
                for data_file in to_drop:
                    overwrite.delete_data_file(data_file)
        if written:
            tx.add_files(
                [iceberg_uri(out) for out, _ in written],
                snapshot_properties={"trailwise.mapping-version": result.mapping_version},
                check_duplicate_files=False,
            )
    result.files_mapped = len(written)
    result.files_dropped = len(to_drop)
    result.rows_written = sum(n for _, n in written)
    result.seconds = round(time.perf_counter() - started, 3)
    return result
