"""trailwise connect: an init file that gives any DuckDB the views trailwise's queries read."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.given import PROD_SNAPSHOT, an_event, given_delivery_file
from trailwise.pipeline import api
from trailwise.pipeline.lake import Lake, duckdb_connect
from trailwise.pipeline.query import connect as views_connect
from trailwise.pipeline.query import named_queries
from trailwise.pipeline.query.init_file import literal

ROOT = {
    "type": "Root",
    "principalId": "111122223333",
    "arn": "arn:aws:iam::111122223333:root",
    "accountId": "111122223333",
}


def given_a_lake(cli, tmp_path, *lake, iam=False):
    events = [an_event(), an_event(eventName="GetObject"), an_event(userIdentity=ROOT)]
    given_delivery_file(tmp_path / "logs", events)
    cli.json("ingest", tmp_path / "logs", *lake)
    if iam:
        cli.json("iam", "load", PROD_SNAPSHOT, *lake)


def a_plain_duckdb(init_file):
    """What ``duckdb -init FILE`` gives: an in-memory database that ran the file."""
    con = duckdb.connect()
    con.execute(Path(init_file).read_text())
    return con


def relations(con):
    """Every table and view of a connection, by name: its columns and types, and its rows."""
    out = {}
    for (name,) in con.execute("select table_name from information_schema.tables").fetchall():
        result = con.execute(f"select * from {name}")
        columns = [(column[0], str(column[1])) for column in result.description]
        out[name] = (columns, sorted(result.fetchall(), key=repr))
    return out


def rows_of(con, sql, params=None):
    result = con.execute(sql, params)
    names = [column[0] for column in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def test_connect_prints_only_the_path_of_the_init_file_it_wrote_in_the_lake(
    cli, tmp_path, lake_dir
):
    given_a_lake(cli, tmp_path, "--lake", lake_dir)
    result = cli("connect", "--lake", lake_dir)
    assert result.exit_code == 0
    assert result.stdout == f"{lake_dir / 'connect.sql'}\n"
    assert (lake_dir / "connect.sql").read_text().startswith("-- trailwise connect")


def test_a_plain_duckdb_running_the_init_file_has_every_view_trailwise_queries_read(
    cli, tmp_path, sample_lake
):
    out = tmp_path / "connect.sql"
    cli("connect", "--lake", sample_lake, "--output", out)
    theirs, ours = relations(a_plain_duckdb(out)), relations(views_connect(Lake(sample_lake)))
    assert sorted(theirs) == sorted(ours)
    assert {"events", "event_actions", "aggregated_events", "iam_actions"} <= set(theirs)
    assert {"iam_principals", "iam_policies", "iam_grants", "aggregated_use"} <= set(theirs)
    for name in ours:
        assert theirs[name] == ours[name], name


def test_the_init_file_s_views_count_what_trailwise_query_counts(cli, tmp_path, sample_lake):
    out = tmp_path / "connect.sql"
    cli("connect", "--lake", sample_lake, "--output", out)
    plain = a_plain_duckdb(out)
    for view in ("events", "event_actions", "aggregated_events", "iam_principals", "iam_grants"):
        sql = f"select count(*) as n from {view}"
        expected = cli.json("query", "--sql", sql, "--lake", sample_lake)[0]["n"]
        assert plain.execute(sql).fetchone() == (expected,), view
    assert plain.execute("select count(*) from events").fetchone()[0] > 400


def test_a_named_query_run_in_a_plain_duckdb_over_the_init_file_gives_trailwise_s_rows(
    cli, tmp_path, sample_lake
):
    out = tmp_path / "connect.sql"
    cli("connect", "--lake", sample_lake, "--output", out)
    query = named_queries()["root_activity"]
    rows = rows_of(a_plain_duckdb(out), query.sql, {p.name: None for p in query.params})
    assert rows == api.run_named("root_activity", sample_lake).to_pylist()
    assert len(rows) == 6


def test_a_later_ingest_is_seen_after_connecting_again(cli, tmp_path, lake_dir):
    given_a_lake(cli, tmp_path, "--lake", lake_dir)
    before = Path(cli("connect", "--lake", lake_dir).stdout.strip()).read_text()
    again = Path(cli("connect", "--lake", lake_dir).stdout.strip()).read_text()
    assert again == before  # nothing changed, nothing differs: no timestamp in the file
    given_delivery_file(tmp_path / "more", [an_event(), an_event()])
    cli.json("ingest", tmp_path / "more", "--lake", lake_dir)
    plain = a_plain_duckdb(cli("connect", "--lake", lake_dir).stdout.strip())
    assert plain.execute("select count(*) from events").fetchone() == (5,)


def test_connect_writes_to_output_when_given(cli, tmp_path, lake_dir):
    given_a_lake(cli, tmp_path, "--lake", lake_dir)
    out = tmp_path / "elsewhere" / "trail.sql"
    result = cli("connect", "--lake", lake_dir, "--output", out)
    assert result.stdout == f"{out}\n"
    assert "create or replace temp view events as" in out.read_text()
    assert not (lake_dir / "connect.sql").exists()


def test_connect_to_a_missing_lake_says_so_in_one_line(cli, tmp_path):
    result = cli("connect", "--lake", tmp_path / "nope")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: no trailwise lake at {tmp_path / 'nope'}")
    assert len(result.stderr.strip().splitlines()) == 1


@given(st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00")))
def test_a_literal_reads_back_as_the_very_value_it_quotes(value):
    assert duckdb.execute(f"select {literal(value)}").fetchone() == (value,)


# --- an S3 lake ---------------------------------------------------------------------------


@pytest.fixture
def aws(moto_endpoint, monkeypatch, tmp_path):
    """The emulator through AWS_ENDPOINT_URL, with credentials the file must never hold, and a
    cache folder of the test's own."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIACONNECTTEST77777")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "c0nnect/Secret+Never'Written9876543210ab")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "connect-session-token-never-written-5555")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return moto_endpoint


