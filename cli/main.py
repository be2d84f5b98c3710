"""The ``trailwise`` command. Each command parses, calls one library function, renders."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from trailwise.pipeline import api
from trailwise.pipeline.ingest import IngestProgress, IngestResult
from trailwise.pipeline.policy import render as policy_render
from trailwise.pipeline.policy.diff import render_text as diff_text
from trailwise.pipeline.policy.replay import render_text as replay_text
from trailwise.pipeline.policy.resource_policy import render_text as resource_text
from trailwise.pipeline.policy.trust import render_text as trust_text
from trailwise.pipeline.timeutil import parse_when

from . import common, render
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
from .policy import policy_app

app = typer.Typer(
    help="Turn CloudTrail logs into a queryable lake and least-privilege IAM.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals can hold credentials
    add_completion=False,
    rich_markup_mode=None,  # help text shows s3://BUCKET[/PREFIX] literally
)


class SummaryFormat(str, Enum):
    text = "text"
    json = "json"


FormatOpt = Annotated[SummaryFormat, typer.Option("--format", help="Output format.")]


class TableFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    parquet = "parquet"


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks instead of one-line errors.")
    ] = False,
) -> None:
    common.debug = debug


@app.command()
def ingest(
    sources: Annotated[
        list[str], typer.Argument(help="Folders, files or s3://BUCKET[/PREFIX] of CloudTrail logs.")
    ],
    lake: LakeOpt = None,
    catalog: CatalogOpt = None,
    catalog_uri: CatalogUriOpt = None,
    namespace: NamespaceOpt = None,
    since: Annotated[
        str | None, typer.Option(help="Keep events at or after: DATE, ISO time or 30d.")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Keep events before (a DATE includes that day).")
    ] = None,
    account: Annotated[
        list[str] | None, typer.Option(help="Keep only this recipient account (repeatable).")
    ] = None,
    region: Annotated[
        list[str] | None, typer.Option(help="Keep only this CloudTrail region (repeatable).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Objects read at once [default: 8]; decoding uses every CPU."),
    ] = None,
    endpoint_url: Annotated[
        str | None, typer.Option(help="S3-compatible endpoint (for s3:// sources).")
    ] = None,
    profile: Annotated[str | None, typer.Option(help="AWS profile (for s3:// sources).")] = None,
    aws_region: Annotated[
        str | None, typer.Option(help="AWS region of the S3 client (for s3:// sources).")
    ] = None,
    role_arn: Annotated[
        str | None, typer.Option(help="Assume this role to read the bucket (for s3:// sources).")
    ] = None,
    external_id: Annotated[str | None, typer.Option(help="External id for --role-arn.")] = None,
    engine: EngineOpt = Engine.duckdb,
    spark_master: SparkMasterOpt = None,
    report_file: Annotated[
        Path | None,
        typer.Option(
            "--report",
            help="After a run that exits 0 or 2, write the HTML report here (same window "
            "and accounts; the whole lake without --since/--until).",
        ),
    ] = None,
    fmt: FormatOpt = SummaryFormat.text,
) -> None:
    """Ingest CloudTrail files into the lake: only new files, every event once.

    Exit status: 0 all ingested; 2 some input quarantined (the rest committed); 3 some objects
    could not be read (named in the summary, retried by the next run); 1 error.
    """
    with reporting():
        lake = open_lake(lake, catalog, catalog_uri, namespace)
        if external_id and not role_arn:
            raise api.UsageError("--external-id needs --role-arn")
        progress = (
            _progress_printer() if fmt is SummaryFormat.text and sys.stderr.isatty() else None
        )
        result = api.ingest(
            sources,
            lake,
            since=parse_when(since),
            until=parse_when(until, end_of_day=True),
            accounts=account or (),
            regions=region or (),
            workers=workers,
            progress=progress,
            s3=api.S3Config(endpoint_url, profile, aws_region, role_arn, external_id),
            engine=engine.value,
            spark_master=spark_master,
        )
        if progress:
            sys.stderr.write("\n")
        written = None
        if report_file is not None and result.exit_code in (0, 2):
            written = api.report(
                report_file,
                lake,
                since=parse_when(since),
                until=parse_when(until, end_of_day=True),
                accounts=account or (),
            )
    if fmt is SummaryFormat.json:
        echo_json({**result.to_dict(), **({"report": written.path} if written else {})})
    else:
        _print_ingest(result)
        if written:
            typer.echo(f"report: {written.path}")
    raise typer.Exit(result.exit_code)


def _progress_printer() -> Any:
    def show(p: IngestProgress) -> None:
        rate = p.events / p.seconds if p.seconds else 0
        doing = {"commit": "  deduplicating and committing", "map": "  mapping to IAM actions"}
        sys.stderr.write(
            f"\r{p.files_done}/{p.files_total} files  {p.events:,} events  {rate:,.0f} events/s"
            f"{doing.get(p.phase, '')}\x1b[K"
        )
        sys.stderr.flush()

    return show


def _print_ingest(r: IngestResult) -> None:
    rate = r.records_in / r.seconds if r.seconds else 0
    lines = [
        f"run {r.run_id} -> {r.lake}",
        f"files: {r.files_seen} seen, {r.files_ingested} ingested, "
        f"{r.files_skipped} already in the lake, "
        f"{r.files_not_cloudtrail} not CloudTrail, {r.files_quarantined} quarantined"
        + (f", {r.files_filtered} outside the filters" if r.files_filtered else ""),
        f"records: {r.records_in} in = {r.events_written} written"
        + (f" + {r.aggregated_written} aggregated" if r.aggregated_written else "")
        + f" + {r.duplicates} duplicates + {r.records_quarantined} quarantined"
        + (f" + {r.records_filtered} outside the filters" if r.records_filtered else ""),
        f"time: {r.seconds:.2f}s ({rate:,.0f} records/s)",
    ]
    for reason, n in r.not_cloudtrail.items():
        lines.append(f"  not CloudTrail: {n} x {reason}")
    for item in r.quarantined_files:
        lines.append(f"  quarantined file {item['uri']}: {item['reason']}")
    for item in r.objects_failed:
        lines.append(f"  FAILED {item['uri']}: {item['reason']}")
    if r.list_requests:
        lines.append(
            f"s3: {r.list_requests} list requests, {r.objects_listed} objects listed, "
            f"{r.bytes_downloaded / 1e6:.1f} MB downloaded"
        )
    if r.unknown_keys:
        shown = ", ".join(r.unknown_key_examples[:5])
        lines.append(f"  {r.unknown_keys} keys outside CloudTrail's layout, e.g. {shown}")
    for reason, n in r.quarantine_reasons.items():
        lines.append(f"  quarantined records: {n} x {reason}")
    if r.quarantine_dir:
        lines.append(f"quarantine: {r.quarantine_dir}")
    typer.echo("\n".join(lines))


@app.command()
def query(
    name: Annotated[
        str | None, typer.Argument(help="A named query (see 'trailwise queries').")
    ] = None,
    sql: Annotated[
        str | None, typer.Option("--sql", help="Read-only SQL over the 'events' view.")
    ] = None,
    lake: LakeOpt = None,
    catalog: CatalogOpt = None,
    catalog_uri: CatalogUriOpt = None,
    namespace: NamespaceOpt = None,
    since: Annotated[str | None, typer.Option(help="Sets $since: DATE, ISO time or 30d.")] = None,
    until: Annotated[
        str | None, typer.Option(help="Sets $until (a DATE includes that day).")
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option(help="KEY=VALUE for a query parameter (repeatable).")
    ] = None,
    fmt: Annotated[
        TableFormat, typer.Option("--format", help="Output format.")
    ] = TableFormat.table,
    output: Annotated[Path | None, typer.Option(help="Write to FILE instead of stdout.")] = None,
    engine: EngineOpt = Engine.duckdb,
    spark_master: SparkMasterOpt = None,
) -> None:
    """Run a named query or read-only SQL over the lake (--engine spark: Spark SQL, and --sql
    is then Spark SQL)."""
    with reporting():
        lake = open_lake(lake, catalog, catalog_uri, namespace)
        if (name is None) == (sql is None):
            raise api.UsageError("give either a query NAME or --sql")
        if fmt is TableFormat.parquet and output is None:
            raise api.UsageError("--format parquet needs --output FILE")
        if sql is not None:
            table = api.run_sql(sql, lake, engine=engine.value, spark_master=spark_master)
        else:
            params: dict[str, Any] = {}
            for item in param or []:
                key, sep, value = item.partition("=")
                if not sep or not key:
                    raise api.UsageError(f"--param {item!r} is not KEY=VALUE")
                params[key] = value
            if since is not None:
                params["since"] = parse_when(since)
            if until is not None:
                params["until"] = parse_when(until, end_of_day=True)
            table = api.run_named(
                name or "", lake, params, engine=engine.value, spark_master=spark_master
            )
        render.write_table(table, fmt.value, output)


@app.command("queries")
def list_queries() -> None:
    """List the named queries, what each answers and its parameters."""
    for q in api.list_queries():
        typer.echo(f"{q.name}: {q.description}")
        for p in q.params:
            flag = " (optional)" if p.optional else ""
            typer.echo(f"    ${p.name} {p.type}{flag}: {p.description}")


@app.command()
def status(
    lake: LakeOpt = None,
    catalog: CatalogOpt = None,
    catalog_uri: CatalogUriOpt = None,
    namespace: NamespaceOpt = None,
    fmt: FormatOpt = SummaryFormat.text,
) -> None:
    """What the lake holds and what the last runs did."""
    with reporting():
        lake = open_lake(lake, catalog, catalog_uri, namespace)
        info = api.status(lake)
    if fmt is SummaryFormat.json:
        echo_json(info)
    else:
        _print_status(info)


def _print_status(info: dict[str, Any]) -> None:
    typer.echo(f"lake: {info['lake']}")
    typer.echo(
        f"events: {info['events']:,} in {info['data_files']} files "
        f"({info['data_bytes'] / 1e6:.1f} MB), {info['days']} days, {info['snapshots']} snapshots"
    )
    if info["aggregated_events"]:
        typer.echo(f"aggregated events (5-minute summaries): {info['aggregated_events']:,}")
    if info.get("first_event_at"):
        typer.echo(f"span: {info['first_event_at']} .. {info['last_event_at']}")
        typer.echo(f"accounts: {info['accounts']}, regions: {info['regions']}")
    typer.echo(
        f"actions: {info['action_rows']:,} rows, mapping {info['mapping_version']}"
        + (
            f" ({info['stale_action_rows']:,} rows from an older mapping: run 'trailwise remap')"
            if info["stale_action_rows"]
            else ""
        )
    )
    typer.echo(f"quarantined files: {info['quarantined_files']}")
    typer.echo(f"runs: {info['runs']}")
    for run in info["last_runs"]:
        typer.echo(
            f"  {run['run_id']} {run.get('command', '')}: "
            f"{run.get('files_ingested', 0)} files, "
            f"{run.get('events_written', 0)} events written, "
            f"{run.get('duplicates', 0)} duplicates, "
            f"{run.get('records_quarantined', 0)} records + "
            f"{run.get('files_quarantined', 0)} files quarantined, "
            f"exit {run.get('exit_code', '?')}"
        )


@app.command()
def compact(
    lake: LakeOpt = None,
    catalog: CatalogOpt = None,
    catalog_uri: CatalogUriOpt = None,
    namespace: NamespaceOpt = None,
    fmt: FormatOpt = SummaryFormat.text,
) -> None:
    """Merge each day's small files (rows unchanged) and drop expired snapshots' files."""
    with reporting():
        lake = open_lake(lake, catalog, catalog_uri, namespace)
        result = api.compact(lake)
    if fmt is SummaryFormat.json:
        echo_json(result.to_dict())
    else:
        typer.echo(
            f"compacted {result.days_compacted} days: {result.files_before} files -> "
            f"{result.files_after} ({result.rows:,} rows); expired {result.snapshots_expired} "
            f"snapshots, deleted {result.files_deleted} unreferenced files in {result.seconds:.2f}s"
        )


@app.command()
def remap(
    lake: LakeOpt = None,
    catalog: CatalogOpt = None,
    catalog_uri: CatalogUriOpt = None,
    namespace: NamespaceOpt = None,
    fmt: FormatOpt = SummaryFormat.text,
) -> None:
    """Re-derive every event's IAM actions from the lake (after the mapping improved)."""
    with reporting():
        lake = open_lake(lake, catalog, catalog_uri, namespace)
        result = api.remap(lake)
    if fmt is SummaryFormat.json:
        echo_json(result.to_dict())
    else:
        typer.echo(
            f"remapped {result.files_mapped} files into {result.rows_written:,} action rows "
            f"with mapping {result.mapping_version} in {result.seconds:.2f}s"
        )


