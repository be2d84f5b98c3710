"""The page's content as data: sections of summary numbers, charts and tables, each naming the
figures (named queries) it comes from. :mod:`.page` puts them into the one template.

A number shown is a count or sum of one query's rows, never a figure of its own; each carries
``data-figure="QUERY.NAME"`` on the page, so that the tests (and a reader) can hold it against
``trailwise query QUERY``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from trailwise.pipeline.report import charts
from trailwise.pipeline.report.access import resources_and_federation
from trailwise.pipeline.report.blocks import (
    ROOT_ROWS,
    Block,
    Card,
    Column,
    Section,
    chart,
    count_rows,
    message,
    sum_column,
    table,
)
from trailwise.pipeline.report.model import Report


def overview(report: Report) -> Section:
    coverage, paths = report.figures["lake_coverage"], report.figures["identity_paths"]
    days = sorted({r["event_date"] for r in coverage.rows})
    accounts = sorted({r["account_id"] for r in coverage.rows})
    gap_rows = [r for r in coverage.rows if r["is_account_gap"]]
    account_gaps = sorted({(r["account_id"], r["event_date"]) for r in gap_rows})
    per_account: list[dict[str, Any]] = []
    for account in accounts:
        mine = [r for r in coverage.rows if r["account_id"] == account]
        region_events: Counter[str] = Counter()
        for r in mine:
            region_events[r["aws_region"]] += r["events"]
        gaps = sorted({r["event_date"] for r in mine if r["is_account_gap"]})
        per_account.append(
            {
                "account_id": account,
                "events": sum(region_events.values()),
                "regions": [f"{region} ({n:,})" for region, n in region_events.most_common()],
                "days": len({r["event_date"] for r in mine if not r["is_account_gap"]}),
                "gaps": [d.isoformat() for d in gaps],
            }
        )
    path_events: Counter[str] = Counter()
    for r in paths.rows:
        path_events[r["path"]] += r["events"]
    cards = (
        Card("events in the window", sum_column(coverage.rows, "events"), "lake_coverage.events"),
        Card("accounts", len(accounts), "lake_coverage.accounts"),
        Card("days", len(days), "lake_coverage.days"),
        Card(
            "account-days without events",
            len(account_gaps),
            "lake_coverage.account_gaps",
            alert=bool(account_gaps),
            note="a trail stopped, or files not yet ingested",
        ),
        Card(
            "human events",
            path_events["human"],
            "identity_paths.human",
            note=", ".join(f"{p} {path_events[p]:,}" for p in charts.PATHS[1:] if path_events[p]),
        ),
    )
    blocks = [
        chart(
            "Events per day and account, by identity path",
            [paths],
            charts.events_per_day(paths.rows),
            "How the credentials behind each event came to be: a person (human), CI/CD "
            "(deployer), code on AWS compute (workload), AWS itself (aws_service), another "
            "account's credentials (other_account). Each account's panel has its own scale.",
        ),
        chart(
            "Coverage: events per account, region and day",
            [coverage],
            charts.coverage(coverage.rows),
            "Red cells are days on which the region delivered no events while the lake holds "
            "events of other places that day.",
        ),
        table(
            "What the lake holds per account",
            [coverage],
            (
                Column("account_id", "account", "id"),
                Column("events", "events", "num"),
                Column("days", "days with events", "num"),
                Column("gaps", "days without any event", "list"),
                Column("regions", "regions (events)", "list"),
            ),
            per_account,
            top=50,
            figure="lake_coverage.account_rows",
        ),
    ]
    if len({(r["account_id"], r["aws_region"]) for r in coverage.rows}) > charts.MAX_HEATMAP_ROWS:
        blocks[1] = chart(
            blocks[1].title,
            [coverage],
            blocks[1].spec or {},
            f"The first {charts.MAX_HEATMAP_ROWS} account and region rows; the table below "
            "lists every account.",
        )
    return Section(
        "overview",
        "Overview",
        f"{len(accounts)} accounts over {len(days)} days"
        + (f" ({days[0].isoformat()} to {days[-1].isoformat()})" if days else ""),
        cards,
        tuple(blocks),
    )


def root(report: Report) -> Section:
    activity, summary = report.figures["root_activity"], report.figures["root_summary"]
    rows = sorted(activity.rows, key=lambda r: r["event_time"], reverse=True)
    no_mfa = [r for r in rows if r["is_console_login"] and r["is_success"] and not r["mfa_used"]]
    key_rows = [r for r in rows if r["root_session_kind"] == "access_key"]
    keys = sorted({k for r in summary.rows for k in r["access_keys_used"] or []})
    cards = (
        Card("root events", len(activity.rows), "root_activity.events", alert=bool(rows)),
        Card(
            "sign-ins without MFA",
            sum_column(summary.rows, "console_logins_without_mfa"),
            "root_summary.console_logins_without_mfa",
            alert=bool(no_mfa),
        ),
        Card(
            "failed sign-ins",
            sum_column(summary.rows, "failed_logins"),
            "root_summary.failed_logins",
            alert=sum_column(summary.rows, "failed_logins") > 0,
        ),
        Card(
            "calls with root access keys",
            sum_column(summary.rows, "access_key_calls"),
            "root_summary.access_key_calls",
            alert=bool(key_rows),
        ),
        Card("root access keys used", len(keys), "root_summary.access_keys_used", alert=bool(keys)),
    )
    event_columns = (
        Column("event_time", "time (UTC)", "time"),
        Column("account_id", "account", "id"),
        Column("root_session_kind", "how root got in"),
        Column("event_name", "event"),
        Column("is_success", "succeeded", "bool"),
        Column("mfa_used", "MFA", "bool"),
        Column("source_ip", "source IP", "id"),
        Column("reason", "why it is here", "long"),
    )
    blocks: list[Block] = []
    if rows:
        spec, unit = charts.root_timeline(rows)
        lanes = len({r["account_id"] for r in rows})
        blocks.append(
            chart(
                "Every root event" if unit == "event" else f"Root events per {unit}",
                [activity],
                spec,
                "One lane per account"
                + (
                    f" (the {charts.MAX_LANES} with the most root events)"
                    if lanes > charts.MAX_LANES
                    else ""
                )
                + "; a cross is a failed sign-in or call"
                + ("." if unit == "event" else f"; a point's size is its events in the {unit}."),
            )
        )
    blocks += [
        table(
            "Root per account",
            [summary],
            (
                Column("account_id", "account", "id"),
                Column("events", "events", "num"),
                Column("console_logins", "sign-ins", "num"),
                Column("console_logins_without_mfa", "without MFA", "num"),
                Column("failed_logins", "failed sign-ins", "num"),
                Column("api_calls", "API calls", "num"),
                Column("access_keys_used", "access keys used", "list"),
                Column("assumed_root_calls", "AssumeRoot calls", "num"),
                Column("last_activity_at", "last activity", "time"),
            ),
            summary.rows,
            top=50,
            figure="root_summary.accounts",
        ),
        table(
            "Sign-ins without MFA",
            [activity],
            event_columns,
            no_mfa,
            figure="root_activity.sign_ins_without_mfa",
        ),
        table(
            "Calls with root access keys",
            [activity],
            (*event_columns[:4], Column("access_key_id", "access key", "id"), *event_columns[4:]),
            key_rows,
            figure="root_activity.access_key_calls",
        ),
        table(
            "All root events, newest first",
            [activity],
            event_columns,
            rows,
            top=ROOT_ROWS,
            figure="root_activity.rows",
        ),
    ]
    return Section(
        "root",
        "Root",
        "Root can do anything and no policy of the account limits it: every use deserves a "
        "reason. AWS service events are left out (root_activity's default).",
        cards,
        tuple(blocks),
    )


def failures(report: Report) -> Section:
    events, grouped = (
        report.figures["authorization_failure_events"],
        report.figures["authorization_failures"],
    )
    rows = sorted(grouped.rows, key=lambda r: (-r["failures"], r["principal_arn"] or ""))
    per_principal: Counter[str] = Counter()
    per_action: Counter[str] = Counter()
    for r in grouped.rows:
        per_principal[r["principal_arn"] or "(none)"] += r["failures"]
        per_action[r["action"] or "(unknown)"] += r["failures"]
    explicit = count_rows(events.rows, lambda r: bool(r["is_explicit_deny"]))
    cards = (
        Card(
            "denied calls",
            sum_column(grouped.rows, "failures"),
            "authorization_failures.total",
            alert=bool(grouped.rows),
        ),
        Card("explicit denies", explicit, "authorization_failure_events.explicit_denies"),
        Card("principals denied", len(per_principal), "authorization_failures.principals"),
        Card("actions denied", len(per_action), "authorization_failures.actions"),
    )
    blocks: list[Block] = []
    if events.rows:
        blocks += [
            chart(
                "Denied calls per day, by error code",
                [events],
                charts.failures_per_day(events.rows),
            ),
            chart(
                "Denied calls by the policy type that refused them",
                [events],
                charts.denials_by_policy(events.rows),
                "An explicit deny (SCP, boundary, resource or session policy) cannot be fixed by "
                "an Allow; 'no statement allows' is a gap in the identity or resource policies.",
            ),
        ]
    blocks += [
        table(
            "Top denied calls",
            [grouped],
            (
                Column("failures", "denied", "num"),
                Column("principal_arn", "principal", "arn"),
                Column("action", "action", "code"),
                Column("resource", "resource", "arn"),
                Column("error_code", "error code"),
                Column("reason", "reason", "long"),
                Column("last_seen", "last seen", "time"),
            ),
            rows,
            figure="authorization_failures.rows",
        ),
        table(
            "Principals with the most denied calls",
            [grouped],
            (Column("principal_arn", "principal", "arn"), Column("failures", "denied", "num")),
            [{"principal_arn": p, "failures": n} for p, n in per_principal.most_common()],
            top=10,
            wide=False,
        ),
        table(
            "Actions denied most",
            [grouped],
            (Column("action", "action", "code"), Column("failures", "denied", "num")),
            [{"action": a, "failures": n} for a, n in per_action.most_common()],
            top=10,
            wide=False,
        ),
    ]
    return Section(
        "failures",
        "Authorization failures",
        "Calls refused by IAM (every access-denied error code), with the action, resource and "
        "the policy type the error message names.",
        cards,
        tuple(blocks),
    )


def identities(report: Report) -> Section:
    paths = report.figures["identity_paths"]
    shared = report.figures["shared_roles"]
    cross = report.figures["cross_account_access"]
    keys = report.figures["long_lived_keys"]
    path_rows = sorted(paths.rows, key=lambda r: (-r["events"], r["principal_arn"] or ""))
    cross_rows = sorted(cross.rows, key=lambda r: (-r["calls"], r["caller_arn"] or ""))
    external = {r["external_account_id"] for r in cross.rows}
    cards = (
        Card(
            "principals", len({r["principal_arn"] for r in paths.rows}), "identity_paths.principals"
        ),
        Card("shared roles", len(shared.rows), "shared_roles.rows", alert=bool(shared.rows)),
        Card("external accounts", len(external), "cross_account_access.external_accounts"),
        Card("long-lived keys used", len(keys.rows), "long_lived_keys.rows", alert=bool(keys.rows)),
        Card(
            "root keys",
            count_rows(keys.rows, lambda r: bool(r["is_root_key"])),
            "long_lived_keys.root_keys",
            alert=any(r["is_root_key"] for r in keys.rows),
        ),
    )
    blocks = (
        table(
            "Paths per principal",
            [paths],
            (
                Column("principal_arn", "principal", "arn"),
                Column("account_id", "account", "id"),
                Column("path", "path"),
                Column("events", "events", "num"),
                Column("sessions", "sessions", "num"),
                Column("session_sources", "created by", "list"),
                Column("user_agents", "clients", "list"),
                Column("reasons", "why this path", "list"),
            ),
            path_rows,
            figure="identity_paths.rows",
        ),
        table(
            "Shared roles",
            [shared],
            (
                Column("role_arn", "role", "arn"),
                Column("shared_by", "shared by", "list"),
                Column("paths", "paths", "list"),
                Column("events", "events", "num"),
                Column("reason", "why it is shared", "long"),
                Column("last_seen", "last seen", "time"),
            ),
            shared.rows,
            caption="One role behind several kinds of actor or several workloads: it holds the "
            "union of their permissions.",
            figure="shared_roles.rows",
        ),
        table(
            "Cross-account callers",
            [cross],
            (
                Column("direction", "direction"),
                Column("account_id", "account", "id"),
                Column("external_account_id", "other account", "id"),
                Column("is_external_account_in_lake", "other in lake", "bool"),
                Column("caller_arn", "caller", "arn"),
                Column("event_name", "call"),
                Column("role_arn", "role", "arn"),
                Column("calls", "calls", "num"),
                Column("denied", "denied", "num"),
                Column("last_seen", "last seen", "time"),
            ),
            cross_rows,
            figure="cross_account_access.rows",
        ),
        table(
            "Long-lived access keys (AKIA), root keys first",
            [keys],
            (
                Column("access_key_id", "access key", "id"),
                Column("principal_arn", "principal", "arn"),
                Column("is_root_key", "root key", "bool"),
                Column("calls", "calls", "num"),
                Column("denied", "denied", "num"),
                Column("services", "services", "list"),
                Column("last_seen", "last use", "time"),
            ),
            keys.rows,
            caption="Keys valid until someone deletes them: prefer roles or Identity Center, or "
            "rotate them.",
            figure="long_lived_keys.rows",
        ),
    )
    return Section(
        "identities",
        "Identities",
        "Who acts in the accounts and through which credentials.",
        cards,
        blocks,
        headline="long_lived_keys.rows",
    )


def _is_bulk_candidate(row: Mapping[str, Any]) -> bool:
    """What ``policy bulk`` right-sizes: not service-linked, not an Identity Center role."""
    arn = row["principal_arn"] or ""
    return not row["is_aws_managed"] and ":role/aws-reserved/sso.amazonaws.com/" not in arn


def least_privilege(report: Report) -> Section:
    sensitive = report.figures["sensitive_actions"]
    summary = report.figures.get("unused_permissions_summary")
    sensitive_rows = sorted(sensitive.rows, key=lambda r: r["event_time"], reverse=True)
    categories = Counter(r["category"] for r in sensitive.rows)
    cards: list[Card] = []
    blocks: list[Block] = []
    if summary is None:
        reason = (
            "The lake holds no IAM snapshot, so what principals are granted is unknown. Load one "
            "per account, then build the report again: "
            "`aws iam get-account-authorization-details > auth.json` and "
            "`trailwise iam load auth.json` (or `trailwise iam load --from-aws`)."
            if not report.has_iam_snapshot
            else "The lake holds no events, so no window to judge permissions over."
        )
        blocks.append(message("Granted against used", [], reason))
    else:
        candidates = [r for r in summary.rows if _is_bulk_candidate(r)]
        wins = sorted(
            (
                {**r, "reduction": (r["unused"] or 0) / r["granted"]}
                for r in candidates
                if r["granted"] and r["unused"]
            ),
            key=lambda r: (-(r["unused"] or 0), r["principal_arn"]),
        )
        cards += [
            Card("principals judged", len(summary.rows), "unused_permissions_summary.principals"),
            Card(
                "granted actions",
                sum_column(summary.rows, "granted"),
                "unused_permissions_summary.granted",
            ),
            Card(
                "unused (removable)",
                sum_column(summary.rows, "unused"),
                "unused_permissions_summary.unused",
                alert=sum_column(summary.rows, "unused") > 0,
            ),
            Card(
                "not observable",
                sum_column(summary.rows, "not_observable"),
                "unused_permissions_summary.not_observable",
                note="CloudTrail cannot show their use",
            ),
        ]
        blocks += [
            chart(
                "Granted against used, per principal",
                [summary],
                charts.permission_use(summary.rows),
                f"The {charts.MAX_BARS} principals granted the most actions. Unused actions are "
                "observable by CloudTrail and were not used in the window.",
            ),
            table(
                "Biggest right-sizing wins",
                [summary],
                (
                    Column("principal_arn", "principal", "arn"),
                    Column("granted", "granted", "num"),
                    Column("used", "used", "num"),
                    Column("unused", "removable", "num"),
                    Column("reduction", "reduction", "pct"),
                    Column("not_observable", "not observable", "num"),
                    Column("services_never_used", "services never used", "list"),
                    Column("last_activity_at", "last activity", "time"),
                ),
                wins,
                caption="Removable is what `trailwise policy bulk` removes for each principal "
                "(granted, observable, not used); service-linked and Identity Center roles are "
                "left out as bulk leaves them. `trailwise policy bulk --out DIR` writes the "
                "replacement policies.",
                figure="unused_permissions_summary.wins",
            ),
        ]
    cards.append(
        Card(
            "sensitive calls",
            len(sensitive.rows),
            "sensitive_actions.rows",
            alert=bool(sensitive.rows),
            note=", ".join(f"{c} {n}" for c, n in categories.most_common(3)),
        )
    )
    if sensitive.rows:
        blocks.append(
            chart(
                "Sensitive calls by category",
                [sensitive],
                charts.sensitive_by_category(sensitive.rows),
            )
        )
    blocks.append(
        table(
            "Sensitive calls, newest first",
            [sensitive],
            (
                Column("event_time", "time (UTC)", "time"),
                Column("category", "category"),
                Column("action", "action", "code"),
                Column("principal_arn", "principal", "arn"),
                Column("resource_arn", "resource", "arn"),
                Column("reason", "why it matters", "long"),
                Column("source_ip", "source IP", "id"),
            ),
            sensitive_rows,
            top=25,
            caption="Successful calls that change who can do what or hide activity: role "
            "passing (iam:PassRole), KMS key destruction, Organizations, IAM and trust policy "
            "changes, logging and detection switched off, public access.",
            figure="sensitive_actions.table",
        )
    )
    return Section(
        "least-privilege",
        "Least privilege",
        "What principals are granted (latest IAM snapshot) against what they used in the window, "
        "and the calls that widen access.",
        tuple(cards),
        tuple(blocks),
        headline="unused_permissions_summary.unused",
    )


def sections(report: Report) -> list[Section]:
    """The page's sections, in order."""
    return [
        overview(report),
        root(report),
        failures(report),
        identities(report),
        least_privilege(report),
        resources_and_federation(report),
    ]
