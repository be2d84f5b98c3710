"""An S3 lake with a Glue catalog keeps its guarantees: runs killed at random moments are
completed exactly by the next, and two runners started at once from two working folders never
duplicate or lose an event (one holds the lease; the other is refused and runs again later)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import time
from pathlib import Path

import boto3

from tests.ingest.test_crash import TRAILWISE, given_many_files, kill_after
from trailwise.pipeline import api
from trailwise.pipeline.lake import Lake
from trailwise.pipeline.lake.lease import LEASE_KEY

TERM = 3  # seconds of lease: a killed run's lease frees itself quickly


def s3_lake_process(source: Path, lake: str, cwd: Path, endpoint: str) -> subprocess.Popen[bytes]:
    env = os.environ | {"AWS_ENDPOINT_URL": endpoint, "TRAILWISE_LEASE_SECONDS": str(TERM)}
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            *(str(TRAILWISE), "ingest", str(source), "--lake", lake, "--catalog", "glue"),
            *("--namespace", namespace_of(lake), "--format", "json", "--workers", "2"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        cwd=cwd,
        env=env,
    )


def namespace_of(lake: str) -> str:
    return "tw_" + lake.rsplit("/", 1)[-1].replace("-", "_")


def run_until_done(source: Path, lake: str, cwd: Path, endpoint: str) -> dict:
    """Run again while the lease of a killed run has not expired yet."""
    for _ in range(20):
        proc = s3_lake_process(source, lake, cwd, endpoint)
        out, err = proc.communicate(timeout=300)
        if proc.returncode == 1 and b"is locked by another run" in err:
            time.sleep(1)
            continue
        assert proc.returncode == 0, err.decode()
        return dict(json.loads(out))
    raise AssertionError("the lease never freed itself")


def counts(lake: str, endpoint: str, monkeypatch) -> dict:
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    return api.run_sql(
        "select count(*) as events, count(distinct (event_id, recipient_account_id)) as keys "
        "from events",
        Lake(lake),
    ).to_pylist()[0]


def test_s3_lake_runs_killed_at_random_moments_are_completed_exactly(
    tmp_path, moto_endpoint, bucket, monkeypatch
):
    expected = given_many_files(tmp_path / "logs", files=24, per_file=300)
    lake = f"s3://{bucket}/lake-{bucket[-6:]}"
    rng = random.Random(7)
    for n, delay in enumerate(rng.uniform(1.0, 6.0) for _ in range(3)):
        proc = s3_lake_process(tmp_path / "logs", lake, tmp_path / f"run{n}", moto_endpoint)
        kill_after(proc, delay)
    time.sleep(TERM)  # the last killed run's lease expires
    summary = run_until_done(tmp_path / "logs", lake, tmp_path / "final", moto_endpoint)
    assert summary["records_in"] == summary["events_written"] + summary["duplicates"]
    assert counts(lake, moto_endpoint, monkeypatch) == {"events": expected, "keys": expected}
    again = run_until_done(tmp_path / "logs", lake, tmp_path / "again", moto_endpoint)
    assert again["files_skipped"] == again["files_seen"]


def test_two_runners_started_at_once_on_one_s3_lake_never_double_an_event(
    tmp_path, moto_endpoint, bucket, monkeypatch
):
    expected = given_many_files(tmp_path / "logs", files=12, per_file=200)
    lake = f"s3://{bucket}/lake-{bucket[-6:]}"
    procs = [
        s3_lake_process(tmp_path / "logs", lake, tmp_path / f"machine{n}", moto_endpoint)
        for n in range(2)
    ]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
    codes = sorted(code for code, _ in results)
    # Either one held the lease while the other was refused, or they ran one after the other.
    assert codes in ([0, 0], [0, 1]), results
    for code, err in results:
        if code == 1:
            assert b"is locked by another run" in err and len(err.strip().splitlines()) == 1
    run_until_done(tmp_path / "logs", lake, tmp_path / "machine0", moto_endpoint)
    assert counts(lake, moto_endpoint, monkeypatch) == {"events": expected, "keys": expected}
    bucket_name, prefix = lake.removeprefix("s3://").split("/", 1)
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    leftover = s3.list_objects_v2(Bucket=bucket_name, Prefix=f"{prefix}/{LEASE_KEY}")
    assert leftover.get("KeyCount", 0) == 0