@app.command()
def connect(
    lake: LakeOpt = None,
    catalog: CatalogOpt = None,
    catalog_uri: CatalogUriOpt = None,
    namespace: NamespaceOpt = None,
    output: Annotated[
        Path | None,
        typer.Option(
            help="Write the file here [default: LAKE/connect.sql; for an S3 lake "
            "~/.cache/trailwise/connect-HASH.sql]."
        ),
    ] = None,
) -> None:
    """Write a DuckDB init file defining the lake's views, and print its path.

    The views (events, event_actions, aggregated_events, aggregated_use, iam_*) name the data
    files of the current snapshot: run 'duckdb -init "$(trailwise connect)"', and connect again
    to see later data. For an S3 lake the file starts with the httpfs settings; credentials come
    from DuckDB's AWS credential chain and are never written.
    """
    with reporting():
        lake = open_lake(lake, catalog, catalog_uri, namespace)
        result = api.connect(lake, output)
    typer.echo(result.path)


lake_app = typer.Typer(
    help="Whole lakes: copy one to another place.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(lake_app, name="lake")


@lake_app.command("copy")
def lake_copy(
    src: Annotated[
        str,
        typer.Argument(metavar="SRC", help="The lake to copy: a folder or s3://BUCKET/PREFIX."),
    ],
    dst: Annotated[
        str,
        typer.Argument(
            metavar="DST", help="Where to: a folder or s3://BUCKET/PREFIX that holds no lake."
        ),
    ],
    catalog: Annotated[
        common.CatalogKind | None,
        typer.Option(
            "--catalog",
            help="DST's catalog: sql (SQLite in a local DST), glue or rest [default: sql, or the "
            "trailwise catalog of pyiceberg's configuration].",
        ),
    ] = None,
    catalog_uri: Annotated[
        str | None,
        typer.Option(help="DST's catalog: a SQLAlchemy URL (sql) or the catalog's URL (rest)."),
    ] = None,
    namespace: Annotated[
        str | None,
        typer.Option(help="DST's Glue database / Iceberg namespace [default: trailwise]."),
    ] = None,
    from_catalog_uri: Annotated[
        str | None,
        typer.Option(help="SRC's sql catalog when it is a shared database (SRC records the rest)."),
    ] = None,
    fmt: FormatOpt = SummaryFormat.text,
) -> None:
    """Copy a lake to another folder or S3 prefix, its Iceberg metadata made for the new place.

    --catalog, --catalog-uri and --namespace are DST's (as for 'ingest' into a new lake, but
    never from the environment); SRC's catalog is the one it recorded. Copies the current
    snapshot of every table, the object records and run log included (so the next ingest into
    the copy skips what SRC ingested), and the quarantine and IAM snapshots; not the older
    snapshots. Both lakes are locked while it runs; a DST that already holds a lake is refused.
    """
    with reporting():
        source = open_lake(src, None, from_catalog_uri, None)
        destination = open_lake(dst, catalog, catalog_uri, namespace)
        result = api.copy_lake(source, destination)
    if fmt is SummaryFormat.json:
        echo_json(result.to_dict())
        return
    typer.echo(
        f"copied {result.source} -> {result.destination} "
        f"({result.catalog} catalog, namespace {result.namespace}) in {result.seconds:.2f}s"
    )
    for table in result.tables:
        typer.echo(
            f"  table {table.name}: {table.files} files, {table.rows:,} rows, "
            f"{table.bytes / 1e6:.1f} MB"
        )
    for folder in result.folders:
        typer.echo(f"  {folder.name}/: {folder.files} files, {folder.bytes / 1e6:.1f} MB")
    typer.echo(f"total: {result.files} files, {result.rows:,} rows, {result.bytes / 1e6:.1f} MB")


iam_app = typer.Typer(
    help="IAM snapshots in the lake.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(iam_app, name="iam")


@iam_app.command("load")
def iam_load(
    file: Annotated[
        Path | None, typer.Argument(help="Output of 'aws iam get-account-authorization-details'.")
    ] = None,
    lake: LakeOpt = None,
    catalog: CatalogOpt = None,
    catalog_uri: CatalogUriOpt = None,
    namespace: NamespaceOpt = None,
    from_aws: Annotated[
        bool, typer.Option("--from-aws", help="Fetch the snapshot with boto3 instead.")
    ] = False,
    profile: Annotated[str | None, typer.Option(help="AWS profile (--from-aws).")] = None,
    role_arn: Annotated[
        str | None, typer.Option(help="Assume this role first (--from-aws).")
    ] = None,
    endpoint_url: Annotated[
        str | None, typer.Option(help="AWS endpoint of every service (--from-aws; emulators).")
    ] = None,
    region: Annotated[
        list[str] | None,
        typer.Option(
            "--region",
            help="Region whose resource policies to read (--from-aws; repeatable) "
            "[default: the session's region].",
        ),
    ] = None,
    save: Annotated[
        Path | None,
        typer.Option(help="Also write what --from-aws read to this capture file (JSON)."),
    ] = None,
    captured_at: Annotated[
        str | None, typer.Option(help="When the snapshot was taken [default: now].")
    ] = None,
    fmt: FormatOpt = SummaryFormat.text,
) -> None:
    """Load an IAM snapshot (one or several accounts) and the permissions it grants.

    FILE is authorization details or a capture file (resource policies and identity providers,
    as --save writes it); --from-aws reads all of it from the account.
    """
    with reporting():
        lake = open_lake(lake, catalog, catalog_uri, namespace)
        if not from_aws and (profile or role_arn or endpoint_url):
            raise api.UsageError("--profile, --role-arn and --endpoint-url go with --from-aws")
        aws = api.S3Config(endpoint_url, profile, None, role_arn) if from_aws else None
        result = api.iam_load(file, lake, parse_when(captured_at), aws, region or (), save)
    if fmt is SummaryFormat.json:
        echo_json(result.to_dict())
        return
    _print_iam_load(result)


def _print_iam_load(result: Any) -> None:
    verb = "loaded" if result.is_new else "already in the lake:"
    rows = result.rows
    typer.echo(
        f"{verb} snapshot {result.snapshot_id} of {', '.join(result.accounts)} "
        f"captured {result.captured_at}"
        + (
            f": {rows['principals']} principals, {rows['policies']} policies, "
            f"{rows['grants']:,} granted actions"
            if result.is_new
            else ""
        )
    )
    if result.is_new and "resource_policies" in rows:
        errors = result.resource_errors
        unread = (
            f"; {sum(errors.values())} unreadable ("
            + ", ".join(f"{code} {n}" for code, n in errors.items())
            + ")"
            if errors
            else ""
        )
        typer.echo(
            f"  {rows['resource_policies']} resources, "
            f"{rows['identity_providers']} identity providers{unread}"
        )


permissions_app = typer.Typer(
    help="The IAM policies trailwise itself needs.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(permissions_app, name="permissions")
app.add_typer(policy_app, name="policy")


@permissions_app.command("load")
def permissions_load(
    account_id: Annotated[
        str | None, typer.Option(help="The account read: scopes each read to its ARNs.")
    ] = None,
    region: Annotated[
        list[str] | None,
        typer.Option("--region", help="Regions read (repeatable) [default: every region]."),
    ] = None,
) -> None:
    """Print the least-privilege IAM policy for 'trailwise iam load --from-aws'.

    The IAM reads (authorization details, SAML and OIDC providers) and the List/Get calls of
    the resource policies of S3, KMS, SQS, SNS, Lambda, Secrets Manager and ECR.
    """
    with reporting():
        policy = api.load_permissions(account_id, region or ())
    sys.stdout.write(json.dumps(policy, indent=2) + "\n")


@permissions_app.command("ingest")
def permissions_ingest(
    bucket: Annotated[str, typer.Option(help="The trail bucket.")],
    prefix: Annotated[str, typer.Option(help="The trail's S3 key prefix, if any.")] = "",
    kms_key: Annotated[
        str | None, typer.Option(help="ARN of the KMS key the trail encrypts with (SSE-KMS).")
    ] = None,
    role_arn: Annotated[
        str | None, typer.Option(help="Role the job assumes to read the bucket.")
    ] = None,
    lake: Annotated[
        str | None, typer.Option(help="The lake the job writes, if in S3: s3://BUCKET/PREFIX.")
    ] = None,
    catalog: CatalogOpt = None,
    namespace: NamespaceOpt = None,
    account_id: Annotated[
        str | None, typer.Option(help="The Glue catalog's account (with --catalog glue).")
    ] = None,
    glue_region: Annotated[
        str | None, typer.Option(help="The Glue catalog's region (with --catalog glue).")
    ] = None,
) -> None:
    """Print the least-privilege IAM policy for 'trailwise ingest s3://BUCKET/PREFIX'.

    With --role-arn, prints {"CallerPolicy": ..., "RolePolicy": ...}: the role may only list
    and read the trail's keys, and the caller may assume it (and write an S3 lake: --lake).
    """
    with reporting():
        access = None
        if lake:
            access = api.LakeAccess(
                lake,
                catalog.value if catalog else "sql",
                namespace or "trailwise",
                account_id,
                glue_region,
            )
        policy = api.ingest_permissions(bucket, prefix, kms_key, role_arn, access)
    sys.stdout.write(json.dumps(policy, indent=2) + "\n")


@app.command()
def demo(
    lake: LakeOpt = None,
    catalog: CatalogOpt = None,
    catalog_uri: CatalogUriOpt = None,
    namespace: NamespaceOpt = None,
    sample_logs: Annotated[Path, typer.Option(help="The sample delivery tree to serve.")] = Path(
        "sample_logs"
    ),
) -> None:
    """Serve sample_logs/ from an in-process S3 emulator on 127.0.0.1 and ingest it via s3://."""
    with reporting():
        lake = open_lake(lake, catalog, catalog_uri, namespace)
        result = api.demo(sample_logs, lake)
    typer.echo(
        f"S3 emulator at {result.endpoint}: uploaded {result.objects_uploaded} objects to "
        f"s3://{result.bucket} under CloudTrail's key layout"
    )
    for n, run in enumerate(result.ingests, start=1):
        typer.echo(f"\n== ingest run {n} (trailwise ingest {' '.join(run.sources)})")
        _print_ingest(run)
    typer.echo("\n== trailwise status")
    _print_status(result.status)
    typer.echo("\n== trailwise query lake_summary")
    render.write_table(result.summary, "table", None)
    typer.echo("\n== who used which IAM actions (trailwise query --sql ... over event_actions)")
    render.write_table(result.principals, "table", None)
    if not result.snapshots:
        return
    typer.echo("\n== trailwise iam load sample_logs/iam/*.json")
    for snapshot in result.snapshots:
        typer.echo(f"snapshot {snapshot.snapshot_id} of {', '.join(snapshot.accounts)}")
    typer.echo("\n== trailwise query root_summary")
    render.write_table(result.root_summary, "table", None)
    typer.echo(f"\n== trailwise policy suggest {result.suggestion.principal_arn}")
    typer.echo(policy_render(result.suggestion.documents, "json", result.suggestion.name), nl=False)
    for note in result.suggestion.notes:
        typer.echo(f"note: {note}")
    typer.echo(
        f"\n== trailwise policy replay {result.replay.principal_arn}"
        f" --policy {result.suggestion.name}.json"
    )
    typer.echo(replay_text(result.replay), nl=False)
    typer.echo(f"\n== trailwise policy diff {result.diff.principal_arn} --no-replacement")
    typer.echo(diff_text(result.diff, replacement=False))
    typer.echo(f"\n== trailwise policy trust {result.trust.role_arn}")
    typer.echo(trust_text(result.trust))
    typer.echo(f"\n== trailwise policy resource {result.resource.resource_arn}")
    typer.echo(resource_text(result.resource), nl=False)


@app.command()
def report(
    output: Annotated[Path, typer.Option(help="The HTML file to write.")],
    lake: LakeOpt = None,
    catalog: CatalogOpt = None,
    catalog_uri: CatalogUriOpt = None,
    namespace: NamespaceOpt = None,
    since: Annotated[
        str | None,
        typer.Option(help="Window start: DATE, ISO time or 30d [default: the first event's day]."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(help="Window end (a DATE includes that day) [default: after the last event]."),
    ] = None,
    account: Annotated[
        list[str] | None, typer.Option(help="Only this receiving account (repeatable).")
    ] = None,
    fmt: FormatOpt = SummaryFormat.text,
) -> None:
    """Write one self-contained HTML page with charts: overview, root, authorization failures,
    identities and least privilege, every number from a named query; prints its path.

    The page loads nothing from anywhere (open it from an attachment or a static S3 link).
    """
    with reporting():
        lake = open_lake(lake, catalog, catalog_uri, namespace)
        result = api.report(
            output,
            lake,
            since=parse_when(since),
            until=parse_when(until, end_of_day=True),
            accounts=account or (),
        )
    if fmt is SummaryFormat.json:
        echo_json(result.to_dict())
    else:
        typer.echo(result.path)


def main() -> None:
    """Console-script entry point."""
    app()
