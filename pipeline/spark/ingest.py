"""Decoding on Spark executors: the embedded ingest's chunks, run as Spark tasks.

The driver plans exactly as the embedded ingest does (listing, the window, object records,
digests skipped) and cuts the same chunks. Each chunk travels to an executor as one row of a
DataFrame; ``mapInArrow`` runs the embedded worker on it (read, decode, quarantine, map to IAM
actions, write the data files into the tables' folders) and returns what it wrote and what
each object gave. The driver then deduplicates and commits once through the same commit code,
so a Spark run lands the same rows, quarantine and counts as an embedded one.

Why a DataFrame and not an RDD: ``mapInArrow`` also works through Spark Connect (Databricks
serverless, EMR Serverless with Connect), where RDDs do not exist.

A task Spark retries (a lost executor, speculation) writes the same files under the same names
again (a chunk's names are the run id and its sequence number), and only one attempt's result
reaches the driver: nothing is committed twice. Files of a task that died are referenced by no
snapshot; ``compact`` deletes them.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from trailwise.pipeline.errors import LakeError
from trailwise.pipeline.ingest.plan import Window
from trailwise.pipeline.ingest.result import FileOutcome, IngestProgress, Progress
from trailwise.pipeline.ingest.workers import Staged, Targets, chunks, decode_chunk
from trailwise.pipeline.sources import Source, SourceObject

_RESULT_SCHEMA = "seq long, result binary"
# Chunks and results travel pickled, as they do to the embedded ingest's processes: both ends
# are this run's own driver and tasks, never data from outside.


def _run_chunks(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Executor side: each row's chunk through the embedded worker."""
    for batch in batches:
        seqs, results = [], []
        for seq, blob in zip(
            batch.column("seq").to_pylist(), batch.column("chunk").to_pylist(), strict=True
        ):
            seqs.append(seq)
            results.append(pickle.dumps(decode_chunk(pickle.loads(blob))))  # noqa: S301
        yield pa.record_batch(
            [pa.array(seqs, pa.int64()), pa.array(results, pa.binary())], names=["seq", "result"]
        )


def decode_all(
    spark: Any,
    todo: list[tuple[Source, SourceObject]],
    targets: Targets,
    window: Window,
    readers: int,
    progress: Progress | None,
    started: float,
) -> tuple[list[FileOutcome], list[Staged]]:
    """The embedded ``decode_all`` with Spark tasks for processes: one task per chunk, each
    reading ``readers`` objects at once spread over the cluster's task slots."""
    slots = max(1, int(spark.sparkContext.defaultParallelism))
    per_task = max(1, -(-readers // slots))
    work = list(chunks(todo, targets, window, per_task))
    if not work:
        return [], []
    rows = pa.table(
        {
            "seq": pa.array([c.seq for c in work], pa.int64()),
            "chunk": pa.array([pickle.dumps(c) for c in work], pa.binary()),
        }
    )
    # One chunk per partition: chunks are the unit of work the embedded ingest balances too.
    frame = spark.createDataFrame(rows).repartitionByRange(len(work), "seq")
    try:
        collected = frame.mapInArrow(_run_chunks, _RESULT_SCHEMA).toArrow()
    except Exception as exc:  # py4j/pyspark errors: one line naming what failed
        raise LakeError(f"Spark could not decode the run's objects: {_first_line(exc)}") from exc
    outcomes: list[FileOutcome] = []
    staged: list[Staged] = []
    order = sorted(
        zip(
            collected.column("seq").to_pylist(), collected.column("result").to_pylist(), strict=True
        )
    )
    for _, blob in order:  # source order: the commit keeps an event's first copy
        result = pickle.loads(blob)  # noqa: S301
        outcomes.extend(result.outcomes)
        staged.extend(result.staged)
    if progress:
        events = sum(o.decoded for o in outcomes)
        progress(IngestProgress(len(outcomes), len(todo), events, time.perf_counter() - started))
    return outcomes, staged


def _first_line(exc: BaseException) -> str:
    """The worker's own error when a task failed (Spark wraps it in pages of JVM trace)."""
    text = str(exc)
    for line in text.splitlines():
        if "Error:" in line and "Traceback" not in line and "org.apache" not in line:
            return line.strip()
    return text.splitlines()[0] if text else type(exc).__name__
