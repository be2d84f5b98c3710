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
    print(render_text(suggestion))

:mod:`.evidence` reads the lake, :mod:`.current` parses the current trust policy, :mod:`.calls`
and :mod:`.assumers` resolve who assumed the role, :mod:`.suggestion` builds the suggested
policy, :mod:`.findings` compares, :mod:`.model` holds the results and :mod:`.text` renders them.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from trailwise.pipeline.lake import Lake, as_lake
from trailwise.pipeline.policy import document as policy_document
from trailwise.pipeline.policy.trust.assumers import explain_sessions, group_assumers
from trailwise.pipeline.policy.trust.calls import assumptions
from trailwise.pipeline.policy.trust.current import parse_entries
from trailwise.pipeline.policy.trust.evidence import (
    ROLE_ARN,
    assumption_rows,
    current_policy,
    parse_role,
    principal_ids,
    role_row,
    session_rows,
)
from trailwise.pipeline.policy.trust.findings import COMPARISON_FINDINGS, collect_findings
from trailwise.pipeline.policy.trust.model import (
    Assumer,
    FailedAssumption,
    Finding,
    Sessions,
    TrustedPrincipal,
    TrustSuggestion,
)
from trailwise.pipeline.policy.trust.suggestion import suggested_document
from trailwise.pipeline.policy.trust.text import render as render_text
from trailwise.pipeline.query import connect
from trailwise.pipeline.timeutil import naive_utc

__all__ = [
    "Assumer",
    "FailedAssumption",
    "Finding",
    "Sessions",
    "TrustSuggestion",
    "TrustedPrincipal",
    "render_text",
    "suggest_trust",
]


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
    partition, account, name = parse_role(role_arn)
    target.require()
    has_snapshot = store.latest(target).num_rows > 0
    con = connect(target)
    try:
        role = role_row(con, account, name, role_arn) if has_snapshot else None
        compared = role is not None
        if role is None:
            # Who assumes the role is read from the events alone; only the comparison with
            # today's trust policy needs the account's snapshot.
            arn = role_arn.strip()
            if not ROLE_ARN.match(arn):  # a session ARN: the role's path is unknown
                arn = f"arn:{partition}:iam::{account}:role/{name}"
            role = {
                "principal_arn": arn,
                "is_aws_managed": "/aws-service-role/" in arn or "/aws-reserved/" in arn,
                "trust_policy": None,
            }
        current = current_policy(role)
        start, end = naive_utc(since), naive_utc(until)
        events = assumption_rows(con, account, name, start, end)
        sessions = session_rows(con, account, name, start, end)
        known_ids = principal_ids(con) if has_snapshot else {}
    finally:
        con.close()

    trusted_entries = parse_entries(current)
    records, failed = assumptions(events, known_ids)
    explained_keys = {r.access_key_id for r in records if r.access_key_id}
    explained_names = {r.session_name for r in records if r.session_name}
    session_summary, inferred = explain_sessions(
        sessions, explained_keys, explained_names, str(role["principal_arn"])
    )
    assumers = group_assumers(records, inferred, trusted_entries)
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
    doc = suggested_document(assumers, trusted_entries, current, account, partition)
    findings = collect_findings(
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
            *(f for f in findings if f.kind not in COMPARISON_FINDINGS),
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
