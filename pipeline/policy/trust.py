"""Who really assumes a role, and a trust policy that admits exactly them.

The evidence is the lake's ``AssumeRole``, ``AssumeRoleWithWebIdentity`` and
``AssumeRoleWithSAML`` events whose ``requestParameters.roleArn`` names the role (a cross-account
call is logged in both accounts; the copies share ``sharedEventID`` and the caller's copy, which
names the caller, wins), plus the role's sessions seen acting, which catch assumptions the lake
does not hold (a service-linked role, a trail that missed the STS region).

The suggested trust policy names every observed assumer exactly (role and user ARNs, not account
roots; OIDC providers with their observed ``aud`` and exact ``sub`` values; SAML providers with
``SAML:aud``) and never adds a condition that could have refused an observed assumption:

- ``sts:ExternalId`` is pinned only for a caller that passed one on every assumption;
- ``aws:SourceAccount`` is pinned only for services whose documentation says their assumptions
  carry it (:data:`SOURCE_ACCOUNT_SERVICES`). CloudTrail does not show whether a service sent
  the key, and services that do not (EC2 for instance profiles: prowler-cloud/prowler#2810;
  Elastic Transcoder, CloudTrail's CloudWatch Logs role: prowler-cloud/prowler#4714) cannot
  assume a role whose trust requires it;
- the conditions of the one current statement that admitted an assumer are carried over (they
  held when it assumed the role), except the keys pinned to observed values instead;
- ``sts:TagSession`` and ``sts:SetSourceIdentity`` are allowed where the requests show tags or a
  source identity, and kept for federated providers when the current policy allows them, since
  tags from a SAML assertion or an OIDC token never appear in the request.

The comparison with the role's current trust policy (latest IAM snapshot) yields findings:
``wildcard_principal``, ``account_root_principal``, ``unused_principal``, ``missing_condition``,
``assumer_not_trusted``, ``sessions_without_assumption``, ``denied_assumption``,
``aws_managed_role`` and ``no_assumptions``.

Example::

    suggestion = suggest_trust(Lake("lake"), "arn:aws:iam::111122223333:role/deploy")
    print(suggestion.to_text())
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from trailwise.pipeline.errors import PolicyError, UsageError
from trailwise.pipeline.lake import Lake, as_lake
from trailwise.pipeline.policy import document as policy_document
from trailwise.pipeline.query import connect, fetch
from trailwise.pipeline.timeutil import iso, naive_utc, short_time, window_text

ASSUME_ACTIONS = {
    "AssumeRole": "sts:AssumeRole",
    "AssumeRoleWithWebIdentity": "sts:AssumeRoleWithWebIdentity",
    "AssumeRoleWithSAML": "sts:AssumeRoleWithSAML",
}
TAG_SESSION = "sts:TagSession"
SET_SOURCE_IDENTITY = "sts:SetSourceIdentity"

# Services whose documentation says their role assumptions carry aws:SourceAccount (the account
# that owns the resource acting, always the role's own since iam:PassRole cannot cross
# accounts): pinning it cannot lock them out. Every other service principal is left unpinned.
SOURCE_ACCOUNT_SERVICES: dict[str, str] = {
    "lambda.amazonaws.com": (
        "https://docs.aws.amazon.com/lambda/latest/dg/permissions-managed-policies.html"
    ),
    "fis.amazonaws.com": (
        "https://docs.aws.amazon.com/resilience-hub/latest/userguide/"
        "next-gen-resilience-testing-iam-single-account.html"
    ),
    "appstream.amazonaws.com": (
        "https://docs.aws.amazon.com/appstream2/latest/developerguide/example-fleet-machine.html"
    ),
    "personalize.amazonaws.com": (
        "https://docs.aws.amazon.com/personalize/latest/dg/"
        "cross-service-confused-deputy-prevention.html"
    ),
}
# The audience GitHub's aws-actions/configure-aws-credentials requests when none is given.
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_DEFAULT_AUDIENCE = "sts.amazonaws.com"
SAML_DEFAULT_AUDIENCE = "https://signin.aws.amazon.com/saml"
# Web identity providers whose claims are not named aud/sub (IAM's condition keys).
_CLAIM_KEYS = {
    "graph.facebook.com": ("app_id", "id"),
    "www.amazon.com": ("app_id", "user_id"),
}
_ROLE_ARN = re.compile(
    r"^arn:(?P<partition>[\w-]+):iam::(?P<account>\d{12}):role/(?:.*/)?(?P<name>[^/]+)$"
)
_SESSION_ARN = re.compile(
    r"^arn:(?P<partition>[\w-]+):sts::(?P<account>\d{12}):assumed-role/(?P<name>[^/]+)/[^/]+$"
)
_USER_ARN = re.compile(r"^arn:[\w-]+:iam::\d{12}:user/")
_ACCOUNT_ROOT = re.compile(r"^arn:[\w-]+:iam::(?P<account>\d{12}):root$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_ARN_ACCOUNT = re.compile(r"^arn:[\w-]+:(?:iam|sts)::(?P<account>\d{12}):")
_EC2_INSTANCE = re.compile(r"^i-[0-9a-f]{8,17}$")
_SERVICE_LINKED = re.compile(r":role/aws-service-role/(?P<service>[^/]+)/")
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
_KIND_ORDER = {"service": 0, "aws": 1, "account": 2, "oidc": 3, "saml": 4}
# Findings that read the current trust policy: without a snapshot there is none to read.
_COMPARISON_FINDINGS = frozenset(
    {
        "wildcard_principal",
        "account_root_principal",
        "unused_principal",
        "missing_condition",
        "assumer_not_trusted",
    }
)
_SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2, "info": 3}


# ---------------------------------------------------------------------------------------------
# Shared plumbing (diff.py uses it too)


# ---------------------------------------------------------------------------------------------
# Results


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

    def to_text(self) -> str:
        """A report for people: assumers, findings, the suggested and the current policy."""
        lines = [f"Trust of {self.role_arn}", f"Window: {window_text(self.since, self.until)}"]
        if self.is_aws_managed:
            lines.append("AWS manages this role's trust policy: the suggestion is for review only.")
        lines.append("")
        total = sum(a.assumptions for a in self.assumers)
        lines.append(f"Who assumed it ({total} assumption{'s' if total != 1 else ''}):")
        if not self.assumers:
            lines.append("  nobody in the window")
        for a in self.assumers:
            seen = (
                f"{a.assumptions} time{'s' if a.assumptions != 1 else ''}"
                if a.evidence == "assume_role"
                else "inferred from its sessions"
            )
            lines.append(f"  {a.kind:<8}{a.principal}  ({seen}, last {short_time(a.last_seen)})")
            for label, values in (
                ("subjects", a.subjects),
                ("aud", a.audiences),
                ("external id", a.external_ids),
                ("source identity", a.source_identities),
                ("session tags", a.session_tag_keys),
                ("sessions", a.session_names),
            ):
                if values:
                    lines.append(f"          {label}: {', '.join(values)}")
            if a.note:
                lines.append(f"          note: {a.note}")
        if self.failed:
            lines.append("")
            lines.append("Failed attempts:")
            for failure in self.failed:
                last = short_time(failure.last_seen)
                lines.append(
                    f"  {failure.principal}  {failure.error_code} x{failure.attempts} (last {last})"
                )
        lines.append("")
        lines.append(
            f"Sessions: {self.sessions.seen} seen, {self.sessions.explained} explained by the "
            "assumptions above"
            + (
                f"; without one: {', '.join(self.sessions.unexplained)}"
                if self.sessions.unexplained
                else ""
            )
        )
        lines.append("")
        lines.append("Findings:" if self.findings else "Findings: none")
        for f in self.findings:
            lines.append(f"  [{f.severity}] {f.kind}: {f.message}")
        lines.append("")
        if self.document:
            lines.append("Suggested trust policy:")
            lines.append(json.dumps(self.document, indent=2))
        else:
            lines.append("Suggested trust policy: none (nobody assumed the role in the window)")
        for problem in self.problems:
            lines.append(f"  problem: {problem}")
        lines.append("")
        if self.current:
            lines.append("Current trust policy:")
            lines.append(json.dumps(self.current, indent=2))
        else:
            lines.append("Current trust policy: none in the snapshot")
        return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Front function


def suggest_trust(
    lake: Lake | str | Path,
    role_arn: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> TrustSuggestion:
    """Who assumed ``role_arn`` in the window, the trust policy admitting exactly them, and the
    findings against its current trust policy.

    Args:
        lake: the lake (or its directory), with events and an IAM snapshot of the role's account.
        role_arn: the role (``arn:aws:iam::ACCOUNT:role/[PATH/]NAME``; an assumed-role session
            ARN names its role too).
        since: start of the window (inclusive); None: the first event.
        until: end of the window (exclusive); None: after the last event.

    Raises:
        UsageError: the ARN is not a role's, no snapshot is loaded, or the role is not in it.
        PolicyError: the role's current trust policy cannot be read.
    """
    from trailwise.pipeline.iam import store

    target = as_lake(lake)
    partition, account, name = _parse_role(role_arn)
    target.require()
    has_snapshot = store.latest(target).num_rows > 0
    con = connect(target)
    try:
        role = _role_row(con, account, name, role_arn) if has_snapshot else None
        compared = role is not None
        if role is None:
            # Who assumes the role is read from the events alone; only the comparison with
            # today's trust policy needs the account's snapshot.
            arn = role_arn.strip()
            if not _ROLE_ARN.match(arn):  # a session ARN: the role's path is unknown
                arn = f"arn:{partition}:iam::{account}:role/{name}"
            role = {
                "principal_arn": arn,
                "is_aws_managed": "/aws-service-role/" in arn or "/aws-reserved/" in arn,
                "trust_policy": None,
            }
        current = _current_policy(role)
        start, end = naive_utc(since), naive_utc(until)
        events = fetch(
            con,
            _ASSUMPTIONS_SQL,
            account=account,
            name=name.lower(),
            since=start,
            until=end,
        )
        sessions = fetch(
            con, _SESSIONS_SQL, account=account, name=name.lower(), since=start, until=end
        )
        known_ids = (
            {
                r["principal_id"]: r["principal_arn"]
                for r in fetch(
                    con,
                    "select principal_id, principal_arn from iam_principals "
                    "where principal_id is not null",
                )
            }
            if has_snapshot
            else {}
        )
    finally:
        con.close()

    trusted_entries = _trusted_entries(current)
    records, failed = _assumptions(events, known_ids)
    explained_keys = {r.access_key_id for r in records if r.access_key_id}
    explained_names = {r.session_name for r in records if r.session_name}
    session_summary, inferred = _sessions(
        sessions, explained_keys, explained_names, str(role["principal_arn"])
    )
    assumers = _assumers(records, inferred, trusted_entries)
    trusted = [
        TrustedPrincipal(
            statement=e.statement,
            sid=e.sid,
            effect=e.effect,
            kind=e.kind,
            principal=e.value,
            actions=e.actions,
            condition=e.condition,
            assumptions=sum(a.assumptions for a in assumers if e.index in a.trusted_by),
        )
        for e in trusted_entries
    ]
    doc = _suggested_document(assumers, trusted_entries, current, account, partition)
    findings = _findings(
        role,
        assumers,
        failed,
        session_summary,
        trusted_entries,
        account,
    )
    if not compared:
        findings = [
            Finding(
                "no_snapshot",
                "info",
                None,
                f"no IAM snapshot of account {account} is loaded: the current trust policy is "
                "not compared (trailwise iam load FILE)",
            ),
            *(f for f in findings if f.kind not in _COMPARISON_FINDINGS),
        ]
    return TrustSuggestion(
        role_arn=str(role["principal_arn"]),
        account_id=account,
        since=start,
        until=end,
        is_aws_managed=bool(role["is_aws_managed"]),
        assumers=assumers,
        failed=failed,
        sessions=session_summary,
        document=doc,
        current=current,
        trusted=trusted,
        findings=findings,
        problems=policy_document.validate(doc) if doc else [],
    )


# ---------------------------------------------------------------------------------------------
# Reading the lake

_ASSUMPTIONS_SQL = """
with

