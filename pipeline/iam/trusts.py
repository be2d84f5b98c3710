"""Whom each role's trust policy lets in by federation: the ``iam_role_trusts`` view.

One row per role of the latest snapshot of each account (:func:`store.latest`), with the
``Federated`` principals its trust policy's Allow statements name: SAML and OIDC provider ARNs,
or the issuers AWS knows itself (``cognito-identity.amazonaws.com``, ``accounts.google.com``).
Unlike the ``iam_*`` views of the snapshot's own tables it is always defined (empty without a
snapshot), so that a question about identity providers (``stale_federation``) still runs on a
lake that holds captures of resources but no authorization details. The trust policies are
parsed here, once, rather than matched as text in SQL: a provider's ARN in a Deny statement or
a condition is no trust.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from trailwise.pipeline.iam import store
from trailwise.pipeline.lake import Lake

SCHEMA = pa.schema(
    [
        ("snapshot_id", pa.string()),
        ("account_id", pa.string()),
        ("role_arn", pa.string()),
        ("federated_principals", pa.list_(pa.string())),
    ]
)
_COLUMNS = ["snapshot_id", "account_id", "principal_arn", "principal_type", "trust_policy"]


def federated_principals(trust_policy: Mapping[str, Any] | None) -> list[str]:
    """The ``Federated`` principals of the Allow statements of a trust policy, sorted, each once.

    A statement may be one object or a list of them, and ``Federated`` one value or a list; a
    ``NotPrincipal`` or a Deny lets nobody in, so neither counts.
    """
    if not trust_policy:
        return []
    raw = trust_policy.get("Statement")
    statements = [raw] if isinstance(raw, Mapping) else raw if isinstance(raw, list) else []
    found: set[str] = set()
    for statement in statements:
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        if not isinstance(principal, Mapping):
            continue
        values = principal.get("Federated")
        for value in values if isinstance(values, list) else [values]:
            if isinstance(value, str) and value:
                found.add(value)
    return sorted(found)


def table(lake: Lake) -> pa.Table:
    """``iam_role_trusts``: every role of the latest snapshot of each account, with the
    federated principals it trusts (an empty list for a role that trusts none), sorted by
    account and role."""
    latest = store.latest(lake)
    chosen = set(
        zip(latest["snapshot_id"].to_pylist(), latest["account_id"].to_pylist(), strict=True)
    )
    rows: list[dict[str, Any]] = []
    for snapshot_id in sorted({sid for sid, _ in chosen}):
        data = lake.store.read(f"{store.IAM_KEY}/{snapshot_id}/principals.parquet")
        if data is None:
            continue
        for principal in pq.read_table(pa.BufferReader(data), columns=_COLUMNS).to_pylist():
            if principal["principal_type"] != "role":
                continue
            if (principal["snapshot_id"], principal["account_id"]) not in chosen:
                continue
            policy = principal["trust_policy"]
            rows.append(
                {
                    "snapshot_id": principal["snapshot_id"],
                    "account_id": principal["account_id"],
                    "role_arn": principal["principal_arn"],
                    "federated_principals": federated_principals(
                        orjson.loads(policy) if policy else None
                    ),
                }
            )
    rows.sort(key=lambda r: (r["account_id"], r["role_arn"]))
    return pa.Table.from_pylist(rows, schema=SCHEMA)
