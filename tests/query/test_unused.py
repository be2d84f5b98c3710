"""Granted vs used vs unused vs unknown: never "unused" when the lake could not have seen it."""

from __future__ import annotations

import json

from tests.given import (
    APP_ROLE,
    APP_ROLE_USED,
    SAMPLE_LOGS,
    an_aggregated_event,
    an_event,
    given_delivery_file,
)
from trailwise.pipeline import api

PROD = SAMPLE_LOGS / "iam" / "authorization-details-111122223333.json"
WINDOW = {"since": "2026-11-01", "until": "2026-11-06"}
ROLE = "arn:aws:iam::111122223333:role/builder"


def statuses(lake, principal, **window):
    rows = api.run_named(
        "unused_permissions", lake, {**WINDOW, **window, "principal_arn": principal}
    ).to_pylist()
    return {r["action"]: r["status"] for r in rows}, rows


def test_the_sample_app_role_used_part_of_its_grant(sample_lake):
    status, rows = statuses(sample_lake, APP_ROLE)
    used = {a for a, s in status.items() if s == "used"}
    assert used == APP_ROLE_USED
    assert {"sqs:DeleteMessage", "dynamodb:PutItem", "kms:Decrypt", "s3:DeleteObject"} <= {
        a for a, s in status.items() if s == "unused"
    }
    get_object = next(r for r in rows if r["action"] == "s3:GetObject")
    assert get_object["event_count"] > 0 and get_object["last_seen"] is not None
    assert all(r["granted_by"] for r in rows)


def test_the_summary_counts_and_names_the_services_never_used(sample_lake):
    [row] = api.run_named(
        "unused_permissions_summary", sample_lake, {**WINDOW, "principal_arn": APP_ROLE}
    ).to_pylist()
    assert (
        row["granted"]
        == row["used"] + row["unused"] + row["not_observable"] + row["outside_coverage"]
    )
    assert row["used"] == 7
    assert row["services_never_used"] == ["kms"]
    assert row["used_share"] == round(7 / row["granted"], 4)


def test_a_window_the_lake_does_not_cover_is_outside_coverage(sample_lake):
    status, _ = statuses(sample_lake, APP_ROLE, since="2025-01-01", until="2025-02-01")
    assert set(status.values()) == {"outside_coverage"}


def test_unused_principals_and_keys_come_with_their_evidence(sample_lake):
    rows = {
        r["principal_arn"].rsplit("/", 1)[1]: r
        for r in api.run_named("unused_principals", sample_lake, WINDOW).to_pylist()
    }
    assert rows["app-role"]["status"] == "active"
    assert rows["OrganizationAccountAccessRole"]["status"] == "unused"
    assert rows["backup-legacy"]["status"] == "unused"
    assert (
        rows["backup-legacy"]["access_keys_unused"]
        and not rows["backup-legacy"]["access_keys_used"]
    )
    assert (
        rows["reporting-svc"]["access_keys_used"]
        and not rows["reporting-svc"]["access_keys_unused"]
    )
    sso = [r for name, r in rows.items() if name.startswith("AWSReservedSSO_")]
    assert sso and all(r["is_aws_managed"] for r in sso)


def given_snapshot(tmp_path, actions, created="2020-01-01T00:00:00Z"):
    doc = {
        "UserDetailList": [],
        "GroupDetailList": [],
        "Policies": [],
        "RoleDetailList": [
            {
                "Path": "/",
                "RoleName": "builder",
                "RoleId": "AROAEXAMPLEBUILDER01",
                "Arn": ROLE,
                "CreateDate": created,
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []},
                "InstanceProfileList": [],
                "AttachedManagedPolicies": [],
                "Tags": [],
                "RolePolicyList": [
                    {
                        "PolicyName": "build",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
                        },
                    }
                ],
            }
        ],
    }
    path = tmp_path / f"snapshot-{len(actions)}.json"
    path.write_text(json.dumps(doc))
    return path


def builder_event(**overrides):
    identity = an_event()["userIdentity"]
    identity["sessionContext"]["sessionIssuer"]["arn"] = ROLE
    return an_event(userIdentity=identity, **overrides)


def test_actions_the_lake_could_not_see_are_not_observable_never_unused(tmp_path, lake_dir):
    given_delivery_file(
        tmp_path / "logs",
        [
            builder_event(
                eventSource="s3.amazonaws.com",
                eventName="CreateBucket",
                readOnly=False,
                requestParameters={"bucketName": "b"},
            ),
            an_event(eventSource="iam.amazonaws.com", eventName="ListRoles", readOnly=True),
        ],
    )
    api.ingest([str(tmp_path / "logs")], lake_dir)
    api.iam_load(
        given_snapshot(
            tmp_path, ["s3:CreateBucket", "s3:GetObject", "kms:Decrypt", "iam:ListRoles"]
        ),
        lake_dir,
    )
    status, rows = statuses(lake_dir, ROLE)
    assert status == {
        "s3:CreateBucket": "used",
        "s3:GetObject": "not_observable",
        "kms:Decrypt": "not_observable",
        "iam:ListRoles": "unused",
    }
    reasons = {r["action"]: r["reason"] for r in rows}
    assert "data event" in reasons["s3:GetObject"]
    assert "exclude this source" in reasons["kms:Decrypt"]


