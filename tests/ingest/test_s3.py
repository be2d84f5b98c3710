"""Ingest from S3 as a batch job, against a real HTTP emulator with injected faults."""

from __future__ import annotations

import gzip
import uuid
from datetime import UTC, date, datetime, timedelta

import orjson

from tests.given import an_event, reconciles
from tests.s3world import given_log_object, s3_client
from trailwise.pipeline import api
from trailwise.pipeline.lake import Lake
from trailwise.pipeline.sources import keys

TODAY = datetime.now(UTC).date()


def trail_key(
    day: date, *, account="111122223333", region="us-east-1", org=None, prefix="trail", stamp="1005"
) -> str:
    name = keys.FileName(
        account,
        "CloudTrail",
        region,
        datetime(day.year, day.month, day.day, int(stamp[:2]), int(stamp[2:]), tzinfo=UTC),
        uuid.uuid4().hex[:16],
    )
    return keys.day_prefix(prefix, org, account, "CloudTrail", region, day) + str(name)


def events_on(day: date, n: int, **overrides) -> list[dict]:
    return [an_event(eventTime=f"{day}T10:0{i % 10}:00Z", **overrides) for i in range(n)]


def ingest_s3(cli, bucket, lake_dir, endpoint, *extra):
    result = cli(
        "ingest",
        f"s3://{bucket}/trail",
        "--lake",
        lake_dir,
        "--endpoint-url",
        endpoint,
        "--format",
        "json",
        *extra,
    )
    return result.exit_code, orjson.loads(result.stdout)


def test_account_and_organization_trails_are_ingested_through_s3(
    cli, moto_endpoint, bucket, lake_dir
):
    s3 = s3_client(moto_endpoint)
    given_log_object(s3, bucket, trail_key(TODAY), events_on(TODAY, 3))
    given_log_object(s3, bucket, trail_key(TODAY, region="eu-west-1"), events_on(TODAY, 2))
    given_log_object(
        s3,
        bucket,
        trail_key(TODAY, org="o-a1b2c3d4e5", account="444455556666"),
        events_on(TODAY, 4, recipientAccountId="444455556666"),
    )
    code, summary = ingest_s3(cli, bucket, lake_dir, moto_endpoint)
    assert code == 0
    assert (summary["files_ingested"], summary["events_written"]) == (3, 9)
    assert summary["bytes_downloaded"] > 0
    assert summary["objects_failed"] == []
    assert reconciles(summary)


def test_the_bucket_is_never_listed_whole_only_discovery_and_day_prefixes(
    cli, proxy, bucket, lake_dir
):
    s3 = s3_client(proxy.url)
    given_log_object(s3, bucket, trail_key(TODAY), events_on(TODAY, 1))
    old = TODAY - timedelta(days=30)
    given_log_object(s3, bucket, trail_key(old), events_on(old, 1))
    s3.put_object(Bucket=bucket, Key="unrelated/big-data.bin", Body=b"x" * 10)
    proxy.clear()
    code, summary = ingest_s3(cli, bucket, lake_dir, proxy.url)
    assert code == 0
    assert summary["events_written"] == 1
    prefixes = proxy.list_prefixes()
    assert all(p.startswith("trail/AWSLogs/") for p in prefixes), prefixes
    day_listings = [p for p in prefixes if p.count("/") >= 8]
    first = TODAY - timedelta(days=6)
    assert day_listings and all(
        first <= date(*map(int, p.split("/")[-4:-1])) <= TODAY for p in day_listings
    )
    assert summary["list_requests"] == len(prefixes)
    assert summary["window"]["since"] is None
    assert summary["window"]["listed_days"] == {f"s3://{bucket}/trail": [str(first), str(TODAY)]}


def test_a_rerun_with_nothing_new_downloads_nothing(cli, proxy, bucket, lake_dir):
    s3 = s3_client(proxy.url)
    given_log_object(s3, bucket, trail_key(TODAY), events_on(TODAY, 2))
    ingest_s3(cli, bucket, lake_dir, proxy.url)
    proxy.clear()
    code, again = ingest_s3(cli, bucket, lake_dir, proxy.url)
    assert code == 0
    assert (again["files_skipped"], again["bytes_downloaded"], again["events_written"]) == (1, 0, 0)
    assert not [
        path for method, path in proxy.requests if method == "GET" and "list-type" not in path
    ]


def test_only_a_new_object_is_fetched_on_the_next_run(cli, proxy, bucket, lake_dir):
    s3 = s3_client(proxy.url)
    given_log_object(s3, bucket, trail_key(TODAY), events_on(TODAY, 2))
    ingest_s3(cli, bucket, lake_dir, proxy.url)
    new_key = trail_key(TODAY, stamp="1110")
    given_log_object(s3, bucket, new_key, events_on(TODAY, 3))
    proxy.clear()
    _, summary = ingest_s3(cli, bucket, lake_dir, proxy.url)
    gets = [path for method, path in proxy.requests if method == "GET" and "list-type" not in path]
    assert len(gets) == 1 and new_key in gets[0]
    assert (summary["files_ingested"], summary["files_skipped"], summary["events_written"]) == (
        1,
        1,
        3,
    )


