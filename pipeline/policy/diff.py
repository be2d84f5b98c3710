"""What a principal is granted today against what it used: what to cut, policy by policy.

Each granted action (the latest IAM snapshot's expanded grants) falls in one group, decided by
the ``unused_permissions`` query:

- ``removable``: observable by CloudTrail and not used in the window;
- ``kept``: used (authorized calls) in the window;
- ``unjudgeable``: CloudTrail cannot show its use (no event maps to it, a data event the lake
  holds none of, a source the trail may exclude) or the lake holds no events of the account;
  each says why.

``used_not_granted`` lists the calls that were denied, with the policy type that refused them
and whether the identity policies grant the action on that resource at all: only a gap in
them can be closed by an identity policy.

Per policy (each ``granted_by`` source: inline, managed, through a group), every statement is
judged: ``redundant`` when all it grants is removable (or nothing it names reaches the
principal), ``partly_used``, ``used`` or ``unjudged``.

The replacement policies apply the removals and nothing else:

- a redundant statement is dropped; statements without removals, Deny statements, Resource,
  NotResource and Condition stay as they were (a policy left with Deny statements only stays);
- a statement that loses some actions keeps its used and unjudgeable ones. One that listed its
  actions keeps listing them; one that used wildcards is narrowed to word-prefix patterns
  (``s3:Replicate*``) whose every catalogue match it named and none of which is removed, a
  whole service kept as ``service:*``, so no pattern grants what the original did not;
- unjudgeable actions that cannot apply to the statement's resources (a Storage Lens action
  from ``s3:*`` on a bucket) are left out: the statement never allowed them; resources only a
  removed action could use are dropped;
- each replacement is validated (problems the rewrite introduced apart from those the original
  already had) and sized against IAM's quota; a managed policy too large is split.

Example::

    result = diff(Lake("lake"), "arn:aws:iam::111122223333:role/app-role")
    print(result.to_text())
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from trailwise.pipeline.errors import PolicyError, UsageError
from trailwise.pipeline.iam.expand import matching_actions
from trailwise.pipeline.iam.store import require_snapshot
from trailwise.pipeline.lake import Lake, as_lake
from trailwise.pipeline.mapping import catalogue
from trailwise.pipeline.policy import document as policy_document
from trailwise.pipeline.query import fetch
from trailwise.pipeline.timeutil import iso, naive_utc, short_time, window_text

# The unused_permissions query needs both ends of its window: an open end becomes these.
_FAR_PAST = datetime(1970, 1, 1)
_FAR_FUTURE = datetime(9999, 12, 31)
# IAM quotas on policy size (characters without whitespace). Inline limits are per principal,
# for all its inline policies together.
INLINE_LIMITS = {"role": 10240, "user": 2048, "group": 5120}
_PRINCIPAL_ARN = re.compile(
    r"^arn:(?P<partition>[\w-]+):(?P<service>iam|sts)::(?P<account>\d{12}):"
    r"(?P<kind>role|user|assumed-role|group)/(?P<rest>.+)$"
)
_STATUS_GROUP = {
    "used": "kept",
    "unused": "removable",
    "not_observable": "unjudgeable",
    "outside_coverage": "unjudgeable",
}
_IDENTITY_TYPES = {"identity-based", None}
_TEXT_NAMES = 12


# ---------------------------------------------------------------------------------------------
# Results


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
        return out

    def to_text(self, *, replacement: bool = True) -> str:
        """A report for people; ``replacement=False`` leaves the replacement policies out."""
        granted = len(self.removable) + len(self.kept) + len(self.unjudgeable)
        lines = [
            f"Permissions of {self.principal_arn} ({self.principal_type})",
            f"Window: {window_text(self.since, self.until)}",
        ]
        if self.permissions_boundary_arn:
            lines.append(f"Permissions boundary: {self.permissions_boundary_arn}")
        if self.is_aws_managed:
            lines.append("AWS manages this principal's policies: the diff is for review only.")
        lines.append(
            f"Granted {granted} actions: {len(self.kept)} used, {len(self.removable)} removable, "
            f"{len(self.unjudgeable)} cannot be judged; {len(self.used_not_granted)} denied "
            "action/resource pair(s)."
        )
        lines.append("")
        lines.append("Remove (granted, observable, not used in the window):")
        lines.extend(_by_service(self.removable) or ["  nothing"])
        attempted = [a for a in self.removable if a.denied_calls]
        for a in attempted:
            lines.append(
                f"  note: {a.action} is unused where granted but was tried and denied "
                f"{a.denied_calls} time(s) elsewhere (see below)"
            )
        lines.append("")
        lines.append("Keep (used):")
        for a in self.kept:
            lines.append(f"  {a.action}  {a.event_count} call(s), last {short_time(a.last_seen)}")
        if not self.kept:
            lines.append("  nothing")
        lines.append("")
        lines.append("Cannot judge (CloudTrail cannot show their use here):")
        reasons: dict[str, list[ActionVerdict]] = {}
        for a in self.unjudgeable:
            reasons.setdefault(a.reason, []).append(a)
        for reason, group in sorted(reasons.items()):
            lines.append(f"  {reason}:")
            lines.extend(f"  {line}" for line in _by_service(group))
        if not self.unjudgeable:
            lines.append("  nothing")
        lines.append("")
        lines.append("Used but not granted (denied calls):")
        for d in self.used_not_granted:
            lines.append(
                f"  {d.action} on {d.resource or '(resource unknown)'}  x{d.attempts}, "
                f"last {short_time(d.last_seen)}: {d.reason}"
            )
            lines.append(f"      {d.fix}")
        if not self.used_not_granted:
            lines.append("  nothing")
        lines.append("")
        lines.append("Policies:")
        for p in self.policies:
            label = {
                "inline": "inline policy",
                "managed": "customer managed policy",
                "aws_managed": "AWS managed policy",
                "group_inline": "inline policy of a group",
                "group_managed": "managed policy through a group",
            }[p.kind]
            lines.append(f"  {p.source} ({label}): {p.status.replace('_', ' ')}")
            for s in p.statements:
                name = s.sid or f"statement {s.index}"
                detail = ""
                if s.removable:
                    detail = f"  remove {_names(s.removable)}"
                elif s.status == "redundant":
                    detail = "  grants nothing the principal keeps (denied or outside its boundary)"
                lines.append(f"    {name:<28}{s.status.replace('_', ' '):<12}{detail}".rstrip())
        if not self.policies:
            lines.append("  none")
        if replacement:
            lines.append("")
            lines.append("Replacement policies (removals applied):")
            if not self.replacement:
                lines.append("  none needed")
            for r in self.replacement:
                size = f"size {r.size} of {r.max_size}" + ("" if r.fits else ", OVER THE QUOTA")
                lines.append(f"  {r.source}: {r.action} ({size})")
                if r.note:
                    lines.append(f"    note: {r.note}")
                for problem in r.problems:
                    lines.append(f"    problem: {problem}")
                for problem in r.inherited_problems:
                    lines.append(f"    problem already in the original: {problem}")
                for doc in r.documents:
                    lines.extend(f"    {line}" for line in json.dumps(doc, indent=2).splitlines())
        return "\n".join(lines) + "\n"


def _names(actions: Sequence[str]) -> str:
    shown = ", ".join(actions[:_TEXT_NAMES])
    return shown + (f" and {len(actions) - _TEXT_NAMES} more" if len(actions) > _TEXT_NAMES else "")


def _by_service(verdicts: Sequence[ActionVerdict]) -> list[str]:
    services: dict[str, list[str]] = {}
    for v in verdicts:
        services.setdefault(v.service, []).append(v.action.split(":", 1)[1])
    return [f"  {svc}: {_names(sorted(names))}" for svc, names in sorted(services.items())]


# ---------------------------------------------------------------------------------------------
# Front function


def diff(
    lake: Lake | str | Path,
    principal_arn: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> PolicyDiff:
    """Compare what ``principal_arn`` is granted (latest IAM snapshot) with its use in the window.

    Args:
        lake: the lake (or its directory), with events and an IAM snapshot of the account.
        principal_arn: a user or role ARN (an assumed-role session ARN names its role).
        since: start of the window (inclusive); None: the first event.
        until: end of the window (exclusive); None: after the last event.

    Raises:
        UsageError: not a user or role ARN, no snapshot loaded, or the principal is not in it.
        PolicyError: one of its policies cannot be read.
    """
    from trailwise.pipeline.query import connect, run_named

    target = as_lake(lake)
    account, kind, name = _parse_principal(principal_arn)
    require_snapshot(target)
    con = connect(target)
    try:
        principal = _principal_row(con, account, kind, name, principal_arn)
        arn = str(principal["principal_arn"])
        sources = _policy_sources(con, principal)
        scopes = {
            str(r["action"]): tuple(r["resource_scope"] or ())
            for r in fetch(
                con,
                "select action, resource_scope from iam_grants where principal_arn = $arn",
                arn=arn,
            )
        }
    finally:
        con.close()
    start, end = naive_utc(since) or _FAR_PAST, naive_utc(until) or _FAR_FUTURE
    verdict_rows = run_named(
        target, "unused_permissions", {"since": start, "until": end, "principal_arn": arn}
    ).to_pylist()
    denied_rows = run_named(
        target,
        "authorization_failure_events",
        {"since": naive_utc(since), "until": naive_utc(until), "principal_arn": arn},
    ).to_pylist()
    statements = [st for source in sources for st in _statements(source)]
    denied = _denied_uses(denied_rows, scopes, statements)
    denied_count: dict[str, int] = {}
    for d in denied:
        denied_count[d.action.lower()] = denied_count.get(d.action.lower(), 0) + d.attempts
    verdicts = [
        ActionVerdict(
            action=str(r["action"]),
            service=str(r["service"]),
            access_level=r["access_level"],
            status=str(r["status"]),
            reason=str(r["reason"]),
            last_seen=r["last_seen"],
            event_count=int(r["event_count"] or 0),
            granted_by=tuple(r["granted_by"] or ()),
            resource_scope=scopes.get(str(r["action"]), ()),
            is_conditional=bool(r["is_conditional"]),
            denied_calls=(
                denied_count.get(str(r["action"]).lower(), 0) if r["status"] != "used" else 0
            ),
        )
        for r in verdict_rows
    ]
    groups: dict[str, list[ActionVerdict]] = {"kept": [], "removable": [], "unjudgeable": []}
    for v in verdicts:
        groups[_STATUS_GROUP.get(v.status, "unjudgeable")].append(v)
    status_of = {v.action: _STATUS_GROUP.get(v.status, "unjudgeable") for v in verdicts}
    reviews = [_review(source, status_of) for source in sources]
    principal_type = str(principal["principal_type"])
    result = PolicyDiff(
        principal_arn=arn,
        principal_type=principal_type,
        account_id=str(principal["account_id"]),
        since=naive_utc(since),
        until=naive_utc(until),
        is_aws_managed=bool(principal["is_aws_managed"]),
        permissions_boundary_arn=principal["permissions_boundary_arn"],
        removable=groups["removable"],
        kept=groups["kept"],
        unjudgeable=groups["unjudgeable"],
        used_not_granted=denied,
        policies=reviews,
    )
    result.replacement = [
        r
        for review in reviews
        if (r := _replacement(review, principal_type, arn, result.is_aws_managed)) is not None
    ]
    return result


# ---------------------------------------------------------------------------------------------
# Reading the snapshot


def _parse_principal(principal_arn: str) -> tuple[str, str, str]:
    m = _PRINCIPAL_ARN.match(principal_arn.strip())
    if not m or (m.group("service") == "sts") != (m.group("kind") == "assumed-role"):
        raise UsageError(
            f"{principal_arn!r} is not a user or role ARN",
            hint="use arn:aws:iam::ACCOUNT:role/NAME or arn:aws:iam::ACCOUNT:user/NAME",
        )
    kind = m.group("kind")
    if kind == "group":
        raise UsageError(
            f"{principal_arn} is a group: diff one of its users instead",
            hint="a group's policies reach each member together with the member's own",
        )
    rest = m.group("rest")
    if kind == "assumed-role":
        return m.group("account"), "role", rest.split("/", 1)[0]
    return m.group("account"), kind, rest.rsplit("/", 1)[-1]


def _principal_row(
    con: duckdb.DuckDBPyConnection, account: str, kind: str, name: str, given: str
) -> dict[str, Any]:
    rows = fetch(
        con,
        "select principal_arn, principal_type, name, account_id, is_aws_managed, "
        "permissions_boundary_arn from iam_principals "
        "where account_id = $account and principal_type = $kind and lower(name) = $name",
        account=account,
        kind=kind,
        name=name.lower(),
    )
    if rows:
        return rows[0]
    accounts = {
        r["account_id"] for r in fetch(con, "select distinct account_id from iam_principals")
    }
    if account not in accounts:
        raise UsageError(
            f"no IAM snapshot of account {account} is loaded ({given})",
            hint="load it: trailwise iam load FILE",
        )
    raise UsageError(f"{kind} {given} is not in the IAM snapshot of account {account}")


@dataclass(frozen=True)
class _Source:
    source: str
    kind: str
    name: str
    policy_arn: str | None
    attachment_count: int | None
    document_json: str | None


def _policy_sources(con: duckdb.DuckDBPyConnection, principal: Mapping[str, Any]) -> list[_Source]:
    """The principal's identity policies, named as ``granted_by`` names them."""
    arn = str(principal["principal_arn"])
    out = [
        _Source(
            f"inline:{principal['name']}/{r['policy_name']}",
            "inline",
            str(r["policy_name"]),
            None,
            None,
            r["document"],
        )
        for r in _inline(con, arn)
    ]
    out.extend(
        _Source(
            str(r["policy_arn"]),
            "aws_managed" if r["is_aws_managed"] else "managed",
            str(r["policy_name"]),
            str(r["policy_arn"]),
            r["attachment_count"],
            r["document"],
        )
        for r in _attached(con, arn)
    )
    if principal["principal_type"] == "user":
        groups = fetch(
            con,
            "select group_name, group_arn from iam_group_members where user_arn = $arn "
            "order by group_name",
            arn=arn,
        )
        for group in groups:
            out.extend(
                _Source(
                    f"group:{group['group_name']}/inline:{r['policy_name']}",
                    "group_inline",
                    str(r["policy_name"]),
                    None,
                    None,
                    r["document"],
                )
                for r in _inline(con, str(group["group_arn"]))
            )
            out.extend(
                _Source(
                    f"group:{group['group_name']}/{r['policy_arn']}",
                    "group_managed",
                    str(r["policy_name"]),
                    str(r["policy_arn"]),
                    r["attachment_count"],
                    r["document"],
                )
                for r in _attached(con, str(group["group_arn"]))
            )
    return out


