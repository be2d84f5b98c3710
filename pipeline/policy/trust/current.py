"""The role's current trust policy parsed into entries: one per principal each statement names."""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from trailwise.pipeline.errors import PolicyError

ACCOUNT_ROOT = re.compile(r"^arn:[\w-]+:iam::(?P<account>\d{12}):root$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
ARN_ACCOUNT = re.compile(r"^arn:[\w-]+:(?:iam|sts)::(?P<account>\d{12}):")


@dataclass(frozen=True)
class Entry:
    """One principal named by one statement of the current trust policy."""

    index: int  # position in the list of entries
    statement: int
    sid: str | None
    effect: str
    kind: str  # wildcard | account | aws | service | federated | not_principal
    value: str
    actions: tuple[str, ...]
    not_action: bool
    condition: Mapping[str, Any] | None

    @property
    def is_allow(self) -> bool:
        return self.effect == "Allow"

    def allows(self, action: str) -> bool:
        """Whether this statement's Action (or NotAction) covers ``action``."""
        hit = any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in self.actions)
        return hit != self.not_action

    @property
    def account(self) -> str | None:
        if self.kind == "account":
            return _account_of(self.value)
        m = ARN_ACCOUNT.match(self.value)
        return m.group("account") if m else None


def listed(value: Any) -> list[Any]:
    """A policy value that may be one item or a list, as a list (None: empty)."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def statements_of(
    doc: Mapping[str, Any] | None, what: str = "the current trust policy"
) -> list[dict[str, Any]]:
    """The statements of a policy document (one object or a list); none without a document.

    Raises:
        PolicyError: ``Statement`` is neither an object nor a list (the message names ``what``).
    """
    if not doc:
        return []
    raw = doc.get("Statement")
    statements = [raw] if isinstance(raw, dict) else raw
    if not isinstance(statements, list):
        raise PolicyError(f"{what}'s Statement is not an object or a list")
    return [s for s in statements if isinstance(s, dict)]


def _account_of(value: str) -> str | None:
    if _ACCOUNT_ID.match(value):
        return value
    m = ACCOUNT_ROOT.match(value)
    return m.group("account") if m else None


def parse_entries(doc: Mapping[str, Any] | None) -> list[Entry]:
    """One :class:`Entry` per principal each statement of the trust policy ``doc`` names.

    Raises:
        PolicyError: the document's ``Statement`` is neither an object nor a list.
    """
    entries: list[Entry] = []
    for number, statement in enumerate(statements_of(doc)):
        effect = str(statement.get("Effect", ""))
        not_action = "NotAction" in statement
        actions = tuple(
            str(a) for a in listed(statement.get("NotAction" if not_action else "Action"))
        )
        condition = (
            statement.get("Condition") if isinstance(statement.get("Condition"), dict) else None
        )
        sid = str(statement["Sid"]) if statement.get("Sid") else None
        found: list[tuple[str, str]] = []
        if "NotPrincipal" in statement:
            found.append(("not_principal", json.dumps(statement["NotPrincipal"], sort_keys=True)))
        principal = statement.get("Principal")
        if principal == "*":
            found.append(("wildcard", "*"))  # everyone, federated and services included
        elif isinstance(principal, dict):
            for key, values in sorted(principal.items()):
                for value in listed(values):
                    text = str(value)
                    if key == "AWS":
                        if text == "*":
                            found.append(("wildcard", "AWS:*"))  # every AWS principal
                        elif _account_of(text):
                            found.append(("account", text))
                        else:
                            found.append(("aws", text))
                    elif key == "Service":
                        found.append(("service", text))
                    elif key == "Federated":
                        found.append(("federated", text))
                    else:
                        found.append((key.lower(), text))
        for kind, value in found:
            entries.append(
                Entry(
                    index=len(entries),
                    statement=number,
                    sid=sid,
                    effect=effect,
                    kind=kind,
                    value=value,
                    actions=actions,
                    not_action=not_action,
                    condition=condition,
                )
            )
    return entries
