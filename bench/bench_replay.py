"""Replay a principal with a million calls, against ``policy suggest`` on the same lake measured
in the same run.

    .venv/bin/python bench/bench_replay.py                       # generate + ingest 1M calls first
    .venv/bin/python bench/bench_replay.py --lake /tmp/replay/lake --keep  # reuse that lake

The principal (``role/bench-app``) reads and writes S3 objects (some through a VPC endpoint,
some CopyObject), queries DynamoDB in two regions, sends SQS messages, decrypts through S3
(``kms:ViaService``), passes a role to Lambda and launches instances, from 200 addresses over
three days. Three replays:

- ``suggested``: its own ``policy suggest`` output (conditions on regions, VPC endpoints, ...);
- ``per-ip``: the same plus a Deny outside two networks (``aws:SourceIp``): one request per
  address;
- ``per-second``: the same plus a Deny after a date (``aws:CurrentTime``): one request per second
  of calls, the worst grouping a policy can force.

Each reports seconds, the ratio to the suggestion's seconds (this machine is shared; ratios
travel better), calls, distinct requests evaluated, and the outcome counts; the peak RSS is the
whole process's.
"""

from __future__ import annotations

import argparse
import copy
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
from trailwise.pipeline.policy.replay import replay

ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/bench-app"
START = datetime(2026, 11, 2, tzinfo=UTC)
PER_FILE = 1000
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def identity(invoked_by: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "AssumedRole",
        "principalId": "AROABENCHAPP:i-0bench",
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/bench-app/i-0bench",
        "accountId": ACCOUNT,
        "accessKeyId": "ASIABENCH",
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROABENCHAPP",
                "arn": ROLE,
                "accountId": ACCOUNT,
                "userName": "bench-app",
            },
            "attributes": {"creationDate": "2026-11-02T00:00:00Z", "mfaAuthenticated": "false"},
        },
    }
    if invoked_by:
        out["invokedBy"] = invoked_by
    return out


