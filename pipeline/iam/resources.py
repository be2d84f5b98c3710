"""Resource-based policies and identity providers: the capture file form, its model and tables.

A *capture* is what ``trailwise iam load --from-aws`` reads from an account, in one JSON
document that ``--save`` writes and ``trailwise iam load FILE`` reads back::

    {
      "CapturedAt": "2026-12-02T05:00:00+00:00",
      "Accounts": ["123456789012"],
      "AuthorizationDetails": {"UserDetailList": [], "RoleDetailList": [], ...},
      "ResourcePolicies": [
        {"AccountId": "123456789012", "Region": "eu-west-1", "Service": "s3",
         "ResourceType": "bucket", "ResourceArn": "arn:aws:s3:::logs",
         "Policy": {"Version": "2012-10-17", "Statement": [...]}, "ErrorCode": null,
         "Details": {"PublicAccessBlock": {...}, "OwnershipControls": [...]}}
      ],
      "IdentityProviders": [
        {"Arn": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com",
         "Kind": "oidc", "Url": "token.actions.githubusercontent.com",
         "Audiences": ["sts.amazonaws.com"], "Thumbprints": ["6938..."],
         "CreatedAt": "2024-01-01T00:00:00+00:00", "ValidUntil": null, "ErrorCode": null}
      ]
    }

``Policy`` null means the resource has no policy (a fact, kept); ``ErrorCode`` names the AWS
error that stopped one read (``AccessDenied``), and then ``Policy`` is null because it is unknown.
``Accounts`` are the accounts whose resources the capture lists in full (an account with no
resource at all is still covered); it defaults to the accounts its entries name.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import pyarrow as pa

from trailwise.pipeline.errors import SnapshotError
from trailwise.pipeline.iam.fields import utc
from trailwise.pipeline.iam.model import canonical_json

# The keys that make a JSON object a capture rather than authorization details.
CAPTURE_KEYS = ("ResourcePolicies", "IdentityProviders", "AuthorizationDetails")
SERVICES = {
    "s3": "bucket",
    "kms": "key",
    "sqs": "queue",
    "sns": "topic",
    "lambda": "function",
    "secretsmanager": "secret",
    "ecr": "repository",
}
PROVIDER_KINDS = ("saml", "oidc")
_ACCOUNT = re.compile(r"^\d{12}$")

_TS = pa.timestamp("us", tz="UTC")
_L = pa.list_(pa.string())
SCHEMAS: dict[str, pa.Schema] = {
    "resource_policies": pa.schema(
        [
            ("snapshot_id", pa.string()),
            ("account_id", pa.string()),
            ("region", pa.string()),
            ("service", pa.string()),
            ("resource_type", pa.string()),
            ("resource_arn", pa.string()),
            ("policy", pa.string()),  # canonical JSON text; null: no policy (or unreadable)
            ("error_code", pa.string()),
            ("details", pa.string()),  # canonical JSON text of the service's extra facts
            ("captured_at", _TS),
        ]
    ),
    "identity_providers": pa.schema(
        [
            ("snapshot_id", pa.string()),
            ("account_id", pa.string()),
            ("provider_arn", pa.string()),
            ("kind", pa.string()),
            ("url", pa.string()),
            ("audiences", _L),
            ("thumbprints", _L),
            ("created_at", _TS),
            ("valid_until", _TS),
            ("error_code", pa.string()),
            ("captured_at", _TS),
        ]
    ),
}
TABLES = tuple(SCHEMAS)


@dataclass(frozen=True)
class ResourcePolicy:
    """One resource's policy as read (or the error that stopped the read)."""

    account_id: str
    region: str | None
    service: str
    resource_type: str
    resource_arn: str
    policy: Mapping[str, Any] | None
    error_code: str | None
    details: Mapping[str, Any]


@dataclass(frozen=True)
class IdentityProvider:
    """A SAML or OIDC identity provider of an account."""

    account_id: str
    arn: str
    kind: str
    url: str | None
    audiences: tuple[str, ...]
    thumbprints: tuple[str, ...]
    created_at: datetime | None
    valid_until: datetime | None
    error_code: str | None


