"""IAM snapshots in the lake: ``LAKE/iam/SNAPSHOT_ID/TABLE.parquet`` plus ``manifest.json``.

A snapshot lands whole or not at all: its tables (and the grants its policies expand to) are
written into a temporary folder that is renamed into place last. Loading the same content twice
is a no-op (the snapshot id is a hash of the content). Queries see, per account, the snapshot
with the latest capture time (:func:`latest_tables`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from trailwise.pipeline.errors import SnapshotError, UsageError
from trailwise.pipeline.iam import fetch, observable, resources
from trailwise.pipeline.iam.builder import Builder
from trailwise.pipeline.iam.expand import expand_all
from trailwise.pipeline.iam.fields import utc
from trailwise.pipeline.iam.model import Snapshot
from trailwise.pipeline.iam.resources import Capture
from trailwise.pipeline.iam.snapshot import load_authorization_details, load_file
from trailwise.pipeline.iam.tables import to_tables
from trailwise.pipeline.lake import Lake
from trailwise.pipeline.mapping import action_info

# 2: snapshots may hold resource_policies and identity_providers (manifest resource_accounts).
FORMAT_VERSION = 2
AUTHORIZATION_LISTS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
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
    resource_errors: dict[str, int] = field(default_factory=dict)  # error code -> resources

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
    regions: Sequence[str] = (),
    save: Path | None = None,
) -> IamLoadResult:
    """Load one authorization-details file (one or several accounts) or capture file, or with
    ``aws`` (an :class:`~trailwise.pipeline.sources.s3.S3Config`) read the caller's account
    (its authorization details, and the resource policies and identity providers of
    ``regions``: see :func:`fetch.fetch_capture`) into the lake; ``save`` writes what was read
    as a capture file first, to load offline later."""
    started = time.perf_counter()
    capture: Capture | None
    if aws is not None:
        source = f"aws:{aws.role_arn or aws.profile or 'default credentials'}"
        document = fetch.fetch_capture(aws, regions)
        if save is not None:
            _save(save, document)
        when = captured_at or datetime.fromisoformat(document["CapturedAt"])
        snapshot, capture = snapshot_of_capture(document, source, when)
    elif path is not None:
        source = str(path)
        snapshot, capture = load_any_file(path, captured_at)
        when = snapshot.captured_at or datetime.now(UTC)
    else:
        raise UsageError("give a snapshot FILE or --from-aws")
    accounts = {p.account_id for p in snapshot.principals}
    result = IamLoadResult(
        snapshot_id=snapshot.snapshot_id,
        source=source,
        accounts=sorted(accounts | set(capture.accounts if capture else ())),
        captured_at=when.isoformat(),
        is_new=True,
        resource_errors=capture.errors() if capture else {},
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
        names: tuple[str, ...] = TABLES
        if capture is not None:
            tables.update(resources.to_tables(capture, snapshot.snapshot_id, when))
            names += resources.TABLES
        # The manifest is written last: a snapshot without one is a load that died, whose
        # files the next load of it overwrites, and which no reader sees.
        for name in names:
            lake.store.write_parquet(
                tables[name], lake.store.uri(f"{folder}/{name}.parquet"), compression="zstd"
            )
            result.rows[name] = tables[name].num_rows
        manifest = {
            "format_version": FORMAT_VERSION,
            "snapshot_id": snapshot.snapshot_id,
            "captured_at": result.captured_at,
            "accounts": sorted(accounts),
            # Accounts whose resource policies and providers this snapshot holds in full
            # (format 1 snapshots hold none).
            "resource_accounts": list(capture.accounts) if capture else [],
            "source": result.source,
            "rows": result.rows,
        }
        lake.store.write(
            f"{folder}/manifest.json", orjson.dumps(manifest, option=orjson.OPT_INDENT_2)
        )
        observable.table(lake)  # computed once per mapping version, for the queries
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _save(path: Path, document: dict[str, Any]) -> None:
    """Write a capture file whole (temp file + rename): a half-written one never stands."""
    target = path.expanduser()
    partial = target.with_name(f".{target.name}.partial")
    try:
        partial.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
        partial.replace(target)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def load_any_file(path: Path, captured_at: datetime | None) -> tuple[Snapshot, Capture | None]:
    """An authorization-details file or a capture file, told apart by shape.

    Raises:
        SnapshotError: the file cannot be read, is not JSON, or has neither shape.
    """
    try:
        data = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise SnapshotError(f"cannot read IAM snapshot {path}: {exc.strerror or exc}") from exc
    except orjson.JSONDecodeError as exc:
        raise SnapshotError(f"{path} is not JSON: {exc}") from exc
    if resources.is_capture(data):
        when = captured_at
        if when is None and data.get("CapturedAt"):
            try:
                when = datetime.fromisoformat(str(data["CapturedAt"]))
            except ValueError:
                raise SnapshotError(f"{path}: CapturedAt is not a date") from None
        return snapshot_of_capture(data, str(path), when or datetime.now(UTC))
    if isinstance(data, dict) and not any(key in data for key in AUTHORIZATION_LISTS):
        raise SnapshotError(
            f"{path} is neither authorization details (UserDetailList, RoleDetailList, ...) "
            f"nor a trailwise capture (ResourcePolicies, IdentityProviders)"
        )
    return load_file(path, captured_at=captured_at or datetime.now(UTC)), None


def snapshot_of_capture(
    data: dict[str, Any], source: str, when: datetime
) -> tuple[Snapshot, Capture]:
    """The IAM snapshot and the resource capture of one capture document, under one id."""
    capture = resources.read_capture(data, source)
    details = data.get("AuthorizationDetails")
    if details is None:
        snapshot = Builder(source).build("", utc(when))
    else:
        snapshot = load_authorization_details(details, source, when)
    return dataclasses.replace(snapshot, snapshot_id=resources.content_id(data)), capture


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
        # AWS managed policies (account "aws") come from the newest snapshot of all that
        # holds authorization details (a capture of resource policies alone holds none).
        if manifest["accounts"]:
            chosen["aws"] = manifest["snapshot_id"]
    return _chosen_table(chosen)


def latest_resources(lake: Lake) -> pa.Table:
    """(snapshot_id, account_id) of the latest snapshot holding each account's resource
    policies and identity providers: chosen apart from :func:`latest`, so that a capture of
    resources alone does not hide the account's principals, nor an older authorization-details
    file its resources."""
    chosen: dict[str, str] = {}
    for manifest in manifests(lake):
        for account in manifest.get("resource_accounts", []):
            chosen[account] = manifest["snapshot_id"]
    return _chosen_table(chosen)


def _chosen_table(chosen: dict[str, str]) -> pa.Table:
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
