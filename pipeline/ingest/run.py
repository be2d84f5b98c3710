"""Ingest: list sources, decode files in parallel, deduplicate, commit to the lake once.

The run's shape::

    list objects -> drop those already recorded -> decode chunks in worker processes, each
    writing staging Parquet per UTC day -> per day (or hour range of a busy day), DuckDB drops
    events seen earlier in the run or already in the table and writes the rest as a data file
    -> one Iceberg commit adding those files (then one for the aggregated records) -> object
    records -> event_actions -> run log.

What a SIGKILL leaves after each step that writes, and why the next run repairs it:

- staging files and unreferenced data files: garbage; the next run sweeps the staging folder
  and ``compact`` deletes data files no snapshot references;
- the events commit: the objects are not recorded yet, so the next run reads them again and
  finds every event present (duplicates); the aggregated commit is made then;
- the aggregated commit: the same, for both tables;
- the object records: written whole (temp file + rename) or not at all;
- event_actions: the next run's sync maps the events files that have no actions file yet;
- the run log: one line per write, fsync'd; a torn last line is ignored.
"""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from trailwise.pipeline.ingest.commit import commit
from trailwise.pipeline.ingest.plan import Window, plan
from trailwise.pipeline.ingest.result import FileOutcome, IngestProgress, IngestResult, Progress
from trailwise.pipeline.ingest.workers import (
    Staged,
    Targets,
    decode_all,
    not_cloudtrail_by_name,
    start_processes,
)
from trailwise.pipeline.lake import (
    ACTIONS_TABLE,
    AGGREGATED_TABLE,
    EVENTS_TABLE,
    Lake,
    actions,
    maintenance,
    new_run_id,
)
from trailwise.pipeline.sources import Source, SourceObject
from trailwise.pipeline.timeutil import now_iso

DEFAULT_READERS = 8  # concurrent reads (S3 downloads) across all decoding processes

# What decodes a run's objects: (objects, targets, window, readers, progress, started) ->
# (an outcome per object, the data files written), as workers.decode_all does with processes.
Decoder = Callable[
    [list[tuple[Source, SourceObject]], Targets, Window, int, Progress | None, float],
    tuple[list[FileOutcome], list[Staged]],
]


def ingest(
    sources: Sequence[Source],
    lake: Lake,
    window: Window | None = None,
    readers: int | None = None,
    progress: Progress | None = None,
    processes: int | None = None,
    decoder: Decoder | None = None,
) -> IngestResult:
    """Ingest every CloudTrail file of ``sources`` into ``lake``; see the module docstring.

    ``readers`` reads (downloads) run at once, spread over ``processes`` decoding processes
    (default: one per CPU). Another ``decoder`` (Spark tasks: :mod:`trailwise.pipeline.spark`)
    may decode instead of those processes; everything before and after it is the same.
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
    started_at = now_iso()
    if processes > 1 and decoder is None:
        start_processes()  # its imports overlap the catalog's and the listing
    lake.create()
    with lake.lock():
        lake.sweep_unfinished()
        run_dir = lake.staging_dir / run_id
        run_dir.mkdir(parents=True)
        quarantine = f"{lake.quarantine_key}/{run_id}"
        try:
            lake.migrate_state()
            todo = plan(sources, lake, window, result)
            result.phase_seconds["list"] = round(time.perf_counter() - started, 3)
            tables = {
                name: lake.load(name) for name in (EVENTS_TABLE, ACTIONS_TABLE, AGGREGATED_TABLE)
            }
            targets = Targets(
                run_id,
                lake.store,
                quarantine,
                {name: lake.data_dir(name) for name in tables},
                {name: table.metadata for name, table in tables.items()},
            )
            if decoder is None:
                outcomes, staged = decode_all(
                    todo, targets, window, processes, readers, progress, started
                )
            else:
                outcomes, staged = decoder(todo, targets, window, readers, progress, started)
            result.phase_seconds["decode"] = round(
                time.perf_counter() - started - result.phase_seconds["list"], 3
            )
            _announce(progress, "commit", outcomes, started)
            kept = _commit_all(lake, staged, run_id, result)
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
            if next(iter(lake.store.list(quarantine)), None) is not None:
                result.quarantine_dir = lake.store.uri(quarantine)
            if maintenance.maintenance_due(lake.runs()):
                result.compacted = maintenance.compact_locked(lake).to_dict()
                result.phase_seconds["compact"] = result.compacted["seconds"]
            result.seconds = time.perf_counter() - started
            lake.append_run(
                {
                    "run_id": run_id,
                    "started_at": started_at,
                    "finished_at": now_iso(),
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
                    "finished_at": now_iso(),
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


def _commit_all(
    lake: Lake, staged: list[Staged], run_id: str, result: IngestResult
) -> Counter[str]:
    """Commit the new events, then the new aggregated records; return rows kept per source URI.

    Each table gets its own commit. A run killed between the two has written no object records
    yet, so the next run reads those objects again: their events are duplicates by then, and
    their aggregated records are committed.
    """
    kept: Counter[str] = Counter()
    for table_name in (EVENTS_TABLE, AGGREGATED_TABLE):
        mine = [s for s in staged if s.table == table_name]
        if not mine:
            continue
        rows = commit(lake, table_name, mine, run_id)
        if table_name == EVENTS_TABLE:
            result.events_written += rows.total()
        else:
            result.aggregated_written += rows.total()
        kept.update(rows)
    return kept


def _announce(
    progress: Progress | None, phase: str, outcomes: list[FileOutcome], started: float
) -> None:
    if progress:
        events = sum(o.decoded for o in outcomes)
        elapsed = time.perf_counter() - started
        progress(IngestProgress(len(outcomes), len(outcomes), events, elapsed, phase))


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
        if o.kind != "not_cloudtrail" or not_cloudtrail_by_name(o.uri) is None:
            result.bytes_read += o.size
            if o.uri.startswith("s3://"):
                result.bytes_downloaded += o.size
        result.records_in += o.records_in
        result.records_quarantined += o.records_quarantined
        result.records_filtered += o.records_filtered
        written = kept.get(o.uri, 0) + sum(kept.get(u, 0) for u in o.member_uris)
        duplicates = o.decoded + o.aggregated - written
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