def _inline(con: duckdb.DuckDBPyConnection, owner: str) -> list[dict[str, Any]]:
    return fetch(
        con,
        "select policy_name, document from iam_inline_policies where owner_arn = $owner "
        "order by policy_name",
        owner=owner,
    )


def _attached(con: duckdb.DuckDBPyConnection, owner: str) -> list[dict[str, Any]]:
    return fetch(
        con,
        "select a.policy_arn, a.policy_name, p.document, p.is_aws_managed, p.attachment_count "
        "from iam_attachments as a left join iam_policies as p on p.policy_arn = a.policy_arn "
        "where a.owner_arn = $owner order by a.policy_arn",
        owner=owner,
    )


# ---------------------------------------------------------------------------------------------
# Denied calls


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
        return not any(_glob(str(p), resource) for p in _listed(statement["NotResource"]))
    return any(_glob(str(p), resource) for p in _listed(statement.get("Resource")))


def _reach(action: str, resource: str | None, statements: Sequence[_Statement]) -> _Reach:
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


def _denied_uses(
    rows: Sequence[Mapping[str, Any]],
    scopes: Mapping[str, tuple[str, ...]],
    statements: Sequence[_Statement],
) -> list[DeniedUse]:
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


# ---------------------------------------------------------------------------------------------
# Statements


