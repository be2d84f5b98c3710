"""Who assumed the role: the role's sessions checked against the assumption calls (assumers
inferred from the sessions nothing explains), and the calls grouped into one :class:`Assumer`
per principal, with the current statements that admit it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from trailwise.pipeline.policy.trust.calls import Assumption, arn_account
from trailwise.pipeline.policy.trust.current import Entry
from trailwise.pipeline.policy.trust.model import Assumer, Sessions

TAG_SESSION = "sts:TagSession"
SET_SOURCE_IDENTITY = "sts:SetSourceIdentity"
_EC2_INSTANCE = re.compile(r"^i-[0-9a-f]{8,17}$")
_SERVICE_LINKED = re.compile(r":role/aws-service-role/(?P<service>[^/]+)/")
# The order assumers are listed in; also the kinds a suggested statement can name.
KIND_ORDER = {"service": 0, "aws": 1, "account": 2, "oidc": 3, "saml": 4}


def explain_sessions(
    rows: Sequence[Mapping[str, Any]],
    keys: set[str],
    names: set[str],
    role_arn: str,
) -> tuple[Sessions, list[Assumption]]:
    """Which sessions the assumptions explain, and assumers inferred from the others."""
    by_name: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_name.setdefault(str(row["session_name"]), []).append(row)
    unexplained: list[str] = []
    inferred: list[Assumption] = []
    for session_name, group in sorted(by_name.items()):
        if session_name in names or any(r.get("access_key_id") in keys for r in group):
            continue
        unexplained.append(session_name)
        first = min(r["first_seen"] for r in group)
        last = max(r["last_seen"] for r in group)
        provider = next(
            (r["web_identity_provider"] for r in group if r.get("web_identity_provider")), None
        )
        linked = _SERVICE_LINKED.search(role_arn)
        clue: tuple[str, str, str] | None = None
        if provider:
            clue = ("oidc", str(provider), "sts:AssumeRoleWithWebIdentity")
        elif any(r.get("has_ec2_role_delivery") for r in group) or _EC2_INSTANCE.match(
            session_name
        ):
            clue = ("service", "ec2.amazonaws.com", "sts:AssumeRole")
        elif linked:
            clue = ("service", linked.group("service"), "sts:AssumeRole")
        if clue:
            for when in (first, last):
                inferred.append(
                    Assumption(
                        kind=clue[0],
                        principal=clue[1],
                        account_id=arn_account(clue[1]),
                        action=clue[2],
                        time=when,
                        subject=None,
                        audience=None,
                        external_id=None,
                        source_identity=None,
                        tag_keys=(),
                        session_name=session_name,
                        session_arn=None,
                        access_key_id=None,
                        source_ip=None,
                        note=None,
                        is_inferred=True,
                    )
                )
    return (
        Sessions(
            seen=len(by_name),
            explained=len(by_name) - len(unexplained),
            unexplained=tuple(unexplained),
        ),
        inferred,
    )


def _covers(entry: Entry, kind: str, principal: str, account: str | None, action: str) -> bool:
    """Whether an Allow entry of the current policy admits this caller for ``action``."""
    if not entry.is_allow or not entry.allows(action):
        return False
    value = entry.value
    if entry.kind == "wildcard":
        return value == "*" or kind in ("aws", "account")
    if entry.kind == "not_principal":
        return True
    if entry.kind == "account":
        return kind in ("aws", "account") and account == entry.account
    if entry.kind == "aws":
        if kind == "account":
            return account == entry.account
        return kind == "aws" and value.lower() == principal.lower()
    if entry.kind == "service":
        return kind == "service" and value.lower() == principal.lower()
    if entry.kind == "federated":
        return kind in ("oidc", "saml") and value.lower() == principal.lower()
    return False


def group_assumers(
    records: Sequence[Assumption], inferred: Sequence[Assumption], entries: Sequence[Entry]
) -> list[Assumer]:
    """One :class:`Assumer` per principal, kinds in :data:`KIND_ORDER` order.

    Args:
        records: the assumptions read from the calls.
        inferred: the assumptions inferred from sessions no call explains.
        entries: the current trust policy's entries, to tell which statements admit each one.
    """
    grouped: dict[tuple[str, str], list[Assumption]] = {}
    for record in [*records, *inferred]:
        grouped.setdefault((record.kind, record.principal), []).append(record)
    out: list[Assumer] = []
    for (kind, principal), group in grouped.items():
        real = [g for g in group if not g.is_inferred]
        evidence = "assume_role" if real else "sessions"
        base_actions = {g.action for g in group}
        actions = set(base_actions)
        if any(g.tag_keys for g in group):
            actions.add(TAG_SESSION)
        if any(g.source_identity for g in group):
            actions.add(SET_SOURCE_IDENTITY)
        account = next((g.account_id for g in group if g.account_id), None)
        trusted_by = tuple(
            sorted(
                {
                    e.index
                    for e in entries
                    for action in base_actions
                    if _covers(e, kind, principal, account, action)
                }
            )
        )
        external = sorted({g.external_id for g in real if g.external_id})
        notes = sorted({g.note for g in group if g.note})
        if not real:
            notes.append("no assumption event in the lake: inferred from its sessions")
        out.append(
            Assumer(
                kind=kind,
                principal=principal,
                account_id=account,
                actions=tuple(sorted(actions)),
                assumptions=len(real),
                first_seen=min(g.time for g in group),
                last_seen=max(g.time for g in group),
                evidence=evidence,
                subjects=tuple(sorted({g.subject for g in real if g.subject})),
                audiences=tuple(sorted({g.audience for g in real if g.audience})),
                external_ids=tuple(external),
                always_external_id=bool(real) and all(g.external_id for g in real),
                source_identities=tuple(
                    sorted({g.source_identity for g in real if g.source_identity})
                ),
                session_tag_keys=tuple(sorted({k for g in real for k in g.tag_keys})),
                session_names=_examples(g.session_name for g in group),
                source_ips=_examples(g.source_ip for g in real),
                trusted_by=trusted_by,
                note="; ".join(notes) if notes else None,
            )
        )
    return sorted(out, key=lambda a: (KIND_ORDER.get(a.kind, 9), a.principal))


def _examples(values: Iterable[str | None], limit: int = 5) -> tuple[str, ...]:
    distinct = sorted({v for v in values if v})
    return tuple(distinct[:limit]) + (
        (f"... {len(distinct) - limit} more",) if len(distinct) > limit else ()
    )
