"""``policy suggest``: the least-privilege identity policy of a role or user from its observed use.

What goes in: every IAM action the principal was authorized to exercise in the window (from
``event_actions``: the calls themselves and the actions they imply, such as ``iam:PassRole`` for
a role passed in a parameter or ``ec2:CreateTags`` for ``tagSpecificationSet``), on the
resources the events name, under the conditions every observed call satisfied. What stays out:
denied calls (unless ``include_denied``: then only those that no identity-based policy allowed,
in statements of their own), permissionless calls, sign-ins and AWS service events.

Statements group the actions of one service, access level and resource type that share the same
resources and conditions; their Sids are named after those (``S3ReadObject``,
``IamPassRoleToLambda``, ``DynamodbWriteTableDenied``). The documents are sorted, validated
against the IAM catalogue and split to fit the managed-policy size quota.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trailwise.pipeline.errors import PolicyError, UsageError
from trailwise.pipeline.lake import Lake, as_lake
from trailwise.pipeline.mapping import catalogue
from trailwise.pipeline.mapping.catalogue import ActionInfo, ResourceType
from trailwise.pipeline.policy import conditions as cond
from trailwise.pipeline.policy import document
from trailwise.pipeline.policy import evidence as ev
from trailwise.pipeline.policy import resources as res
from trailwise.pipeline.policy.conditions import Condition
from trailwise.pipeline.policy.evidence import Use
from trailwise.pipeline.query.named import Queries
from trailwise.pipeline.timeutil import iso

if TYPE_CHECKING:  # the replay package reads evidence, which imports this package
    from trailwise.pipeline.policy.replay.model import Replay

ALL_RESOURCES = "AllResources"  # actions without resource-level permissions (or --resources star)
# Services whose actions authorize every required resource type on each call (RunInstances: the
# image, instance, network interface, security groups and subnet; Glue: the catalog, database and
# table; RDS: a global cluster and its member cluster). Elsewhere several "required" types are
# alternatives (bedrock:InvokeModel takes one of twelve kinds of model, dynamodb:Query a table or
# an index), so none is added unseen.
ALL_REQUIRED_TOGETHER = frozenset({"ec2", "glue", "rds"})
NOT_LOGGED = "ResourceNotLogged"  # actions with resource types whose resource no event names
# The only denials an identity policy can fix: an implicit deny for want of an Allow. Explicit
# denies (SCP, boundary, resource policy) and other policy types stay denied whatever we grant.
FIXABLE_DENIAL = "identity-based"


@dataclass(frozen=True)
class ActionEvidence:
    """Why one action is in the suggestion, and what it is granted on."""

    action: str
    access_level: str
    events: int
    first_seen: datetime
    last_seen: datetime
    resources: tuple[str, ...]  # as granted
    observed_resources: int  # distinct resources named by the events (0 when none)
    sids: tuple[str, ...]
    why: str
    denied: bool


@dataclass(frozen=True)
class ConditionNote:
    """One condition of a statement and the evidence that justifies it."""

    sid: str
    operator: str
    key: str
    values: tuple[str, ...]
    justification: str


@dataclass(frozen=True)
class Suggestion:
    """A suggested policy (one or several documents when split) with its evidence."""

    principal_arn: str
    since: datetime | None
    until: datetime | None
    resources_mode: str
    include_denied: bool
    max_size: int
    documents: list[dict[str, Any]]
    evidence: list[ActionEvidence]
    conditions: list[ConditionNote]
    notes: list[str]
    first_event_at: datetime | None = None
    last_event_at: datetime | None = None
    replay: Replay | None = None  # the window's calls replayed against the documents

    @property
    def name(self) -> str:
        """A name for the policy: the principal's name and ``least-privilege``."""
        return self.principal_arn.rsplit("/", 1)[-1] + "-least-privilege"

    def to_dict(self) -> dict[str, Any]:
        """The suggestion as JSON-ready data (times as ISO 8601 UTC with ``Z``)."""
        return {
            "principal_arn": self.principal_arn,
            "name": self.name,
            "window": {"since": iso(self.since), "until": iso(self.until)},
            "first_event_at": iso(self.first_event_at),
            "last_event_at": iso(self.last_event_at),
            "resources_mode": self.resources_mode,
            "include_denied": self.include_denied,
            "max_size": self.max_size,
            "documents": self.documents,
            "sizes": [document.size(d) for d in self.documents],
            "evidence": [
                {
                    **dataclasses.asdict(e),
                    "first_seen": iso(e.first_seen),
                    "last_seen": iso(e.last_seen),
                    "resources": list(e.resources),
                    "sids": list(e.sids),
                }
                for e in self.evidence
            ],
            "conditions": [
                {**dataclasses.asdict(c), "values": list(c.values)} for c in self.conditions
            ],
            "notes": list(self.notes),
            "replay": None if self.replay is None else self.replay.to_dict(),
        }


