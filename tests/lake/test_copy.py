"""trailwise lake copy: a whole lake in another place (a folder, S3 with Glue, and back), its
Iceberg metadata made for that place, every answer the same."""

from __future__ import annotations

import shutil
import uuid

import orjson
import pytest

from tests.given import PROD_SNAPSHOT, an_event, given_delivery_file
from trailwise.pipeline.lake import Lake
from trailwise.pipeline.lake.copy import COPIED_FROM
from trailwise.pipeline.lake.tables import STATE_TABLES, TABLES

ROOT = {
    "type": "Root",
    "principalId": "111122223333",
    "arn": "arn:aws:iam::111122223333:root",
    "accountId": "111122223333",
}
STATUS_KEYS = (
    "events",
    "data_files",
    "data_bytes",
    "days",
    "accounts",
    "regions",
    "first_event_at",
    "last_event_at",
    "aggregated_events",
    "action_rows",
    "runs",
    "quarantined_files",
)
VIEWS = ("events", "event_actions", "aggregated_events", "iam_principals", "iam_grants")
COUNTS = "select " + ", ".join(f"(select count(*) from {view}) as {view}" for view in VIEWS)


def given_a_lake_with_quarantine(cli, tmp_path, lake, *, iam=False):
    """Two runs of events, one with a broken file (quarantined), and with ``iam`` an IAM
    snapshot; the folders of logs."""
    logs = tmp_path / "logs"
    given_delivery_file(logs, [an_event(), an_event(eventName="GetObject")])
    given_delivery_file(logs, [an_event(userIdentity=ROOT)], day="2026/11/03")
    broken = given_delivery_file(logs, [an_event()], region="eu-west-1")
    broken.write_bytes(broken.read_bytes()[:-12])
    assert cli("ingest", logs, "--lake", lake).exit_code == 2  # 2: some input quarantined
    given_delivery_file(tmp_path / "later", [an_event(eventName="PutObject")], day="2026/11/04")
    cli.json("ingest", tmp_path / "later", "--lake", lake)
    if iam:
        cli.json("iam", "load", PROD_SNAPSHOT, "--lake", lake)
    return [logs, tmp_path / "later"]


def answers(cli, *lake):
    """What a user asks of a lake: status, counts, and a named query's rows."""
    status = cli.json("status", *lake)
    return {
        "status": {key: status.get(key) for key in STATUS_KEYS},
        "counts": cli.json("query", "--sql", COUNTS, *lake)[0],
        "root_activity": cli.json("query", "root_activity", *lake),
        "lake_summary": cli.json("query", "lake_summary", *lake),
    }


def paths_in_metadata(lake):
    """Every path the lake's Iceberg metadata names: table and metadata locations, manifest
    lists, manifests, data files."""
    paths = []
    for name in TABLES | STATE_TABLES:
        table = lake.load(name)
        paths += [table.metadata.location, table.metadata_location]
        paths += [log.metadata_file for log in table.metadata.metadata_log]
        for snapshot in table.metadata.snapshots:
            paths.append(snapshot.manifest_list)
            for manifest in snapshot.manifests(table.io):
                paths.append(manifest.manifest_path)
                paths += [e.data_file.file_path for e in manifest.fetch_manifest_entry(table.io)]
    return paths