def test_a_changed_etag_reingests_the_object_without_doubling_its_events(
    cli, moto_endpoint, bucket, lake_dir
):
    s3 = s3_client(moto_endpoint)
    key = trail_key(TODAY)
    events = events_on(TODAY, 2)
    given_log_object(s3, bucket, key, events)
    ingest_s3(cli, bucket, lake_dir, moto_endpoint)
    given_log_object(s3, bucket, key, [*events, an_event(eventTime=f"{TODAY}T11:00:00Z")])
    _, summary = ingest_s3(cli, bucket, lake_dir, moto_endpoint)
    assert (summary["files_ingested"], summary["events_written"], summary["duplicates"]) == (
        1,
        1,
        2,
    )


def test_a_late_file_for_yesterday_is_picked_up_by_the_next_run(
    cli, moto_endpoint, bucket, lake_dir
):
    s3 = s3_client(moto_endpoint)
    given_log_object(s3, bucket, trail_key(TODAY), events_on(TODAY, 1))
    ingest_s3(cli, bucket, lake_dir, moto_endpoint)
    yesterday = TODAY - timedelta(days=1)
    given_log_object(s3, bucket, trail_key(yesterday, stamp="2355"), events_on(yesterday, 2))
    _, summary = ingest_s3(cli, bucket, lake_dir, moto_endpoint)
    assert summary["events_written"] == 2


def test_digest_insight_and_unknown_keys_are_counted_and_named_not_downloaded(
    cli, proxy, bucket, lake_dir
):
    s3 = s3_client(proxy.url)
    given_log_object(s3, bucket, trail_key(TODAY), events_on(TODAY, 1))
    day = f"{TODAY:%Y/%m/%d}"
    digest = (
        f"trail/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/{day}/111122223333_"
        f"CloudTrail-Digest_us-east-1_main_us-east-1_{TODAY:%Y%m%d}T010000Z.json.gz"
    )
    insight = (
        f"trail/AWSLogs/111122223333/CloudTrail-Insight/us-east-1/{day}/111122223333_"
        f"CloudTrail-Insight_us-east-1_{TODAY:%Y%m%d}T0100Z_abcdefABCDEF1234.json.gz"
    )
    for key in (digest, insight):
        s3.put_object(Bucket=bucket, Key=key, Body=gzip.compress(b"{}"))
    s3.put_object(Bucket=bucket, Key="trail/AWSLogs/README.txt", Body=b"hello")
    s3.put_object(Bucket=bucket, Key="trail/AWSLogs/111122223333/Config/x.json", Body=b"{}")
    proxy.clear()
    _, summary = ingest_s3(cli, bucket, lake_dir, proxy.url)
    assert summary["files_not_cloudtrail"] == 2
    assert summary["not_cloudtrail"] == {"CloudTrail-Digest file": 1, "CloudTrail-Insight file": 1}
    assert summary["unknown_keys"] == 2
    assert sorted(summary["unknown_key_examples"]) == [
        "trail/AWSLogs/111122223333/Config/",
        "trail/AWSLogs/README.txt",
    ]
    downloaded = [p for m, p in proxy.requests if m == "GET" and "list-type" not in p]
    assert len(downloaded) == 1


def test_throttling_errors_resets_and_truncated_bodies_are_retried(cli, proxy, bucket, lake_dir):
    s3 = s3_client(proxy.url)
    keys_ = [trail_key(TODAY, stamp=f"10{i:02d}") for i in range(5)]
    for key in keys_:
        given_log_object(s3, bucket, key, events_on(TODAY, 3))
    proxy.clear()
    proxy.inject("slowdown", keys_[0], times=2)
    proxy.inject("error500", keys_[1], times=2)
    proxy.inject("reset", keys_[2], times=1)
    proxy.inject("truncate", keys_[3], times=2)
    proxy.inject("slowdown", "list-type", times=1)
    code, summary = ingest_s3(cli, bucket, lake_dir, proxy.url)
    assert code == 0, summary
    assert summary["events_written"] == 15
    assert summary["objects_failed"] == []


def test_an_object_that_keeps_failing_is_named_exits_3_and_is_fetched_next_run(
    cli, proxy, bucket, lake_dir, monkeypatch
):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")  # fail fast; the default keeps trying longer
    s3 = s3_client(proxy.url)
    good, bad = trail_key(TODAY, stamp="1000"), trail_key(TODAY, stamp="1005")
    given_log_object(s3, bucket, good, events_on(TODAY, 1))
    given_log_object(s3, bucket, bad, events_on(TODAY, 2))
    proxy.inject("error500", bad, times=1000)
    code, summary = ingest_s3(cli, bucket, lake_dir, proxy.url)
    assert code == 3
    assert [f["uri"] for f in summary["objects_failed"]] == [f"s3://{bucket}/{bad}"]
    assert summary["objects_failed"][0]["reason"] == "download failed: InternalError after retries"
    assert summary["events_written"] == 1
    proxy.clear()
    code, again = ingest_s3(cli, bucket, lake_dir, proxy.url)
    assert (code, again["files_ingested"], again["events_written"]) == (0, 1, 2)