@dataclass
class _Grant:
    """One action on one Resource value under one set of conditions."""

    action: str
    info: ActionInfo
    resource: str
    label: str  # resource type name, ALL_RESOURCES or NOT_LOGGED
    how: str  # exact | folded | star | any | optional | unlogged | required
    conditions: tuple[Condition, ...]
    denied: bool
    uses: list[Use] = field(default_factory=list)


def suggest(
    lake: Lake | str | Path | None,
    principal_arn: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    resources: str = "generalize",
    include_denied: bool = False,
    max_size: int = document.MAX_MANAGED_POLICY_SIZE,
    queries: Queries | None = None,
) -> Suggestion:
    """The least-privilege identity policy for ``principal_arn`` from its use in the lake.

    Args:
        lake: the lake, or its directory (None: ``$TRAILWISE_LAKE`` or ``./trailwise-lake``).
        principal_arn: an IAM role or user ARN (an assumed-role session ARN is resolved to its
            role).
        since: start of the window (inclusive); None for the lake's beginning.
        until: end of the window (exclusive); None for the lake's end.
        resources: ``exact``, ``generalize`` or ``star`` (see :mod:`.resources`).
        include_denied: also grant actions denied because no identity-based policy allowed
            them, in statements whose Sid ends in ``Denied``.
        max_size: the size limit of one document (IAM counts characters without whitespace).

    Raises:
        PolicyError: the principal is not a role or user, has no events (in the window), or
            nothing it did needs a permission (only denied, permissionless or non-IAM calls).
    """
    if resources not in res.MODES:
        raise UsageError(
            f"unknown --resources mode {resources!r}", hint=f"use one of {', '.join(res.MODES)}"
        )
    target = as_lake(lake)
    arn, activity, uses = ev.read(target, principal_arn.strip(), since, until, queries)
    window = _window_text(since, until)
    if activity.events == 0:
        hint = (
            f"did you mean {' or '.join(activity.similar)}?"
            if activity.similar
            else "check the ARN (a role's path is part of it) or ingest its account's logs"
        )
        raise PolicyError(f"{arn} has no events in the lake", hint=hint)
    if activity.events_in_window == 0:
        raise PolicyError(
            f"{arn} has no events {window}",
            hint=f"its events span {iso(activity.first_event_at)} to {iso(activity.last_event_at)}",
        )
    notes: list[str] = []
    if activity.stale_rows:
        notes.append(
            f"{activity.stale_rows} action row(s) of this principal come from an older mapping "
            "than the installed one: run 'trailwise remap' for the current answer"
        )
    allowed = [u for u in uses if u.is_authorized]
    denied = _denied_grants(uses, allowed, include_denied, notes)
    if not allowed and not denied:
        refused = sum(u.events for u in uses if not u.is_authorized)
        if refused:
            hint = (
                "none of the denials was for want of an identity-based Allow"
                if include_denied
                else "--include-denied adds actions no identity-based policy allowed"
            )
            raise PolicyError(
                f"{arn} made only denied calls {window} ({refused} events): nothing to grant",
                hint=hint,
            )
        raise PolicyError(
            f"{arn} made {activity.events_in_window} events {window}, none needing an IAM"
            " permission (permissionless calls, sign-ins or service events): nothing to grant"
        )
    partition, account = arn.split(":")[1], arn.split(":")[4]
    grants = _grants(allowed, resources, partition, account, denied=False, notes=notes)
    grants += _grants(denied, resources, partition, account, denied=True, notes=notes)
    statements = _statements(grants)
    if not statements:
        raise PolicyError(f"nothing to grant {arn}: none of its actions is in the IAM catalogue")
    documents, split_notes = document.split_with_notes(statements, max_size)
    for doc in documents:
        problems = document.validate(doc)
        if problems:
            raise PolicyError(f"the suggested policy for {arn} is invalid: {problems[0]}")
    if len(documents) > 1:
        total = document.size(document.document(statements))
        notes.append(
            f"the policy needs {total} characters, over the {max_size} limit of one document:"
            f" split into {len(documents)} policies; attach all of them"
        )
    for split in split_notes:
        notes.append(
            f"statement {split.sid} alone exceeds {max_size} characters: cut into {split.parts}"
            f" statements along its {split.field} list"
        )
    if resources == "star":
        notes.append("--resources star: every statement applies to all resources (*)")
    first = min((u.first_seen_at for u in uses), default=None)
    last = max((u.last_seen_at for u in uses), default=None)
    return Suggestion(
        principal_arn=arn,
        since=since,
        until=until,
        resources_mode=resources,
        include_denied=include_denied,
        max_size=max_size,
        documents=documents,
        evidence=_evidence(grants, documents),
        conditions=_condition_notes(grants, documents),
        notes=notes,
        first_event_at=first,
        last_event_at=last,
    )


