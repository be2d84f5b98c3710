"""Decoding in worker processes: chunks of objects read (downloaded) a few at a time, decoded,
quarantined where they fail, and staged as Parquet per UTC day.

Memory stays bounded: a worker holds one chunk of files at a time.
"""

from __future__ import annotations

import hashlib
import itertools
import multiprocessing
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from trailwise.pipeline.decode import Decoded, Row, decode_bytes, rows_to_table
from trailwise.pipeline.decode.aggregated import aggregated_to_table
from trailwise.pipeline.errors import SourceReadError
from trailwise.pipeline.ingest.plan import Window
from trailwise.pipeline.ingest.result import FileOutcome, IngestProgress, Progress
from trailwise.pipeline.lake import AGGREGATED_TABLE, EVENTS_TABLE, write_atomic
from trailwise.pipeline.sources import Source, SourceObject, keys
from trailwise.pipeline.timeutil import now_iso

# A decoded file holds ~20x its gzip size in Python objects until its chunk is staged: 16 files
# (or 4 MB of gzip) keep a decoding process near 200 MB.
CHUNK_FILES = 16
CHUNK_BYTES = 4 << 20
STAGING_ROW_GROUP = 16_384
INLINE_BYTES = 8 << 20  # below this, decoding in-process beats starting processes


@dataclass(frozen=True)
class _Chunk:
    seq: int
    source: Source
    objects: tuple[SourceObject, ...]
    run_dir: str
    quarantine_dir: str
    window: Window
    readers: int


class Staged(NamedTuple):
    """One staging file: rows of one table and one UTC day."""

    table: str
    day: str
    path: str


@dataclass
class _ChunkResult:
    seq: int
    staged: list[Staged]
    outcomes: list[FileOutcome]


def _chunks(
    todo: list[tuple[Source, SourceObject]],
    run_dir: Path,
    quarantine_dir: Path,
    window: Window,
    readers: int,
) -> Iterator[_Chunk]:
    """Consecutive objects of one source, at most CHUNK_FILES files or CHUNK_BYTES bytes each."""
    seq = 0
    for source, group in itertools.groupby(todo, key=lambda pair: pair[0]):
        batch: list[SourceObject] = []
        size = 0
        for _, obj in group:
            if batch and (len(batch) >= CHUNK_FILES or size + obj.size > CHUNK_BYTES):
                yield _Chunk(
                    seq, source, tuple(batch), str(run_dir), str(quarantine_dir), window, readers
                )
                seq, batch, size = seq + 1, [], 0
            batch.append(obj)
            size += obj.size
        if batch:
            yield _Chunk(
                seq, source, tuple(batch), str(run_dir), str(quarantine_dir), window, readers
            )
            seq += 1


def decode_all(
    todo: list[tuple[Source, SourceObject]],
    run_dir: Path,
    quarantine_dir: Path,
    window: Window,
    processes: int,
    readers: int,
    progress: Progress | None,
    started: float,
) -> tuple[list[FileOutcome], list[Staged]]:
    inline = processes == 1 or sum(o.size for _, o in todo) < INLINE_BYTES
    per_process = readers if inline else max(1, -(-readers // processes))
    chunks = list(_chunks(todo, run_dir, quarantine_dir, window, per_process))
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

    if inline or len(chunks) <= 1:
        for chunk in chunks:
            take(_decode_chunk(chunk))
    else:
        # spawn, not fork: the parent may already run DuckDB/Arrow threads.
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(processes=min(processes, len(chunks))) as pool:
            for res in pool.imap(_decode_chunk, chunks):
                take(res)
    return outcomes, staged


def _decode_chunk(chunk: _Chunk) -> _ChunkResult:
    """Worker: decode each file of a chunk, quarantine what fails, stage the rows as Parquet."""
    rows: list[Row] = []
    aggregated: list[Row] = []
    outcomes: list[FileOutcome] = []
    bad_records: list[bytes] = []
    keep = None if chunk.window.is_open else chunk.window
    for obj, data, error in _read_chunk(chunk):
        outcome = FileOutcome(obj.uri, obj.fingerprint, obj.size, "events")
        outcomes.append(outcome)
        not_trail = not_cloudtrail_by_name(obj.name)
        if not_trail:
            outcome.kind, outcome.reason = "not_cloudtrail", not_trail
            continue
        if data is None:
            outcome.kind, outcome.reason = "failed", error
            continue
        decoded = decode_bytes(data, obj.name, obj.uri, keep)
        outcome.kind, outcome.reason = decoded.kind, decoded.reason
        outcome.records_in = decoded.records_in
        outcome.decoded = len(decoded.rows)
        outcome.aggregated = len(decoded.aggregated)
        outcome.records_quarantined = len(decoded.quarantined)
        outcome.records_filtered = decoded.filtered
        outcome.member_uris = decoded.member_uris
        rows.extend(decoded.rows)
        aggregated.extend(decoded.aggregated)
        if decoded.kind == "quarantined":
            _quarantine_file(Path(chunk.quarantine_dir), obj, data, decoded)
        for q in decoded.quarantined:
            outcome.record_reasons[_reason_class(q.reason)] += 1
            bad_records.append(
                orjson.dumps(
                    {"uri": obj.uri, "index": q.index, "reason": q.reason, "record": q.raw}
                )
            )
    if bad_records:
        path = Path(chunk.quarantine_dir) / f"records-{chunk.seq:06d}.ndjson"
        write_atomic(path, b"\n".join(bad_records) + b"\n")
    run_dir = Path(chunk.run_dir)
    staged = _stage(EVENTS_TABLE, rows_to_table(rows) if rows else None, run_dir, chunk.seq)
    if aggregated:
        table = aggregated_to_table(aggregated)
        staged += _stage(AGGREGATED_TABLE, table, run_dir, chunk.seq)
    return _ChunkResult(chunk.seq, staged, outcomes)


def _stage(table_name: str, table: pa.Table | None, run_dir: Path, seq: int) -> list[Staged]:
    """Write a chunk's rows of one table as one staging file per UTC day of ``event_time``
    (``TABLE-chunk-SEQ-DAY.parquet``), so that the commit reads only the files of the day it is
    working on."""
    if table is None or table.num_rows == 0:
        return []
    days = pc.cast(table.column("event_time"), pa.date32())
    name = table_name.rsplit(".", 1)[-1]
    staged = []
    for day in pc.unique(days).to_pylist():
        part = table if pc.count_distinct(days).as_py() == 1 else table.filter(pc.equal(days, day))
        path = run_dir / f"{name}-chunk-{seq:06d}-{day}.parquet"
        pq.write_table(part, path, compression="lz4", row_group_size=STAGING_ROW_GROUP)
        staged.append(Staged(table_name, str(day), str(path)))
    return staged


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


def _quarantine_file(qdir: Path, obj: SourceObject, data: bytes, decoded: Decoded) -> None:
    """Copy an unreadable file into quarantine with a reason file beside it.

    The stored name is the object's base name, sanitised, behind a hash of its URI: a key like
    ``../../etc/x`` cannot steer the path outside the lake.
    """
    digest = hashlib.sha256(obj.uri.encode()).hexdigest()[:12]
    base = _UNSAFE.sub("_", obj.uri.rsplit("/", 1)[-1])[:120] or "object"
    target = qdir / "files" / f"{digest}-{base}"
    write_atomic(target, data)
    reason = {"uri": obj.uri, "reason": decoded.reason, "size": obj.size, "at": now_iso()}
    write_atomic(target.with_name(target.name + ".reason.json"), orjson.dumps(reason))
