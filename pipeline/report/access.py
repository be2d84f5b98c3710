"""The report's section on resource policies and federation: who uses each bucket, key, queue,
topic, function, secret and repository from outside its account, and the identity providers
nobody signs in through (``resource_access`` and ``stale_federation``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trailwise.pipeline.report.blocks import (
    Block,
    Card,
    Column,
    Section,
    count_rows,
    sum_column,
    table,
)
from trailwise.pipeline.report.model import Report


def _beyond_its_account(row: Mapping[str, Any]) -> bool:
    """Used by another account, an AWS service or anonymous callers: its resource policy is
    what lets them in."""
    return bool(row["external_accounts"] or row["aws_services"] or row["anonymous_calls"])


def resources_and_federation(report: Report) -> Section:
    access = report.figures["resource_access"]
    stale = report.figures["stale_federation"]
    beyond = sorted(
        (r for r in access.rows if _beyond_its_account(r)),
        key=lambda r: (
            -(r["anonymous_calls"] or 0),
            -(r["external_calls"] or 0),
            r["resource_arn"],
        ),
    )
    busiest = sorted(access.rows, key=lambda r: (-r["calls"], r["resource_arn"]))
    cards = (
        Card("resources used", len(access.rows), "resource_access.rows"),
        Card(
            "used from other accounts",
            count_rows(access.rows, lambda r: bool(r["external_accounts"])),
            "resource_access.external",
        ),
        Card(
            "used by AWS services",
            count_rows(access.rows, lambda r: bool(r["aws_services"])),
            "resource_access.services",
        ),
        Card(
            "anonymous calls",
            sum_column(access.rows, "anonymous_calls"),
            "resource_access.anonymous_calls",
            alert=sum_column(access.rows, "anonymous_calls") > 0,
        ),
        Card(
            "stale identity providers",
            len(stale.rows),
            "stale_federation.rows",
            alert=bool(stale.rows),
        ),
    )
    resource_columns = (
        Column("resource_arn", "resource", "arn"),
        Column("account_id", "account", "id"),
        Column("external_principals", "other accounts' principals", "list"),
        Column("aws_services", "AWS services", "list"),
        Column("anonymous_calls", "anonymous", "num"),
        Column("actions", "actions", "list"),
        Column("calls", "calls", "num"),
        Column("denied", "denied", "num"),
        Column("policy_state", "policy"),
        Column("last_seen", "last used", "time"),
    )
    blocks: tuple[Block, ...] = (
        table(
            "Resources used beyond their account, anonymous use first",
            [access],
            resource_columns,
            beyond,
            caption="Their resource policies decide who gets in. `trailwise policy resource ARN` "
            "reviews a policy statement by statement and suggests one admitting exactly these "
            "callers.",
            figure="resource_access.beyond",
        ),
        table(
            "Most used resources",
            [access],
            resource_columns,
            busiest,
            figure="resource_access.rows",
        ),
        table(
            "Identity providers nobody signed in through",
            [stale],
            (
                Column("provider_arn", "provider", "arn"),
                Column("account_id", "account", "id"),
                Column("kind", "kind"),
                Column("trusting_roles", "roles trusting it", "list"),
                Column("created_at", "created", "time"),
                Column("last_used_at", "last sign-in", "time"),
                Column("reason", "why", "long"),
            ),
            stale.rows,
            caption="A federation mapping nobody uses still lets its identity provider's users "
            "into the roles that trust it: remove it, or the trust.",
            figure="stale_federation.rows",
        ),
    )
    return Section(
        "resources",
        "Resources and federation",
        "Who uses each resource that can hold a resource-based policy, from where, and which "
        "identity providers no one signed in through in the window.",
        cards,
        blocks,
        headline="resource_access.anonymous_calls",
    )