def test_once_the_lake_holds_data_events_an_unused_data_action_is_unused(tmp_path, lake_dir):
    given_delivery_file(
        tmp_path / "logs",
        [
            builder_event(eventSource="s3.amazonaws.com", eventName="CreateBucket", readOnly=False),
            an_event(
                eventSource="s3.amazonaws.com",
                eventName="GetObject",
                eventCategory="Data",
                managementEvent=False,
                requestParameters={"bucketName": "b", "key": "k"},
            ),
        ],
    )
    api.ingest([str(tmp_path / "logs")], lake_dir)
    api.iam_load(given_snapshot(tmp_path, ["s3:CreateBucket", "s3:GetObject"]), lake_dir)
    status, _ = statuses(lake_dir, ROLE)
    assert status == {"s3:CreateBucket": "used", "s3:GetObject": "unused"}


def test_a_principal_created_inside_the_window_is_younger_not_unused(tmp_path, lake_dir):
    given_delivery_file(tmp_path / "logs", [an_event()])
    api.ingest([str(tmp_path / "logs")], lake_dir)
    api.iam_load(
        given_snapshot(tmp_path, ["s3:ListAllMyBuckets"], created="2026-11-03T00:00:00Z"), lake_dir
    )
    [row] = [
        r
        for r in api.run_named("unused_principals", lake_dir, WINDOW).to_pylist()
        if r["principal_arn"] == ROLE
    ]
    assert row["status"] == "younger_than_window"


def test_asking_about_permissions_without_a_snapshot_says_what_to_load(cli, tmp_path, lake_dir):
    given_delivery_file(tmp_path / "logs", [an_event()])
    api.ingest([str(tmp_path / "logs")], lake_dir)
    result = cli(
        "query",
        "unused_permissions",
        "--since",
        "2026-11-01",
        "--until",
        "2026-11-05",
        "--lake",
        lake_dir,
    )
    assert result.exit_code == 1
    assert "load an IAM snapshot first: trailwise iam load FILE" in result.stderr


def builder_summary(**options):
    return an_aggregated_event(
        principal="arn:aws:sts::111122223333:assumed-role/builder/build-42", **options
    )


def given_builder_lake(tmp_path, lake_dir, records, actions):
    given_delivery_file(
        tmp_path / "logs",
        [
            builder_event(eventSource="s3.amazonaws.com", eventName="CreateBucket", readOnly=False),
            *records,
        ],
    )
    api.ingest([str(tmp_path / "logs")], lake_dir)
    api.iam_load(given_snapshot(tmp_path, actions), lake_dir)
    return statuses(lake_dir, ROLE)


def test_a_user_actions_summary_without_errors_is_evidence_of_use(tmp_path, lake_dir):
    status, rows = given_builder_lake(
        tmp_path,
        lake_dir,
        [builder_summary(calls={"GetObject": 40, "ListObjectsV2": 2})],
        ["s3:CreateBucket", "s3:GetObject", "s3:ListBucket", "s3:PutObject"],
    )
    assert status == {
        "s3:CreateBucket": "used",
        "s3:GetObject": "used",
        "s3:ListBucket": "used",  # ListObjectsV2 is authorized by s3:ListBucket
        "s3:PutObject": "unused",  # S3 data events are logged: the summaries show it
    }
    get_object = next(r for r in rows if r["action"] == "s3:GetObject")
    assert (
        get_object["reason"] == "calls counted by aggregated USER_ACTIONS summaries of the window"
    )
    assert get_object["event_count"] == 40


def test_a_summary_that_counts_errors_proves_no_call_was_authorized(tmp_path, lake_dir):
    status, _ = given_builder_lake(
        tmp_path,
        lake_dir,
        [builder_summary(calls={"GetObject": 40}, errors={"AccessDenied": 3})],
        ["s3:CreateBucket", "s3:GetObject"],
    )
    assert status == {"s3:CreateBucket": "used", "s3:GetObject": "unused"}


def test_an_api_activity_summary_makes_a_services_data_actions_observable(tmp_path, lake_dir):
    status, _ = given_builder_lake(
        tmp_path,
        lake_dir,
        [an_aggregated_event(dimension="eventName", calls={"PutObject": 1000})],
        ["s3:CreateBucket", "s3:GetObject"],
    )
    # No principal is named, so nothing is used; but S3 data events are logged, so an
    # untouched data action is unused rather than unknown.
    assert status == {"s3:CreateBucket": "used", "s3:GetObject": "unused"}
