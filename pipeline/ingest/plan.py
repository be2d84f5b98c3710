"""What a run reads: SOURCE arguments as sources, the window of days to list, and the listing
minus the objects the lake already holds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from trailwise.pipeline.errors import UsageError
from trailwise.pipeline.ingest.result import IngestResult
from trailwise.pipeline.lake import Lake
from trailwise.pipeline.sources import Source, SourceObject, keys
from trailwise.pipeline.sources.local import LocalSource
from trailwise.pipeline.sources.s3 import S3Config, S3Source, parse_s3_uri, s3_uri

FIRST_RUN_DAYS = 7
LATE_DELIVERY_SLACK = timedelta(days=1)


@dataclass(frozen=True)
class Window:
    """Which events a run keeps: a time window and account/region sets (empty = all)."""

    since: datetime | None = None
    until: datetime | None = None
    accounts: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()

    @property
    def is_open(self) -> bool:
        return not (self.since or self.until or self.accounts or self.regions)

    def __post_init__(self) -> None:
        # Rows carry naive UTC times; compare like with like.
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is not None:
                object.__setattr__(self, name, value.astimezone(UTC).replace(tzinfo=None))
        if self.since and self.until and self.since >= self.until:
            raise UsageError(f"--since {self.since:%Y-%m-%dT%H:%M:%SZ} is not before --until")

    def keeps_name(self, name: str) -> bool:
        """Prefilter on what a delivery key says; a day of slack each side for late files."""
        parsed = keys.parse_key(name)
        if parsed is None:
            return True
        if self.accounts and parsed.account not in self.accounts:
            return False
        if self.regions and parsed.region not in self.regions:
            return False
        if self.since and parsed.day < self.since.date() - timedelta(days=1):
            return False
        return not (self.until and parsed.day > self.until.date() + timedelta(days=1))

    def __call__(self, time: datetime, account: Any, region: Any) -> bool:
        """Whether a record of ``time`` (naive UTC), received by ``account`` in ``region``, is
        kept (a :data:`~trailwise.pipeline.decode.RowFilter`)."""
        if self.since and time < self.since:
            return False
        if self.until and time >= self.until:
            return False
        if self.accounts and account not in self.accounts:
            return False
        return not (self.regions and region not in self.regions)


def open_sources(
    specs: Sequence[str],
    lake: Lake,
    window: Window,
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
            sources.append(
                LocalSource(
                    Path(spec).expanduser(), exclude=Path(lake.root) if lake.is_local else None
                )
            )
    return sources


def listing_days(
    lake: Lake, uri: str, window: Window, first_run_days: int = FIRST_RUN_DAYS
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


def plan(
    sources: Sequence[Source], lake: Lake, window: Window, result: IngestResult
) -> list[tuple[Source, SourceObject]]:
    """Everything listed, minus what the window excludes by name and what the lake holds."""
    listed: list[tuple[Source, SourceObject]] = []
    for source in sources:
        for obj in source.list():
            result.files_seen += 1
            if window.keeps_name(obj.name):
                listed.append((source, obj))
            else:
                result.files_filtered += 1
        listing = getattr(source, "listing", None)
        if listing is not None:
            result.objects_listed += listing.objects_listed
            result.list_requests += listing.list_requests
            result.unknown_keys += listing.unknown_keys
            result.unknown_key_examples.extend(listing.unknown_examples)
        days = getattr(source, "listed_days", None)
        if days is not None:
            result.window.setdefault("listed_days", {})[source.uri] = days
    known = lake.known_objects(
        pa.table(
            {"uri": [o.uri for _, o in listed], "fingerprint": [o.fingerprint for _, o in listed]}
        )
    )
    todo = []
    seen: set[str] = set()
    for source, obj in listed:
        if (obj.uri, obj.fingerprint) in known or obj.uri in seen:
            result.files_skipped += 1
        else:
            seen.add(obj.uri)
            todo.append((source, obj))
    return todo
