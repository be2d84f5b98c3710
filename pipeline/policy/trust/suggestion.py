"""The suggested trust policy: one statement per principal type, actions and conditions, each
naming the observed assumers exactly, with only the conditions that held for them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from trailwise.pipeline.policy import document as policy_document
from trailwise.pipeline.policy.trust.assumers import KIND_ORDER, SET_SOURCE_IDENTITY, TAG_SESSION
from trailwise.pipeline.policy.trust.current import ACCOUNT_ROOT, Entry, listed, statements_of
from trailwise.pipeline.policy.trust.model import Assumer

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


def claim_keys(provider: str) -> tuple[str, str, str]:
    """(condition key prefix, audience claim, subject claim) of a web identity provider."""
    host = provider.split(":oidc-provider/", 1)[1] if ":oidc-provider/" in provider else provider
    aud, sub = _CLAIM_KEYS.get(host, ("aud", "sub"))
    return host, aud, sub


def _carried(
    assumer: Assumer, entries: Sequence[Entry], pinned: set[str]
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


def _current_actions(assumer: Assumer, entries: Sequence[Entry]) -> set[str]:
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
    entries: Sequence[Entry],
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
            host, aud_claim, sub_claim = claim_keys(assumer.principal)
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


def _current_values(assumer: Assumer, entries: Sequence[Entry], key: str) -> list[str]:
    """Values the admitting statements give ``key`` under a String operator."""
    values: set[str] = set()
    for i in assumer.trusted_by:
        for operator, keys in (entries[i].condition or {}).items():
            if not str(operator).startswith("String") or not isinstance(keys, dict):
                continue
            for k, v in keys.items():
                if k.lower() == key.lower():
                    values.update(str(x) for x in listed(v))
    return sorted(values)


def _principal_value(assumer: Assumer, partition: str) -> str:
    if assumer.kind == "account" and assumer.account_id:
        return f"arn:{partition}:iam::{assumer.account_id}:root"
    return assumer.principal


def suggested_document(
    assumers: Sequence[Assumer],
    entries: Sequence[Entry],
    current: Mapping[str, Any] | None,
    account: str,
    partition: str,
) -> dict[str, Any] | None:
    """The trust policy admitting exactly ``assumers``; None when nobody usable assumed the role.

    Args:
        assumers: who assumed the role.
        entries: the current trust policy's entries (their conditions may be carried over).
        current: the current trust policy, whose Deny statements are kept.
        account: the role's account id.
        partition: the role's partition (``aws``, ``aws-cn``, ...).
    """
    usable = [a for a in assumers if a.kind in KIND_ORDER and a.principal != "unknown"]
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
    for raw in statements_of(current):
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
    m = ACCOUNT_ROOT.match(value)
    if m:
        return policy_document.sid("Trust", "Account", m.group("account"))
    return policy_document.sid("Trust", value.rsplit("/", 1)[-1].rsplit(":", 1)[-1])
