"""A lake in S3 with its tables in the Glue Data Catalog (or a shared SQL catalog), through a
moto server on 127.0.0.1 reached by the standard endpoint variable only."""

from __future__ import annotations

import json

import boto3
import orjson
import pytest

from tests.given import SAMPLE_LOGS, an_event, given_delivery_file, reconciles
from trailwise.pipeline.lake import Lake
from trailwise.pipeline.lake.lease import LEASE_KEY
from trailwise.pipeline.lake.store import S3Store

PROD = SAMPLE_LOGS / "iam" / "authorization-details-111122223333.json"


@pytest.fixture
def aws(moto_endpoint, monkeypatch):
    """Every AWS client of the process finds the emulator through AWS_ENDPOINT_URL."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    return moto_endpoint


@pytest.fixture
def s3_lake(aws, bucket):
    return f"s3://{bucket}/lakes/prod"


def glue_lake(*args):
    return (*args, "--catalog", "glue", "--namespace", f"tw_{abs(hash(args)) % 10**8}")


def keys(bucket, prefix=""):
    listed = boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for o in listed.get("Contents", [])]


def test_an_s3_lake_with_a_glue_catalog_is_ingested_queried_and_kept_once(
    cli, tmp_path, s3_lake, bucket
):
    given_delivery_file(tmp_path / "logs", [an_event(), an_event(), an_event()])
    lake = glue_lake("--lake", s3_lake)
    first = cli.json("ingest", tmp_path / "logs", *lake)
    again = cli.json("ingest", tmp_path / "logs", *lake)
    assert (first["events_written"], first["exit_code"]) == (3, 0)
    assert reconciles(first)
    assert (again["files_skipped"], again["events_written"]) == (1, 0)
    rows = cli.json("query", "--sql", "select count(*) as n from events", *lake)
    assert rows == [{"n": 3}]
    actions = cli.json("query", "--sql", "select count(*) as n from event_actions", *lake)
    assert actions == [{"n": 3}]
    status = cli.json("status", *lake)
    assert (status["events"], status["runs"]) == (3, 2)
    # Everything the lake holds is under its prefix: no file beside the working folder.
    stored = keys(bucket, "lakes/prod/")
    assert any(k.startswith("lakes/prod/warehouse/") and "/data/" in k for k in stored)
    assert "lakes/prod/state/format.json" in stored
    assert LEASE_KEY not in {k.removeprefix("lakes/prod/") for k in stored}
    assert not (tmp_path / "trailwise-lake").exists()


def test_the_glue_tables_are_iceberg_tables_athena_reads_as_they_are(cli, tmp_path, s3_lake):
    given_delivery_file(tmp_path / "logs", [an_event()])
    cli.json("ingest", tmp_path / "logs", "--lake", s3_lake, "--catalog", "glue")
    glue = boto3.client("glue")
    table = glue.get_table(DatabaseName="trailwise", Name="events")["Table"]
    assert table["Parameters"]["table_type"] == "ICEBERG"
    assert table["Parameters"]["metadata_location"].startswith(s3_lake + "/warehouse/trailwise/")
    names = {t["Name"] for t in glue.get_tables(DatabaseName="trailwise")["TableList"]}
    assert {"events", "event_actions", "aggregated_events", "ingested_objects", "runs"} <= names
    glue.delete_database(Name="trailwise")


def test_a_later_command_finds_the_catalog_the_lake_was_created_with(cli, tmp_path, s3_lake):
    given_delivery_file(tmp_path / "logs", [an_event(), an_event()])
    cli.json("ingest", tmp_path / "logs", *glue_lake("--lake", s3_lake))
    recorded = orjson.loads(Lake(s3_lake).store.read("state/format.json") or b"{}")
    assert recorded["catalog"]["type"] == "glue"
    # --namespace comes from the lake too: only --lake is given.
    assert cli.json("status", "--lake", s3_lake)["events"] == 2
    wrong = cli("status", "--lake", s3_lake, "--catalog", "rest", "--catalog-uri", "http://x")
    assert wrong.exit_code == 1
    assert "keeps its tables in a glue catalog" in wrong.stderr


def test_an_s3_lake_with_a_shared_sql_catalog_works_from_two_working_folders(
    cli, tmp_path, s3_lake, monkeypatch
):
    catalog = f"sqlite:///{tmp_path / 'shared-catalog.db'}"
    for n in range(2):
        given_delivery_file(tmp_path / f"logs{n}", [an_event(), an_event()])
        monkeypatch.chdir(tmp_path / f"logs{n}")
        summary = cli.json(
            "ingest", tmp_path / f"logs{n}", "--lake", s3_lake, "--catalog-uri", catalog
        )
        assert summary["events_written"] == 2
    rows = cli.json("query", "--sql", "select count(*) as n from events", "--lake", s3_lake)
    assert rows == [{"n": 4}]


def test_an_s3_lake_cannot_keep_a_sqlite_catalog(cli, tmp_path, s3_lake):
    given_delivery_file(tmp_path / "logs", [an_event()])
    result = cli("ingest", tmp_path / "logs", "--lake", s3_lake)
    assert result.exit_code == 1
    assert "needs --catalog-uri" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_second_writer_is_refused_while_another_holds_the_lease(cli, tmp_path, s3_lake):
    given_delivery_file(tmp_path / "logs", [an_event()])
    lake = glue_lake("--lake", s3_lake)
    cli.json("ingest", tmp_path / "logs", *lake)
    holder = Lake(s3_lake)
    with holder.lock():
        result = cli("ingest", tmp_path / "logs", *lake)
    assert result.exit_code == 1
    assert "is locked by another run (pid" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_lease_its_holder_stopped_renewing_is_taken_over_once_expired(
    cli, tmp_path, s3_lake, monkeypatch
):
    store = S3Store(*s3_lake.removeprefix("s3://").split("/", 1))
    dead = {"holder": "pid 1 on gone", "since": "2026-01-01T00:00:00Z", "expires_at": 1.0}
    store.write(LEASE_KEY, json.dumps(dead).encode())
    given_delivery_file(tmp_path / "logs", [an_event(), an_event()])
    summary = cli.json("ingest", tmp_path / "logs", *glue_lake("--lake", s3_lake))
    assert summary["events_written"] == 2
    assert store.read(LEASE_KEY) is None  # released at the end of the run


def test_compact_and_remap_work_on_an_s3_lake(cli, tmp_path, s3_lake):
    lake = glue_lake("--lake", s3_lake)
    for n in range(2):
        given_delivery_file(tmp_path / f"run{n}", [an_event(), an_event()])
        cli.json("ingest", tmp_path / f"run{n}", *lake)
    compacted = cli.json("compact", *lake)
    assert (compacted["files_before"], compacted["files_after"]) == (2, 1)
    assert cli.json("remap", *lake)["rows_written"] == 4
    rows = cli.json("query", "--sql", "select count(*) as n from events", *lake)
    assert rows == [{"n": 4}]


def test_iam_snapshots_and_policies_work_on_an_s3_lake(cli, tmp_path, s3_lake):
    lake = glue_lake("--lake", s3_lake)
    given_delivery_file(tmp_path / "logs", [an_event(), an_event()])
    cli.json("ingest", tmp_path / "logs", *lake)
    assert cli.json("iam", "load", PROD, *lake)["is_new"]
    listed = cli.json("query", "--sql", "select count(*) as n from iam_principals", *lake)
    assert listed[0]["n"] > 0
    role = "arn:aws:iam::111122223333:role/service/app-role"
    suggested = cli("policy", "suggest", role, *lake)
    assert suggested.exit_code == 0, suggested.stderr
    statements = json.loads(suggested.stdout)["Statement"]
    assert any("s3:ListAllMyBuckets" in s["Action"] for s in statements)
    for command in ("diff", "trust"):
        result = cli("policy", command, role, *lake)
        assert result.exit_code == 0, (command, result.stderr)


def test_an_unreachable_s3_lake_is_one_line_naming_the_object(cli, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    result = cli("status", "--lake", "s3://nobucket/lake")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot read s3://nobucket/lake/state/format.json: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_pyicebergs_own_configuration_names_the_catalog(cli, tmp_path, s3_lake, monkeypatch):
    monkeypatch.setenv("PYICEBERG_CATALOG__TRAILWISE__TYPE", "sql")
    monkeypatch.setenv("PYICEBERG_CATALOG__TRAILWISE__URI", f"sqlite:///{tmp_path / 'c.db'}")
    given_delivery_file(tmp_path / "logs", [an_event()])
    assert cli.json("ingest", tmp_path / "logs", "--lake", s3_lake)["events_written"] == 1
    assert cli.json("status", "--lake", s3_lake)["events"] == 1
