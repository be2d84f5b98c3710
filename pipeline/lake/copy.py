"""Copying a whole lake to another place: a folder, an S3 prefix, from either to either.

Iceberg metadata names every file by its absolute URI, so a lake's bytes copied elsewhere would
still point at the old place. A copy makes the metadata anew instead: for each table, the
current snapshot's data files are streamed to the same path under the destination's table
location (through both stores' pyarrow filesystems, a chunk at a time); the table is created in
the destination's catalog with the source's partition spec, properties and schema, its history
replayed so that the field ids are the ones the data files carry; and the copied files are
registered in one commit. Their Iceberg entries are the source's own with the new path: the
bytes are the same, so are the statistics, and nothing is read back. Quarantined input and IAM
snapshots are files outside Iceberg that name nothing by path; they are copied as they are.
Snapshot history is not copied: each table of the destination starts at one snapshot, whose
properties name the source.

Both lakes are locked throughout: the source so that no run commits (and no ``compact``
deletes a file) mid-copy, the destination so that no run starts in a half-made lake.

What a SIGKILL leaves, right after:

- a data, quarantine or IAM file copied: the destination has no tables and no format file, so
  it is no lake; the next copy into it writes the same files again.
- a table created, or its files committed: the destination's catalog holds tables, so the next
  copy refuses it. Remove the destination (and, in a Glue, REST or shared SQL catalog, its
  tables) and copy again.
- the format file written, last: the destination is a whole lake.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from trailwise.pipeline.errors import LakeError
from trailwise.pipeline.lake.io import iceberg_uri, local_path
from trailwise.pipeline.lake.lake import FORMAT_VERSION, Lake
from trailwise.pipeline.lake.store import Store
from trailwise.pipeline.lake.tables import STATE_TABLES, TABLES

CHUNK = 8 << 20  # bytes read and written at a time
THREADS = 8  # files copied at once (object stores reward parallel requests)
PLAIN_FILES = ("quarantine", "iam")  # copied as they are
COPIED_FROM = "trailwise.copied-from"


@dataclass
class Copied:
    """What was copied of one table (rows counted) or one folder of plain files."""

    name: str
    files: int = 0
    rows: int = 0
    bytes: int = 0


@dataclass
class CopyResult:
    source: str
    destination: str
    catalog: str
    namespace: str
    tables: list[Copied] = field(default_factory=list)
    folders: list[Copied] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def files(self) -> int:
        return sum(c.files for c in self.tables + self.folders)

    @property
    def rows(self) -> int:
        return sum(c.rows for c in self.tables)

    @property
    def bytes(self) -> int:
        return sum(c.bytes for c in self.tables + self.folders)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"files": self.files, "rows": self.rows, "bytes": self.bytes}


@dataclass(frozen=True)
class _Transfer:
    source: str  # URIs of each store (a local path, or s3://)
    destination: str
    size: int  # what the source's metadata (or listing) says the file holds


@dataclass
class _TablePlan:
    name: str
    table: Any  # the source's pyiceberg table
    location: str  # the destination table's location (an Iceberg URI)
    entries: list[tuple[Any, str]]  # (the source's DataFile, the copy's Iceberg URI)


def copy_lake(source: Lake, destination: Lake) -> CopyResult:
    """Copy ``source`` to ``destination``, a place that holds no lake (see the module).

    Raises:
        LakeError: the source is no lake (or a format-1 one), the destination already holds a
            lake or its catalog already holds the tables, the two overlap, or a file cannot be
            copied.
        UsageError: the destination's catalog cannot be used there (a sql catalog of an S3
            lake without ``--catalog-uri``).
    """
    started = time.perf_counter()
    source.require()
    if source.format().get("format_version", 1) != FORMAT_VERSION:
        raise LakeError(
            f"lake {source.root} keeps its state in format-1 files",
            hint="run 'trailwise compact' on it first, which moves them into its tables",
        )
    _refuse_overlap(source, destination)
    _refuse_a_lake(destination)
    config = destination.catalog_config()
    result = CopyResult(source.root, destination.root, config.kind or "sql", destination.namespace)
    with source.lock(), destination.lock():
        _refuse_a_lake(destination)  # made while we waited for the locks
        plans = [p for name in TABLES | STATE_TABLES if (p := _plan(source, destination, name))]
        transfers: list[_Transfer] = []
        for plan in plans:
            result.tables.append(_table_transfers(plan, transfers))
        for folder in PLAIN_FILES:
            result.folders.append(_folder_transfers(source, destination, folder, transfers))
        _copy_all(source.store, destination.store, transfers)
        for plan in plans:
            _register(source, destination, plan)
        destination.create()  # the format file, last; and any table the source lacked
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _table_transfers(plan: _TablePlan, transfers: list[_Transfer]) -> Copied:
    """Add a table's data files to ``transfers``; what they hold."""
    copied = Copied(plan.name.rsplit(".", 1)[-1])
    for entry, uri in plan.entries:
        size = entry.file_size_in_bytes
        transfers.append(_Transfer(local_path(entry.file_path), local_path(uri), size))
        copied.files += 1
        copied.rows += entry.record_count
        copied.bytes += size
    return copied


