"""The current resource policy, statement by statement: which callers each statement admitted,
and how it is broader than their use.

A statement admits a call when its principal, action and resource match the call's; its
conditions are taken to have held for calls that succeeded (they did succeed) and are not
evaluated. A Deny is never judged unused: it refuses, so its use is the calls it kept out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from trailwise.pipeline.iam.expand import matching_actions
from trailwise.pipeline.policy.replay.patterns import Pattern, RequestContext
from trailwise.pipeline.policy.resource_policy.model import Caller, Finding, StatementReview
from trailwise.pipeline.policy.trust.current import listed, statements_of

_ACCOUNT = re.compile(r"^(?:\d{12}|arn:[\w-]+:iam::(\d{12}):root)$")
# The keys AWS documents against the confused deputy, for service principals.
DEPUTY_KEYS = frozenset(
    {"aws:sourcearn", "aws:sourceaccount", "aws:sourceorgid", "aws:sourceorgpaths"}
)
_NO_CONTEXT = RequestContext({})


@dataclass(frozen=True)
class Statement:
    """One statement of a resource policy, read for matching."""

    index: int
    sid: str | None
    effect: str
    raw: dict[str, Any]
    principals: tuple[tuple[str, str], ...]  # (AWS|Service|Federated|CanonicalUser|*, value)
    not_principal: bool
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool
    condition_keys: frozenset[str]  # lower-case

    @property
    def is_public(self) -> bool:
        """Admits everyone (``*`` or ``AWS: *``)."""
        return not self.not_principal and any(k == "*" for k, _ in self.principals)


def parse_statements(
    doc: dict[str, Any] | None, what: str = "the resource policy"
) -> list[Statement]:
    """The statements of ``doc`` (a resource policy), in order.

    Raises:
        PolicyError: its ``Statement`` is neither an object nor a list (the message names
            ``what``).
    """
    out: list[Statement] = []
    for index, raw in enumerate(statements_of(doc, what)):
        not_principal = "NotPrincipal" in raw
        principal = raw.get("NotPrincipal" if not_principal else "Principal")
        pairs: list[tuple[str, str]] = []
        if principal == "*":
            pairs.append(("*", "*"))
        elif isinstance(principal, dict):
            for key, values in sorted(principal.items()):
                for value in listed(values):
                    text = str(value)
                    pairs.append(("*", "*") if key == "AWS" and text == "*" else (key, text))
        not_action = "NotAction" in raw
        not_resource = "NotResource" in raw
        condition = raw.get("Condition")
        keys = (
            frozenset(
                str(k).lower() for ops in condition.values() if isinstance(ops, dict) for k in ops
            )
            if isinstance(condition, dict)
            else frozenset()
        )
        out.append(
            Statement(
                index=index,
                sid=str(raw["Sid"]) if raw.get("Sid") else None,
                effect=str(raw.get("Effect", "")),
                raw=raw,
                principals=tuple(pairs),
                not_principal=not_principal,
                actions=tuple(
                    str(a) for a in listed(raw.get("NotAction" if not_action else "Action"))
                ),
                not_action=not_action,
                resources=tuple(
                    str(r) for r in listed(raw.get("NotResource" if not_resource else "Resource"))
                ),
                not_resource=not_resource,
                condition_keys=keys,
            )
        )
    return out


def account_of(value: str) -> str | None:
    """The account a principal value stands for whole (``123456789012`` or its root ARN)."""
    match = _ACCOUNT.match(value)
    if not match:
        return None
    return match.group(1) or value


def _principal_matches(statement: Statement, caller: Caller) -> bool:
    listed_match = any(_one_principal(kind, value, caller) for kind, value in statement.principals)
    return not listed_match if statement.not_principal else listed_match


def _one_principal(kind: str, value: str, caller: Caller) -> bool:
    if kind == "*":
        return True
    if kind == "Service":
        return caller.kind == "service" and caller.arn.lower() == value.lower()
    if kind == "AWS" and caller.kind == "principal":
        account = account_of(value)
        if account is not None:
            return caller.account_id == account
        return caller.arn == value or caller.arn.lower() == value.lower()
    if kind == "Federated":
        return caller.arn == value
    return False


def _matches(patterns: Iterable[str], value: str, kind: str) -> bool:
    """Whether one of ``patterns`` matches ``value``; a pattern with a policy variable that
    cannot be resolved here counts as matching (it may)."""
    for text in patterns:
        reasons: list[str] = []
        result = Pattern.of(text, kind, variables=kind == "resource").matches(
            value, _NO_CONTEXT, reasons
        )
        if result is not False:
            return True
    return False


def action_matches(statement: Statement, action: str) -> bool:
    found = _matches(statement.actions, action, "action")
    return not found if statement.not_action else found


def resource_matches(statement: Statement, resource: str) -> bool:
    if not statement.resources:  # ECR and some Lambda policies name no Resource
        return not statement.not_resource
    found = _matches(statement.resources, resource, "resource")
    return not found if statement.not_resource else found


def admits(statement: Statement, caller: Caller, action: str, resource: str) -> bool:
    """Whether ``statement`` covers ``caller`` calling ``action`` on ``resource``."""
    return (
        _principal_matches(statement, caller)
        and action_matches(statement, action)
        and resource_matches(statement, resource)
    )


def granted_actions(statement: Statement, service: str) -> frozenset[str]:
    """The catalogue actions of ``service`` an Allow statement grants."""
    own = matching_actions(f"{service}:*")
    if statement.not_action:
        refused = frozenset().union(*(matching_actions(a) for a in statement.actions))
        return own - refused
    return frozenset().union(*(matching_actions(a) for a in statement.actions)) & own


def review(
    statements: list[Statement],
    callers: list[Caller],
    *,
    service: str,
    resource_account: str | None,
    unobservable: frozenset[str],
) -> list[StatementReview]:
    """Each statement's verdict, the callers it admitted and how it is broader than their use.

    Args:
        statements: the current policy's statements.
        callers: the window's callers, with their uses.
        service: the resource's service (``s3``, ``kms``, ...).
        resource_account: the resource's account.
        unobservable: the actions the lake could not have seen for the account.
    """
    out: list[StatementReview] = []
    for statement in statements:
        admitted: list[str] = []
        calls = 0
        used_actions: set[str] = set()
        for caller in callers:
            hit = False
            for use in caller.uses:
                if statement.effect == "Deny":
                    if use.explicit_denials and admits(
                        statement, caller, use.action, use.resource_arn
                    ):
                        hit = True
                        calls += use.explicit_denials
                elif use.calls and admits(statement, caller, use.action, use.resource_arn):
                    hit = True
                    calls += use.calls
                    used_actions.add(use.action)
            if hit:
                admitted.append(caller.arn)
        verdict, broader = _judge(
            statement, callers, admitted, used_actions, service, resource_account, unobservable
        )
        out.append(
            StatementReview(
                index=statement.index,
                sid=statement.sid,
                effect=statement.effect,
                verdict=verdict,
                statement=statement.raw,
                admitted=tuple(admitted),
                calls=calls,
                broader=tuple(broader),
            )
        )
    return out


def _judge(
    statement: Statement,
    callers: list[Caller],
    admitted: list[str],
    used_actions: set[str],
    service: str,
    resource_account: str | None,
    unobservable: frozenset[str],
) -> tuple[str, list[Finding]]:
    if statement.effect == "Deny":
        return "deny", []
    if statement.effect != "Allow" or statement.not_principal:
        return "unsupported", []
    granted = granted_actions(statement, service)
    label = statement.sid or f"#{statement.index}"
    broader: list[Finding] = []

    def say(kind: str, message: str) -> None:
        severity = "high" if kind == "public_statement" else "warning"
        broader.append(Finding(kind, severity, label, message))

    if statement.is_public and not statement.condition_keys:
        say(
            "public_statement",
            "Principal * without a condition admits everyone, unauthenticated callers too",
        )
    by_arn = {c.arn: c for c in callers}
    for kind, value in statement.principals:
        account = account_of(value) if kind == "AWS" else None
        if account is None or account == resource_account:
            continue
        acted = sorted(
            a for a in admitted if by_arn[a].kind == "principal" and by_arn[a].account_id == account
        )
        if acted and not any(a.endswith(":root") for a in acted):
            say(
                "whole_account",
                f"admits all of account {account}, where only {', '.join(acted)} acted",
            )
    for kind, value in statement.principals:
        if kind == "Service" and not (statement.condition_keys & DEPUTY_KEYS):
            say(
                "confused_deputy",
                f"admits {value} for any account's resources: it has no aws:SourceArn or "
                "aws:SourceAccount condition (the confused deputy)",
            )
    delegates = bool(statement.principals) and all(
        kind == "AWS" and account_of(value) == resource_account
        for kind, value in statement.principals
    )
    if used_actions and len(granted) > len(used_actions) and not delegates:
        unused = sorted(granted - used_actions - unobservable)
        if unused:
            shown = ", ".join(unused[:5]) + (
                f" and {len(unused) - 5} more" if len(unused) > 5 else ""
            )
            say(
                "more_actions_than_used",
                f"grants {len(granted)} actions where {len(used_actions)} were used; "
                f"unused: {shown}",
            )
    if admitted:
        return "used", broader
    if granted & unobservable:
        return "unknown", broader
    return "unused", broader
