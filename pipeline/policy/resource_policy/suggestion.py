"""The suggested resource policy: exactly the observed callers of other accounts and AWS
services, with the actions they used, plus what the current policy holds that must stay.

- Principals of another account are named (their role or user, the account's root only when
  the events name no more); when every one of a statement's principals belongs to the
  organization the lake knows (organization-trail deliveries), ``aws:PrincipalOrgID`` pins it.
- AWS services are admitted only with the confused-deputy keys their documentation names
  (``services.json``): ``aws:SourceArn`` / ``aws:SourceAccount`` from the events when logged,
  else from the current statement that admitted the service, else ``aws:SourceAccount`` of the
  resource's own account (a finding says it was assumed). A service not in that table is not
  admitted; a finding names it.
- Principals of the resource's own account are not granted: their identity policies suffice
  (a note names them). A KMS key is the exception: identity policies work only where its key
  policy enables them, so the current statement delegating the key to the account is kept;
  without one, the key's own users are named like other accounts' principals.
- Kept as they are: every Deny (``aws:SecureTransport`` guards among them), statements that
  grant actions the lake could not have seen for the account (data events not logged), and
  forms the review does not judge (an Allow with NotPrincipal).
- The conditions of the current statement that admitted a caller are carried over: they held
  for its calls.
- Anonymous use is never granted: it is a finding.
"""

from __future__ import annotations

import json
from collections import defaultdict
from functools import cache
from importlib import resources as package_files
from typing import Any

from trailwise.pipeline.mapping import catalogue
from trailwise.pipeline.policy import document as policy_document
from trailwise.pipeline.policy import resources as res
from trailwise.pipeline.policy.resource_policy.current import (
    DEPUTY_KEYS,
    Statement,
    account_of,
    admits,
    granted_actions,
    parse_statements,
)
from trailwise.pipeline.policy.resource_policy.model import Caller, Finding, StatementReview
from trailwise.pipeline.policy.resource_policy.target import Target

# Resource policies of these services name the resource by "*" (the policy is the resource's
# own) or not at all; for the others the suggestion names the resources the calls named.
_RESOURCE_STAR = {"kms", "secretsmanager"}
_NO_RESOURCE = {"ecr"}


@cache
def service_principals() -> dict[str, dict[str, Any]]:
    """The AWS service principals whose confused-deputy condition keys are documented."""
    data = package_files.files(__package__).joinpath("services.json").read_text("utf-8")
    services: dict[str, dict[str, Any]] = json.loads(data)["services"]
    return services


class _Builder:
    def __init__(
        self,
        target: Target,
        statements: list[Statement],
        organizations: dict[str, str],
    ) -> None:
        self.target = target
        self.statements = statements
        self.organizations = organizations
        self.notes: list[str] = []
        self.findings: list[Finding] = []

    def admitting(self, caller: Caller) -> Statement | None:
        """The first current Allow statement that admitted one of ``caller``'s calls."""
        for statement in self.statements:
            if statement.effect != "Allow" or statement.not_principal:
                continue
            if any(
                u.calls and admits(statement, caller, u.action, u.resource_arn) for u in caller.uses
            ):
                return statement
        return None

    def resources(self, caller_uses: list[tuple[str, str]]) -> list[str]:
        """Resource values covering the (action, resource) pairs."""
        service = self.target.service
        if service in _RESOURCE_STAR:
            return ["*"]
        if service in _NO_RESOURCE:
            return []
        by_type: dict[str, tuple[Any, set[str]]] = {}
        for action, arn in caller_uses:
            info = catalogue.lookup(action)
            rt = res.resource_type(info, arn) if info else None
            if rt is None:
                by_type.setdefault("", (None, set()))[1].add(res.escape(arn))
                continue
            by_type.setdefault(rt.name, (rt, set()))[1].add(arn)
        out: set[str] = set()
        for rt, arns in by_type.values():
            if rt is None:
                out.update(arns)
                continue
            out.update(g.resource for g in res.grant(service, rt, sorted(arns), "generalize"))
        return sorted(out)

    def carried_condition(self, caller: Caller) -> dict[str, dict[str, Any]]:
        """A copy of the conditions of the statement that admitted ``caller``: they held for
        its calls."""
        statement = self.admitting(caller)
        condition = statement.raw.get("Condition") if statement else None
        if not isinstance(condition, dict):
            return {}
        return {str(op): dict(keys) for op, keys in condition.items() if isinstance(keys, dict)}


def _sid(b: _Builder, callers: list[Caller], default: str) -> str:
    """The Sid of the one current statement that admitted all of ``callers``, so that a diff
    against today's policy shows what changed in it; else ``default``."""
    admitting = [b.admitting(c) for c in callers]
    sids = {s.sid if s else None for s in admitting}
    if len(sids) == 1:
        (sid,) = sids
        if sid:
            return sid
    return default


