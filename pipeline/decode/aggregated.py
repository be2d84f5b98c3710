"""Aggregated events: CloudTrail's 5-minute summaries of data events, as rows of their own table.

A trail with data-event aggregation delivers, beside (or instead of) the data events, records of
``eventCategory`` ``Aggregated`` (``eventType`` ``AwsAggregatedEvent``) that have no
``eventID``/``eventTime`` but an ``eventId``, an ``accountId`` and a ``timeWindow``. Their
``summary`` counts calls by one primary dimension (``eventName`` for the API_ACTIVITY template,
``resourceARN`` for RESOURCE_ACCESS, ``userIdentity`` for USER_ACTIONS) with details by other
dimensions. The summary is kept whole, as JSON text.

The table shares the events table's identity columns so that one deduplication and one
partitioning serve both: ``event_id`` is ``eventId``, ``recipient_account_id`` is ``accountId``
(the account that received the record) and ``event_time`` is the window's start.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from trailwise.pipeline.decode.rows import Row, dumps, parse_time

TS = pa.timestamp("us")
S = pa.string()
# (column, field, type, description); field "" is derived.
SPECS: tuple[tuple[str, str, pa.DataType, str], ...] = (
    ("event_id", "eventId", S, "eventId: with recipient_account_id, the record's identity"),
    ("recipient_account_id", "accountId", S, "the account that received the record"),
    ("event_time", "timeWindow.windowStart", TS, "the window's start (UTC), inclusive"),
    ("window_end", "timeWindow.windowEnd", TS, "the window's end (UTC), exclusive"),
    ("window_size", "timeWindow.windowSize", S, "ISO-8601 duration, e.g. PT5M"),
    ("event_version", "eventVersion", S, "eventVersion"),
    ("event_category", "eventCategory", S, "Aggregated"),
    ("event_type", "eventType", S, "AwsAggregatedEvent"),
    ("event_source", "eventSource", S, "the service whose events were summarised"),
    ("aws_region", "awsRegion", S, "the region of the summarised events"),
    ("template", "", S, "derived: API_ACTIVITY, RESOURCE_ACCESS or USER_ACTIONS"),
    ("primary_dimension", "summary.primaryDimension.dimension", S, "eventName, resourceARN, ..."),
    ("summary", "summary", S, "the summary, whole, as JSON"),
    ("extra_fields", "", S, "unmodelled top-level fields, as JSON"),
    ("source_uri", "", S, "the file or object the record was read from"),
)
AGGREGATED_SCHEMA = pa.schema([pa.field(name, typ) for name, _, typ, _ in SPECS])
TEMPLATES = {
    "eventName": "API_ACTIVITY",
    "resourceARN": "RESOURCE_ACCESS",
    "userIdentity": "USER_ACTIONS",
}
IDX_TIME = AGGREGATED_SCHEMA.names.index("event_time")
IDX_ACCOUNT = AGGREGATED_SCHEMA.names.index("recipient_account_id")
IDX_REGION = AGGREGATED_SCHEMA.names.index("aws_region")
_TOP = ("eventVersion", "eventCategory", "eventType", "eventSource", "awsRegion")
_MODELLED = frozenset({"eventId", "accountId", "timeWindow", "summary", *_TOP})


def is_aggregated(record: dict[str, Any]) -> bool:
    """Whether a record is an aggregated summary rather than an event."""
    return (
        record.get("eventCategory") == "Aggregated"
        or record.get("eventType") == "AwsAggregatedEvent"
    )


def _text(value: Any) -> str | None:
    """A value for a text column: strings as they are, anything else as its JSON."""
    if value is None or isinstance(value, str):
        return value
    return dumps(value).decode()


def flatten_aggregated(record: dict[str, Any], source_uri: str) -> Row | str:
    """One aggregated record as a row of :data:`AGGREGATED_SCHEMA`, or why it cannot be used."""
    event_id = record.get("eventId")
    if not event_id or not isinstance(event_id, str):
        return "aggregated event without eventId"
    window = record.get("timeWindow")
    window = window if isinstance(window, dict) else {}
    start = parse_time(window.get("windowStart"))
    if start is None:
        return "aggregated event without a usable timeWindow.windowStart"
    summary = record.get("summary")
    primary = summary.get("primaryDimension") if isinstance(summary, dict) else None
    dimension = primary.get("dimension") if isinstance(primary, dict) else None
    extra = {k: v for k, v in record.items() if k not in _MODELLED}
    return (
        event_id,
        _text(record.get("accountId")),
        start,
        parse_time(window.get("windowEnd")),
        _text(window.get("windowSize")),
        *(_text(record.get(key)) for key in _TOP),
        TEMPLATES.get(dimension) if isinstance(dimension, str) else None,
        _text(dimension),
        None if summary is None else dumps(summary).decode(),
        dumps(extra).decode() if extra else None,
        source_uri,
    )


def aggregated_to_table(rows: list[Row]) -> pa.Table:
    """Rows of :func:`flatten_aggregated` as an Arrow table (every value is already typed)."""
    if not rows:
        return AGGREGATED_SCHEMA.empty_table()
    columns = list(zip(*rows, strict=True))
    return pa.Table.from_arrays(
        [
            pa.array(values, type=field.type)
            for values, field in zip(columns, AGGREGATED_SCHEMA, strict=True)
        ],
        schema=AGGREGATED_SCHEMA,
    )
