"""IAM snapshots in the lake: ``LAKE/iam/SNAPSHOT_ID/TABLE.parquet`` plus ``manifest.json``.

A snapshot lands whole or not at all: its tables (and the grants its policies expand to) are
written into a temporary folder that is renamed into place last. Loading the same content twice
is a no-op (the snapshot id is a hash of the content). Queries see, per account, the snapshot
with the latest capture time (:func:`latest_tables`).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from trailwise.pipeline.errors import UsageError
from trailwise.pipeline.iam import observable
from trailwise.pipeline.iam.expand import expand_all
from trailwise.pipeline.iam.model import Snapshot
from trailwise.pipeline.iam.snapshot import load_authorization_details, load_file
from trailwise.pipeline.iam.tables import to_tables
from trailwise.pipeline.lake import Lake
from trailwise.pipeline.mapping import action_info

FORMAT_VERSION = 1
TABLES = (
    "principals",
    "groups",
    "group_members",
    "policies",
    "attachments",
    "inline_policies",
    "access_keys",
    "grants",
)
_L = pa.list_(pa.string())
GRANTS_SCHEMA = pa.schema(
    [
        ("snapshot_id", pa.string()),
        ("captured_at", pa.timestamp("us", tz="UTC")),
        ("account_id", pa.string()),
        ("principal_arn", pa.string()),
        ("action", pa.string()),
        ("service", pa.string()),
        ("access_level", pa.string()),
        ("resource_scope", _L),  # ["*"] or the ARN patterns of the granting statements
        ("is_not_resource", pa.bool_()),
        ("is_conditional", pa.bool_()),
        ("conditions", pa.string()),
        ("granted_by", _L),
        ("is_bounded_by_boundary", pa.bool_()),
        ("is_conditionally_denied", pa.bool_()),
        ("denied_resources", _L),
        ("denied_by", _L),
    ]
)


@dataclass
class IamLoadResult:
    snapshot_id: str
    source: str
    accounts: list[str]
    captured_at: str
    is_new: bool
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


IAM_KEY = "iam"  # under the lake's root: iam/SNAPSHOT/{TABLE.parquet, manifest.json}


def grants_table(snapshot: Snapshot) -> pa.Table:
    """Every principal's granted actions, one row per (principal, action)."""
    account_of = {p.arn: p.account_id for p in snapshot.principals}
    cols: dict[str, list[Any]] = {name: [] for name in GRANTS_SCHEMA.names}
    for grant in expand_all(snapshot):
        service, level = action_info(grant.action) or (grant.action.split(":", 1)[0], None)
        scope = grant.resource_scope
        cols["principal_arn"].append(grant.principal_arn)
        cols["account_id"].append(account_of.get(grant.principal_arn))
        cols["action"].append(grant.action)
        cols["service"].append(service)
        cols["access_level"].append(level)
        cols["resource_scope"].append([scope] if isinstance(scope, str) else list(scope))
        cols["is_not_resource"].append(grant.is_not_resource)
        cols["is_conditional"].append(grant.is_conditional)
        cols["conditions"].append(grant.conditions)
        cols["granted_by"].append(list(grant.granted_by))
        cols["is_bounded_by_boundary"].append(grant.is_bounded_by_boundary)
        cols["is_conditionally_denied"].append(grant.is_conditionally_denied)
        cols["denied_resources"].append(list(grant.denied_resources))
        cols["denied_by"].append(list(grant.denied_by))
    rows = len(cols["action"])
    cols["snapshot_id"] = [snapshot.snapshot_id] * rows
    cols["captured_at"] = [snapshot.captured_at] * rows
    return pa.table(cols, schema=GRANTS_SCHEMA)


