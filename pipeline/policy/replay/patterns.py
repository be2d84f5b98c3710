"""Patterns and request contexts of the evaluator: wildcards, policy variables, ARNs.

The matching rules (and the AWS pages that state them) are listed in :mod:`.evaluate`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol, TypeVar

Values = tuple[str, ...]
"""A context key's values in the request."""

_T = TypeVar("_T")
Tri = bool | None
"""Three-valued truth: True, False, or None for unknown."""

NO_RESOURCE = "resource (the event names none)"


@dataclass(frozen=True)
class Unnamed:
    """A resource the call needs but the event does not name, known up to its id: each of
    ``prefixes`` is an ARN format of its type filled in up to its first unknown part
    (``arn:aws:ec2:eu-west-1:111122223333:instance/``, RunInstances' new instance), and the id
    is any non-empty text, or exactly ``length`` characters (a secret's random suffix).

    A pattern that matches any id after a prefix (``.../instance/*``) covers it; one that can
    match none (``.../volume/*``) does not; any other (``.../instance/i-0abc*``) may or may not.
    """

    type_name: str
    prefixes: tuple[str, ...]
    length: int | None = None
    unnamed: str = "the event names none"

    @property
    def label(self) -> str:
        return f"resource of type {self.type_name} ({self.unnamed})"

    @property
    def probes(self) -> tuple[str, str]:
        """Two ids no policy names literally (of two lengths, unless the length is fixed): a
        pattern matching both after a prefix has only wildcards there, so it matches every id."""
        if self.length is not None:
            return ("\x01" * self.length, "\x02" * self.length)
        return ("\x01", "\x02\x03")


# A wildcard token in a parsed pattern; every other token is literal text.
_STAR = "\x00*"
_QMARK = "\x00?"
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
# ``key`` or ``key, 'default'`` (a quote inside the default is doubled).
_VARIABLE_BODY = re.compile(r"^\s*([^,'\s]+)\s*(?:,\s*'((?:[^']|'')*)'\s*)?$")


class Context(Protocol):
    """The request context a policy set is evaluated against."""

    def get(self, key: str) -> Values | None:
        """The key's values: () when the request has no such key (known absent), None when the
        lake cannot tell (unknown)."""


@dataclass(frozen=True)
class RequestContext:
    """A :class:`Context` from a mapping.

    Attributes:
        values: Context key (any case) -> its values; ``()`` means the request has no such key.
            Keys not in the mapping are unknown.
    """

    values: Mapping[str, Values]
    _lowered: dict[str, Values] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_lowered", {k.lower(): tuple(v) for k, v in self.values.items()})

    def get(self, key: str) -> Values | None:
        """The key's values, looked up case-insensitively (condition key names are)."""
        found = self._lowered.get(key)
        return found if found is not None else self._lowered.get(key.lower())


# --- patterns --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Variable:
    key: str  # as written, for messages
    lowered: str
    default: str | None


_Token = str | _Variable


def parse_tokens(text: str, *, variables: bool, wildcards: bool) -> tuple[_Token, ...]:
    """Split a policy string into literal text, wildcard markers and variables."""
    pieces: list[_Token] = []

    def literal(chunk: str) -> None:
        if not wildcards:
            pieces.append(chunk)
            return
        for part in re.split(r"([*?])", chunk):
            if part == "*":
                pieces.append(_STAR)
            elif part == "?":
                pieces.append(_QMARK)
            elif part:
                pieces.append(part)

    if not variables:
        literal(text)
        return tuple(pieces)
    position = 0
    for found in _VARIABLE.finditer(text):
        literal(text[position : found.start()])
        position = found.end()
        body = found.group(1)
        if body in {"*", "?", "$"}:
            pieces.append(body)  # the escapes stand for the character itself, never a wildcard
            continue
        parsed = _VARIABLE_BODY.match(body)
        if parsed is None:
            literal(found.group(0))
            continue
        default = parsed.group(2)
        pieces.append(
            _Variable(
                key=parsed.group(1),
                lowered=parsed.group(1).lower(),
                default=None if default is None else default.replace("''", "'"),
            )
        )
    literal(text[position:])
    return tuple(pieces)


def variables_of(tokens: Iterable[_Token]) -> list[_Variable]:
    return [t for t in tokens if isinstance(t, _Variable)]


class _NoValue(Exception):
    """A variable has no value: the pattern matches nothing."""


