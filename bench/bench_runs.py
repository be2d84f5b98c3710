"""Hourly-job benchmark: 240 short runs (ten days of an hourly job) into one lake.

    python bench/bench_runs.py [--runs 240] [--files 8] [--events 50]

Each run is ``trailwise ingest DIR`` in a process of its own, as a scheduler starts it, after
that hour's delivery files (``--files`` of ``--events`` events, over regions) landed in DIR.
Prints the cost of a run at the start and at the end (the median of five runs each, the job's
own compaction runs apart), and of two named queries after the first day and at the end: what
grows with runs (snapshots, manifests, object records, the run log, the day files) must not make
the job slower. Figures are ratios within this one run: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.given import an_event  # noqa: E402

TRAILWISE = Path(sys.executable).with_name("trailwise")
REGIONS = ("us-east-1", "eu-west-1", "us-west-2", "ap-southeast-2")
CALLS = (
    ("s3.amazonaws.com", "GetObject"),
    ("s3.amazonaws.com", "ListBuckets"),
    ("ec2.amazonaws.com", "DescribeInstances"),
    ("sts.amazonaws.com", "AssumeRole"),
    ("iam.amazonaws.com", "ListRoles"),
    ("kms.amazonaws.com", "Decrypt"),
)
QUERIES = ("root_activity", "identity_paths")


def land_hour(root: Path, hour: datetime, files: int, events: int) -> None:
    """One hour of delivery files, as CloudTrail writes them (one per region and 5 minutes)."""
    for f in range(files):
        region = REGIONS[f % len(REGIONS)]
        at = hour + timedelta(minutes=5 * f)
        records = []
        for e in range(events):
            source, name = CALLS[(f + e) % len(CALLS)]
            overrides = {
                "eventTime": f"{at + timedelta(seconds=e):%Y-%m-%dT%H:%M:%SZ}",
                "eventSource": source,
                "eventName": name,
                "awsRegion": region,
            }
            if e % 97 == 0:
                overrides["userIdentity"] = {
                    "type": "Root",
                    "principalId": "111122223333",
                    "arn": "arn:aws:iam::111122223333:root",
                    "accountId": "111122223333",
                }
            records.append(an_event(**overrides))
        folder = root / "AWSLogs" / "111122223333" / "CloudTrail" / region / f"{at:%Y/%m/%d}"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"111122223333_CloudTrail_{region}_{at:%Y%m%dT%H%MZ}_bench{f:02d}.json.gz"
        (folder / name).write_bytes(gzip.compress(json.dumps({"Records": records}).encode()))


def timed(*args: str) -> tuple[float, dict | list]:
    started = time.perf_counter()
    proc = subprocess.run(
        [str(TRAILWISE), *args, "--format", "json"], capture_output=True, check=False
    )
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 2):
        raise SystemExit(f"trailwise {args[0]} failed: {proc.stderr.decode()[-1500:]}")
    return seconds, json.loads(proc.stdout)


def query_seconds(lake: Path) -> dict[str, float]:
    return {
        name: round(min(timed("query", name, "--lake", str(lake))[0] for _ in range(3)), 2)
        for name in QUERIES
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=240)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--events", type=int, default=50)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="trailwise-runs-"))
    logs, lake = work / "logs", work / "lake"
    start = datetime(2026, 11, 1, tzinfo=UTC)
    plain: list[tuple[int, float]] = []
    compacting: list[float] = []
    queries: dict[str, dict[str, float]] = {}
    events = 0
    for run in range(1, args.runs + 1):
        land_hour(logs, start + timedelta(hours=run - 1), args.files, args.events)
        seconds, summary = timed("ingest", str(logs), "--lake", str(lake))
        assert isinstance(summary, dict)
        events += summary["events_written"]
        assert summary["events_written"] == args.files * args.events, summary
        assert summary["files_skipped"] == (run - 1) * args.files, summary
        if summary.get("compacted"):
            compacting.append(seconds)
        else:
            plain.append((run, seconds))
        if run == min(24, args.runs):
            queries["after the first day"] = query_seconds(lake)
        if run % 24 == 0:
            print(f"run {run}: {seconds:.2f}s, {events:,} events", flush=True)
    queries["at the end"] = query_seconds(lake)
    first = statistics.median(s for _, s in plain[1:6])  # the first run creates the lake
    last = statistics.median(s for _, s in plain[-5:])
    _, status = timed("status", "--lake", str(lake))
    assert isinstance(status, dict)
    print(f"runs: {args.runs} x {args.files} files x {args.events} events = {events:,} events")
    print(f"run cost: start {first:.2f}s, end {last:.2f}s; end / start = {last / first:.2f}")
    if compacting:
        print(
            f"runs that compacted ({len(compacting)}): median {statistics.median(compacting):.2f}s"
        )
    for name in QUERIES:
        day1, end = queries["after the first day"][name], queries["at the end"][name]
        print(f"query {name}: after day 1 {day1:.2f}s, at the end {end:.2f}s; {end / day1:.2f}x")
    from trailwise.pipeline.lake import EVENTS_TABLE, Lake

    events_table = Lake(lake).load(EVENTS_TABLE)
    manifests = len(events_table.current_snapshot().manifests(events_table.io))
    print(
        f"lake at the end: {status['data_files']} event files in {manifests} manifests, "
        f"{status['snapshots']} snapshots of events, {status['runs']} runs logged"
    )
    print(f"lake kept at {lake}")


if __name__ == "__main__":
    main()