def load_into_lake(
    lake: Lake,
    path: Path | None = None,
    captured_at: datetime | None = None,
    aws: Any = None,
) -> IamLoadResult:
    """Load one authorization-details file (one or several accounts), or with ``aws`` (an
    :class:`~trailwise.pipeline.s3.S3Config`) fetch the caller's account, into the lake."""
    started = time.perf_counter()
    when = captured_at or datetime.now(UTC)
    if aws is not None:
        source = f"aws:{aws.role_arn or aws.profile or 'default credentials'}"
        snapshot = load_authorization_details(fetch_from_aws(aws), source, when)
    elif path is not None:
        source = str(path)
        snapshot = load_file(path, captured_at=when)
    else:
        raise UsageError("give a snapshot FILE or --from-aws")
    result = IamLoadResult(
        snapshot_id=snapshot.snapshot_id,
        source=source,
        accounts=sorted({p.account_id for p in snapshot.principals}),
        captured_at=when.isoformat(),
        is_new=True,
    )
    lake.create()
    with lake.lock():
        folder = f"{IAM_KEY}/{snapshot.snapshot_id}"
        stored_manifest = lake.store.read(f"{folder}/manifest.json")
        if stored_manifest is not None:
            stored = orjson.loads(stored_manifest)
            result.is_new = False
            result.captured_at = stored["captured_at"]
            result.seconds = round(time.perf_counter() - started, 3)
            return result
        tables = to_tables(snapshot)
        tables["grants"] = grants_table(snapshot)
        # The manifest is written last: a snapshot without one is a load that died, whose
        # files the next load of it overwrites, and which no reader sees.
        for name in TABLES:
            lake.store.write_parquet(
                tables[name], lake.store.uri(f"{folder}/{name}.parquet"), compression="zstd"
            )
            result.rows[name] = tables[name].num_rows
        manifest = {
            "format_version": FORMAT_VERSION,
            "snapshot_id": snapshot.snapshot_id,
            "captured_at": result.captured_at,
            "accounts": result.accounts,
            "source": result.source,
            "rows": result.rows,
        }
        lake.store.write(
            f"{folder}/manifest.json", orjson.dumps(manifest, option=orjson.OPT_INDENT_2)
        )
        observable.table(lake)  # computed once per mapping version, for the queries
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def manifests(lake: Lake) -> list[dict[str, Any]]:
    """Every complete snapshot's manifest, oldest capture first."""
    base = lake.store.uri(IAM_KEY) + "/"
    found = []
    for listed in lake.store.list(IAM_KEY):
        key = listed.uri.removeprefix(base)
        if key.count("/") == 1 and key.endswith("/manifest.json"):
            data = lake.store.read(f"{IAM_KEY}/{key}")
            if data is not None:
                found.append(orjson.loads(data))
    return sorted(found, key=lambda m: (m["captured_at"], m["snapshot_id"]))


def latest(lake: Lake) -> pa.Table:
    """(snapshot_id, account_id) of the latest snapshot of each account."""
    chosen: dict[str, str] = {}
    for manifest in manifests(lake):
        for account in manifest["accounts"]:
            chosen[account] = manifest["snapshot_id"]
        # AWS managed policies (account "aws") come from the newest snapshot of all.
        chosen["aws"] = manifest["snapshot_id"]
    return pa.table(
        {"snapshot_id": list(chosen.values()), "account_id": list(chosen.keys())},
        schema=pa.schema([("snapshot_id", pa.string()), ("account_id", pa.string())]),
    )


def require_snapshot(lake: Lake) -> None:
    """Fail with what to do when the lake holds no IAM snapshot.

    Raises:
        UsageError: no snapshot has been loaded.
    """
    lake.require()
    if latest(lake).num_rows == 0:
        raise UsageError(
            f"the lake {lake.root} holds no IAM snapshot",
            hint="load one first: trailwise iam load FILE (or --from-aws)",
        )


def table_files(lake: Lake, name: str, snapshot_ids: list[str]) -> list[str]:
    return [lake.store.uri(f"{IAM_KEY}/{sid}/{name}.parquet") for sid in sorted(set(snapshot_ids))]


def fetch_from_aws(config: Any) -> dict[str, Any]:
    """``get-account-authorization-details`` of the caller's account, every page, as the CLI
    prints it (one document, dates as ISO text)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from trailwise.pipeline.errors import SourceError
    from trailwise.pipeline.sources.s3 import aws_session, error_code

    client = aws_session(config, "trailwise-iam-snapshot").client(
        "iam", endpoint_url=config.endpoint_url
    )
    doc: dict[str, list[Any]] = {
        "UserDetailList": [],
        "GroupDetailList": [],
        "RoleDetailList": [],
        "Policies": [],
    }
    try:
        for page in client.get_paginator("get_account_authorization_details").paginate():
            for key, items in doc.items():
                items.extend(page.get(key, []))
    except ClientError as exc:
        raise SourceError(
            f"iam:GetAccountAuthorizationDetails failed: {error_code(exc)}",
            hint="the caller needs iam:GetAccountAuthorizationDetails",
        ) from None
    except BotoCoreError as exc:
        raise SourceError(f"cannot reach IAM: {exc}") from None
    # Round-trip through JSON: datetimes become ISO text, as in the CLI's output.
    result: dict[str, Any] = orjson.loads(orjson.dumps(doc, default=str))
    return result
