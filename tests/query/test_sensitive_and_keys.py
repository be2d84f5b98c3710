"""Long-lived access keys and sensitive actions: who signs with AKIA keys, and which successful
calls changed who can do what or hid activity. Counts reconcile with the raw events."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.given import an_event, given_delivery_file
from trailwise.pipeline import api
from trailwise.pipeline.errors import QueryError
from trailwise.pipeline.query import catalogue_table, named_queries

WINDOW = {"since": "2026-11-01", "until": "2026-11-06"}
CI_ROLE = "arn:aws:iam::111122223333:role/github-actions-deploy"
ALICE_ROLE = (
    "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/"
    "AWSReservedSSO_AdministratorAccess_0123456789abcdef"
)
ROOT = {
    "type": "Root",
    "principalId": "111122223333",
    "arn": "arn:aws:iam::111122223333:root",
    "accountId": "111122223333",
    "accessKeyId": "AKIAROOTKEY000000001",
}
DEPLOYER = {
    "type": "IAMUser",
    "principalId": "AIDADEPLOYER00000001",
    "arn": "arn:aws:iam::111122223333:user/deployer",
    "accountId": "111122223333",
    "accessKeyId": "AKIADEPLOYERKEY00001",
    "userName": "deployer",
}


def a_lake(tmp_path: Path, *events: dict[str, Any]) -> Path:
    """A lake (no IAM snapshot) holding just these events."""
    given_delivery_file(tmp_path / "logs", list(events))
    lake = tmp_path / "lake"
    api.ingest([str(tmp_path / "logs")], lake)
    return lake


def a_write(source: str, name: str, parameters: dict[str, Any] | None, **overrides: Any) -> Any:
    return an_event(
        eventSource=f"{source}.amazonaws.com",
        eventName=name,
        requestParameters=parameters,
        readOnly=False,
        **overrides,
    )


def sensitive(lake: Path, **params: str) -> list[dict[str, Any]]:
    return api.run_named("sensitive_actions", lake, params).to_pylist()


def count(lake: Path, where: str) -> int:
    [row] = api.run_sql(f"select count(*) as n from events where {where}", lake).to_pylist()
    return int(row["n"])


# long_lived_keys


def test_long_lived_key_calls_add_up_to_the_akia_events_in_the_window(sample_lake):
    rows = api.run_named("long_lived_keys", sample_lake, WINDOW).to_pylist()
    expected = count(
        sample_lake,
        "user_identity_access_key_id like 'AKIA%' "
        "and event_time >= '2026-11-01' and event_time < '2026-11-06'",
    )
    assert sum(r["calls"] for r in rows) == expected > 0
    for row in rows:
        assert row["calls"] == row["succeeded"] + row["denied"] + row["other_errors"]


def test_each_key_splits_its_calls_into_succeeded_denied_and_failed_after_authorization(
    sample_lake,
):
    rows = api.run_named("long_lived_keys", sample_lake).to_pylist()
    bob = next(r for r in rows if r["principal_arn"] == "arn:aws:iam::444455556666:user/dev.bob")
    # a dry run passed authorization: the key worked, so it is no denial (the last success is
    # day 3's AssumeRole of the sandbox role, scenario 10)
    assert (bob["calls"], bob["succeeded"], bob["denied"], bob["other_errors"]) == (10, 7, 2, 1)
    assert bob["access_key_id"] == "AKIAJXGIJWWRWZCYDZBI"
    assert bob["services"] == ["ec2.amazonaws.com", "sts.amazonaws.com"]
    assert bob["regions"] == ["eu-west-1", "us-east-1"]
    assert bob["source_ips"] == ["2001:db8:4a7c:1e00:8d31:5f2b:9c04:7e11"]
    assert str(bob["first_seen"]) == "2026-11-02 10:02:11"
    assert str(bob["last_seen"]) == "2026-11-04 11:32:07"


def test_role_and_console_sessions_are_not_long_lived_keys(sample_lake):
    rows = api.run_named("long_lived_keys", sample_lake).to_pylist()
    assert sorted((r["principal_arn"], r["access_key_id"]) for r in rows) == [
        ("arn:aws:iam::111122223333:user/service-accounts/reporting-svc", "AKIAAPUPF6OH7RRYG245"),
        ("arn:aws:iam::444455556666:user/dev.bob", "AKIAJXGIJWWRWZCYDZBI"),
    ]
    # the sample's root signs in to the console: its ASIA session credentials are not a root key
    assert not any(r["is_root_key"] for r in rows)


def test_the_window_and_the_principal_narrow_the_keys(sample_lake):
    one_day = {"since": "2026-11-03", "until": "2026-11-04"}
    rows = api.run_named(
        "long_lived_keys",
        sample_lake,
        {
            **one_day,
            "principal_arn": "arn:aws:iam::111122223333:user/service-accounts/reporting-svc",
        },
    ).to_pylist()
    assert [r["access_key_id"] for r in rows] == ["AKIAAPUPF6OH7RRYG245"]
    assert rows[0]["calls"] == count(
        sample_lake,
        "user_identity_access_key_id = 'AKIAAPUPF6OH7RRYG245' "
        "and event_time >= '2026-11-03' and event_time < '2026-11-04'",
    )
    dev = api.run_named("long_lived_keys", sample_lake, {"account_id": "444455556666"})
    assert dev.column("principal_arn").to_pylist() == ["arn:aws:iam::444455556666:user/dev.bob"]


def test_a_root_access_key_is_flagged_and_listed_first_without_any_iam_snapshot(tmp_path):
    lake = a_lake(
        tmp_path,
        an_event(userIdentity=DEPLOYER, eventTime="2026-11-02T08:00:00Z"),
        an_event(userIdentity=ROOT, eventTime="2026-11-02T09:00:00Z"),
        an_event(
            userIdentity=ROOT,
            eventTime="2026-11-02T09:30:00Z",
            eventSource="iam.amazonaws.com",
            eventName="ListUsers",
            sourceIPAddress="198.51.100.9",
        ),
    )
    rows = api.run_named("long_lived_keys", lake).to_pylist()
    assert [(r["access_key_id"], r["is_root_key"], r["calls"]) for r in rows] == [
        ("AKIAROOTKEY000000001", True, 2),
        ("AKIADEPLOYERKEY00001", False, 1),
    ]
    root = rows[0]
    assert root["principal_arn"] == "arn:aws:iam::111122223333:root"
    assert root["principal_type"] == "Root"
    assert root["services"] == ["iam.amazonaws.com", "s3.amazonaws.com"]
    assert root["source_ips"] == ["198.51.100.9", "203.0.113.7"]
    assert "root user" in root["reason"]
    assert "IAM user" in rows[1]["reason"]


# sensitive_actions


def test_the_sample_holds_role_passing_by_ci_and_alices_trail_selector_changes(sample_lake):
    rows = sensitive(sample_lake, **WINDOW)
    assert Counter((r["category"], r["principal_arn"]) for r in rows) == {
        ("role_passing", CI_ROLE): 4,
        ("logging_changed", ALICE_ROLE): 2,
        ("anonymous_read", "anonymous"): 3,
    }
    create_function = next(r for r in rows if r["event_name"] == "CreateFunction20150331")
    assert create_function["resource_arn"] == (
        "arn:aws:iam::111122223333:role/service-role/orders-processor-role"
    )
    assert create_function["reason"].endswith("(iam:PassRole via requestParameters.role)")
    selectors = next(r for r in rows if r["action"] == "cloudtrail:PutEventSelectors")
    assert selectors["caller_arn"].endswith("/alice@example.com")
    assert "advancedEventSelectors" in selectors["detail"]


def test_sensitive_rows_reconcile_with_the_raw_events(sample_lake):
    rows = sensitive(sample_lake, **WINDOW)
    per_action = Counter(r["action"] for r in rows)
    assert per_action["cloudtrail:PutEventSelectors"] == count(
        sample_lake, "event_name = 'PutEventSelectors' and error_code is null"
    )
    # CI passes a role in every successful CreateFunction (role) and RegisterTaskDefinition
    # (executionRoleArn) of the sample
    assert per_action["iam:PassRole"] == count(
        sample_lake,
        "event_name in ('CreateFunction20150331', 'RegisterTaskDefinition') and error_code is null",
    )
    assert len({r["event_id"] for r in rows}) == len(rows)


def test_denied_attempts_are_not_sensitive_actions(sample_lake):
    # the sample's denied ScheduleKeyDeletion (SCP), CreateRole (boundary), PutBucketPolicy
    actions = {r["action"] for r in sensitive(sample_lake)}
    assert not actions & {"kms:ScheduleKeyDeletion", "iam:CreateRole", "s3:PutBucketPolicy"}
    denied = {r["action"] for r in api.run_named("authorization_failures", sample_lake).to_pylist()}
    assert {"kms:ScheduleKeyDeletion", "iam:CreateRole", "s3:PutBucketPolicy"} <= denied


def test_a_change_that_failed_after_authorization_is_not_sensitive(tmp_path):
    lake = a_lake(
        tmp_path,
        a_write(
            "iam",
            "DeleteLoginProfile",
            {"userName": "victim"},
            errorCode="EntityTemporarilyUnmodifiableException",
            errorMessage="Login Profile for User victim cannot be modified while login profile "
            "is being created.",
        ),
        a_write("iam", "CreateLoginProfile", {"userName": "victim"}),
        a_write(
            "iam",
            "AttachUserPolicy",
            {"userName": "victim", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
            errorCode="NoSuchEntityException",
            errorMessage="The user with name victim cannot be found.",
        ),
    )
    rows = sensitive(lake)
    assert [(r["category"], r["action"], r["detail"]) for r in rows] == [
        ("iam_credentials", "iam:CreateLoginProfile", "victim")
    ]


def test_versioned_event_names_are_covered_through_their_action(tmp_path):
    lake = a_lake(
        tmp_path,
        a_write(
            "lambda",
            "UpdateFunctionConfiguration20150331v2",
            {"functionName": "orders", "role": "arn:aws:iam::111122223333:role/admin"},
        ),
        a_write(
            "lambda",
            "AddPermission20150331v2",
            {
                "functionName": "orders",
                "statementId": "public",
                "action": "lambda:InvokeFunction",
                "principal": "*",
            },
        ),
    )
    rows = sensitive(lake)
    assert [(r["event_name"], r["category"], r["action"]) for r in rows] == [
        ("UpdateFunctionConfiguration20150331v2", "role_passing", "iam:PassRole"),
        ("AddPermission20150331v2", "resource_policy_change", "lambda:AddPermission"),
    ]
    assert rows[0]["resource_arn"] == "arn:aws:iam::111122223333:role/admin"
    assert rows[1]["detail"] == "*"


def test_a_share_counts_only_when_it_adds_an_account(tmp_path):
    lake = a_lake(
        tmp_path,
        a_write(
            "ec2",
            "ModifySnapshotAttribute",
            {
                "snapshotId": "snap-0a1b2c3d4e5f60718",
                "attributeType": "CREATE_VOLUME_PERMISSION",
                "createVolumePermission": {"add": {"items": [{"group": "all"}]}},
            },
        ),
        a_write(
            "ec2",
            "ModifySnapshotAttribute",
            {
                "snapshotId": "snap-0a1b2c3d4e5f60718",
                "attributeType": "CREATE_VOLUME_PERMISSION",
                "createVolumePermission": {"remove": {"items": [{"userId": "444455556666"}]}},
            },
        ),
        a_write(
            "ec2",
            "ModifyImageAttribute",
            {"imageId": "ami-0a1b2c3d4e5f60718", "description": {"value": "orders api"}},
        ),
    )
    rows = sensitive(lake)
    assert [(r["category"], r["action"], r["detail"]) for r in rows] == [
        ("resource_shared", "ec2:ModifySnapshotAttribute", '[{"group":"all"}]')
    ]


def test_guardduty_counts_when_switched_off_and_not_when_switched_on(tmp_path):
    lake = a_lake(
        tmp_path,
        a_write("guardduty", "UpdateDetector", {"detectorId": "d1", "enable": False}),
        a_write("guardduty", "UpdateDetector", {"detectorId": "d1", "enable": True}),
        a_write("guardduty", "DeleteDetector", {"detectorId": "d2"}),
        a_write("kms", "ScheduleKeyDeletion", {"keyId": "k1", "pendingWindowInDays": 7}),
        a_write("organizations", "LeaveOrganization", None),
    )
    rows = sensitive(lake)
    assert [(r["category"], r["action"], r["detail"]) for r in rows] == [
        ("detection_disabled", "guardduty:UpdateDetector", "false"),
        ("detection_disabled", "guardduty:DeleteDetector", "d2"),
        ("kms_key_destruction", "kms:ScheduleKeyDeletion", "7"),
        ("organizations_change", "organizations:LeaveOrganization", None),
    ]


def test_allow_listed_principals_are_left_out_by_arn_or_glob(sample_lake):
    everything = sensitive(sample_lake, **WINDOW)
    without_ci = sensitive(sample_lake, **WINDOW, allow_principals=CI_ROLE)
    by_glob = sensitive(
        sample_lake,
        **WINDOW,
        allow_principals=" arn:aws:iam::111122223333:role/github-* ,arn:aws:iam::999988887777:*",
    )
    assert without_ci == by_glob
    assert {r["principal_arn"] for r in without_ci} == {ALICE_ROLE, "anonymous"}
    assert len(without_ci) + sum(r["principal_arn"] == CI_ROLE for r in everything) == len(
        everything
    )


def test_a_session_arn_on_the_allow_list_leaves_out_that_caller_only(sample_lake):
    rows = sensitive(
        sample_lake,
        allow_principals="arn:aws:sts::111122223333:assumed-role/*/alice@example.com",
    )
    assert {r["category"] for r in rows} == {"role_passing", "anonymous_read"}


def test_the_category_and_account_parameters_narrow_the_rows(sample_lake):
    rows = sensitive(sample_lake, category="logging_changed")
    assert [r["action"] for r in rows] == ["cloudtrail:PutEventSelectors"] * 2
    assert len(sensitive(sample_lake, account_id="111122223333")) == 6 + 3
    assert sensitive(sample_lake, account_id="444455556666") == []


def test_an_unknown_category_is_an_error_naming_the_known_ones(sample_lake):
    with pytest.raises(
        QueryError, match=r"unknown category logging_off \(known: .*logging_disabled"
    ):
        sensitive(sample_lake, category="logging_off")


def test_every_sensitive_action_exists_in_the_iam_catalogue():
    sql = named_queries()["sensitive_actions"].sql
    listed = re.findall(r"^\s*\('([\w-]+:\w+)', '(\w+)'", sql, flags=re.MULTILINE)
    known = set(catalogue_table().column("action").to_pylist())
    assert len(listed) > 90
    assert [action for action, _ in listed if action not in known] == []
    assert len({action for action, _ in listed}) == len(listed)
    categories = {category for _, category in listed}
    header = next(p for p in named_queries()["sensitive_actions"].params if p.name == "category")
    assert all(category in header.description for category in categories)


def test_analysts_get_each_answer_with_one_command(sample_lake, cli):
    keys = cli.json("query", "long_lived_keys", "--lake", sample_lake)
    assert {k["access_key_id"] for k in keys} == {"AKIAAPUPF6OH7RRYG245", "AKIAJXGIJWWRWZCYDZBI"}
    result = cli(
        "query",
        "sensitive_actions",
        "--lake",
        sample_lake,
        "--since",
        "2026-11-01",
        "--param",
        f"allow_principals={CI_ROLE}",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    assert {r["category"] for r in json.loads(result.stdout)} == {
        "logging_changed",
        "anonymous_read",
    }
    typo = cli("query", "sensitive_actions", "--lake", sample_lake, "--param", "category=nope")
    assert typo.exit_code == 1
    assert "unknown category nope" in typo.stderr
