"""Ingest: list sources, decode files in parallel, deduplicate, commit to the lake once.

The run's shape::

    list objects -> drop those already recorded -> decode chunks in worker processes, each
    writing staging Parquet per UTC day -> per day (or hour range of a busy day), DuckDB drops
    events seen earlier in the run or already in the table and writes the rest as a data file
    -> one Iceberg commit adding those files -> object records -> run log.

Memory stays bounded: workers hold one chunk of files; DuckDB works within COMMIT_MEMORY and
spills to the run's staging folder beyond it.
"""

from __future__ import annotations

import hashlib
import itertools
import multiprocessing
import os
import re
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from trailwise.pipeline import actions, keys
from trailwise.pipeline.decode import (
    IDX_ACCOUNT,
    IDX_EVENT_TIME,
    IDX_REGION,
    Decoded,
    Row,
    decode_bytes,
    rows_to_table,
)
from trailwise.pipeline.errors import SourceReadError
from trailwise.pipeline.lake import Lake, duckdb_connect, local_path, new_run_id, write_atomic
from trailwise.pipeline.schema import EVENTS_SCHEMA
from trailwise.pipeline.sources import Source, SourceObject

# A decoded file holds ~20x its gzip size in Python objects until its chunk is staged: 16 files
# (or 4 MB of gzip) keep a decoding process near 200 MB.
CHUNK_FILES = 16
CHUNK_BYTES = 4 << 20
SLICE_ROWS = 250_000
STAGING_ROW_GROUP = 16_384
COMMIT_ROW_GROUP = 32_768
COMMIT_MEMORY = "384MB"
INLINE_BYTES = 8 << 20  # below this, decoding in-process beats starting processes
DEFAULT_READERS = 8  # concurrent reads (S3 downloads) across all decoding processes

Progress = Callable[["IngestProgress"], None]


@dataclass(frozen=True)
class Window:
    """Which events a run keeps: a time window and account/region sets (empty = all)."""

    since: datetime | None = None
    until: datetime | None = None
    accounts: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()

    @property
    def is_open(self) -> bool:
        return not (self.since or self.until or self.accounts or self.regions)

    def __post_init__(self) -> None:
        # Rows carry naive UTC times; compare like with like.
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is not None:
                object.__setattr__(self, name, value.astimezone(UTC).replace(tzinfo=None))

    def keeps_name(self, name: str) -> bool:
        """Prefilter on what a delivery key says; a day of slack each side for late files."""
        parsed = keys.parse_key(name)
        if parsed is None:
            return True
        if self.accounts and parsed.account not in self.accounts:
            return False
        if self.regions and parsed.region not in self.regions:
            return False
        if self.since and parsed.day < self.since.date() - timedelta(days=1):
            return False
        return not (self.until and parsed.day > self.until.date() + timedelta(days=1))

    def __call__(self, row: Row) -> bool:
        t = row[IDX_EVENT_TIME]
        if self.since and t < self.since:
            return False
        if self.until and t >= self.until:
            return False
        if self.accounts and row[IDX_ACCOUNT] not in self.accounts:
            return False
        return not (self.regions and row[IDX_REGION] not in self.regions)


@dataclass
class IngestProgress:
    """Passed to the progress callback after each chunk, and when a later phase starts."""

    files_done: int
    files_total: int
    events: int
    seconds: float
    phase: str = "decode"  # decode | commit | map


@dataclass
class FileOutcome:
    """What happened to one object."""

    uri: str
    fingerprint: str
    size: int
    kind: str  # events | not_cloudtrail | quarantined | filtered
    reason: str | None = None
    records_in: int = 0
    decoded: int = 0
    records_quarantined: int = 0
    records_filtered: int = 0
    # Zip members are sources of their own (``uri!member``); their kept rows count for the file.
    member_uris: list[str] = field(default_factory=list)
    record_reasons: Counter[str] = field(default_factory=Counter)


