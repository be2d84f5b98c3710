"""From a file's bytes to event rows: file shapes and envelopes (:mod:`.files`), one event as a
row (:mod:`.rows`), and the events table's columns (:mod:`.schema`)."""

from __future__ import annotations

from trailwise.pipeline.decode.files import Decoded, QuarantinedRecord, RowFilter, decode_bytes
from trailwise.pipeline.decode.rows import (
    IDX_ACCOUNT,
    IDX_EVENT_TIME,
    IDX_REGION,
    Row,
    flatten,
    parse_time,
    principal_arn,
    role_arn_of_session,
    rows_to_table,
)

__all__ = [
    "IDX_ACCOUNT",
    "IDX_EVENT_TIME",
    "IDX_REGION",
    "Decoded",
    "QuarantinedRecord",
    "Row",
    "RowFilter",
    "decode_bytes",
    "flatten",
    "parse_time",
    "principal_arn",
    "role_arn_of_session",
    "rows_to_table",
]
