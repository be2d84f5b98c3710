"""The resource policy suggestion as a report for people."""

from __future__ import annotations

import json

from trailwise.pipeline.policy.resource_policy.model import ResourcePolicySuggestion
from trailwise.pipeline.timeutil import short_time, window_text

_KINDS = (
    ("principal", "Principals"),
    ("service", "AWS services acting with their own principal"),
    ("anonymous", "Unauthenticated callers"),
)


def render(result: ResourcePolicySuggestion) -> str:
    """Callers, the current policy's review, findings, notes and the suggested policy.

    Args:
        result: what :func:`~trailwise.pipeline.policy.resource_policy.suggest_resource_policy`
            found.
    """
    lines = [
        f"Resource policy of {result.resource_arn}",
        f"Account: {result.account_id or 'unknown'}",
        f"Window: {window_text(result.since, result.until)}",
        "",
    ]
    total = sum(c.calls for c in result.callers)
    denied = sum(c.denied for c in result.callers)
    lines.append(f"Who used it ({total} calls, {denied} denied):")
    if not result.callers:
        lines.append("  nobody in the window")
    for kind, title in _KINDS:
        callers = [c for c in result.callers if c.kind == kind]
        if not callers:
            continue
        lines.append(f"  {title}:")
        for c in callers:
            where = ""
            if kind == "principal":
                where = " (same account)" if c.is_same_account else f" (account {c.account_id})"
            lines.append(
                f"    {c.arn}{where}: {c.calls} calls, {c.denied} denied, "
                f"last {short_time(c.last_seen)}"
            )
            for use in c.per_action(sample=3):
                more = use["resources"] - len(use["resource_sample"])
                on = ", ".join(use["resource_sample"]) + (f" and {more} more" if more > 0 else "")
                lines.append(
                    f"      {use['action']}: {use['calls']} calls"
                    + (f", {use['denied']} denied" if use["denied"] else "")
                    + f" on {on}"
                )
            for label, values in (
                ("through", c.via_services),
                ("source ARN", c.source_arns),
                ("source account", c.source_accounts),
                ("VPC endpoint", c.vpc_endpoints),
            ):
                if values:
                    lines.append(f"      {label}: {', '.join(values)}")
            if c.kind == "principal" and c.evidence != "the event's userIdentity":
                lines.append(f"      named by: {c.evidence}")
    lines.append("")
    current = result.current
    if current.state == "policy":
        lines.append(f"Current policy ({len(result.reviews)} statements):")
        for r in result.reviews:
            label = r.sid or f"#{r.index}"
            admitted = f": {', '.join(r.admitted)} ({r.calls} calls)" if r.admitted else ""
            lines.append(f"  {r.effect} {label}: {r.verdict}{admitted}")
            for finding in r.broader:
                lines.append(f"    broader: {finding.message}")
    else:
        why = f" ({current.error_code})" if current.error_code else ""
        lines.append(f"Current policy: {current.state}{why}")
    lines.append("")
    lines.append("Findings:" if result.findings else "Findings: none")
    for f in result.findings:
        lines.append(f"  [{f.severity}] {f.kind}: {f.message}")
    if result.notes:
        lines.append("")
        lines.append("Notes:")
        lines.extend(f"  {note}" for note in result.notes)
    lines.append("")
    if result.document:
        lines.append("Suggested policy:")
        lines.append(json.dumps(result.document, indent=2))
    else:
        lines.append(
            "Suggested policy: none needed (no caller needs the resource policy and nothing is "
            "kept)"
        )
    for problem in result.problems:
        lines.append(f"  problem: {problem}")
    return "\n".join(lines) + "\n"
