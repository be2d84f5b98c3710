"""What a principal did, read from the lake: one row per (action, resource, outcome) it exercised.

The rows carry what the policy builder needs to decide resources and conditions: how often and
when, which calls (and why an inferred action was added), the regions, whether AWS services made
the calls on the principal's behalf, and whether they came through VPC endpoints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from trailwise.pipeline.errors import PolicyError
from trailwise.pipeline.lake import Lake
from trailwise.pipeline.mapping import mapping_version
from trailwise.pipeline.query import connect
from trailwise.pipeline.timeutil import naive_utc

_USES_SQL = """
with actions as (
    select
        event_id,
        recipient_account_id,
        event_time,
        event_source,
        event_name,
        action,
        resource_arn,
        coalesce(is_authorized, false) as is_authorized,
        inferred_from,
        denied_action,
        denied_resource,
        denied_by,
        coalesce(is_explicit_deny, false) as is_explicit_deny
    from event_actions
    where principal_arn = $principal_arn
        and classification = 'iam_action'
        and action is not null
        and ($since is null or event_time >= $since)
        and ($until is null or event_time < $until)
),

with_context as (
    select
        actions.*,
        events.aws_region,
        events.user_identity_invoked_by as invoked_by,
        events.vpc_endpoint_id
    from actions
    left join events
        on events.event_id = actions.event_id
        and events.recipient_account_id = actions.recipient_account_id
        and events.event_time = actions.event_time
),

per_action as (
    select
        action,
        is_authorized,
        count(distinct event_id) as action_events
    from with_context
    group by all
),

grouped as (
    select
        action,
        resource_arn,
        is_authorized,
        denied_action,
        denied_resource,
        denied_by,
        is_explicit_deny,
        count(distinct event_id) as events,
        min(event_time) as first_seen_at,
        max(event_time) as last_seen_at,
        list_sort(
            list(distinct event_source || ' ' || event_name || ' ' || inferred_from)
                filter (where coalesce(inferred_from, 'event') <> 'event')
        ) as inferred_from,
        count(distinct event_id) filter (where coalesce(inferred_from, 'event') = 'event')
            as own_events,
        list_sort(list(distinct event_source || ' ' || event_name)) as calls,
        list_sort(list(distinct aws_region) filter (where aws_region is not null)) as regions,
        list_sort(
            list(distinct invoked_by || ' ' || coalesce(aws_region, ''))
                filter (where invoked_by is not null)
        ) as invoked_by,
        count(distinct event_id) filter (where invoked_by is null) as direct_events,
        list_sort(list(distinct vpc_endpoint_id) filter (where vpc_endpoint_id is not null))
            as vpc_endpoints,
        count(distinct event_id) filter (where vpc_endpoint_id is null) as events_outside_vpce
    from with_context
    group by all
),

final as (
    select
        grouped.*,
        per_action.action_events
    from grouped
    inner join per_action using (action, is_authorized)
)

select * from final
order by action, resource_arn nulls first, is_authorized desc, denied_by nulls first
"""

_ACTIVITY_SQL = """
select
    count(*) as events,
    count(*) filter (
        where ($since is null or event_time >= $since) and ($until is null or event_time < $until)
    ) as events_in_window,
    min(event_time) as first_event_at,
    max(event_time) as last_event_at
from events
where principal_arn = $principal_arn
"""

# Action rows derived by an older mapping than the installed one (the lake predates an upgrade).
_STALE_SQL = """
select count(*) as stale_rows
from event_actions
where principal_arn = $principal_arn
    and mapping_version <> $mapping_version
    and ($since is null or event_time >= $since)
    and ($until is null or event_time < $until)
"""

_SESSION_SQL = """
select distinct principal_arn
from events
where user_identity_arn = $arn and principal_arn is not null
order by principal_arn
"""

_SIMILAR_SQL = """
select distinct principal_arn
from events
where principal_arn is not null
    and split_part(principal_arn, ':', 5) = $account
    and split_part(principal_arn, '/', 1) = $kind
    and regexp_extract(principal_arn, '[^/]+$') = $name
