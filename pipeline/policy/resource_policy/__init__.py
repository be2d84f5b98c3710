"""Who really uses a bucket, key, queue, topic, function, secret or repository, its current
resource-based policy judged statement by statement, and the policy admitting exactly them.

The evidence is the ``resource_uses`` view (principals of any account, AWS services acting
with their own service principal, anonymous callers) and the latest capture of the resource's
account (``iam_resource_policies``, from ``trailwise iam load``). :mod:`.target` parses the
ARN, :mod:`.current` reviews the current policy, :mod:`.suggestion` builds the suggested one
(its docstring says what it admits and keeps), :mod:`.model` holds the results and
:mod:`.text` renders them.

Example::

    result = suggest_resource_policy(Lake("lake"), "arn:aws:s3:::acme-prod-artifacts")
    print(render_text(result))
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from trailwise.pipeline import sqlfile
from trailwise.pipeline.errors import PolicyError
from trailwise.pipeline.iam.observable import data_event_actions
from trailwise.pipeline.lake import Lake, as_lake
from trailwise.pipeline.policy.resource_policy.current import parse_statements, review
from trailwise.pipeline.policy.resource_policy.model import (
    Caller,
    CurrentPolicy,
    Finding,
    ResourcePolicySuggestion,
    StatementReview,
    Use,
)
from trailwise.pipeline.policy.resource_policy.render import validate_resource_policy
from trailwise.pipeline.policy.resource_policy.suggestion import suggested_document
from trailwise.pipeline.policy.resource_policy.target import Target, parse_target
from trailwise.pipeline.policy.resource_policy.text import render as render_text
from trailwise.pipeline.query import connect, fetch
from trailwise.pipeline.timeutil import naive_utc

__all__ = [
    "Caller",
    "CurrentPolicy",
    "Finding",
    "ResourcePolicySuggestion",
    "StatementReview",
    "Use",
    "render_text",
    "suggest_resource_policy",
]


def _sql(name: str) -> str:
    return sqlfile.text("trailwise.pipeline.policy.resource_policy", name)


def suggest_resource_policy(
    lake: Lake | str | Path,
    resource_arn: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> ResourcePolicySuggestion:
    """Who used ``resource_arn`` in the window, its current policy reviewed, and the suggested
    resource policy.

    Args:
        lake: the lake (or its directory); a capture of the resource's account (``trailwise
            iam load``) adds the current policy's review.
        resource_arn: a bucket (an object's ARN names its bucket), KMS key, SQS queue, SNS
            topic, Lambda function (a qualifier is dropped), secret or ECR repository.
        since: start of the window (inclusive); None: the first event.
        until: end of the window (exclusive); None: after the last event.

    Raises:
        UsageError: the ARN names no resource that can hold a resource-based policy.
        PolicyError: the captured policy is not a JSON policy document.
    """
    target = parse_target(resource_arn)
    store = as_lake(lake)
    store.require()
    start, end = naive_utc(since), naive_utc(until)
    con = connect(store)
    try:
        rows = fetch(
            con,
            _sql("resource_callers"),
            resource_arn=target.text,
            name_arn=target.name_arn,
            since=start,
            until=end,
        )
        account = target.account_id or _account(con, target, rows)
        organizations = {
            r["account_id"]: r["organization_id"] for r in fetch(con, _sql("lake_organizations"))
        }
        current = _current(con, target, account)
        held = fetch(con, _sql("account_events"), account_id=account)[0] if account else None
    finally:
        con.close()
    callers = _callers(rows, account, organizations)
    findings: list[Finding] = []
    unobservable = _unobservable(target, account, held, findings)
    statements = parse_statements(
        current.document, f"the captured policy of {current.captured_arn or target.text}"
    )
    reviews = review(
        statements,
        callers,
        service=target.service,
        resource_account=account,
        unobservable=unobservable,
    )
    document, notes, built = suggested_document(
        target, account, callers, statements, reviews, organizations
    )
    findings.extend(built)
    findings.extend(_review_findings(reviews, current, account))
    if target.service == "s3":
        findings.extend(_bucket_findings(current, reviews, callers))
    problems = (
        validate_resource_policy(document, service=target.service, resource_arn=target.text)
        if document
        else []
    )
    return ResourcePolicySuggestion(
        resource_arn=current.captured_arn or target.text,
        service=target.service,
        account_id=account,
        since=start,
        until=end,
        callers=callers,
        current=current,
        reviews=reviews,
        document=document,
        notes=notes,
        findings=findings,
        problems=problems,
    )


def _account(
    con: duckdb.DuckDBPyConnection, target: Target, callers: list[dict[str, Any]]
) -> str | None:
    """A bucket's account: its capture's, else the one the calls on it say (the bucket's
    accountId in their resources, else the account that logged them)."""
    (captured,) = fetch(con, _sql("resource_account"), resource_arn=target.text)
    if captured["account_id"]:
        return str(captured["account_id"])
    seen = Counter(r["resource_account_id"] for r in callers if r["resource_account_id"])
    return seen.most_common(1)[0][0] if seen else None


def _current(con: duckdb.DuckDBPyConnection, target: Target, account: str | None) -> CurrentPolicy:
    rows = (
        fetch(
            con,
            _sql("resource_policy_row"),
            account_id=account,
            resource_arn=target.text,
            name_arn=target.name_arn,
        )
        if account
        else []
    )
    if not rows or not rows[0]["is_captured"]:
        return CurrentPolicy("not captured", None, None, None, None, None)
    row = rows[0]
    details = json.loads(row["details"]) if row["details"] else None
    if row["resource_arn"] is None:
        return CurrentPolicy("no policy", None, None, None, None, row["captured_at"])
    if row["error_code"]:
        return CurrentPolicy(
            "unreadable", None, row["resource_arn"], row["error_code"], details, row["captured_at"]
        )
    if row["policy"] is None:
        return CurrentPolicy(
            "no policy", None, row["resource_arn"], None, details, row["captured_at"]
        )
    try:
        document = json.loads(row["policy"])
    except json.JSONDecodeError as exc:
        raise PolicyError(
            f"the captured policy of {row['resource_arn']} is not JSON: {exc}"
        ) from exc
    if not isinstance(document, dict):
        raise PolicyError(f"the captured policy of {row['resource_arn']} is not a JSON object")
    return CurrentPolicy("policy", document, row["resource_arn"], None, details, row["captured_at"])


def _callers(
    rows: list[dict[str, Any]], account: str | None, organizations: dict[str, str]
) -> list[Caller]:
    grouped: dict[tuple[str, str, str | None], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[(row["caller_kind"], row["caller_arn"], row["caller_account_id"])].append(row)
    out: list[Caller] = []
    for (kind, arn, caller_account), items in sorted(
        grouped.items(), key=lambda kv: (kv[0][0], kv[0][1])
    ):

        def merged(column: str, items: list[dict[str, Any]] = items) -> tuple[str, ...]:
            return tuple(sorted({v for r in items for v in r[column]}))

        out.append(
            Caller(
                kind=kind,
                arn=arn,
                account_id=caller_account,
                is_same_account=kind == "principal" and caller_account == account,
                organization_id=organizations.get(caller_account or ""),
                evidence=min(r["caller_evidence"] for r in items),
                uses=tuple(
                    Use(
                        action=r["action"],
                        resource_arn=r["action_resource_arn"],
                        calls=r["calls"],
                        denied=r["denied"],
                        explicit_denials=r["explicit_denials"],
                        denied_by=tuple(r["denied_by"]),
                        first_seen=r["first_seen"],
                        last_seen=r["last_seen"],
                    )
                    for r in items
                ),
                via_services=merged("via_services"),
                source_arns=merged("source_arns"),
                source_accounts=merged("source_accounts"),
                vpc_endpoints=merged("vpc_endpoints"),
            )
        )
    return out


def _unobservable(
    target: Target, account: str | None, held: dict[str, Any] | None, findings: list[Finding]
) -> frozenset[str]:
    """The actions of the resource's service the lake could not have seen for its account."""
    from trailwise.pipeline.iam.expand import matching_actions

    own = matching_actions(f"{target.service}:*")
    if not held or not held["events"]:
        findings.append(
            Finding(
                "account_not_in_lake",
                "warning",
                account,
                f"the lake holds no event of account {account or '(unknown)'}: no statement "
                "can be judged unused",
            )
        )
        return own
    logged = set(held["data_event_sources"])
    if f"{target.service}.amazonaws.com" in logged:
        return frozenset()
    return own & data_event_actions()


def _review_findings(
    reviews: list[StatementReview], current: CurrentPolicy, account: str | None
) -> list[Finding]:
    out: list[Finding] = []
    if current.state == "not captured":
        out.append(
            Finding(
                "not_captured",
                "info",
                account,
                "no capture of the resource's account is loaded: the current policy is not "
                "reviewed, its Deny statements are not kept (trailwise iam load --from-aws)",
            )
        )
    elif current.state == "unreadable":
        out.append(
            Finding(
                "unreadable_policy",
                "warning",
                current.captured_arn,
                f"the capture could not read the policy ({current.error_code}): its Deny "
                "statements are not kept",
            )
        )
    for r in reviews:
        label = r.sid or f"#{r.index}"
        if r.verdict == "unused":
            out.append(
                Finding(
                    "unused_statement",
                    "warning",
                    label,
                    f"statement {label} admitted no call in the window",
                )
            )
        out.extend(r.broader)
    return out


def _bucket_findings(
    current: CurrentPolicy, reviews: list[StatementReview], callers: list[Caller]
) -> list[Finding]:
    """What the bucket's public access block and object ownership change in the review."""
    details = current.details or {}
    block = details.get("PublicAccessBlock") or {}
    rules = details.get("OwnershipControls") or []
    enforced = any(r.get("ObjectOwnership") == "BucketOwnerEnforced" for r in rules)
    public = [
        r.sid or f"#{r.index}"
        for r in reviews
        if any(f.kind == "public_statement" for f in r.broader)
    ]
    out: list[Finding] = []
    if public and block.get("RestrictPublicBuckets"):
        out.append(
            Finding(
                "public_access_restricted",
                "info",
                ", ".join(public),
                "the bucket's public access block has RestrictPublicBuckets: its public "
                "statements admit only AWS service principals and principals of the bucket's "
                "own account",
            )
        )
    served = sum(c.calls for c in callers if c.kind == "anonymous")
    if served and not public and current.state in {"policy", "no policy"} and not enforced:
        out.append(
            Finding(
                "anonymous_through_acl",
                "high",
                "anonymous",
                f"{served} unauthenticated calls succeeded though no statement of the policy is "
                "public: an object or bucket ACL grants them (object ownership is not "
                "BucketOwnerEnforced)",
            )
        )
    return out
