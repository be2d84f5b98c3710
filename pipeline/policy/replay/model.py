"""What a replay found: each call of the window allowed, refused or unknown under the policies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from trailwise.pipeline.timeutil import iso


@dataclass(frozen=True)
class Refusal:
    """Calls of one action on one resource that the policies would refuse."""

    action: str
    resource_arn: str | None
    unnamed_type: str | None  # the resource type, when the calls need one their events do not name
    is_explicit_deny: bool
    calls: int
    first_seen_at: datetime
    last_seen_at: datetime
    statements: tuple[str, ...]  # the Deny statements that refuse them
    misses: tuple[str, ...]  # Allow statements naming the action, and what each lacked

    @property
    def why(self) -> str:
        """One line: which Deny refused the calls, or that no statement allows them."""
        if self.is_explicit_deny:
            return "denied by " + ", ".join(self.statements)
        if self.misses:
            return "no statement allows it (" + "; ".join(self.misses) + ")"
        return "no statement allows the action"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "action": self.action,
            "resource_arn": self.resource_arn,
            "unnamed_resource_type": self.unnamed_type,
            "calls": self.calls,
            "first_seen_at": iso(self.first_seen_at),
            "last_seen_at": iso(self.last_seen_at),
            "refused_by": "explicit_deny" if self.is_explicit_deny else "implicit_deny",
            "deny_statements": list(self.statements),
            "missing": None if self.is_explicit_deny else self.why,
            "near_misses": list(self.misses),
        }


@dataclass(frozen=True)
class Unjudged:
    """Calls of one action whose outcome the lake cannot tell, for one reason."""

    action: str
    reason: str  # "condition key aws:PrincipalTag/team", "resource (the event names none)"
    calls: int
    first_seen_at: datetime
    last_seen_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "action": self.action,
            "reason": self.reason,
            "calls": self.calls,
            "first_seen_at": iso(self.first_seen_at),
            "last_seen_at": iso(self.last_seen_at),
        }


@dataclass(frozen=True)
class Replay:
    """Every authorized call of a principal in a window, judged against identity policies."""

    principal_arn: str
    since: datetime | None
    until: datetime | None
    policies: tuple[str, ...]  # the names of the documents replayed against
    calls_checked: int
    allowed: int
    refused_calls: int
    unknown_calls: int
    requests: int  # distinct (action, resource, context) evaluated
    denied_calls: int  # refused when made: not replayed
    refused: tuple[Refusal, ...]
    unknown: tuple[Unjudged, ...]

    @property
    def breaks_something(self) -> bool:
        """Whether some call that worked would be refused."""
        return self.refused_calls > 0

    def line(self) -> str:
        """``replayed 12,345 calls in the window: 0 refused, 3 unknown``."""
        calls = "call" if self.calls_checked == 1 else "calls"
        return (
            f"replayed {self.calls_checked:,} {calls} in the window:"
            f" {self.refused_calls:,} refused, {self.unknown_calls:,} unknown"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (times as ISO 8601 UTC with ``Z``)."""
        return {
            "principal_arn": self.principal_arn,
            "window": {"since": iso(self.since), "until": iso(self.until)},
            "policies": list(self.policies),
            "calls_checked": self.calls_checked,
            "allowed": self.allowed,
            "refused_calls": self.refused_calls,
            "unknown_calls": self.unknown_calls,
            "requests_evaluated": self.requests,
            "denied_calls_not_replayed": self.denied_calls,
            "refused": [r.to_dict() for r in self.refused],
            "unknown": [u.to_dict() for u in self.unknown],
        }