def _window_text(since: datetime | None, until: datetime | None) -> str:
    if since is None and until is None:
        return "in the lake"
    return f"in the window [{iso(since) or 'beginning'}, {iso(until) or 'end'})"


def _denied_grants(
    uses: list[Use], allowed: list[Use], include_denied: bool, notes: list[str]
) -> list[Use]:
    """The denied uses to grant (as the action and resource the denial message names) and a
    note per denied action left out, with the reason."""
    granted = {(u.action, u.resource_arn) for u in allowed}
    chosen: list[Use] = []
    left_out: dict[tuple[str, str, str], int] = defaultdict(int)
    for use in uses:
        if use.is_authorized:
            continue
        action = catalogue.canonical(use.denied_action or "") or use.action
        resource = use.denied_resource if (use.denied_resource or "").startswith("arn:") else None
        resource = resource or use.resource_arn
        fixable = use.denied_by == FIXABLE_DENIAL and not use.is_explicit_deny
        if include_denied and fixable:
            if (action, resource) not in granted:
                chosen.append(dataclasses.replace(use, action=action, resource_arn=resource))
            continue
        if fixable:
            reason = "no identity-based policy allows it (--include-denied adds it)"
        elif use.is_explicit_deny:
            reason = f"explicit deny in a {use.denied_by or 'policy'}: an Allow would not help"
        elif use.denied_by:
            reason = f"denied by the {use.denied_by}: an identity policy cannot fix that"
        else:
            reason = "the error does not say which policy denied it"
        left_out[(action, resource or "", reason)] += use.events
    for (action, resource, reason), count in sorted(left_out.items()):
        on = f" on {resource}" if resource else ""
        notes.append(f"left out {action}{on}: denied {count} time(s), {reason}")
    return chosen


def _grants(
    uses: list[Use], mode: str, partition: str, account: str, *, denied: bool, notes: list[str]
) -> list[_Grant]:
    by_action: dict[str, list[Use]] = defaultdict(list)
    for use in uses:
        by_action[use.action].append(use)
    out: list[_Grant] = []
    for action, group in sorted(by_action.items()):
        info = catalogue.lookup(action)
        if info is None:
            notes.append(f"left out {action}: not in the IAM action catalogue")
            continue
        for label, resource, how, covered in _resource_parts(
            info, group, mode, (partition, account), notes
        ):
            found, missing = cond.for_grant(
                info.action, covered, resource_is_star=resource == res.STAR, partition=partition
            )
            notes.extend(missing)
            out.append(
                _Grant(
                    action=info.action,
                    info=info,
                    resource=resource,
                    label=label,
                    how=how,
                    conditions=tuple(found),
                    denied=denied,
                    uses=covered,
                )
            )
    return out