def call(rng: random.Random, n: int) -> dict[str, Any]:
    """One call of the mix (see the module docstring)."""
    at = START + timedelta(seconds=rng.randrange(3 * 86400))
    region = "us-east-1" if rng.random() < 0.7 else "eu-west-1"
    event: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": identity(),
        "eventTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "awsRegion": region,
        "sourceIPAddress": f"203.0.{rng.randrange(2)}.{rng.randrange(100)}",
        "userAgent": "aws-sdk-java/2.25.0",
        "requestID": f"REQ{n:010d}",
        "eventID": str(uuid.UUID(int=n + 1)),
        "eventType": "AwsApiCall",
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Data",
        "managementEvent": False,
        "readOnly": True,
    }
    kind = rng.random()
    key = f"orders/{rng.randrange(1000)}.json"
    if kind < 0.40:
        event |= {
            "eventSource": "s3.amazonaws.com",
            "eventName": "GetObject",
            "awsRegion": "us-east-1",
            "requestParameters": {"bucketName": "bench-orders", "key": key},
        }
    elif kind < 0.60:
        event |= {
            "eventSource": "s3.amazonaws.com",
            "eventName": "PutObject",
            "awsRegion": "us-east-1",
            "readOnly": False,
            "requestParameters": {"bucketName": "bench-exports", "key": key},
        }
        if rng.random() < 0.5:
            event |= {"vpcEndpointId": "vpce-0bench", "sourceIPAddress": "10.0.1.7"}
    elif kind < 0.62:
        event |= {
            "eventSource": "s3.amazonaws.com",
            "eventName": "CopyObject",
            "awsRegion": "us-east-1",
            "readOnly": False,
            "requestParameters": {
                "bucketName": "bench-exports",
                "key": key,
                "x-amz-copy-source": f"bench-orders/{key}",
            },
        }
    elif kind < 0.80:
        event |= {
            "eventSource": "dynamodb.amazonaws.com",
            "eventName": rng.choice(["GetItem", "Query"]),
            "requestParameters": {"tableName": f"bench-{rng.randrange(3)}"},
        }
    elif kind < 0.92:
        event |= {
            "eventSource": "sqs.amazonaws.com",
            "eventName": "SendMessage",
            "readOnly": False,
            "requestParameters": {
                "queueUrl": f"https://sqs.{region}.amazonaws.com/{ACCOUNT}/bench-queue"
            },
        }
    elif kind < 0.9995:
        event |= {
            "eventSource": "kms.amazonaws.com",
            "eventName": "Decrypt",
            "awsRegion": "us-east-1",
            "userIdentity": identity("s3.amazonaws.com"),
            "sourceIPAddress": "s3.amazonaws.com",
            "requestParameters": {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"},
            "resources": [
                {
                    "accountId": ACCOUNT,
                    "type": "AWS::KMS::Key",
                    "ARN": KEY,
                }
            ],
        }
    elif kind < 0.9998:
        event |= {
            "eventSource": "lambda.amazonaws.com",
            "eventName": "CreateFunction20150331",
            "eventCategory": "Management",
            "managementEvent": True,
            "readOnly": False,
            "requestParameters": {
                "functionName": "bench-fn",
                "role": f"arn:aws:iam::{ACCOUNT}:role/bench-fn",
            },
        }
    else:
        event |= {
            "eventSource": "ec2.amazonaws.com",
            "eventName": "RunInstances",
            "eventCategory": "Management",
            "managementEvent": True,
            "readOnly": False,
            "requestParameters": {
                "instancesSet": {"items": [{"imageId": "ami-0bench", "minCount": 1}]},
                "subnetId": "subnet-0bench",
            },
        }
    return event


def generate(root: Path, calls: int) -> None:
    rng = random.Random(17)
    for first in range(0, calls, PER_FILE):
        events = [call(rng, n) for n in range(first, min(first + PER_FILE, calls))]
        folder = root / "AWSLogs" / ACCOUNT / "CloudTrail" / "us-east-1" / "2026" / "11" / "02"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{ACCOUNT}_CloudTrail_us-east-1_20261102T0000Z_{first:016d}.json.gz"
        (folder / name).write_bytes(gzip.compress(orjson.dumps({"Records": events}), 1))


def with_statement(documents: list[dict[str, Any]], statement: dict[str, Any]) -> list[Any]:
    out = copy.deepcopy(documents)
    out[0]["Statement"].append(statement)
    return out


def timed_replay(lake: Lake, documents: list[dict[str, Any]]) -> dict[str, Any]:
    named = [(f"p{i}", d) for i, d in enumerate(documents, start=1)]
    started = time.perf_counter()
    result = replay(lake, ROLE, named)
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "calls": result.calls_checked,
        "requests": result.requests,
        "allowed": result.allowed,
        "refused": result.refused_calls,
        "unknown": result.unknown_calls,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--lake", type=Path, help="an existing lake of this benchmark, or where")
    parser.add_argument("--keep", action="store_true", help="keep the generated lake")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-replay-"))
    lake_dir = args.lake or work / "lake"
    report: dict[str, Any] = {"calls_generated": args.calls}
    if not lake_dir.exists():
        started = time.perf_counter()
        generate(work / "logs", args.calls)
        report["generate_seconds"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        api.ingest([str(work / "logs")], lake_dir)
        report["ingest_seconds"] = round(time.perf_counter() - started, 1)
        shutil.rmtree(work / "logs")
    lake = Lake(lake_dir)

    started = time.perf_counter()
    suggestion = api.policy_suggest(ROLE, lake)  # it replays its own policy too
    report["suggest_and_replay_seconds"] = round(time.perf_counter() - started, 2)
    base = suggestion.documents
    report["suggested"] = timed_replay(lake, base)
    suggest_only = report["suggest_and_replay_seconds"] - report["suggested"]["seconds"]
    report["suggest_seconds"] = round(suggest_only, 2)
    report["per-ip"] = timed_replay(
        lake,
        with_statement(
            base,
            {
                "Sid": "OnlyOffice",
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {
                    "NotIpAddress": {"aws:SourceIp": ["203.0.0.0/24", "203.0.1.0/25"]},
                    "Bool": {"aws:ViaAWSService": "false"},
                    "Null": {"aws:SourceVpce": "true"},
                },
            },
        ),
    )
    report["per-second"] = timed_replay(
        lake,
        with_statement(
            base,
            {
                "Sid": "Until",
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2026-11-04T12:00:00Z"}},
            },
        ),
    )
    for name in ("suggested", "per-ip", "per-second"):
        report[name]["ratio_to_suggest"] = round(
            report[name]["seconds"] / max(report["suggest_seconds"], 1e-9), 2
        )
    report["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(report, indent=2))
    if not args.keep and args.lake is None:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
