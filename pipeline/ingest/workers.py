"""Decoding in worker processes: chunks of objects read (downloaded) a few at a time, decoded,
quarantined where they fail, mapped to IAM actions, and written per UTC day as the data files
the commit will add: an events file and its actions file (and an aggregated-events file).

A chunk's events are deduplicated among themselves first (the first copy of an event id,
account and day stays), so a data file never holds one event twice; the commit then drops what
another chunk or the table already holds. Files written here are referenced by nothing until the
commit: a run that dies leaves them for ``compact`` to delete.

Memory stays bounded: a worker holds one chunk of files at a time, each file's rows in Arrow as
soon as it is decoded.
"""

from __future__ import annotations

import ctypes
import gc
import hashlib
import itertools
import multiprocessing
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from trailwise.pipeline.decode import Decoded, Row, decode_bytes
from trailwise.pipeline.decode.aggregated import aggregated_to_table
from trailwise.pipeline.decode.fast import NotFast, to_table
from trailwise.pipeline.errors import SourceReadError
from trailwise.pipeline.ingest.plan import Window
from trailwise.pipeline.ingest.result import FileOutcome, IngestProgress, Progress
from trailwise.pipeline.lake import ACTIONS_TABLE, AGGREGATED_TABLE, EVENTS_TABLE
from trailwise.pipeline.lake.actions import map_table
from trailwise.pipeline.lake.io import iceberg_uri
from trailwise.pipeline.lake.store import Store
from trailwise.pipeline.sources import Source, SourceObject, keys
from trailwise.pipeline.timeutil import now_iso

# A chunk becomes one data file per day: 96 files or 12 MB of gzip (24K-60K events, at most
# ~100 MB in Arrow) keep the files few and a decoding process under ~350 MB at a chunk's end
# (~120 MB between chunks, measured on the benchmark's data).
CHUNK_FILES = 96
CHUNK_BYTES = 12 << 20
ROW_GROUP = 32_768
INLINE_BYTES = 8 << 20  # below this, decoding in-process beats starting processes


@dataclass(frozen=True)
class Targets:
    """Where a run writes: each table's data folder and metadata (for the data files' Iceberg
    entries, made where the file was written), and the run's own names."""

    run_id: str
    store: Store  # the lake's files
    quarantine: str  # the run's quarantine folder, a key of ``store``
    data_dirs: dict[str, str]  # table -> its data folder (a path or URI)
    metadata: dict[str, Any]  # table -> its Iceberg TableMetadata


@dataclass(frozen=True)
class _Chunk:
    seq: int
    source: Source
    objects: tuple[SourceObject, ...]
    targets: Targets
    window: Window
    readers: int


class Staged(NamedTuple):
    """One data file written for the commit: rows of one table and one UTC day (for events, with
    the actions file that mirrors it), with the Iceberg entries of both."""

    table: str
    day: str
    path: str
    rows: int
    data_file: Any
    actions_path: str | None = None
    actions_data_file: Any = None


@dataclass
class _ChunkResult:
    seq: int
    staged: list[Staged]
    outcomes: list[FileOutcome]


def chunks(
    todo: list[tuple[Source, SourceObject]], targets: Targets, window: Window, readers: int
) -> Iterator[_Chunk]:
    """Consecutive objects of one source, at most CHUNK_FILES files or CHUNK_BYTES bytes each."""
    seq = 0
    for source, group in itertools.groupby(todo, key=lambda pair: pair[0]):
        batch: list[SourceObject] = []
        size = 0
        for _, obj in group:
            if batch and (len(batch) >= CHUNK_FILES or size + obj.size > CHUNK_BYTES):
                yield _Chunk(seq, source, tuple(batch), targets, window, readers)
                seq, batch, size = seq + 1, [], 0
            batch.append(obj)
            size += obj.size
        if batch:
            yield _Chunk(seq, source, tuple(batch), targets, window, readers)
            seq += 1


