"""The condition operators of the evaluator: String, Arn, Numeric, Date, Bool, Binary, IP and
Null, with ``IfExists`` and the ``ForAllValues:`` / ``ForAnyValue:`` set prefixes.

The rules (and the AWS pages that state them) are listed in :mod:`.evaluate`.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from trailwise.pipeline.errors import PolicyError
from trailwise.pipeline.policy.replay.patterns import (
    Context,
    Pattern,
    Tri,
    _any,
    _NoValue,
    _resolve,
    _Token,
    _Unknown,
    parse_tokens,
    tri_not,
    variables_of,
)

_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_YEAR_MONTH = re.compile(r"^\d{4}(?:-\d{2})?$")
_EPOCH = re.compile(r"^[+-]?\d+(?:\.\d+)?$")


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
        patterns = [Pattern.of(v, "string", variables=variables) for v in values]

        def like(value: str, context: Context, reasons: list[str]) -> Tri:
            return _any(patterns, lambda p, r: p.matches(value, context, r), reasons)

        return like
    fold = mode == "ignorecase"
    literal: set[str] = set()
    templates: list[tuple[_Token, ...]] = []
    for text in values:
        tokens = parse_tokens(text, variables=variables, wildcards=False)
        if variables_of(tokens):
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
    patterns = [Pattern.of(v, "arn", variables=variables) for v in values]

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
class Condition:
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
            return tri_not(matched) if self.negated else matched

        if len(values) == 1:
            return one(values[0], reasons)
        if self.set_prefix == "ForAllValues":
            # all(x) == not any(not x), keeping the three-valued reasons
            return tri_not(_any(values, lambda v, r: tri_not(one(v, r)), reasons))
        return _any(values, one, reasons)


def compile_condition(
    operator: str, key: str, raw: list[str], *, variables: bool, where: str
) -> Condition:
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
    return Condition(
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
