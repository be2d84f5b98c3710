"""One record per successful assumption call (the best logged copy, its caller resolved), and
the failed attempts grouped by caller and error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from trailwise.pipeline.policy.trust.current import ARN_ACCOUNT, listed
from trailwise.pipeline.policy.trust.model import FailedAssumption

ASSUME_ACTIONS = {
    "AssumeRole": "sts:AssumeRole",
    "AssumeRoleWithWebIdentity": "sts:AssumeRoleWithWebIdentity",
    "AssumeRoleWithSAML": "sts:AssumeRoleWithSAML",
}
# Who made the call, best first: a copy naming the caller beats the role account's copy.
_IDENTITY_RANK = {
    "IAMUser": 0,
    "AssumedRole": 0,
    "Root": 0,
    "FederatedUser": 0,
    "WebIdentityUser": 1,
    "SAMLUser": 1,
    "AWSService": 1,
    "AWSAccount": 2,
}


@dataclass(frozen=True)
class Assumption:
    """One successful assumption, its caller resolved."""

    kind: str
    principal: str
    account_id: str | None
    action: str
    time: datetime
    subject: str | None
    audience: str | None
    external_id: str | None
    source_identity: str | None
    tag_keys: tuple[str, ...]
    session_name: str | None
    session_arn: str | None
    access_key_id: str | None
    source_ip: str | None
    note: str | None
    is_inferred: bool = False


def _json(text: Any) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except (TypeError, json.JSONDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def _best_copies(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """One row per call: cross-account copies share sharedEventID (and the credentials the call
    returned); the caller's copy, which names the caller, wins."""
    chosen: dict[tuple[str, ...], Mapping[str, Any]] = {}
    for row in rows:
        credentials = _json(row.get("response_elements")).get("credentials")
        issued = credentials.get("accessKeyId") if isinstance(credentials, dict) else None
        if issued:
            key: tuple[str, ...] = ("credentials", str(issued))
        elif row.get("shared_event_id"):
            key = ("shared", str(row["shared_event_id"]))
        else:
            key = ("event", str(row["event_id"]), str(row["recipient_account_id"]))
        rank = _IDENTITY_RANK.get(str(row.get("user_identity_type")), 3)
        held = chosen.get(key)
        if held is None or rank < _IDENTITY_RANK.get(str(held.get("user_identity_type")), 3):
            chosen[key] = row
    return sorted(chosen.values(), key=lambda r: (r["event_time"], str(r["event_id"])))


def _caller(
    row: Mapping[str, Any], known_ids: Mapping[str, str]
) -> tuple[str, str, str | None, str | None]:
    """(kind, principal, account, note) of the caller of one assumption event."""
    identity = str(row.get("user_identity_type") or "")
    request = _json(row.get("request_parameters"))
    response = _json(row.get("response_elements"))
    if identity == "AWSService" or (row["event_name"] == "AssumeRole" and not identity):
        service = row.get("user_identity_invoked_by") or row.get("source_ip_address") or "unknown"
        return "service", str(service), None, None
    if identity == "WebIdentityUser" or row["event_name"] == "AssumeRoleWithWebIdentity":
        provider = row.get("user_identity_identity_provider") or response.get("provider")
        return "oidc", str(provider or "unknown"), arn_account(provider), None
    if identity == "SAMLUser" or row["event_name"] == "AssumeRoleWithSAML":
        provider = request.get("principalArn") or row.get("user_identity_identity_provider")
        return "saml", str(provider or "unknown"), arn_account(provider), None
    if identity == "AWSAccount":
        account = row.get("user_identity_account_id")
        unique_id = str(row.get("user_identity_principal_id") or "").split(":", 1)[0]
        if unique_id in known_ids:
            arn = known_ids[unique_id]
            return "aws", arn, arn_account(arn), f"resolved from the unique id {unique_id}"
        return (
            "account",
            f"arn:aws:iam::{account}:root",
            str(account) if account else None,
            "only the calling account is known: the caller's own trail is not in the lake",
        )
    # A role session is known by its role (principal_arn), anything else by its own ARN.
    caller = (
        row.get("principal_arn") or row.get("user_identity_arn")
        if identity == "AssumedRole"
        else row.get("user_identity_arn") or row.get("principal_arn")
    )
    if caller:
        return "aws", str(caller), arn_account(caller), None
    account = row.get("user_identity_account_id")
    return "unknown", identity or "unknown", str(account) if account else None, None


def arn_account(value: Any) -> str | None:
    """The account id of an IAM or STS ARN; None for anything else."""
    if not value:
        return None
    m = ARN_ACCOUNT.match(str(value))
    return m.group("account") if m else None


def _tag_keys(request: Mapping[str, Any]) -> tuple[str, ...]:
    keys: set[str] = set()
    for tag in listed(request.get("tags")):
        if isinstance(tag, dict):
            key = tag.get("key") or tag.get("Key")
            if key:
                keys.add(str(key))
    for name in ("principalTags", "incomingTransitiveTags"):
        value = request.get(name)
        if isinstance(value, dict):
            keys.update(str(k) for k in value)
    keys.update(str(k) for k in listed(request.get("transitiveTagKeys")))
    return tuple(sorted(keys))


def assumptions(
    rows: Sequence[Mapping[str, Any]], known_ids: Mapping[str, str]
) -> tuple[list[Assumption], list[FailedAssumption]]:
    """The successful assumptions, one per call, and the failed attempts per caller and error.

    Args:
        rows: the ``role_assumptions`` rows, every logged copy of each call.
        known_ids: the snapshot's principal ARNs by unique id, to name callers that only their
            account's copy shows.
    """
    done: list[Assumption] = []
    failures: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for row in _best_copies(rows):
        kind, principal, account, note = _caller(row, known_ids)
        if row.get("error_code"):
            caller = row.get("user_identity_arn") or principal
            failures.setdefault((str(caller), str(row["error_code"])), []).append(row)
            continue
        request = _json(row.get("request_parameters"))
        response = _json(row.get("response_elements"))
        credentials = response.get("credentials")
        subject = row.get("user_identity_user_name") or response.get("subjectFromWebIdentityToken")
        if kind == "saml":
            subject = response.get("subject") or subject
        session_name = request.get("roleSessionName")
        assumed = response.get("assumedRoleUser")
        done.append(
            Assumption(
                kind=kind,
                principal=principal,
                account_id=account,
                action=ASSUME_ACTIONS[str(row["event_name"])],
                time=row["event_time"],
                subject=str(subject) if subject and kind in ("oidc", "saml") else None,
                audience=str(response["audience"]) if response.get("audience") else None,
                external_id=str(request["externalId"]) if request.get("externalId") else None,
                source_identity=(
                    str(request["sourceIdentity"]) if request.get("sourceIdentity") else None
                ),
                tag_keys=_tag_keys(request),
                session_name=str(session_name) if session_name else None,
                session_arn=(
                    str(assumed["arn"])
                    if isinstance(assumed, dict) and assumed.get("arn")
                    else None
                ),
                access_key_id=(
                    str(credentials["accessKeyId"])
                    if isinstance(credentials, dict) and credentials.get("accessKeyId")
                    else None
                ),
                source_ip=str(row["source_ip_address"]) if row.get("source_ip_address") else None,
                note=note,
            )
        )
    failed = [
        FailedAssumption(
            principal=caller,
            error_code=code,
            attempts=len(group),
            last_seen=max(r["event_time"] for r in group),
            message=next((str(r["error_message"]) for r in group if r.get("error_message")), None),
        )
        for (caller, code), group in sorted(failures.items())
    ]
    return done, failed
