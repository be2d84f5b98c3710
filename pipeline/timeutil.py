"""Times: parsing what users type (``2026-11-01``, ``2026-11-01T12:00:00Z``, ``30d``, ``12h``),
the lake's naive UTC form, and how times are written back (ISO for JSON, minutes for text)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from trailwise.pipeline.errors import UsageError

_RELATIVE = re.compile(r"^(\d+)([dhm])$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_when(
    text: str | None, *, end_of_day: bool = False, now: datetime | None = None
) -> datetime | None:
    """A UTC instant. A bare date is its midnight, or the next midnight with ``end_of_day``
    (so ``--until 2026-11-03`` includes all of that day); ``30d`` means 30 days before now."""
    if text is None or text == "":
        return None
    now = now or datetime.now(UTC)
    m = _RELATIVE.match(text.strip())
    if m:
        return now - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return start + timedelta(days=1) if end_of_day else start
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"cannot read {text!r} as a time", hint="use YYYY-MM-DD, an ISO timestamp, or 30d/12h"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def naive_utc(value: datetime | None) -> datetime | None:
    """``value`` as the naive UTC timestamp the lake stores (naive input is taken as UTC)."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 UTC to the second with ``Z``, for JSON output (``None`` stays ``None``)."""
    naive = naive_utc(value)
    return None if naive is None else naive.isoformat(timespec="seconds") + "Z"


def short_time(value: datetime | None) -> str:
    """``2026-11-04 16:42`` for text output."""
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def window_text(since: datetime | None, until: datetime | None) -> str:
    """The window as a person reads it."""
    if since is None and until is None:
        return "all events in the lake"
    start = short_time(since) if since else "the first event"
    end = short_time(until) if until else "the last event"
    return f"{start} to {end}"


def now_iso() -> str:
    """Now, as :func:`iso` writes it: run logs and reason files."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
