"""``trailwise policy ...``: least-privilege policies from what principals really did."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from trailwise.pipeline import api
from trailwise.pipeline.errors import PolicyError
from trailwise.pipeline.policy import Suggestion, render
from trailwise.pipeline.policy.diff import render_text as diff_text
from trailwise.pipeline.policy.replay import Replay
from trailwise.pipeline.policy.replay import render_text as replay_text
from trailwise.pipeline.policy.resource_policy import render_text as resource_text
from trailwise.pipeline.policy.resource_policy.render import render_resource_policy
from trailwise.pipeline.policy.trust import render_text as trust_text
from trailwise.pipeline.timeutil import parse_when

from .common import (
    CatalogOpt,
    CatalogUriOpt,
    Engine,
    EngineOpt,
    LakeOpt,
    NamespaceOpt,
    SparkMasterOpt,
    echo_json,
    open_lake,
    reporting,
)

policy_app = typer.Typer(
    help="Least-privilege IAM policies from the lake.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

SinceOpt = Annotated[
    str | None, typer.Option(help="Use events at or after: DATE, ISO time or 30d.")
]
UntilOpt = Annotated[str | None, typer.Option(help="Use events before (a DATE includes that day).")]
OutputOpt = Annotated[Path | None, typer.Option(help="Write to FILE instead of stdout.")]


def _emit(text: str, output: Path | None) -> None:
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


class ResourcesMode(str, Enum):
    exact = "exact"
    generalize = "generalize"
    star = "star"


class ReportFormat(str, Enum):
    text = "text"
    json = "json"


class SuggestionFormat(str, Enum):
    text = "text"
    json = "json"
    policy = "policy"
    terraform = "terraform"
    cloudformation = "cloudformation"


class PolicyFormat(str, Enum):
    json = "json"
    terraform = "terraform"
    cloudformation = "cloudformation"


@policy_app.command("suggest")
def suggest_command(
    principal_arn: Annotated[str, typer.Argument(help="ARN of the IAM role or user.")],
    lake: LakeOpt = None,
    catalog: CatalogOpt = None,
    catalog_uri: CatalogUriOpt = None,
    namespace: NamespaceOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
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
    output: OutputOpt = None,
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
    with reporting():
        lake = open_lake(lake, catalog, catalog_uri, namespace)
        result = api.policy_suggest(
            principal_arn,
            lake,
            since=parse_when(since),
            until=parse_when(until, end_of_day=True),
            resources=resources.value,
            include_denied=include_denied,
            max_size=max_size,
        )
        _emit(render(result.documents, fmt.value, result.name), output)
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    if explain:
        sys.stderr.write(explain_text(result))
    _replayed(result.replay)


def _replayed(result: Replay | None) -> None:
    """The replay's line on stderr; what would be refused after it, and exit 2, if anything."""
    if result is None:
        return
    typer.echo(result.line(), err=True)
    if result.breaks_something:
        sys.stderr.write(replay_text(result))
        raise typer.Exit(2)


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


@policy_app.command("diff")
def diff_command(
    principal_arn: Annotated[str, typer.Argument(help="ARN of the IAM role or user.")],
    lake: LakeOpt = None,
    catalog: CatalogOpt = None,
    catalog_uri: CatalogUriOpt = None,
    namespace: NamespaceOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    fmt: Annotated[ReportFormat, typer.Option("--format", help="text or json.")] = (
        ReportFormat.text
    ),
    replacement: Annotated[
        bool,
        typer.Option(
            "--replacement/--no-replacement",
            help="Include the proposed replacement policies (removals applied).",
        ),
    ] = True,
    output: OutputOpt = None,
) -> None:
    """Compare what a role or user is granted today (latest IAM snapshot) with its use.

    Lists actions to remove (granted, unused, observable), kept, that cannot be judged (CloudTrail
    does not log them), and used but not granted (denied), then per policy which statements
    become redundant, and the replacement policies with the removals applied.
    """
    with reporting():
        lake = open_lake(lake, catalog, catalog_uri, namespace)
        result = api.policy_diff(
            principal_arn, lake, since=parse_when(since), until=parse_when(until, end_of_day=True)
        )
        if fmt is ReportFormat.json:
            text = render_json(result.to_dict(replacement=replacement))
        else:
            text = diff_text(result, replacement=replacement)
        _emit(text, output)
    if replacement:
        if result.replay_skipped:
            typer.echo(f"note: not replayed: {result.replay_skipped}", err=True)
        _replayed(result.replay)


