"""What an ingest run reports: progress while it runs, each object's outcome, the summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

Progress = Callable[["IngestProgress"], None]


@dataclass
class IngestProgress:
    """Passed to the progress callback after each chunk, and when a later phase starts."""

    files_done: int
    files_total: int
    events: int
    seconds: float
    phase: str = "decode"  # decode | commit | map


@dataclass
class FileOutcome:
    """What happened to one object."""

    uri: str
    fingerprint: str
    size: int
    kind: str  # events | not_cloudtrail | quarantined | filtered
    reason: str | None = None
    records_in: int = 0
    decoded: int = 0
    aggregated: int = 0  # aggregated records among the records
    records_quarantined: int = 0
    records_filtered: int = 0
    # Zip members are sources of their own (``uri!member``); their kept rows count for the file.
    member_uris: list[str] = field(default_factory=list)
    record_reasons: Counter[str] = field(default_factory=Counter)


@dataclass
class IngestResult:
    """The run summary; ``to_dict`` is the ``--format json`` contract."""

    run_id: str
    lake: str
    files_seen: int = 0
    files_ingested: int = 0
    files_skipped: int = 0
    files_not_cloudtrail: int = 0
    files_quarantined: int = 0
    files_filtered: int = 0
    records_in: int = 0
    events_written: int = 0
    aggregated_written: int = 0
    duplicates: int = 0
    records_quarantined: int = 0
    records_filtered: int = 0
    seconds: float = 0.0
    bytes_read: int = 0
    not_cloudtrail: dict[str, int] = field(default_factory=dict)
    quarantined_files: list[dict[str, str]] = field(default_factory=list)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    quarantine_dir: str | None = None
    # Listing and download figures; zero for local sources.
    objects_listed: int = 0
    list_requests: int = 0
    bytes_downloaded: int = 0
    unknown_keys: int = 0
    unknown_key_examples: list[str] = field(default_factory=list)
    objects_failed: list[dict[str, str]] = field(default_factory=list)
    window: dict[str, Any] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    phase_seconds: dict[str, float] = field(default_factory=dict)
    action_rows_written: int = 0
    # The run's own compaction when it was due (maintenance.maintenance_due), else None.
    compacted: dict[str, Any] | None = None

    @property
    def exit_code(self) -> int:
        """0 clean; 3 some objects could not be read (they are retried next run); 2 some input
        went to quarantine (the rest is committed)."""
        if self.objects_failed:
            return 3
        return 2 if self.files_quarantined or self.records_quarantined else 0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["seconds"] = round(self.seconds, 3)
        out["exit_code"] = self.exit_code
        return out
