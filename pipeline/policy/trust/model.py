"""The public results of ``suggest_trust``: who assumed the role, the failed attempts, its
sessions, the principals the current trust policy names, the findings, and the suggestion
holding them all, each with a JSON-ready ``to_dict``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from trailwise.pipeline.policy import document as policy_document
from trailwise.pipeline.timeutil import iso


@dataclass(frozen=True)
class Assumer:
    """One principal seen assuming the role.

    ``kind`` is ``aws`` (a user or role ARN), ``account`` (only the calling account is known),
    ``service`` (an AWS service principal), ``oidc`` or ``saml`` (a federated provider).
    ``evidence`` is ``assume_role`` (the assumption events) or ``sessions`` (inferred from the
    role's sessions when the assumptions are not in the lake).
    """

    kind: str
    principal: str
    account_id: str | None
    actions: tuple[str, ...]
    assumptions: int
    first_seen: datetime | None
    last_seen: datetime | None
    evidence: str = "assume_role"
    subjects: tuple[str, ...] = ()
    audiences: tuple[str, ...] = ()
    external_ids: tuple[str, ...] = ()
    always_external_id: bool = False
    source_identities: tuple[str, ...] = ()
    session_tag_keys: tuple[str, ...] = ()
    session_names: tuple[str, ...] = ()
    source_ips: tuple[str, ...] = ()
    trusted_by: tuple[int, ...] = ()
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        return {
            "kind": self.kind,
            "principal": self.principal,
            "account_id": self.account_id,
            "actions": list(self.actions),
            "assumptions": self.assumptions,
            "first_seen": iso(self.first_seen),
            "last_seen": iso(self.last_seen),
            "evidence": self.evidence,
            "subjects": list(self.subjects),
            "audiences": list(self.audiences),
            "external_ids": list(self.external_ids),
            "always_external_id": self.always_external_id,
            "source_identities": list(self.source_identities),
            "session_tag_keys": list(self.session_tag_keys),
            "session_names": list(self.session_names),
            "source_ips": list(self.source_ips),
            "trusted_by_statements": list(self.trusted_by),
            "note": self.note,
        }


@dataclass(frozen=True)
class FailedAssumption:
    """Calls that tried to assume the role and failed (denied, or refused before that)."""

    principal: str
    error_code: str
    attempts: int
    last_seen: datetime | None
    message: str | None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        return {
            "principal": self.principal,
            "error_code": self.error_code,
            "attempts": self.attempts,
            "last_seen": iso(self.last_seen),
            "message": self.message,
        }


@dataclass(frozen=True)
class TrustedPrincipal:
    """One principal the current trust policy names, and whether anyone used it."""

    statement: int
    sid: str | None
    effect: str
    kind: str  # wildcard | account | aws | service | federated | not_principal
    principal: str
    actions: tuple[str, ...]
    condition: Mapping[str, Any] | None
    assumptions: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        return {
            "statement": self.statement,
            "sid": self.sid,
            "effect": self.effect,
            "kind": self.kind,
            "principal": self.principal,
            "actions": list(self.actions),
            "condition": dict(self.condition) if self.condition else None,
            "assumptions": self.assumptions,
        }


@dataclass(frozen=True)
class Finding:
    """One thing the comparison flags, with a sentence a person can act on."""

    kind: str
    severity: str  # high | medium | low | info
    principal: str | None
    message: str
    seen: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        return {
            "kind": self.kind,
            "severity": self.severity,
            "principal": self.principal,
            "message": self.message,
            "seen": list(self.seen),
        }


@dataclass(frozen=True)
class Sessions:
    """The role's sessions seen acting in the window."""

    seen: int
    explained: int
    unexplained: tuple[str, ...]  # session names without an assumption in the lake

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        return {
            "seen": self.seen,
            "explained": self.explained,
            "unexplained": list(self.unexplained),
        }


@dataclass
class TrustSuggestion:
    """Who assumed a role, the trust policy that admits exactly them, and how the current one
    compares."""

    role_arn: str
    account_id: str
    since: datetime | None
    until: datetime | None
    is_aws_managed: bool
    assumers: list[Assumer]
    failed: list[FailedAssumption]
    sessions: Sessions
    document: dict[str, Any] | None
    current: dict[str, Any] | None
    trusted: list[TrustedPrincipal]
    findings: list[Finding]
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready, keys in a stable order."""
        return {
            "role_arn": self.role_arn,
            "account_id": self.account_id,
            "since": iso(self.since),
            "until": iso(self.until),
            "is_aws_managed": self.is_aws_managed,
            "assumers": [a.to_dict() for a in self.assumers],
            "failed_assumptions": [f.to_dict() for f in self.failed],
            "sessions": self.sessions.to_dict(),
            "suggested_policy": self.document,
            "suggested_policy_size": policy_document.size(self.document) if self.document else None,
            "problems": list(self.problems),
            "current_policy": self.current,
            "current_principals": [t.to_dict() for t in self.trusted],
            "findings": [f.to_dict() for f in self.findings],
        }