calls as (
    select
        event_id,
        recipient_account_id,
        shared_event_id,
        event_time,
        event_name,
        error_code,
        error_message,
        user_identity_type,
        user_identity_arn,
        user_identity_account_id,
        user_identity_principal_id,
        user_identity_invoked_by,
        user_identity_identity_provider,
        user_identity_user_name,
        principal_arn,
        source_ip_address,
        request_parameters,
        response_elements,
        coalesce(
            request_parameters ->> 'roleArn',
            regexp_extract(error_message, 'on resource: (arn:\\S+)', 1)
        ) as requested_role
    from events
    where event_source = 'sts.amazonaws.com'
        and event_name in ('AssumeRole', 'AssumeRoleWithWebIdentity', 'AssumeRoleWithSAML')
        and ($since is null or event_time >= $since)
        and ($until is null or event_time < $until)
),

final as (
    select *
    from calls
    where split_part(requested_role, ':', 5) = $account
        and lower(regexp_extract(requested_role, '[^/]+$')) = $name
        and requested_role like '%:role/%'
)

select * from final
order by event_time, event_id
"""

_SESSIONS_SQL = """
with

acting as (
    select
        user_identity_arn,
        user_identity_access_key_id,
        web_id_federation_provider,
        additional_event_data,
        session_issuer_arn,
        event_time
    from events
    where user_identity_type = 'AssumedRole'
        and session_issuer_arn like '%:role/%'
        and split_part(session_issuer_arn, ':', 5) = $account
        and lower(regexp_extract(session_issuer_arn, '[^/]+$')) = $name
        and ($since is null or event_time >= $since)
        and ($until is null or event_time < $until)
),

