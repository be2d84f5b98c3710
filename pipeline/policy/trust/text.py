"""The trust suggestion as a report for people."""

from __future__ import annotations

import json

from trailwise.pipeline.policy.trust.model import TrustSuggestion
from trailwise.pipeline.timeutil import short_time, window_text


def render(suggestion: TrustSuggestion) -> str:
    """A report for people: assumers, findings, the suggested and the current policy.

    Args:
        suggestion: what :func:`~trailwise.pipeline.policy.trust.suggest_trust` found.
    """
    lines = [
        f"Trust of {suggestion.role_arn}",
        f"Window: {window_text(suggestion.since, suggestion.until)}",
    ]
    if suggestion.is_aws_managed:
        lines.append("AWS manages this role's trust policy: the suggestion is for review only.")
    lines.append("")
    total = sum(a.assumptions for a in suggestion.assumers)
    lines.append(f"Who assumed it ({total} assumption{'s' if total != 1 else ''}):")
    if not suggestion.assumers:
        lines.append("  nobody in the window")
    for a in suggestion.assumers:
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
    if suggestion.failed:
        lines.append("")
        lines.append("Failed attempts:")
        for failure in suggestion.failed:
            last = short_time(failure.last_seen)
            lines.append(
                f"  {failure.principal}  {failure.error_code} x{failure.attempts} (last {last})"
            )
    lines.append("")
    lines.append(
        f"Sessions: {suggestion.sessions.seen} seen, {suggestion.sessions.explained} explained "
        "by the assumptions above"
        + (
            f"; without one: {', '.join(suggestion.sessions.unexplained)}"
            if suggestion.sessions.unexplained
            else ""
        )
    )
    lines.append("")
    lines.append("Findings:" if suggestion.findings else "Findings: none")
    for f in suggestion.findings:
        lines.append(f"  [{f.severity}] {f.kind}: {f.message}")
    lines.append("")
    if suggestion.document:
        lines.append("Suggested trust policy:")
        lines.append(json.dumps(suggestion.document, indent=2))
    else:
        lines.append("Suggested trust policy: none (nobody assumed the role in the window)")
    for problem in suggestion.problems:
        lines.append(f"  problem: {problem}")
    lines.append("")
    if suggestion.current:
        lines.append("Current trust policy:")
        lines.append(json.dumps(suggestion.current, indent=2))
    else:
        lines.append("Current trust policy: none in the snapshot")
    return "\n".join(lines) + "\n"
