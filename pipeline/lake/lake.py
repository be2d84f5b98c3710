"""The lake: an Iceberg events table, the record of ingested objects, the run log, quarantine.

Layout under the lake directory::

    catalog.db                      Iceberg SQL catalog (SQLite)
    warehouse/trailwise/events/     Iceberg table: data/event_date=YYYY-MM-DD/*.parquet + metadata/
    state/format.json               {"format_version": 1}
    state/objects/RUN.parquet       the objects each run ingested (written after the data commit)
    runs.jsonl                      one line per finished run: what it did
    quarantine/RUN/                 files that could not be read (+ .reason.json) and records.ndjson
    .lock                           held (flock) by the run writing to the lake

Exactly once: an event is (event_id, recipient_account_id) on the UTC day of its event_time, and
a run only adds events the current snapshot does not hold, in one Iceberg commit. The object
record is written after that commit; if a run dies between the two, the next run reads those
objects again, finds every event already present and counts them as duplicates.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from trailwise.pipeline import sqlfile
from trailwise.pipeline.errors import LakeError, LakeLockedError
from trailwise.pipeline.lake.io import duckdb_connect, local_path, write_atomic
from trailwise.pipeline.lake.tables import (
    ACTIONS_TABLE,
    AGGREGATED_TABLE,
    EVENTS_TABLE,
    NAMESPACE,
    OBJECTS_SCHEMA,
    TABLES,
    add_missing_columns,
    create_day_partitioned,
)

FORMAT_VERSION = 1
DEFAULT_LAKE = Path("trailwise-lake")


def _sql(name: str) -> str:
    return sqlfile.text("trailwise.pipeline.lake", name)


def resolve_lake_dir(lake: str | Path | None) -> Path:
    """``--lake``, else ``$TRAILWISE_LAKE``, else ``./trailwise-lake``."""
    chosen = lake or os.environ.get("TRAILWISE_LAKE") or DEFAULT_LAKE
    return Path(chosen).expanduser().resolve()


def as_lake(lake: Lake | str | Path | None) -> Lake:
    """``lake`` as a :class:`Lake`; a path (None: the default lake) is opened, not created."""
    return lake if isinstance(lake, Lake) else Lake(lake)


@dataclass(frozen=True)
class DayFiles:
    """The data files holding one UTC day of events."""

    day: date
    paths: tuple[str, ...]


class Lake:
    """A lake directory. Cheap to construct; nothing is created until :meth:`create`."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = resolve_lake_dir(root)
        self._catalog: Any = None

    # -- paths ----------------------------------------------------------------------------
    @property
    def catalog_path(self) -> Path:
        return self.root / "catalog.db"

    @property
    def objects_dir(self) -> Path:
        return self.root / "state" / "objects"

    @property
    def runs_path(self) -> Path:
        return self.root / "runs.jsonl"

    @property
    def quarantine_dir(self) -> Path:
        return self.root / "quarantine"

    @property
    def staging_dir(self) -> Path:
        return self.root / "_staging"

    def exists(self) -> bool:
        return self.catalog_path.exists()

    def require(self) -> Lake:
        """Fail with a clear message when the directory is not a lake."""
        if not self.exists():
            raise LakeError(
                f"no trailwise lake at {self.root}",
                hint="run 'trailwise ingest SOURCE --lake DIR' first, or pass --lake",
            )
        fmt = self.root / "state" / "format.json"
        if fmt.exists():
            version = orjson.loads(fmt.read_bytes()).get("format_version")
            if version != FORMAT_VERSION:
                raise LakeError(
                    f"lake {self.root} has format version {version}; this trailwise reads "
                    f"{FORMAT_VERSION}"
                )
        return self

    # -- Iceberg --------------------------------------------------------------------------
    def catalog(self) -> Any:
        if self._catalog is None:
            from pyiceberg.catalog.sql import SqlCatalog

            self._catalog = SqlCatalog(
                "trailwise",
                uri=f"sqlite:///{self.catalog_path}",
                warehouse=(self.root / "warehouse").as_uri(),
            )
        return self._catalog

    def create(self) -> Lake:
        """Create the lake's directories, catalog and tables if missing."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LakeError(f"cannot create lake directory {self.root}: {exc.strerror}") from exc
        fmt = self.root / "state" / "format.json"
        if not fmt.exists():
            write_atomic(fmt, orjson.dumps({"format_version": FORMAT_VERSION}))
        catalog = self.catalog()
        catalog.create_namespace_if_not_exists(NAMESPACE)
        for name, arrow_schema in TABLES.items():
            if not catalog.table_exists(name):
                create_day_partitioned(catalog, name, arrow_schema)
            else:
                add_missing_columns(catalog.load_table(name), arrow_schema)
        return self

    def events_table(self) -> Any:
        return self.catalog().load_table(EVENTS_TABLE)

    def actions_table(self) -> Any:
        return self.catalog().load_table(ACTIONS_TABLE)

    def aggregated_table(self) -> Any:
        return self.catalog().load_table(AGGREGATED_TABLE)

    def data_dir(self, table_name: str) -> str:
        """The local folder a table's data files go to (``data/`` of its location)."""
        location = self.catalog().load_table(table_name).metadata.location
        return str(Path(local_path(location)) / "data")

    def has_table(self, table_name: str) -> bool:
        """Whether the lake has ``table_name`` (a lake of an older trailwise may lack one until
        its next ingest creates it)."""
        return self.exists() and bool(self.catalog().table_exists(table_name))

    def mixes_schemas(self, table_name: str) -> bool:
        """Whether the table's schema gained columns, so that its older data files lack them:
        readers then match columns by name (DuckDB's ``union_by_name``)."""
        return (
            self.has_table(table_name)
            and len(self.catalog().load_table(table_name).metadata.schemas) > 1
        )

    def day_files(self, first: date, last: date, table: Any = None) -> list[DayFiles]:
        """Data files of the current snapshot for each day in [first, last]."""
        from pyiceberg.expressions import And, GreaterThanOrEqual, LessThan

        table = table or self.events_table()
        start = datetime.combine(first, datetime.min.time())
        end = datetime.combine(last + timedelta(days=1), datetime.min.time())
        row_filter = And(
            GreaterThanOrEqual("event_time", start.isoformat()),  # type: ignore[call-arg, arg-type]
            LessThan("event_time", end.isoformat()),  # type: ignore[call-arg, arg-type]
        )
        by_day: dict[date, list[str]] = {}
        for task in table.scan(row_filter=row_filter).plan_files():
            day = date(1970, 1, 1) + timedelta(days=task.file.partition[0])
            by_day.setdefault(day, []).append(local_path(task.file.file_path))
        return [DayFiles(day, tuple(sorted(paths))) for day, paths in sorted(by_day.items())]

    def data_files(self, table_name: str = EVENTS_TABLE) -> list[str]:
        """Every data file of a table's current snapshot (local paths), sorted."""
        if not self.has_table(table_name):
            return []
        table = self.catalog().load_table(table_name)
        return sorted(local_path(t.file.file_path) for t in table.scan().plan_files())

    # -- state ----------------------------------------------------------------------------
    def known_objects(self, listed: pa.Table) -> set[tuple[str, str]]:
        """Which of the ``(uri, fingerprint)`` pairs in ``listed`` earlier runs recorded."""
        files = sorted(str(p) for p in self.objects_dir.glob("*.parquet"))
        if not files or listed.num_rows == 0:
            return set()
        con = duckdb_connect()
        try:
            con.register("listed", listed)
            rows = con.execute(_sql("known_objects"), {"files": files}).fetchall()
        finally:
            con.close()
        return {(str(u), str(f)) for u, f in rows}

    def record_objects(self, run_id: str, rows: list[dict[str, Any]] | pa.Table) -> None:
        """Write this run's object records; called only after the data commit."""
        if len(rows) == 0:
            return
        table = (
            rows
            if isinstance(rows, pa.Table)
            else pa.Table.from_pylist(rows, schema=OBJECTS_SCHEMA)
        )
        self.objects_dir.mkdir(parents=True, exist_ok=True)
        final = self.objects_dir / f"{run_id}.parquet"
        tmp = self.objects_dir / f".{run_id}.parquet.tmp"
        pq.write_table(table, tmp, compression="zstd")
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        tmp.replace(final)

    def append_run(self, record: dict[str, Any]) -> None:
        """Append one line to the run log (a whole line per write, fsync'd)."""
        self.root.mkdir(parents=True, exist_ok=True)
        line = orjson.dumps(record) + b"\n"
        fd = os.open(self.runs_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def runs(self) -> list[dict[str, Any]]:
        """The run log, oldest first; a torn last line (crash mid-write) is ignored."""
        if not self.runs_path.exists():
            return []
        out = []
        for line in self.runs_path.read_bytes().splitlines():
            try:
                out.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                continue
        return out

    # -- locking and cleanup --------------------------------------------------------------
    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the lake's write lock; a second writer fails at once with who holds it.

        flock is released by the kernel when the holder dies, even by SIGKILL, so a stale lock
        file never blocks the next run.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / ".lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "unknown"
                raise LakeLockedError(
                    f"lake {self.root} is locked by another run ({holder})",
                    hint="wait for it to finish; a lock left by a dead process frees itself",
                ) from None
            since = f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}"
            info = f"pid {os.getpid()} on {socket.gethostname()} since {since}"
            os.ftruncate(fd, 0)
            os.pwrite(fd, info.encode(), 0)
            yield
        finally:
            os.close(fd)

    def sweep_unfinished(self) -> None:
        """Remove what runs that died left behind: staging, and quarantine of unlogged runs."""
        shutil.rmtree(self.staging_dir, ignore_errors=True)
        if self.quarantine_dir.exists():
            finished = {r.get("run_id") for r in self.runs()}
            recorded = {p.stem for p in self.objects_dir.glob("*.parquet")}
            for run_dir in self.quarantine_dir.iterdir():
                if run_dir.is_dir() and run_dir.name not in finished | recorded:
                    shutil.rmtree(run_dir, ignore_errors=True)
        for tmp in self.objects_dir.glob(".*.tmp") if self.objects_dir.exists() else []:
            tmp.unlink(missing_ok=True)


_DUCKDB_TYPES = {"string": "varchar", "bool": "boolean", "timestamp[us]": "timestamp"}


def read_table(
    con: duckdb.DuckDBPyConnection, lake: Lake, table_name: str, files: list[str] | None = None
) -> duckdb.DuckDBPyRelation:
    """A table's data files (default: all of its current snapshot) as exactly its columns, in
    the schema's order.

    No hive column comes from Iceberg's directory names; a column an older data file lacks (the
    table gained it since) reads as null, and so does one that a lake older than it lacks.
    """
    schema = TABLES[table_name]
    files = lake.data_files(table_name) if files is None else files
    if not files:
        return con.from_arrow(schema.empty_table())
    relation = con.read_parquet(
        files, hive_partitioning=False, union_by_name=lake.mixes_schemas(table_name)
    )
    present = set(relation.columns)
    if present >= set(schema.names):
        return relation.select(", ".join(schema.names))
    return relation.select(
        ", ".join(
            name if name in present else f"cast(null as {_DUCKDB_TYPES[str(field.type)]}) as {name}"
            for name, field in zip(schema.names, schema, strict=True)
        )
    )