final as (
    select
        regexp_extract(user_identity_arn, '[^/]+$') as session_name,
        user_identity_access_key_id as access_key_id,
        any_value(web_id_federation_provider) as web_identity_provider,
        bool_or(coalesce(additional_event_data like '%ec2RoleDelivery%', false))
            as has_ec2_role_delivery,
        min(event_time) as first_seen,
        max(event_time) as last_seen,
        count(*) as events
    from acting
    group by 1, 2
)

select * from final
order by session_name, access_key_id
"""


def _parse_role(role_arn: str) -> tuple[str, str, str]:
    arn = role_arn.strip()
    m = _ROLE_ARN.match(arn) or _SESSION_ARN.match(arn)
    if m:
        return m.group("partition"), m.group("account"), m.group("name")
    if _USER_ARN.match(arn):
        raise UsageError(f"{arn} is a user: only roles have a trust policy")
    raise UsageError(
        f"{role_arn!r} is not a role ARN", hint="use arn:aws:iam::ACCOUNT:role/[PATH/]NAME"
    )


def _role_row(
    con: duckdb.DuckDBPyConnection, account: str, name: str, role_arn: str
) -> dict[str, Any] | None:
    """The role's snapshot row; None when no snapshot of its account is loaded."""
    rows = fetch(
        con,
        "select principal_arn, principal_type, name, path, account_id, is_aws_managed, "
        "trust_policy from iam_principals "
        "where account_id = $account and lower(name) = $name "
        "order by principal_type",
        account=account,
        name=name.lower(),
    )
    roles = [r for r in rows if r["principal_type"] == "role"]
    if roles:
        return roles[0]
    accounts = {
        r["account_id"] for r in fetch(con, "select distinct account_id from iam_principals")
    }
    if account not in accounts:
        return None
    raise UsageError(f"role {role_arn} is not in the IAM snapshot of account {account}")


