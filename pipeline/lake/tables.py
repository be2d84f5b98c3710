"""The lake's Iceberg tables: their names, schemas and how they are created.

``events`` holds one row per event (columns in :mod:`trailwise.pipeline.decode.schema`);
``event_actions`` the IAM actions each event exercised, derived from it (:mod:`.actions`);
``aggregated_events`` CloudTrail's 5-minute summaries of data events
(:mod:`trailwise.pipeline.decode.aggregated`). All are partitioned by the UTC day of
``event_time`` (an aggregated record's window start).

The lake's state is in Iceberg too, so that it is committed by the same atomic swap and read by
the same engines: ``ingested_objects`` (:data:`OBJECTS_SCHEMA`) the objects each run read, and
``runs`` (:data:`RUNS_SCHEMA`) what each run did. Names here are logical (``trailwise.events``);
a lake maps them into its own namespace (``--namespace``).
"""

from __future__ import annotations

import contextlib
from typing import Any

import pyarrow as pa

from trailwise.pipeline.decode.aggregated import AGGREGATED_SCHEMA
from trailwise.pipeline.decode.schema import EVENTS_SCHEMA

NAMESPACE = "trailwise"
EVENTS_TABLE = f"{NAMESPACE}.events"
ACTIONS_TABLE = f"{NAMESPACE}.event_actions"
AGGREGATED_TABLE = f"{NAMESPACE}.aggregated_events"
OBJECTS_TABLE = f"{NAMESPACE}.ingested_objects"
RUNS_TABLE = f"{NAMESPACE}.runs"

S = pa.string()
ACTIONS_SCHEMA = pa.schema(
    [
        ("event_id", S),
        ("recipient_account_id", S),
        ("event_time", pa.timestamp("us")),
        ("principal_arn", S),
        ("event_source", S),
        ("event_name", S),
        ("classification", S),  # iam_action | permissionless | not_iam | service_event | unknown
        ("action", S),  # null unless classification is iam_action
        ("resource_arn", S),
        ("is_authorized", pa.bool_()),  # null when the event is no permission check of the caller
        ("inferred_from", S),
        ("error_code", S),
        ("denied_action", S),
        ("denied_resource", S),
        ("denied_by", S),  # the policy type named by the error message
        ("is_explicit_deny", pa.bool_()),
        ("reason", S),
        ("mapping_version", S),
    ]
)

OBJECTS_SCHEMA = pa.schema(
    [
        ("uri", pa.string()),
        ("fingerprint", pa.string()),
        ("size", pa.int64()),
        ("kind", pa.string()),
        ("reason", pa.string()),
        ("records_in", pa.int64()),
        ("events_written", pa.int64()),
        ("duplicates", pa.int64()),
        ("records_quarantined", pa.int64()),
        ("run_id", pa.string()),
        ("ingested_at", pa.timestamp("us", tz="UTC")),
    ]
)

RUNS_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("command", pa.string()),
        ("started_at", pa.string()),
        ("finished_at", pa.string()),
        ("logged_ns", pa.int64()),  # when the line was committed (ns since the epoch): the order
        ("record", pa.string()),  # the run's whole summary, as JSON
    ]
)

# The deduplicated tables: pyiceberg would retry a commit that lost a race by appending the
# same files onto the new snapshot, duplicates and all; trailwise's commit retries itself, after
# deduplicating against what the other writer added (:mod:`trailwise.pipeline.ingest.commit`).
NO_BLIND_RETRY = {"commit.retry.num-retries": "0"}

TABLE_PROPERTIES = {
    "write.parquet.compression-codec": "zstd",
    "write.parquet.compression-level": "3",
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "20",
    "commit.manifest-merge.enabled": "true",
}


def create_table(catalog: Any, identifier: str, arrow_schema: pa.Schema, location: str) -> None:
    """An Iceberg table of ``arrow_schema`` at ``location``: partitioned by day(event_time)
    when it has that column (the event tables), unpartitioned otherwise (the state tables).
    A table another runner created a moment earlier is no error."""
    from pyiceberg.exceptions import TableAlreadyExistsError
    from pyiceberg.io.pyarrow import pyarrow_to_schema
    from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC, PartitionField, PartitionSpec
    from pyiceberg.table.name_mapping import MappedField, NameMapping
    from pyiceberg.transforms import DayTransform

    # pyiceberg's pydantic models confuse mypy's view of these constructors.
    mapping = NameMapping(
        [
            MappedField(field_id=i + 1, names=[f.name])  # type: ignore[call-arg]
            for i, f in enumerate(arrow_schema)
        ]
    )
    schema = pyarrow_to_schema(arrow_schema, name_mapping=mapping)
    spec = UNPARTITIONED_PARTITION_SPEC
    if "event_time" in arrow_schema.names:
        spec = PartitionSpec(
            PartitionField(
                source_id=schema.find_field("event_time").field_id,
                field_id=1000,
                transform=DayTransform(),
                name="event_date",
            )
        )
    with contextlib.suppress(TableAlreadyExistsError):
        catalog.create_table(
            identifier,
            schema=schema,
            partition_spec=spec,
            location=location,
            properties=TABLE_PROPERTIES | own_properties(identifier),
        )


TABLES: dict[str, pa.Schema] = {
    EVENTS_TABLE: EVENTS_SCHEMA,
    ACTIONS_TABLE: ACTIONS_SCHEMA,
    AGGREGATED_TABLE: AGGREGATED_SCHEMA,
}
STATE_TABLES: dict[str, pa.Schema] = {OBJECTS_TABLE: OBJECTS_SCHEMA, RUNS_TABLE: RUNS_SCHEMA}


def own_properties(identifier: str) -> dict[str, str]:
    """The properties a table (in any namespace) has beyond TABLE_PROPERTIES."""
    name = identifier.rsplit(".", 1)[-1]
    if name in (EVENTS_TABLE.rsplit(".", 1)[-1], AGGREGATED_TABLE.rsplit(".", 1)[-1]):
        return NO_BLIND_RETRY
    if name == OBJECTS_TABLE.rsplit(".", 1)[-1]:
        # Whole URIs as each file's bounds (not 16 characters, all alike: "s3://bucket/AWSLo"),
        # so that a run's lookup reads only the record files its listing's URI range meets.
        return {"write.metadata.metrics.column.uri": "full"}
    return {}


def upgrade_properties(table: Any) -> None:
    """Give a table of an older trailwise the properties it lacks (one commit, when any)."""
    wanted = own_properties(".".join(table.name()))
    missing = {k: v for k, v in wanted.items() if table.properties.get(k) != v}
    if missing:
        with table.transaction() as tx:
            tx.set_properties(**missing)


def add_missing_columns(table: Any, arrow_schema: pa.Schema) -> None:
    """Give a table of an older trailwise the columns it lacks (nullable, appended; its data
    files keep theirs, and readers see nulls there). Nothing is committed when none is missing."""
    have = set(table.schema().column_names)
    missing = [field for field in arrow_schema if field.name not in have]
    if not missing:
        return
    from pyiceberg.io.pyarrow import pyarrow_to_schema
    from pyiceberg.table.name_mapping import MappedField, NameMapping

    # Temporary ids for the conversion; union_by_name assigns the table's next ones.
    mapping = NameMapping(
        [
            MappedField(field_id=i + 1, names=[f.name])  # type: ignore[call-arg]
            for i, f in enumerate(missing)
        ]
    )
    with table.update_schema() as update:
        update.union_by_name(pyarrow_to_schema(pa.schema(missing), name_mapping=mapping))