@dataclass(frozen=True)
class _Statement:
    raw: dict[str, Any]
    effect: str
    matched: frozenset[str]  # catalogue actions it names
    unknown: tuple[str, ...]  # Action patterns that match no catalogue action


def _statements(source: _Source) -> list[_Statement]:
    if source.document_json is None:
        return []
    try:
        doc = json.loads(source.document_json)
    except json.JSONDecodeError as exc:
        raise PolicyError(f"policy {source.source} is not JSON") from exc
    raw = doc.get("Statement") if isinstance(doc, dict) else None
    items = [raw] if isinstance(raw, dict) else raw
    if not isinstance(items, list):
        raise PolicyError(f"policy {source.source}: Statement is not an object or a list")
    out: list[_Statement] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise PolicyError(f"policy {source.source}: statement {i} is not an object")
        negate = "NotAction" in item
        patterns = [str(p) for p in _listed(item.get("NotAction" if negate else "Action"))]
        if not patterns:
            raise PolicyError(f"policy {source.source}: statement {i} has no Action")
        named = frozenset().union(*(matching_actions(p) for p in patterns))
        matched = matching_actions("*") - named if negate else named
        unknown = () if negate else tuple(p for p in patterns if not matching_actions(p))
        out.append(_Statement(dict(item), str(item.get("Effect", "")), matched, unknown))
    return out


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _review(source: _Source, status_of: Mapping[str, str]) -> PolicyReview:
    reviews: list[StatementReview] = []
    for index, st in enumerate(_statements(source)):
        effective = {a for a in st.matched if a in status_of}
        parts = {
            group: tuple(sorted(a for a in effective if status_of[a] == group))
            for group in ("removable", "kept", "unjudgeable")
        }
        if st.effect != "Allow":
            status = "deny"
        elif not effective or len(parts["removable"]) == len(effective):
            status = "redundant"
        elif parts["removable"]:
            status = "partly_used"
        elif parts["kept"]:
            status = "used"
        else:
            status = "unjudged"
        reviews.append(
            StatementReview(
                index=index,
                sid=str(st.raw["Sid"]) if st.raw.get("Sid") else None,
                effect=st.effect,
                status=status,
                removable=parts["removable"] if st.effect == "Allow" else (),
                kept=parts["kept"] if st.effect == "Allow" else (),
                unjudgeable=parts["unjudgeable"] if st.effect == "Allow" else (),
                not_effective=len(st.matched - effective) if st.effect == "Allow" else 0,
            )
        )
    document = json.loads(source.document_json) if source.document_json else None
    return PolicyReview(
        source=source.source,
        kind=source.kind,
        name=source.name,
        policy_arn=source.policy_arn,
        attachment_count=source.attachment_count,
        document=document,
        statements=tuple(reviews),
    )


