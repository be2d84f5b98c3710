"""Given-helpers: CloudTrail events, delivery files in the real layout, the CLI."""

from __future__ import annotations

import gzip
import itertools
import json
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from typer.testing import CliRunner

from trailwise.cli.main import app
from trailwise.pipeline.sources import keys

REPO = Path(__file__).resolve().parent.parent
# Real-world data from public projects, copied with its licences (tests/fixtures/README.md).
FIXTURES = REPO / "tests" / "fixtures"
REALDATA = FIXTURES / "realdata"
CLOUDSPLAINING_EXAMPLE = FIXTURES / "iam" / "cloudsplaining" / "examples__files__example.json"
SAMPLE_LOGS = REPO / "sample_logs"
PROD_SNAPSHOT = SAMPLE_LOGS / "iam" / "authorization-details-111122223333.json"
DEV_SNAPSHOT = SAMPLE_LOGS / "iam" / "authorization-details-444455556666.json"
# sample_logs' EC2 role and the actions it used (scenario 6 of sample_logs/README.md).
APP_ROLE = "arn:aws:iam::111122223333:role/app-role"
APP_ROLE_USED = frozenset(
    {
        "dynamodb:GetItem",
        "dynamodb:Query",
        "lambda:InvokeFunction",
        "s3:GetObject",
        "s3:PutObject",
        "sqs:SendMessage",
        "ssm:UpdateInstanceInformation",
    }
)

_ids = itertools.count(1)


def an_event(**overrides: Any) -> dict[str, Any]:
    """A realistic management event by an assumed-role session; override any field."""
    n = next(_ids)
    event: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLEID:session",
            "arn": "arn:aws:sts::111122223333:assumed-role/app-role/session",
            "accountId": "111122223333",
            "accessKeyId": "ASIAEXAMPLEKEY",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": "AROAEXAMPLEID",
                    "arn": "arn:aws:iam::111122223333:role/service/app-role",
                    "accountId": "111122223333",
                    "userName": "app-role",
                },
                "attributes": {"creationDate": "2026-11-02T09:00:00Z", "mfaAuthenticated": "false"},
            },
        },
        "eventTime": "2026-11-02T10:00:00Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": "ListBuckets",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.7",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": None,
        "responseElements": None,
        "requestID": f"REQ{n:08d}",
        "eventID": str(uuid.UUID(int=n)),
        "readOnly": True,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": "111122223333",
        "eventCategory": "Management",
    }
    event.update(overrides)
    return event


# How CloudTrail logs an unauthenticated request (a public-bucket read, say).
ANONYMOUS = {"type": "AWSAccount", "principalId": "", "accountId": "ANONYMOUS_PRINCIPAL"}


def an_aggregated_event(
    dimension: str = "userIdentity",
    principal: str = "arn:aws:sts::111122223333:assumed-role/app-role/session",
    calls: dict[str, int] | None = None,
    errors: dict[str, int] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A 5-minute aggregated summary of S3 data events (shaped as the CloudTrail user guide
    documents it): by default a USER_ACTIONS one of ``principal``'s ``calls`` per event name."""
    n = next(_ids)
    calls = calls if calls is not None else {"GetObject": 12}
    primary_name = principal if dimension == "userIdentity" else next(iter(calls))
    details: list[dict[str, Any]] = [
        {
            "dimension": "eventName",
            "statistics": [{"name": name, "value": value} for name, value in calls.items()],
            "aggregationType": "Count",
        }
    ]
    if errors:
        details.append(
            {
                "dimension": "errorCode",
                "statistics": [{"name": name, "value": value} for name, value in errors.items()],
                "aggregationType": "Count",
            }
        )
    event: dict[str, Any] = {
        "eventVersion": "1.0",
        "accountId": "111122223333",
        "eventId": str(uuid.UUID(int=1 << 64 | n)),
        "eventCategory": "Aggregated",
        "eventType": "AwsAggregatedEvent",
        "awsRegion": "us-east-1",
        "eventSource": "s3.amazonaws.com",
        "timeWindow": {
            "windowStart": "2026-11-02T10:00:00Z",
            "windowEnd": "2026-11-02T10:05:00Z",
            "windowSize": "PT5M",
        },
        "summary": {
            "primaryDimension": {
                "dimension": dimension,
                "statistics": [{"name": primary_name, "value": sum(calls.values())}],
                "aggregationType": "Count",
            },
            "details": details,
        },
    }
    event.update(overrides)
    return event


def delivery_name(
    account: str = "111122223333",
    region: str = "us-east-1",
    stamp: str = "20261102T1005Z",
    unique: str = "AbCdEfGh12345678",
) -> str:
    return f"{account}_CloudTrail_{region}_{stamp}_{unique}.json.gz"


def given_delivery_file(
    root: Path,
    events: list[dict[str, Any]],
    *,
    account: str = "111122223333",
    region: str = "us-east-1",
    day: str = "2026/11/02",
    name: str | None = None,
    org: str | None = None,
) -> Path:
    """A gzip ``{"Records": [...]}`` file at its real place in the delivery layout."""
    org_part = f"{org}/" if org else ""
    folder = root / "AWSLogs" / org_part / account / "CloudTrail" / region / day
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or delivery_name(account, region, unique=uuid.uuid4().hex[:16]))
    path.write_bytes(gzip.compress(orjson.dumps({"Records": events}), mtime=0))
    assert keys.parse_key(path.as_posix()) is not None
    return path


def given_file(path: Path, content: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


class Cli:
    """The real typer app, through CliRunner."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str) -> Any:
        return self.runner.invoke(app, [str(a) for a in args], catch_exceptions=False)

    def json(self, *args: str) -> Any:
        result = self(*args, "--format", "json")
        assert result.stdout.strip(), result.stderr
        return json.loads(result.stdout)


def reconciles(summary: dict[str, Any]) -> bool:
    """records_in = events_written + aggregated_written + duplicates + records_quarantined +
    records_filtered."""
    return summary["records_in"] == (
        summary["events_written"]
        + summary["aggregated_written"]
        + summary["duplicates"]
        + summary["records_quarantined"]
        + summary["records_filtered"]
    )


def corrupted_delivery_files(seed: int, count: int = 300) -> Iterator[tuple[Path, bytes]]:
    """``count`` sample delivery files, each with bytes changed, cut short or inserted
    (quotes, braces, escapes, NUL, bytes that are not UTF-8, a 30-digit number): the file and
    its corrupted, uncompressed text."""
    files = sorted(SAMPLE_LOGS.glob("AWSLogs/*/CloudTrail/**/*.json.gz"))
    rng = random.Random(seed)
    for _ in range(count):
        path = rng.choice(files)
        raw = bytearray(gzip.decompress(path.read_bytes()))
        how = rng.randrange(3)
        if how == 0:
            for _ in range(rng.randint(1, 5)):
                raw[rng.randrange(len(raw))] = rng.randrange(256)
        elif how == 1:
            raw = raw[: rng.randrange(len(raw))]
        else:
            at = rng.randrange(len(raw))
            raw[at:at] = rng.choice([b'"', b"{", b"\\", b"\x00", b"\xff\xfe", b"}]", b"9" * 30])
        yield path, bytes(raw)