@dataclass
class IngestResult:
    """The run summary; ``to_dict`` is the ``--format json`` contract."""

    run_id: str
    lake: str
    files_seen: int = 0
    files_ingested: int = 0
    files_skipped: int = 0
    files_not_cloudtrail: int = 0
    files_quarantined: int = 0
    files_filtered: int = 0
    records_in: int = 0
    events_written: int = 0
    duplicates: int = 0
    records_quarantined: int = 0
    records_filtered: int = 0
    seconds: float = 0.0
    bytes_read: int = 0
    not_cloudtrail: dict[str, int] = field(default_factory=dict)
    quarantined_files: list[dict[str, str]] = field(default_factory=list)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    quarantine_dir: str | None = None
    # Listing and download figures; zero for local sources.
    objects_listed: int = 0
    list_requests: int = 0
    bytes_downloaded: int = 0
    unknown_keys: int = 0
    unknown_key_examples: list[str] = field(default_factory=list)
    objects_failed: list[dict[str, str]] = field(default_factory=list)
    window: dict[str, Any] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    phase_seconds: dict[str, float] = field(default_factory=dict)
    action_rows_written: int = 0

    @property
    def exit_code(self) -> int:
        """0 clean; 3 some objects could not be read (they are retried next run); 2 some input
        went to quarantine (the rest is committed)."""
        if self.objects_failed:
            return 3
        return 2 if self.files_quarantined or self.records_quarantined else 0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["seconds"] = round(self.seconds, 3)
        out["exit_code"] = self.exit_code
        return out


@dataclass(frozen=True)
class _Chunk:
    seq: int
    source: Source
    objects: tuple[SourceObject, ...]
    run_dir: str
    quarantine_dir: str
    window: Window
    readers: int


@dataclass
class _ChunkResult:
    seq: int
    staged: list[tuple[str, str]]  # (UTC day, staging file)
    outcomes: list[FileOutcome]


def ingest(
    sources: Sequence[Source],
    lake: Lake,
    window: Window | None = None,
    readers: int | None = None,
    progress: Progress | None = None,
    processes: int | None = None,
) -> IngestResult:
    """Ingest every CloudTrail file of ``sources`` into ``lake``; see the module docstring.

    ``readers`` reads (downloads) run at once, spread over ``processes`` decoding processes
    (default: one per CPU).
    """
    window = window or Window()
    processes = max(1, processes or os.cpu_count() or 1)
    readers = max(1, readers or DEFAULT_READERS)
    started = time.perf_counter()
    run_id = new_run_id()
    result = IngestResult(run_id=run_id, lake=str(lake.root))
    result.sources = [s.uri for s in sources]
    result.window = {
        "since": f"{window.since:%Y-%m-%dT%H:%M:%SZ}" if window.since else None,
        "until": f"{window.until:%Y-%m-%dT%H:%M:%SZ}" if window.until else None,
    }
    started_at = _now_iso()
    lake.create()
    with lake.lock():
        lake.sweep_unfinished()
        run_dir = lake.staging_dir / run_id
        run_dir.mkdir(parents=True)
        quarantine_dir = lake.quarantine_dir / run_id
        try:
            todo = _plan(sources, lake, window, result)
            result.phase_seconds["list"] = round(time.perf_counter() - started, 3)
            outcomes, staged = _decode_all(
                todo, run_dir, quarantine_dir, window, processes, readers, progress, started
            )
            result.phase_seconds["decode"] = round(
                time.perf_counter() - started - result.phase_seconds["list"], 3
            )
            _announce(progress, "commit", outcomes, started)
            kept = _commit(lake, staged, run_id, result) if staged else Counter()
            result.phase_seconds["commit"] = round(
                time.perf_counter() - started - sum(result.phase_seconds.values()), 3
            )
            records = _summarise(result, outcomes, kept, run_id)
            lake.record_objects(run_id, records)
            # The IAM actions of the new events; also repairs what a crashed run left unmapped.
            _announce(progress, "map", outcomes, started)
            mapped = actions.sync(lake, processes)
            result.action_rows_written = mapped.rows_written
            result.phase_seconds["map"] = mapped.seconds
            if quarantine_dir.exists():
                result.quarantine_dir = str(quarantine_dir)
            result.seconds = time.perf_counter() - started
            lake.append_run(
                {
                    "run_id": run_id,
                    "started_at": started_at,
                    "finished_at": _now_iso(),
                    "command": "ingest",
                }
                | {k: v for k, v in result.to_dict().items() if k != "quarantined_files"}
            )
        except Exception as exc:
            # The run log records failed runs too: a scheduler's "no run for two hours" alert
            # and a person reading it both need to see them.
            lake.append_run(
                {
                    "run_id": run_id,
                    "started_at": started_at,
                    "finished_at": _now_iso(),
                    "command": "ingest",
                    "sources": result.sources,
                    "exit_code": 1,
                    "error": str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                }
            )
            raise
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)
    return result


