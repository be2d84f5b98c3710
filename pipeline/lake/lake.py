"""The lake: Iceberg tables of events, their IAM actions and the lake's own state.

A lake is a root (a local folder or ``s3://bucket/prefix``) and a catalog (``sql``: SQLite in a
local lake's folder by default, or any SQLAlchemy URL; ``glue``: the AWS Glue Data Catalog;
``rest``: an Iceberg REST catalog). Layout under the root::

    warehouse/NAMESPACE/TABLE/      Iceberg tables: data/event_date=YYYY-MM-DD/*.parquet + metadata/
                                    events, event_actions, aggregated_events; and the state:
                                    ingested_objects (what each run read) and runs (the run log)
    state/format.json               {"format_version": 2, "catalog": {...}}: what the lake is
    state/lease.json                an S3 lake's write lease (:mod:`.lease`) while a run holds it
    quarantine/RUN/                 files that could not be read (+ .reason.json) and records
    iam/                            IAM snapshots (:mod:`trailwise.pipeline.iam.store`)
    catalog.db, .lock, _staging/    a local lake only: the default SQLite catalog, the flock,
                                    the running commit's spill folder

Exactly once: an event is (event_id, recipient_account_id) on the UTC day of its event_time, and
a run only adds events the current snapshot does not hold, in one Iceberg commit. The object
records are committed after that; if a run dies between the two, the next run reads those
objects again, finds every event already present and counts them as duplicates.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import orjson
import pyarrow as pa

from trailwise.pipeline import sqlfile
from trailwise.pipeline.errors import LakeError, LakeLockedError, UsageError
from trailwise.pipeline.lake.io import duckdb_connect, local_path, use_store
from trailwise.pipeline.lake.lease import Lease
from trailwise.pipeline.lake.store import Store, open_store
from trailwise.pipeline.lake.tables import (
    EVENTS_TABLE,
    NAMESPACE,
    OBJECTS_SCHEMA,
    OBJECTS_TABLE,
    RUNS_SCHEMA,
    RUNS_TABLE,
    STATE_TABLES,
    TABLES,
    add_missing_columns,
    create_table,
    upgrade_properties,
)
from trailwise.pipeline.sources.s3 import S3Config

FORMAT_VERSION = 2
# Format 1 kept the state in files: state/objects/RUN.parquet and runs.jsonl. Such a lake is
# read as it is and moved into the state tables by its next writer (:meth:`Lake.migrate_state`).
READABLE_FORMATS = (1, 2)
DEFAULT_LAKE = Path("trailwise-lake")
CATALOG_KINDS = ("sql", "glue", "rest")
FORMAT_KEY = "state/format.json"
_LEGACY_OBJECTS = "state/objects"
_LEGACY_RUNS = "runs.jsonl"


def _sql(name: str) -> str:
    return sqlfile.text("trailwise.pipeline.lake", name)


def resolve_lake_root(lake: str | Path | None) -> str:
    """``--lake``, else ``$TRAILWISE_LAKE``, else ``./trailwise-lake``: ``s3://bucket/prefix``
    as it is (without a trailing slash), a folder as an absolute path."""
    chosen = str(lake or os.environ.get("TRAILWISE_LAKE") or DEFAULT_LAKE)
    if chosen.startswith("s3://"):
        return chosen.rstrip("/")
    if "://" in chosen:
        raise UsageError(f"unsupported lake {chosen!r}", hint="pass a folder or s3://BUCKET/PREFIX")
    return str(Path(chosen).expanduser().resolve())


@dataclass(frozen=True)
class CatalogConfig:
    """Which catalog holds the lake's tables. None fields: what the lake recorded when it was
    created (``state/format.json``), else pyiceberg's own configuration of a catalog named
    ``trailwise`` (``.pyiceberg.yaml``, ``PYICEBERG_CATALOG__TRAILWISE__*``), else ``sql``."""

    kind: str | None = None  # sql | glue | rest
    uri: str | None = None  # sql: a SQLAlchemy URL; rest: the catalog's URL
    namespace: str | None = None  # the Glue database / Iceberg namespace (default trailwise)

    def __post_init__(self) -> None:
        if self.kind is not None and self.kind not in CATALOG_KINDS:
            raise UsageError(
                f"unknown catalog {self.kind!r}", hint=f"use one of {', '.join(CATALOG_KINDS)}"
            )


def as_lake(lake: Lake | str | Path | None) -> Lake:
    """``lake`` as a :class:`Lake`; a path (None: the default lake) is opened, not created."""
    return lake if isinstance(lake, Lake) else Lake(lake)


@dataclass(frozen=True)
class DayFiles:
    """The data files holding one UTC day of events."""

    day: date
    paths: tuple[str, ...]


def _configured() -> dict[str, Any]:
    """pyiceberg's own configuration of the catalog named ``trailwise``, if any."""
    from pyiceberg.utils.config import Config

    return dict(Config().get_catalog_config("trailwise") or {})


