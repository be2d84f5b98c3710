"""What a set of identity policies decides for one request, by IAM's documented logic.

Pure Python: a :class:`PolicySet` is compiled once from (name, document) pairs and then answers
:meth:`PolicySet.evaluate` for many requests. Each statement applies *yes*, *no* or *unknown*
(the lake cannot tell every context key), and the statements combine as IAM combines them within
one account's identity policies
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):

1. a Deny that applies -> ``EXPLICIT_DENY`` (even when something else is unknown);
2. else, when some Allow applies or may apply, a Deny that may apply -> ``UNKNOWN`` (without
   any Allow the request is refused whatever the Denies do: step 5);
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

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from trailwise.pipeline.errors import PolicyError
from trailwise.pipeline.policy.replay.operators import BASE_OPERATORS, Condition, compile_condition
from trailwise.pipeline.policy.replay.patterns import (
    NO_RESOURCE,
    Context,
    Pattern,
    RequestContext,
    Tri,
    Unnamed,
    Values,
    glob_regex,
    parse_tokens,
    tri_not,
    variables_of,
)

__all__ = [
    "BASE_OPERATORS",
    "Context",
    "Decision",
    "Outcome",
    "PolicySet",
    "RequestContext",
    "Unnamed",
    "Values",
]

VERSION_WITH_VARIABLES = "2012-10-17"
VERSIONS = frozenset({"2012-10-17", "2008-10-17"})
STATEMENT_ELEMENTS = frozenset(
    {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
)


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


# --- statements ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Statement:
    label: str
    allow: bool
    actions: re.Pattern[str]  # every Action (or NotAction) pattern in one alternation
    not_action: bool
    resources: tuple[Pattern, ...]
    not_resource: bool
    any_resource: bool  # the Resource list holds "*"
    conditions: tuple[Condition, ...]

    def matches_action(self, action: str) -> bool:
        return (self.actions.fullmatch(action) is not None) != self.not_action

    def resource(self, resource: str | Unnamed | None, context: Context, reasons: list[str]) -> Tri:
        if self.any_resource:
            return not self.not_resource  # "*" covers every resource, named or not
        if resource is None:
            reasons.append(NO_RESOURCE)
            return None
        hit: Tri = False
        local: list[str] = []
        for pattern in self.resources:
            if isinstance(resource, Unnamed):
                matched = pattern.covers(resource, context, local)
            else:
                matched = pattern.matches(resource, context, local)
            if matched:
                hit = True
                break
            if matched is None:
                hit = None
        if hit is None:
            reasons.extend(local)
        return tri_not(hit) if self.not_resource else hit

    def applies(
        self, resource: str | Unnamed | None, context: Context, *, every_miss: bool = False
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
            if resource is None:
                named = NO_RESOURCE
            elif isinstance(resource, Unnamed):
                named = resource.label
            else:
                named = f"resource {resource}"
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
    return glob_regex(
        tuple(str(t) for t in parse_tokens(text, variables=False, wildcards=True)), "action"
    )


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
    resources = tuple(Pattern.of(t, "resource", variables=variables) for t in resource_texts)
    conditions: list[Condition] = []
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
                compile_condition(
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
            tokens = parse_tokens(text, variables=True, wildcards=True)
            keys.update(v.lowered for v in variables_of(tokens))
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

    def evaluate(self, action: str, resource: str | Unnamed | None, context: Context) -> Decision:
        """What the policies decide for one request.

        Args:
            action: ``service:Action`` as IAM names it.
            resource: The resource ARN, ``"*"`` for actions without resource-level
                permissions, an :class:`Unnamed` resource known up to its id, or None when
                the event names no resource.
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
        # With no Allow that applies or may apply, the call is refused whatever the Denies do
        # (only whether explicitly is unknown): refusing is what a replay must report.
        if deny_unknown and (allows or allow_unknown):
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
