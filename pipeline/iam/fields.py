"""Field readers for authorization-details elements: each checks one field's type.

A reader raises through the builder's ``fail`` so that every error names the source, the list,
the index and the field (``"RoleDetailList[3] has no Arn"``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import unquote

import orjson

from trailwise.pipeline.errors import SnapshotError


class Failing(Protocol):
    """What a reader needs from the builder (a protocol, so this module does not import it)."""

    def fail(self, message: str) -> SnapshotError: ...


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def text(b: Failing, label: str, item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    if value is None or value == "":
        raise b.fail(f"{label} has no {key}")
    if not isinstance(value, str):
        raise b.fail(f"{label}.{key} is a {type(value).__name__}, not a string")
    return value


def opt_text(b: Failing, label: str, item: Mapping[str, Any], key: str) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise b.fail(f"{label}.{key} is a {type(value).__name__}, not a string")
    return value


def account(b: Failing, label: str, arn: str) -> str:
    account = arn.split(":")[4]
    if not re.fullmatch(r"\d{12}", account):
        raise b.fail(f"{label}.Arn has no 12-digit account id: {arn}")
    return account


def arn(b: Failing, label: str, item: Mapping[str, Any]) -> str:
    if not isinstance(item, Mapping):
        raise b.fail(f"{label} is not an object")
    arn = text(b, label, item, "Arn")
    if not arn.startswith("arn:") or arn.count(":") < 5:
        raise b.fail(f"{label}.Arn is not an ARN: {arn!r}")
    return arn


def date(b: Failing, label: str, item: Mapping[str, Any], key: str) -> datetime | None:
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, datetime):
        return utc(value)
    if not isinstance(value, str):
        raise b.fail(f"{label}.{key} is a {type(value).__name__}, not a date")
    try:
        # The CLI writes 2025-03-14T09:31:00+00:00; some tools write a space for the 'T'.
        return utc(datetime.fromisoformat(value.strip()))
    except ValueError:
        raise b.fail(f"{label}.{key} is not a date: {value!r}") from None


def tags(b: Failing, label: str, item: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    tags = item.get("Tags") or []
    if not isinstance(tags, list):
        raise b.fail(f"{label}.Tags is not a list")
    out: list[tuple[str, str]] = []
    for i, tag in enumerate(tags):
        if not isinstance(tag, Mapping) or not isinstance(tag.get("Key"), str):
            raise b.fail(f"{label}.Tags[{i}] has no Key")
        out.append((tag["Key"], str(tag.get("Value") or "")))
    return tuple(out)


def document(b: Failing, label: str, value: Any) -> Mapping[str, Any]:
    """A policy document: a JSON object, or the API's URL-encoded JSON text."""
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith("{"):
            text = unquote(text)
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise b.fail(f"{label} is neither JSON nor URL-encoded JSON") from None
    if not isinstance(value, Mapping):
        raise b.fail(f"{label} is a {type(value).__name__}, not a policy document")
    if "Statement" not in value:
        raise b.fail(f"{label} has no Statement")
    return value
