"""``trailwise policy ...``: least-privilege policies from what principals really did."""

from __future__ import annotations

import io
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from trailwise.pipeline.policy import Suggestion, render, suggest
from trailwise.pipeline.timeutil import parse_when

policy_app = typer.Typer(
    help="Least-privilege IAM policies from the lake.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

# Repeated from main.py rather than imported: main.py imports this module to add policy_app.
LakeOpt = Annotated[
    Path | None,
    typer.Option(
        "--lake", envvar="TRAILWISE_LAKE", help="Lake directory [default: ./trailwise-lake]."
    ),
]


class ResourcesMode(str, Enum):
    exact = "exact"
    generalize = "generalize"
    star = "star"


class PolicyFormat(str, Enum):
    json = "json"
    terraform = "terraform"
    cloudformation = "cloudformation"


@policy_app.command("suggest")
def suggest_command(
    principal_arn: Annotated[str, typer.Argument(help="ARN of the IAM role or user.")],
    lake: LakeOpt = None,
    since: Annotated[
        str | None, typer.Option(help="Use events at or after: DATE, ISO time or 30d.")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Use events before (a DATE includes that day).")
    ] = None,
    resources: Annotated[
        ResourcesMode,
        typer.Option(
            help="exact ARNs, generalize (fold object keys and name prefixes), or star (*)."
        ),
    ] = ResourcesMode.generalize,
    include_denied: Annotated[
        bool,
        typer.Option(
            "--include-denied",
            help="Also grant actions denied because no identity-based policy allowed them"
            " (Sids ending in Denied).",
        ),
    ] = False,
    fmt: Annotated[
        PolicyFormat, typer.Option("--format", help="json, terraform or cloudformation.")
    ] = PolicyFormat.json,
    output: Annotated[Path | None, typer.Option(help="Write to FILE instead of stdout.")] = None,
    max_size: Annotated[
        int,
        typer.Option(
            min=100, help="Characters per policy (without whitespace); larger ones are split."
        ),
    ] = 6144,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain", help="Print each action's evidence and each condition's reason to stderr."
        ),
    ] = False,
) -> None:
    """Suggest the least-privilege identity policy of a role or user from its observed use.

    Grants the actions it was authorized to use in the window (plus the actions they imply, such
    as iam:PassRole), on the resources the events name, under conditions every observed call
    met. Notes (splits, * fallbacks, denied calls left out) go to stderr.
    """
    # Imported here: main.py imports this module while it is still being defined.
    from .main import _reporting

    with _reporting():
        result = suggest(
            lake,
            principal_arn,
            since=parse_when(since),
            until=parse_when(until, end_of_day=True),
            resources=resources.value,
            include_denied=include_denied,
            max_size=max_size,
        )
        text = render(result.documents, fmt.value, result.name)
        if output:
            output.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
            sys.stdout.flush()
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    if explain:
        sys.stderr.write(explain_text(result))


def explain_text(result: Suggestion) -> str:
    """The evidence table (one row per action) and the conditions table, as text."""
    console = Console(file=io.StringIO(), record=True, width=200, highlight=False)
    actions = Table(title=f"Evidence for {result.principal_arn}", title_justify="left")
    for column in ("action", "level", "events", "last seen", "resources", "statement", "why"):
        actions.add_column(column, overflow="fold")
    for e in result.evidence:
        actions.add_row(
            e.action + (" (denied)" if e.denied else ""),
            e.access_level,
            str(e.events),
            e.last_seen.strftime("%Y-%m-%d %H:%M"),
            "\n".join(e.resources),
            "\n".join(e.sids),
            e.why,
        )
    console.print(actions)
    if result.conditions:
        conditions = Table(title="Conditions", title_justify="left")
        for column in ("statement", "condition", "values", "why"):
            conditions.add_column(column, overflow="fold")
        for c in result.conditions:
            conditions.add_row(c.sid, f"{c.operator} {c.key}", "\n".join(c.values), c.justification)
        console.print(conditions)
    return console.export_text()
