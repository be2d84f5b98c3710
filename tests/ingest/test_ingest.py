"""Local ingest: every record lands once or in quarantine, and the counts say so."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest

from tests.given import REALDATA, an_event, given_delivery_file, given_file, reconciles
from trailwise.pipeline import api
from trailwise.pipeline.lake import Lake
from trailwise.pipeline.lake.tables import OBJECTS_TABLE
from trailwise.pipeline.query import named_queries


def events_in(lake_dir: Path) -> list[dict]:
    return api.run_sql("select * from events order by event_id", lake_dir).to_pylist()


def test_ingest_writes_every_event_and_reports_counts(cli, tmp_path, lake_dir):
    given_delivery_file(tmp_path / "logs", [an_event(), an_event()])
    given_delivery_file(tmp_path / "logs", [an_event()], region="eu-west-1")
    summary = cli.json("ingest", tmp_path / "logs", "--lake", lake_dir)
    assert summary["files_seen"] == summary["files_ingested"] == 2
    assert summary["records_in"] == summary["events_written"] == 3
    assert summary["exit_code"] == 0
    assert reconciles(summary)
    assert len(events_in(lake_dir)) == 3


def test_reingesting_the_same_files_skips_them_and_adds_nothing(cli, tmp_path, lake_dir):
    given_delivery_file(tmp_path / "logs", [an_event(), an_event()])
    cli.json("ingest", tmp_path / "logs", "--lake", lake_dir)
    again = cli.json("ingest", tmp_path / "logs", "--lake", lake_dir)
    assert again["files_skipped"] == 1
    assert again["records_in"] == again["events_written"] == 0
    assert len(events_in(lake_dir)) == 2


def test_overlapping_sources_count_duplicates_instead_of_writing_them(cli, tmp_path, lake_dir):
    shared = an_event()
    given_delivery_file(tmp_path / "account-trail", [shared, an_event()])
    given_delivery_file(tmp_path / "org-trail", [shared], org="o-a1b2c3d4e5")
    first = cli.json("ingest", tmp_path / "account-trail", "--lake", lake_dir)
    second = cli.json("ingest", tmp_path / "org-trail", "--lake", lake_dir)
    assert (first["events_written"], second["events_written"], second["duplicates"]) == (2, 0, 1)
    assert reconciles(second)


def test_a_file_holding_some_events_the_lake_has_lands_only_its_new_ones_with_their_actions(
    cli, tmp_path, lake_dir
):
    old, new = an_event(), an_event(eventName="GetBucketAcl")
    given_delivery_file(tmp_path / "first", [old])
    given_delivery_file(tmp_path / "second", [old, new])
    cli.json("ingest", tmp_path / "first", "--lake", lake_dir)
    second = cli.json("ingest", tmp_path / "second", "--lake", lake_dir)
    assert (second["events_written"], second["duplicates"]) == (1, 1)
    assert [e["event_id"] for e in events_in(lake_dir)] == sorted([old["eventID"], new["eventID"]])
    actions = api.run_sql(
        "select event_id, action from event_actions order by event_id", lake_dir
    ).to_pylist()
    assert actions == sorted(
        [
            {"event_id": old["eventID"], "action": "s3:ListAllMyBuckets"},
            {"event_id": new["eventID"], "action": "s3:GetBucketAcl"},
        ],
        key=lambda row: row["event_id"],
    )


def test_the_same_event_for_two_recipient_accounts_is_two_events(cli, tmp_path, lake_dir):
    event = an_event()
    given_delivery_file(tmp_path / "logs", [event, {**event, "recipientAccountId": "444455556666"}])
    assert cli.json("ingest", tmp_path / "logs", "--lake", lake_dir)["events_written"] == 2


def test_duplicates_inside_one_run_are_written_once(cli, tmp_path, lake_dir):
    event = an_event()
    given_delivery_file(tmp_path / "logs", [event, event])
    given_delivery_file(tmp_path / "logs", [event])
    summary = cli.json("ingest", tmp_path / "logs", "--lake", lake_dir)
    assert (summary["events_written"], summary["duplicates"]) == (1, 2)


def test_broken_files_go_to_quarantine_with_a_reason_and_exit_2(cli, tmp_path, lake_dir):
    logs = tmp_path / "logs"
    given_delivery_file(logs, [an_event()])
    broken = given_delivery_file(logs, [an_event()], region="eu-west-1")
    broken.write_bytes(broken.read_bytes()[:-12])
    result = cli("ingest", logs, "--lake", lake_dir, "--format", "json")
    summary = orjson.loads(result.stdout)
    assert result.exit_code == 2
    assert summary["files_quarantined"] == 1
    assert summary["quarantined_files"][0]["uri"] == broken.resolve().as_uri()
    copies = list(Path(summary["quarantine_dir"]).glob("files/*.json.gz"))
    assert [c.read_bytes() for c in copies] == [broken.read_bytes()]
    reason = orjson.loads(copies[0].with_name(copies[0].name + ".reason.json").read_bytes())
    assert "gzip" in reason["reason"]
    assert summary["events_written"] == 1


def test_a_file_arrow_refuses_in_a_batch_is_decoded_alone_and_its_neighbours_still_land(
    cli, tmp_path, lake_dir
):
    logs = tmp_path / "logs"
    given_delivery_file(logs, [an_event()], region="ap-south-1")
    named = an_event(requestParameters={"bucketName": "logs"})
    refused = given_delivery_file(logs, [an_event(), named])
    given_delivery_file(logs, [an_event()], region="eu-west-1")
    text = gzip.decompress(refused.read_bytes())
    # Bytes that are not UTF-8 inside requestParameters: msgspec keeps them verbatim, Arrow
    # refuses them when the batch becomes a table.
    refused.write_bytes(gzip.compress(text.replace(b'"bucketName"', b'"bucket\xffName"', 1)))
    assert b"\xff" in gzip.decompress(refused.read_bytes())
    result = cli("ingest", logs, "--lake", lake_dir, "--format", "json")
    summary = orjson.loads(result.stdout)
    assert summary["events_written"] == 2
    assert summary["files_quarantined"] == 1
    assert summary["quarantined_files"][0]["uri"] == refused.resolve().as_uri()
    assert reconciles(summary)


def test_unusable_records_are_quarantined_and_the_rest_of_the_file_ingested(
    cli, tmp_path, lake_dir
):
    no_time = an_event()
    del no_time["eventTime"]
    given_delivery_file(tmp_path / "logs", [an_event(), no_time, an_event()])
    result = cli("ingest", tmp_path / "logs", "--lake", lake_dir, "--format", "json")
    summary = orjson.loads(result.stdout)
    assert result.exit_code == 2
    assert (summary["events_written"], summary["records_quarantined"]) == (2, 1)
    assert summary["quarantine_reasons"] == {"missing eventTime": 1}
    lines = (Path(summary["quarantine_dir"]) / "records-000000.ndjson").read_bytes().splitlines()
    record = orjson.loads(lines[0])
    assert record["reason"] == "missing eventTime"
    assert orjson.loads(record["record"])["eventID"] == no_time["eventID"]


def test_digests_and_files_that_are_not_cloudtrail_are_skipped_and_counted(cli, tmp_path, lake_dir):
    logs = tmp_path / "logs"
    given_delivery_file(logs, [an_event()])
    given_file(
        logs / "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/02/"
        "111122223333_CloudTrail-Digest_us-east-1_main_us-east-1_20261102T010000Z.json.gz",
        gzip.compress(b'{"digestStartTime": "x", "logFiles": []}'),
    )
    given_file(logs / "README.md", "# notes")
    summary = cli.json("ingest", logs, "--lake", lake_dir)
    assert summary["files_not_cloudtrail"] == 2
    assert summary["not_cloudtrail"] == {"CloudTrail-Digest file": 1, "not JSON": 1}
    assert summary["exit_code"] == 0


def test_filters_narrow_files_by_key_and_events_by_time_account_and_region(cli, tmp_path, lake_dir):
    logs = tmp_path / "logs"
    given_delivery_file(
        logs,
        [an_event(eventTime="2026-11-02T10:00:00Z"), an_event(eventTime="2026-11-03T10:00:00Z")],
    )
    given_delivery_file(logs, [an_event()], account="444455556666")
    summary = cli.json(
        "ingest", logs, "--lake", lake_dir, "--account", "111122223333", "--since", "2026-11-03"
    )
    assert summary["files_filtered"] == 1
    assert (summary["events_written"], summary["records_filtered"]) == (1, 1)
    assert reconciles(summary)
    # The partly filtered file is not recorded, so a wider run still gets the rest of it.
    wider = cli.json("ingest", logs, "--lake", lake_dir)
    assert (wider["events_written"], wider["duplicates"]) == (2, 1)


def test_every_real_world_file_ingests_and_the_counts_reconcile(cli, tmp_path, lake_dir):
    summary = cli.json("ingest", REALDATA, "--lake", lake_dir)
    assert reconciles(summary)
    assert summary["files_quarantined"] == 0
    assert summary["events_written"] > 600
    lake_rows = api.run_sql(
        "select count(*) as n, "
        "count(distinct (event_id, recipient_account_id, cast(event_time as date))) as keys "
        "from events",
        lake_dir,
    ).to_pylist()[0]
    assert lake_rows == {"n": summary["events_written"], "keys": summary["events_written"]}
    # Only data that really is broken is quarantined: placeholder or missing ids and times.
    assert set(summary["quarantine_reasons"]) <= {
        "missing eventID",
        "missing eventTime",
        "eventTime '…' is not a timestamp",
        "not a CloudTrail event (no eventName, eventSource, eventID or eventTime)",
    }


@pytest.mark.parametrize("folder", sorted(p.name for p in REALDATA.iterdir() if p.is_dir()))
def test_each_real_data_set_reconciles_on_its_own(cli, tmp_path, folder):
    summary = cli.json("ingest", REALDATA / folder, "--lake", tmp_path / "lake")
    assert reconciles(summary)
    assert summary["files_quarantined"] == 0


def forget_object_records(lake):
    """The objects table as it was before the last run recorded its objects."""
    table = lake.load(OBJECTS_TABLE)
    with table.transaction() as tx, tx.update_snapshot().overwrite() as overwrite:
        for task in table.scan().plan_files():
            overwrite.delete_data_file(task.file)


def test_a_run_that_died_after_its_commit_is_completed_without_doubling(cli, tmp_path, lake_dir):
    given_delivery_file(tmp_path / "logs", [an_event(), an_event()])
    first = cli.json("ingest", tmp_path / "logs", "--lake", lake_dir)
    # What a SIGKILL between the Iceberg commit and the object record leaves behind:
    forget_object_records(Lake(lake_dir))
    again = cli.json("ingest", tmp_path / "logs", "--lake", lake_dir)
    assert (first["events_written"], again["events_written"], again["duplicates"]) == (2, 0, 2)
    assert len(events_in(lake_dir)) == 2


def test_a_second_writer_is_refused_while_the_lake_is_locked(cli, tmp_path, lake_dir):
    given_delivery_file(tmp_path / "logs", [an_event()])
    with Lake(lake_dir).lock():
        result = cli("ingest", tmp_path / "logs", "--lake", lake_dir)
    assert result.exit_code == 1
    assert "is locked by another run (pid" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_missing_source_is_one_clear_error(cli, tmp_path, lake_dir):
    result = cli("ingest", tmp_path / "nowhere", "--lake", lake_dir)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: source {tmp_path / 'nowhere'} does not exist"


def test_the_lake_is_never_ingested_from_inside_its_source_folder(cli, tmp_path):
    given_delivery_file(tmp_path, [an_event()])
    cli.json("ingest", tmp_path, "--lake", tmp_path / "lake")
    again = cli.json("ingest", tmp_path, "--lake", tmp_path / "lake")
    assert again["files_seen"] == 1


def test_the_table_reads_back_through_iceberg_itself_as_other_engines_would(
    cli, tmp_path, lake_dir
):
    given_delivery_file(tmp_path / "logs", [an_event(), an_event(eventTime="2026-11-03T01:00:00Z")])
    cli.json("ingest", tmp_path / "logs", "--lake", lake_dir)
    through_iceberg = Lake(lake_dir).events_table().scan().to_arrow().sort_by("event_id")
    through_duckdb = api.run_sql("select * from events order by event_id", lake_dir)
    assert through_iceberg.to_pylist() == through_duckdb.to_pylist()
    assert through_iceberg.num_rows == 2


def test_queries_lists_each_named_query_with_its_description(cli):
    result = cli("queries")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert (
        "lake_summary: What the lake holds: events, accounts, regions, first and last event, "
        "per event source (first row: all)." in lines
    )
    listed = {line.split(":")[0] for line in lines if not line.startswith(" ")}
    assert listed == set(named_queries()) >= {"lake_summary", "used_actions", "unused_permissions"}
    assert (
        "    $principal_arn varchar (optional): Only this principal (role, user, root ARN)."
        in lines
    )
