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
from typing import Any

import duckdb
import pyarrow.parquet as pq

from trailwise.pipeline import sqlfile
from trailwise.pipeline.errors import LakeError
from trailwise.pipeline.ingest.workers import Staged
from trailwise.pipeline.lake import ACTIONS_TABLE, EVENTS_TABLE, Lake, duckdb_connect
from trailwise.pipeline.lake.io import iceberg_uri
from trailwise.pipeline.lake.tables import TABLES

COMMIT_MEMORY = "384MB"
REWRITE_ROW_GROUP = 32_768


def _sql(name: str) -> str:
    return sqlfile.text("trailwise.pipeline.ingest", name)


COMMIT_ATTEMPTS = 5


def commit(lake: Lake, table_name: str, staged: list[Staged], run_id: str) -> Counter[str]:
    """Add the run's new rows of one table in one Iceberg commit (for events, then the actions
    files in a second); return the rows kept per source URI.

    The commit is the catalog's atomic swap from the snapshot the duplicates were found
    against. When another writer swapped first (a shared catalog, a lease that ran out), the
    table is read again, the run's files are deduplicated against the new snapshot and the
    commit retried, up to COMMIT_ATTEMPTS times.

    Args:
        lake: the lake, its write lock held.
        table_name: ``EVENTS_TABLE`` or ``AGGREGATED_TABLE``.
        staged: the workers' data files of that table, in source order.
        run_id: the run, named in the snapshot properties.
    """
    from pyiceberg.exceptions import CommitFailedException

    for attempt in range(1, COMMIT_ATTEMPTS + 1):
        table = lake.load(table_name)
        kept, committed = _deduplicate(lake, table, table_name, staged, run_id)
        if not committed:
            return kept
        lake.check_lease()
        try:
            _add(table, [s.data_file for s in committed], run_id)
        except CommitFailedException:
            if attempt == COMMIT_ATTEMPTS:
                raise LakeError(
                    f"cannot commit to {table_name} in {lake.root}: other runs committed first "
                    f"{COMMIT_ATTEMPTS} times",
                    hint="run again; nothing of this run was committed",
                ) from None
            staged = committed  # as they are now: some rewritten without duplicates
            continue
        if table_name == EVENTS_TABLE:
            actions = [s.actions_data_file for s in committed if s.actions_data_file]
            _add_retrying(lake, ACTIONS_TABLE, actions, run_id)
        return kept
    raise AssertionError("unreachable")


def _deduplicate(
    lake: Lake, table: Any, table_name: str, staged: list[Staged], run_id: str
) -> tuple[Counter[str], list[Staged]]:
    """The rows kept per source URI, and the files to commit: each staged file as it is, without
    its duplicates (rewritten), or not at all (deleted)."""
    kept: Counter[str] = Counter()
    run_dir = lake.staging_dir / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
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
    actions_table = lake.load(ACTIONS_TABLE) if table_name == EVENTS_TABLE else None
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
                    committed.append(_rewrite(con, lake, s, rows, table, actions_table))
                else:
                    _remove(lake, s)
    finally:
        con.close()
    return kept, committed


def _add(table: Any, data_files: list[Any], run_id: str) -> None:
    """Append data files (fresh names, unique by run id) to a table in one commit, from the
    snapshot ``table`` was loaded at (a CommitFailedException if it is no longer current).

    merge_append: manifests are merged as they accumulate (the table's
    commit.manifest.min-count-to-merge), so years of hourly appends do not make planning read
    thousands of them.
    """
    from pyiceberg.table import TableProperties

    with table.transaction() as tx:
        if tx.table_metadata.name_mapping() is None:
            # What add_files does: readers map the files' columns by name.
            mapping = tx.table_metadata.schema().name_mapping.model_dump_json()
            tx.set_properties(**{TableProperties.DEFAULT_NAME_MAPPING: mapping})
        with tx.update_snapshot(
            snapshot_properties={"trailwise.run-id": run_id}
        ).merge_append() as append:
            for data_file in data_files:
                append.append_data_file(data_file)


def _add_retrying(lake: Lake, table_name: str, data_files: list[Any], run_id: str) -> None:
    """Append files that need no deduplication (the actions of committed events): a conflict
    only means reading the table again."""
    from pyiceberg.exceptions import CommitFailedException

    for attempt in range(1, COMMIT_ATTEMPTS + 1):
        try:
            _add(lake.load(table_name), data_files, run_id)
            return
        except CommitFailedException:
            if attempt == COMMIT_ATTEMPTS:
                raise LakeError(
                    f"cannot commit to {table_name} in {lake.root}: other runs committed first "
                    f"{COMMIT_ATTEMPTS} times",
                    hint="run again: the events are in; the next run maps what lacks actions",
                ) from None


def _rewrite(
    con: duckdb.DuckDBPyConnection,
    lake: Lake,
    s: Staged,
    rows: int,
    table: Any,
    actions_table: Any,
) -> Staged:
    """The file without its duplicate rows, ``rows`` left (and its actions file without theirs),
    under new names; the originals, referenced by nothing, are deleted."""
    folder, _, name = s.path.rpartition("/")
    target = f"{folder}/{name.removesuffix('.parquet')}-d.parquet"
    lake.store.make_parent(target)
    con.sql(_sql("staged_rows_kept"), params={"file": s.path}).write_parquet(
        target, compression="zstd", row_group_size=REWRITE_ROW_GROUP
    )
    actions_target = None
    if s.actions_path:
        folder, _, name = s.actions_path.rpartition("/")
        stem, _, token = name.removesuffix(".parquet").partition("~")
        actions_target = f"{folder}/{stem}-d~{token}.parquet"
        con.sql(
            _sql("staged_actions_kept"),
            params={"events_file": s.path, "actions_file": s.actions_path},
        ).write_parquet(actions_target, compression="zstd", row_group_size=REWRITE_ROW_GROUP)
    _remove(lake, s)
    return Staged(
        s.table,
        s.day,
        target,
        rows,
        _entry(table, target),
        actions_target,
        _entry(actions_table, actions_target) if actions_target else None,
    )


def _entry(table: Any, path: str) -> Any:
    """The Iceberg entry of a file the commit rewrote."""
    from pyiceberg.io.pyarrow import parquet_file_to_data_file

    return parquet_file_to_data_file(table.io, table.metadata, iceberg_uri(path))


def _remove(lake: Lake, s: Staged) -> None:
    lake.store.delete(s.path)
    if s.actions_path:
        lake.store.delete(s.actions_path)