def _resource_parts(
    info: ActionInfo, uses: list[Use], mode: str, home: tuple[str, str], notes: list[str]
) -> list[tuple[str, str, str, list[Use]]]:
    """(label, Resource value, how, uses it covers) for one action's uses."""
    if mode == "star":
        return [(ALL_RESOURCES, res.STAR, "star", uses)]
    if not info.resource_types:
        return [(ALL_RESOURCES, res.STAR, "any", uses)]
    typed: dict[str, list[tuple[ResourceType, Use]]] = defaultdict(list)
    unresolved: list[Use] = []
    for use in uses:
        rt = res.resource_type(info, use.resource_arn) if use.resource_arn else None
        if rt is None:
            unresolved.append(use)
        else:
            typed[rt.name].append((rt, use))
    if unresolved and not any(rt.required for rt in info.resource_types):
        # Its resource types are optional (condition-only or a narrower variant): with no
        # resource named, * is the grant IAM itself expects.
        return [(ALL_RESOURCES, res.STAR, "optional", uses)]
    if unresolved:
        strays = sorted({u.resource_arn for u in unresolved if u.resource_arn})
        why = (
            f"{', '.join(strays)} fits none of its resource types"
            if strays
            else "the events do not name the resource"
        )
        notes.append(f"{info.action} is granted on * in a statement of its own: {why}")
        return [(NOT_LOGGED, res.STAR, "unlogged", uses)]
    prefix = info.prefix
    out: list[tuple[str, str, str, list[Use]]] = []
    for name, items in sorted(typed.items()):
        rt = items[0][0]
        for granted in res.grant(prefix, rt, [u.resource_arn or "" for _, u in items], mode):
            observed = set(granted.observed)
            covered = [u for _, u in items if u.resource_arn in observed]
            out.append((name, granted.resource, granted.how, covered))
    # Every call also touches each required resource type (RunInstances: its image, subnet,
    # security groups, network interface, volumes); CloudTrail names only some of them, and a
    # policy without the others would refuse the very calls it was built from.
    missing = [rt for rt in info.resource_types if rt.required and rt.name not in typed]
    if info.prefix not in ALL_REQUIRED_TOGETHER or not missing:
        return out
    regions = sorted({r for u in uses for r in u.regions})
    for rt in missing:
        for arn in res.scoped_wildcards(rt, *home, regions):
            out.append((rt.name, arn, "required", uses))
    # One statement holds all the resources one call needs, named after the action.
    out = [(info.name, resource, how, covered) for _, resource, how, covered in out]
    names = ", ".join(rt.name for rt in missing)
    notes.append(
        f"{info.action} also needs its required resource type(s) {names}, which the events"
        " do not name: granted within the principal's account and the regions of its calls"
    )
    return out


def _sid_base(grant: _Grant) -> str:
    if grant.action == "iam:PassRole":
        services = next((c.values for c in grant.conditions if c.key == "iam:PassedToService"), ())
        shorts = [s.removesuffix(".amazonaws.com") for s in services]
        base = document.sid("iam", "PassRole", *(["to", *shorts] if shorts else []))
    else:
        base = document.sid(grant.info.prefix, grant.info.access_level, grant.label)
    return base + ("Denied" if grant.denied else "")


