"""What a set of identity policies decides for one request, by IAM's documented logic.

Pure Python: a :class:`PolicySet` is compiled once from (name, document) pairs and then answers
:meth:`PolicySet.evaluate` for many requests. Each statement applies *yes*, *no* or *unknown*
(the lake cannot tell every context key), and the statements combine as IAM combines them within
one account's identity policies
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):

1. a Deny that applies -> ``EXPLICIT_DENY`` (even when something else is unknown);
2. else a Deny that may apply -> ``UNKNOWN``;
3. else an Allow that applies -> ``ALLOWED``;
4. else an Allow that may apply -> ``UNKNOWN``;
5. else ``IMPLICIT_DENY``, with the Allow statements whose Action matched and why each missed.

The rules each element follows, with the page that says so:

- Action / NotAction: case-insensitive ``*`` / ``?`` match of ``service:action``
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html).
- Resource / NotResource: case-sensitive; ``*`` and ``?`` match within a colon-separated ARN
  segment, and a ``*`` that ends a segment may run past colons
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html).
  So ``arn:aws:s3:::b/*`` matches ``b/a/b/c`` (``/`` is an ordinary character) and a ``*`` in
  the middle of a segment stops at ``:``. A request whose event names no resource
  (``resource=None``) matches only a Resource list holding ``"*"``; anything else is unknown.
- Policy variables (``${aws:username}``, defaults ``${aws:username, 'guest'}``, the escapes
  ``${*}`` ``${?}`` ``${$}``) in Resource and in String and ARN condition values ("You can't use
  a policy variable with other operators, such as Numeric, Date, Boolean, Binary, IP Address, or
  Null": #policy-vars-conditionelement on the variables page below), only
  under ``"Version": "2012-10-17"`` (older or missing versions read them literally:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html).
  A variable whose key has no value in the request is "effectively null: there is no equal or
  like value" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
  #policy-vars-no-value): that pattern matches nothing, so a positive operator is false on it and
  a negated one true. A multivalued key cannot be a variable (same page; and
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html)
  and counts as having no value. A default (#policy-vars-default-values) stands in for a key
  without value; a key the lake cannot tell leaves the variable unknown, default or not.
- Conditions: AND across operators and keys, OR across a key's policy values; with a negated
  operator (``StringNotEquals`` ...) the values combine as "matches none of them"
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html).
  A key absent from the request makes a condition false, a negated one true, an ``...IfExists``
  one true; ``Null`` tests presence
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html).
  ``ForAllValues:`` is true on an absent key, ``ForAnyValue:`` false (single-vs-multi page).
  A request value that does not parse for the operator (a number, a date, an IP, a bool, an
  ARN) never matches, under a negated operator too.
- Dates are W3C ISO 8601 or epoch seconds (#Conditions_Date); ``BinaryEquals`` compares the
  bytes of base-64 text on both sides (the lake holds the request's binary value base-64
  encoded); ``Bool`` reads ``true`` / ``false`` in any case.
- Condition operator names are matched case-insensitively, like key names (the docs are silent;
  rejecting ``stringEquals`` would refuse policies IAM may well accept).
- A key with several values in the request under an operator without a set prefix is not
  defined by the docs ("multivalued context keys require a condition set operator"): it is
  reported as unknown rather than guessed.

Context key names are case-insensitive
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html):
a :class:`Context` is always asked with the lower-cased name.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from functools import lru_cache
from typing import Any, Protocol, TypeVar

from trailwise.pipeline.errors import PolicyError

Values = tuple[str, ...]
"""A context key's values in the request."""

_T = TypeVar("_T")
Tri = bool | None
"""Three-valued truth: True, False, or None for unknown."""

