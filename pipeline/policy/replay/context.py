"""The request context of a replayed call: what the lake knows of each condition key.

A key's values come from the call's event (``events``) and its mapping row (``event_actions``).
Each key is one of three things, and never a guess:

- known, with its values (``aws:RequestedRegion`` is the event's region);
- known absent, ``()``: the request had no such key. Either CloudTrail logs the field whenever it
  exists (``vpcEndpointId``, ``invokedBy``), or the key cannot be in this request (long-term
  access keys carry no ``aws:MultiFactorAuthPresent``; a service key the IAM catalogue does not
  list for the action, such as ``iam:PassedToService`` on ``s3:GetObject``);
- unknown, ``None``: the lake does not hold it (``aws:PrincipalTag/team``, ``aws:SourceIp`` of
  a call whose logged source is a service name). The evaluator reports such calls as unknown.

Keys whose values differ from call to call (the source IP, the time, the user agent) are read
only when a policy asks for them (:func:`columns_for`), so that calls sharing everything a policy
looks at are evaluated once.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from trailwise.pipeline.policy import conditions as cond
from trailwise.pipeline.timeutil import iso

Values = tuple[str, ...]

# The row flags of replay_rows.sql and the (lower-cased) keys that need each one.
FLAG_KEYS: dict[str, frozenset[str]] = {
    "with_source_ip": frozenset({"aws:sourceip", "aws:vpcsourceip"}),
    "with_time": frozenset({"aws:currenttime", "aws:epochtime"}),
    "with_identity": frozenset({"aws:username", "aws:userid", "aws:sourceidentity"}),
    "with_session": frozenset({"aws:tokenissuetime"}),
    "with_user_agent": frozenset({"aws:useragent"}),
    "with_s3_listing": frozenset({"s3:prefix", "s3:delimiter", "s3:max-keys"}),
}
# aws: keys that exist only for actions the IAM catalogue lists them for (tagging keys);
# every other aws: key is global.
_CATALOGUED_AWS_PREFIXES = ("aws:requesttag/", "aws:resourcetag/", "aws:tagkeys")
# userIdentity.type -> aws:PrincipalType
_PRINCIPAL_TYPES = {
    "AssumedRole": "AssumedRole",
    "IAMUser": "User",
    "Root": "Account",
    "FederatedUser": "FederatedUser",
}
_LONG_TERM_KEY = "AKIA"  # access key ids of IAM users' long-term keys start so


def columns_for(keys: frozenset[str]) -> dict[str, bool]:
    """The replay_rows.sql flags that the condition ``keys`` (lower-cased) need."""
    return {flag: bool(needed & keys) for flag, needed in FLAG_KEYS.items()}


@dataclass(frozen=True)
class CallContext:
    """The request context of one distinct request (a row of replay_requests.sql)."""

    action: str
    known: Mapping[str, Values]  # lower-cased key -> values; () = known absent

    def get(self, key: str) -> Values | None:
        """The key's values, ``()`` when the request has none, None when the lake cannot tell."""
        lowered = key.lower()
        if lowered in self.known:
            return self.known[lowered]
        catalogued = not lowered.startswith("aws:") or lowered.startswith(_CATALOGUED_AWS_PREFIXES)
        if catalogued and not cond.catalogue_lists(self.action, key):
            return ()  # IAM never puts this key in a request for this action
        return None


def call_context(
    row: Mapping[str, Any], principal_arn: str, flags: Mapping[str, bool]
) -> CallContext:
    """The context of a request row; ``flags`` say which per-call columns the row holds."""
    action = str(row["action"])
    known: dict[str, Values] = {}
    known.update(_principal(principal_arn, row))
    region = row.get("aws_region")
    if cond.is_region(region):
        known["aws:requestedregion"] = (str(region),)
    vpce = row.get("vpc_endpoint_id")
    known["aws:sourcevpce"] = (str(vpce),) if vpce else ()
    invoked_by = row.get("invoked_by")
    known["aws:viaawsservice"] = ("true",) if invoked_by else ("false",)
    if not invoked_by:
        for key in ("aws:calledvia", "aws:calledviafirst", "aws:calledvialast"):
            known[key] = ()
    if flags.get("with_source_ip"):
        known.update(_source_ip(row.get("source_ip_address"), through_vpce=bool(vpce)))
    known.update(_credentials(row, flags))
    if row.get("has_tls"):
        known["aws:securetransport"] = ("true",)
    if flags.get("with_time") and row.get("request_time") is not None:
        when: datetime = row["request_time"]  # the lake's times are naive UTC
        known["aws:currenttime"] = (str(iso(when)),)
        known["aws:epochtime"] = (str(int(when.replace(tzinfo=UTC).timestamp())),)
    if flags.get("with_user_agent") and row.get("user_agent") is not None:
        known["aws:useragent"] = (str(row["user_agent"]),)
    resource = row.get("resource_arn")
    if resource:
        account = str(resource).split(":")[4] if str(resource).count(":") >= 5 else ""
        if account:
            known["aws:resourceaccount"] = (account,)
    known.update(_service_keys(action, row, flags))
    return CallContext(action, known)