def _statements(grants: list[_Grant]) -> list[dict[str, Any]]:
    # First every resource of one action under the same conditions, then the actions that share
    # resources, conditions and Sid base in one statement: no action gains a resource it was not
    # seen using.
    per_action: dict[tuple[str, str, tuple[Condition, ...], bool, str], set[str]] = defaultdict(set)
    for g in grants:
        per_action[(g.action, g.label, g.conditions, g.denied, _sid_base(g))].add(g.resource)
    grouped: dict[tuple[str, frozenset[str], tuple[Condition, ...]], set[str]] = defaultdict(set)
    for (action, _label, conditions, _denied, base), resources in per_action.items():
        grouped[(base, frozenset(resources), conditions)].add(action)
    statements: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    for (base, shared, conditions), actions in grouped.items():
        statement: dict[str, Any] = {
            "Sid": base,
            "Effect": "Allow",
            "Action": sorted(actions),
            "Resource": sorted(shared),
        }
        if conditions:
            statement["Condition"] = cond.as_element(conditions)
        order = (base, sorted(actions), sorted(shared), [c.sort_key for c in conditions])
        statements.append((order, statement))
    statements.sort(key=lambda pair: pair[0])
    numbered = document.unique_sids([s for _, s in statements])
    return sorted((document.normalize_statement(s) for s in numbered), key=lambda s: str(s["Sid"]))


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _evidence(grants: list[_Grant], documents: list[dict[str, Any]]) -> list[ActionEvidence]:
    sids: dict[str, set[str]] = defaultdict(set)
    for doc in documents:
        for statement in doc["Statement"]:
            for action in _listed(statement["Action"]):
                sids[action].add(str(statement["Sid"]))
    by_action: dict[tuple[str, bool], list[_Grant]] = defaultdict(list)
    for g in grants:
        by_action[(g.action, g.denied)].append(g)
    out: list[ActionEvidence] = []
    for (action, denied), group in sorted(by_action.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        uses = [u for g in group for u in g.uses]
        observed = {u.resource_arn for u in uses if u.resource_arn}
        # Only statements made from denied grants have "Denied" in their Sid.
        action_sids = {s for s in sids[action] if ("Denied" in s) == denied}
        out.append(
            ActionEvidence(
                action=action,
                access_level=group[0].info.access_level,
                events=sum(u.events for u in uses)
                if denied
                else max(u.action_events for u in uses),
                first_seen=min(u.first_seen_at for u in uses),
                last_seen=max(u.last_seen_at for u in uses),
                resources=tuple(sorted({g.resource for g in group})),
                observed_resources=len(observed),
                sids=tuple(sorted(action_sids)),
                why=_why(group, uses, denied),
                denied=denied,
            )
        )
    return out


def _why(group: list[_Grant], uses: list[Use], denied: bool) -> str:
    parts: list[str] = []
    if denied:
        parts.append(
            f"denied {sum(u.events for u in uses)} time(s) because no identity-based policy"
            " allowed it; added by --include-denied"
        )
    own = sum(u.own_events for u in uses)
    if own and not denied:
        calls = sorted({c.split(" ", 1)[1] for u in uses if u.own_events for c in u.calls})
        parts.append(f"called {own} time(s): {', '.join(calls)}")
    inferred = sorted({i for u in uses for i in u.inferred_from})
    if inferred and not denied:
        parts.append("required by " + "; ".join(_inference_text(i) for i in inferred))
    for g in sorted(group, key=lambda g: g.resource):
        if g.how == "folded":
            count = len({u.resource_arn for u in g.uses})
            parts.append(f"{count} resources folded into {g.resource}")
        elif g.how == "unlogged":
            parts.append("the events do not name a resource it can be narrowed to: granted on *")
        elif g.how == "any":
            parts.append("no resource-level permissions: granted on *")
        elif g.how == "optional":
            parts.append("its resource types are optional and the events name none: granted on *")
        elif g.how == "required":
            parts.append(
                f"every call also needs a resource of this type, which the events do not name:"
                f" {g.resource}"
            )
    return "; ".join(dict.fromkeys(parts))


def _inference_text(inference: str) -> str:
    source, _, rest = inference.partition(" ")
    name, _, reason = rest.partition(" ")
    return f"{source.removesuffix('.amazonaws.com')} {name} ({reason})"


def _condition_notes(grants: list[_Grant], documents: list[dict[str, Any]]) -> list[ConditionNote]:
    justification = {
        (c.operator, c.key, c.values): c.justification for g in grants for c in g.conditions
    }
    out: list[ConditionNote] = []
    for doc in documents:
        for statement in doc["Statement"]:
            for operator, keys in sorted((statement.get("Condition") or {}).items()):
                for key, values in sorted(keys.items()):
                    values_tuple = tuple(_listed(values))
                    out.append(
                        ConditionNote(
                            sid=str(statement["Sid"]),
                            operator=operator,
                            key=key,
                            values=values_tuple,
                            justification=justification.get(
                                (operator, key, values_tuple), "seen on every call"
                            ),
                        )
                    )
    return out
