"""The fast path for the common case: a CloudTrail delivery file whose every record fits.

A delivery file (``{"Records": [...]}``, as CloudTrail writes them to S3) is decoded by msgspec
straight into typed structs: no Python dict is built for an event, the free-form objects are
never parsed but kept as the verbatim JSON text they arrived as (``msgspec.Raw``), the structs
are turned into columns in C (``astuple`` and ``zip``), and each column goes to Arrow in one call
per batch of files. Only the userIdentity object is parsed a second time, for its flattened
fields.

Anything the typed form does not take as it is (another top-level shape, an envelope, a field
trailwise does not model, a number where text belongs, a missing ``eventID``, a time that does
not parse, a text flag that is not true/false, text that is not UTF-8) raises :class:`NotFast`,
and the caller decodes that file with the tolerant path instead, which quarantines, coerces and
keeps ``extra_fields`` exactly as it always has. So what lands is the same either way: the
columns equal, the JSON columns equal as parsed JSON (a test holds the two paths to that).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from itertools import chain
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.compute as pc
from msgspec.structs import astuple

from trailwise.pipeline.decode import schema
from trailwise.pipeline.decode.rows import parse_time, principal_of

# Top-level fields CloudTrail adds that have no column: extra_fields keeps them.
EXTRA_FIELDS = ("addendum", "callerNetworkContext", "insightDetails")
_TEXT = str | None
_FLAG = bool | str | None
_FLAGS = {"true": True, "false": False}
_NULL = b"null"


class NotFast(Exception):
    """The file is not one the fast path takes as it is: decode it the tolerant way."""


def _type_of(column_type: pa.DataType) -> Any:
    return _FLAG if column_type == pa.bool_() else _TEXT


def _nested(name: str, paths: dict[str, Any], *, forbid_unknown: bool = False) -> type:
    """A msgspec struct of optional fields for dotted ``paths`` (``a.b`` -> a nested struct);
    a field that is absent decodes as None."""
    fields: dict[str, Any] = {}
    children: dict[str, dict[str, Any]] = {}
    for path, typ in paths.items():
        head, _, rest = path.partition(".")
        if rest:
            children.setdefault(head, {})[rest] = typ
            fields.setdefault(head, None)  # keep the first-seen order
        else:
            fields[head] = typ
    for child, child_paths in children.items():
        fields[child] = _nested(f"{name}_{child}", child_paths)
    return msgspec.defstruct(
        name, [(f, typ, None) for f, typ in fields.items()], forbid_unknown_fields=forbid_unknown
    )


# Where each column is read: its path in the record ("userIdentity." ones inside userIdentity).
def _column_paths() -> dict[str, str]:
    paths = {spec[0]: spec[1] for spec in schema.IDENTITY + schema.TOP_LEVEL}
    paths |= {spec[0]: f"userIdentity.{spec[1]}" for spec in schema.USER_IDENTITY}
    paths |= {
        spec[0]: f"userIdentity.sessionContext.sessionIssuer.{spec[1]}"
        for spec in schema.SESSION_ISSUER
    }
    paths |= {
        spec[0]: f"userIdentity.sessionContext.{spec[1]}" for spec in schema.SESSION if spec[1]
    }
    paths |= {spec[0]: f"userIdentity.{spec[1]}" for spec in schema.DELEGATION}
    return paths


@dataclass(frozen=True)
class _Types:
    delivery: Any  # msgspec decoder of a whole file
    identity: Any  # msgspec decoder of one userIdentity object
    event_type: type
    identity_type: type
    paths: dict[str, str]  # column -> path
    types: dict[str, pa.DataType]  # column -> Arrow type


@cache
def _types() -> _Types:
    paths = _column_paths()
    types = {field.name: field.type for field in schema.EVENTS_SCHEMA}
    top = {path: _type_of(types[column]) for column, path in paths.items() if "." not in path}
    raw = {spec[1]: msgspec.Raw for spec in schema.JSON_OBJECTS}
    event = _nested(
        "Event", top | raw | dict.fromkeys(EXTRA_FIELDS, msgspec.Raw), forbid_unknown=True
    )
    delivery = _nested("Delivery", {"Records": list[event]}, forbid_unknown=True)  # type: ignore[valid-type]
    identity = _nested(
        "UserIdentity",
        {
            path.removeprefix("userIdentity."): _type_of(types[column])
            for column, path in paths.items()
            if path.startswith("userIdentity.")
        },
    )
    return _Types(
        msgspec.json.Decoder(delivery),
        msgspec.json.Decoder(identity),
        event,
        identity,
        paths,
        types,
    )


@cache
def _fields(struct_type: type) -> tuple[Any, ...]:
    """A struct's fields (msgspec evaluates the annotations on every call)."""
    return tuple(msgspec.structs.fields(struct_type))


