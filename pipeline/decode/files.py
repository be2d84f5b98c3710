"""Decode CloudTrail files into event rows, without losing or inventing anything.

Accepted shapes: delivery files (``{"Records": [...]}``), JSON arrays, NDJSON, a single event,
and envelopes around events (EventBridge ``detail``, ``_raw`` strings of log shippers, ``event`` /
``data`` wrappers of test corpora), gzip- or zip-compressed or plain. A file that cannot be read is
*quarantined* with a reason; so is a record that cannot be used (no eventID, no usable eventTime).
A file that is readable but holds no CloudTrail (digests, configs, other JSON) is *not CloudTrail*.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any, Literal

import orjson
import pyarrow as pa
from isal import igzip

from trailwise.pipeline.decode.aggregated import IDX_ACCOUNT as AGG_ACCOUNT
from trailwise.pipeline.decode.aggregated import IDX_REGION as AGG_REGION
from trailwise.pipeline.decode.aggregated import IDX_TIME as AGG_TIME
from trailwise.pipeline.decode.aggregated import flatten_aggregated, is_aggregated
from trailwise.pipeline.decode.fast import NotFast, Parsed, parse_delivery, to_table
from trailwise.pipeline.decode.rows import (
    IDX_ACCOUNT,
    IDX_EVENT_TIME,
    IDX_REGION,
    Row,
    dumps,
    flatten,
    rows_to_table,
)
from trailwise.pipeline.sources import keys

# Whether to keep a record, from its time, receiving account and region.
RowFilter = Callable[[datetime, Any, Any], bool]
FileKind = Literal["events", "not_cloudtrail", "quarantined"]

_EVENT_MARKERS = ("eventName", "eventSource", "eventID", "eventTime", "eventVersion")
_JSON_NAMES = (".json", ".json.gz", ".ndjson", ".jsonl", ".ndjson.gz", ".jsonl.gz", ".gz", ".zip")
_MAX_ENVELOPE_DEPTH = 4
_MAX_RAW_KEPT = 1 << 20  # a quarantined line longer than 1 MiB keeps its first MiB


@dataclass
class QuarantinedRecord:
    """A record that could not become an event, with why and its original text."""

    index: int
    reason: str
    raw: str


@dataclass
class Decoded:
    """What one file held."""

    kind: FileKind
    reason: str | None = None
    rows: list[Row] = field(default_factory=list)
    aggregated: list[Row] = field(default_factory=list)  # rows of the aggregated_events table
    # A delivery file the fast path took: its columns, not rows, and their table unless the
    # caller batches them (decode_bytes(batched=True)).
    fast: Parsed | None = None
    fast_table: pa.Table | None = None
    quarantined: list[QuarantinedRecord] = field(default_factory=list)
    records_in: int = 0
    filtered: int = 0
    member_uris: list[str] = field(default_factory=list)

    @property
    def events(self) -> int:
        """How many event rows the file gave (either path)."""
        return self.fast.rows if self.fast is not None else len(self.rows)

    def table(self) -> pa.Table:
        """The event rows as a table of the events schema (either path); :class:`NotFast` when
        Arrow refuses the columns of a batched fast-path file."""
        if self.fast_table is not None:
            return self.fast_table
        return to_table([self.fast]) if self.fast is not None else rows_to_table(self.rows)


class _BadFile(Exception):
    """The file as a whole cannot be read (quarantine it)."""


# orjson reads an integer beyond 64 bits as a float, losing digits; the stdlib keeps it exact.
_LONG_NUMBER = re.compile(rb"\d{20}")


def _loads(data: bytes | str) -> Any:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        pass  # the stdlib takes what orjson refuses (lone surrogates, say) or says why not
    else:
        raw = data.encode() if isinstance(data, str) else data
        if _LONG_NUMBER.search(raw) is None:
            return value
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def _is_event_like(obj: Any) -> bool:
    return type(obj) is dict and any(k in obj for k in _EVENT_MARKERS)


def _expand(obj: Any, depth: int = 0) -> Iterator[Any]:
    """Unwrap known envelopes around events; yield candidate records."""
    if type(obj) is dict and depth < _MAX_ENVELOPE_DEPTH and not _is_event_like(obj):
        records = obj.get("Records")
        if isinstance(records, list):
            for record in records:
                yield from _expand(record, depth + 1)
            return
        detail = obj.get("detail")
        if "detail-type" in obj and type(detail) is dict:
            yield from _expand(detail, depth + 1)
            return
        raw = obj.get("_raw")
        if isinstance(raw, str):
            try:
                inner = _loads(raw)
            except ValueError:
                yield obj
                return
            yield from _expand(inner, depth + 1)
            return
        for wrapper in ("event", "data"):
            inner = obj.get(wrapper)
            if type(inner) is dict:
                yield from _expand(inner, depth + 1)
                return
    yield obj


def _candidates(items: list[Any]) -> list[Any]:
    """The records of a list; plain events (the common case) skip the envelope search."""
    out: list[Any] = []
    for item in items:
        if type(item) is dict and ("eventID" in item or "eventTime" in item):
            out.append(item)
        else:
            out.extend(_expand(item))
    return out


def _is_digest(doc: Any) -> bool:
    return type(doc) is dict and "digestStartTime" in doc and "logFiles" in doc


def _decompress(data: bytes, name: str) -> bytes:
    try:
        inflated: bytes = igzip.decompress(data)  # type: ignore[no-untyped-call]
        return inflated
    except Exception:  # noqa: S110  zlib's own words, below, name what is wrong
        pass
    try:
        return gzip.decompress(data)
    except EOFError as exc:
        raise _BadFile(f"truncated gzip stream in {name}") from exc
    except (OSError, zlib.error) as exc:
        raise _BadFile(f"corrupt gzip stream: {exc}") from exc


def _parse_document(text: bytes) -> tuple[list[Any], list[QuarantinedRecord], bool]:
    """Parse a whole file: (candidate records, unparseable lines, declares CloudTrail)."""
    try:
        doc = _loads(text)
    except ValueError as whole_error:
        return _parse_lines(text, whole_error)
    if type(doc) is list:
        return _candidates(doc), [], False
    if type(doc) is dict:
        if "Records" in doc:
            records = doc["Records"]
            if not isinstance(records, list):
                raise _BadFile(f"'Records' is a {type(records).__name__}, not a list")
            return _candidates(records), [], True
        return list(_expand(doc)), [], False
    raise _BadFile(f"top-level JSON is a {type(doc).__name__}, not an object or array")


def _parse_lines(
    text: bytes, whole_error: ValueError
) -> tuple[list[Any], list[QuarantinedRecord], bool]:
    """NDJSON: one record a line; lines that do not parse are quarantined one by one."""
    candidates: list[Any] = []
    bad_lines: list[QuarantinedRecord] = []
    first = True
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = _loads(line)
        except ValueError as exc:
            if first:
                # Not NDJSON either: report why the file as a whole did not parse.
                raise _BadFile(f"invalid JSON: {whole_error}") from exc
            raw = line[:_MAX_RAW_KEPT].decode("utf-8", "replace")
            bad_lines.append(
                QuarantinedRecord(number, f"invalid JSON on line {number}: {exc}", raw)
            )
            continue
        first = False
        candidates.extend(_expand(obj))
    return candidates, bad_lines, False


def _looks_like_json_name(name: str) -> bool:
    low = name.lower()
    return low.endswith(_JSON_NAMES)


def decode_bytes(
    data: bytes,
    name: str,
    source_uri: str,
    keep: RowFilter | None = None,
    *,
    fast: bool = True,
    batched: bool = False,
) -> Decoded:
    """Decode one file's bytes; ``name`` is its path or key (for the grammar and messages).

    A delivery file is taken by the fast path (:mod:`.fast`) unless ``fast`` is off or it does
    not fit; the result is the same either way. ``batched``: the caller puts the fast path's
    columns to Arrow together with other files' (:func:`.fast.to_table`, cheaper per event) and
    decodes the file again with ``fast=False`` if Arrow refuses them.
    """
    base = PurePosixPath(name).name
    parsed_key = keys.parse_key(name)
    if parsed_key is not None and parsed_key.kind != "CloudTrail":
        return Decoded("not_cloudtrail", f"{parsed_key.kind} file")
    if keys.is_digest_name(base):
        return Decoded("not_cloudtrail", "CloudTrail-Digest file")
    claims = parsed_key is not None or keys.parse_file_name(base) is not None
    try:
        if data[:2] == b"\x1f\x8b":
            data = _decompress(data, base)
        elif data[:4] == b"PK\x03\x04":
            return _decode_zip(data, name, source_uri, keep)
        text = data.lstrip(b"\xef\xbb\xbf \t\r\n")
        if fast and text.startswith(_DELIVERY):
            taken = _fast(text, source_uri, keep, batched)
            if taken is not None:
                return taken
        if not text:
            if claims or _looks_like_json_name(base):
                raise _BadFile("empty file")
            return Decoded("not_cloudtrail", "empty file")
        if text[:1] not in (b"{", b"["):
            if claims or _looks_like_json_name(base):
                raise _BadFile("not a JSON object, array or NDJSON")
            return Decoded("not_cloudtrail", "not JSON")
        try:
            candidates, bad_lines, declares = _parse_document(text)
        except _BadFile:
            if claims or _looks_like_json_name(base):
                raise
            return Decoded("not_cloudtrail", "not JSON")
    except _BadFile as exc:
        return Decoded("quarantined", str(exc))
    return _rows_from(candidates, bad_lines, claims or declares, source_uri, keep)


_DELIVERY = b'{"Records":'


def _fast(text: bytes, source_uri: str, keep: RowFilter | None, batched: bool) -> Decoded | None:
    """The fast path's result, or None when the file does not fit it."""
    try:
        parsed = parse_delivery(text, source_uri)
        records = parsed.rows
        filtered = parsed.keep_only(keep) if keep is not None else 0
        table = None if batched else to_table([parsed])
    except NotFast:
        return None
    return Decoded("events", records_in=records, filtered=filtered, fast=parsed, fast_table=table)