def _announce(
    progress: Progress | None, phase: str, outcomes: list[FileOutcome], started: float
) -> None:
    if progress:
        events = sum(o.decoded for o in outcomes)
        elapsed = time.perf_counter() - started
        progress(IngestProgress(len(outcomes), len(outcomes), events, elapsed, phase))


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _plan(
    sources: Sequence[Source], lake: Lake, window: Window, result: IngestResult
) -> list[tuple[Source, SourceObject]]:
    """Everything listed, minus what the window excludes by name and what the lake holds."""
    listed: list[tuple[Source, SourceObject]] = []
    for source in sources:
        for obj in source.list():
            result.files_seen += 1
            if window.keeps_name(obj.name):
                listed.append((source, obj))
            else:
                result.files_filtered += 1
        listing = getattr(source, "listing", None)
        if listing is not None:
            result.objects_listed += listing.objects_listed
            result.list_requests += listing.list_requests
            result.unknown_keys += listing.unknown_keys
            result.unknown_key_examples.extend(listing.unknown_examples)
        days = getattr(source, "listed_days", None)
        if days is not None:
            result.window.setdefault("listed_days", {})[source.uri] = days
    known = lake.known_objects(
        pa.table(
            {"uri": [o.uri for _, o in listed], "fingerprint": [o.fingerprint for _, o in listed]}
        )
    )
    todo = []
    seen: set[str] = set()
    for source, obj in listed:
        if (obj.uri, obj.fingerprint) in known or obj.uri in seen:
            result.files_skipped += 1
        else:
            seen.add(obj.uri)
            todo.append((source, obj))
    return todo


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