def _merge(
    condition: dict[str, dict[str, Any]], operator: str, key: str, values: list[str]
) -> None:
    condition.setdefault(operator, {})[key] = values[0] if len(values) == 1 else values


def _statement(
    sid: str,
    principal: dict[str, list[str]],
    actions: list[str],
    resources: list[str],
    condition: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Principal": principal}
    statement["Action"] = actions
    if resources:
        statement["Resource"] = resources
    if condition:
        statement["Condition"] = condition
    return statement


def suggested_document(
    target: Target,
    account: str | None,
    callers: list[Caller],
    statements: list[Statement],
    reviews: list[StatementReview],
    organizations: dict[str, str],
) -> tuple[dict[str, Any] | None, list[str], list[Finding]]:
    """The suggested policy (None when none is needed), its notes and findings.

    Args:
        target: the resource.
        account: the resource's account, when known.
        callers: the window's callers.
        statements: the current policy's statements (empty without one).
        reviews: their reviews, in the same order.
        organizations: account id -> organization id, as the lake knows them.
    """
    b = _Builder(target, statements, organizations)
    kept: list[dict[str, Any]] = []
    for statement, reviewed in zip(statements, reviews, strict=True):
        if reviewed.verdict == "deny":
            kept.append(statement.raw)
        elif reviewed.verdict == "unknown":
            kept.append(statement.raw)
            b.notes.append(
                f"kept statement {reviewed.sid or reviewed.index}: it grants actions the lake "
                "could not have seen for this account (their data events are not logged)"
            )
        elif reviewed.verdict == "unsupported":
            kept.append(statement.raw)
            b.notes.append(
                f"kept statement {reviewed.sid or reviewed.index} as it is: an Allow with "
                "NotPrincipal is not judged"
            )
    if target.service == "kms":
        _key_administration(b, account, statements, reviews, kept)
    granted: list[dict[str, Any]] = []
    named = _principal_statements(b, account, callers, kept)
    granted.extend(named)
    granted.extend(_service_statements(b, account, callers))
    _anonymous(b, callers)
    statements_out = [
        *policy_document.unique_sids(
            [policy_document.normalize_statement(s) for s in kept]
            + sorted(
                (policy_document.normalize_statement(s) for s in granted), key=lambda s: s["Sid"]
            )
        )
    ]
    if not statements_out:
        return None, b.notes, b.findings
    doc = {"Version": policy_document.VERSION, "Statement": statements_out}
    return doc, b.notes, b.findings


# AWS's default key policy statement: it lets the account's identity policies grant the key.
# https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
def _default_key_statement(partition: str, account: str) -> dict[str, Any]:
    return {
        "Sid": "EnableIAMUserPermissions",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }


def _key_administration(
    b: _Builder,
    account: str | None,
    statements: list[Statement],
    reviews: list[StatementReview],
    kept: list[dict[str, Any]],
) -> None:
    """A key policy must keep who can manage the key: PutKeyPolicy refuses a policy that locks
    it out, and a key nobody can manage cannot be fixed. Statements granting
    kms:PutKeyPolicy are kept used or not; without a captured policy, AWS's default
    statement is suggested."""
    if not statements and account is not None:
        kept.append(_default_key_statement(b.target.partition, account))
        b.notes.append(
            "added AWS's default key policy statement (EnableIAMUserPermissions): the current "
            "key policy is not captured, and a key policy without a statement that manages the "
            "key would lock it (https://docs.aws.amazon.com/kms/latest/developerguide/"
            "key-policy-default.html)"
        )
        return
    for statement, reviewed in zip(statements, reviews, strict=True):
        if statement.effect != "Allow" or statement.raw in kept:
            continue
        if "kms:PutKeyPolicy" in granted_actions(statement, "kms"):
            kept.append(statement.raw)
            b.notes.append(
                f"kept statement {reviewed.sid or reviewed.index} ({reviewed.verdict}): it "
                "grants kms:PutKeyPolicy, and a key policy without it would lock the key"
            )


def _principal_statements(
    b: _Builder, account: str | None, callers: list[Caller], kept: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Statements naming the principals that need the resource policy."""
    same = [c for c in callers if c.kind == "principal" and c.is_same_account and c.used_actions]
    others = [
        c for c in callers if c.kind == "principal" and not c.is_same_account and c.used_actions
    ]
    if same and b.target.service == "kms":
        candidates = [*parse_statements({"Statement": kept}), *b.statements]
        delegation = next(
            (
                s
                for s in candidates
                if s.effect == "Allow"
                and s.principals
                and all(k == "AWS" and account_of(v) == account for k, v in s.principals)
            ),
            None,
        )
        if delegation is None:
            others = others + same
        else:
            if delegation.raw not in kept:
                kept.append(delegation.raw)
            b.notes.append(
                f"statement {delegation.sid or delegation.index} lets account {account}'s "
                "identity policies grant the key: its own principals are not named ("
                + ", ".join(sorted(c.arn for c in same))
                + ")"
            )
    elif same:
        b.notes.append(
            "not granted, their identity policies suffice (same account): "
            + ", ".join(sorted(c.arn for c in same))
        )
    groups: dict[tuple[Any, ...], list[Caller]] = defaultdict(list)
    for caller in others:
        pairs = [(u.action, u.resource_arn) for u in caller.uses if u.calls]
        actions = sorted({a for a, _ in pairs})
        resources = b.resources(pairs)
        carried = b.carried_condition(caller)
        key = (tuple(actions), tuple(resources), json.dumps(carried, sort_keys=True))
        groups[key].append(caller)
        if caller.arn.endswith(":root"):
            b.notes.append(
                f"{caller.arn}: the events name only the account ({caller.evidence}); load that "
                "account's trail to name the role or user"
            )
    out: list[dict[str, Any]] = []
    for (actions, resources, carried_json), members in sorted(groups.items()):
        condition: dict[str, dict[str, Any]] = json.loads(carried_json)
        orgs = {b.organizations.get(c.account_id or "") for c in members}
        pinned = any(k.lower() == "aws:principalorgid" for ops in condition.values() for k in ops)
        if len(orgs) == 1 and None not in orgs and not pinned:
            (org,) = orgs
            _merge(condition, "StringEquals", "aws:PrincipalOrgID", [str(org)])
        accounts = sorted({c.account_id or "" for c in members})
        out.append(
            _statement(
                _sid(b, members, policy_document.sid("Allow", *accounts)),
                {"AWS": sorted(c.arn for c in members)},
                list(actions),
                list(resources),
                condition,
            )
        )
    return out


def _service_statements(
    b: _Builder, account: str | None, callers: list[Caller]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    known = service_principals()
    for caller in callers:
        if caller.kind != "service" or not caller.used_actions:
            continue
        documented = known.get(caller.arn)
        if documented is None:
            b.findings.append(
                Finding(
                    "service_not_granted",
                    "warning",
                    caller.arn,
                    f"{caller.arn} used the resource ({caller.calls} calls: "
                    f"{', '.join(caller.used_actions)}) but trailwise knows no documented "
                    "confused-deputy condition for it: it is not in the suggestion; grant it by "
                    "hand with the conditions its documentation gives",
                )
            )
            continue
        keys = {str(k).lower() for k in documented["keys"]}
        pairs = [(u.action, u.resource_arn) for u in caller.uses if u.calls]
        condition = b.carried_condition(caller)
        carried_keys = {k.lower() for ops in condition.values() for k in ops}
        has_deputy = bool(carried_keys & DEPUTY_KEYS)
        # Logged sources pin the keys the admitting statement does not already pin.
        if caller.source_arns and "aws:sourcearn" in keys - carried_keys:
            _merge(condition, "ArnLike", "aws:SourceArn", sorted(caller.source_arns))
            has_deputy = True
        if caller.source_accounts and "aws:sourceaccount" in keys - carried_keys:
            _merge(condition, "StringEquals", "aws:SourceAccount", sorted(caller.source_accounts))
            has_deputy = True
        if not has_deputy:
            if "aws:sourceaccount" not in keys or account is None:
                b.findings.append(
                    Finding(
                        "service_not_granted",
                        "warning",
                        caller.arn,
                        f"{caller.arn} used the resource but neither the events nor the current "
                        "policy say for which source; it is not in the suggestion (see "
                        f"{documented['doc']})",
                    )
                )
                continue
            _merge(condition, "StringEquals", "aws:SourceAccount", [account])
            b.findings.append(
                Finding(
                    "assumed_source_account",
                    "warning",
                    caller.arn,
                    f"{caller.arn} is admitted only for account {account}'s own resources "
                    "(aws:SourceAccount): the events do not log the source. If it acts for "
                    f"another account, change the condition (see {documented['doc']})",
                )
            )
        out.append(
            _statement(
                _sid(b, [caller], policy_document.sid("Allow", caller.arn.split(".", 1)[0])),
                {"Service": [caller.arn]},
                list(caller.used_actions),
                b.resources(pairs),
                condition,
            )
        )
    return out


def _anonymous(b: _Builder, callers: list[Caller]) -> None:
    for caller in callers:
        if caller.kind != "anonymous":
            continue
        succeeded = caller.calls
        b.findings.append(
            Finding(
                "anonymous_use",
                "high" if succeeded else "warning",
                "anonymous",
                f"unauthenticated callers made {succeeded + caller.denied} calls "
                f"({succeeded} succeeded, {caller.denied} denied: "
                f"{', '.join(sorted({u.action for u in caller.uses}))}). The suggestion does "
                "not grant them: if the resource is meant to be public, add that statement "
                "deliberately",
            )
        )