def _columns(
    items: list[Any], struct_type: type, prefix: str, out: dict[str, tuple[Any, ...]]
) -> None:
    """Every field of a list of structs (None allowed) as columns, nested ones as dotted paths;
    a level that is absent from every item (most often) is filled without visiting them."""
    fields = _fields(struct_type)
    if items.count(None) == len(items):
        nothing = (None,) * len(items)
        columns: list[Any] = [nothing] * len(fields)
    else:
        empty = (None,) * len(fields)
        rows = [empty if item is None else astuple(item) for item in items]
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in fields]
    for info, column in zip(fields, columns, strict=True):
        path = prefix + info.name
        if isinstance(info.type, type) and issubclass(info.type, msgspec.Struct):
            _columns(list(column), info.type, path + ".", out)
        else:
            out[path] = column


_BOOLS = frozenset({bool, type(None)})


def _flags(values: tuple[Any, ...]) -> tuple[Any, ...] | list[bool | None]:
    """Booleans as they are; ``"true"``/``"false"`` text (how CloudTrail writes
    mfaAuthenticated) as booleans; any other text is :class:`NotFast`."""
    if set(map(type, values)) <= _BOOLS:
        return values
    out: list[bool | None] = []
    for value in values:
        if value is None or value is True or value is False:
            out.append(value)
        else:
            flag = _FLAGS.get(value.lower())
            if flag is None:
                raise NotFast(f"flag {value[:40]!r} is not true or false")
            out.append(flag)
    return out


def _times(values: tuple[Any, ...], *, required: bool) -> list[datetime | None]:
    """Each text as a naive UTC time, each distinct text parsed once (a file's events share
    their seconds and their sessions' creation dates)."""
    seen: dict[str, datetime | None] = {}
    out: list[datetime | None] = []
    for value in values:
        if value is None:
            if required:
                raise NotFast("an event without eventTime")
            out.append(None)
            continue
        parsed = seen.get(value, _UNPARSED)
        if parsed is _UNPARSED:
            parsed = seen[value] = parse_time(value)
        if parsed is None:
            raise NotFast("a time that does not parse")
        out.append(parsed)
    return out


_UNPARSED: Any = object()


_NULL_TEXT = pa.scalar(_NULL, pa.binary())
_NO_TEXT = pa.scalar(None, pa.binary())


def _json_array(values: Sequence[Any]) -> pa.Array:
    """Verbatim JSON texts (``msgspec.Raw``) as one Arrow string array, built from one joined
    buffer and the texts' lengths rather than one Python bytes object each; absent values and
    JSON null are no value; text that is not UTF-8 is :class:`NotFast`."""
    raws = [b"" if raw is None else raw for raw in values]
    lengths = pa.array(list(map(len, raws)), pa.int32())
    offsets = pa.concat_arrays([pa.array([0], pa.int32()), pc.cumulative_sum(lengths)])
    texts = pa.Array.from_buffers(
        pa.binary(), len(raws), [None, offsets.buffers()[1], pa.py_buffer(b"".join(raws))]
    )
    absent = pc.or_(pc.equal(lengths, 0), pc.equal(texts, _NULL_TEXT))
    try:
        return pc.if_else(absent, _NO_TEXT, texts).cast(pa.string())
    except pa.ArrowInvalid as exc:
        raise NotFast("JSON text that is not UTF-8") from exc