# ---------------------------------------------------------------------------------------------
# Replacement policies


_WORD_START = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _compress(actions: Iterable[str], allowed: frozenset[str] | None) -> list[str]:
    """Patterns covering ``actions``.

    ``allowed`` None (the statement listed its actions one by one): the actions themselves, a
    whole service as ``service:*``. Otherwise (it used wildcards): per action the shortest
    ``service:Word*`` prefix, cut at a word start, whose every catalogue match is in
    ``allowed`` (what the statement named, less the removals), so the pattern grants nothing
    the original did not and nothing removed; the action itself when no prefix qualifies.
    """
    by_service: dict[str, set[str]] = {}
    for action in actions:
        by_service.setdefault(action.split(":", 1)[0].lower(), set()).add(action)
    out: list[str] = []
    for service, names in sorted(by_service.items()):
        whole = matching_actions(f"{service}:*")
        if names == set(whole) or (allowed is not None and whole <= allowed):
            out.append(f"{service}:*")
            continue
        if allowed is None:
            out.extend(sorted(names))
            continue
        covered: set[str] = set()
        chosen: list[str] = []
        for action in sorted(names):
            if action in covered:
                continue
            prefix, _, name = action.partition(":")
            cuts = [m.start() for m in _WORD_START.finditer(name)] + [len(name)]
            for cut in cuts:
                pattern = f"{prefix}:{name[:cut]}*"
                matches = matching_actions(pattern)
                # A wildcard standing for one action only widens the policy for future ones.
                if matches <= allowed and len(matches & names) > 1:
                    chosen.append(pattern)
                    covered |= matches
                    break
            else:
                chosen.append(action)
        # An action listed before a later wildcard came to cover it is dropped.
        out.extend(p for p in chosen if p.endswith("*") or p not in covered)
    return out


