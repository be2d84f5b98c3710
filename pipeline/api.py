"""The library's front door: one function per CLI command, usable from Python as is."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from trailwise.pipeline import actions, maintenance, permissions, query
from trailwise.pipeline import ingest as _ingest
from trailwise.pipeline.errors import UsageError
from trailwise.pipeline.lake import Lake
from trailwise.pipeline.s3 import S3Config, S3Source, parse_s3_uri, s3_uri
from trailwise.pipeline.sources import LocalSource, Source

FIRST_RUN_DAYS = 7
LATE_DELIVERY_SLACK = timedelta(days=1)

__all__ = [
    "S3Config",
    "UsageError",
    "compact",
    "demo",
    "iam_load",
    "ingest",
    "ingest_permissions",
    "list_queries",
    "open_sources",
    "policy_bulk",
    "policy_diff",
    "policy_suggest",
    "policy_trust",
    "remap",
    "run_named",
    "run_sql",
    "status",
]


def open_sources(
    specs: Sequence[str],
    lake: Lake,
    window: _ingest.Window,
    s3: S3Config | None = None,
    first_run_days: int = FIRST_RUN_DAYS,
) -> list[Source]:
    """Turn SOURCE arguments into sources: local folders and files, and ``s3://`` URIs."""
    if not specs:
        raise UsageError("no SOURCE given", hint="pass a folder, a file or s3://BUCKET[/PREFIX]")
    sources: list[Source] = []
    for spec in specs:
        if spec.startswith("s3://"):
            bucket, prefix = parse_s3_uri(spec)
            first, last = listing_days(lake, s3_uri(bucket, prefix), window, first_run_days)
            sources.append(
                S3Source(
                    bucket,
                    prefix,
                    s3 or S3Config(),
                    first,
                    last,
                    accounts=window.accounts,
                    regions=window.regions,
                )
            )
        elif "://" in spec:
            raise UsageError(
                f"unsupported source {spec!r}", hint="pass a folder, file or s3:// URI"
            )
        else:
            sources.append(LocalSource(Path(spec).expanduser(), exclude=lake.root))
    return sources


def listing_days(
    lake: Lake, uri: str, window: _ingest.Window, first_run_days: int = FIRST_RUN_DAYS
) -> tuple[date, date]:
    """Which day prefixes to list for a bucket source.

    Explicit ``--since``/``--until`` win (plus the next day: a file delivered just after
    midnight holds the previous day's last events). Otherwise: from the start of the last
    successful run over this source, less a day of slack for late delivery; on a first run, the
    last ``first_run_days`` days. Objects seen before are skipped by their ETag, so the slack
    costs listings, not downloads.
    """
    today = datetime.now(UTC).date()
    last = (
        (window.until - timedelta(microseconds=1)).date() + timedelta(days=1)
        if window.until
        else today
    )
    if window.since:
        return window.since.date(), min(last, today + timedelta(days=1))
    previous = [
        r
        for r in lake.runs()
        if uri in r.get("sources", []) and r.get("exit_code") in (0, 2) and r.get("started_at")
    ]
    if previous:
        started = datetime.strptime(previous[-1]["started_at"], "%Y-%m-%dT%H:%M:%SZ").date()
        return started - LATE_DELIVERY_SLACK, last
    return today - timedelta(days=first_run_days - 1), last


def ingest(
    specs: Sequence[str],
    lake: str | Path | None = None,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    accounts: Sequence[str] = (),
    regions: Sequence[str] = (),
    workers: int | None = None,
    progress: _ingest.Progress | None = None,
    s3: S3Config | None = None,
    first_run_days: int = FIRST_RUN_DAYS,
) -> _ingest.IngestResult:
    """Ingest CloudTrail files from ``specs`` into the lake; see :func:`ingest.ingest`.

    ``workers`` is how many objects are read (downloaded) at once; decoding uses every CPU.
    """
    target = Lake(lake)
    if since and until and since >= until:
        raise UsageError(f"--since {since:%Y-%m-%dT%H:%M:%SZ} is not before --until")
    window = _ingest.Window(since, until, frozenset(accounts), frozenset(regions))
    sources = open_sources(specs, target, window, s3, first_run_days)
    return _ingest.ingest(sources, target, window, workers, progress)


def run_sql(sql: str, lake: str | Path | None = None) -> pa.Table:
    """Read-only SQL over the ``events`` view."""
    return query.run_sql(Lake(lake), sql)


def run_named(
    name: str, lake: str | Path | None = None, params: dict[str, Any] | None = None
) -> pa.Table:
    """A named query from ``queries/`` with bound parameters."""
    return query.run_named(Lake(lake), name, params)


def list_queries() -> list[query.NamedQuery]:
    """The named queries shipped with trailwise."""
    return list(query.named_queries().values())


def status(lake: str | Path | None = None) -> dict[str, Any]:
    """What the lake holds and what its last runs did."""
    return maintenance.status(Lake(lake))


def iam_load(
    path: str | Path | None,
    lake: str | Path | None = None,
    captured_at: datetime | None = None,
    aws: S3Config | None = None,
) -> Any:
    """Load an ``aws iam get-account-authorization-details`` file, or fetch it with ``aws``."""
    from trailwise.pipeline.iam.store import load_into_lake

    if (path is None) == (aws is None):
        raise UsageError("give either a snapshot FILE or --from-aws")
    return load_into_lake(
        Lake(lake), Path(path).expanduser() if path is not None else None, captured_at, aws
    )


def ingest_permissions(
    bucket: str, prefix: str = "", kms_key: str | None = None, role_arn: str | None = None
) -> dict[str, Any]:
    """The IAM policy the ingest job needs; see :func:`permissions.ingest_policy`."""
    return permissions.ingest_policy(bucket, prefix, kms_key, role_arn)


def demo(sample_logs: str | Path, lake: str | Path | None = None) -> Any:
    """Serve ``sample_logs`` from an in-process S3 emulator and ingest it through s3://."""
    from trailwise.pipeline.demo import run_demo

    return run_demo(Path(sample_logs), Lake(lake).root)


def remap(lake: str | Path | None = None) -> actions.SyncResult:
    """Re-derive every event's IAM actions from the lake, in one commit."""
    target = Lake(lake).require()
    with target.lock():
        return actions.sync(target, full=True)


def compact(lake: str | Path | None = None) -> maintenance.CompactResult:
    """Merge small files per day and drop what old snapshots no longer need."""
    return maintenance.compact(Lake(lake))


def policy_suggest(principal_arn: str, lake: str | Path | None = None, **options: Any) -> Any:
    """The least-privilege policy of a role or user; options as :func:`policy.suggest`."""
    from trailwise.pipeline.policy import suggest

    return suggest(Lake(lake), principal_arn, **options)


def policy_diff(
    principal_arn: str,
    lake: str | Path | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Any:
    """Today's grants of a role or user against its use: what to cut, keep, cannot judge."""
    from trailwise.pipeline.policy.diff import diff

    return diff(Lake(lake), principal_arn, since=since, until=until)


def policy_trust(
    role_arn: str,
    lake: str | Path | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Any:
    """Who really assumed a role, the trust policy admitting exactly them, and findings."""
    from trailwise.pipeline.policy.trust import suggest_trust

    return suggest_trust(Lake(lake), role_arn, since=since, until=until)


def policy_bulk(out_dir: str | Path, lake: str | Path | None = None, **options: Any) -> Any:
    """Suggestions and diffs of every matching principal into ``out_dir``; see
    :func:`policy.bulk.bulk`."""
    from trailwise.pipeline.policy.bulk import bulk

    return bulk(Lake(lake), out_dir, **options)