def _rows_from(
    candidates: list[Any],
    bad_lines: list[QuarantinedRecord],
    claims: bool,
    source_uri: str,
    keep: RowFilter | None,
) -> Decoded:
    if len(candidates) == 1 and _is_digest(candidates[0]):
        return Decoded("not_cloudtrail", "CloudTrail-Digest file")
    if not claims and not bad_lines and not any(_is_event_like(c) for c in candidates):
        return Decoded("not_cloudtrail", "no CloudTrail events")
    out = Decoded("events", records_in=len(candidates) + len(bad_lines), quarantined=bad_lines)
    rows = out.rows
    for index, record in enumerate(candidates):
        row: str | Row
        if type(record) is not dict:
            row = f"record is a {type(record).__name__}, not an object"
        elif "eventID" not in record and is_aggregated(record):
            row = flatten_aggregated(record, source_uri)
            if not isinstance(row, str):
                if keep is None or keep(row[AGG_TIME], row[AGG_ACCOUNT], row[AGG_REGION]):
                    out.aggregated.append(row)
                else:
                    out.filtered += 1
                continue
        elif "eventID" in record or _is_event_like(record):
            row = flatten(record, source_uri)
        else:
            row = "not a CloudTrail event (no eventName, eventSource, eventID or eventTime)"
        if isinstance(row, str):
            out.quarantined.append(QuarantinedRecord(index, row, dumps(record).decode()))
        elif keep is None or keep(row[IDX_EVENT_TIME], row[IDX_ACCOUNT], row[IDX_REGION]):
            rows.append(row)
        else:
            out.filtered += 1
    return out


def _decode_zip(data: bytes, name: str, source_uri: str, keep: RowFilter | None) -> Decoded:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir()]
        parts = [
            (
                m.filename,
                # Members keep the tolerant path: their rows stay in one list, in order.
                decode_bytes(
                    archive.read(m), m.filename, f"{source_uri}!{m.filename}", keep, fast=False
                ),
            )
            for m in members
        ]
    except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
        return Decoded("quarantined", f"corrupt zip archive: {exc}")
    merged = Decoded("not_cloudtrail", "no CloudTrail members in zip archive")
    for member, part in parts:
        if part.kind == "quarantined":
            return Decoded("quarantined", f"zip member {member}: {part.reason}")
        if part.kind == "events":
            merged.kind, merged.reason = "events", None
            merged.rows.extend(part.rows)
            merged.aggregated.extend(part.aggregated)
            merged.quarantined.extend(part.quarantined)
            merged.records_in += part.records_in
            merged.filtered += part.filtered
            merged.member_uris.append(f"{source_uri}!{member}")
    return merged
