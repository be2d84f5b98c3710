"""A replay for people: the line, then what would break and what could not be judged."""

from __future__ import annotations

from trailwise.pipeline.policy.replay.model import Refusal, Replay
from trailwise.pipeline.timeutil import iso


def render_text(result: Replay) -> str:
    """The replay as text, ending in a newline."""
    lines = [
        f"{result.principal_arn} against {', '.join(result.policies)}",
        result.line()
        + f" ({result.allowed:,} allowed; {result.requests:,} distinct requests evaluated)",
    ]
    if not result.calls_checked:
        lines.append(
            "nothing to replay: the principal made no authorized call in the window"
            " (check the ARN's path and the window)"
        )
    if result.denied_calls:
        lines.append(f"{result.denied_calls:,} calls denied when made are not replayed")
    if result.refused:
        lines.append("")
        lines.append("Would be refused:")
        for r in result.refused:
            lines.append(
                f"  {r.action} on {_resource(r)}: {r.calls:,} calls,"
                f" {iso(r.first_seen_at)} .. {iso(r.last_seen_at)}"
            )
            lines.append(f"    {r.why}")
    if result.unknown:
        lines.append("")
        lines.append("Cannot be judged from the lake:")
        for u in result.unknown:
            lines.append(f"  {u.action}: {u.reason}: {u.calls:,} calls")
    return "\n".join(lines) + "\n"


def _resource(refusal: Refusal) -> str:
    if refusal.resource_arn:
        return refusal.resource_arn
    if refusal.unnamed_type:
        return f"its {refusal.unnamed_type} (not named by the events)"
    return "(resource not named by the events)"