def _prune_resources(statement: dict[str, Any], actions: Sequence[str]) -> None:
    """Drop the Resource entries none of the kept actions can apply to (they served the removed
    ones only); keep the list when that would empty it or an action is unknown."""
    if "Resource" not in statement:
        return
    infos = [catalogue.lookup(a) for a in actions]
    if any(info is None for info in infos):
        return
    typed = [info for info in infos if info is not None and info.resource_types]
    resources = [str(r) for r in _listed(statement["Resource"])]
    kept = [
        r
        for r in resources
        if r == "*" or any(policy_document.resource_matches(info, r) for info in typed)
    ]
    if kept and len(kept) < len(resources):
        statement["Resource"] = kept


def _can_apply(action: str, statement: Mapping[str, Any]) -> bool:
    """Whether the statement's Resource can name a resource ``action`` acts on: a wildcard
    expanded over a bucket also matches actions on Storage Lens dashboards or needing ``*``,
    which the statement never allowed. Unknown actions and NotResource count as applying."""
    if "Resource" not in statement:
        return True
    resources = [str(r) for r in _listed(statement["Resource"])]
    info = catalogue.lookup(action)
    if "*" in resources or info is None:
        return True
    return any(policy_document.resource_matches(info, r) for r in resources)


_LOCATION = re.compile(r"^statement (?:\d+|'[^']*'): ")


