"""Who was denied what and why: every access-denied code, counts that reconcile with the events."""

from __future__ import annotations

from trailwise.pipeline import api

WINDOW = {"since": "2026-11-01", "until": "2026-11-06"}
DENIED_FAMILY = (
    "AccessDenied",
    "AccessDeniedException",
    "Client.UnauthorizedOperation",
    "UnauthorizedOperation",
    "Client.OperationNotPermitted",
    "UnauthorizedAccess",
    "Forbidden",
)


def test_failures_add_up_to_the_denied_events_in_the_window(sample_lake):
    rows = api.run_named("authorization_failures", sample_lake, WINDOW).to_pylist()
    [expected] = api.run_sql(
        f"select count(*) as n from events where error_code in {DENIED_FAMILY!r} "
        "and event_time >= '2026-11-01' and event_time < '2026-11-06'",
        sample_lake,
    ).to_pylist()
    assert sum(r["failures"] for r in rows) == expected["n"] > 10


def test_dry_runs_and_errors_after_authorization_are_not_failures(sample_lake):
    codes = {
        r["error_code"]
        for r in api.run_named("authorization_failure_events", sample_lake, WINDOW).to_pylist()
    }
    assert codes <= set(DENIED_FAMILY)
    assert not codes & {"Client.DryRunOperation", "NoSuchKey"}


def test_each_denial_says_which_policy_denied_it(sample_lake):
    reasons = {
        r["reason"]
        for r in api.run_named("authorization_failure_events", sample_lake, WINDOW).to_pylist()
    }
    assert {
        "explicit deny in a service control policy",
        "explicit deny in a permissions boundary",
        "no session policy allows the action",
        "explicit deny in a resource-based policy",
        "no identity-based policy allows the action",
    } <= reasons


def test_the_denied_action_and_resource_come_from_the_message(sample_lake):
    rows = api.run_named(
        "authorization_failure_events",
        sample_lake,
        {**WINDOW, "principal_arn": "arn:aws:iam::111122223333:role/app-role"},
    ).to_pylist()
    put_item = next(r for r in rows if r["action"] == "dynamodb:PutItem")
    assert put_item["resource"] == "arn:aws:dynamodb:us-east-1:111122223333:table/payments"
    assert put_item["caller_arn"].startswith("arn:aws:sts::111122223333:assumed-role/app-role/")


def test_without_a_window_every_denied_event_in_the_lake_counts(sample_lake):
    rows = api.run_named("authorization_failures", sample_lake, {}).to_pylist()
    [expected] = api.run_sql(
        f"select count(*) as n from events where error_code in {DENIED_FAMILY!r}", sample_lake
    ).to_pylist()
    assert sum(r["failures"] for r in rows) == expected["n"] > 10
