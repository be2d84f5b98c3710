"""policy replay: a principal's calls judged against proposed policies, over a real lake."""

from __future__ import annotations

import copy
import fnmatch
import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.given import an_event, given_delivery_file
from trailwise.pipeline import api
from trailwise.pipeline.errors import PolicyError
from trailwise.pipeline.lake import Lake
from trailwise.pipeline.policy.replay import load_policies, replay
from trailwise.pipeline.query import connect

# Every role and user of sample_logs with authorized calls.
SAMPLE_PRINCIPALS = (
    "arn:aws:iam::111122223333:role/app-role",
    "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/"
    "AWSReservedSSO_AdministratorAccess_0123456789abcdef",
    "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/"
    "AWSReservedSSO_ReadOnly_fedcba9876543210",
    "arn:aws:iam::111122223333:role/ecsTaskExecutionRole",
    "arn:aws:iam::111122223333:role/github-actions-deploy",
    "arn:aws:iam::111122223333:role/service-role/orders-processor-role",
    "arn:aws:iam::111122223333:user/service-accounts/reporting-svc",
    "arn:aws:iam::444455556666:role/ci-dev-deploy",
    "arn:aws:iam::444455556666:role/dev-sandbox-role",
    "arn:aws:iam::444455556666:user/dev.bob",
)
APP_ROLE = SAMPLE_PRINCIPALS[0]
ROLE = "arn:aws:iam::111122223333:role/service/app-role"  # the role of tests.given.an_event
ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


def suggested(lake: Path, principal: str) -> list[tuple[str, dict[str, Any]]]:
    result = suggestion(lake, principal)
    return copy.deepcopy(
        [(f"{result.name}-{i}", d) for i, d in enumerate(result.documents, start=1)]
    )


def statements_of(documents: list[tuple[str, dict[str, Any]]]) -> list[tuple[int, int]]:
    return [(d, s) for d, (_, doc) in enumerate(documents) for s in range(len(doc["Statement"]))]


def listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def allow(
    action: str | list[str], resource: str | list[str] = "*", **condition: Any
) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": "Test",
        "Effect": "Allow",
        "Action": action,
        "Resource": resource,
    }
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


@pytest.fixture(scope="module")
def lake(sample_lake: Path) -> Path:
    return sample_lake


@pytest.fixture(scope="module")
def con(lake: Path) -> Iterator[Any]:
    """One connection for a module's many replays of the sample lake (its views cost more than
    a replay)."""
    connection = connect(Lake(lake))
    yield connection
    connection.close()


@functools.cache
def suggestion(lake: Path, principal: str) -> Any:
    return api.policy_suggest(principal, lake)


@pytest.mark.parametrize("principal", SAMPLE_PRINCIPALS)
def test_every_sample_principals_suggested_policy_replays_with_nothing_refused(lake, principal):
    result = suggestion(lake, principal)

    assert result.replay.calls_checked > 0
    assert result.replay.refused_calls == 0, result.replay.refused
    assert result.replay.allowed + result.replay.unknown_calls == result.replay.calls_checked


@pytest.mark.parametrize("principal", SAMPLE_PRINCIPALS)
def test_removing_any_one_statement_of_a_suggestion_is_caught_naming_its_actions(
    lake, con, principal
):
    documents = suggested(lake, principal)
    for d, s in statements_of(documents):
        cut = copy.deepcopy(documents)
        removed = cut[d][1]["Statement"].pop(s)
        if not cut[d][1]["Statement"]:
            cut.pop(d)
        if not cut:
            cut = [("other", allow("sts:GetCallerIdentity"))]  # IAM refuses an empty policy

        result = replay(Lake(lake), principal, cut, con=con)

        refused = {r.action.lower() for r in result.refused}
        assert refused & {a.lower() for a in listed(removed["Action"])}, removed["Sid"]
        assert result.breaks_something


@pytest.mark.parametrize("principal", SAMPLE_PRINCIPALS)
def test_a_deny_of_each_used_action_is_caught_naming_the_deny(lake, con, principal):
    documents = suggested(lake, principal)
    used = sorted(
        {a for _, doc in documents for st in doc["Statement"] for a in listed(st["Action"])}
    )
    for action in used:
        deny = {
            "Version": "2012-10-17",
            "Statement": [{"Sid": "NoMore", "Effect": "Deny", "Action": action, "Resource": "*"}],
        }

        result = replay(Lake(lake), principal, [*documents, ("guard", deny)], con=con)

        refusals = [r for r in result.refused if r.action.lower() == action.lower()]
        assert refusals, action
        assert all(r.is_explicit_deny and r.statements == ("guard:NoMore",) for r in refusals)


