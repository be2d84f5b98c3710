"""The IAM snapshot as lake tables: one pyarrow table per list, with fixed schemas.

Example::

    from trailwise.pipeline.iam import load_file, to_tables

    tables = to_tables(load_file(Path("authorization-details-111122223333.json")))
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from trailwise.pipeline.iam.model import Snapshot, canonical_json

_TS = pa.timestamp("us", tz="UTC")
_COMMON = [("snapshot_id", pa.string()), ("captured_at", _TS), ("account_id", pa.string())]
_TAG = pa.struct([("key", pa.string()), ("value", pa.string())])

SCHEMAS: dict[str, pa.Schema] = {
    "principals": pa.schema(
        [
            *_COMMON,
            ("principal_arn", pa.string()),
            ("principal_type", pa.string()),
            ("name", pa.string()),
            ("path", pa.string()),
            ("principal_id", pa.string()),
            ("created_at", _TS),
            ("is_aws_managed", pa.bool_()),
            ("trust_policy", pa.string()),
            ("role_last_used_at", _TS),
            ("role_last_used_region", pa.string()),
            ("password_last_used_at", _TS),
            ("permissions_boundary_arn", pa.string()),
            ("instance_profile_arns", pa.list_(pa.string())),
            ("tags", pa.list_(_TAG)),
        ]
    ),
    "groups": pa.schema(
        [
            *_COMMON,
            ("group_arn", pa.string()),
            ("name", pa.string()),
            ("path", pa.string()),
            ("group_id", pa.string()),
            ("created_at", _TS),
        ]
    ),
    "group_members": pa.schema(
        [
            *_COMMON,
            ("group_arn", pa.string()),
            ("group_name", pa.string()),
            ("user_arn", pa.string()),
        ]
    ),
    "policies": pa.schema(
        [
            *_COMMON,
            ("policy_arn", pa.string()),
            ("name", pa.string()),
            ("path", pa.string()),
            ("policy_id", pa.string()),
            ("is_aws_managed", pa.bool_()),
            ("default_version_id", pa.string()),
            ("document", pa.string()),
            ("created_at", _TS),
            ("updated_at", _TS),
            ("attachment_count", pa.int64()),
        ]
    ),
    "attachments": pa.schema(
        [
            *_COMMON,
            ("owner_arn", pa.string()),
            ("owner_type", pa.string()),
            ("owner_name", pa.string()),
            ("policy_arn", pa.string()),
            ("policy_name", pa.string()),
        ]
    ),
    "inline_policies": pa.schema(
        [
            *_COMMON,
            ("owner_arn", pa.string()),
            ("owner_type", pa.string()),
            ("owner_name", pa.string()),
            ("policy_name", pa.string()),
            ("document", pa.string()),
        ]
    ),
    "access_keys": pa.schema(
        [
            *_COMMON,
            ("user_arn", pa.string()),
            ("access_key_id", pa.string()),
            ("description", pa.string()),
            ("source", pa.string()),
        ]
    ),
}


def to_tables(snapshot: Snapshot) -> dict[str, pa.Table]:
    """The snapshot as lake tables (stable snake_case columns, rows sorted by ARN).

    Every table starts with ``snapshot_id``, ``captured_at`` and ``account_id``; policy
    documents and trust policies are canonical JSON text.
    """
    sid, at = snapshot.snapshot_id, snapshot.captured_at

    def common(account: str) -> dict[str, Any]:
        return {"snapshot_id": sid, "captured_at": at, "account_id": account}

    rows: dict[str, list[dict[str, Any]]] = {
        "principals": [
            {
                **common(p.account_id),
                "principal_arn": p.arn,
                "principal_type": p.principal_type,
                "name": p.name,
                "path": p.path,
                "principal_id": p.principal_id,
                "created_at": p.created_at,
                "is_aws_managed": p.is_aws_managed,
                "trust_policy": canonical_json(p.trust_policy) if p.trust_policy else None,
                "role_last_used_at": p.role_last_used_at,
                "role_last_used_region": p.role_last_used_region,
                "password_last_used_at": p.password_last_used_at,
                "permissions_boundary_arn": p.permissions_boundary_arn,
                "instance_profile_arns": list(p.instance_profile_arns),
                "tags": [{"key": k, "value": v} for k, v in p.tags],
            }
            for p in snapshot.principals
        ],
        "groups": [
            {
                **common(g.account_id),
                "group_arn": g.arn,
                "name": g.name,
                "path": g.path,
                "group_id": g.group_id,
                "created_at": g.created_at,
            }
            for g in snapshot.groups
        ],
        "group_members": [
            {
                **common(m.account_id),
                "group_arn": m.group_arn,
                "group_name": m.group_name,
                "user_arn": m.user_arn,
            }
            for m in snapshot.group_members
        ],
        "policies": [
            {
                **common(p.account_id),
                "policy_arn": p.arn,
                "name": p.name,
                "path": p.path,
                "policy_id": p.policy_id,
                "is_aws_managed": p.is_aws_managed,
                "default_version_id": p.default_version_id,
                "document": p.document_json,
                "created_at": p.created_at,
                "updated_at": p.updated_at,
                "attachment_count": p.attachment_count,
            }
            for p in snapshot.policies
        ],
        "attachments": [
            {
                **common(a.account_id),
                "owner_arn": a.owner_arn,
                "owner_type": a.owner_type,
                "owner_name": a.owner_name,
                "policy_arn": a.policy_arn,
                "policy_name": a.policy_name,
            }
            for a in snapshot.attachments
        ],
        "inline_policies": [
            {
                **common(p.account_id),
                "owner_arn": p.owner_arn,
                "owner_type": p.owner_type,
                "owner_name": p.owner_name,
                "policy_name": p.name,
                "document": p.document_json,
            }
            for p in snapshot.inline_policies
        ],
        "access_keys": [
            {
                **common(k.account_id),
                "user_arn": k.user_arn,
                "access_key_id": k.access_key_id,
                "description": k.description,
                "source": k.source,
            }
            for k in snapshot.access_keys
        ],
    }
    return {
        name: pa.Table.from_pylist(rows[name], schema=schema) for name, schema in SCHEMAS.items()
    }