def _context() -> multiprocessing.context.BaseContext:
    """Worker processes come from a fork server: a fresh interpreter that imports the decoding
    code once and forks each worker from it. Not fork: the parent may already run DuckDB and
    Arrow threads, which a fork would copy mid-flight."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
    return ctx


def start_processes() -> None:
    """Start the fork server now, so that its imports overlap the listing."""
    from multiprocessing import forkserver

    _context()
    forkserver.ensure_running()


def decode_all(
    todo: list[tuple[Source, SourceObject]],
    targets: Targets,
    window: Window,
    processes: int,
    readers: int,
    progress: Progress | None,
    started: float,
) -> tuple[list[FileOutcome], list[Staged]]:
    inline = processes == 1 or sum(o.size for _, o in todo) < INLINE_BYTES
    per_process = readers if inline else max(1, -(-readers // processes))
    work = list(chunks(todo, targets, window, per_process))
    outcomes: list[FileOutcome] = []
    staged: list[Staged] = []
    events = 0

    def take(res: _ChunkResult) -> None:
        nonlocal events
        outcomes.extend(res.outcomes)
        events += sum(o.decoded for o in res.outcomes)
        staged.extend(res.staged)
        if progress:
            progress(
                IngestProgress(len(outcomes), len(todo), events, time.perf_counter() - started)
            )

    if inline or len(work) <= 1:
        for chunk in work:
            take(decode_chunk(chunk))
    else:
        with _context().Pool(processes=min(processes, len(work))) as pool:
            for res in pool.imap(decode_chunk, work):
                take(res)
    return outcomes, staged


def decode_chunk(chunk: _Chunk) -> _ChunkResult:
    """Worker: decode each file of a chunk, quarantine what fails, map the events, and write
    the chunk's data files."""
    # Decoding allocates millions of short-lived, acyclic objects: the cyclic collector would
    # only rescan them (a third of the time on large chunks).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _decode_chunk_files(chunk)
    finally:
        if collecting:
            gc.enable()
        _give_back_memory()


def _give_back_memory() -> None:
    """Return a chunk's freed memory to the system. Arrow's allocator (mimalloc) and glibc's
    keep freed pages for the next allocation, so a worker would otherwise stay at its largest
    chunk's high-water mark (about 100 MB above what it needs between chunks)."""
    pa.default_memory_pool().release_unused()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _libc() -> Any:
    try:
        libc = ctypes.CDLL(None)
        return libc if hasattr(libc, "malloc_trim") else None  # glibc only
    except OSError:
        return None


_LIBC = _libc()


# Fast-path files go to Arrow together, a batch at a time: per-call costs are paid per batch,
# while a batch's Python columns (a few KB an event) stay small. 4,096 events cost no more CPU
# than 16,384 on the benchmark and keep a worker's peak about 60 MB lower.
BATCH_EVENTS = 4096


class _ChunkDecoder:
    """One chunk's files decoded in order: event tables, aggregated rows, outcomes, quarantine."""

    def __init__(self, chunk: _Chunk) -> None:
        self.chunk = chunk
        self.keep = None if chunk.window.is_open else chunk.window
        self.store = chunk.targets.store
        self.quarantine = chunk.targets.quarantine
        self.tables: list[pa.Table] = []
        self.aggregated: list[Row] = []
        self.outcomes: list[FileOutcome] = []
        self.bad_records: list[bytes] = []
        self.pending: list[tuple[FileOutcome, SourceObject, bytes, Decoded]] = []

    def add(self, obj: SourceObject, data: bytes | None, error: str | None) -> None:
        outcome = FileOutcome(obj.uri, obj.fingerprint, obj.size, "events")
        self.outcomes.append(outcome)
        not_trail = not_cloudtrail_by_name(obj.name)
        if not_trail:
            outcome.kind, outcome.reason = "not_cloudtrail", not_trail
        elif data is None:
            outcome.kind, outcome.reason = "failed", error
        else:
            decoded = decode_bytes(data, obj.name, obj.uri, self.keep, batched=True)
            if decoded.fast is not None:
                self._record(outcome, obj, data, decoded, rows=False)
                self.pending.append((outcome, obj, data, decoded))
                if sum(d.events for *_, d in self.pending) >= BATCH_EVENTS:
                    self.flush()
            else:
                self.flush()
                self._record(outcome, obj, data, decoded, rows=True)

    def flush(self) -> None:
        """The pending fast-path files to Arrow, in order; a file Arrow refuses is decoded the
        tolerant way instead, and its outcome made anew."""
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        try:
            self.tables.append(to_table([d.fast for *_, d in pending if d.fast is not None]))
            return
        except NotFast:
            pass
        for outcome, obj, data, decoded in pending:
            try:
                self.tables.append(decoded.table())
            except NotFast:
                tolerant = decode_bytes(data, obj.name, obj.uri, self.keep, fast=False)
                self._record(outcome, obj, data, tolerant, rows=True)

    def _record(
        self, outcome: FileOutcome, obj: SourceObject, data: bytes, decoded: Decoded, *, rows: bool
    ) -> None:
        outcome.kind, outcome.reason = decoded.kind, decoded.reason
        outcome.records_in = decoded.records_in
        outcome.decoded = decoded.events
        outcome.aggregated = len(decoded.aggregated)
        outcome.records_quarantined = len(decoded.quarantined)
        outcome.records_filtered = decoded.filtered
        outcome.member_uris = decoded.member_uris
        if not rows:
            return  # a fast-path file: its table comes with its batch's (flush)
        if decoded.events:
            self.tables.append(decoded.table())
        self.aggregated.extend(decoded.aggregated)
        if decoded.kind == "quarantined":
            _quarantine_file(self.store, self.quarantine, obj, data, decoded)
        for q in decoded.quarantined:
            outcome.record_reasons[_reason_class(q.reason)] += 1
            self.bad_records.append(
                orjson.dumps(
                    {"uri": obj.uri, "index": q.index, "reason": q.reason, "record": q.raw}
                )
            )


