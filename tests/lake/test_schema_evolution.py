"""A lake written before the events table gained columns keeps working: its next ingest adds the
columns (and the aggregated table), its old files read as null there, and compact merges old and
new files without losing a value."""

from __future__ import annotations

import json

import orjson
import pyarrow.parquet as pq

from tests.given import an_event, given_delivery_file
from trailwise.pipeline import api
from trailwise.pipeline.decode import decode_bytes
from trailwise.pipeline.decode.schema import DELEGATION, EVENTS_SCHEMA
from trailwise.pipeline.lake import ACTIONS_TABLE, AGGREGATED_TABLE, EVENTS_TABLE, Lake
from trailwise.pipeline.lake.io import local_path, write_atomic
from trailwise.pipeline.lake.tables import ACTIONS_SCHEMA, create_table

NEW_COLUMNS = [spec[0] for spec in DELEGATION]


def given_a_lake_of_an_older_trailwise(root, event):
    """The events table without the DELEGATION columns, no aggregated table, one data file."""
    lake = Lake(root)
    write_atomic(lake.folder / "state" / "format.json", orjson.dumps({"format_version": 1}))
    catalog = lake.catalog()
    catalog.create_namespace_if_not_exists("trailwise")
    old_schema = EVENTS_SCHEMA.remove(EVENTS_SCHEMA.get_field_index(NEW_COLUMNS[0]))
    for name in NEW_COLUMNS[1:]:
        old_schema = old_schema.remove(old_schema.get_field_index(name))
    for name, schema in ((EVENTS_TABLE, old_schema), (ACTIONS_TABLE, ACTIONS_SCHEMA)):
        create_table(catalog, name, schema, f"{lake.warehouse()}/{name.replace('.', '/')}")
    decoded = decode_bytes(json.dumps({"Records": [event]}).encode(), "old.json", "file:///old")
    rows = decoded.table().select(old_schema.names)
    table = lake.events_table()
    path = f"{local_path(table.metadata.location)}/data/event_date=2026-11-02/old.parquet"
    (lake.folder / path).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(rows, path)
    table.add_files([f"file://{path}"])
    return lake


def test_an_older_lake_gains_the_new_columns_and_reads_its_old_files_as_null(tmp_path):
    old_event = an_event()
    lake = given_a_lake_of_an_older_trailwise(tmp_path / "lake", old_event)
    assert not lake.has_table(AGGREGATED_TABLE)
    # Before any write, queries already see every column (as null for the old file).
    before = api.run_sql("select on_behalf_of_user_id from events", lake.root).to_pylist()
    assert before == [{"on_behalf_of_user_id": None}]
    identity = an_event()["userIdentity"] | {"onBehalfOf": {"userId": "user-a"}}
    new_event = an_event(userIdentity=identity)
    given_delivery_file(tmp_path / "logs", [new_event])
    summary = api.ingest([str(tmp_path / "logs")], lake.root)
    assert summary.events_written == 1
    assert lake.has_table(AGGREGATED_TABLE) and lake.mixes_schemas(EVENTS_TABLE)
    rows = api.run_sql(
        "select event_id, on_behalf_of_user_id from events order by event_id", lake.root
    ).to_pylist()
    assert rows == [
        {"event_id": old_event["eventID"], "on_behalf_of_user_id": None},
        {"event_id": new_event["eventID"], "on_behalf_of_user_id": "user-a"},
    ]
    assert api.run_named("identity_paths", lake.root).num_rows > 0
    # Both files are of one day: compact rewrites them as one, values kept.
    compacted = api.compact(lake.root)
    assert (compacted.files_before, compacted.files_after) == (2, 1)
    assert (
        api.run_sql(
            "select event_id, on_behalf_of_user_id from events order by event_id", lake.root
        ).to_pylist()
        == rows
    )