class ReplayFormat(str, Enum):
    text = "text"
    json = "json"


@policy_app.command("replay")
def replay_command(
    principal_arn: Annotated[str, typer.Argument(help="ARN of the IAM role or user.")],
    policy: Annotated[
        list[Path],
        typer.Option(
            "--policy",
            help="Identity policy JSON, or a policy suggest / policy diff --format json output"
            " (repeatable: the principal holds them all).",
        ),
    ],
    lake: LakeOpt = None,
    catalog: CatalogOpt = None,
    catalog_uri: CatalogUriOpt = None,
    namespace: NamespaceOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    fmt: Annotated[ReplayFormat, typer.Option("--format", help="text or json.")] = (
        ReplayFormat.text
    ),
    output: OutputOpt = None,
) -> None:
    """Replay every call the role or user was authorized to make in the window against the
    given identity policies, with IAM's evaluation logic: what they would refuse, and what the
    lake cannot judge (a condition key it does not hold, a resource the event does not name).

    Exit status: 0 nothing refused; 2 some call would be refused; 1 error.
    """
    with reporting():
        lake = open_lake(lake, catalog, catalog_uri, namespace)
        result = api.policy_replay(
            principal_arn,
            policy,
            lake,
            since=parse_when(since),
            until=parse_when(until, end_of_day=True),
        )
        text = render_json(result.to_dict()) if fmt is ReplayFormat.json else replay_text(result)
        _emit(text, output)
    if result.breaks_something:
        raise typer.Exit(2)


def _report_or_policy(
    fmt: SuggestionFormat,
    result: Any,
    report: Callable[[Any], str],
    nothing_to_suggest: PolicyError,
    policy: Callable[[str], str],
) -> str:
    """The report (text or JSON) or the suggested policy alone (``policy`` given its format);
    a result without a suggested document has no policy to print."""
    if fmt is SuggestionFormat.text:
        return report(result)
    if fmt is SuggestionFormat.json:
        return render_json(result.to_dict())
    if result.document is None:
        raise nothing_to_suggest
    return policy("json" if fmt is SuggestionFormat.policy else fmt.value)


@policy_app.command("trust")
def trust_command(
    role_arn: Annotated[str, typer.Argument(help="ARN of the IAM role.")],
    lake: LakeOpt = None,
    catalog: CatalogOpt = None,
    catalog_uri: CatalogUriOpt = None,
    namespace: NamespaceOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    fmt: Annotated[
        SuggestionFormat,
        typer.Option(
            "--format",
            help="text (report), json (report), or the suggested trust policy alone: policy "
            "(JSON), terraform, cloudformation.",
        ),
    ] = SuggestionFormat.text,
    output: OutputOpt = None,
) -> None:
    """Who really assumed a role, the trust policy restricted to them, and what is wrong with
    the current one (wildcards, whole accounts, unused principals, missing conditions)."""
    with reporting():
        lake = open_lake(lake, catalog, catalog_uri, namespace)
        result = api.policy_trust(
            role_arn, lake, since=parse_when(since), until=parse_when(until, end_of_day=True)
        )
        name = result.role_arn.rsplit("/", 1)[-1] + "-trust"
        text = _report_or_policy(
            fmt,
            result,
            trust_text,
            PolicyError(
                f"nobody assumed {result.role_arn} in the window: no trust policy to suggest",
                hint="see --format text for the findings",
            ),
            lambda kind: render([result.document], kind, name, kind="trust"),
        )
        _emit(text, output)