def copy(cli, *args):
    result = cli("lake", "copy", *args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return orjson.loads(result.stdout)


def test_a_copy_in_another_folder_answers_as_its_source_after_the_source_is_gone(cli, tmp_path):
    source, target = tmp_path / "source", tmp_path / "copy"
    given_a_lake_with_quarantine(cli, tmp_path, source, iam=True)
    before = answers(cli, "--lake", source)
    summary = copy(cli, source, target)
    tables = {t["name"]: t for t in summary["tables"]}
    assert tables["events"]["rows"] == before["status"]["events"] == 4
    assert tables["runs"]["rows"] == before["status"]["runs"] == 2
    folders = {f["name"]: f for f in summary["folders"]}
    assert folders["quarantine"]["files"] >= 2  # the broken file and its reason
    assert folders["iam"]["files"] >= 9  # a snapshot's tables, its manifest, observable actions
    shutil.rmtree(source)
    assert answers(cli, "--lake", target) == before
    assert before["root_activity"] and before["counts"]["iam_principals"] > 0


def test_nothing_in_the_copy_s_metadata_points_at_the_source(cli, tmp_path):
    source, target = tmp_path / "source", tmp_path / "copy"
    given_a_lake_with_quarantine(cli, tmp_path, source)
    copy(cli, source, target)
    paths = paths_in_metadata(Lake(target))
    assert paths and all(p.startswith(f"file://{target}/warehouse/") for p in paths)
    assert str(source) not in (target / "catalog.db").read_bytes().decode("latin-1")
    for manifest in (target / "warehouse").rglob("metadata/*.avro"):
        assert str(source).encode() not in manifest.read_bytes()
    events = Lake(target).load("trailwise.events")
    assert events.current_snapshot().summary[COPIED_FROM] == str(source)  # named, not used
    recorded = orjson.loads((target / "state" / "format.json").read_bytes())
    assert recorded["catalog"] == {"type": "sql", "namespace": "trailwise"}


def test_the_next_ingest_into_a_copy_skips_what_the_source_had_ingested(cli, tmp_path):
    source, target = tmp_path / "source", tmp_path / "copy"
    logs = given_a_lake_with_quarantine(cli, tmp_path, source)
    copy(cli, source, target)
    given_delivery_file(logs[0], [an_event(eventName="DeleteObject")], day="2026/11/05")
    again = cli.json("ingest", *logs, "--lake", target)
    assert (again["files_skipped"], again["files_ingested"], again["events_written"]) == (4, 1, 1)
    assert cli.json("status", "--lake", target)["events"] == 5


def test_a_lake_copied_to_s3_with_glue_and_back_to_a_folder_answers_alike(
    cli, tmp_path, moto_endpoint, bucket, monkeypatch
):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    source, back = tmp_path / "source", tmp_path / "back"
    given_a_lake_with_quarantine(cli, tmp_path, source, iam=True)
    before = answers(cli, "--lake", source)
    in_s3 = f"s3://{bucket}/lakes/copy"
    namespace = f"tw_{uuid.uuid4().hex[:8]}"
    to_s3 = copy(cli, source, in_s3, "--catalog", "glue", "--namespace", namespace)
    assert (to_s3["catalog"], to_s3["namespace"]) == ("glue", namespace)
    shutil.rmtree(source)
    assert answers(cli, "--lake", in_s3) == before  # the lake recorded its Glue catalog
    s3_lake = Lake(in_s3)
    assert all(p.startswith(f"{in_s3}/warehouse/{namespace}/") for p in paths_in_metadata(s3_lake))
    copy(cli, in_s3, back)
    assert answers(cli, "--lake", back) == before
    assert all(p.startswith(f"file://{back}/") for p in paths_in_metadata(Lake(back)))


def test_a_destination_that_holds_a_lake_is_refused_in_one_line(cli, tmp_path):
    source, target = tmp_path / "source", tmp_path / "copy"
    given_delivery_file(tmp_path / "logs", [an_event()])
    for lake in (source, target):
        cli.json("ingest", tmp_path / "logs", "--lake", lake)
    result = cli("lake", "copy", source, target)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {target} already holds a trailwise lake")
    assert len(result.stderr.strip().splitlines()) == 1
    assert cli.json("status", "--lake", target)["runs"] == 1  # left as it was


def test_a_glue_namespace_that_already_holds_the_tables_is_refused(
    cli, tmp_path, moto_endpoint, bucket, monkeypatch
):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    source = tmp_path / "source"
    given_delivery_file(tmp_path / "logs", [an_event()])
    cli.json("ingest", tmp_path / "logs", "--lake", source)
    glue = ("--catalog", "glue", "--namespace", f"tw_{uuid.uuid4().hex[:8]}")
    copy(cli, source, f"s3://{bucket}/first", *glue)
    result = cli("lake", "copy", source, f"s3://{bucket}/second", *glue)
    assert result.exit_code == 1
    assert "catalog already holds a table" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_source_another_run_holds_is_refused_and_nothing_is_left_in_the_way(cli, tmp_path):
    source = tmp_path / "source"
    given_delivery_file(tmp_path / "logs", [an_event()])
    cli.json("ingest", tmp_path / "logs", "--lake", source)
    with Lake(source).lock():
        result = cli("lake", "copy", source, tmp_path / "copy")
    assert result.exit_code == 1
    assert "is locked by another run" in result.stderr
    assert not Lake(tmp_path / "copy").exists()
    assert copy(cli, source, tmp_path / "copy")["rows"] > 0  # nothing left in the way


@pytest.mark.parametrize("where", ["missing", "inside"])
def test_copy_from_no_lake_or_into_its_own_folder_says_so_in_one_line(cli, tmp_path, where):
    source = tmp_path / "source"
    given_delivery_file(tmp_path / "logs", [an_event()])
    cli.json("ingest", tmp_path / "logs", "--lake", source)
    if where == "missing":
        args, expected = (tmp_path / "nope", tmp_path / "copy"), "no trailwise lake at"
    else:
        args, expected = (source, source / "copy"), "one is inside the other"
    result = cli("lake", "copy", *args)
    assert result.exit_code == 1
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_lake_whose_tables_gained_columns_is_copied_with_its_column_ids(cli, tmp_path):
    from tests.lake.test_schema_evolution import given_a_lake_of_an_older_trailwise

    source, target = tmp_path / "source", tmp_path / "copy"
    given_a_lake_of_an_older_trailwise(source, an_event())
    given_delivery_file(tmp_path / "logs", [an_event()])
    cli.json("ingest", tmp_path / "logs", "--lake", source)  # the events table gains columns
    copy(cli, source, target)
    old, new = Lake(source).events_table(), Lake(target).events_table()
    assert len(old.metadata.schemas) > 1
    ids = [[(f.name, f.field_id) for f in t.schema().fields] for t in (old, new)]
    assert ids[0] == ids[1]
    # pyiceberg reads by field id, DuckDB by name: both see the same rows in the copy.
    assert new.scan().to_arrow().sort_by("event_id") == old.scan().to_arrow().sort_by("event_id")
    sql = "select * from events order by event_id"
    assert cli.json("query", "--sql", sql, "--lake", target) == cli.json(
        "query", "--sql", sql, "--lake", source
    )
