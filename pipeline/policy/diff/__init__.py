"""What a principal is granted today against what it used: what to cut, policy by policy.

Each granted action (the latest IAM snapshot's expanded grants) falls in one group, decided by
the ``unused_permissions`` query:

- ``removable``: observable by CloudTrail and not used in the window;
- ``kept``: used (authorized calls) in the window;
- ``unjudgeable``: CloudTrail cannot show its use (no event maps to it, a data event the lake
  holds none of, a source the trail may exclude) or the lake holds no events of the account;
  each says why.

``used_not_granted`` lists the calls that were denied, with the policy type that refused them
and whether the identity policies grant the action on that resource at all: only a gap in
them can be closed by an identity policy.

Per policy (each ``granted_by`` source: inline, managed, through a group), every statement is
judged: ``redundant`` when all it grants is removable (or nothing it names reaches the
principal), ``partly_used``, ``used`` or ``unjudged``.

The replacement policies apply the removals and nothing else:

- a redundant statement is dropped; statements without removals, Deny statements, Resource,
  NotResource and Condition stay as they were (a policy left with Deny statements only stays);
- a statement that loses some actions keeps its used and unjudgeable ones. One that listed its
  actions keeps listing them; one that used wildcards is narrowed to word-prefix patterns
  (``s3:Replicate*``) whose every catalogue match it named and none of which is removed, a
  whole service kept as ``service:*``, so no pattern grants what the original did not;
- unjudgeable actions that cannot apply to the statement's resources (a Storage Lens action
  from ``s3:*`` on a bucket) are left out: the statement never allowed them; resources only a
  removed action could use are dropped;
- each replacement is validated (problems the rewrite introduced apart from those the original
  already had) and sized against IAM's quota; a managed policy too large is split.

Example::

    result = diff(Lake("lake"), "arn:aws:iam::111122223333:role/app-role")
    print(render_text(result))
"""

from __future__ import annotations

import functools
from datetime import datetime
from pathlib import Path

from trailwise.pipeline.iam.store import require_snapshot
from trailwise.pipeline.lake import Lake, as_lake
from trailwise.pipeline.policy.diff.denied import denied_uses
from trailwise.pipeline.policy.diff.evidence import (
    parse_principal,
    policy_sources,
    principal_row,
    resource_scopes,
)
from trailwise.pipeline.policy.diff.model import (
    ActionVerdict,
    DeniedUse,
    PolicyDiff,
    PolicyReview,
    Replacement,
    StatementReview,
)
from trailwise.pipeline.policy.diff.replacement import replacement_for
from trailwise.pipeline.policy.diff.review import review_policy, statements_of
from trailwise.pipeline.policy.diff.text import render as render_text
from trailwise.pipeline.query import connect, run_named
from trailwise.pipeline.query.named import Queries
from trailwise.pipeline.timeutil import naive_utc

__all__ = [
    "ActionVerdict",
    "DeniedUse",
    "PolicyDiff",
    "PolicyReview",
    "Replacement",
    "StatementReview",
    "diff",
    "render_text",
]

# The unused_permissions query needs both ends of its window: an open end becomes these.
_FAR_PAST = datetime(1970, 1, 1)
_FAR_FUTURE = datetime(9999, 12, 31)
_STATUS_GROUP = {
    "used": "kept",
    "unused": "removable",
    "not_observable": "unjudgeable",
    "outside_coverage": "unjudgeable",
}


def diff(
    lake: Lake | str | Path,
    principal_arn: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    queries: Queries | None = None,
) -> PolicyDiff:
    """Compare what ``principal_arn`` is granted (latest IAM snapshot) with its use in the window.

    Args:
        lake: the lake (or its directory), with events and an IAM snapshot of the account.
        principal_arn: a user or role ARN (an assumed-role session ARN names its role).
        since: start of the window (inclusive); None: the first event.
        until: end of the window (exclusive); None: after the last event.
        queries: where the event-side queries run (default: DuckDB; Spark for bulk on Spark).

    Raises:
        UsageError: not a user or role ARN, no snapshot loaded, or the principal is not in it.
        PolicyError: one of its policies cannot be read.
    """
    target = as_lake(lake)
    account, kind, name = parse_principal(principal_arn)
    require_snapshot(target)
    con = connect(target)
    try:
        principal = principal_row(con, account, kind, name, principal_arn)
        arn = str(principal["principal_arn"])
        sources = policy_sources(con, principal)
        scopes = resource_scopes(con, arn)
    finally:
        con.close()
    start, end = naive_utc(since) or _FAR_PAST, naive_utc(until) or _FAR_FUTURE
    ask = queries.named if queries is not None else functools.partial(run_named, target)
    verdict_rows = ask(
        "unused_permissions", {"since": start, "until": end, "principal_arn": arn}
    ).to_pylist()
    denied_rows = ask(
        "authorization_failure_events",
        {"since": naive_utc(since), "until": naive_utc(until), "principal_arn": arn},
    ).to_pylist()
    statements = [st for source in sources for st in statements_of(source)]
    denied = denied_uses(denied_rows, scopes, statements)
    denied_count: dict[str, int] = {}
    for d in denied:
        denied_count[d.action.lower()] = denied_count.get(d.action.lower(), 0) + d.attempts
    verdicts = [
        ActionVerdict(
            action=str(r["action"]),
            service=str(r["service"]),
            access_level=r["access_level"],
            status=str(r["status"]),
            reason=str(r["reason"]),
            last_seen=r["last_seen"],
            event_count=int(r["event_count"] or 0),
            granted_by=tuple(r["granted_by"] or ()),
            resource_scope=scopes.get(str(r["action"]), ()),
            is_conditional=bool(r["is_conditional"]),
            denied_calls=(
                denied_count.get(str(r["action"]).lower(), 0) if r["status"] != "used" else 0
            ),
        )
        for r in verdict_rows
    ]
    groups: dict[str, list[ActionVerdict]] = {"kept": [], "removable": [], "unjudgeable": []}
    for v in verdicts:
        groups[_STATUS_GROUP.get(v.status, "unjudgeable")].append(v)
    status_of = {v.action: _STATUS_GROUP.get(v.status, "unjudgeable") for v in verdicts}
    reviews = [review_policy(source, status_of) for source in sources]
    principal_type = str(principal["principal_type"])
    result = PolicyDiff(
        principal_arn=arn,
        principal_type=principal_type,
        account_id=str(principal["account_id"]),
        since=naive_utc(since),
        until=naive_utc(until),
        is_aws_managed=bool(principal["is_aws_managed"]),
        permissions_boundary_arn=principal["permissions_boundary_arn"],
        removable=groups["removable"],
        kept=groups["kept"],
        unjudgeable=groups["unjudgeable"],
        used_not_granted=denied,
        policies=reviews,
    )
    result.replacement = [
        r
        for review in reviews
        if (r := replacement_for(review, principal_type, arn, result.is_aws_managed)) is not None
    ]
    return result