@policy_app.command("resource")
def resource_command(
    resource_arn: Annotated[
        str,
        typer.Argument(
            help="ARN of an S3 bucket, KMS key, SQS queue, SNS topic, Lambda function, Secrets "
            "Manager secret or ECR repository."
        ),
    ],
    lake: LakeOpt = None,
    catalog: CatalogOpt = None,
    catalog_uri: CatalogUriOpt = None,
    namespace: NamespaceOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    fmt: Annotated[
        SuggestionFormat,
        typer.Option(
            "--format",
            help="text (report), json (report), or the suggested resource policy alone: "
            "policy (JSON), terraform, cloudformation.",
        ),
    ] = SuggestionFormat.text,
    output: OutputOpt = None,
) -> None:
    """Who really used a resource (principals by account, AWS services, anonymous callers),
    its current resource policy statement by statement, and the policy admitting exactly
    them."""
    with reporting():
        lake = open_lake(lake, catalog, catalog_uri, namespace)
        result = api.policy_resource(
            resource_arn, lake, since=parse_when(since), until=parse_when(until, end_of_day=True)
        )
        text = _report_or_policy(
            fmt,
            result,
            resource_text,
            PolicyError(
                f"{result.resource_arn} needs no resource policy for the window's callers",
                hint="see --format text for who used it and why",
            ),
            lambda kind: render_resource_policy(
                result.document,
                kind,
                service=result.service,
                resource_arn=result.resource_arn,
                name=result.name,
            ),
        )
        _emit(text, output)


@policy_app.command("bulk")
def bulk_command(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the files and index into.")],
    lake: LakeOpt = None,
    catalog: CatalogOpt = None,
    catalog_uri: CatalogUriOpt = None,
    namespace: NamespaceOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    account: Annotated[str | None, typer.Option(help="Only principals of this account.")] = None,
    path: Annotated[
        str | None, typer.Option(help="Only principals whose IAM path starts with this.")
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Only principals whose name matches this glob (ci-*).")
    ] = None,
    resources: Annotated[
        ResourcesMode, typer.Option(help="As for policy suggest.")
    ] = ResourcesMode.generalize,
    engine: EngineOpt = Engine.duckdb,
    spark_master: SparkMasterOpt = None,
    fmt: Annotated[ReportFormat, typer.Option("--format", help="Summary as text or json.")] = (
        ReportFormat.text
    ),
) -> None:
    """Suggestion and diff for every user and role of the loaded IAM snapshots that matches the
    filters: one file each per principal under OUT/ACCOUNT/, plus OUT/index.csv and index.json
    with the size of each reduction. Exits 2 when some principals could not be judged."""
    with reporting():
        lake = open_lake(lake, catalog, catalog_uri, namespace)
        result = api.policy_bulk(
            out,
            lake,
            account_id=account,
            path_prefix=path,
            name_pattern=name,
            since=parse_when(since),
            until=parse_when(until, end_of_day=True),
            resources=resources.value,
            engine=engine.value,
            spark_master=spark_master,
        )
    if fmt is ReportFormat.json:
        summary = result.to_dict()
        summary.pop("index")
        echo_json(summary)
    else:
        counts = ", ".join(f"{n} {status}" for status, n in result.counts.items())
        typer.echo(f"{len(result.rows)} principals: {counts}")
        for row in result.rows:
            if row.status == "error":
                typer.secho(f"error: {row.principal_arn}: {row.note}", fg="red", err=True)
            elif row.granted:
                typer.echo(
                    f"  {row.principal_arn}: {row.removable} of {row.granted} granted actions "
                    f"removable ({row.reduction_pct}%), {row.status}"
                )
        typer.echo(f"index: {out / 'index.csv'}")
    if result.errors:
        raise typer.Exit(2)


def render_json(value: object) -> str:
    return json.dumps(value, indent=2, default=str) + "\n"
