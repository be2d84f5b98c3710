"""The commit: the workers' data files, less what is already there, added in one Iceberg commit
per table (events, then their actions; aggregated events).

An event is (event_id, recipient_account_id) on the UTC day of its eventTime: the copies
CloudTrail delivers twice (organisation and account trails, re-sent files, overlapping exports)
share all three. Each day is deduplicated on its own, reading only the key columns: a row is a
duplicate when an earlier data file of the run (in source order) or the table's files of that
day hold its key. A data file without duplicates is committed as the worker wrote it; one with
some is rewritten without them (its actions file too), and the original deleted.

DuckDB works within COMMIT_MEMORY and spills to the run's staging folder beyond it.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from trailwise.pipeline import sqlfile
from trailwise.pipeline.ingest.workers import Staged
from trailwise.pipeline.lake import ACTIONS_TABLE, EVENTS_TABLE, Lake, duckdb_connect
from trailwise.pipeline.lake.tables import TABLES

COMMIT_MEMORY = "384MB"
REWRITE_ROW_GROUP = 32_768


def _sql(name: str) -> str:
    return sqlfile.text("trailwise.pipeline.ingest", name)


def commit(lake: Lake, table_name: str, staged: list[Staged], run_id: str) -> Counter[str]:
    """Add the run's new rows of one table in one Iceberg commit (for events, then the actions
    files in a second); return the rows kept per source URI.

    Args:
        lake: the lake, its write lock held.
        table_name: ``EVENTS_TABLE`` or ``AGGREGATED_TABLE``.
        staged: the workers' data files of that table, in source order.
        run_id: the run, named in the snapshot properties.
    """
    kept: Counter[str] = Counter()
    table = lake.catalog().load_table(table_name)
    run_dir = lake.staging_dir / run_id
    con = duckdb_connect(
        {
            "memory_limit": COMMIT_MEMORY,
            "threads": 2,
            "temp_directory": str(run_dir / "spill"),
            "preserve_insertion_order": True,
        }
    )
    by_day: dict[str, list[Staged]] = {}
    for s in staged:
        by_day.setdefault(s.day, []).append(s)
    days = sorted(by_day)
    existing = {
        d.day: list(d.paths)
        for d in lake.day_files(date.fromisoformat(days[0]), date.fromisoformat(days[-1]), table)
    }
    empty = str(run_dir / f"{table_name.rsplit('.', 1)[-1]}-empty.parquet")
    pq.write_table(TABLES[table_name].empty_table(), empty)
    committed: list[Staged] = []
    actions_table = lake.catalog().load_table(ACTIONS_TABLE) if table_name == EVENTS_TABLE else None
    try:
        for day in days:
            files = sorted(by_day[day], key=lambda s: s.path)  # RUN-SEQ: source order
            start = datetime.combine(date.fromisoformat(day), datetime.min.time())
            con.execute(
                _sql("duplicate_rows"),
                {
                    "staged": [s.path for s in files],
                    "existing": existing.get(date.fromisoformat(day)) or [empty],
                    "start": start,
                    "end": start + timedelta(days=1),
                },
            )
            for uri, n in con.sql(_sql("kept_rows")).fetchall():
                kept[uri] += n
            dropped = dict(con.sql(_sql("dropped_rows")).fetchall())
            for s in files:
                if s.path not in dropped:
                    committed.append(s)
                elif dropped[s.path] < s.rows:
                    rows = s.rows - dropped[s.path]
                    committed.append(_rewrite(con, s, rows, table, actions_table))
                else:
                    _remove(s)
    finally:
        con.close()
    if committed:
        _add(lake, table_name, [s.data_file for s in committed], run_id)
        if table_name == EVENTS_TABLE:
            actions = [s.actions_data_file for s in committed if s.actions_data_file]
            _add(lake, ACTIONS_TABLE, actions, run_id)
    return kept


def _add(lake: Lake, table_name: str, data_files: list[Any], run_id: str) -> None:
    """Append data files (fresh names, unique by run id) to a table in one commit."""
    from pyiceberg.table import TableProperties

    table = lake.catalog().load_table(table_name)
    with table.transaction() as tx:
        if tx.table_metadata.name_mapping() is None:
            # What add_files does: readers map the files' columns by name.
            mapping = tx.table_metadata.schema().name_mapping.model_dump_json()
            tx.set_properties(**{TableProperties.DEFAULT_NAME_MAPPING: mapping})
        with tx.update_snapshot(
            snapshot_properties={"trailwise.run-id": run_id}
        ).fast_append() as append:
            for data_file in data_files:
                append.append_data_file(data_file)


def _rewrite(
    con: duckdb.DuckDBPyConnection, s: Staged, rows: int, table: Any, actions_table: Any
) -> Staged:
    """The file without its duplicate rows, ``rows`` left (and its actions file without theirs),
    under new names; the originals, referenced by nothing, are deleted."""
    path = Path(s.path)
    target = path.with_name(f"{path.stem}-d.parquet")
    con.sql(_sql("staged_rows_kept"), params={"file": s.path}).write_parquet(
        str(target), compression="zstd", row_group_size=REWRITE_ROW_GROUP
    )
    actions_target = None
    if s.actions_path:
        actions = Path(s.actions_path)
        stem, _, token = actions.stem.partition("~")
        actions_target = str(actions.with_name(f"{stem}-d~{token}.parquet"))
        con.sql(
            _sql("staged_actions_kept"),
            params={"events_file": s.path, "actions_file": s.actions_path},
        ).write_parquet(actions_target, compression="zstd", row_group_size=REWRITE_ROW_GROUP)
    _remove(s)
    return Staged(
        s.table,
        s.day,
        str(target),
        rows,
        _entry(table, target),
        actions_target,
        _entry(actions_table, Path(actions_target)) if actions_target else None,
    )


def _entry(table: Any, path: Path) -> Any:
    """The Iceberg entry of a file the commit rewrote."""
    from pyiceberg.io.pyarrow import parquet_file_to_data_file

    return parquet_file_to_data_file(table.io, table.metadata, f"file://{path}")


def _remove(s: Staged) -> None:
    Path(s.path).unlink(missing_ok=True)
    if s.actions_path:
        Path(s.actions_path).unlink(missing_ok=True)