@dataclass(frozen=True)
class Capture:
    """The resource side of a capture: every list sorted by ARN."""

    accounts: tuple[str, ...]
    resource_policies: tuple[ResourcePolicy, ...]
    identity_providers: tuple[IdentityProvider, ...]

    def errors(self) -> dict[str, int]:
        """How many resources and providers each error code left unread, by code."""
        counts: dict[str, int] = {}
        codes = [p.error_code for p in self.resource_policies]
        codes += [p.error_code for p in self.identity_providers]
        for code in codes:
            if code:
                counts[code] = counts.get(code, 0) + 1
        return dict(sorted(counts.items()))


def is_capture(data: Any) -> bool:
    """Whether decoded JSON has the capture's shape (an object with one of CAPTURE_KEYS)."""
    return isinstance(data, Mapping) and any(key in data for key in CAPTURE_KEYS)


def content_id(data: Mapping[str, Any]) -> str:
    """The snapshot id of a capture document: a hash of its content, not of when it was taken
    (capturing an unchanged account again is a no-op)."""
    content = {key: data.get(key) for key in ("Accounts", *CAPTURE_KEYS)}
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()[:20]


class _Reader:
    """Field readers whose errors name the source, the list, the index and the field."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, message: str) -> SnapshotError:
        return SnapshotError(f"{self.source}: {message}")

    def text(self, label: str, item: Mapping[str, Any], key: str, *, required: bool) -> str | None:
        value = item.get(key)
        if value is None or value == "":
            if required:
                raise self.fail(f"{label} has no {key}")
            return None
        if not isinstance(value, str):
            raise self.fail(f"{label}.{key} is a {type(value).__name__}, not a string")
        return value

    def texts(self, label: str, item: Mapping[str, Any], key: str) -> tuple[str, ...]:
        value = item.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(f"{label}.{key} is not a list of strings")
        return tuple(sorted(value))

    def date(self, label: str, item: Mapping[str, Any], key: str) -> datetime | None:
        value = item.get(key)
        if value is None:
            return None
        if isinstance(value, datetime):
            return utc(value)
        try:
            return utc(datetime.fromisoformat(str(value).strip()))
        except ValueError:
            raise self.fail(f"{label}.{key} is not a date: {value!r}") from None

    def object(self, label: str, value: Any) -> Mapping[str, Any] | None:
        if value is None:
            return None
        if isinstance(value, str):  # the APIs return policies as JSON text
            try:
                value = orjson.loads(value)
            except orjson.JSONDecodeError:
                raise self.fail(f"{label} is not JSON") from None
        if not isinstance(value, Mapping):
            raise self.fail(f"{label} is a {type(value).__name__}, not an object")
        return value

    def entries(self, data: Mapping[str, Any], key: str) -> list[tuple[str, Mapping[str, Any]]]:
        value = data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(f"{key} is a {type(value).__name__}, not a list")
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, Mapping):
                raise self.fail(f"{key}[{i}] is a {type(item).__name__}, not an object")
            out.append((f"{key}[{i}]", item))
        return out

    def account(self, label: str, value: str | None) -> str:
        if value is None or not _ACCOUNT.fullmatch(value):
            raise self.fail(f"{label} has no 12-digit account id: {value!r}")
        return value


def read_capture(data: Mapping[str, Any], source: str) -> Capture:
    """The resource policies and identity providers of a capture document, validated whole.

    Raises:
        SnapshotError: naming the first malformed entry (``"ResourcePolicies[2] has no
            ResourceArn"``); nothing is returned half-read.
    """
    r = _Reader(source)
    policies = []
    for label, item in r.entries(data, "ResourcePolicies"):
        service = r.text(label, item, "Service", required=True) or ""
        if service not in SERVICES:
            raise r.fail(f"{label}.Service {service!r} is not one of {', '.join(SERVICES)}")
        details = r.object(f"{label}.Details", item.get("Details")) or {}
        policies.append(
            ResourcePolicy(
                account_id=r.account(label, r.text(label, item, "AccountId", required=True)),
                region=r.text(label, item, "Region", required=False),
                service=service,
                resource_type=r.text(label, item, "ResourceType", required=False)
                or SERVICES[service],
                resource_arn=r.text(label, item, "ResourceArn", required=True) or "",
                policy=r.object(f"{label}.Policy", item.get("Policy")),
                error_code=r.text(label, item, "ErrorCode", required=False),
                details=details,
            )
        )
    providers = []
    for label, item in r.entries(data, "IdentityProviders"):
        arn = r.text(label, item, "Arn", required=True) or ""
        kind = r.text(label, item, "Kind", required=True) or ""
        if kind not in PROVIDER_KINDS:
            raise r.fail(f"{label}.Kind {kind!r} is not saml or oidc")
        parts = arn.split(":")
        providers.append(
            IdentityProvider(
                account_id=r.account(f"{label}.Arn", parts[4] if len(parts) > 5 else None),
                arn=arn,
                kind=kind,
                url=r.text(label, item, "Url", required=False),
                audiences=r.texts(label, item, "Audiences"),
                thumbprints=r.texts(label, item, "Thumbprints"),
                created_at=r.date(label, item, "CreatedAt"),
                valid_until=r.date(label, item, "ValidUntil"),
                error_code=r.text(label, item, "ErrorCode", required=False),
            )
        )
    named = {p.account_id for p in policies} | {p.account_id for p in providers}
    listed = data.get("Accounts")
    if listed is None:
        accounts = named
    elif isinstance(listed, list):
        accounts = {r.account("Accounts", a if isinstance(a, str) else None) for a in listed}
        if named - accounts:
            raise r.fail(f"entries name accounts not in Accounts: {', '.join(named - accounts)}")
    else:
        raise r.fail("Accounts is not a list")
    return Capture(
        accounts=tuple(sorted(accounts)),
        resource_policies=tuple(
            sorted(policies, key=lambda p: (p.account_id, p.resource_arn, p.region or ""))
        ),
        identity_providers=tuple(sorted(providers, key=lambda p: p.arn)),
    )


def to_tables(capture: Capture, snapshot_id: str, captured_at: datetime) -> dict[str, pa.Table]:
    """The capture as lake tables; policies and details as canonical JSON text."""
    policies = [
        {
            "snapshot_id": snapshot_id,
            "account_id": p.account_id,
            "region": p.region,
            "service": p.service,
            "resource_type": p.resource_type,
            "resource_arn": p.resource_arn,
            "policy": canonical_json(p.policy) if p.policy is not None else None,
            "error_code": p.error_code,
            "details": canonical_json(p.details),
            "captured_at": captured_at,
        }
        for p in capture.resource_policies
    ]
    providers = [
        {
            "snapshot_id": snapshot_id,
            "account_id": p.account_id,
            "provider_arn": p.arn,
            "kind": p.kind,
            "url": p.url,
            "audiences": list(p.audiences),
            "thumbprints": list(p.thumbprints),
            "created_at": p.created_at,
            "valid_until": p.valid_until,
            "error_code": p.error_code,
            "captured_at": captured_at,
        }
        for p in capture.identity_providers
    ]
    return {
        "resource_policies": pa.Table.from_pylist(policies, schema=SCHEMAS["resource_policies"]),
        "identity_providers": pa.Table.from_pylist(providers, schema=SCHEMAS["identity_providers"]),
    }


def empty_table(name: str) -> pa.Table:
    """A table with no rows: what a view shows when no snapshot holds ``name``."""
    return SCHEMAS[name].empty_table()


def capture_document(
    authorization_details: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None,
    accounts: Sequence[str],
    resource_policies: Sequence[Mapping[str, Any]],
    identity_providers: Sequence[Mapping[str, Any]],
    captured_at: datetime,
) -> dict[str, Any]:
    """The file form, as ``--save`` writes it (entries sorted as :func:`read_capture` sorts)."""
    doc: dict[str, Any] = {
        "CapturedAt": utc(captured_at).isoformat(),
        "Accounts": sorted(accounts),
        "ResourcePolicies": sorted(
            resource_policies,
            key=lambda p: (p["AccountId"], p["ResourceArn"], p.get("Region") or ""),
        ),
        "IdentityProviders": sorted(identity_providers, key=lambda p: p["Arn"]),
    }
    if authorization_details is not None:
        doc["AuthorizationDetails"] = authorization_details
    decoded: dict[str, Any] = orjson.loads(orjson.dumps(doc, default=str))
    return decoded
