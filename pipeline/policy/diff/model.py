"""The results of a diff: per action, per denied call, per statement, per policy, and the
replacement policies, each JSON-ready through ``to_dict``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from trailwise.pipeline.policy import document as policy_document
from trailwise.pipeline.timeutil import iso

if TYPE_CHECKING:  # the replay package reads evidence, which imports the policy package
    from trailwise.pipeline.policy.replay.model import Replay


@dataclass(frozen=True)
class ActionVerdict:
    """One granted action and what the window says about it."""

    action: str
    service: str
    access_level: str | None
    status: str  # used | unused | not_observable | outside_coverage
    reason: str
    last_seen: datetime | None
    event_count: int
    granted_by: tuple[str, ...]
    resource_scope: tuple[str, ...]
    is_conditional: bool
    denied_calls: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        return {
            "action": self.action,
            "service": self.service,
            "access_level": self.access_level,
            "status": self.status,
            "reason": self.reason,
            "last_seen": iso(self.last_seen),
            "event_count": self.event_count,
            "granted_by": list(self.granted_by),
            "resource_scope": list(self.resource_scope),
            "is_conditional": self.is_conditional,
            "denied_calls": self.denied_calls,
        }


@dataclass(frozen=True)
class DeniedUse:
    """Calls of one action on one resource that were refused, and what would change that."""

    action: str
    resource: str | None
    reason: str
    policy_type: str | None
    is_explicit_deny: bool | None
    error_codes: tuple[str, ...]
    attempts: int
    last_seen: datetime | None
    is_granted: bool  # an unconditional Allow of its identity policies names action and resource
    granted_on: tuple[str, ...]  # where the grant reaches instead, when not here
    granted_if: tuple[str, ...]  # condition keys of the Allows that name it here
    fix: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        return {
            "action": self.action,
            "resource": self.resource,
            "reason": self.reason,
            "policy_type": self.policy_type,
            "is_explicit_deny": self.is_explicit_deny,
            "error_codes": list(self.error_codes),
            "attempts": self.attempts,
            "last_seen": iso(self.last_seen),
            "is_granted": self.is_granted,
            "granted_on": list(self.granted_on),
            "granted_if": list(self.granted_if),
            "fix": self.fix,
        }


@dataclass(frozen=True)
class StatementReview:
    """One statement of a policy, judged against the principal's use."""

    index: int
    sid: str | None
    effect: str
    status: str  # used | partly_used | redundant | unjudged | deny
    removable: tuple[str, ...]
    kept: tuple[str, ...]
    unjudgeable: tuple[str, ...]
    not_effective: int  # actions it names that a Deny or the boundary keeps from the principal

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        return {
            "index": self.index,
            "sid": self.sid,
            "effect": self.effect,
            "status": self.status,
            "removable": list(self.removable),
            "kept": list(self.kept),
            "unjudgeable": list(self.unjudgeable),
            "not_effective": self.not_effective,
        }


@dataclass(frozen=True)
class PolicyReview:
    """One policy that grants the principal something, statement by statement."""

    source: str  # as in granted_by
    kind: str  # inline | managed | aws_managed | group_inline | group_managed
    name: str
    policy_arn: str | None
    attachment_count: int | None
    document: dict[str, Any] | None
    statements: tuple[StatementReview, ...]

    @property
    def status(self) -> str:
        """``not_in_snapshot``, ``redundant`` (every Allow statement is), ``reduced`` or
        ``unchanged``."""
        if self.document is None:
            return "not_in_snapshot"
        allows = [s for s in self.statements if s.effect == "Allow"]
        if allows and all(s.status == "redundant" for s in allows):
            return "redundant"
        return "reduced" if any(s.removable for s in allows) else "unchanged"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        return {
            "source": self.source,
            "kind": self.kind,
            "name": self.name,
            "policy_arn": self.policy_arn,
            "attachment_count": self.attachment_count,
            "status": self.status,
            "statements": [s.to_dict() for s in self.statements],
            "document": self.document,
        }


@dataclass(frozen=True)
class Replacement:
    """A policy with the removals applied, or ``delete`` when nothing of it stays."""

    source: str
    name: str
    action: str  # replace | delete
    documents: tuple[dict[str, Any], ...]
    removed: tuple[str, ...]
    size: int
    max_size: int
    problems: tuple[str, ...]  # introduced by the rewrite: always a bug
    inherited_problems: tuple[str, ...]  # already in the original policy
    note: str | None

    @property
    def fits(self) -> bool:
        """Whether every document is within the quota."""
        return all(policy_document.size(d) <= self.max_size for d in self.documents)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        return {
            "source": self.source,
            "name": self.name,
            "action": self.action,
            "documents": list(self.documents),
            "removed": list(self.removed),
            "size": self.size,
            "max_size": self.max_size,
            "fits": self.fits,
            "problems": list(self.problems),
            "inherited_problems": list(self.inherited_problems),
            "note": self.note,
        }


@dataclass
class PolicyDiff:
    """Granted today against used in the window, for one user or role."""

    principal_arn: str
    principal_type: str
    account_id: str
    since: datetime | None
    until: datetime | None
    is_aws_managed: bool
    permissions_boundary_arn: str | None
    removable: list[ActionVerdict]
    kept: list[ActionVerdict]
    unjudgeable: list[ActionVerdict]
    used_not_granted: list[DeniedUse]
    policies: list[PolicyReview]
    replacement: list[Replacement] = field(default_factory=list)
    # The policies it would hold once the replacements are applied, replayed; or why not.
    replay: Replay | None = None
    replay_skipped: str | None = None

    def to_dict(self, *, replacement: bool = True) -> dict[str, Any]:
        """Everything, JSON-ready; ``replacement=False`` leaves the replacement policies out."""
        out: dict[str, Any] = {
            "principal_arn": self.principal_arn,
            "principal_type": self.principal_type,
            "account_id": self.account_id,
            "since": iso(self.since),
            "until": iso(self.until),
            "is_aws_managed": self.is_aws_managed,
            "permissions_boundary_arn": self.permissions_boundary_arn,
            "summary": {
                "granted": len(self.removable) + len(self.kept) + len(self.unjudgeable),
                "removable": len(self.removable),
                "kept": len(self.kept),
                "unjudgeable": len(self.unjudgeable),
                "used_not_granted": len(self.used_not_granted),
                "redundant_statements": sum(
                    1 for p in self.policies for s in p.statements if s.status == "redundant"
                ),
            },
            "removable": [a.to_dict() for a in self.removable],
            "kept": [a.to_dict() for a in self.kept],
            "unjudgeable": [a.to_dict() for a in self.unjudgeable],
            "used_not_granted": [d.to_dict() for d in self.used_not_granted],
            "policies": [p.to_dict() for p in self.policies],
        }
        if replacement:
            out["replacement"] = [r.to_dict() for r in self.replacement]
            out["replay"] = None if self.replay is None else self.replay.to_dict()
            out["replay_skipped"] = self.replay_skipped
        return out
