"""The commit: each UTC day's staged rows deduplicated against each other and the table, written
as data files, and added to the table in one Iceberg commit.

DuckDB works within COMMIT_MEMORY and spills to the run's staging folder beyond it.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from trailwise.pipeline import sqlfile
from trailwise.pipeline.ingest.workers import Staged
from trailwise.pipeline.lake import Lake, duckdb_connect, local_path
from trailwise.pipeline.lake.tables import TABLES

SLICE_ROWS = 250_000
COMMIT_ROW_GROUP = 32_768
COMMIT_MEMORY = "384MB"


def _sql(name: str) -> str:
    return sqlfile.text("trailwise.pipeline.ingest", name)


def _slices(con: duckdb.DuckDBPyConnection, staged: list[str]) -> list[tuple[datetime, datetime]]:
    """Contiguous hour ranges of at most ~SLICE_ROWS staged rows (more only for one busy hour),
    never crossing a UTC day: each slice becomes data files of one partition."""
    counts = con.execute(_sql("staged_hours"), {"staged": staged}).fetchall()
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


def commit(lake: Lake, table_name: str, staged: list[Staged], run_id: str) -> Counter[str]:
    """Add the run's new rows of one table (events, or aggregated events) in one Iceberg commit;
    return the rows kept per source URI.

    DuckDB deduplicates each slice and writes it straight to Parquet in the table's data folder
    (streaming, within its memory limit); Iceberg then adds those files in a single commit. Files
    written by a run that dies before the commit are referenced by nothing, and ``compact``
    deletes them.
    """
    kept: Counter[str] = Counter()
    table = lake.catalog().load_table(table_name)
    name = table_name.rsplit(".", 1)[-1]
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
        slices = _slices(con, [s.path for s in staged])
        days = lake.day_files(
            slices[0][0].date(), (slices[-1][1] - timedelta(microseconds=1)).date(), table
        )
        existing_by_day = {d.day: list(d.paths) for d in days}
        empty = str(run_dir / f"{name}-empty.parquet")
        pq.write_table(TABLES[table_name].empty_table(), empty)
        staged_by_day: dict[str, list[str]] = {}
        for s in staged:
            staged_by_day.setdefault(s.day, []).append(s.path)
        for number, (start, end) in enumerate(slices):
            existing = existing_by_day.setdefault(start.date(), [])
            out = run_dir / f"{name}-slice-{number:05d}.parquet"
            con.sql(
                _sql("new_events"),
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