@dataclass
class Parsed:
    """One delivery file's columns, checked, before they go to Arrow."""

    source_uri: str
    rows: int
    columns: dict[str, list[Any] | tuple[Any, ...]]

    def keep_only(self, keep: Callable[[datetime, Any, Any], bool]) -> int:
        """Drop the events ``keep`` refuses (by time, receiving account, region); return how
        many were dropped."""
        kept = [
            i
            for i, fields in enumerate(
                zip(
                    self.columns["event_time"],
                    self.columns["recipient_account_id"],
                    self.columns["aws_region"],
                    strict=True,
                )
            )
            if keep(*fields)
        ]
        dropped = self.rows - len(kept)
        if dropped:
            self.columns = {
                name: [values[i] for i in kept] for name, values in self.columns.items()
            }
            self.rows = len(kept)
        return dropped


def parse_delivery(text: bytes, source_uri: str) -> Parsed:
    """A delivery file's events as checked columns, or :class:`NotFast`.

    Args:
        text: the file's JSON text (decompressed).
        source_uri: the file's URI, for the ``source_uri`` column.
    """
    t = _types()
    try:
        events = t.delivery.decode(text).Records
        identities = [
            None
            if e.userIdentity is None or bytes(e.userIdentity) == _NULL
            else t.identity.decode(e.userIdentity)
            for e in events
        ]
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise NotFast(str(exc)) from exc
    by_path: dict[str, tuple[Any, ...]] = {}
    _columns(events, t.event_type, "", by_path)
    _columns(identities, t.identity_type, "userIdentity.", by_path)
    ids = by_path["eventID"]
    if not all(ids):
        raise NotFast("an event without eventID")
    columns: dict[str, list[Any] | tuple[Any, ...]] = {}
    for column, path in t.paths.items():
        values = by_path[path]
        typ = t.types[column]
        if typ == pa.bool_():
            columns[column] = _flags(values)
        elif typ == schema.TS:
            columns[column] = _times(values, required=column == "event_time")
        else:
            columns[column] = values
    principals: dict[tuple[Any, ...], str | None] = {}
    columns["principal_arn"] = [
        principals[fields]
        if fields in principals
        else principals.setdefault(fields, principal_of(*fields))
        for fields in zip(
            columns["user_identity_type"],
            columns["user_identity_arn"],
            columns["session_issuer_arn"],
            columns["user_identity_invoked_by"],
            columns["user_identity_identity_provider"],
            columns["user_identity_account_id"],
            strict=True,
        )
    ]
    for column, field, _, _ in schema.JSON_OBJECTS:
        columns[column] = by_path[field]  # msgspec.Raw, to Arrow in one piece (_json_array)
    extras = [by_path[name] for name in EXTRA_FIELDS]
    columns["extra_fields"] = [
        None
        if all(raw is None for raw in present)
        else b"{"
        + b",".join(
            f'"{name}":'.encode() + bytes(raw)
            for name, raw in zip(EXTRA_FIELDS, present, strict=True)
            if raw is not None
        )
        + b"}"
        for present in zip(*extras, strict=True)
    ]
    return Parsed(source_uri, len(events), columns)


_RAW_COLUMNS = frozenset(spec[0] for spec in schema.JSON_OBJECTS)


def to_table(parsed: list[Parsed]) -> pa.Table:
    """Files' columns as one table of the events schema; :class:`NotFast` when one holds text
    Arrow cannot take (not UTF-8, lone surrogates)."""
    arrays = []
    for field in schema.EVENTS_SCHEMA:
        if field.name == "source_uri":
            values: Any = list(chain.from_iterable([p.source_uri] * p.rows for p in parsed))
        elif len(parsed) == 1:
            values = parsed[0].columns[field.name]
        else:
            values = list(chain.from_iterable(p.columns[field.name] for p in parsed))
        if values.count(None) == len(values):
            arrays.append(pa.nulls(len(values), field.type))
            continue
        if field.name in _RAW_COLUMNS:
            arrays.append(_json_array(values))
            continue
        try:
            if field.name == "extra_fields":
                arrays.append(pa.array(values, pa.binary()).cast(pa.string()))
            else:
                arrays.append(pa.array(values, field.type))
        except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError) as exc:
            raise NotFast(f"column {field.name}: {exc}") from exc
    return pa.Table.from_arrays(arrays, schema=schema.EVENTS_SCHEMA)