VERSION_WITH_VARIABLES = "2012-10-17"
VERSIONS = frozenset({"2012-10-17", "2008-10-17"})
STATEMENT_ELEMENTS = frozenset(
    {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
)
NO_RESOURCE = "resource (the event names none)"

# A wildcard token in a parsed pattern; every other token is literal text.
_STAR = "\x00*"
_QMARK = "\x00?"
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
# ``key`` or ``key, 'default'`` (a quote inside the default is doubled).
_VARIABLE_BODY = re.compile(r"^\s*([^,'\s]+)\s*(?:,\s*'((?:[^']|'')*)'\s*)?$")
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_YEAR_MONTH = re.compile(r"^\d{4}(?:-\d{2})?$")
_EPOCH = re.compile(r"^[+-]?\d+(?:\.\d+)?$")


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


class Outcome(str, Enum):
    """What the policy set decides."""

    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicit_deny"
    IMPLICIT_DENY = "implicit_deny"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Decision:
    """The decision for one request and the statements behind it.

    Attributes:
        outcome: What the policies decide.
        statements: ALLOWED: the Allow statements that allow it; EXPLICIT_DENY: the Deny
            statements that refuse it.
        unknown: UNKNOWN: what could not be judged, sorted.
        misses: IMPLICIT_DENY: the Allow statements whose Action matched, each with why it did
            not apply.
    """

    outcome: Outcome
    statements: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    misses: tuple[str, ...] = ()


# --- patterns --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Variable:
    key: str  # as written, for messages
    lowered: str
    default: str | None


_Token = str | _Variable


def _tokens(text: str, *, variables: bool, wildcards: bool) -> tuple[_Token, ...]:
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


def _variables_of(tokens: Iterable[_Token]) -> list[_Variable]:
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
def _glob(tokens: tuple[str, ...], kind: str) -> re.Pattern[str]:
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
class _Pattern:
    """One Resource / ARN / StringLike pattern, compiled when it has no variables."""

    text: str
    tokens: tuple[_Token, ...]
    kind: str
    compiled: re.Pattern[str] | None
    prefix: str  # the literal text before the first wildcard or variable: a cheap first test

    @classmethod
    def of(cls, text: str, kind: str, *, variables: bool) -> _Pattern:
        tokens = _tokens(text, variables=variables, wildcards=True)
        plain = not _variables_of(tokens)
        compiled = _glob(tuple(str(t) for t in tokens), kind) if plain else None
        prefix = ""
        for token in tokens:
            if not isinstance(token, str) or token in {_STAR, _QMARK}:
                break
            prefix += token
        return cls(text, tokens, kind, compiled, prefix)

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
        return _glob(resolved, self.kind).fullmatch(value) is not None


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


def _not(value: Tri) -> Tri:
    return None if value is None else not value


# --- condition operators ---------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _number(text: str) -> float | None:
    if not _NUMBER.match(text.strip()):
        return None
    number = float(text)
    return number if math.isfinite(number) else None


@lru_cache(maxsize=65536)
def _date(text: str) -> float | None:
    """Epoch seconds of a W3C ISO 8601 date / time (UTC when no zone) or of epoch seconds.

    The W3C profile's reduced forms ``YYYY`` and ``YYYY-MM`` mean the start of that year or
    month; any other run of digits is epoch seconds.
    """
    text = text.strip()
    if _YEAR_MONTH.match(text):
        text = f"{text}-01-01" if len(text) == 4 else f"{text}-01"
    elif _EPOCH.match(text):
        return float(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=65536)
def _ip(text: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _network(text: str) -> IpNetwork | None:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def _binary(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def _arn(text: str) -> str | None:
    return text if text.count(":") >= 5 else None


def _bool(text: str) -> str | None:
    lowered = text.strip().lower()
    return lowered if lowered in {"true", "false"} else None


# Numeric* and Date* operators by the name after the family: (request value, policy value).
_ORDERED: dict[str, Callable[[float, float], bool]] = {
    "Equals": lambda a, b: a == b,
    "NotEquals": lambda a, b: a == b,  # negated afterwards
    "LessThan": lambda a, b: a < b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanEquals": lambda a, b: a >= b,
}
_STRING_OPERATORS = {
    "StringEquals": ("equals", False),
    "StringNotEquals": ("equals", True),
    "StringEqualsIgnoreCase": ("ignorecase", False),
    "StringNotEqualsIgnoreCase": ("ignorecase", True),
    "StringLike": ("like", False),
    "StringNotLike": ("like", True),
}
_ARN_OPERATORS = {
    "ArnEquals": False,
    "ArnLike": False,
    "ArnNotEquals": True,
    "ArnNotLike": True,
}
BASE_OPERATORS = frozenset(
    [*_STRING_OPERATORS, *_ARN_OPERATORS, "Bool", "BinaryEquals", "IpAddress", "NotIpAddress"]
    + [f"Numeric{name}" for name in _ORDERED]
    + [f"Date{name}" for name in _ORDERED]
    + ["Null"]
)
_BY_LOWER = {name.lower(): name for name in BASE_OPERATORS}
_SET_PREFIXES = {"forallvalues": "ForAllValues", "foranyvalue": "ForAnyValue"}


def _string_matcher(
    mode: str, values: Sequence[str], *, variables: bool
) -> Callable[[str, Context, list[str]], Tri]:
    """Does a request value match one of the policy values (positive sense)?"""
    if mode == "like":
        patterns = [_Pattern.of(v, "string", variables=variables) for v in values]

        def like(value: str, context: Context, reasons: list[str]) -> Tri:
            return _any(patterns, lambda p, r: p.matches(value, context, r), reasons)

        return like
    fold = mode == "ignorecase"
    literal: set[str] = set()
    templates: list[tuple[_Token, ...]] = []
    for text in values:
        tokens = _tokens(text, variables=variables, wildcards=False)
        if _variables_of(tokens):
            templates.append(tokens)
        else:
            joined = "".join(str(t) for t in tokens)
            literal.add(joined.lower() if fold else joined)

    def equals(value: str, context: Context, reasons: list[str]) -> Tri:
        wanted = value.lower() if fold else value
        if wanted in literal:
            return True

        def check(tokens: tuple[_Token, ...], local: list[str]) -> Tri:
            try:
                resolved = "".join(_resolve(tokens, context))
            except _NoValue:
                return False
            except _Unknown as unknown:
                local.append(unknown.reason)
                return None
            return (resolved.lower() if fold else resolved) == wanted

        return _any(templates, check, reasons)

    return equals


def _arn_matcher(
    values: Sequence[str], *, variables: bool
) -> Callable[[str, Context, list[str]], Tri]:
    patterns = [_Pattern.of(v, "arn", variables=variables) for v in values]

    def arn(value: str, context: Context, reasons: list[str]) -> Tri:
        if value.count(":") < 5:
            return False  # not an ARN: never matches
        return _any(patterns, lambda p, r: p.matches(value, context, r), reasons)

    return arn


def _parsed_matcher(
    parse: Callable[[str], Any],
    policy: Sequence[Any],
    compare: Callable[[Any, Any], bool],
) -> Callable[[str, Context, list[str]], Tri]:
    def match(value: str, context: Context, reasons: list[str]) -> Tri:
        parsed = parse(value)
        return any(p is not None and compare(parsed, p) for p in policy)

    return match


def _bool_matcher(values: Sequence[str]) -> Callable[[str, Context, list[str]], Tri]:
    wanted = {b for b in (_bool(v) for v in values) if b is not None}

    def match(value: str, context: Context, reasons: list[str]) -> Tri:
        return _bool(value) in wanted

    return match


@dataclass(frozen=True)
class _Condition:
    """One (operator, key) pair of a Condition block."""

    operator: str  # as written
    key: str  # as written
    lowered: str
    set_prefix: str | None
    if_exists: bool
    negated: bool
    null: tuple[bool, ...] | None  # Null: the policy's true / false values
    match: Callable[[str, Context, list[str]], Tri]
    parse: Callable[[str], object]  # a request value for this operator, None if it does not parse

    @property
    def label(self) -> str:
        return f"condition {self.operator} {self.key}"

    def evaluate(self, context: Context, reasons: list[str]) -> Tri:
        values = context.get(self.lowered)
        if values is None:
            reasons.append(f"condition key {self.key}")
            return None
        if self.null is not None:
            absent = not values
            return any(wanted == absent for wanted in self.null)
        if not values:
            if self.if_exists:
                return True
            if self.set_prefix == "ForAllValues":
                return True
            if self.set_prefix == "ForAnyValue":
                return False
            return self.negated
        if self.set_prefix is None and len(values) > 1:
            reasons.append(f"condition key {self.key} (several values, no set operator)")
            return None

        def one(value: str, local: list[str]) -> Tri:
            if self.parse(value) is None:
                return False
            matched = self.match(value, context, local)
            return _not(matched) if self.negated else matched

        if len(values) == 1:
            return one(values[0], reasons)
        if self.set_prefix == "ForAllValues":
            # all(x) == not any(not x), keeping the three-valued reasons
            return _not(_any(values, lambda v, r: _not(one(v, r)), reasons))
        return _any(values, one, reasons)


def _compile_condition(
    operator: str, key: str, raw: list[str], *, variables: bool, where: str
) -> _Condition:
    set_prefix: str | None = None
    name = operator
    if ":" in operator:
        prefix, name = operator.split(":", 1)
        set_prefix = _SET_PREFIXES.get(prefix.lower())
        if set_prefix is None:
            raise PolicyError(
                f"{where}: unknown condition set operator {prefix!r} in {operator!r}",
                hint="use ForAllValues: or ForAnyValue:",
            )
    if_exists = name.lower().endswith("ifexists")
    base = _BY_LOWER.get(name[: -len("IfExists")].lower() if if_exists else name.lower())
    if base is None:
        raise PolicyError(
            f"{where}: unknown condition operator {operator!r}",
            hint="see https://docs.aws.amazon.com/IAM/latest/UserGuide/"
            "reference_policies_elements_condition_operators.html",
        )
    if base == "Null" and if_exists:
        raise PolicyError(
            f"{where}: {operator!r}: IfExists cannot be added to Null",
            hint="Null itself tests whether the key exists",
        )

    parse: Callable[[str], object] = str
    negated = False
    null: tuple[bool, ...] | None = None
    match: Callable[[str, Context, list[str]], Tri]
    if base in _STRING_OPERATORS:
        mode, negated = _STRING_OPERATORS[base]
        match = _string_matcher(mode, raw, variables=variables)
    elif base in _ARN_OPERATORS:
        negated = _ARN_OPERATORS[base]
        match = _arn_matcher(raw, variables=variables)
        parse = _arn
    elif base == "Bool":
        # Bool takes no policy variables (policy-vars-conditionelement on the variables page).
        match = _bool_matcher(raw)
        parse = _bool
    elif base == "BinaryEquals":
        policy_bytes = [_binary(v) for v in raw]
        match = _parsed_matcher(_binary, policy_bytes, lambda a, b: a == b)
        parse = _binary
    elif base in {"IpAddress", "NotIpAddress"}:
        negated = base == "NotIpAddress"
        networks = [_network(v) for v in raw]
        match = _parsed_matcher(_ip, networks, lambda a, n: a.version == n.version and a in n)
        parse = _ip
    elif base == "Null":
        null = tuple(b == "true" for b in (_bool(v) for v in raw) if b is not None)
        match = _parsed_matcher(str, [], lambda a, b: False)  # Null never compares values
    else:
        numeric = base.startswith("Numeric")
        comparison = base.removeprefix("Numeric" if numeric else "Date")
        ordered = _number if numeric else _date
        negated = comparison == "NotEquals"
        match = _parsed_matcher(ordered, [ordered(v) for v in raw], _ORDERED[comparison])
        parse = ordered
    return _Condition(
        operator=operator,
        key=key,
        lowered=key.lower(),
        set_prefix=set_prefix,
        if_exists=if_exists,
        negated=negated,
        null=null,
        match=match,
        parse=parse,
    )


# --- statements ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Statement:
    label: str
    allow: bool
    actions: re.Pattern[str]  # every Action (or NotAction) pattern in one alternation
    not_action: bool
    resources: tuple[_Pattern, ...]
    not_resource: bool
    any_resource: bool  # the Resource list holds "*"
    conditions: tuple[_Condition, ...]

    def matches_action(self, action: str) -> bool:
        return (self.actions.fullmatch(action) is not None) != self.not_action

    def resource(self, resource: str | None, context: Context, reasons: list[str]) -> Tri:
        if self.any_resource:
            return not self.not_resource  # "*" covers every resource, named or not
        if resource is None:
            reasons.append(NO_RESOURCE)
            return None
        hit: Tri = False
        local: list[str] = []
        for pattern in self.resources:
            matched = pattern.matches(resource, context, local)
            if matched:
                hit = True
                break
            if matched is None:
                hit = None
        if hit is None:
            reasons.extend(local)
        return _not(hit) if self.not_resource else hit

    def applies(
        self, resource: str | None, context: Context, *, every_miss: bool = False
    ) -> tuple[Tri, list[str], list[str]]:
        """(applies?, unknown reasons when unknown, why not when it does not) for a matched
        action. The first element that fails decides; ``every_miss`` checks them all so the
        misses name everything that failed (only an implicit deny reports them)."""
        unknown: list[str] = []
        misses: list[str] = []
        local: list[str] = []
        where = self.resource(resource, context, local)
        if where is False:
            word = "in NotResource" if self.not_resource else "not in Resource"
            named = NO_RESOURCE if resource is None else f"resource {resource}"
            misses.append(f"{named} {word}")
            if not every_miss:
                return False, [], misses
        elif where is None:
            unknown.extend(local)
        for condition in self.conditions:
            local = []
            result = condition.evaluate(context, local)
            if result is False:
                misses.append(condition.label)
                if not every_miss:
                    return False, [], misses
            elif result is None:
                unknown.extend(local)
        if misses:
            return False, [], misses
        if unknown:
            return None, unknown, []
        return True, [], []


def _strings(value: Any, element: str, where: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise PolicyError(
        f"{where}: {element} must be a string or a non-empty list of strings, not {value!r}",
        hint="IAM rejects the document",
    )


def _condition_values(value: Any, where: str) -> list[str]:
    """Condition values: a string, number or boolean, or a list of them (the policy grammar:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html)."""
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, str):
            out.append(item)
        elif isinstance(item, int | float):
            out.append(str(item))
        else:
            raise PolicyError(
                f"{where}: a condition value must be a string, number or boolean, not {item!r}",
                hint="IAM rejects the document",
            )
    return out


def _action_pattern(text: str, where: str) -> re.Pattern[str]:
    if text != "*" and (":" not in text or text.startswith(":") or text.endswith(":")):
        raise PolicyError(
            f"{where}: action {text!r} is not 'service:action'",
            hint='write it as "s3:GetObject" (wildcards allowed) or "*"',
        )
    return _glob(tuple(str(t) for t in _tokens(text, variables=False, wildcards=True)), "action")


def _compile_statement(
    name: str, index: int, raw: Any, *, variables: bool, sids: set[str]
) -> _Statement:
    where = f"policy {name!r} statement {index}"
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{where}: a statement must be an object, not {raw!r}")
    sid = raw.get("Sid")
    if sid is not None:
        if not isinstance(sid, str):
            raise PolicyError(f"{where}: Sid must be a string, not {sid!r}")
        if sid in sids:
            raise PolicyError(
                f"{where}: Sid {sid!r} appears twice", hint="Sids are unique within a policy"
            )
        sids.add(sid)
        where = f"policy {name!r} statement {index} ({sid})"
    label = f"{name}:{sid}" if sid else f"{name}:statement {index}"
    if "Principal" in raw or "NotPrincipal" in raw:
        raise PolicyError(
            f"{where}: has a Principal or NotPrincipal, which only resource and trust policies "
            "take; this is not an identity policy",
            hint="pass identity policies only",
        )
    unknown = sorted(set(raw) - STATEMENT_ELEMENTS)
    if unknown:
        raise PolicyError(f"{where}: unknown element(s) {', '.join(unknown)}")
    effect = raw.get("Effect")
    if effect not in {"Allow", "Deny"}:
        raise PolicyError(f"{where}: Effect must be 'Allow' or 'Deny', not {effect!r}")
    if ("Action" in raw) == ("NotAction" in raw):
        raise PolicyError(f"{where}: needs exactly one of Action and NotAction")
    if ("Resource" in raw) == ("NotResource" in raw):
        raise PolicyError(
            f"{where}: needs exactly one of Resource and NotResource",
            hint='identity policies name the resource; use "*" for all',
        )
    action_element = "Action" if "Action" in raw else "NotAction"
    patterns = [
        _action_pattern(a, where) for a in _strings(raw[action_element], action_element, where)
    ]
    actions = re.compile("|".join(f"(?:{p.pattern})" for p in patterns), re.IGNORECASE | re.DOTALL)
    resource_element = "Resource" if "Resource" in raw else "NotResource"
    resource_texts = _strings(raw[resource_element], resource_element, where)
    for text in resource_texts:
        if text != "*" and not text.startswith("arn:") and not text.startswith("${"):
            raise PolicyError(
                f'{where}: {resource_element} {text!r} is neither an ARN nor "*"',
                hint="IAM rejects the document",
            )
    resources = tuple(_Pattern.of(t, "resource", variables=variables) for t in resource_texts)
    conditions: list[_Condition] = []
    block = raw.get("Condition", {})
    if not isinstance(block, Mapping):
        raise PolicyError(f"{where}: Condition must be an object, not {block!r}")
    for operator, keys in block.items():
        if not isinstance(keys, Mapping) or not keys:
            raise PolicyError(
                f"{where}: condition {operator!r} must map keys to values, not {keys!r}"
            )
        for key, value in keys.items():
            conditions.append(
                _compile_condition(
                    str(operator),
                    str(key),
                    _condition_values(value, where),
                    variables=variables,
                    where=where,
                )
            )
    return _Statement(
        label=label,
        allow=effect == "Allow",
        actions=actions,
        not_action=action_element == "NotAction",
        resources=resources,
        not_resource=resource_element == "NotResource",
        any_resource="*" in resource_texts,
        conditions=tuple(conditions),
    )


def _keys_of(statement: Mapping[str, Any], *, variables: bool) -> set[str]:
    keys: set[str] = set()
    texts: list[str] = []
    for operator, pairs in statement.get("Condition", {}).items():
        for key, value in pairs.items():
            keys.add(str(key).lower())
            base = str(operator).split(":")[-1].lower()
            if base.startswith(("string", "arn")):
                texts.extend(_condition_values(value, ""))
    for element in ("Resource", "NotResource"):
        if element in statement:
            texts.extend(_strings(statement[element], element, ""))
    if variables:
        for text in texts:
            tokens = _tokens(text, variables=True, wildcards=True)
            keys.update(v.lowered for v in _variables_of(tokens))
    return keys


@dataclass(frozen=True)
class PolicySet:
    """Identity policies compiled for evaluation.

    Example::

        policies = PolicySet.compile([("app", {"Version": "2012-10-17", "Statement": [...]})])
        decision = policies.evaluate("s3:GetObject", "arn:aws:s3:::b/k", RequestContext({}))
    """

    statements: tuple[_Statement, ...]
    keys: frozenset[str]

    @classmethod
    def compile(cls, documents: Sequence[tuple[str, Mapping[str, Any]]]) -> PolicySet:
        """Compile (name, policy document) pairs.

        Args:
            documents: Each policy's name (used in statement labels) and its document.

        Returns:
            The compiled set.

        Raises:
            PolicyError: naming the policy and statement, for anything IAM would reject: a bad
                Effect, both or neither of Action / NotAction or Resource / NotResource, an
                unknown condition operator, a Principal / NotPrincipal (a resource or trust
                policy), values of the wrong type.
        """
        statements: list[_Statement] = []
        keys: set[str] = set()
        for name, document in documents:
            if not isinstance(document, Mapping):
                raise PolicyError(f"policy {name!r}: a policy document must be a JSON object")
            version = document.get("Version", "2008-10-17")
            if version not in VERSIONS:
                raise PolicyError(
                    f"policy {name!r}: unknown Version {version!r}",
                    hint='use "2012-10-17"',
                )
            variables = version == VERSION_WITH_VARIABLES
            body = document.get("Statement")
            raw_statements = [body] if isinstance(body, Mapping) else body
            if not isinstance(raw_statements, list) or not raw_statements:
                raise PolicyError(f"policy {name!r}: Statement must be a statement or a list")
            sids: set[str] = set()
            for index, raw in enumerate(raw_statements, start=1):
                statement = _compile_statement(name, index, raw, variables=variables, sids=sids)
                statements.append(statement)
                keys |= _keys_of(raw, variables=variables)
        return cls(tuple(statements), frozenset(keys))

    def condition_keys(self) -> frozenset[str]:
        """Every context key the conditions and policy variables reference, lower-cased."""
        return self.keys

    def evaluate(self, action: str, resource: str | None, context: Context) -> Decision:
        """What the policies decide for one request.

        Args:
            action: ``service:Action`` as IAM names it.
            resource: The resource ARN, ``"*"`` for actions without resource-level
                permissions, or None when the event names no resource.
            context: The request's context keys.

        Returns:
            The decision, with the statements that made it or what could not be judged.
        """
        denies: list[str] = []
        deny_unknown: list[str] = []
        allows: list[str] = []
        allow_unknown: list[str] = []
        missed: list[_Statement] = []
        for statement in self.statements:
            if not statement.matches_action(action):
                continue
            applies, unknown, _ = statement.applies(resource, context)
            if statement.allow:
                if applies:
                    allows.append(statement.label)
                elif applies is None:
                    allow_unknown.extend(unknown)
                else:
                    missed.append(statement)
            elif applies:
                denies.append(statement.label)
            elif applies is None:
                deny_unknown.extend(unknown)
        if denies:
            return Decision(Outcome.EXPLICIT_DENY, statements=tuple(denies))
        if deny_unknown:
            return Decision(Outcome.UNKNOWN, unknown=tuple(sorted(set(deny_unknown))))
        if allows:
            return Decision(Outcome.ALLOWED, statements=tuple(allows))
        if allow_unknown:
            return Decision(Outcome.UNKNOWN, unknown=tuple(sorted(set(allow_unknown))))
        misses = (
            f"{s.label}: {'; '.join(s.applies(resource, context, every_miss=True)[2])}"
            for s in missed
        )
        return Decision(Outcome.IMPLICIT_DENY, misses=tuple(misses))
