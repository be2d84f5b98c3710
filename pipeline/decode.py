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
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any, Literal

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from trailwise.pipeline import keys, schema
from trailwise.pipeline.schema import COLUMN_NAMES, COLUMNS, EVENTS_SCHEMA

Row = tuple[Any, ...]
RowFilter = Callable[[Row], bool]
FileKind = Literal["events", "not_cloudtrail", "quarantined"]

_TOP_KEYS = tuple(spec[1] for spec in schema.TOP_LEVEL)
_UI_KEYS = tuple(spec[1] for spec in schema.USER_IDENTITY)
_ISSUER_KEYS = tuple(spec[1] for spec in schema.SESSION_ISSUER)
_JSON_KEYS = tuple(spec[1] for spec in schema.JSON_OBJECTS if spec[1] != "userIdentity")
# Top-level fields with a column of their own; anything else goes to extra_fields.
_MODELLED = frozenset({"eventID", "eventTime", "userIdentity", *_TOP_KEYS, *_JSON_KEYS})
# Where each column's value comes from, to name it in extra_fields when it cannot be coerced.
_PATHS = (
    *(spec[1] for spec in schema.IDENTITY + schema.TOP_LEVEL),
    *(f"userIdentity.{k}" for k in _UI_KEYS),
    *(f"userIdentity.sessionContext.sessionIssuer.{k}" for k in _ISSUER_KEYS),
    *(f"userIdentity.sessionContext.{spec[1]}" for spec in schema.SESSION),
    *(spec[1] for spec in schema.JSON_OBJECTS + schema.LINEAGE),
)
_EMPTY: dict[str, Any] = {}
_EVENT_MARKERS = ("eventName", "eventSource", "eventID", "eventTime", "eventVersion")
_JSON_NAMES = (".json", ".json.gz", ".ndjson", ".jsonl", ".ndjson.gz", ".jsonl.gz", ".gz", ".zip")
_ASSUMED_ROLE = re.compile(
    r"^arn:(?P<part>[\w-]+):sts::(?P<acct>\d{12}):assumed-role/(?P<role>[^/]+)/"
)
_MAX_ENVELOPE_DEPTH = 4
_MAX_RAW_KEPT = 1 << 20  # a quarantined line longer than 1 MiB keeps its first MiB

IDX_EVENT_TIME = COLUMN_NAMES.index("event_time")
IDX_ACCOUNT = COLUMN_NAMES.index("recipient_account_id")
IDX_REGION = COLUMN_NAMES.index("aws_region")
IDX_EXTRA = COLUMN_NAMES.index("extra_fields")
_JSON_INDEXES = frozenset(COLUMN_NAMES.index(spec[0]) for spec in schema.JSON_OBJECTS)


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
    quarantined: list[QuarantinedRecord] = field(default_factory=list)
    records_in: int = 0
    filtered: int = 0
    member_uris: list[str] = field(default_factory=list)


class _BadFile(Exception):
    """The file as a whole cannot be read (quarantine it)."""


