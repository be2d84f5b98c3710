"""Expanding identity-based policies into one grant per catalogue action."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.given import CLOUDSPLAINING_EXAMPLE, DEV_SNAPSHOT, PROD_SNAPSHOT
from trailwise.pipeline.iam import (
    Grant,
    PolicyError,
    Snapshot,
    expand_all,
    expand_principal,
    load_authorization_details,
    load_file,
    matching_actions,
)
from trailwise.pipeline.mapping import catalogue_actions

EXAMPLE = CLOUDSPLAINING_EXAMPLE
PROD = PROD_SNAPSHOT
DEV = DEV_SNAPSHOT
ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"
USER = f"arn:aws:iam::{ACCOUNT}:user/alice"


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def managed(name: str, document: dict[str, Any]) -> dict[str, Any]:
    return {
        "Arn": f"arn:aws:iam::{ACCOUNT}:policy/{name}",
        "PolicyName": name,
        "DefaultVersionId": "v1",
        "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": True, "Document": document}],
    }


def attached(*names: str) -> list[dict[str, str]]:
    return [{"PolicyName": n, "PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/{n}"} for n in names]


def given_role(
    *inline: dict[str, Any],
    managed_policies: dict[str, dict[str, Any]] | None = None,
    boundary: dict[str, Any] | None = None,
) -> Snapshot:
    """A snapshot with one role ``app``: inline documents, attached managed ones, a boundary."""
    managed_policies = dict(managed_policies or {})
    role: dict[str, Any] = {
        "Arn": ROLE,
        "RoleName": "app",
        "RolePolicyList": [
            {"PolicyName": f"inline{i}", "PolicyDocument": doc} for i, doc in enumerate(inline)
        ],
        "AttachedManagedPolicies": attached(*managed_policies),
    }
    if boundary is not None:
        managed_policies["boundary"] = boundary
        role["PermissionsBoundary"] = {
            "PermissionsBoundaryType": "Policy",
            "PermissionsBoundaryArn": f"arn:aws:iam::{ACCOUNT}:policy/boundary",
        }
    return load_authorization_details(
        {
            "RoleDetailList": [role],
            "Policies": [managed(n, d) for n, d in managed_policies.items()],
        },
        "test",
    )


def grants_of(snapshot: Snapshot, arn: str = ROLE) -> dict[str, Grant]:
    grants = expand_principal(snapshot, arn)
    assert [g.action for g in grants] == sorted(g.action for g in grants)
    return {g.action: g for g in grants}


def test_an_explicit_action_list_grants_exactly_those_actions_in_catalogue_spelling() -> None:
    grants = grants_of(given_role(policy(allow(["s3:getobject", "S3:PUTOBJECT"]))))

    assert set(grants) == {"s3:GetObject", "s3:PutObject"}
    assert grants["s3:GetObject"].effect == "Allow"


def test_a_wildcard_in_the_middle_matches_the_catalogue_actions_it_spells() -> None:
    grants = grants_of(given_role(policy(allow("s3:Get*Tagging"))))

    expected = {a for a in catalogue_actions() if a.startswith("s3:Get") and a.endswith("Tagging")}
    assert set(grants) == expected
    assert {"s3:GetBucketTagging", "s3:GetObjectTagging", "s3:GetObjectVersionTagging"} <= expected


def test_wildcards_match_case_insensitively_in_the_service_and_the_name() -> None:
    assert matching_actions("S3:get*TAGGING") == matching_actions("s3:Get*Tagging")
    assert matching_actions("*:Get*") == {
        a for a in catalogue_actions() if a.split(":")[1].lower().startswith("get")
    }
    assert matching_actions("iam:*") == {a for a in catalogue_actions() if a.startswith("iam:")}
    assert matching_actions("s3:GetObjec?") == {"s3:GetObject"}
    assert matching_actions("nosuchservice:*") == frozenset()


def test_administrator_access_expands_to_every_catalogue_action() -> None:
    grants = grants_of(given_role(policy(allow("*"))))

    assert set(grants) == catalogue_actions()
    assert all(g.resource_scope == "*" and not g.is_conditional for g in grants.values())


def test_not_action_grants_everything_but_the_excluded_actions() -> None:
    grants = grants_of(
        given_role(policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}))
    )

    assert set(grants) == {a for a in catalogue_actions() if not a.startswith("iam:")}


def test_an_unconditional_deny_removes_the_action() -> None:
    grants = grants_of(given_role(policy(allow("s3:*"), deny("s3:Delete*"))))

    assert "s3:DeleteObject" not in grants
    assert "s3:GetObject" in grants


def test_a_deny_in_another_policy_removes_the_action_too() -> None:
    snapshot = given_role(
        policy(allow("s3:GetObject")),
        managed_policies={"no-reads": policy(deny("s3:Get*"))},
    )

    assert grants_of(snapshot) == {}


def test_a_conditional_deny_does_not_remove_the_action_but_flags_it() -> None:
    no_http = {"Bool": {"aws:SecureTransport": "false"}}
    grants = grants_of(given_role(policy(allow("s3:GetObject"), deny("s3:*", Condition=no_http))))

    grant = grants["s3:GetObject"]
    assert grant.is_conditionally_denied
    assert not grant.is_conditional
    assert grant.denied_by == ("inline:app/inline0",)


def test_a_deny_on_some_resources_keeps_the_action_and_records_the_resources() -> None:
    grants = grants_of(
        given_role(policy(allow("s3:GetObject"), deny("s3:GetObject", "arn:aws:s3:::secrets/*")))
    )

    assert grants["s3:GetObject"].denied_resources == ("arn:aws:s3:::secrets/*",)
    assert not grants["s3:GetObject"].is_conditionally_denied


def test_a_conditional_allow_is_kept_and_flagged_with_its_conditions() -> None:
    condition = {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}
    grants = grants_of(given_role(policy(allow("ec2:RunInstances", Condition=condition))))

    grant = grants["ec2:RunInstances"]
    assert grant.is_conditional
    assert grant.conditions is not None
    assert json.loads(grant.conditions) == [condition]


def test_an_unconditional_allow_beside_a_conditional_one_is_not_conditional() -> None:
    condition = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    grants = grants_of(
        given_role(
            policy(allow("ec2:RunInstances", Condition=condition)),
            policy(allow("ec2:RunInstances", "arn:aws:ec2:*:*:instance/*")),
        )
    )

    grant = grants["ec2:RunInstances"]
    assert (grant.is_conditional, grant.conditions) == (False, None)
    assert grant.resource_scope == ("arn:aws:ec2:*:*:instance/*",)
    assert grant.granted_by == ("inline:app/inline0", "inline:app/inline1")


def test_resource_scope_is_the_sorted_union_of_the_granting_statements() -> None:
    grants = grants_of(
        given_role(
            policy(
                allow("s3:GetObject", ["arn:aws:s3:::b/*", "arn:aws:s3:::a/*"]),
                allow(["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::c/*"),
            )
        )
    )

    assert grants["s3:GetObject"].resource_scope == (
        "arn:aws:s3:::a/*",
        "arn:aws:s3:::b/*",
        "arn:aws:s3:::c/*",
    )
    assert grants["s3:PutObject"].resource_scope == ("arn:aws:s3:::c/*",)


def test_not_resource_is_kept_as_an_exclusion_not_as_everything() -> None:
    grants = grants_of(
        given_role(
            policy(
                {
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "NotResource": "arn:aws:s3:::secrets/*",
                }
            )
        )
    )

    grant = grants["s3:GetObject"]
    assert (grant.resource_scope, grant.is_not_resource) == (("arn:aws:s3:::secrets/*",), True)


def test_granted_by_names_every_policy_that_grants_the_action() -> None:
    snapshot = given_role(
        policy(allow("s3:GetObject")),
        managed_policies={"reads": policy(allow("s3:Get*")), "writes": policy(allow("s3:Put*"))},
    )

    assert grants_of(snapshot)["s3:GetObject"].granted_by == (
        "arn:aws:iam::111122223333:policy/reads",
        "inline:app/inline0",
    )


def test_a_permissions_boundary_removes_what_it_does_not_allow() -> None:
    snapshot = given_role(
        policy(allow(["s3:GetObject", "iam:CreateRole", "ec2:DescribeInstances"])),
        boundary=policy(allow(["s3:*", "iam:*"]), deny("iam:Create*")),
    )

    grants = grants_of(snapshot)

    assert set(grants) == {"s3:GetObject"}
    assert grants["s3:GetObject"].is_bounded_by_boundary


def test_without_a_boundary_grants_are_not_marked_bounded() -> None:
    grants = grants_of(given_role(policy(allow("s3:GetObject"))))

    assert not grants["s3:GetObject"].is_bounded_by_boundary


def test_statement_action_and_resource_may_be_single_values_or_lists_without_version() -> None:
    single = {"Statement": {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}}
    listed = {"Statement": [{"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": ["*"]}]}

    assert (
        set(grants_of(given_role(single)))
        == set(grants_of(given_role(listed)))
        == {"sqs:SendMessage"}
    )


def test_group_policies_reach_their_users() -> None:
    snapshot = load_authorization_details(
        {
            "UserDetailList": [
                {
                    "Arn": USER,
                    "UserName": "alice",
                    "GroupList": ["devs"],
                    "UserPolicyList": [
                        {"PolicyName": "own", "PolicyDocument": policy(allow("sqs:SendMessage"))}
                    ],
                }
            ],
            "GroupDetailList": [
                {
                    "Arn": f"arn:aws:iam::{ACCOUNT}:group/devs",
                    "GroupName": "devs",
                    "GroupPolicyList": [
                        {"PolicyName": "g", "PolicyDocument": policy(allow("s3:GetObject"))}
                    ],
                    "AttachedManagedPolicies": attached("logs"),
                }
            ],
            "Policies": [managed("logs", policy(allow("logs:PutLogEvents")))],
        },
        "test",
    )

    grants = grants_of(snapshot, USER)

    assert {a: g.granted_by for a, g in grants.items()} == {
        "logs:PutLogEvents": ("group:devs/arn:aws:iam::111122223333:policy/logs",),
        "s3:GetObject": ("group:devs/inline:g",),
        "sqs:SendMessage": ("inline:alice/own",),
    }


def test_a_malformed_statement_is_reported_with_the_policy_that_holds_it() -> None:
    snapshot = given_role(policy({"Effect": "Permit", "Action": "s3:*", "Resource": "*"}))

    with pytest.raises(PolicyError) as info:
        expand_principal(snapshot, ROLE)

    assert str(info.value) == (
        "policy inline:app/inline0: statement 0 has Effect 'Permit', not 'Allow' or 'Deny'"
    )


def test_the_prod_app_role_is_granted_exactly_what_its_policies_name() -> None:
    snapshot = load_file(PROD)
    ssm_core = snapshot.policy("arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore")
    assert ssm_core is not None
    ssm_actions = {
        a for s in ssm_core.document["Statement"] for p in s["Action"] for a in matching_actions(p)
    }

    grants = grants_of(snapshot, f"arn:aws:iam::{ACCOUNT}:role/app-role")

    own = {a for a, g in grants.items() if g.granted_by == ("inline:app-role/app-data-access",)}
    assert own == {
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:ListBucket",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:DeleteItem",
        "dynamodb:Scan",
        "sqs:SendMessage",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "lambda:InvokeFunction",
    }
    assert set(grants) == own | ssm_actions
    assert grants["dynamodb:Query"].resource_scope == (
        "arn:aws:dynamodb:*:111122223333:table/orders",
        "arn:aws:dynamodb:*:111122223333:table/orders/index/*",
    )


def test_the_prod_ci_boundary_takes_away_the_iam_writes_ci_deploy_allows() -> None:
    grants = grants_of(load_file(PROD), f"arn:aws:iam::{ACCOUNT}:role/github-actions-deploy")

    assert "iam:CreateRole" not in grants
    assert "iam:AttachRolePolicy" not in grants
    assert grants["iam:PassRole"].is_conditional
    assert all(g.is_bounded_by_boundary for g in grants.values())


def test_a_dev_user_gets_the_developers_group_policy() -> None:
    snapshot = load_file(DEV)

    grants = expand_principal(snapshot, "arn:aws:iam::444455556666:user/dev.bob")

    assert grants
    assert {g.granted_by for g in grants} == {
        ("group:Developers/arn:aws:iam::444455556666:policy/developer-access",)
    }


def test_every_granted_action_of_the_cloudsplaining_example_is_in_the_catalogue() -> None:
    snapshot = load_file(EXAMPLE)
    catalogue = catalogue_actions()

    grants = list(expand_all(snapshot))

    assert {g.action for g in grants} <= catalogue
    assert {g.principal_arn for g in grants} <= {p.arn for p in snapshot.principals}
    keys = [(g.principal_arn, g.action) for g in grants]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


def test_expansion_is_the_same_on_every_run() -> None:
    first = list(expand_all(load_file(PROD)))
    second = list(expand_all(load_file(PROD)))

    assert first == second