def _decode_chunk_files(chunk: _Chunk) -> _ChunkResult:
    decoder = _ChunkDecoder(chunk)
    for obj, data, error in _read_chunk(chunk):
        decoder.add(obj, data, error)
    decoder.flush()
    if decoder.bad_records:
        decoder.store.write(
            f"{decoder.quarantine}/records-{chunk.seq:06d}.ndjson",
            b"\n".join(decoder.bad_records) + b"\n",
        )
    staged = []
    if decoder.tables:
        events = first_copies(pa.concat_tables(decoder.tables))
        staged += _write(EVENTS_TABLE, events, chunk)
    if decoder.aggregated:
        aggregates = first_copies(aggregated_to_table(decoder.aggregated))
        staged += _write(AGGREGATED_TABLE, aggregates, chunk)
    return _ChunkResult(chunk.seq, staged, decoder.outcomes)


def first_copies(table: pa.Table) -> pa.Table:
    """The table without repeated events: the first row of each event id, receiving account and
    UTC day stays (source order, as the copies CloudTrail delivers twice are identical)."""
    keys = pa.table(
        {
            "id": table.column("event_id"),
            "account": pc.coalesce(table.column("recipient_account_id"), ""),
            "day": pc.cast(table.column("event_time"), pa.date32()),
            "row": pa.array(range(table.num_rows), pa.int64()),
        }
    )
    firsts = keys.group_by(["id", "account", "day"], use_threads=False).aggregate([("row", "min")])
    if firsts.num_rows == table.num_rows:
        return table
    rows = firsts.column("row_min")
    return table.take(pc.take(rows, pc.sort_indices(rows)))


def _write(table_name: str, table: pa.Table, chunk: _Chunk) -> list[Staged]:
    """One data file per UTC day of ``event_time`` (``RUN-SEQ.parquet`` in the day's partition
    folder), and for events the actions file that mirrors it."""
    targets = chunk.targets
    days = pc.cast(table.column("event_time"), pa.date32())
    name = f"{targets.run_id}-{chunk.seq:06d}"
    staged = []
    for day in sorted(pc.unique(days).to_pylist()):
        part = table if pc.count_distinct(days).as_py() == 1 else table.filter(pc.equal(days, day))
        path = f"{targets.data_dirs[table_name]}/event_date={day}/{name}.parquet"
        data_file = write_data_file(part, path, targets, table_name)
        actions_path = actions_file = None
        if table_name == EVENTS_TABLE:
            actions_dir = f"{targets.data_dirs[ACTIONS_TABLE]}/event_date={day}"
            actions_path = f"{actions_dir}/{name}~{targets.run_id}.parquet"
            actions_file = write_data_file(map_table(part), actions_path, targets, ACTIONS_TABLE)
        staged.append(
            Staged(table_name, str(day), path, part.num_rows, data_file, actions_path, actions_file)
        )
    return staged


def write_data_file(table: pa.Table, path: str, targets: Targets, table_name: str) -> Any:
    """Write one data file and return its Iceberg entry, with statistics from the footer the
    writer just made (nothing is read back).

    zstd level 1 here: writing is on the ingest's critical path; ``compact`` rewrites at the
    table's level 3.
    """
    footer, size = targets.store.write_parquet(
        table, path, compression="zstd", compression_level=1, row_group_size=ROW_GROUP
    )
    return _entry(targets, table_name, iceberg_uri(path), footer, size)