def _loads(data: bytes | str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        # orjson rejects integers beyond 64 bits, which JSON allows; the stdlib does not.
        try:
            return json.loads(data)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def _dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value).encode()


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 timestamp as a naive UTC datetime (times without an offset are UTC)."""
    if not isinstance(value, str):
        return None
    try:
        # CloudTrail's own form ends in Z: parsing without it needs no time-zone object.
        parsed = datetime.fromisoformat(value[:-1] if value[-1:] == "Z" else value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed
    return parsed.astimezone(UTC).replace(tzinfo=None)


def role_arn_of_session(arn: str) -> str | None:
    """``arn:aws:sts::A:assumed-role/R/S`` -> ``arn:aws:iam::A:role/R``.

    The role's path is not in a session ARN; the session issuer's ARN, when logged, has it.
    """
    m = _ASSUMED_ROLE.match(arn)
    return f"arn:{m['part']}:iam::{m['acct']}:role/{m['role']}" if m else None


def principal_arn(ui: dict[str, Any], issuer: dict[str, Any]) -> str | None:
    """The principal that holds the permissions an event exercised."""
    ui_type = ui.get("type")
    arn = ui.get("arn") if isinstance(ui.get("arn"), str) else None
    issuer_arn = issuer.get("arn") if isinstance(issuer.get("arn"), str) else None
    if ui_type == "AssumedRole":
        return issuer_arn or (role_arn_of_session(arn) if arn else None) or arn
    if ui_type == "FederatedUser":
        return issuer_arn or arn
    if ui_type == "AWSService":
        invoked = ui.get("invokedBy")
        return invoked if isinstance(invoked, str) else None
    if ui_type in ("SAMLUser", "WebIdentityUser"):
        idp = ui.get("identityProvider")
        return idp if isinstance(idp, str) else arn
    if ui_type in ("Root", "AWSAccount") and not arn:
        account = ui.get("accountId")
        return f"arn:aws:iam::{account}:root" if isinstance(account, str) and account else None
    return arn


def _obj(value: Any) -> dict[str, Any]:
    return value if type(value) is dict else _EMPTY


def flatten(event: dict[str, Any], source_uri: str) -> Row | str:
    """One event as a row in :data:`COLUMN_NAMES` order, or the reason it cannot be used.

    Values are taken as they are (the hot path does no per-field work); :func:`rows_to_table`
    types them per column and moves what does not fit into ``extra_fields``.
    """
    get = event.get
    event_id = get("eventID")
    if not event_id or type(event_id) is not str:
        return "missing eventID" if not event_id else f"eventID {event_id!r} is not a string"
    raw_time = get("eventTime")
    if raw_time is None:
        # Logstash exports move eventTime into @timestamp; that value stays in extra_fields.
        raw_time = get("@timestamp")
        if raw_time is None:
            return "missing eventTime"
    event_time = parse_time(raw_time)
    if event_time is None:
        return f"eventTime {str(raw_time)[:64]!r} is not a timestamp"

    extra_keys = event.keys() - _MODELLED
    extra = {k: event[k] for k in extra_keys} if extra_keys else None
    raw_ui = get("userIdentity")
    ui = _obj(raw_ui)
    ctx = _obj(ui.get("sessionContext"))
    issuer = _obj(ctx.get("sessionIssuer"))
    attrs = _obj(ctx.get("attributes"))
    raw_created = attrs.get("creationDate")
    created = parse_time(raw_created)
    if created is None and raw_created is not None:
        extra = extra or {}
        extra["userIdentity.sessionContext.attributes.creationDate"] = raw_created
    return (
        event_id,
        event_time,
        *map(get, _TOP_KEYS),
        *map(ui.get, _UI_KEYS),
        *map(issuer.get, _ISSUER_KEYS),
        attrs.get("mfaAuthenticated"),
        created,
        ctx.get("sourceIdentity"),
        _obj(ctx.get("webIdFederationData")).get("federatedProvider"),
        principal_arn(ui, issuer),
        None if raw_ui is None else _dumps(raw_ui),
        *[None if (v := get(k)) is None else _dumps(v) for k in _JSON_KEYS],
        extra,
        source_uri,
    )


def rows_to_table(rows: list[Row]) -> pa.Table:
    """Rows from :func:`flatten` as an Arrow table of the events schema.

    Arrow checks each column's types in C; only a column that fails is coerced in Python, value
    by value: numbers and booleans in text columns become their JSON text, ``"true"``/``"false"``
    become booleans, and anything else is moved to the row's ``extra_fields`` under its path.
    """
    if not rows:
        return EVENTS_SCHEMA.empty_table()
    columns = list(zip(*rows, strict=True))
    extras: list[dict[str, Any] | None] = list(columns[IDX_EXTRA])
    arrays: list[pa.Array | None] = []
    for index, (_, typ, _) in enumerate(COLUMNS):
        if index == IDX_EXTRA:
            arrays.append(None)
            continue
        try:
            if index in _JSON_INDEXES:
                # orjson's output is valid UTF-8: skip Arrow's per-value validation.
                arrays.append(pa.array(columns[index], type=pa.binary()).view(pa.string()))
            else:
                arrays.append(pa.array(columns[index], type=typ))
            continue
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass
        flags = _text_flags(columns[index]) if typ == pa.bool_() else None
        if flags is None:
            flags = pa.array(_coerce(columns[index], typ, _PATHS[index], extras), type=typ)
        arrays.append(flags)
    arrays[IDX_EXTRA] = pa.array([None if e is None else _dumps(e) for e in extras], pa.string())
    return pa.Table.from_arrays(arrays, schema=EVENTS_SCHEMA)


def _text_flags(values: tuple[Any, ...]) -> pa.Array | None:
    """``"true"``/``"false"`` text (how CloudTrail writes mfaAuthenticated and
    sessionCredentialFromConsole) as booleans, in C; None when any value is something else."""
    try:
        text = pc.utf8_lower(pa.array(values, type=pa.string()))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    known = pc.is_in(text, value_set=pa.array(["true", "false"]))
    if not pc.all(pc.or_kleene(known, pc.is_null(text))).as_py():
        return None
    result: pa.Array = pc.equal(text, "true")
    return result


def _coerce(
    values: tuple[Any, ...], typ: pa.DataType, path: str, extras: list[dict[str, Any] | None]
) -> list[Any]:
    out: list[Any] = []
    want_bool = pa.types.is_boolean(typ)
    for row, value in enumerate(values):
        if value is None:
            out.append(None)
        elif want_bool and type(value) is bool:
            out.append(value)
        elif want_bool and isinstance(value, str) and value.lower() in ("true", "false"):
            out.append(value.lower() == "true")
        elif not want_bool and isinstance(value, str | bytes):
            out.append(value)
        elif not want_bool and isinstance(value, bool | int | float):
            out.append(_dumps(value))
        else:
            extra = extras[row]
            if extra is None:
                extra = extras[row] = {}
            extra[path] = value
            out.append(None)
    return out


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


def decode_bytes(data: bytes, name: str, source_uri: str, keep: RowFilter | None = None) -> Decoded:
    """Decode one file's bytes; ``name`` is its path or key (for the grammar and messages)."""
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
        if type(record) is not dict:
            reason: str | Row = f"record is a {type(record).__name__}, not an object"
        elif "eventID" in record or _is_event_like(record):
            reason = flatten(record, source_uri)
        else:
            reason = "not a CloudTrail event (no eventName, eventSource, eventID or eventTime)"
        if type(reason) is str:
            out.quarantined.append(QuarantinedRecord(index, reason, _dumps(record).decode()))
        elif keep is None or keep(reason):  # type: ignore[arg-type]
            rows.append(reason)  # type: ignore[arg-type]
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
                decode_bytes(archive.read(m), m.filename, f"{source_uri}!{m.filename}", keep),
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
            merged.quarantined.extend(part.quarantined)
            merged.records_in += part.records_in
            merged.filtered += part.filtered
            merged.member_uris.append(f"{source_uri}!{member}")
    return merged