def _problem_texts(doc: dict[str, Any]) -> set[str]:
    """validate()'s problems without the statement position, which rewriting shifts."""
    return {_LOCATION.sub("", p) for p in policy_document.validate(doc)}


def _replacement(
    review: PolicyReview, principal_type: str, principal_arn: str, is_aws_managed: bool
) -> Replacement | None:
    if review.document is None or review.status == "unchanged":
        return None
    source = _Source(
        review.source,
        review.kind,
        review.name,
        review.policy_arn,
        review.attachment_count,
        json.dumps(review.document),
    )
    statements: list[dict[str, Any]] = []
    removed: set[str] = set()
    for st, judged in zip(_statements(source), review.statements, strict=True):
        removed.update(judged.removable)
        if st.effect != "Allow" or (not judged.removable and judged.status != "redundant"):
            statements.append(dict(st.raw))
            continue
        if judged.status == "redundant":
            continue
        rewritten = {k: v for k, v in st.raw.items() if k not in ("Action", "NotAction")}
        kept = [
            *judged.kept,
            *(a for a in judged.unjudgeable if _can_apply(a, st.raw)),
        ]
        patterns = [str(p) for p in _listed(st.raw.get("NotAction") or st.raw.get("Action"))]
        wildcard = "NotAction" in st.raw or any("*" in p or "?" in p for p in patterns)
        allowed = st.matched - set(judged.removable) if wildcard else None
        rewritten["Action"] = [*_compress(kept, allowed), *st.unknown]
        _prune_resources(rewritten, kept)
        statements.append(rewritten)
    is_inline = review.kind in ("inline", "group_inline")
    owner = "group" if review.kind.startswith("group") else principal_type
    max_size = INLINE_LIMITS[owner] if is_inline else policy_document.MAX_MANAGED_POLICY_SIZE
    # Deny statements stay even when every Allow goes: they may guard against other policies.
    if not statements:
        return Replacement(
            source=review.source,
            name=review.name,
            action="delete",
            documents=(),
            removed=tuple(sorted(removed)),
            size=0,
            max_size=max_size,
            problems=(),
            inherited_problems=(),
            note=_note(
                review, principal_arn, deleting=True, is_aws_managed_principal=is_aws_managed
            ),
        )
    whole = policy_document.document(statements)
    if is_inline or policy_document.size(whole) <= max_size:
        documents = [whole]
    else:
        # split() sizes its parts with a two-digit "PartNN" Sid suffix on the statement's own
        # Sid; give every statement one, so the final ids are no longer than the probes.
        named = [
            s if s.get("Sid") else {"Sid": f"Statement{i}", **s} for i, s in enumerate(statements)
        ]
        documents = policy_document.split(named, max_size)
    found = set().union(*(_problem_texts(d) for d in documents))
    before = _problem_texts(review.document)
    return Replacement(
        source=review.source,
        name=review.name,
        action="replace",
        documents=tuple(documents),
        removed=tuple(sorted(removed)),
        size=max(policy_document.size(d) for d in documents),
        max_size=max_size,
        problems=tuple(sorted(found - before)),
        inherited_problems=tuple(sorted(found & before)),
        note=_note(
            review,
            principal_arn,
            deleting=False,
            parts=len(documents),
            is_aws_managed_principal=is_aws_managed,
        ),
    )