def test_an_access_denied_object_says_which_permission_is_missing(cli, proxy, bucket, lake_dir):
    s3 = s3_client(proxy.url)
    plain, encrypted = trail_key(TODAY, stamp="1000"), trail_key(TODAY, stamp="1005")
    given_log_object(s3, bucket, plain, events_on(TODAY, 1))
    given_log_object(s3, bucket, encrypted, events_on(TODAY, 1))
    proxy.inject("denied", plain, times=100)
    proxy.inject("kms-denied", encrypted, times=100)
    code, summary = ingest_s3(cli, bucket, lake_dir, proxy.url)
    reasons = {f["uri"].rsplit("/", 1)[1]: f["reason"] for f in summary["objects_failed"]}
    assert code == 3
    assert "s3:GetObject needed" in reasons[plain.rsplit("/", 1)[1]]
    assert "kms:Decrypt on the trail's key needed" in reasons[encrypted.rsplit("/", 1)[1]]


def test_a_denied_listing_is_one_clear_error_and_a_failed_run_in_the_log(
    cli, proxy, bucket, lake_dir
):
    proxy.inject("denied", "list-type", times=100)
    result = cli("ingest", f"s3://{bucket}/trail", "--lake", lake_dir, "--endpoint-url", proxy.url)
    assert result.exit_code == 1
    [run] = Lake(lake_dir).runs()
    assert run["exit_code"] == 1
    assert run["error"].startswith(f"s3:ListBucket denied on s3://{bucket}/trail/AWSLogs/")
    assert result.stderr.strip() == (
        f"error: s3:ListBucket denied on s3://{bucket}/trail/AWSLogs/ "
        f"(allow s3:ListBucket on arn:aws:s3:::{bucket} for this prefix)"
    )


def test_a_bucket_ingest_matches_a_folder_ingest_of_the_same_files(
    cli, moto_endpoint, bucket, tmp_path
):
    from tests.given import SAMPLE_LOGS
    from tests.s3world import upload_tree

    s3 = s3_client(moto_endpoint)
    upload_tree(s3, bucket, SAMPLE_LOGS / "AWSLogs", prefix="trail/AWSLogs")
    folder = cli.json("ingest", SAMPLE_LOGS / "AWSLogs", "--lake", tmp_path / "folder-lake")
    code, bucket_summary = ingest_s3(
        cli, bucket, tmp_path / "s3-lake", moto_endpoint, "--since", "2026-11-01"
    )
    assert code == folder["exit_code"]
    rows = "select * exclude (source_uri) from events order by event_id, recipient_account_id"
    assert api.run_sql(rows, tmp_path / "s3-lake") == api.run_sql(rows, tmp_path / "folder-lake")
    assert bucket_summary["events_written"] == folder["events_written"] > 0


def test_a_role_is_assumed_first_when_asked(cli, moto_endpoint, bucket, lake_dir):
    given_log_object(s3_client(moto_endpoint), bucket, trail_key(TODAY), events_on(TODAY, 1))
    code, summary = ingest_s3(
        cli,
        bucket,
        lake_dir,
        moto_endpoint,
        "--role-arn",
        "arn:aws:iam::999988887777:role/log-reader",
        "--external-id",
        "trailwise-test",
    )
    assert (code, summary["events_written"]) == (0, 1)


def test_the_lake_records_each_object_with_its_etag_size_and_events(
    cli, moto_endpoint, bucket, lake_dir
):
    s3 = s3_client(moto_endpoint)
    key = trail_key(TODAY)
    data = given_log_object(s3, bucket, key, events_on(TODAY, 2))
    ingest_s3(cli, bucket, lake_dir, moto_endpoint)
    etag = s3.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')
    rows = api.run_sql("select 1 as x", lake_dir)  # the lake exists
    assert rows.num_rows == 1
    recorded = Lake(lake_dir).known_objects(
        __import__("pyarrow").table({"uri": [f"s3://{bucket}/{key}"], "fingerprint": [etag]})
    )
    assert recorded == {(f"s3://{bucket}/{key}", etag)}
    assert len(data) > 0


def test_a_long_backfill_lists_only_the_days_that_exist(cli, proxy, bucket, lake_dir):
    s3 = s3_client(proxy.url)
    old, recent = date(2025, 3, 14), TODAY - timedelta(days=2)
    given_log_object(s3, bucket, trail_key(old), events_on(old, 2))
    given_log_object(s3, bucket, trail_key(recent), events_on(recent, 3))
    proxy.clear()
    code, summary = ingest_s3(cli, bucket, lake_dir, proxy.url, "--since", "2025-01-01")
    assert (code, summary["events_written"]) == (0, 5)
    day_listings = [p for p in proxy.list_prefixes() if p.count("/") >= 8]
    assert sorted(day_listings) == sorted(
        keys.day_prefix("trail", None, "111122223333", "CloudTrail", "us-east-1", d)
        for d in (old, recent)
    )
    assert summary["list_requests"] < 20