def _folder_transfers(
    source: Lake, destination: Lake, folder: str, transfers: list[_Transfer]
) -> Copied:
    """Add every file under a folder of the source to ``transfers``, to the same key."""
    base = source.store.uri(folder) + "/"
    copied = Copied(folder)
    for listed in sorted(source.store.list(folder), key=lambda f: f.uri):
        key = f"{folder}/{listed.uri.removeprefix(base)}"
        transfers.append(_Transfer(listed.uri, destination.store.uri(key), listed.size))
        copied.files += 1
        copied.bytes += listed.size
    return copied


def _refuse_overlap(source: Lake, destination: Lake) -> None:
    a, b = source.root.rstrip("/") + "/", destination.root.rstrip("/") + "/"
    if a.startswith(b) or b.startswith(a):
        raise LakeError(
            f"cannot copy {source.root} to {destination.root}: one is inside the other",
            hint="copy to a place outside the lake",
        )


def _refuse_a_lake(destination: Lake) -> None:
    """Fail when the destination holds a lake, or its catalog already holds its tables."""
    if destination.exists():
        raise LakeError(
            f"{destination.root} already holds a trailwise lake",
            hint="copy to a new place, or remove that lake first",
        )
    config = destination.catalog_config()
    if destination.is_local and config.kind == "sql" and not config.uri:
        return  # its own SQLite catalog, which does not exist yet (else it would be a lake)
    catalog = destination.catalog()
    for name in TABLES | STATE_TABLES:
        identifier = destination.identifier(name)
        if catalog.table_exists(identifier):
            raise LakeError(
                f"the {config.kind} catalog already holds a table {identifier}",
                hint="pass another --namespace, or drop that lake's tables first",
            )


def _plan(source: Lake, destination: Lake, name: str) -> _TablePlan | None:
    """Where each data file of a source table goes; None when the source lacks the table."""
    if not source.has_table(name):
        return None
    table = source.load(name)
    identifier = source.identifier(name)
    if table.format_version != 2:
        raise LakeError(f"{identifier} is an Iceberg v{table.format_version} table; copy needs v2")
    if not _ids_survive_creation(table):
        raise LakeError(f"{identifier}: a new table cannot keep its column ids, so copy cannot")
    short = name.rsplit(".", 1)[-1]
    src_location = local_path(table.metadata.location).rstrip("/") + "/"
    location = f"{destination.warehouse()}/{destination.namespace}/{short}"
    entries = []
    for task in table.scan().plan_files():
        if task.delete_files:
            raise LakeError(f"{identifier} has delete files, which copy does not carry over")
        path = local_path(task.file.file_path)
        if not path.startswith(src_location):
            raise LakeError(f"{path} lies outside the location of {identifier}")
        relative = path.removeprefix(src_location)
        entries.append((task.file, iceberg_uri(f"{local_path(location)}/{relative}")))
    return _TablePlan(name, table, location, sorted(entries, key=lambda e: e[1]))


