"""What ``policy resource`` finds: the resource's callers, its policy judged statement by
statement, the suggested policy and the findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from trailwise.pipeline.timeutil import iso


@dataclass(frozen=True)
class Use:
    """One action a caller used on the resource (on ``resource_arn``, the ARN the action
    named: an object of the bucket, the key itself)."""

    action: str
    resource_arn: str
    calls: int  # authorized calls
    denied: int
    explicit_denials: int
    denied_by: tuple[str, ...]
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True)
class Caller:
    """Who called: ``kind`` is ``principal`` (a user or role, a session counting for its
    role), ``service`` (an AWS service with its own service principal) or ``anonymous``."""

    kind: str
    arn: str  # principal ARN, service principal (cloudtrail.amazonaws.com) or "anonymous"
    account_id: str | None
    is_same_account: bool
    organization_id: str | None  # the caller account's organization, as the lake knows it
    evidence: str
    uses: tuple[Use, ...]
    via_services: tuple[str, ...]
    source_arns: tuple[str, ...]
    source_accounts: tuple[str, ...]
    vpc_endpoints: tuple[str, ...]

    @property
    def calls(self) -> int:
        return sum(u.calls for u in self.uses)

    @property
    def denied(self) -> int:
        return sum(u.denied for u in self.uses)

    @property
    def last_seen(self) -> datetime:
        return max(u.last_seen for u in self.uses)

    @property
    def used_actions(self) -> tuple[str, ...]:
        return tuple(sorted({u.action for u in self.uses if u.calls}))

    def per_action(self, sample: int = 5) -> list[dict[str, Any]]:
        """The uses per action: calls, denials, how many resources and the first few."""
        by_action: dict[str, list[Use]] = {}
        for use in self.uses:
            by_action.setdefault(use.action, []).append(use)
        out = []
        for action, uses in sorted(by_action.items()):
            names = sorted({u.resource_arn for u in uses})
            out.append(
                {
                    "action": action,
                    "calls": sum(u.calls for u in uses),
                    "denied": sum(u.denied for u in uses),
                    "explicit_denials": sum(u.explicit_denials for u in uses),
                    "denied_by": sorted({d for u in uses for d in u.denied_by}),
                    "resources": len(names),
                    "resource_sample": names[:sample],
                    "first_seen": iso(min(u.first_seen for u in uses)),
                    "last_seen": iso(max(u.last_seen for u in uses)),
                }
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "caller": self.arn,
            "account_id": self.account_id,
            "is_same_account": self.is_same_account,
            "organization_id": self.organization_id,
            "evidence": self.evidence,
            "calls": self.calls,
            "denied": self.denied,
            "last_seen": iso(self.last_seen),
            "actions": self.used_actions,
            "uses": self.per_action(),
            "via_services": list(self.via_services),
            "source_arns": list(self.source_arns),
            "source_accounts": list(self.source_accounts),
            "vpc_endpoints": list(self.vpc_endpoints),
        }


@dataclass(frozen=True)
class Finding:
    """``kind`` names it; ``severity`` is ``high``, ``warning`` or ``info``."""

    kind: str
    severity: str
    subject: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "severity": self.severity,
            "subject": self.subject,
            "message": self.message,
        }


@dataclass(frozen=True)
class StatementReview:
    """One statement of the current policy and what the window's calls say of it.

    ``verdict`` is ``used`` (it admitted observed calls), ``unused`` (it admitted none),
    ``unknown`` (it admitted none, but grants actions the lake could not have seen for the
    account: kept), ``deny`` (a Deny: kept as it is) or ``unsupported`` (a form the review does
    not judge, such as NotPrincipal on an Allow: kept as it is).
    """

    index: int
    sid: str | None
    effect: str
    verdict: str
    statement: dict[str, Any]
    admitted: tuple[str, ...]  # callers it admitted
    calls: int
    broader: tuple[Finding, ...]  # how it is broader than its use

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "sid": self.sid,
            "effect": self.effect,
            "verdict": self.verdict,
            "admitted": list(self.admitted),
            "calls": self.calls,
            "broader": [f.to_dict() for f in self.broader],
            "statement": self.statement,
        }


@dataclass(frozen=True)
class CurrentPolicy:
    """What the latest capture of the account holds for the resource: ``state`` is
    ``policy``, ``no policy``, ``unreadable`` (``error_code`` says why) or ``not captured``."""

    state: str
    document: dict[str, Any] | None
    captured_arn: str | None
    error_code: str | None
    details: dict[str, Any] | None
    captured_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "resource_arn": self.captured_arn,
            "error_code": self.error_code,
            "captured_at": iso(self.captured_at) if self.captured_at else None,
            "details": self.details,
            "document": self.document,
        }


@dataclass(frozen=True)
class ResourcePolicySuggestion:
    """The result of :func:`trailwise.pipeline.policy.resource_policy.suggest_resource_policy`.

    ``document`` is None when no statement is needed (every caller is of the resource's own
    account and no Deny is kept): the resource then needs no policy.
    """

    resource_arn: str
    service: str
    account_id: str | None
    since: datetime | None
    until: datetime | None
    callers: list[Caller]
    current: CurrentPolicy
    reviews: list[StatementReview]
    document: dict[str, Any] | None
    notes: list[str]
    findings: list[Finding]
    problems: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.service}-{self.resource_arn.rsplit(':', 1)[-1].rsplit('/', 1)[-1]}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "resource_arn": self.resource_arn,
            "service": self.service,
            "account_id": self.account_id,
            "since": iso(self.since) if self.since else None,
            "until": iso(self.until) if self.until else None,
            "calls": sum(c.calls for c in self.callers),
            "denied": sum(c.denied for c in self.callers),
            "callers": [c.to_dict() for c in self.callers],
            "current": self.current.to_dict(),
            "statements": [r.to_dict() for r in self.reviews],
            "suggested": self.document,
            "notes": list(self.notes),
            "findings": [f.to_dict() for f in self.findings],
            "problems": list(self.problems),
        }
