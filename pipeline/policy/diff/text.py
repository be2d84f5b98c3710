"""The diff as a report for people: what to remove, keep and cannot judge, the denied calls,
each policy's statements and the replacement policies."""

from __future__ import annotations

import json
from collections.abc import Sequence

from trailwise.pipeline.policy.diff.model import ActionVerdict, PolicyDiff
from trailwise.pipeline.timeutil import short_time, window_text

_TEXT_NAMES = 12


def render(result: PolicyDiff, *, replacement: bool = True) -> str:
    """A report for people; ``replacement=False`` leaves the replacement policies out.

    Args:
        result: the diff to report.
        replacement: whether to show the replacement policies.

    Returns:
        The report, one line per fact, ending with a newline.
    """
    granted = len(result.removable) + len(result.kept) + len(result.unjudgeable)
    lines = [
        f"Permissions of {result.principal_arn} ({result.principal_type})",
        f"Window: {window_text(result.since, result.until)}",
    ]
    if result.permissions_boundary_arn:
        lines.append(f"Permissions boundary: {result.permissions_boundary_arn}")
    if result.is_aws_managed:
        lines.append("AWS manages this principal's policies: the diff is for review only.")
    lines.append(
        f"Granted {granted} actions: {len(result.kept)} used, {len(result.removable)} removable, "
        f"{len(result.unjudgeable)} cannot be judged; {len(result.used_not_granted)} denied "
        "action/resource pair(s)."
    )
    lines.append("")
    lines.append("Remove (granted, observable, not used in the window):")
    lines.extend(_by_service(result.removable) or ["  nothing"])
    attempted = [a for a in result.removable if a.denied_calls]
    for a in attempted:
        lines.append(
            f"  note: {a.action} is unused where granted but was tried and denied "
            f"{a.denied_calls} time(s) elsewhere (see below)"
        )
    lines.append("")
    lines.append("Keep (used):")
    for a in result.kept:
        lines.append(f"  {a.action}  {a.event_count} call(s), last {short_time(a.last_seen)}")
    if not result.kept:
        lines.append("  nothing")
    lines.append("")
    lines.append("Cannot judge (CloudTrail cannot show their use here):")
    reasons: dict[str, list[ActionVerdict]] = {}
    for a in result.unjudgeable:
        reasons.setdefault(a.reason, []).append(a)
    for reason, group in sorted(reasons.items()):
        lines.append(f"  {reason}:")
        lines.extend(f"  {line}" for line in _by_service(group))
    if not result.unjudgeable:
        lines.append("  nothing")
    lines.append("")
    lines.append("Used but not granted (denied calls):")
    for d in result.used_not_granted:
        lines.append(
            f"  {d.action} on {d.resource or '(resource unknown)'}  x{d.attempts}, "
            f"last {short_time(d.last_seen)}: {d.reason}"
        )
        lines.append(f"      {d.fix}")
    if not result.used_not_granted:
        lines.append("  nothing")
    lines.append("")
    lines.append("Policies:")
    for p in result.policies:
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
    if not result.policies:
        lines.append("  none")
    if replacement:
        lines.append("")
        lines.append("Replacement policies (removals applied):")
        if not result.replacement:
            lines.append("  none needed")
        for r in result.replacement:
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
