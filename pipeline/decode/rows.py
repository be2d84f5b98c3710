"""One CloudTrail event as a row of the events table, without losing or inventing anything.

:func:`flatten` takes values as they are (the hot path does no per-field work) and derives
``principal_arn``; :func:`rows_to_table` types them per column and moves what does not fit into
``extra_fields``.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from trailwise.pipeline.decode import schema
from trailwise.pipeline.decode.schema import COLUMN_NAMES, COLUMNS, EVENTS_SCHEMA

Row = tuple[Any, ...]

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
    *(f"userIdentity.{spec[1]}" for spec in schema.DELEGATION),
)
_EMPTY: dict[str, Any] = {}
_ASSUMED_ROLE = re.compile(
    r"^arn:(?P<part>[\w-]+):sts::(?P<acct>\d{12}):assumed-role/(?P<role>[^/]+)/"
)

IDX_EVENT_TIME = COLUMN_NAMES.index("event_time")
IDX_ACCOUNT = COLUMN_NAMES.index("recipient_account_id")
IDX_REGION = COLUMN_NAMES.index("aws_region")
IDX_EXTRA = COLUMN_NAMES.index("extra_fields")
_JSON_INDEXES = frozenset(COLUMN_NAMES.index(spec[0]) for spec in schema.JSON_OBJECTS)


def dumps(value: Any) -> bytes:
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
    return principal_of(
        ui.get("type"),
        _str(ui.get("arn")),
        _str(issuer.get("arn")),
        _str(ui.get("invokedBy")),
        _str(ui.get("identityProvider")),
        _str(ui.get("accountId")),
    )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def principal_of(
    ui_type: Any,
    arn: str | None,
    issuer_arn: str | None,
    invoked_by: str | None,
    identity_provider: str | None,
    account: str | None,
) -> str | None:
    """:func:`principal_arn` from the identity's fields (text fields not text are None)."""
    if ui_type == "AssumedRole":
        return issuer_arn or (role_arn_of_session(arn) if arn else None) or arn
    if ui_type == "FederatedUser":
        return issuer_arn or arn
    if ui_type == "AWSService":
        return invoked_by
    if ui_type in ("SAMLUser", "WebIdentityUser"):
        return identity_provider if identity_provider is not None else arn
    if ui_type in ("Root", "AWSAccount") and not arn:
        if account == schema.ANONYMOUS_ACCOUNT:
            return schema.ANONYMOUS
        return f"arn:aws:iam::{account}:root" if account else None
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
    # In the record's order: a set's order changes with each process's string hashing, and the
    # same record must land as the same text whichever process (or Spark task) decoded it.
    extra = {k: v for k, v in event.items() if k in extra_keys} if extra_keys else None
    raw_ui = get("userIdentity")
    ui = _obj(raw_ui)
    ctx = _obj(ui.get("sessionContext"))
    issuer = _obj(ctx.get("sessionIssuer"))
    attrs = _obj(ctx.get("attributes"))
    on_behalf = _obj(ui.get("onBehalfOf"))
    in_scope = _obj(ui.get("inScopeOf"))
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
        None if raw_ui is None else dumps(raw_ui),
        *[None if (v := get(k)) is None else dumps(v) for k in _JSON_KEYS],
        extra,
        source_uri,
        on_behalf.get("userId"),
        on_behalf.get("identityStoreArn"),
        in_scope.get("sourceArn"),
        in_scope.get("sourceAccount"),
        in_scope.get("issuerType"),
        in_scope.get("credentialsIssuedTo"),
        _obj(ui.get("invokedByDelegate")).get("accountId"),
        ctx.get("assumedRoot"),
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
        except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError):
            pass
        flags = _text_flags(columns[index]) if typ == pa.bool_() else None
        if flags is None:
            flags = pa.array(_coerce(columns[index], typ, _PATHS[index], extras), type=typ)
        arrays.append(flags)
    arrays[IDX_EXTRA] = pa.array([None if e is None else dumps(e) for e in extras], pa.string())
    return pa.Table.from_arrays(arrays, schema=EVENTS_SCHEMA)


def _text_flags(values: tuple[Any, ...]) -> pa.Array | None:
    """``"true"``/``"false"`` text (how CloudTrail writes mfaAuthenticated and
    sessionCredentialFromConsole) as booleans, in C; None when any value is something else."""
    try:
        text = pc.utf8_lower(pa.array(values, type=pa.string()))
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError):
        return None
    known = pc.is_in(text, value_set=pa.array(["true", "false"]))
    if not pc.all(pc.or_kleene(known, pc.is_null(text))).as_py():
        return None
    result: pa.Array = pc.equal(text, "true")
    return result


def _utf8(value: str | bytes) -> bool:
    """Whether Arrow can store the text (a JSON escape can make a lone surrogate, which no
    UTF-8 holds: such a value goes to extra_fields, where its JSON keeps the escape)."""
    if isinstance(value, bytes) or value.isascii():
        return True
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


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
        elif not want_bool and isinstance(value, bytes | str) and _utf8(value):
            out.append(value)
        elif not want_bool and isinstance(value, bool | int | float):
            out.append(dumps(value))
        else:
            extra = extras[row]
            if extra is None:
                extra = extras[row] = {}
            extra[path] = value
            out.append(None)
    return out