def test_an_s3_lake_s_init_file_sets_up_httpfs_from_the_credential_chain_and_holds_no_secret(
    cli, tmp_path, aws, bucket
):
    # A quote in the prefix: every s3:// URI in the file must stay one literal.
    lake = ("--lake", f"s3://{bucket}/o'brien/lake", "--catalog", "glue")
    lake += ("--namespace", f"tw_{uuid.uuid4().hex[:8]}")
    given_a_lake(cli, tmp_path, *lake, iam=True)
    result = cli("connect", *lake)
    assert result.exit_code == 0, result.stderr
    path = Path(result.stdout.strip())
    assert path.parent == tmp_path / "cache" / "trailwise"
    assert re.fullmatch(r"connect-[0-9a-f]{12}\.sql", path.name)
    text = path.read_text()
    for credential in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        assert os.environ[credential] not in text
    secret = re.search(r"create or replace secret trailwise_lake \((.*?)\);", text, re.DOTALL)
    assert secret is not None
    options = [line.strip().rstrip(",") for line in secret.group(1).strip().splitlines()]
    host = aws.removeprefix("http://")
    assert options == [
        "type s3",
        "provider credential_chain",
        "region 'us-east-1'",
        f"endpoint '{host}'",
        "url_style 'path'",
        "use_ssl false",
        f"scope 's3://{bucket}/o''brien/lake/'",
    ]
    assert text.index("load httpfs;") < text.index("create or replace secret")
    assert f"'s3://{bucket}/o''brien/lake/warehouse/" in text
    # Running the settings needs DuckDB's httpfs and aws extensions, which cannot be downloaded
    # here: the views alone run in a DuckDB that reads s3:// through trailwise's own client.
    views = text[secret.end() :]
    con = duckdb_connect()
    con.execute(views)
    assert con.execute("select count(*) from events").fetchone() == (3,)
    assert con.execute("select count(*) from iam_principals").fetchone()[0] > 0