def _principal(principal_arn: str, row: Mapping[str, Any]) -> dict[str, Values]:
    out: dict[str, Values] = {
        "aws:principalarn": (principal_arn,),
        "aws:principalaccount": (principal_arn.split(":")[4],),
        # The principal is an IAM role or user: never an AWS service.
        "aws:principalisawsservice": ("false",),
        "aws:principalservicename": (),
    }
    kind = _PRINCIPAL_TYPES.get(str(row.get("identity_type")))
    if kind:
        out["aws:principaltype"] = (kind,)
    return out


def _source_ip(address: Any, *, through_vpce: bool) -> dict[str, Values]:
    """aws:SourceIp is absent from calls through a VPC endpoint, which carry aws:VpcSourceIp."""
    ip = _ip(address)
    if through_vpce:
        return {"aws:sourceip": (), "aws:vpcsourceip": (ip,) if ip else ()}
    # A service name or "AWS Internal" in sourceIPAddress says nothing of the key's value.
    return {"aws:vpcsourceip": ()} | ({"aws:sourceip": (ip,)} if ip else {})


def _ip(address: Any) -> str | None:
    if not isinstance(address, str):
        return None
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def _credentials(row: Mapping[str, Any], flags: Mapping[str, bool]) -> dict[str, Values]:
    out: dict[str, Values] = {}
    long_term = row.get("access_key_kind") == _LONG_TERM_KEY
    mfa = row.get("mfa_authenticated")
    if mfa is not None:
        out["aws:multifactorauthpresent"] = ("true" if mfa else "false",)
    elif long_term:
        out["aws:multifactorauthpresent"] = ()  # long-term keys never carry the key
    if flags.get("with_session"):
        created = row.get("session_created_at")
        if created is not None:
            out["aws:tokenissuetime"] = (str(iso(created)),)
        elif long_term:
            out["aws:tokenissuetime"] = ()
    if flags.get("with_identity"):
        if row.get("identity_type") == "IAMUser":
            if row.get("user_name"):
                out["aws:username"] = (str(row["user_name"]),)
        elif row.get("identity_type") is not None:
            out["aws:username"] = ()  # only IAM users have one
        if row.get("principal_id"):
            out["aws:userid"] = (str(row["principal_id"]),)
        if row.get("source_identity"):
            out["aws:sourceidentity"] = (str(row["source_identity"]),)
    return out


def _service_keys(
    action: str, row: Mapping[str, Any], flags: Mapping[str, bool]
) -> dict[str, Values]:
    out: dict[str, Values] = {}
    inferred = row.get("inferred_from")
    own_call = inferred in (None, "event")
    if action == "iam:PassRole" and not own_call:
        service = cond.passed_to_service(str(row.get("event_source")), str(inferred))
        if service:
            out["iam:passedtoservice"] = (service,)
    if action == "ec2:CreateTags":
        if own_call:
            out["ec2:createaction"] = ()  # tags set by CreateTags itself, not by a create call
        elif inferred == "tagSpecificationSet":
            out["ec2:createaction"] = (str(row.get("event_name")),)
    if action.startswith("kms:"):
        invoked_by = row.get("invoked_by")
        if not invoked_by:
            out["kms:viaservice"] = ()
        else:
            value = cond.via_service(str(invoked_by), row.get("aws_region"))
            if value:
                out["kms:viaservice"] = (value,)
    if action == "s3:ListBucket" and flags.get("with_s3_listing"):
        for key, column in (
            ("s3:prefix", "s3_prefix"),
            ("s3:delimiter", "s3_delimiter"),
            ("s3:max-keys", "s3_max_keys"),
        ):
            value = row.get(column)
            if value is not None:
                out[key] = (str(value),)
            elif row.get("has_request_parameters"):
                out[key] = ()
    return out
