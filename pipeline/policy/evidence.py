"""What a principal did, read from the lake: one row per (action, resource, outcome) it exercised.

The rows carry what the policy builder needs to decide resources and conditions: how often and
when, which calls (and why an inferred action was added), the regions, whether AWS services made
the calls on the principal's behalf, and whether they came through VPC endpoints.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from trailwise.pipeline import sqlfile
from trailwise.pipeline.errors import PolicyError
from trailwise.pipeline.lake import Lake
from trailwise.pipeline.mapping import mapping_version
from trailwise.pipeline.query import connect, fetch
from trailwise.pipeline.query.named import Queries
from trailwise.pipeline.timeutil import naive_utc

_PACKAGE = "trailwise.pipeline.policy"


def sql(name: str) -> str:
    """The text of one of the policy package's SQL files."""
    return sqlfile.text(_PACKAGE, name)


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


Ask = Callable[..., list[dict[str, Any]]]  # (sql file name, /, **params) -> rows


def resolve_principal(ask: Ask, principal_arn: str) -> str:
    """``principal_arn``, or the role of an assumed-role session ARN (found in the events);
    PolicyError unless the result names an IAM role or user."""
    if _SESSION.match(principal_arn):
        rows = ask("session_principals", arn=principal_arn)
        if len(rows) != 1:
            raise PolicyError(
                f"cannot tell which role the session {principal_arn} belongs to",
                hint="pass the role ARN (arn:aws:iam::ACCOUNT:role/PATH/NAME)",
            )
        principal_arn = str(_first(rows[0]))
    check_principal_arn(principal_arn)
    return principal_arn


def read(
    lake: Lake,
    principal_arn: str,
    since: datetime | None,
    until: datetime | None,
    queries: Queries | None = None,
) -> tuple[str, Activity, list[Use]]:
    """The principal's IAM action uses in ``[since, until)``, asked of DuckDB (or of
    ``queries``: Spark for ``policy bulk --engine spark``).

    An assumed-role session ARN is resolved to its role through the events. Returns the
    resolved principal ARN, its activity and the uses (authorized and denied).
    """
    con = connect(lake) if queries is None else None

    def ask(sql_name: str, /, **params: Any) -> list[dict[str, Any]]:
        if con is not None:
            return fetch(con, sql(sql_name), **params)
        assert queries is not None
        rows: list[dict[str, Any]] = queries.sql_file(_PACKAGE, sql_name, params).to_pylist()
        return rows

    try:
        principal_arn = resolve_principal(ask, principal_arn)
        window = {"since": naive_utc(since), "until": naive_utc(until)}
        params = {"principal_arn": principal_arn, **window}
        activity_row = ask("principal_activity", **params)[0]
        uses = ask("principal_uses", **params)
        stale = _first(ask("stale_action_rows", **params, mapping_version=mapping_version())[0])
        similar: tuple[str, ...] = ()
        if not activity_row["events"]:
            # A role or user named without its path (or with another) is the usual slip.
            kind, _, rest = principal_arn.partition("/")
            lookup = {
                "account": principal_arn.split(":")[4],
                "kind": kind,
                "name": rest.rsplit("/", 1)[-1],
            }
            similar = tuple(str(_first(r)) for r in ask("similar_principals", **lookup))
    finally:
        if con is not None:
            con.close()
    activity = Activity(**activity_row, similar=similar, stale_rows=stale)
    return principal_arn, activity, [_use(row) for row in uses]


def _first(row: dict[str, Any]) -> Any:
    return next(iter(row.values()))


def _use(row: dict[str, Any]) -> Use:
    tuples = {"inferred_from", "calls", "regions", "invoked_by", "vpc_endpoints"}
    values: dict[str, Any] = {k: tuple(v or ()) if k in tuples else v for k, v in row.items()}
    return Use(**values)
