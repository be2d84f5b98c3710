"""The calls that were refused, per action and resource: how the principal's identity policies
reach each (unconditionally, under conditions, elsewhere, not at all) and what would change
the refusal."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from trailwise.pipeline.policy.diff.model import DeniedUse
from trailwise.pipeline.policy.diff.review import Statement, listed

_IDENTITY_TYPES = {"identity-based", None}


@dataclass(frozen=True)
class _Reach:
    """How the principal's identity policies reach one action on one resource."""

    unconditional: bool  # an Allow without conditions names both
    condition_keys: tuple[str, ...]  # keys of the conditional Allows that name both


def _glob(pattern: str, value: str) -> bool:
    """IAM's ARN matching: ``*`` and ``?`` are the only wildcards."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(body, value, re.DOTALL) is not None


def _names_resource(statement: Mapping[str, Any], resource: str | None) -> bool:
    if resource is None:
        return True
    if "NotResource" in statement:
        return not any(_glob(str(p), resource) for p in listed(statement["NotResource"]))
    return any(_glob(str(p), resource) for p in listed(statement.get("Resource")))


def _reach(action: str, resource: str | None, statements: Sequence[Statement]) -> _Reach:
    unconditional = False
    keys: set[str] = set()
    wanted = action.lower()
    for st in statements:
        if st.effect != "Allow" or wanted not in {a.lower() for a in st.matched}:
            continue
        if not _names_resource(st.raw, resource):
            continue
        condition = st.raw.get("Condition")
        if isinstance(condition, dict) and condition:
            keys.update(str(k) for ops in condition.values() if isinstance(ops, dict) for k in ops)
        else:
            unconditional = True
    return _Reach(unconditional, tuple(sorted(keys)))


def _fix(
    action: str,
    resource: str | None,
    policy_type: str | None,
    explicit: bool | None,
    reach: _Reach,
    granted_on: tuple[str, ...],
) -> str:
    target = resource or "the resource"
    if explicit:
        if policy_type == "identity-based":
            return "an explicit Deny in one of its own policies refuses it"
        if policy_type is None:
            return "an explicit Deny refuses it (the message does not say in which policy)"
    if policy_type not in _IDENTITY_TYPES:
        return f"refused by a {policy_type}: changing identity policies will not help"
    if reach.unconditional:
        return (
            f"its identity policies grant {action} on {target}: the refusal came from elsewhere "
            "(a resource-based, session or service control policy, a boundary, or a rule of the "
            "service itself)"
        )
    if reach.condition_keys:
        return (
            f"granted on {target} only under conditions on {', '.join(reach.condition_keys)}: "
            "this call did not meet them"
        )
    if granted_on:
        return (
            f"granted only on {', '.join(granted_on)}: widen that grant to {target} if the call "
            "is legitimate"
        )
    return f"no identity policy grants it: add {action} on {target} if the call is legitimate"


def denied_uses(
    rows: Sequence[Mapping[str, Any]],
    scopes: Mapping[str, tuple[str, ...]],
    statements: Sequence[Statement],
) -> list[DeniedUse]:
    """The refused calls grouped per action, resource and reason, each with its fix.

    Args:
        rows: the ``authorization_failure_events`` rows of the principal.
        scopes: the resources each granted action reaches.
        statements: the statements of all the principal's identity policies.
    """
    scope_of = {action.lower(): scope for action, scope in scopes.items()}
    grouped: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for row in rows:
        action = str(row["action"] or "unknown")
        grouped.setdefault((action, str(row["resource"] or ""), str(row["reason"])), []).append(row)
    out: list[DeniedUse] = []
    for (action, resource, reason), group in sorted(grouped.items()):
        first = group[0]
        is_granted = action.lower() in scope_of
        # A Deny or the boundary can take an action away that a statement names.
        reach = _reach(action, resource or None, statements) if is_granted else _Reach(False, ())
        granted_on = () if reach.unconditional else scope_of.get(action.lower(), ())
        out.append(
            DeniedUse(
                action=action,
                resource=resource or None,
                reason=reason,
                policy_type=first["policy_type"],
                is_explicit_deny=first["is_explicit_deny"],
                error_codes=tuple(sorted({str(r["error_code"]) for r in group})),
                attempts=len(group),
                last_seen=max(r["event_time"] for r in group),
                is_granted=reach.unconditional,
                granted_on=granted_on,
                granted_if=reach.condition_keys,
                fix=_fix(
                    action,
                    resource or None,
                    first["policy_type"],
                    first["is_explicit_deny"],
                    reach,
                    granted_on,
                ),
            )
        )
    return out