def _note(
    review: PolicyReview,
    principal_arn: str,
    *,
    deleting: bool,
    parts: int = 1,
    is_aws_managed_principal: bool = False,
) -> str | None:
    notes: list[str] = []
    owner = (
        f"group {review.source.split('/', 1)[0].removeprefix('group:')}"
        if review.kind.startswith("group")
        else principal_arn
    )
    if is_aws_managed_principal:
        notes.append(
            "AWS manages this principal (service-linked or IAM Identity Center): change its "
            "permissions where they come from (the service, or the permission set)"
        )
    if review.policy_arn and ":aws:policy/" in review.policy_arn:
        notes.append(
            f"detach {review.policy_arn} from {owner}"
            if deleting
            else "AWS managed policies cannot be edited: create this as a customer managed "
            f"policy, attach it to {owner} and detach {review.policy_arn}"
        )
    elif review.kind in ("managed", "group_managed") and (review.attachment_count or 0) > 1:
        notes.append(
            f"{review.policy_arn} is attached to {review.attachment_count} principals: this "
            "diff judges only one of them; edit it only if the others need no more"
        )
    elif deleting:
        notes.append(
            f"delete the inline policy {review.name} of {owner}"
            if review.kind in ("inline", "group_inline")
            else f"detach {review.policy_arn} from {owner}"
        )
    if review.kind.startswith("group"):
        notes.append("granted through a group: the change reaches every member of the group")
    if parts > 1:
        notes.append(f"split into {parts} managed policies to fit IAM's size quota")
    return "; ".join(notes) or None