def observed(lake: Path, principal: str) -> set[str]:
    """The resource ARNs the principal's authorized calls name."""
    rows = api.run_sql(
        "select distinct resource_arn from event_actions where is_authorized"
        f" and resource_arn is not null and principal_arn = '{principal}'",
        lake,
    ).to_pylist()
    return {row["resource_arn"] for row in rows}


@pytest.mark.parametrize("principal", SAMPLE_PRINCIPALS)
def test_narrowing_a_used_resource_is_caught_naming_the_action_and_resource(lake, con, principal):
    documents = suggested(lake, principal)
    named = observed(lake, principal)
    narrowed = 0
    for d, s in statements_of(documents):
        statement = documents[d][1]["Statement"][s]
        used = [r for r in listed(statement["Resource"]) if r != "*" and fnmatch.filter(named, r)]
        for resource in used:
            cut = copy.deepcopy(documents)
            others = [r for r in listed(statement["Resource"]) if r != resource]
            cut[d][1]["Statement"][s]["Resource"] = [*others, resource + "-narrowed"]

            result = replay(Lake(lake), principal, cut, con=con)

            narrowed += 1
            actions = {a.lower() for a in listed(statement["Action"])}
            hits = [r for r in result.refused if r.action.lower() in actions]
            assert hits, (statement["Sid"], resource)
            assert all(fnmatch.fnmatchcase(r.resource_arn or "", resource) for r in hits)
    if not narrowed:
        pytest.skip(f"{principal}: its suggestion names no resource its calls name (all on *)")


def test_a_condition_on_a_key_the_lake_does_not_hold_is_unknown_never_guessed(lake):
    documents = suggested(lake, APP_ROLE)
    for _, doc in documents:
        for statement in doc["Statement"]:
            statement["Condition"] = {"StringEquals": {"aws:PrincipalTag/team": "payments"}}

    result = replay(Lake(lake), APP_ROLE, documents)

    assert result.refused_calls == 0
    assert result.unknown_calls == result.calls_checked
    assert {u.reason for u in result.unknown} == {"condition key aws:PrincipalTag/team"}


def test_a_region_condition_is_judged_from_each_calls_region(lake):
    documents = [("eu", allow("*", StringEquals={"aws:RequestedRegion": "eu-west-3"}))]

    result = replay(Lake(lake), APP_ROLE, documents)

    assert result.refused_calls == result.calls_checked
    assert all("aws:RequestedRegion" in " ".join(r.misses) for r in result.refused)


def given_lake(tmp_path: Path, events: list[dict[str, Any]]) -> Path:
    given_delivery_file(tmp_path / "logs", events)
    api.ingest([str(tmp_path / "logs")], tmp_path / "lake")
    return tmp_path / "lake"


def test_a_copy_object_call_needs_both_the_read_of_its_source_and_the_write_of_its_target(tmp_path):
    lake = given_lake(
        tmp_path,
        [
            an_event(
                eventName="CopyObject",
                readOnly=False,
                requestParameters={
                    "bucketName": "target-bucket",
                    "key": "copy.txt",
                    "x-amz-copy-source": "source-bucket/orig.txt",
                },
            )
        ],
    )

    result = replay(
        Lake(lake), ROLE, [("writer", allow("s3:PutObject", "arn:aws:s3:::target-bucket/*"))]
    )

    assert (result.calls_checked, result.refused_calls) == (1, 1)
    assert [(r.action, r.resource_arn) for r in result.refused] == [
        ("s3:GetObject", "arn:aws:s3:::source-bucket/orig.txt")
    ]


