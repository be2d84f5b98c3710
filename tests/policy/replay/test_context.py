"""The request context of a replayed call: known, known absent, or unknown, never guessed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from trailwise.pipeline.policy.replay.context import call_context, columns_for

ROLE = "arn:aws:iam::111122223333:role/app"
EVERY_FLAG = dict.fromkeys(
    [
        "with_source_ip",
        "with_time",
        "with_identity",
        "with_session",
        "with_user_agent",
        "with_s3_listing",
    ],
    True,
)


def a_row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "action": "s3:GetObject",
        "resource_arn": "arn:aws:s3:::bucket/key",
        "event_source": "s3.amazonaws.com",
        "event_name": "GetObject",
        "inferred_from": "event",
        "aws_region": "eu-west-1",
        "source_ip_address": "203.0.113.7",
        "vpc_endpoint_id": None,
        "invoked_by": None,
        "identity_type": "AssumedRole",
        "access_key_kind": "ASIA",
        "mfa_authenticated": False,
        "session_created_at": datetime(2026, 11, 2, 9),
        "user_name": None,
        "principal_id": "AROAEXAMPLE:session",
        "source_identity": None,
        "user_agent": "aws-cli/2.15",
        "has_tls": True,
        "request_time": datetime(2026, 11, 2, 10, 0, 5),
        "has_request_parameters": True,
        "s3_prefix": None,
        "s3_delimiter": None,
        "s3_max_keys": None,
    }
    row.update(overrides)
    return row


def test_a_direct_call_holds_its_region_ip_mfa_time_and_principal():
    context = call_context(a_row(), ROLE, EVERY_FLAG)

    assert context.get("aws:RequestedRegion") == ("eu-west-1",)
    assert context.get("aws:SourceIp") == ("203.0.113.7",)
    assert context.get("aws:MultiFactorAuthPresent") == ("false",)
    assert context.get("aws:CurrentTime") == ("2026-11-02T10:00:05Z",)
    assert context.get("aws:EpochTime") == ("1793613605",)
    assert context.get("aws:PrincipalArn") == (ROLE,)
    assert context.get("aws:PrincipalAccount") == ("111122223333",)
    assert context.get("aws:PrincipalType") == ("AssumedRole",)
    assert context.get("aws:ViaAWSService") == ("false",)
    assert context.get("aws:SecureTransport") == ("true",)
    assert context.get("aws:userid") == ("AROAEXAMPLE:session",)


def test_keys_the_event_cannot_tell_are_unknown():
    context = call_context(a_row(has_tls=False), ROLE, EVERY_FLAG)

    assert context.get("aws:PrincipalTag/team") is None
    assert context.get("aws:PrincipalOrgID") is None
    assert context.get("aws:SecureTransport") is None
    assert context.get("aws:SourceIdentity") is None


def test_keys_that_cannot_be_in_the_request_are_absent():
    context = call_context(a_row(), ROLE, EVERY_FLAG)

    assert context.get("aws:SourceVpce") == ()
    assert context.get("aws:CalledVia") == ()
    assert context.get("aws:username") == ()  # a role session has no user name
    assert context.get("iam:PassedToService") == ()  # not a key of s3:GetObject
    assert context.get("aws:RequestTag/team") == ()  # GetObject takes no request tags


def test_a_call_through_a_vpc_endpoint_has_a_vpc_source_ip_and_no_source_ip():
    context = call_context(
        a_row(vpc_endpoint_id="vpce-1", source_ip_address="10.0.0.5"), ROLE, EVERY_FLAG
    )

    assert context.get("aws:SourceVpce") == ("vpce-1",)
    assert context.get("aws:SourceIp") == ()
    assert context.get("aws:VpcSourceIp") == ("10.0.0.5",)


def test_a_service_name_as_source_address_leaves_the_ip_unknown():
    context = call_context(
        a_row(source_ip_address="s3.amazonaws.com", invoked_by="s3.amazonaws.com"), ROLE, EVERY_FLAG
    )

    assert context.get("aws:SourceIp") is None
    assert context.get("aws:ViaAWSService") == ("true",)
    assert context.get("aws:CalledVia") is None


def test_long_term_keys_carry_no_mfa_or_token_issue_time():
    row = a_row(
        identity_type="IAMUser",
        access_key_kind="AKIA",
        mfa_authenticated=None,
        session_created_at=None,
        user_name="bob",
    )
    context = call_context(row, "arn:aws:iam::111122223333:user/bob", EVERY_FLAG)

    assert context.get("aws:MultiFactorAuthPresent") == ()
    assert context.get("aws:TokenIssueTime") == ()
    assert context.get("aws:username") == ("bob",)
    assert context.get("aws:PrincipalType") == ("User",)


def test_service_keys_come_from_the_call_that_implied_the_action():
    passed = call_context(
        a_row(
            action="iam:PassRole",
            resource_arn="arn:aws:iam::111122223333:role/fn",
            event_source="lambda.amazonaws.com",
            inferred_from="iam:PassRole via requestParameters.role",
        ),
        ROLE,
        EVERY_FLAG,
    )
    tagged = call_context(
        a_row(
            action="ec2:CreateTags",
            event_source="ec2.amazonaws.com",
            event_name="RunInstances",
            inferred_from="tagSpecificationSet",
        ),
        ROLE,
        EVERY_FLAG,
    )
    decrypted = call_context(
        a_row(action="kms:Decrypt", invoked_by="s3.amazonaws.com", aws_region="us-east-1"),
        ROLE,
        EVERY_FLAG,
    )

    assert passed.get("iam:PassedToService") == ("lambda.amazonaws.com",)
    assert tagged.get("ec2:CreateAction") == ("RunInstances",)
    assert decrypted.get("kms:ViaService") == ("s3.us-east-1.amazonaws.com",)


def test_an_s3_listing_without_a_prefix_has_no_prefix_key():
    listed = call_context(a_row(action="s3:ListBucket", s3_prefix="home/"), ROLE, EVERY_FLAG)
    whole = call_context(a_row(action="s3:ListBucket"), ROLE, EVERY_FLAG)
    unlogged = call_context(
        a_row(action="s3:ListBucket", has_request_parameters=False), ROLE, EVERY_FLAG
    )

    assert listed.get("s3:prefix") == ("home/",)
    assert whole.get("s3:prefix") == ()
    assert unlogged.get("s3:prefix") is None


def test_only_the_columns_a_policy_asks_for_are_read():
    flags = columns_for(frozenset({"aws:sourceip", "aws:requestedregion"}))

    assert flags == {**dict.fromkeys(EVERY_FLAG, False), "with_source_ip": True}
