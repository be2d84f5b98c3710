"""resource_access: who used each resource that can hold a resource-based policy, on the sample
lake (scenario 10 of sample_logs/README.md)."""

from __future__ import annotations

from trailwise.pipeline import api

WINDOW = {"since": "2026-11-01", "until": "2026-11-06"}
DEV_SANDBOX = "arn:aws:iam::444455556666:role/dev-sandbox-role"


def rows_by_resource(sample_lake, **params):
    rows = api.run_named("resource_access", sample_lake, {**WINDOW, **params}).to_pylist()
    return {r["resource_arn"]: r for r in rows}


def test_a_read_logged_by_both_accounts_counts_once_for_the_buckets_account(sample_lake):
    artifacts = rows_by_resource(sample_lake)["arn:aws:s3:::acme-prod-artifacts"]
    assert artifacts["account_id"] == "111122223333"
    assert artifacts["external_principals"] == [DEV_SANDBOX]
    assert artifacts["external_accounts"] == ["444455556666"]
    assert artifacts["external_calls"] == 3


def test_an_aws_service_acting_with_its_own_principal_is_listed_as_a_service(sample_lake):
    logs = rows_by_resource(sample_lake)["arn:aws:s3:::acme-cloudtrail-logs"]
    assert logs["aws_services"] == ["cloudtrail.amazonaws.com"]
    assert logs["principals"] == []
    assert logs["service_calls"] == logs["calls"] > 0


def test_unauthenticated_calls_are_counted_and_named_in_the_reason(sample_lake):
    public = rows_by_resource(sample_lake)["arn:aws:s3:::acme-prod-public-downloads"]
    assert public["anonymous_calls"] == public["calls"] == 4
    assert public["denied"] == 1
    assert public["reason"].startswith("unauthenticated callers used it")


def test_the_policy_state_says_what_the_capture_holds(sample_lake):
    rows = rows_by_resource(sample_lake)
    assert rows["arn:aws:s3:::acme-prod-artifacts"]["policy_state"] == "policy"
    assert rows["arn:aws:s3:::acme-prod-reports"]["policy_state"] == "no policy"
    # Captured with its random suffix, called by its name.
    secret = "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/payments/api-key"
    assert rows[secret]["policy_state"] == "policy"


def test_account_and_service_narrow_the_rows(sample_lake):
    rows = rows_by_resource(sample_lake, account_id="999988887777", service="s3")
    assert list(rows) == ["arn:aws:s3:::acme-cloudtrail-logs"]
    assert rows_by_resource(sample_lake, service="sns") == {}