def test_source_ip_and_vpc_endpoint_conditions_are_judged_from_the_event(tmp_path):
    lake = given_lake(
        tmp_path,
        [
            an_event(sourceIPAddress="203.0.113.7"),
            an_event(sourceIPAddress="198.51.100.9"),
            an_event(sourceIPAddress="10.0.0.5", vpcEndpointId="vpce-0abc"),
        ],
    )
    office = [
        ("office", allow("s3:ListAllMyBuckets", IpAddress={"aws:SourceIp": "203.0.113.0/24"}))
    ]
    endpoint = [
        ("vpce", allow("s3:ListAllMyBuckets", StringEquals={"aws:SourceVpce": "vpce-0abc"}))
    ]

    by_ip = replay(Lake(lake), ROLE, office)
    by_endpoint = replay(Lake(lake), ROLE, endpoint)

    # The VPC endpoint call carries no aws:SourceIp (it has aws:VpcSourceIp): refused too.
    assert (by_ip.allowed, by_ip.refused_calls) == (1, 2)
    assert (by_endpoint.allowed, by_endpoint.refused_calls) == (1, 2)


def test_mfa_via_aws_service_and_passed_to_service_come_from_the_calls(tmp_path):
    lake = given_lake(
        tmp_path,
        [
            an_event(
                eventSource="lambda.amazonaws.com",
                eventName="CreateFunction20150331",
                readOnly=False,
                requestParameters={
                    "functionName": "orders",
                    "role": "arn:aws:iam::111122223333:role/orders-fn",
                },
            )
        ],
    )
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Fn", "Effect": "Allow", "Action": "lambda:CreateFunction", "Resource": "*"},
            {
                "Sid": "Pass",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": "arn:aws:iam::111122223333:role/orders-fn",
                "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            },
            {
                "Sid": "NoMfaNoWrite",
                "Effect": "Deny",
                "NotAction": ["iam:PassRole"],
                "Resource": "*",
                "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
            },
        ],
    }

    result = replay(Lake(lake), ROLE, [("p", policy)])

    refused = {(r.action, r.is_explicit_deny) for r in result.refused}
    assert refused == {("lambda:CreateFunction", True), ("iam:PassRole", False)}


def test_a_call_whose_resource_the_event_does_not_name_matches_only_star(tmp_path):
    lake = given_lake(
        tmp_path,
        [
            an_event(
                eventSource="sqs.amazonaws.com", eventName="ListQueueTags", requestParameters=None
            )
        ],
    )
    named = [("named", allow("sqs:ListQueueTags", "arn:aws:sqs:us-east-1:111122223333:*"))]
    star = [("star", allow("sqs:ListQueueTags"))]

    unnamed = replay(Lake(lake), ROLE, named)
    anything = replay(Lake(lake), ROLE, star)

    assert (unnamed.unknown_calls, unnamed.refused_calls) == (1, 0)
    assert [u.reason for u in unnamed.unknown] == ["resource (the event names none)"]
    assert anything.allowed == 1


def test_calls_denied_when_made_are_counted_but_not_replayed(lake):
    result = replay(Lake(lake), APP_ROLE, [("all", ALLOW_ALL)])

    assert result.denied_calls == 3
    assert result.allowed == result.calls_checked


def test_the_policy_files_people_have_are_read(tmp_path, lake):
    suggestion = api.policy_suggest(APP_ROLE, lake)
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps(suggestion.documents[0]))
    parts = tmp_path / "parts.json"
    parts.write_text(json.dumps([ALLOW_ALL, ALLOW_ALL]))
    template = tmp_path / "stack.json"
    template.write_text(
        json.dumps(
            {
                "Resources": {
                    "Policy": {
                        "Type": "AWS::IAM::ManagedPolicy",
                        "Properties": {"PolicyDocument": ALLOW_ALL},
                    },
                    "Bucket": {"Type": "AWS::S3::Bucket"},
                }
            }
        )
    )
    bulk = tmp_path / "suggestion.json"
    bulk.write_text(json.dumps(suggestion.to_dict(), default=str))

    names = [name for name, _ in load_policies([plain, parts, template, bulk])]

    assert names == ["plain", "parts-1", "parts-2", "Policy", "app-role-least-privilege"]


