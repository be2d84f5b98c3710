"""A run killed at any moment leaves a lake the next run completes exactly."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.given import an_event, given_delivery_file
from trailwise.pipeline import api

TRAILWISE = Path(sys.executable).with_name("trailwise")


def given_many_files(root: Path, files: int = 60, per_file: int = 400) -> int:
    for f in range(files):
        events = [
            an_event(
                eventTime=f"2026-11-0{2 + f % 3}T{f % 24:02d}:00:00Z",
                requestParameters={"bucketName": "b", "key": "k" * 200},
            )
            for _ in range(per_file)
        ]
        given_delivery_file(
            root, events, region=("us-east-1", "eu-west-1")[f % 2], day=f"2026/11/0{2 + f % 3}"
        )
    return files * per_file


def ingest_process(source: Path, lake: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            str(TRAILWISE),
            "ingest",
            str(source),
            "--lake",
            str(lake),
            "--format",
            "json",
            "--workers",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def kill_after(proc: subprocess.Popen[bytes], seconds: float) -> None:
    time.sleep(seconds)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)  # the run and its decoding workers
    proc.wait()


def lake_counts(lake: Path) -> dict:
    return api.run_sql(
        "select count(*) as events, count(distinct (event_id, recipient_account_id)) as keys "
        "from events",
        lake,
    ).to_pylist()[0]


def check_killed_runs_then_complete(tmp_path: Path, delays: list[float]) -> None:
    expected = given_many_files(tmp_path / "logs")
    lake = tmp_path / "lake"
    for delay in delays:
        kill_after(ingest_process(tmp_path / "logs", lake), delay)
    final = ingest_process(tmp_path / "logs", lake)
    out, err = final.communicate(timeout=300)
    assert final.returncode == 0, err.decode()
    summary = json.loads(out)
    assert summary["records_in"] == summary["events_written"] + summary["duplicates"]
    assert lake_counts(lake) == {"events": expected, "keys": expected}
    # And once complete, a further run has nothing to do.
    again = ingest_process(tmp_path / "logs", lake)
    out, _ = again.communicate(timeout=300)
    assert json.loads(out)["files_skipped"] == json.loads(out)["files_seen"]


def test_runs_killed_at_random_moments_lose_and_double_nothing(tmp_path):
    rng = random.Random(2)
    check_killed_runs_then_complete(tmp_path, [rng.uniform(0.5, 4.0) for _ in range(3)])


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(5))
def test_many_kill_points_lose_and_double_nothing(tmp_path, seed):
    rng = random.Random(seed)
    check_killed_runs_then_complete(tmp_path, [rng.uniform(0.1, 6.0) for _ in range(4)])


def s3_ingest_process(endpoint: str, bucket: str, lake: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            str(TRAILWISE),
            "ingest",
            f"s3://{bucket}/trail",
            "--lake",
            str(lake),
            "--format",
            "json",
            "--endpoint-url",
            endpoint,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def given_many_objects(endpoint: str, bucket: str, objects: int = 40, per_object: int = 300) -> int:
    from tests.s3world import given_log_object, s3_client

    s3 = s3_client(endpoint)
    today = datetime.now(UTC).date()
    for n in range(objects):
        day = today - timedelta(days=n % 3)
        key = (
            f"trail/AWSLogs/111122223333/CloudTrail/us-east-1/{day:%Y/%m/%d}/111122223333_"
            f"CloudTrail_us-east-1_{day:%Y%m%d}T{n % 24:02d}05Z_{n:016d}.json.gz"
        )
        given_log_object(
            s3,
            bucket,
            key,
            [
                an_event(eventTime=f"{day}T{n % 24:02d}:00:00Z", requestParameters={"k": "v" * 300})
                for _ in range(per_object)
            ],
        )
    return objects * per_object


def test_s3_runs_killed_at_random_moments_lose_and_double_nothing(tmp_path, moto_endpoint, bucket):
    expected = given_many_objects(moto_endpoint, bucket)
    lake = tmp_path / "lake"
    rng = random.Random(5)
    for delay in [rng.uniform(0.3, 3.0) for _ in range(3)]:
        kill_after(s3_ingest_process(moto_endpoint, bucket, lake), delay)
    final = s3_ingest_process(moto_endpoint, bucket, lake)
    out, err = final.communicate(timeout=300)
    assert final.returncode == 0, err.decode()
    summary = json.loads(out)
    assert summary["records_in"] == summary["events_written"] + summary["duplicates"]
    assert lake_counts(lake) == {"events": expected, "keys": expected}


def test_a_second_run_while_one_is_running_is_refused_and_harms_nothing(tmp_path, proxy, bucket):
    from tests.given import Cli

    expected = given_many_objects(proxy.url, bucket, objects=6, per_object=10)
    proxy.inject("delay", "/trail/AWSLogs/111122223333/CloudTrail/us-east-1/", times=6, seconds=3.0)
    lake = tmp_path / "lake"
    first = s3_ingest_process(proxy.url, bucket, lake)
    lock = lake / ".lock"
    deadline = time.monotonic() + 30
    while (
        not (lock.exists() and lock.read_text().startswith("pid")) and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    second = Cli()(
        "ingest", f"s3://{bucket}/trail", "--lake", str(lake), "--endpoint-url", proxy.url
    )
    _, err = first.communicate(timeout=120)
    assert second.exit_code == 1
    assert "is locked by another run (pid" in second.stderr
    assert first.returncode == 0, err.decode()
    assert lake_counts(lake) == {"events": expected, "keys": expected}
