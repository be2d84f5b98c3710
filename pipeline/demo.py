"""The demo: sample_logs/ served by an in-process S3 emulator, ingested through s3:// into a lake.

No AWS account or credentials are used: the emulator (moto) listens on 127.0.0.1 only and the
clients carry dummy keys set for this process.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trailwise.pipeline import ingest, query, sqlfile
from trailwise.pipeline.errors import TrailwiseError, UsageError
from trailwise.pipeline.iam.store import load_into_lake
from trailwise.pipeline.lake import Lake, maintenance
from trailwise.pipeline.policy import suggest
from trailwise.pipeline.policy.diff import diff
from trailwise.pipeline.policy.replay import numbered, replay
from trailwise.pipeline.policy.resource_policy import suggest_resource_policy
from trailwise.pipeline.policy.trust import suggest_trust
from trailwise.pipeline.sources import keys
from trailwise.pipeline.sources.s3 import S3Config

DEMO_BUCKET = "acme-cloudtrail-logs"


@dataclass
class DemoResult:
    endpoint: str
    bucket: str
    objects_uploaded: int
    ingests: list[Any]
    status: dict[str, Any]
    summary: Any
    principals: Any
    snapshots: list[Any]
    root_summary: Any
    suggestion: Any  # the CI role's least-privilege policy
    diff: Any  # the EC2 app role's grants against its use
    trust: Any  # who assumes the CI role
    replay: Any  # the CI role's calls replayed against its suggestion
    resource: Any  # who uses the artifacts bucket, its policy reviewed, the suggested one


DEMO_CI_ROLE = "arn:aws:iam::111122223333:role/github-actions-deploy"
DEMO_APP_ROLE = "arn:aws:iam::111122223333:role/app-role"
# Read from the dev account through a policy granting that whole account (scenario 10).
DEMO_BUCKET_ARN = "arn:aws:s3:::acme-prod-artifacts"


def run_demo(sample_logs: Path, lake: Lake) -> DemoResult:
    """Upload ``sample_logs`` to an emulated bucket under the real key layout and ingest it."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        raise TrailwiseError(
            "the demo needs the S3 emulator moto", hint="pip install 'trailwise[demo]'"
        ) from None
    if not (sample_logs / "AWSLogs").is_dir():
        raise UsageError(f"{sample_logs} holds no AWSLogs/ tree", hint="pass --sample-logs DIR")
    # Dummy credentials for the emulator; the demo never talks to AWS.
    os.environ.update(
        AWS_ACCESS_KEY_ID="demo",
        AWS_SECRET_ACCESS_KEY="demo",  # noqa: S106  (the emulator accepts any key)
        AWS_DEFAULT_REGION="us-east-1",
    )
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per emulated request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        import boto3

        s3 = boto3.client("s3", endpoint_url=endpoint)
        s3.create_bucket(Bucket=DEMO_BUCKET)
        uploaded, first_day, sources = 0, None, set()
        for path in sorted(p for p in sample_logs.rglob("*") if p.is_file()):
            key = path.relative_to(sample_logs).as_posix()
            parsed = keys.parse_key(key)
            if parsed is None:
                continue  # README.md, iam/: not part of the trail bucket
            s3.put_object(Bucket=DEMO_BUCKET, Key=key, Body=path.read_bytes())
            uploaded += 1
            first_day = min(first_day or parsed.day, parsed.day)
            sources.add(f"s3://{DEMO_BUCKET}/{parsed.prefix}".rstrip("/"))
        # The sample's days are fixed; start the window there rather than 7 days ago.
        since = datetime.combine(first_day or datetime.now(UTC).date(), datetime.min.time(), UTC)
        config = S3Config(endpoint_url=endpoint)
        window = ingest.Window(since)
        # The second run shows the batch job's steady state: nothing new, nothing downloaded.
        ingests = [
            ingest.ingest(ingest.open_sources(sorted(sources), lake, window, config), lake, window)
            for _ in range(2)
        ]
    finally:
        server.stop()
    # The IAM snapshots beside the logs, taken when the logs end, for the permission answers.
    snapshots = [
        load_into_lake(lake, path, captured_at=datetime(2026, 11, 5, 8, tzinfo=UTC))
        for path in sorted((sample_logs / "iam").glob("*.json"))
    ]
    suggestion = suggest(lake, DEMO_CI_ROLE) if snapshots else None
    return DemoResult(
        endpoint,
        DEMO_BUCKET,
        uploaded,
        ingests,
        maintenance.status(lake),
        query.run_named(lake, "lake_summary"),
        query.run_sql(lake, sqlfile.text("trailwise.pipeline", "demo_principals")),
        snapshots,
        query.run_named(lake, "root_summary"),
        suggestion,
        diff(lake, DEMO_APP_ROLE) if snapshots else None,
        suggest_trust(lake, DEMO_CI_ROLE) if snapshots else None,
        replay(lake, DEMO_CI_ROLE, numbered(suggestion.name, suggestion.documents))
        if suggestion
        else None,
        suggest_resource_policy(lake, DEMO_BUCKET_ARN),
    )
