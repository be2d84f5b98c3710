"""The findings: the current trust policy compared with who assumed the role, plus the failed
attempts, the unexplained sessions, and roles AWS manages or nobody assumed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from trailwise.pipeline.policy.trust.current import Entry, listed
from trailwise.pipeline.policy.trust.model import Assumer, FailedAssumption, Finding, Sessions
from trailwise.pipeline.policy.trust.suggestion import SOURCE_ACCOUNT_SERVICES, claim_keys

# Findings that read the current trust policy: without a snapshot there is none to read.
COMPARISON_FINDINGS = frozenset(
    {
        "wildcard_principal",
        "account_root_principal",
        "unused_principal",
        "missing_condition",
        "assumer_not_trusted",
    }
)
_SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2, "info": 3}


def _covered_by(entry: Entry, assumers: Sequence[Assumer]) -> list[Assumer]:
    return [a for a in assumers if entry.index in a.trusted_by]


def collect_findings(
    role: Mapping[str, Any],
    assumers: Sequence[Assumer],
    failed: Sequence[FailedAssumption],
    sessions: Sessions,
    entries: Sequence[Entry],
    account: str,
) -> list[Finding]:
    """The findings, most severe first.

    Args:
        role: the role's snapshot row (or the stand-in without a snapshot).
        assumers: who assumed the role.
        failed: the failed attempts.
        sessions: the role's sessions and which the assumptions explain.
        entries: the current trust policy's entries.
        account: the role's account id.
    """
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


def _federated_findings(entry: Entry, seen: Sequence[Assumer]) -> list[Finding]:
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
    host, aud_claim, sub_claim = claim_keys(value)
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


def _condition_values(entry: Entry, key: str) -> list[str]:
    values: list[str] = []
    for keys in (entry.condition or {}).values():
        if not isinstance(keys, dict):
            continue
        for k, v in keys.items():
            if k.lower() == key.lower():
                values.extend(str(x) for x in listed(v))
    return values


def _names(values: Sequence[str]) -> str:
    if not values:
        return "nobody"
    shown = ", ".join(values[:5])
    return shown + (f" and {len(values) - 5} more" if len(values) > 5 else "")