def _current_policy(role: Mapping[str, Any]) -> dict[str, Any] | None:
    text = role.get("trust_policy")
    if not text:
        return None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PolicyError(f"the trust policy of {role['principal_arn']} is not JSON") from exc
    if not isinstance(doc, dict):
        raise PolicyError(f"the trust policy of {role['principal_arn']} is not a JSON object")
    return doc


# ---------------------------------------------------------------------------------------------
# The current trust policy


@dataclass(frozen=True)
class _Entry:
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
        m = _ARN_ACCOUNT.match(self.value)
        return m.group("account") if m else None


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _statements(doc: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if not doc:
        return []
    raw = doc.get("Statement")
    statements = [raw] if isinstance(raw, dict) else raw
    if not isinstance(statements, list):
        raise PolicyError("the current trust policy's Statement is not an object or a list")
    return [s for s in statements if isinstance(s, dict)]


def _account_of(value: str) -> str | None:
    if _ACCOUNT_ID.match(value):
        return value
    m = _ACCOUNT_ROOT.match(value)
    return m.group("account") if m else None


def _trusted_entries(doc: Mapping[str, Any] | None) -> list[_Entry]:
    entries: list[_Entry] = []
    for number, statement in enumerate(_statements(doc)):
        effect = str(statement.get("Effect", ""))
        not_action = "NotAction" in statement
        actions = tuple(
            str(a) for a in _listed(statement.get("NotAction" if not_action else "Action"))
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
                for value in _listed(values):
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
                _Entry(
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


# ---------------------------------------------------------------------------------------------
# Assumptions


@dataclass(frozen=True)
class _Assumption:
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
        return "oidc", str(provider or "unknown"), _arn_account(provider), None
    if identity == "SAMLUser" or row["event_name"] == "AssumeRoleWithSAML":
        provider = request.get("principalArn") or row.get("user_identity_identity_provider")
        return "saml", str(provider or "unknown"), _arn_account(provider), None
    if identity == "AWSAccount":
        account = row.get("user_identity_account_id")
        unique_id = str(row.get("user_identity_principal_id") or "").split(":", 1)[0]
        if unique_id in known_ids:
            arn = known_ids[unique_id]
            return "aws", arn, _arn_account(arn), f"resolved from the unique id {unique_id}"
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
        return "aws", str(caller), _arn_account(caller), None
    account = row.get("user_identity_account_id")
    return "unknown", identity or "unknown", str(account) if account else None, None


def _arn_account(value: Any) -> str | None:
    if not value:
        return None
    m = _ARN_ACCOUNT.match(str(value))
    return m.group("account") if m else None


def _tag_keys(request: Mapping[str, Any]) -> tuple[str, ...]:
    keys: set[str] = set()
    for tag in _listed(request.get("tags")):
        if isinstance(tag, dict):
            key = tag.get("key") or tag.get("Key")
            if key:
                keys.add(str(key))
    for name in ("principalTags", "incomingTransitiveTags"):
        value = request.get(name)
        if isinstance(value, dict):
            keys.update(str(k) for k in value)
    keys.update(str(k) for k in _listed(request.get("transitiveTagKeys")))
    return tuple(sorted(keys))


def _assumptions(
    rows: Sequence[Mapping[str, Any]], known_ids: Mapping[str, str]
) -> tuple[list[_Assumption], list[FailedAssumption]]:
    done: list[_Assumption] = []
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
            _Assumption(
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


def _sessions(
    rows: Sequence[Mapping[str, Any]],
    keys: set[str],
    names: set[str],
    role_arn: str,
) -> tuple[Sessions, list[_Assumption]]:
    """Which sessions the assumptions explain, and assumers inferred from the others."""
    by_name: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_name.setdefault(str(row["session_name"]), []).append(row)
    unexplained: list[str] = []
    inferred: list[_Assumption] = []
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
                    _Assumption(
                        kind=clue[0],
                        principal=clue[1],
                        account_id=_arn_account(clue[1]),
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


def _covers(entry: _Entry, kind: str, principal: str, account: str | None, action: str) -> bool:
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


def _assumers(
    records: Sequence[_Assumption], inferred: Sequence[_Assumption], entries: Sequence[_Entry]
) -> list[Assumer]:
    grouped: dict[tuple[str, str], list[_Assumption]] = {}
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
    return sorted(out, key=lambda a: (_KIND_ORDER.get(a.kind, 9), a.principal))


def _examples(values: Iterable[str | None], limit: int = 5) -> tuple[str, ...]:
    distinct = sorted({v for v in values if v})
    return tuple(distinct[:limit]) + (
        (f"... {len(distinct) - limit} more",) if len(distinct) > limit else ()
    )


# ---------------------------------------------------------------------------------------------
# The suggested trust policy


def _claim_keys(provider: str) -> tuple[str, str, str]:
    """(condition key prefix, audience claim, subject claim) of a web identity provider."""
    host = provider.split(":oidc-provider/", 1)[1] if ":oidc-provider/" in provider else provider
    aud, sub = _CLAIM_KEYS.get(host, ("aud", "sub"))
    return host, aud, sub


def _carried(
    assumer: Assumer, entries: Sequence[_Entry], pinned: set[str]
) -> dict[str, dict[str, Any]]:
    """The conditions of the one current statement that admitted ``assumer``, less the keys
    pinned to observed values. Several admitting statements: none (any may have applied)."""
    statements = {entries[i].statement for i in assumer.trusted_by}
    if len(statements) != 1:
        return {}
    condition = entries[assumer.trusted_by[0]].condition or {}
    out: dict[str, dict[str, Any]] = {}
    for operator, keys in condition.items():
        if not isinstance(keys, dict):
            continue
        kept = {k: v for k, v in keys.items() if k.lower() not in pinned}
        if kept:
            out[str(operator)] = kept
    return out


def _current_actions(assumer: Assumer, entries: Sequence[_Entry]) -> set[str]:
    """Session actions the current statements admitting ``assumer`` allow."""
    found: set[str] = set()
    for i in assumer.trusted_by:
        for action in (TAG_SESSION, SET_SOURCE_IDENTITY):
            if entries[i].allows(action):
                found.add(action)
    return found


def _merge(
    base: dict[str, dict[str, Any]], extra: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    out = {op: dict(keys) for op, keys in base.items()}
    for operator, keys in extra.items():
        out.setdefault(operator, {}).update(keys)
    return out


def _statement_parts(
    assumer: Assumer,
    entries: Sequence[_Entry],
    account: str,
) -> tuple[str, tuple[str, ...], dict[str, dict[str, Any]]]:
    """(principal type, actions, conditions) of the statement admitting ``assumer``."""
    actions = set(assumer.actions)
    pins: dict[str, dict[str, Any]] = {}
    if assumer.kind == "service":
        principal_type = "Service"
        if assumer.principal.lower() in SOURCE_ACCOUNT_SERVICES:
            pins = {"StringEquals": {"aws:SourceAccount": account}}
    elif assumer.kind in ("aws", "account"):
        principal_type = "AWS"
        if assumer.always_external_id:
            pins = {"StringEquals": {"sts:ExternalId": list(assumer.external_ids)}}
    else:
        principal_type = "Federated"
        # Tags and source identities of federated sessions come from the assertion or token,
        # not the request: what the current policy allows stays allowed.
        actions |= _current_actions(assumer, entries)
        if assumer.kind == "oidc":
            host, aud_claim, sub_claim = _claim_keys(assumer.principal)
            equals: dict[str, Any] = {}
            audiences = list(assumer.audiences) or _current_values(
                assumer, entries, f"{host}:{aud_claim}"
            )
            if not audiences and host == GITHUB_OIDC_HOST:
                audiences = [GITHUB_DEFAULT_AUDIENCE]
            if audiences:
                equals[f"{host}:{aud_claim}"] = audiences
            if assumer.subjects:
                equals[f"{host}:{sub_claim}"] = list(assumer.subjects)
            pins = {"StringEquals": equals} if equals else {}
        else:
            audiences = list(assumer.audiences) or _current_values(assumer, entries, "SAML:aud")
            pins = {"StringEquals": {"SAML:aud": audiences or [SAML_DEFAULT_AUDIENCE]}}
    pinned = {k.lower() for keys in pins.values() for k in keys}
    conditions = _merge(_carried(assumer, entries, pinned), pins)
    return principal_type, tuple(sorted(actions)), conditions


def _current_values(assumer: Assumer, entries: Sequence[_Entry], key: str) -> list[str]:
    """Values the admitting statements give ``key`` under a String operator."""
    values: set[str] = set()
    for i in assumer.trusted_by:
        for operator, keys in (entries[i].condition or {}).items():
            if not str(operator).startswith("String") or not isinstance(keys, dict):
                continue
            for k, v in keys.items():
                if k.lower() == key.lower():
                    values.update(str(x) for x in _listed(v))
    return sorted(values)


def _principal_value(assumer: Assumer, partition: str) -> str:
    if assumer.kind == "account" and assumer.account_id:
        return f"arn:{partition}:iam::{assumer.account_id}:root"
    return assumer.principal


def _suggested_document(
    assumers: Sequence[Assumer],
    entries: Sequence[_Entry],
    current: Mapping[str, Any] | None,
    account: str,
    partition: str,
) -> dict[str, Any] | None:
    usable = [a for a in assumers if a.kind in _KIND_ORDER and a.principal != "unknown"]
    if not usable:
        return None
    groups: dict[tuple[str, tuple[str, ...], str], list[Assumer]] = {}
    conditions_of: dict[str, dict[str, dict[str, Any]]] = {}
    for assumer in usable:
        principal_type, actions, conditions = _statement_parts(assumer, entries, account)
        key_text = json.dumps(conditions, sort_keys=True)
        conditions_of[key_text] = conditions
        groups.setdefault((principal_type, actions, key_text), []).append(assumer)
    order = {"Service": 0, "AWS": 1, "Federated": 2}
    statements: list[dict[str, Any]] = []
    for (principal_type, actions, key_text), members in sorted(
        groups.items(),
        key=lambda item: (
            order[item[0][0]],
            sorted(_principal_value(m, partition) for m in item[1]),
            item[0][1],
            item[0][2],
        ),
    ):
        principals = sorted({_principal_value(m, partition) for m in members})
        statement: dict[str, Any] = {
            "Sid": _sid(principal_type, principals),
            "Effect": "Allow",
            "Principal": {principal_type: principals},
            "Action": list(actions),
        }
        if conditions_of[key_text]:
            statement["Condition"] = conditions_of[key_text]
        statements.append(statement)
    # Deny statements held when the observed assumptions succeeded: keep them as they are.
    for raw in _statements(current):
        if raw.get("Effect") == "Deny":
            statements.append(dict(raw))
    return policy_document.document(policy_document.unique_sids(statements))


def _sid(principal_type: str, principals: Sequence[str]) -> str:
    """A readable, stable statement id: the one principal it names, or its kind."""
    if len(principals) > 1:
        plural = {"Service": "Services", "AWS": "Principals", "Federated": "Providers"}
        return policy_document.sid("Trust", plural[principal_type])
    value = principals[0]
    if principal_type == "Service":
        return policy_document.sid("Trust", value.split(".", 1)[0])
    if principal_type == "Federated":
        if ":oidc-provider/" in value:
            return policy_document.sid("Trust", "Oidc", value.split(":oidc-provider/", 1)[1])
        if ":saml-provider/" in value:
            return policy_document.sid("Trust", "Saml", value.split(":saml-provider/", 1)[1])
        return policy_document.sid("Trust", value)
    m = _ACCOUNT_ROOT.match(value)
    if m:
        return policy_document.sid("Trust", "Account", m.group("account"))
    return policy_document.sid("Trust", value.rsplit("/", 1)[-1].rsplit(":", 1)[-1])


# ---------------------------------------------------------------------------------------------
# Findings


def _covered_by(entry: _Entry, assumers: Sequence[Assumer]) -> list[Assumer]:
    return [a for a in assumers if entry.index in a.trusted_by]


def _findings(
    role: Mapping[str, Any],
    assumers: Sequence[Assumer],
    failed: Sequence[FailedAssumption],
    sessions: Sessions,
    entries: Sequence[_Entry],
    account: str,
) -> list[Finding]:
    out: list[Finding] = []
    if role.get("is_aws_managed"):
        out.append(
            Finding(
                "aws_managed_role",
                "info",
                None,
                "AWS manages this role (service-linked or IAM Identity Center): its trust policy "
                "cannot be edited; compare only",
            )
        )
    if not [a for a in assumers if a.kind != "unknown"]:
        out.append(
            Finding(
                "no_assumptions",
                "info",
                None,
                "nobody assumed the role in the window: no trust policy is suggested (one that "
                "trusts nobody would lock the role); delete the role if it is no longer needed",
            )
        )
    for entry in entries:
        if not entry.is_allow:
            continue
        seen = _covered_by(entry, assumers)
        names = tuple(a.principal for a in seen)
        if entry.kind in ("wildcard", "not_principal"):
            restricting = sorted(
                {
                    k
                    for keys in (entry.condition or {}).values()
                    if isinstance(keys, dict)
                    for k in keys
                }
            )
            how = "NotPrincipal with Allow" if entry.kind == "not_principal" else "Principal *"
            limit = (
                f", limited only by conditions on {', '.join(restricting)}" if restricting else ""
            )
            out.append(
                Finding(
                    "wildcard_principal",
                    "medium" if restricting else "high",
                    entry.value,
                    f"{how} lets any principal of any account assume the role{limit}; "
                    f"seen assuming: {_names(names)}",
                    names,
                )
            )
        elif entry.kind == "account":
            trusted_account = entry.account or entry.value
            own = trusted_account == account
            if seen:
                who = (
                    f"only {names[0]} of that account assumed it"
                    if len(names) == 1
                    else f"of that account only {_names(names)} assumed it"
                )
            else:
                who = "nobody of that account assumed it"
            out.append(
                Finding(
                    "account_root_principal",
                    "low" if own else "medium",
                    entry.value,
                    f"trusts every user and role of {'its own ' if own else ''}account "
                    f"{trusted_account} whose policies allow sts:AssumeRole; {who}",
                    names,
                )
            )
        if not seen:
            out.append(
                Finding(
                    "unused_principal",
                    "low",
                    entry.value,
                    f"{entry.value} is trusted (statement {entry.sid or entry.statement}) but "
                    "never seen assuming the role in the window",
                )
            )
        if entry.kind == "federated":
            out.extend(_federated_findings(entry, seen))
        if entry.kind == "service" and entry.value.lower() in SOURCE_ACCOUNT_SERVICES:
            keys = {
                k.lower()
                for keys in (entry.condition or {}).values()
                if isinstance(keys, dict)
                for k in keys
            }
            if not keys & {"aws:sourceaccount", "aws:sourcearn"}:
                documented = SOURCE_ACCOUNT_SERVICES[entry.value.lower()]
                out.append(
                    Finding(
                        "missing_condition",
                        "low",
                        entry.value,
                        f"{entry.value} is trusted without aws:SourceAccount or aws:SourceArn "
                        f"(confused deputy); the suggestion pins aws:SourceAccount {account}, "
                        f"which this service sends ({documented})",
                    )
                )
    for assumer in assumers:
        if not assumer.trusted_by and entries and assumer.kind != "unknown":
            out.append(
                Finding(
                    "assumer_not_trusted",
                    "medium",
                    assumer.principal,
                    f"{assumer.principal} assumed the role but the current trust policy does not "
                    "name it: the trust changed since, or the snapshot and the window disagree",
                )
            )
    if sessions.unexplained:
        out.append(
            Finding(
                "sessions_without_assumption",
                "info",
                None,
                f"{len(sessions.unexplained)} session name(s) of this role have no assumption in "
                f"the lake ({_names(sessions.unexplained)}): the trail may miss the STS region "
                "used, or the sessions began before the window; the assumers may be incomplete",
                sessions.unexplained,
            )
        )
    for failure in failed:
        out.append(
            Finding(
                "denied_assumption",
                "medium" if "denied" in failure.error_code.lower() else "info",
                failure.principal,
                f"{failure.principal} tried to assume the role {failure.attempts} time(s) and "
                f"failed with {failure.error_code}",
            )
        )
    return sorted(
        out, key=lambda f: (_SEVERITY_ORDER.get(f.severity, 9), f.kind, f.principal or "")
    )


def _federated_findings(entry: _Entry, seen: Sequence[Assumer]) -> list[Finding]:
    value = entry.value
    if ":saml-provider/" in value:
        if not _condition_values(entry, "SAML:aud"):
            return [
                Finding(
                    "missing_condition",
                    "low",
                    value,
                    f"SAML provider {value} is trusted without a SAML:aud condition",
                )
            ]
        return []
    host, aud_claim, sub_claim = _claim_keys(value)
    out: list[Finding] = []
    subs = _condition_values(entry, f"{host}:{sub_claim}")
    observed = sorted({s for a in seen for s in a.subjects})
    if not subs:
        out.append(
            Finding(
                "missing_condition",
                "high",
                value,
                f"{value} is trusted without a {host}:{sub_claim} condition: any identity the "
                f"provider issues tokens for can assume the role; seen: {_names(observed)}",
                tuple(observed),
            )
        )
    else:
        wide = sorted(s for s in subs if "*" in s or "?" in s)
        if wide:
            out.append(
                Finding(
                    "missing_condition",
                    "medium",
                    value,
                    f"{host}:{sub_claim} allows the pattern(s) {', '.join(wide)}; only "
                    f"{_names(observed)} assumed the role",
                    tuple(observed),
                )
            )
    if not _condition_values(entry, f"{host}:{aud_claim}"):
        out.append(
            Finding(
                "missing_condition",
                "medium",
                value,
                f"{value} is trusted without a {host}:{aud_claim} condition: tokens minted for "
                "another audience are accepted",
            )
        )
    return out


def _condition_values(entry: _Entry, key: str) -> list[str]:
    values: list[str] = []
    for keys in (entry.condition or {}).values():
        if not isinstance(keys, dict):
            continue
        for k, v in keys.items():
            if k.lower() == key.lower():
                values.extend(str(x) for x in _listed(v))
    return values


def _names(values: Sequence[str]) -> str:
    if not values:
        return "nobody"
    shown = ", ".join(values[:5])
    return shown + (f" and {len(values) - 5} more" if len(values) > 5 else "")
