"""Replay a principal's calls against identity policies, in the lake's DuckDB.

1. ``replay_rows.sql`` gathers every (authorized call, IAM action, resource) of the window with
   the context columns the policies' condition keys need, and numbers each distinct (action,
   resource, context) as a request: a million calls are typically a few thousand requests.
2. Each request is evaluated once (:mod:`.evaluate`), in Python.
3. The verdicts go back as a table; SQL folds them per call (a call is refused when any of its
   requests is: a CopyObject needs both its GetObject and its PutObject) and per action.

Nothing is written: the rows live in a temporary table of an in-memory connection.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from trailwise.pipeline import sqlfile
from trailwise.pipeline.errors import QueryError
from trailwise.pipeline.lake import Lake
from trailwise.pipeline.mapping import catalogue
from trailwise.pipeline.policy import evidence
from trailwise.pipeline.policy import resources as res
from trailwise.pipeline.policy.replay.context import call_context, columns_for
from trailwise.pipeline.policy.replay.evaluate import Outcome, PolicySet, Unnamed
from trailwise.pipeline.policy.replay.model import Refusal, Replay, Unjudged
from trailwise.pipeline.policy.suggest import ALL_REQUIRED_TOGETHER
from trailwise.pipeline.query import connect, fetch
from trailwise.pipeline.timeutil import naive_utc

_PACKAGE = "trailwise.pipeline.policy.replay"
_SEVERITY = {
    Outcome.ALLOWED: 0,
    Outcome.UNKNOWN: 1,
    Outcome.EXPLICIT_DENY: 2,
    Outcome.IMPLICIT_DENY: 2,
}
_UNNAMED = sqlfile.load(_PACKAGE, "replay_unnamed")
_BATCH = 20_000
_VERDICTS = pa.schema(
    [
        ("request_id", pa.int64()),
        ("severity", pa.int8()),
        ("is_explicit_deny", pa.bool_()),
        ("statements", pa.list_(pa.string())),
        ("misses", pa.list_(pa.string())),
        ("unknown", pa.list_(pa.string())),
    ]
)


def replay(
    lake: Lake,
    principal_arn: str,
    documents: Sequence[tuple[str, Mapping[str, Any]]],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> Replay:
    """Judge every authorized call of ``principal_arn`` in ``[since, until)`` against
    ``documents`` ((name, identity policy) pairs) with IAM's evaluation logic.

    ``con``: a connection of :func:`query.connect` over ``lake`` to replay in, for a caller
    replaying many policies (making the views costs more than a replay on a small lake).

    Raises:
        PolicyError: a document IAM would reject, or an ARN that names no role or user.
    """
    policies = PolicySet.compile(documents)
    flags = columns_for(policies.condition_keys())
    own = con is None
    con = connect(lake) if con is None else con
    try:

        def ask(name: str, /, **params: Any) -> list[dict[str, Any]]:
            return fetch(con, sqlfile.text(_PACKAGE, name), **params)

        def ask_policy(name: str, /, **params: Any) -> list[dict[str, Any]]:
            return fetch(con, evidence.sql(name), **params)

        principal_arn = evidence.resolve_principal(ask_policy, principal_arn)
        window = {"since": naive_utc(since), "until": naive_utc(until)}
        query = sqlfile.load(_PACKAGE, "replay_rows")
        values = {"principal_arn": principal_arn, **window, **flags}
        con.execute(
            f"create or replace temp table _replay_rows as {query.sql}",
            {k: values[k] for k in query.placeholders},
        )
        _add_unnamed(con, ask)
        requests = con.sql(sqlfile.text(_PACKAGE, "replay_requests")).to_arrow_table()
        # A batch at a time: a policy on aws:CurrentTime can make each of a million calls a
        # request of its own, and a million rows as dicts would hold gigabytes.
        verdicts = pa.Table.from_batches(
            [
                pa.RecordBatch.from_pylist(
                    [_verdict(policies, row, principal_arn, flags) for row in batch.to_pylist()],
                    schema=_VERDICTS,
                )
                for batch in requests.to_batches(max_chunksize=_BATCH)
            ],
            schema=_VERDICTS,
        )
        del requests
        con.from_arrow(verdicts).create_view("_replay_verdicts")
        summary = ask("replay_summary")[0]
        refused = tuple(_refusal(row) for row in ask("replay_refused"))
        unknown = tuple(Unjudged(**row) for row in ask("replay_unknown"))
        denied = ask("replay_not_checked", principal_arn=principal_arn, **window)[0]
    except duckdb.Error as exc:  # out of memory, say: one line, as fetch reports its own
        raise QueryError(f"replay failed: {str(exc).splitlines()[0]}") from exc
    finally:
        if own:
            con.close()
    return Replay(
        principal_arn=principal_arn,
        since=since,
        until=until,
        policies=tuple(name for name, _ in documents),
        calls_checked=summary["calls_checked"],
        allowed=summary["allowed"],
        refused_calls=summary["refused"],
        unknown_calls=summary["unknown"],
        requests=summary["requests"],
        denied_calls=denied["denied_calls"],
        refused=refused,
        unknown=unknown,
    )


def _add_unnamed(con: duckdb.DuckDBPyConnection, ask: evidence.Ask) -> None:
    """Add a request without a resource to every call of an action that needs resources of a
    type its events never name.

    In EC2, Glue and RDS each call needs every required resource type at once (RunInstances:
    the image, instance, network interface, security groups and subnet), and CloudTrail names
    only some. Without these rows, a policy lacking ``instance/*`` would replay as allowing the
    calls it would refuse; with them, a Resource covering every such resource in the account
    and region allows, one that cannot match it refuses, any other is unknown (:func:`unnamed`).
    """
    for row in ask("replay_action_resources"):
        action = str(row["action"])
        info = catalogue.lookup(action)
        if info is None or info.prefix not in ALL_REQUIRED_TOGETHER:
            continue
        named = {rt.name for arn in row["resources"] or () if (rt := res.resource_type(info, arn))}
        for rt in info.resource_types:
            if not rt.required or rt.name in named:
                continue
            last = con.execute("select max(request_id) from _replay_rows").fetchone()
            params = {
                "action": action,
                "resource_type": rt.name,
                "first_request_id": int(last[0] if last else 0) + 1,
            }
            con.execute(f"insert into _replay_rows by name {_UNNAMED.sql}", params)


def request_resource(action: str, resource_arn: str | None) -> str | Unnamed | None:
    """The resource a request names: the event's ARN (a secret named by its name: that ARN and
    its six random characters, unknown); ``*`` for an action without resource-level permissions
    (IAM then matches only ``*``); None when the event names none."""
    if resource_arn and res.secret_named_without_suffix(resource_arn):
        return Unnamed("secret", (resource_arn + "-",), 6, "named without its ARN's random suffix")
    if resource_arn:
        return resource_arn
    info = catalogue.lookup(action)
    if info is not None and not info.resource_types:
        return "*"
    return None


def unnamed(action: str, type_name: str, principal_arn: str, region: str | None) -> Unnamed:
    """The resource of type ``type_name`` a call of ``action`` needs and its event does not
    name, known up to its first unknown part: in the principal's partition and account and the
    call's region (where RunInstances creates its instance)."""
    info = catalogue.lookup(action)
    types = [rt for rt in info.resource_types if rt.name == type_name] if info else []
    _, partition, _, _, account, _ = principal_arn.split(":", 5)
    scoped = [
        arn
        for rt in types
        for arn in res.scoped_wildcards(rt, partition, account, [region] if region else [])
    ]
    return Unnamed(type_name, tuple(arn.split("*", 1)[0] for arn in scoped))


def _verdict(
    policies: PolicySet, row: dict[str, Any], principal_arn: str, flags: Mapping[str, bool]
) -> dict[str, Any]:
    action = str(row["action"])
    resource: str | Unnamed | None
    if row["unnamed_type"]:
        resource = unnamed(action, str(row["unnamed_type"]), principal_arn, row["aws_region"])
    else:
        resource = request_resource(action, row["resource_arn"])
    decision = policies.evaluate(action, resource, call_context(row, principal_arn, flags))
    refused = decision.outcome in (Outcome.EXPLICIT_DENY, Outcome.IMPLICIT_DENY)
    return {
        "request_id": row["request_id"],
        "severity": _SEVERITY[decision.outcome],
        "is_explicit_deny": decision.outcome is Outcome.EXPLICIT_DENY,
        "statements": list(decision.statements) if refused else [],
        "misses": list(decision.misses) if refused else [],
        "unknown": list(decision.unknown) if decision.outcome is Outcome.UNKNOWN else [],
    }


def _refusal(row: dict[str, Any]) -> Refusal:
    return Refusal(
        **{k: v for k, v in row.items() if k not in ("statements", "misses")},
        statements=tuple(row["statements"] or ()),
        misses=tuple(row["misses"] or ()),
    )