def _copy_all(source: Store, destination: Store, transfers: list[_Transfer]) -> None:
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for transfer, copied in zip(
            transfers,
            pool.map(lambda t: _copy_file(source, destination, t), transfers),
            strict=True,
        ):
            if copied != transfer.size:
                raise LakeError(
                    f"copied {copied} bytes of {transfer.source}, whose metadata says "
                    f"{transfer.size}: the source changed underneath the lock?"
                )


def _copy_file(source: Store, destination: Store, transfer: _Transfer) -> int:
    """Stream one file from ``source`` to ``destination``; the bytes copied."""
    copied = 0
    try:
        destination.make_parent(transfer.destination)
        # compression=None: pyarrow would otherwise inflate a quarantined .gz file on the way.
        with (
            source.filesystem().open_input_stream(
                source.fs_path(transfer.source), compression=None
            ) as reader,
            destination.filesystem().open_output_stream(
                destination.fs_path(transfer.destination), compression=None
            ) as writer,
        ):
            while chunk := reader.read(CHUNK):
                writer.write(chunk)
                copied += len(chunk)
    except OSError as exc:
        raise LakeError(
            f"cannot copy {transfer.source} to {transfer.destination}: {exc.strerror or exc}"
        ) from None
    return copied


def _register(source: Lake, destination: Lake, plan: _TablePlan) -> None:
    """Create the destination's table like the source's and commit the copied files."""
    from pyiceberg.manifest import DATA_FILE_TYPE, DataFile

    catalog = destination.catalog()
    catalog.create_namespace_if_not_exists(destination.namespace)
    src = plan.table
    first, *later = _schema_history(src)
    table = catalog.create_table(
        destination.identifier(plan.name),
        schema=first,
        partition_spec=src.spec(),
        sort_order=src.sort_order(),
        location=plan.location,
        properties=dict(src.properties) | {"format-version": str(src.format_version)},
    )
    # The schema's history is replayed, not just its last state: readers match columns by name
    # only in a table whose schema changed (Lake.mixes_schemas), and older files lack columns.
    for schema in later:
        with table.update_schema() as update:
            update.union_by_name(schema)
    if _ids(table.schema()) != _ids(src.schema()):
        raise LakeError(
            f"{destination.identifier(plan.name)}: the copy's column ids differ from the "
            "source's, so its files cannot be registered",
            hint=f"remove {destination.root} (and its tables) and report this",
        )
    if not plan.entries:
        return
    snapshot = src.current_snapshot()
    properties = {
        COPIED_FROM: source.root,
        "trailwise.source-snapshot-id": str(snapshot.snapshot_id if snapshot else ""),
    }
    names = [f.name for f in DATA_FILE_TYPE[2].fields]
    destination.check_lease()
    with (
        table.transaction() as tx,
        tx.update_snapshot(snapshot_properties=properties).fast_append() as append,
    ):
        for entry, uri in plan.entries:
            moved = DataFile.from_args(**{n: getattr(entry, n) for n in names} | {"file_path": uri})
            moved.spec_id = entry.spec_id
            append.append_data_file(moved)


def _schema_history(table: Any) -> list[Any]:
    """The table's schemas, oldest first."""
    return sorted(table.metadata.schemas, key=lambda schema: schema.schema_id)


def _ids(schema: Any) -> list[tuple[str, int]]:
    return [(f.name, f.field_id) for f in schema.fields]


def _ids_survive_creation(table: Any) -> bool:
    """Whether a table created with this table's first schema and its spec gets the same column
    and partition field ids. pyiceberg numbers a new table's fields afresh, in order (and each
    added column next), which is how trailwise always made them; but the copied files and their
    statistics carry the source's ids, so any other numbering would misread them."""
    from pyiceberg.partitioning import assign_fresh_partition_spec_ids
    from pyiceberg.schema import assign_fresh_schema_ids

    first, spec = _schema_history(table)[0], table.spec()
    fresh = assign_fresh_schema_ids(first)
    fresh_spec = assign_fresh_partition_spec_ids(spec, first, fresh)
    return _ids(fresh) == _ids(first) and [
        (f.source_id, f.field_id) for f in fresh_spec.fields
    ] == [(f.source_id, f.field_id) for f in spec.fields]