_plans: dict[tuple[str, int], tuple[Any, Any]] = {}


def _statistics_plan(metadata: Any) -> tuple[Any, Any]:
    """Which statistics each column gets, and each Parquet column's field id, per table
    schema (worked out once per process)."""
    from pyiceberg.io.pyarrow import compute_statistics_plan, parquet_path_to_id_mapping

    key = (str(metadata.table_uuid), metadata.current_schema_id)
    if key not in _plans:
        schema = metadata.schema()
        _plans[key] = (
            compute_statistics_plan(schema, metadata.properties),
            parquet_path_to_id_mapping(schema),
        )
    return _plans[key]


def _entry(targets: Targets, table_name: str, uri: str, footer: Any, size: int) -> Any:
    """What pyiceberg's ``parquet_file_to_data_file`` makes of a file, from its footer: the
    schema is the table's own by construction, so its compatibility check is not repeated."""
    from pyiceberg.io.pyarrow import data_file_statistics_from_parquet_metadata
    from pyiceberg.manifest import DataFile, DataFileContent, FileFormat

    metadata = targets.metadata[table_name]
    stats_columns, column_mapping = _statistics_plan(metadata)
    statistics = data_file_statistics_from_parquet_metadata(
        parquet_metadata=footer, stats_columns=stats_columns, parquet_column_mapping=column_mapping
    )
    return DataFile.from_args(
        content=DataFileContent.DATA,
        file_path=uri,  # pyiceberg does not unquote file URIs: the path goes in as it is
        file_format=FileFormat.PARQUET,
        partition=statistics.partition(metadata.spec(), metadata.schema()),
        file_size_in_bytes=size,
        sort_order_id=None,
        spec_id=metadata.default_spec_id,
        equality_ids=None,
        key_metadata=None,
        **statistics.to_serialized_dict(),
    )


def _read_chunk(chunk: _Chunk) -> Iterator[tuple[SourceObject, bytes | None, str | None]]:
    """Each object with its bytes or why it could not be read, in order; ``readers`` at once.

    Digest and insight files are known by name and never read.
    """

    def read(obj: SourceObject) -> tuple[bytes | None, str | None]:
        if not_cloudtrail_by_name(obj.name):
            return None, None
        try:
            return chunk.source.read(obj), None
        except SourceReadError as exc:
            return None, str(exc)
        except OSError as exc:
            return None, f"cannot read: {exc.strerror or exc}"

    if chunk.readers <= 1 or len(chunk.objects) <= 1:
        for obj in chunk.objects:
            yield (obj, *read(obj))
        return
    with ThreadPoolExecutor(max_workers=min(chunk.readers, len(chunk.objects))) as pool:
        for obj, (data, error) in zip(chunk.objects, pool.map(read, chunk.objects), strict=True):
            yield obj, data, error


def not_cloudtrail_by_name(name: str) -> str | None:
    parsed = keys.parse_key(name)
    if parsed is not None and parsed.kind != "CloudTrail":
        return f"{parsed.kind} file"
    if keys.is_digest_name(Path(name).name):
        return "CloudTrail-Digest file"
    return None


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_QUOTED = re.compile(r"'[^']*'|line \d+(: .*)?")


def _reason_class(reason: str) -> str:
    """A reason without its specifics, for counting: "eventTime '…' is not a timestamp"."""
    return _QUOTED.sub(lambda m: "line …" if m.group(0).startswith("line") else "'…'", reason)


def _quarantine_file(
    store: Store, quarantine: str, obj: SourceObject, data: bytes, decoded: Decoded
) -> None:
    """Copy an unreadable file into quarantine with a reason file beside it.

    The stored name is the object's base name, sanitised, behind a hash of its URI: a key like
    ``../../etc/x`` cannot steer the path outside the lake.
    """
    digest = hashlib.sha256(obj.uri.encode()).hexdigest()[:12]
    base = _UNSAFE.sub("_", obj.uri.rsplit("/", 1)[-1])[:120] or "object"
    target = f"{quarantine}/files/{digest}-{base}"
    store.write(target, data)
    reason = {"uri": obj.uri, "reason": decoded.reason, "size": obj.size, "at": now_iso()}
    store.write(f"{target}.reason.json", orjson.dumps(reason))