def _without_secret(uri: str | None) -> str | None:
    """A catalog URI fit to be recorded in the lake: None when it carries a password."""
    if uri is None:
        return None
    try:
        return None if urlsplit(uri).password else uri
    except ValueError:
        return None


class Lake:
    """A lake. Cheap to construct; nothing is created until :meth:`create`."""

    def __init__(
        self,
        root: str | Path | None = None,
        catalog: CatalogConfig | None = None,
        s3: S3Config | None = None,
    ) -> None:
        self.root = resolve_lake_root(root)
        self.is_local = not self.root.startswith("s3://")
        self.store: Store = open_store(self.root, s3)
        use_store(self.store)
        self._given = catalog or CatalogConfig()
        self._catalog: Any = None
        self._format: dict[str, Any] | None = None
        self._lease: Lease | None = None

    # -- where things are -----------------------------------------------------------------
    @property
    def folder(self) -> Path:
        """A local lake's folder (a LakeError for an S3 lake)."""
        if not self.is_local:
            raise LakeError(f"lake {self.root} is not a local folder")
        return Path(self.root)

    @property
    def catalog_path(self) -> Path:
        return self.folder / "catalog.db"

    @property
    def quarantine_key(self) -> str:
        return "quarantine"

    @property
    def staging_dir(self) -> Path:
        """Where a run's commit spills: in a local lake's folder; beside an S3 lake, a folder
        of this machine's temp directory named for the lake."""
        if self.is_local:
            return self.folder / "_staging"
        digest = hashlib.sha256(self.root.encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"trailwise-staging-{digest}"

    def warehouse(self) -> str:
        # Not Path.as_uri(): pyiceberg does not unquote file URIs, so a percent-encoded folder
        # name ("o%27b%20lake") would become a sibling folder of that name.
        return f"file://{self.root}/warehouse" if self.is_local else f"{self.root}/warehouse"

    # -- what the lake is -----------------------------------------------------------------
    def format(self) -> dict[str, Any]:
        """The lake's format file (empty for a lake that does not exist)."""
        if self._format is None:
            data = self.store.read(FORMAT_KEY)
            self._format = orjson.loads(data) if data else {}
        return self._format

    def exists(self) -> bool:
        if self.format():
            return True
        return self.is_local and self.catalog_path.exists()

    def require(self) -> Lake:
        """Fail with a clear message when the root is not a lake."""
        if not self.exists():
            raise LakeError(
                f"no trailwise lake at {self.root}",
                hint="run 'trailwise ingest SOURCE --lake DIR' first, or pass --lake",
            )
        version = self.format().get("format_version", 1)
        if version not in READABLE_FORMATS:
            raise LakeError(
                f"lake {self.root} has format version {version}; this trailwise reads "
                f"{', '.join(map(str, READABLE_FORMATS))}"
            )
        return self

    def catalog_config(self) -> CatalogConfig:
        """The catalog: what was given, else what the lake recorded, else the defaults."""
        recorded = self.format().get("catalog") or {}
        given = self._given
        kind = given.kind or recorded.get("type")
        if kind is None:
            kind = str(_configured().get("type") or "sql")
        if recorded.get("type") and kind != recorded["type"]:
            raise UsageError(
                f"lake {self.root} keeps its tables in a {recorded['type']} catalog, not {kind}",
                hint=f"pass --catalog {recorded['type']} (or leave it out)",
            )
        namespace = given.namespace or recorded.get("namespace") or NAMESPACE
        if recorded.get("namespace") and namespace != recorded["namespace"]:
            raise UsageError(
                f"lake {self.root} keeps its tables in namespace {recorded['namespace']}, "
                f"not {namespace}"
            )
        return CatalogConfig(kind, given.uri or recorded.get("uri"), namespace)

    @property
    def namespace(self) -> str:
        return self.catalog_config().namespace or NAMESPACE

    def identifier(self, table_name: str) -> str:
        """A logical table name (``trailwise.events``) in this lake's namespace."""
        return f"{self.namespace}.{table_name.rsplit('.', 1)[-1]}"

    # -- Iceberg --------------------------------------------------------------------------
    def catalog(self) -> Any:
        if self._catalog is None:
            from pyiceberg.catalog import load_catalog

            config = self.catalog_config()
            props: dict[str, str] = {"type": config.kind or "sql", "warehouse": self.warehouse()}
            if config.kind == "sql":
                if config.uri:
                    props["uri"] = config.uri
                elif self.is_local:
                    props["uri"] = f"sqlite:///{self.catalog_path}"
                elif not _configured().get("uri"):
                    raise UsageError(
                        f"lake {self.root}: a sql catalog of an S3 lake needs --catalog-uri",
                        hint="pass --catalog glue, or --catalog-uri with a shared database URL",
                    )
            elif config.uri:
                props["uri"] = config.uri
            if not self.is_local:
                props |= self.store.io_properties()  # type: ignore[attr-defined]
            # pyiceberg reads its environment once, at import: merged here, the settings in
            # force are those of now (flags still win).
            props = {k: str(v) for k, v in _configured().items() if k != "type"} | props
            try:
                self._catalog = load_catalog("trailwise", **props)
            except (ValueError, ImportError, OSError) as exc:  # requests' errors are OSErrors
                raise LakeError(
                    f"cannot open the {config.kind} catalog of {self.root}: {exc}"
                ) from None
        return self._catalog

    def load(self, table_name: str) -> Any:
        """A table of the lake by its logical name."""
        return self.catalog().load_table(self.identifier(table_name))

    def create(self) -> Lake:
        """Create the lake's format file, namespace and tables if missing."""
        if self.is_local:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise LakeError(
                    f"cannot create lake directory {self.root}: {exc.strerror}"
                ) from exc
        catalog = self.catalog()
        if not self.format():
            self._write_format()
        catalog.create_namespace_if_not_exists(self.namespace)
        for name, arrow_schema in (TABLES | STATE_TABLES).items():
            identifier = self.identifier(name)
            if not catalog.table_exists(identifier):
                location = f"{self.warehouse()}/{self.namespace}/{name.rsplit('.', 1)[-1]}"
                create_table(catalog, identifier, arrow_schema, location)
            else:
                table = catalog.load_table(identifier)
                add_missing_columns(table, arrow_schema)
                upgrade_properties(table)
        return self

    def _write_format(self) -> None:
        """``state/format.json``: this format version and the lake's catalog."""
        config = self.catalog_config()
        record = {"type": config.kind, "namespace": config.namespace}
        if uri := _without_secret(config.uri):
            record["uri"] = uri
        fmt = {"format_version": FORMAT_VERSION, "catalog": record}
        self.store.write(FORMAT_KEY, orjson.dumps(fmt))
        self._format = fmt

    def events_table(self) -> Any:
        return self.load(EVENTS_TABLE)

    def data_dir(self, table_name: str) -> str:
        """Where a table's data files go (``data/`` of its location): a local path or URI."""
        location = local_path(self.load(table_name).metadata.location)
        return f"{location}/data"

    def has_table(self, table_name: str) -> bool:
        """Whether the lake has ``table_name`` (a lake of an older trailwise may lack one until
        its next ingest creates it)."""
        return self.exists() and bool(self.catalog().table_exists(self.identifier(table_name)))

    def mixes_schemas(self, table_name: str) -> bool:
        """Whether the table's schema gained columns, so that its older data files lack them:
        readers then match columns by name (DuckDB's ``union_by_name``)."""
        return self.has_table(table_name) and len(self.load(table_name).metadata.schemas) > 1

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

    def data_files(self, table_name: str = EVENTS_TABLE, row_filter: Any = None) -> list[str]:
        """Every data file of a table's current snapshot (local paths or URIs), sorted."""
        if not self.has_table(table_name):
            return []
        scan = self.load(table_name).scan(**({"row_filter": row_filter} if row_filter else {}))
        return sorted(local_path(t.file.file_path) for t in scan.plan_files())

    # -- state ----------------------------------------------------------------------------
    def known_objects(self, listed: pa.Table) -> set[tuple[str, str]]:
        """Which of the ``(uri, fingerprint)`` pairs in ``listed`` earlier runs recorded.

        Only the record files whose URI range meets the listed URIs' are read (Iceberg keeps
        each file's bounds): a run lists recent day prefixes, so years of records cost little.
        """
        if listed.num_rows == 0 or not self.exists():
            return set()
        files = self.record_files(listed.column("uri").to_pylist())
        if not files:
            return set()
        con = duckdb_connect()
        try:
            con.register("listed", listed)
            rows = con.execute(_sql("known_objects"), {"files": files}).fetchall()
        finally:
            con.close()
        return {(str(u), str(f)) for u, f in rows}

    def record_files(self, uris: list[str]) -> list[str]:
        """The object-record files that may hold any of ``uris``: those whose URI bounds meet
        the range of ``uris`` (and a format-1 lake's record files)."""
        files = self._legacy_files(_LEGACY_OBJECTS, ".parquet")
        if uris and self.has_table(OBJECTS_TABLE):
            from pyiceberg.expressions import And, GreaterThanOrEqual, LessThanOrEqual

            files += self.data_files(
                OBJECTS_TABLE,
                And(
                    GreaterThanOrEqual("uri", min(uris)),  # type: ignore[call-arg, arg-type]
                    LessThanOrEqual("uri", max(uris)),  # type: ignore[call-arg, arg-type]
                ),
            )
        return files

    def record_objects(self, run_id: str, rows: list[dict[str, Any]] | pa.Table) -> None:
        """Commit this run's object records; called only after the data commit."""
        if len(rows) == 0:
            return
        table = (
            rows
            if isinstance(rows, pa.Table)
            else pa.Table.from_pylist(rows, schema=OBJECTS_SCHEMA)
        )
        self.append_state(OBJECTS_TABLE, table.sort_by("uri"), run_id)

    def append_state(
        self, table_name: str, rows: pa.Table, run_id: str, *, leased: bool = True
    ) -> None:
        """Append rows to a state table in one commit (its manifests merged as they grow);
        ``leased``: only while this run's lease holds (a log line needs none)."""
        if leased:
            self.check_lease()
        table = self.load(table_name)
        with (
            table.transaction() as tx,
            tx.update_snapshot(
                snapshot_properties={"trailwise.run-id": run_id}
            ).merge_append() as append,
        ):
            from pyiceberg.io.pyarrow import _dataframe_to_data_files

            for data_file in _dataframe_to_data_files(
                tx.table_metadata, rows, table.io, write_uuid=append.commit_uuid
            ):
                append.append_data_file(data_file)

    def append_run(self, *records: dict[str, Any]) -> None:
        """Commit runs' summaries to the run log, in one commit."""
        logged = time.time_ns()
        rows = [
            {
                "run_id": record.get("run_id"),
                "command": record.get("command"),
                "started_at": record.get("started_at"),
                "finished_at": record.get("finished_at"),
                "logged_ns": logged + n,  # keeps the records' order
                "record": orjson.dumps(record).decode(),
            }
            for n, record in enumerate(records)
        ]
        self.append_state(
            RUNS_TABLE,
            pa.Table.from_pylist(rows, schema=RUNS_SCHEMA),
            str(rows[-1]["run_id"]),
            leased=False,
        )

    def _legacy_runs(self) -> list[dict[str, Any]]:
        """A format-1 lake's ``runs.jsonl``; a torn last line (crash mid-write) is left out."""
        out = []
        legacy = self.store.read(_LEGACY_RUNS) if self.is_local else None
        for line in (legacy or b"").splitlines():
            try:
                out.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                continue
        return out

    def runs(self) -> list[dict[str, Any]]:
        """The run log, oldest first (a format-1 lake's ``runs.jsonl`` first), each run once
        (a migration that died before removing ``runs.jsonl`` committed its lines twice)."""
        out = self._legacy_runs()
        if self.has_table(RUNS_TABLE):
            rows = self.load(RUNS_TABLE).scan(selected_fields=("logged_ns", "record")).to_arrow()
            out += [
                orjson.loads(text)
                for text in rows.sort_by("logged_ns").column("record").to_pylist()
            ]
        firsts: dict[Any, dict[str, Any]] = {}
        for record in out:
            firsts.setdefault(record.get("run_id"), record)
        return list(firsts.values())

    def _legacy_files(self, key: str, suffix: str) -> list[str]:
        if not self.is_local:
            return []
        return sorted(
            f.uri
            for f in self.store.list(key)
            if f.uri.endswith(suffix) and not Path(f.uri).name.startswith(".")
        )

    def migrate_state(self) -> None:
        """Move a format-1 lake's state files into the state tables (the caller holds the
        lock). Each is committed before its file goes: a crash in between leaves records
        twice, which lookups and :meth:`runs` already tolerate."""
        if self.format().get("format_version", 1) == FORMAT_VERSION:
            return
        files = self._legacy_files(_LEGACY_OBJECTS, ".parquet")
        if files:
            import pyarrow.parquet as pq

            merged = pa.concat_tables(pq.read_table(f).cast(OBJECTS_SCHEMA) for f in files)
            self.record_objects("format-1", merged)
            for f in files:
                Path(f).unlink()
        if legacy_runs := self._legacy_runs():
            self.append_run(*legacy_runs)
        self.store.remove(_LEGACY_RUNS)
        self._write_format()

    # -- locking and cleanup --------------------------------------------------------------
    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the lake's write lock; a second writer fails at once with who holds it.

        A local lake: flock, released by the kernel when the holder dies, even by SIGKILL, so
        a stale lock file never blocks the next run. An S3 lake: a lease (:mod:`.lease`)."""
        if not self.is_local:
            with Lease(self.store) as lease:
                self._lease = lease
                try:
                    yield
                finally:
                    self._lease = None
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / ".lock"
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

    def check_lease(self) -> None:
        """Before a commit: fail if this run's S3 lease is no longer its own."""
        if self._lease is not None:
            self._lease.check()

    def sweep_unfinished(self) -> None:
        """Remove what runs that died left behind: staging, and quarantine of unlogged runs."""
        shutil.rmtree(self.staging_dir, ignore_errors=True)
        quarantined = list(self.store.list(self.quarantine_key))
        if not quarantined:
            return
        base = self.store.uri(self.quarantine_key) + "/"
        run_of = {q.uri: q.uri.removeprefix(base).split("/", 1)[0] for q in quarantined}
        # A run that recorded its objects but died before its log line keeps its quarantine:
        # the records point there.
        keep = {r.get("run_id") for r in self.runs()} | self._recorded_runs(set(run_of.values()))
        for uri, run_id in run_of.items():
            if run_id not in keep:
                self.store.delete(uri)
        if self.is_local:
            for run_dir in Path(base).iterdir():
                if run_dir.is_dir() and run_dir.name not in keep:
                    shutil.rmtree(run_dir, ignore_errors=True)

    def _recorded_runs(self, run_ids: set[str]) -> set[str]:
        """Which of ``run_ids`` recorded objects."""
        legacy = {Path(f).stem for f in self._legacy_files(_LEGACY_OBJECTS, ".parquet")}
        if not run_ids or not self.has_table(OBJECTS_TABLE):
            return legacy & run_ids
        from pyiceberg.expressions import In

        rows = (
            self.load(OBJECTS_TABLE)
            .scan(
                row_filter=In("run_id", run_ids),  # type: ignore[call-arg, arg-type]
                selected_fields=("run_id",),
            )
            .to_arrow()
        )
        return (legacy | set(rows.column("run_id").to_pylist())) & run_ids


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