order by principal_arn
limit 5
"""

_IDENTITY = re.compile(r"^arn:[a-z-]+:iam::\d{12}:(role|user)/.+$")
_SESSION = re.compile(r"^arn:[a-z-]+:sts::\d{12}:assumed-role/.+/.+$")


@dataclass(frozen=True)
class Use:
    """Uses of one action on one resource (or none, when unknown) with one outcome."""

    action: str
    resource_arn: str | None
    is_authorized: bool
    denied_action: str | None
    denied_resource: str | None
    denied_by: str | None
    is_explicit_deny: bool
    events: int
    first_seen_at: datetime
    last_seen_at: datetime
    inferred_from: tuple[str, ...]  # "event_source EventName why" of inferred uses
    own_events: int  # events whose own call is the action (not inferred from a parameter)
    calls: tuple[str, ...]  # "event_source EventName"
    regions: tuple[str, ...]
    invoked_by: tuple[str, ...]  # "service.amazonaws.com region" of calls made by a service
    direct_events: int  # events not made by a service on the principal's behalf
    vpc_endpoints: tuple[str, ...]
    events_outside_vpce: int
    action_events: int  # distinct events of this action and outcome, over all its resources


@dataclass(frozen=True)
class Activity:
    """The principal's events in the whole lake and in the window."""

    events: int
    events_in_window: int
    first_event_at: datetime | None
    last_event_at: datetime | None
    similar: tuple[str, ...] = ()  # principals of the same name (another path), when none
    stale_rows: int = 0  # action rows of the window derived by an older mapping


def check_principal_arn(principal_arn: str) -> None:
    """Raise PolicyError unless ``principal_arn`` names an IAM role or user."""
    if _IDENTITY.match(principal_arn):
        return
    if principal_arn.endswith(":root"):
        raise PolicyError(
            f"{principal_arn} is an account root user: identity policies cannot be attached to it",
            hint="suggest for a role or user ARN",
        )
    raise PolicyError(
        f"{principal_arn!r} is not an IAM role or user ARN",
        hint="pass arn:aws:iam::ACCOUNT:role/NAME or arn:aws:iam::ACCOUNT:user/NAME",
    )


def read(
    lake: Lake, principal_arn: str, since: datetime | None, until: datetime | None
) -> tuple[str, Activity, list[Use]]:
    """The principal's IAM action uses in ``[since, until)``.

    An assumed-role session ARN is resolved to its role through the events. Returns the
    resolved principal ARN, its activity and the uses (authorized and denied).
    """
    con = connect(lake)
    try:
        if _SESSION.match(principal_arn):
            rows = con.sql(_SESSION_SQL, params={"arn": principal_arn}).fetchall()
            if len(rows) != 1:
                raise PolicyError(
                    f"cannot tell which role the session {principal_arn} belongs to",
                    hint="pass the role ARN (arn:aws:iam::ACCOUNT:role/PATH/NAME)",
                )
            principal_arn = str(rows[0][0])
        check_principal_arn(principal_arn)
        window = {"since": naive_utc(since), "until": naive_utc(until)}
        params = {"principal_arn": principal_arn, **window}
        activity_row = con.sql(_ACTIVITY_SQL, params=params).to_arrow_table().to_pylist()[0]
        uses = con.sql(_USES_SQL, params=params).to_arrow_table().to_pylist()
        stale = con.sql(
            _STALE_SQL, params={**params, "mapping_version": mapping_version()}
        ).fetchall()[0][0]
        similar: tuple[str, ...] = ()
        if not activity_row["events"]:
            # A role or user named without its path (or with another) is the usual slip.
            kind, _, rest = principal_arn.partition("/")
            lookup = {
                "account": principal_arn.split(":")[4],
                "kind": kind,
                "name": rest.rsplit("/", 1)[-1],
            }
            similar = tuple(str(r[0]) for r in con.sql(_SIMILAR_SQL, params=lookup).fetchall())
    finally:
        con.close()
    activity = Activity(**activity_row, similar=similar, stale_rows=stale)
    return principal_arn, activity, [_use(row) for row in uses]


def _use(row: dict[str, Any]) -> Use:
    tuples = {"inferred_from", "calls", "regions", "invoked_by", "vpc_endpoints"}
    values: dict[str, Any] = {k: tuple(v or ()) if k in tuples else v for k, v in row.items()}
    return Use(**values)
