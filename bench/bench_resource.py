"""``policy resource`` on a bucket with a million calls, against two baselines measured in the
same run on the same lake.

    .venv/bin/python bench/bench_resource.py                        # generate + ingest first
    .venv/bin/python bench/bench_resource.py --lake /tmp/res/lake --keep   # reuse that lake

The lake holds S3 data events on ``bench-shared`` (owned by 111122223333): its own app role
reading and writing, two roles of another account reading (the owner's copy with an
``AWSAccount`` identity and the caller's copy, sharing ``sharedEventID``), CloudTrail checking
the bucket's ACL and writing logs with its own service principal, and unauthenticated reads;
plus the same roles' calls on nine other buckets, so the resource is a tenth of the lake.

Reported: seconds of ``policy resource`` (callers, review, suggestion), of the named query
``resource_access`` over every resource (the analyst's question, the same view under it) and of
a plain DuckDB count of the bucket's events in ``events`` (the floor: one scan, no view);
ratios to the floor (this machine is shared; ratios travel better); the callers found; the
peak RSS of the whole process.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import resource
import shutil
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from trailwise.pipeline import api
from trailwise.pipeline.lake import Lake
from trailwise.pipeline.query import connect

OWNER, OTHER = "111122223333", "444455556666"
BUCKET = "bench-shared"
START = datetime(2026, 11, 2, tzinfo=UTC)
PER_FILE = 1000


def session(account: str, name: str) -> dict[str, Any]:
    role_id = f"AROA{name.upper().replace('-', ''):0<16}"[:20]
    return {
        "type": "AssumedRole",
        "principalId": f"{role_id}:s",
        "arn": f"arn:aws:sts::{account}:assumed-role/{name}/s",
        "accountId": account,
        "accessKeyId": "ASIABENCH",
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": role_id,
                "arn": f"arn:aws:iam::{account}:role/{name}",
                "accountId": account,
                "userName": name,
            },
            "attributes": {"creationDate": "2026-11-02T00:00:00Z", "mfaAuthenticated": "false"},
        },
    }


def s3_call(rng: random.Random, n: int, bucket: str) -> list[dict[str, Any]]:
    """One call (two records when it crosses accounts)."""
    at = START + timedelta(seconds=rng.randrange(3 * 86400))
    key = f"data/{rng.randrange(5000)}.json"
    base: dict[str, Any] = {
        "eventVersion": "1.09",
        "eventTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "s3.amazonaws.com",
        "awsRegion": "us-east-1",
        "sourceIPAddress": f"203.0.113.{rng.randrange(200)}",
        "userAgent": "aws-sdk-java/2.25.0",
        "requestID": f"REQ{n:010d}",
        "eventID": str(uuid.UUID(int=n + 1)),
        "eventType": "AwsApiCall",
        "recipientAccountId": OWNER,
        "eventCategory": "Data",
        "managementEvent": False,
        "readOnly": True,
        "eventName": "GetObject",
        "requestParameters": {"bucketName": bucket, "key": key},
        "resources": [
            {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"},
            {"accountId": OWNER, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"},
        ],
    }
    kind = rng.random()
    if kind < 0.5:
        return [base | {"userIdentity": session(OWNER, "bench-app")}]
    if kind < 0.6:
        return [
            base
            | {
                "userIdentity": session(OWNER, "bench-app"),
                "eventName": "PutObject",
                "readOnly": False,
            }
        ]
    if kind < 0.85:
        reader = rng.choice(["reader-a", "reader-b"])
        caller = session(OTHER, reader)
        shared = str(uuid.UUID(int=(1 << 100) + n))
        owner_copy = base | {
            "userIdentity": {
                "type": "AWSAccount",
                "principalId": caller["principalId"],
                "accountId": OTHER,
            },
            "sharedEventID": shared,
        }
        caller_copy = base | {
            "userIdentity": caller,
            "recipientAccountId": OTHER,
            "eventID": str(uuid.UUID(int=(1 << 101) + n)),
            "sharedEventID": shared,
        }
        return [owner_copy, caller_copy]
    if kind < 0.95:
        service = {"type": "AWSService", "invokedBy": "cloudtrail.amazonaws.com"}
        name = "GetBucketAcl" if rng.random() < 0.2 else "PutObject"
        return [
            base
            | {
                "userIdentity": service,
                "sourceIPAddress": "cloudtrail.amazonaws.com",
                "userAgent": "cloudtrail.amazonaws.com",
                "eventName": name,
                "readOnly": name == "GetBucketAcl",
            }
        ]
    return [
        base
        | {
            "userIdentity": {
                "type": "AWSAccount",
                "principalId": "",
                "accountId": "ANONYMOUS_PRINCIPAL",
            }
        }
    ]


def generate(root: Path, calls: int) -> int:
    """``calls`` calls, a tenth of them on BUCKET; the records written."""
    rng = random.Random(23)
    records = 0
    for first in range(0, calls, PER_FILE):
        events: list[dict[str, Any]] = []
        for n in range(first, min(first + PER_FILE, calls)):
            bucket = BUCKET if n % 10 == 0 else f"bench-other-{n % 10}"
            events.extend(s3_call(rng, n, bucket))
        records += len(events)
        for account in (OWNER, OTHER):
            mine = [e for e in events if e["recipientAccountId"] == account]
            folder = root / "AWSLogs" / account / "CloudTrail" / "us-east-1" / "2026" / "11" / "02"
            folder.mkdir(parents=True, exist_ok=True)
            name = f"{account}_CloudTrail_us-east-1_20261102T0000Z_{first:016d}.json.gz"
            (folder / name).write_bytes(gzip.compress(orjson.dumps({"Records": mine}), 1))
    return records


def timed(run: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    value = run()
    return round(time.perf_counter() - started, 2), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--lake", type=Path, help="an existing lake of this benchmark, or where")
    parser.add_argument("--keep", action="store_true", help="keep the generated lake")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-resource-"))
    lake_dir = args.lake or work / "lake"
    report: dict[str, Any] = {"calls_generated": args.calls}
    if not lake_dir.exists():
        seconds, records = timed(lambda: generate(work / "logs", args.calls))
        report |= {"records": records, "generate_seconds": seconds}
        report["ingest_seconds"], _ = timed(lambda: api.ingest([str(work / "logs")], lake_dir))
        shutil.rmtree(work / "logs")
    lake = Lake(lake_dir)

    def floor() -> int:
        con = connect(lake)
        try:
            sql = "select count(*) from events where request_parameters ->> 'bucketName' = $b"
            return int(con.sql(sql, params={"b": BUCKET}).fetchall()[0][0])
        finally:
            con.close()

    report["floor_seconds"], report["bucket_events"] = timed(floor)
    seconds, table = timed(lambda: api.run_named("resource_access", lake, {}))
    report["resource_access_seconds"], report["resources"] = seconds, table.num_rows
    seconds, result = timed(lambda: api.policy_resource(f"arn:aws:s3:::{BUCKET}", lake))
    report["policy_resource_seconds"] = seconds
    report["callers"] = {c.arn: c.calls + c.denied for c in result.callers}
    for name in ("resource_access", "policy_resource"):
        report[f"{name}_ratio_to_floor"] = round(
            report[f"{name}_seconds"] / max(report["floor_seconds"], 1e-9), 1
        )
    report["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(report, indent=2))
    if not args.keep and args.lake is None:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
