"""Ingest: CloudTrail objects from sources into the lake, exactly once.

:mod:`.plan` decides what to read, :mod:`.workers` decodes and stages it in parallel,
:mod:`.commit` deduplicates and commits it, :mod:`.run` is the run around them, and
:mod:`.result` what it reports.
"""

from __future__ import annotations

from trailwise.pipeline.ingest.plan import FIRST_RUN_DAYS, Window, listing_days, open_sources
from trailwise.pipeline.ingest.result import FileOutcome, IngestProgress, IngestResult, Progress
from trailwise.pipeline.ingest.run import ingest

__all__ = [
    "FIRST_RUN_DAYS",
    "FileOutcome",
    "IngestProgress",
    "IngestResult",
    "Progress",
    "Window",
    "ingest",
    "listing_days",
    "open_sources",
]