def _decode_all(
    todo: list[tuple[Source, SourceObject]],
    run_dir: Path,
    quarantine_dir: Path,
    window: Window,
    processes: int,
    readers: int,
    progress: Progress | None,
    started: float,
) -> tuple[list[FileOutcome], list[tuple[str, str]]]:
    inline = processes == 1 or sum(o.size for _, o in todo) < INLINE_BYTES
    per_process = readers if inline else max(1, -(-readers // processes))
    chunks = list(_chunks(todo, run_dir, quarantine_dir, window, per_process))
    outcomes: list[FileOutcome] = []
    staged: list[tuple[str, str]] = []
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
    outcomes: list[FileOutcome] = []
    bad_records: list[bytes] = []
    keep = None if chunk.window.is_open else chunk.window
    for obj, data, error in _read_chunk(chunk):
        outcome = FileOutcome(obj.uri, obj.fingerprint, obj.size, "events")
        outcomes.append(outcome)
        not_trail = _not_cloudtrail_by_name(obj.name)
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
        outcome.records_quarantined = len(decoded.quarantined)
        outcome.records_filtered = decoded.filtered
        outcome.member_uris = decoded.member_uris
        rows.extend(decoded.rows)
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
    return _ChunkResult(chunk.seq, _stage(rows, Path(chunk.run_dir), chunk.seq), outcomes)


def _stage(rows: list[Row], run_dir: Path, seq: int) -> list[tuple[str, str]]:
    """Write a chunk's rows as one staging file per UTC day, ``chunk-SEQ-DAY.parquet``, so that
    the commit reads only the files of the day it is working on."""
    if not rows:
        return []
    table = rows_to_table(rows)
    days = pc.cast(table.column("event_time"), pa.date32())
    paths = []
    for day in pc.unique(days).to_pylist():
        part = table if pc.count_distinct(days).as_py() == 1 else table.filter(pc.equal(days, day))
        path = run_dir / f"chunk-{seq:06d}-{day}.parquet"
        pq.write_table(part, path, compression="lz4", row_group_size=STAGING_ROW_GROUP)
        paths.append((str(day), str(path)))
    return paths


def _read_chunk(chunk: _Chunk) -> Iterator[tuple[SourceObject, bytes | None, str | None]]:
    """Each object with its bytes or why it could not be read, in order; ``readers`` at once.

    Digest and insight files are known by name and never read.
    """

    def read(obj: SourceObject) -> tuple[bytes | None, str | None]:
        if _not_cloudtrail_by_name(obj.name):
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


def _not_cloudtrail_by_name(name: str) -> str | None:
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
    reason = {"uri": obj.uri, "reason": decoded.reason, "size": obj.size, "at": _now_iso()}
    write_atomic(target.with_name(target.name + ".reason.json"), orjson.dumps(reason))


# An event is (event_id, recipient_account_id) on the UTC day of its eventTime: the copies
# CloudTrail delivers twice (organisation and account trails, re-sent files, overlapping
# exports) share eventID and eventTime, so each day is deduplicated on its own, against the
# day's files in the table and the slices of the day this run already wrote. Two different
# events that merely share a placeholder eventID on different days are both kept.
_SLICE_COUNTS = """
select date_trunc('hour', event_time) as hour, count(*) as n
from read_parquet($staged)
group by 1
order by 1
"""
_SLICE_NEW_ROWS = """
with staged as (
    select *, coalesce(recipient_account_id, '') as account_key
    from read_parquet($staged, filename = true, file_row_number = true)
    where event_time >= $start and event_time < $end
),
existing as (
    select event_id, coalesce(recipient_account_id, '') as account_key
    from read_parquet($existing, hive_partitioning = false)
    where event_time >= $start and event_time < $end
),
first_copies as (
    select event_id, account_key, min((filename, file_row_number)) as first_copy
    from staged
    group by all
),
new_events as (
    select first_copies.first_copy
    from first_copies
    anti join existing
        on existing.event_id = first_copies.event_id
        and existing.account_key = first_copies.account_key
),
final as (
    select staged.* exclude (account_key, filename, file_row_number)
    from staged
    semi join new_events on new_events.first_copy = (staged.filename, staged.file_row_number)
)
select * from final
"""


def _slices(con: duckdb.DuckDBPyConnection, staged: list[str]) -> list[tuple[datetime, datetime]]:
    """Contiguous hour ranges of at most ~SLICE_ROWS staged rows (more only for one busy hour),
    never crossing a UTC day: each slice becomes data files of one partition."""
    counts = con.execute(_SLICE_COUNTS, {"staged": staged}).fetchall()
    out: list[tuple[datetime, datetime]] = []
    start: datetime | None = None
    end: datetime | None = None
    total = 0
    for hour, n in counts:
        if start is not None and (total + n > SLICE_ROWS or hour.date() != start.date()):
            out.append((start, end or hour))
            start, total = None, 0
        if start is None:
            start = hour
        total += n
        end = hour + timedelta(hours=1)
    if start is not None and end is not None:
        out.append((start, end))
    return out


def _commit(
    lake: Lake, staged: list[tuple[str, str]], run_id: str, result: IngestResult
) -> Counter[str]:
    """Add the run's new events to the table in one Iceberg commit; return events kept per
    source URI.

    DuckDB deduplicates each slice and writes it straight to Parquet in the table's data folder
    (streaming, within its memory limit); Iceberg then adds those files in a single commit. Files
    written by a run that dies before the commit are referenced by nothing, and ``compact``
    deletes them.
    """
    kept: Counter[str] = Counter()
    table = lake.events_table()
    run_dir = lake.staging_dir / run_id
    con = duckdb_connect(
        {
            "memory_limit": COMMIT_MEMORY,
            "threads": 2,
            "temp_directory": str(run_dir / "spill"),
            "preserve_insertion_order": True,
        }
    )
    data_dir = Path(local_path(table.metadata.location)) / "data"
    written: list[str] = []
    try:
        slices = _slices(con, [path for _, path in staged])
        days = lake.day_files(
            slices[0][0].date(), (slices[-1][1] - timedelta(microseconds=1)).date(), table
        )
        existing_by_day = {d.day: list(d.paths) for d in days}
        empty = str(run_dir / "empty.parquet")
        pq.write_table(EVENTS_SCHEMA.empty_table(), empty)
        staged_by_day: dict[str, list[str]] = {}
        for day, path in staged:
            staged_by_day.setdefault(day, []).append(path)
        for number, (start, end) in enumerate(slices):
            existing = existing_by_day.setdefault(start.date(), [])
            out = run_dir / f"slice-{number:05d}.parquet"
            con.sql(
                _SLICE_NEW_ROWS,
                params={
                    "staged": staged_by_day[str(start.date())],
                    "existing": existing or [empty],
                    "start": start,
                    "end": end,
                },
            ).write_parquet(str(out), compression="zstd", row_group_size=COMMIT_ROW_GROUP)
            counts = con.sql(
                "select source_uri, count(*) from read_parquet($out) group by 1",
                params={"out": str(out)},
            ).fetchall()
            if not counts:
                continue
            for uri, n in counts:
                kept[uri] += n
                result.events_written += n
            target = data_dir / f"event_date={start.date()}" / f"{run_id}-{number:05d}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            out.replace(target)
            written.append(f"file://{target}")  # pyiceberg does not unquote file URIs
            existing.append(str(target))  # later slices of the same day dedup against it too
    finally:
        con.close()
    if written:
        with table.transaction() as tx:
            tx.add_files(
                written,
                snapshot_properties={"trailwise.run-id": run_id},
                check_duplicate_files=False,  # fresh names, unique by run id
            )
    return kept


def _summarise(
    result: IngestResult,
    outcomes: list[FileOutcome],
    kept: Counter[str],
    run_id: str,
) -> list[dict[str, Any]]:
    """Fold file outcomes into the result; return the object records to persist."""
    not_trail: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    records: list[dict[str, Any]] = []
    now = datetime.now(UTC)
    for o in outcomes:
        if o.kind == "failed":
            result.objects_failed.append({"uri": o.uri, "reason": o.reason or ""})
            continue  # not recorded: the next run tries it again
        if o.kind != "not_cloudtrail" or _not_cloudtrail_by_name(o.uri) is None:
            result.bytes_read += o.size
            if o.uri.startswith("s3://"):
                result.bytes_downloaded += o.size
        result.records_in += o.records_in
        result.records_quarantined += o.records_quarantined
        result.records_filtered += o.records_filtered
        written = kept.get(o.uri, 0) + sum(kept.get(u, 0) for u in o.member_uris)
        duplicates = o.decoded - written
        result.duplicates += duplicates
        if o.kind == "events":
            result.files_ingested += 1
        elif o.kind == "not_cloudtrail":
            result.files_not_cloudtrail += 1
            not_trail[o.reason or "unknown"] += 1
        elif o.kind == "quarantined":
            result.files_quarantined += 1
            result.quarantined_files.append({"uri": o.uri, "reason": o.reason or ""})
        reasons.update(o.record_reasons)
        # A file whose events the window filtered must be read again by a wider run.
        if o.records_filtered == 0:
            records.append(
                {
                    "uri": o.uri,
                    "fingerprint": o.fingerprint,
                    "size": o.size,
                    "kind": o.kind,
                    "reason": o.reason,
                    "records_in": o.records_in,
                    "events_written": written,
                    "duplicates": duplicates,
                    "records_quarantined": o.records_quarantined,
                    "run_id": run_id,
                    "ingested_at": now,
                }
            )
    result.not_cloudtrail = dict(sorted(not_trail.items()))
    result.quarantine_reasons = dict(reasons.most_common())
    return records