def test_a_diff_is_replayed_as_the_policies_the_principal_would_hold(lake, tmp_path):
    result = api.policy_diff(APP_ROLE, lake)
    diff = tmp_path / "diff.json"
    diff.write_text(json.dumps(result.to_dict(), default=str))

    from_file = api.policy_replay(APP_ROLE, [diff], lake)

    assert result.replay is not None
    assert from_file.refused_calls == result.replay.refused_calls == 0
    assert from_file.policies == result.replay.policies


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('resource "aws_iam_policy" "x" {}', "not JSON"),
        ('{"Version": "2012-10-17"}', "not a policy document"),
        ("[1, 2]", "policy documents only"),
        ('{"principal_arn": "x", "policies": []}', "without its replacement policies"),
    ],
)
def test_a_file_holding_no_policy_is_one_error_naming_it(tmp_path, content, message):
    path = tmp_path / "policy.tf"
    path.write_text(content)

    with pytest.raises(PolicyError, match=message) as error:
        load_policies([path])

    assert str(path) in str(error.value)


def test_a_trust_policy_is_refused_as_not_an_identity_policy(lake):
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }

    with pytest.raises(PolicyError, match="trust"):
        replay(Lake(lake), APP_ROLE, [("trust", trust)])


def test_the_cli_exits_2_and_names_what_breaks(cli, lake, tmp_path):
    policy = tmp_path / "narrow.json"
    policy.write_text(json.dumps(allow("s3:GetObject", "arn:aws:s3:::nothing-here/*")))

    text = cli("policy", "replay", APP_ROLE, "--lake", lake, "--policy", policy)
    data = cli.json("policy", "replay", APP_ROLE, "--lake", lake, "--policy", policy)

    assert text.exit_code == 2
    assert "refused" in text.stdout
    assert "s3:PutObject" in text.stdout
    assert data["calls_checked"] == data["allowed"] + data["refused_calls"] + data["unknown_calls"]
    assert {r["action"] for r in data["refused"]} >= {"s3:GetObject", "s3:PutObject"}
    refusal = next(r for r in data["refused"] if r["action"] == "s3:GetObject")
    assert set(refusal) >= {"calls", "first_seen_at", "last_seen_at", "missing", "resource_arn"}


def test_the_cli_exits_0_when_nothing_is_refused_and_suggest_prints_its_replay(cli, lake, tmp_path):
    out = tmp_path / "app.json"

    suggested_run = cli("policy", "suggest", APP_ROLE, "--lake", lake, "--output", out)
    replayed = cli("policy", "replay", APP_ROLE, "--lake", lake, "--policy", out)
    diffed = cli("policy", "diff", APP_ROLE, "--lake", lake)

    assert suggested_run.exit_code == replayed.exit_code == diffed.exit_code == 0
    assert "replayed 211 calls in the window: 0 refused, 0 unknown" in suggested_run.stderr
    assert "replayed 211 calls in the window: 0 refused" in replayed.stdout
    assert "replayed 211 calls in the window: 0 refused" in diffed.stderr


def test_a_missing_policy_file_is_one_line(cli, lake, tmp_path):
    result = cli("policy", "replay", APP_ROLE, "--lake", lake, "--policy", tmp_path / "none.json")

    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "none.json" in result.stderr


def test_a_launch_needs_the_instance_its_event_does_not_name(lake, con):
    bob = "arn:aws:iam::444455556666:user/dev.bob"
    documents = suggested(lake, bob)
    for _, doc in documents:
        for statement in doc["Statement"]:
            if statement["Action"] == "ec2:RunInstances":
                statement["Resource"] = [
                    r for r in listed(statement["Resource"]) if ":instance/" not in r
                ]

    result = replay(Lake(lake), bob, documents, con=con)

    assert [(r.action, r.resource_arn, r.unnamed_type) for r in result.refused] == [
        ("ec2:RunInstances", None, "instance")
    ]


@pytest.mark.parametrize(
    ("resource", "refused", "unknown"),
    [
        ("arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/orders/db", 8, 0),
        ("arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/orders/db-??????", 0, 0),
        ("arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/orders/*", 0, 0),
        ("arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/orders/db-a*", 0, 8),
    ],
)
def test_a_secret_named_by_its_name_carries_its_unknown_random_suffix(
    lake, con, resource, refused, unknown
):
    lambda_role = "arn:aws:iam::111122223333:role/service-role/orders-processor-role"
    policy = allow("secretsmanager:GetSecretValue", resource)

    result = replay(Lake(lake), lambda_role, [("secret", policy)], con=con)

    secret_calls = [r for r in result.refused if r.action == "secretsmanager:GetSecretValue"]
    assert sum(r.calls for r in secret_calls) == refused
    assert sum(u.calls for u in result.unknown if u.action.startswith("secretsmanager")) == unknown