class _Unknown(Exception):
    """A variable's key is unknown to the lake."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _resolve(tokens: tuple[_Token, ...], context: Context) -> tuple[str, ...]:
    """Replace every variable by its (single) value; raise _NoValue or _Unknown."""
    resolved: list[str] = []
    for token in tokens:
        if not isinstance(token, _Variable):
            resolved.append(token)
            continue
        values = context.get(token.lowered)
        if values is None:
            raise _Unknown(f"policy variable ${{{token.key}}}")
        if len(values) == 1:
            resolved.append(values[0])
        elif token.default is not None:
            resolved.append(token.default)
        else:
            raise _NoValue
    return tuple(resolved)


@lru_cache(maxsize=65536)
def glob_regex(tokens: tuple[str, ...], kind: str) -> re.Pattern[str]:
    """The regex for resolved tokens.

    ``kind`` is ``action`` (case-insensitive, ``*`` anything), ``string`` (``*`` anything),
    ``resource`` (``*`` stays inside an ARN segment unless it ends one) or ``arn`` (``*`` and
    ``?`` stay inside each of the first five components; the sixth, the resource, takes all).
    """
    parts: list[str] = []
    colons = 0
    for index, token in enumerate(tokens):
        if token == _STAR:
            if kind in {"action", "string"} or (kind == "arn" and colons >= 5):
                parts.append(".*")
            elif kind == "resource":
                following = tokens[index + 1] if index + 1 < len(tokens) else None
                ends_segment = following is None or following.startswith(":")
                parts.append(".*" if ends_segment else "[^:]*")
            else:
                parts.append("[^:]*")
        elif token == _QMARK:
            parts.append("[^:]" if kind == "arn" and colons < 5 else ".")
        else:
            colons += token.count(":")
            parts.append(re.escape(token))
    if kind == "arn" and colons < 5:
        return re.compile(r"(?!)")  # not six components: matches no ARN
    flags = re.IGNORECASE | re.DOTALL if kind == "action" else re.DOTALL
    return re.compile("".join(parts), flags)


@dataclass(frozen=True)
class Pattern:
    """One Resource / ARN / StringLike pattern, compiled when it has no variables."""

    text: str
    tokens: tuple[_Token, ...]
    kind: str
    compiled: re.Pattern[str] | None
    prefix: str  # the literal text before the first wildcard or variable: a cheap first test

    @classmethod
    def of(cls, text: str, kind: str, *, variables: bool) -> Pattern:
        tokens = parse_tokens(text, variables=variables, wildcards=True)
        plain = not variables_of(tokens)
        compiled = glob_regex(tuple(str(t) for t in tokens), kind) if plain else None
        prefix = ""
        for token in tokens:
            if not isinstance(token, str) or token in {_STAR, _QMARK}:
                break
            prefix += token
        return cls(text, tokens, kind, compiled, prefix)

    def covers(self, resource: Unnamed, context: Context, reasons: list[str]) -> Tri:
        """Whether the pattern matches every ARN ``resource`` can be (None: some, or unknown)."""
        results: list[Tri] = []
        for prefix in resource.prefixes:
            probes = [self.matches(prefix + probe, context, reasons) for probe in resource.probes]
            if None in probes:
                return None
            if all(probes):
                results.append(True)
                continue
            literal = self.prefix == self.text  # no wildcard and no variable
            if literal:
                rest = len(self.text) - len(prefix)
                fits = rest == resource.length if resource.length is not None else rest > 0
                may = self.text.startswith(prefix) and fits
            else:
                may = self.prefix.startswith(prefix) or prefix.startswith(self.prefix)
            results.append(None if may else False)
        if all(results):
            return True
        if not any(r is None for r in results):
            return False
        reasons.append(resource.label)
        return None

    def matches(self, value: str, context: Context, reasons: list[str]) -> Tri:
        if not value.startswith(self.prefix):
            return False
        if self.compiled is not None:
            return self.compiled.fullmatch(value) is not None
        try:
            resolved = _resolve(self.tokens, context)
        except _NoValue:
            return False
        except _Unknown as unknown:
            reasons.append(unknown.reason)
            return None
        return glob_regex(resolved, self.kind).fullmatch(value) is not None


# --- three-valued helpers --------------------------------------------------------------------


def _any(items: Iterable[_T], check: Callable[[_T, list[str]], Tri], reasons: list[str]) -> Tri:
    """OR: True if one is True, else None if one is unknown (its reasons kept), else False."""
    pending: list[str] = []
    unknown = False
    for item in items:
        local: list[str] = []
        value = check(item, local)
        if value is True:
            return True
        if value is None:
            unknown = True
            pending.extend(local)
    if unknown:
        reasons.extend(pending)
        return None
    return False


def tri_not(value: Tri) -> Tri:
    return None if value is None else not value
