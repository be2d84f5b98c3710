"""The library's front door: one function per CLI command, usable from Python as is."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from trailwise.pipeline import ingest as _ingest
from trailwise.pipeline import maintenance, query
from trailwise.pipeline.errors import UsageError

__all__ = [
    "UsageError",
    "compact",
    "ingest",
    "list_queries",
    "open_sources",
    "run_named",
    "run_sql",
    "status",
]
from trailwise.pipeline.lake import Lake
from trailwise.pipeline.sources import LocalSource, Source


def open_sources(specs: Sequence[str], lake: Lake) -> list[Source]:
    """Turn SOURCE arguments into sources (folders and files here)."""
    if not specs:
        raise UsageError("no SOURCE given", hint="pass a folder or file of CloudTrail logs")
    sources: list[Source] = []
    for spec in specs:
        if "://" in spec:
            raise UsageError(f"unsupported source {spec!r}", hint="pass a local folder or file")
        sources.append(LocalSource(Path(spec).expanduser(), exclude=lake.root))
    return sources


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
) -> _ingest.IngestResult:
    """Ingest CloudTrail files from ``specs`` into the lake; see :func:`ingest.ingest`."""
    target = Lake(lake)
    window = _ingest.Window(since, until, frozenset(accounts), frozenset(regions))
    if since and until and since >= until:
        raise UsageError(f"--since {since:%Y-%m-%dT%H:%M:%SZ} is not before --until")
    return _ingest.ingest(open_sources(specs, target), target, window, workers, progress)


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


def compact(lake: str | Path | None = None) -> maintenance.CompactResult:
    """Merge small files per day and drop what old snapshots no longer need."""
    return maintenance.compact(Lake(lake))
