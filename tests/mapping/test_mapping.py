"""From one CloudTrail event (a lake row) to the IAM actions it used: the pinned cases.

The regression table pins MAPPING.md's cases and the peers' known mistakes (trailscraper 0.10.0,
cloudtracker); each row reads: this event -> this classification and these (action, resource,
why) uses.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trailwise.pipeline.mapping import (
    ActionUse,
    EventMapping,
    action_info,
    catalogue_actions,
    map_event,
)

ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app-role"


def a_row(
    source: str | None,
    name: str | None,
    params: dict[str, Any] | None = None,
    *,
    resources: list[dict[str, Any]] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A lake row of an assumed-role call; JSON columns given as Python values."""
    row: dict[str, Any] = {
        "event_source": source,
        "event_name": name,
        "event_type": "AwsApiCall",
        "event_category": "Management",
        "error_code": None,
        "error_message": None,
        "aws_region": "us-east-1",
        "recipient_account_id": ACCOUNT,
        "user_identity_type": "AssumedRole",
        "user_identity_arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/app-role/session",
        "user_identity_account_id": ACCOUNT,
        "user_identity_invoked_by": None,
        "session_issuer_arn": ROLE,
        "principal_arn": ROLE,
        "read_only": None,
        "management_event": True,
        "request_parameters": orjson.dumps(params).decode() if params is not None else None,
        "response_elements": None,
        "resources": orjson.dumps(resources).decode() if resources is not None else None,
        "additional_event_data": None,
    }
    row.update(overrides)
    return row


def uses(mapping: EventMapping) -> set[tuple[str, str | None, str]]:
    return {(u.action, u.resource_arn, u.inferred_from) for u in mapping.actions}


def actions(mapping: EventMapping) -> set[str]:
    return {u.action for u in mapping.actions}


# (case, row, classification, expected uses as (action, resource, inferred_from))
REGRESSIONS: list[tuple[str, dict[str, Any], str, set[tuple[str, str | None, str]]]] = [
    (
        "an ECS service named by cluster and service name",
        a_row("ecs.amazonaws.com", "UpdateService", {"cluster": "prod", "service": "orders-api"}),
        "iam_action",
        {
            (
                "ecs:UpdateService",
                f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/prod/orders-api",
                "event",
            )
        },
    ),
    (
        "an ECS service named by the ARNs of its cluster and itself",
        a_row(
            "ecs.amazonaws.com",
            "UpdateService",
            {
                "cluster": f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/prod",
                "service": f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/prod/orders-api",
            },
        ),
        "iam_action",
        {
            (
                "ecs:UpdateService",
                f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/prod/orders-api",
                "event",
            )
        },
    ),
    (
        "a CloudFront distribution named by its id",
        a_row(
            "cloudfront.amazonaws.com", "GetDistributionConfig2020_05_31", {"id": "E2QWRUHAPOMQZL"}
        ),
        "iam_action",
        {
            (
                "cloudfront:GetDistributionConfig",
                f"arn:aws:cloudfront::{ACCOUNT}:distribution/E2QWRUHAPOMQZL",
                "event",
            )
        },
    ),
    (
        "trailing digits stay: cloud9 CreateEnvironmentEC2",
        a_row("cloud9.amazonaws.com", "CreateEnvironmentEC2"),
        "iam_action",
        {("cloud9:CreateEnvironmentEC2", None, "event")},
    ),
    (
        "trailing V2 stays: kafka ListClustersV2",
        a_row("kafka.amazonaws.com", "ListClustersV2"),
        "iam_action",
        {("kafka:ListClustersV2", None, "event")},
    ),
    (
        "trailing digit stays: rds RestoreDBInstanceFromS3",
        a_row("rds.amazonaws.com", "RestoreDBInstanceFromS3"),
        "iam_action",
        {("rds:RestoreDBInstanceFromS3", None, "event")},
    ),
    (
        "trailing V2 stays: connect GetMetricDataV2",
        a_row("connect.amazonaws.com", "GetMetricDataV2"),
        "iam_action",
        {("connect:GetMetricDataV2", None, "event")},
    ),
    (
        "PutBucketReplication needs PutReplicationConfiguration and PassRole of the role",
        a_row(
            "s3.amazonaws.com",
            "PutBucketReplication",
            {
                "bucketName": "src-bucket",
                "ReplicationConfiguration": {
                    "Role": f"arn:aws:iam::{ACCOUNT}:role/replication",
                    "Rule": {"Status": "Enabled"},
                },
            },
        ),
        "iam_action",
        {
            ("s3:PutReplicationConfiguration", "arn:aws:s3:::src-bucket", "event"),
            (
                "iam:PassRole",
                f"arn:aws:iam::{ACCOUNT}:role/replication",
                "iam:PassRole of the replication role (ReplicationConfiguration.Role)",
            ),
        },
    ),
    (
        "Lambda Invoke is lambda:InvokeFunction on the function",
        a_row(
            "lambda.amazonaws.com",
            "Invoke",
            {"functionName": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:orders"},
        ),
        "iam_action",
        {("lambda:InvokeFunction", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:orders", "event")},
    ),
    (
        "ExecuteStatement SELECT is PartiQLSelect on the table",
        a_row(
            "dynamodb.amazonaws.com",
            "ExecuteStatement",
            {"statement": 'SELECT * FROM "orders" WHERE order_id = ?'},
        ),
        "iam_action",
        {("dynamodb:PartiQLSelect", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders", "event")},
    ),
    (
        "BatchExecuteStatement maps each statement by its verb",
        a_row(
            "dynamodb.amazonaws.com",
            "BatchExecuteStatement",
            {
                "statements": [
                    {"statement": "INSERT INTO orders VALUE {'id': ?}"},
                    {"statement": 'UPDATE "stock" SET n = 1 WHERE id = ?'},
                ]
            },
        ),
        "iam_action",
        {
            (
                "dynamodb:PartiQLInsert",
                f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders",
                "event",
            ),
            (
                "dynamodb:PartiQLUpdate",
                f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/stock",
                "BatchExecuteStatement statement 2",
            ),
        },
    ),
    (
        "TransactWriteItems maps each item to its own action and table",
        a_row(
            "dynamodb.amazonaws.com",
            "TransactWriteItems",
            {
                "transactItems": [
                    {"put": {"tableName": "orders"}},
                    {"conditionCheck": {"tableName": "stock"}},
                ]
            },
        ),
        "iam_action",
        {
            ("dynamodb:PutItem", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders", "event"),
            (
                "dynamodb:ConditionCheckItem",
                f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/stock",
                "TransactWriteItems item 2",
            ),
        },
    ),
    (
        "KMS automatic RotateKey is a service event, no action",
        a_row(
            "kms.amazonaws.com",
            "RotateKey",
            event_type="AwsServiceEvent",
            user_identity_type=None,
            user_identity_invoked_by="kms.amazonaws.com",
        ),
        "service_event",
        set(),
    ),
    (
        "ConsoleLogin is not an IAM permission",
        a_row("signin.amazonaws.com", "ConsoleLogin", event_type="AwsConsoleSignIn"),
        "not_iam",
        set(),
    ),
    (
        "CheckMfa is not an IAM permission, even when eventType is missing",
        a_row("signin.amazonaws.com", "CheckMfa", event_type=None),
        "not_iam",
        set(),
    ),
    (
        "SSO portal GetRoleCredentials is authorized by the bearer token",
        a_row("sso.amazonaws.com", "GetRoleCredentials", user_identity_type="Unknown"),
        "not_iam",
        set(),
    ),
    (
        "AssumeRoleWithSAML is authorized by the trust policy",
        a_row("sts.amazonaws.com", "AssumeRoleWithSAML", user_identity_type="SAMLUser"),
        "not_iam",
        set(),
    ),
    (
        "AssumeRoleWithWebIdentity is authorized by the trust policy",
        a_row("sts.amazonaws.com", "AssumeRoleWithWebIdentity"),
        "not_iam",
        set(),
    ),
    (
        "GetCallerIdentity needs no permission",
        a_row("sts.amazonaws.com", "GetCallerIdentity"),
        "permissionless",
        set(),
    ),
    (
        "CopyObject reads the source and writes the target",
        a_row(
            "s3.amazonaws.com",
            "CopyObject",
            {
                "bucketName": "target-bucket",
                "key": "copy.txt",
                "x-amz-copy-source": "source-bucket/dir/orig%20file.txt?versionId=abc",
            },
        ),
        "iam_action",
        {
            ("s3:PutObject", "arn:aws:s3:::target-bucket/copy.txt", "event"),
            ("s3:GetObject", "arn:aws:s3:::source-bucket/dir/orig file.txt", "CopyObject source"),
        },
    ),
    (
        "HeadObject is s3:GetObject on the object",
        a_row("s3.amazonaws.com", "HeadObject", {"bucketName": "b", "key": "k/1.json"}),
        "iam_action",
        {("s3:GetObject", "arn:aws:s3:::b/k/1.json", "event")},
    ),
    (
        "GetObject of a version is s3:GetObjectVersion",
        a_row("s3.amazonaws.com", "GetObject", {"bucketName": "b", "key": "k", "versionId": "3"}),
        "iam_action",
        {("s3:GetObjectVersion", "arn:aws:s3:::b/k", "event")},
    ),
    (
        "ListObjectsV2 is s3:ListBucket on the bucket",
        a_row("s3.amazonaws.com", "ListObjectsV2", {"bucketName": "reports", "list-type": "2"}),
        "iam_action",
        {("s3:ListBucket", "arn:aws:s3:::reports", "event")},
    ),
    (
        "DeleteBucketCors needs PutBucketCORS",
        a_row("s3.amazonaws.com", "DeleteBucketCors", {"bucketName": "web"}),
        "iam_action",
        {("s3:PutBucketCORS", "arn:aws:s3:::web", "event")},
    ),
    (
        "UpdateFunctionConfiguration20150331v2 with a role also passes the role",
        a_row(
            "lambda.amazonaws.com",
            "UpdateFunctionConfiguration20150331v2",
            {"functionName": "orders", "role": f"arn:aws:iam::{ACCOUNT}:role/svc/orders-role"},
        ),
        "iam_action",
        {
            (
                "lambda:UpdateFunctionConfiguration",
                f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:orders",
                "event",
            ),
            (
                "iam:PassRole",
                f"arn:aws:iam::{ACCOUNT}:role/svc/orders-role",
                "iam:PassRole via requestParameters.role",
            ),
        },
    ),
    (
        "CloudFront's dated suffix is stripped",
        a_row("cloudfront.amazonaws.com", "UpdateDistribution2014_01_31"),
        "iam_action",
        {("cloudfront:UpdateDistribution", None, "event")},
    ),
    (
        "KMS ReEncrypt needs ReEncryptFrom on the source and ReEncryptTo on the destination",
        a_row(
            "kms.amazonaws.com",
            "ReEncrypt",
            {
                "sourceKeyId": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1111",
                "destinationKeyId": "2222",
            },
        ),
        "iam_action",
        {
            ("kms:ReEncryptFrom", f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1111", "event"),
            (
                "kms:ReEncryptTo",
                f"arn:aws:kms:us-east-1:{ACCOUNT}:key/2222",
                "ReEncrypt destination key",
            ),
        },
    ),
    (
        "RunInstances with tags and an instance profile needs CreateTags and PassRole",
        a_row(
            "ec2.amazonaws.com",
            "RunInstances",
            {
                "instancesSet": {"items": [{"imageId": "ami-1", "minCount": 1}]},
                "iamInstanceProfile": {"name": "web-profile"},
                "tagSpecificationSet": {"items": [{"resourceType": "instance"}]},
            },
        ),
        "iam_action",
        {
            ("ec2:RunInstances", None, "event"),
            ("ec2:CreateTags", None, "tagSpecificationSet"),
            (
                "iam:PassRole",
                None,
                "iam:PassRole via requestParameters.iamInstanceProfile "
                "(instance profile web-profile; its role is not in the event)",
            ),
        },
    ),
    (
        "AssumeRole with tags and a source identity needs TagSession and SetSourceIdentity",
        a_row(
            "sts.amazonaws.com",
            "AssumeRole",
            {
                "roleArn": f"arn:aws:iam::{ACCOUNT}:role/deploy",
                "roleSessionName": "ci",
                "tags": [{"key": "team", "value": "a"}],
                "sourceIdentity": "alice",
            },
        ),
        "iam_action",
        {
            ("sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/deploy", "event"),
            ("sts:TagSession", f"arn:aws:iam::{ACCOUNT}:role/deploy", "AssumeRole tags"),
            (
                "sts:SetSourceIdentity",
                f"arn:aws:iam::{ACCOUNT}:role/deploy",
                "AssumeRole sourceIdentity",
            ),
        },
    ),
    (
        "API Gateway management calls are HTTP verbs on resource paths",
        a_row(
            "apigateway.amazonaws.com",
            "GetResource",
            {"restApiId": "a1b2", "resourceId": "r9"},
        ),
        "iam_action",
        {("apigateway:GET", "arn:aws:apigateway:us-east-1::/restapis/a1b2/resources/r9", "event")},
    ),
    (
        "Budgets reads need ViewBudget",
        a_row("budgets.amazonaws.com", "DescribeBudgets"),
        "iam_action",
        {("budgets:ViewBudget", None, "event")},
    ),
    (
        "Timestream Query is timestream:Select",
        a_row("timestream.amazonaws.com", "Query"),
        "iam_action",
        {("timestream:Select", None, "event")},
    ),
    (
        "monitoring.amazonaws.com is the cloudwatch prefix",
        a_row("monitoring.amazonaws.com", "GetMetricData"),
        "iam_action",
        {("cloudwatch:GetMetricData", None, "event")},
    ),
    (
        "SQS queue URLs become queue ARNs",
        a_row(
            "sqs.amazonaws.com",
            "SendMessage",
            {"queueUrl": f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/orders"},
        ),
        "iam_action",
        {("sqs:SendMessage", f"arn:aws:sqs:eu-west-1:{ACCOUNT}:orders", "event")},
    ),
    (
        "the event's resources are preferred to rebuilt ARNs",
        a_row(
            "kms.amazonaws.com",
            "Decrypt",
            {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"},
            resources=[
                {"ARN": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/abcd", "type": "AWS::KMS::Key"}
            ],
        ),
        "iam_action",
        {("kms:Decrypt", f"arn:aws:kms:us-east-1:{ACCOUNT}:key/abcd", "event")},
    ),
    (
        "a call by an AWS service is a service event",
        a_row(
            "sts.amazonaws.com",
            "AssumeRole",
            user_identity_type="AWSService",
            user_identity_invoked_by="lambda.amazonaws.com",
        ),
        "service_event",
        set(),
    ),
    (
        "CloudTrail Insights events are not API calls",
        a_row(None, None, event_type="AwsCloudTrailInsight"),
        "not_iam",
        set(),
    ),
    (
        "a network activity event that passed its VPC endpoint policy proves no IAM permission",
        a_row(
            "kms.amazonaws.com",
            "ListKeys",
            event_type="AwsVpceEvent",
            event_category="NetworkActivity",
        ),
        "not_iam",
        set(),
    ),
    (
        "listing directory buckets needs the ListAllMyDirectoryBuckets action",
        a_row("s3express.amazonaws.com", "ListDirectoryBuckets"),
        "iam_action",
        {("s3express:ListAllMyDirectoryBuckets", None, "event")},
    ),
    (
        "an Identity Center portal federation is authorized by the portal session, not IAM",
        a_row("sso.amazonaws.com", "Federate"),
        "not_iam",
        set(),
    ),
    (
        "a directory bucket's zonal call is authorized by its CreateSession session",
        a_row(
            "s3express.amazonaws.com",
            "PutObject",
            {"bucketName": "logs--use1-az4--x-s3", "key": "2026/11/02/a.json"},
            event_category="Data",
        ),
        "iam_action",
        {
            (
                "s3express:CreateSession",
                f"arn:aws:s3express:us-east-1:{ACCOUNT}:bucket/logs--use1-az4--x-s3",
                "zonal endpoint call of a directory bucket, authorized by its CreateSession "
                "session",
            )
        },
    ),
]


@pytest.mark.parametrize(
    ("row", "classification", "expected"),
    [pytest.param(row, cls, exp, id=case) for case, row, cls, exp in REGRESSIONS],
)
def test_each_pinned_case_maps_as_pinned(
    row: dict[str, Any], classification: str, expected: set[tuple[str, str | None, str]]
) -> None:
    mapping = map_event(row)
    assert mapping.classification == classification, mapping.reason
    assert uses(mapping) == expected
    if classification != "iam_action":
        assert mapping.reason
        assert mapping.is_authorized is None


def test_a_call_refused_by_a_vpc_endpoint_policy_is_denied_by_that_policy() -> None:
    mapping = map_event(
        a_row(
            "kms.amazonaws.com",
            "ListKeys",
            event_type="AwsVpceEvent",
            event_category="NetworkActivity",
            error_code="VpceAccessDenied",
            error_message="The request was denied due to a VPC endpoint policy",
        )
    )
    assert (mapping.classification, mapping.is_authorized) == ("iam_action", False)
    assert actions(mapping) == {"kms:ListKeys"}
    assert mapping.denial is not None
    assert mapping.denial.policy_type == "VPC endpoint policy"


def test_a_call_denied_by_an_scp_is_unauthorized_with_the_denial_parsed() -> None:
    message = (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/Admin/alice is not authorized to perform: "
        f"kms:ScheduleKeyDeletion on resource: arn:aws:kms:eu-west-1:{ACCOUNT}:key/8d7c with an "
        "explicit deny in a service control policy: arn:aws:organizations::999:policy/o-1/"
        "service_control_policy/p-1"
    )
    mapping = map_event(
        a_row(
            "kms.amazonaws.com",
            "ScheduleKeyDeletion",
            {"keyId": "8d7c"},
            error_code="AccessDeniedException",
            error_message=message,
        )
    )
    assert mapping.classification == "iam_action"
    assert mapping.is_authorized is False
    assert actions(mapping) == {"kms:ScheduleKeyDeletion"}
    assert mapping.denial is not None
    assert mapping.denial.action == "kms:ScheduleKeyDeletion"
    assert mapping.denial.resource == f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/8d7c"
    assert mapping.denial.policy_type == "service control policy"
    assert mapping.denial.explicit_deny is True


@pytest.mark.parametrize(
    ("message", "action", "resource", "policy_type", "explicit"),
    [
        pytest.param(
            "User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: s3:PutObject on "
            'resource: "arn:aws:s3:::b/k.csv" because no VPC endpoint policy allows the '
            "s3:PutObject action",
            "s3:PutObject",
            "arn:aws:s3:::b/k.csv",
            "VPC endpoint policy",
            False,
            id="no VPC endpoint policy allows (quoted S3 resource)",
        ),
        pytest.param(
            "User: arn:aws:iam::1:user/u is not authorized to perform: dynamodb:PutItem on "
            "resource: arn:aws:dynamodb:us-east-1:1:table/t because no identity-based policy "
            "allows the dynamodb:PutItem action",
            "dynamodb:PutItem",
            "arn:aws:dynamodb:us-east-1:1:table/t",
            "identity-based",
            False,
            id="no identity-based policy allows",
        ),
        pytest.param(
            "User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: iam:CreateRole "
            "on resource: arn:aws:iam::1:role/x with an explicit deny in a permissions boundary",
            "iam:CreateRole",
            "arn:aws:iam::1:role/x",
            "permissions boundary",
            True,
            id="explicit deny in a permissions boundary",
        ),
        pytest.param(
            "User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: s3:DeleteObject "
            'on resource: "arn:aws:s3:::b/x" because no session policy allows the s3:DeleteObject '
            "action",
            "s3:DeleteObject",
            "arn:aws:s3:::b/x",
            "session policy",
            False,
            id="no session policy allows",
        ),
        pytest.param(
            "You are not authorized to perform this operation. User: arn:aws:iam::1:user/bob is "
            "not authorized to perform: ec2:RunInstances on resource: "
            "arn:aws:ec2:eu-west-1:1:instance/* because no identity-based policy allows the "
            "ec2:RunInstances action. Encoded authorization failure message: 5sQShxI",
            "ec2:RunInstances",
            "arn:aws:ec2:eu-west-1:1:instance/*",
            "identity-based",
            False,
            id="EC2 message with an encoded failure",
        ),
        pytest.param(
            "User is not authorized to perform: rds:StopActivityStream",
            "rds:StopActivityStream",
            None,
            None,
            None,
            id="no principal, no resource",
        ),
        pytest.param(
            "User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: "
            "secretsmanager:GetSecretValue on resource: prod/api-key with an explicit deny in a "
            "resource-based policy",
            "secretsmanager:GetSecretValue",
            "prod/api-key",
            "resource-based policy",
            True,
            id="explicit deny in a resource-based policy, resource kept as written",
        ),
        pytest.param("Access Denied", None, None, None, None, id="S3's bare Access Denied"),
    ],
)
def test_denial_messages_are_parsed_into_action_resource_and_policy_type(
    message: str,
    action: str | None,
    resource: str | None,
    policy_type: str | None,
    explicit: bool | None,
) -> None:
    mapping = map_event(
        a_row("s3.amazonaws.com", "GetObject", error_code="AccessDenied", error_message=message)
    )
    assert mapping.is_authorized is False
    assert mapping.denial is not None
    assert (
        mapping.denial.action,
        mapping.denial.resource,
        mapping.denial.policy_type,
        mapping.denial.explicit_deny,
    ) == (action, resource, policy_type, explicit)


@pytest.mark.parametrize(
    "code",
    [
        "AccessDenied",
        "AccessDeniedException",
        "Client.UnauthorizedOperation",
        "UnauthorizedOperation",
        "Client.OperationNotPermitted",
        "UnauthorizedAccess",
        "Forbidden",
    ],
)
def test_the_access_denied_family_is_unauthorized(code: str) -> None:
    mapping = map_event(a_row("ec2.amazonaws.com", "StopInstances", error_code=code))
    assert mapping.is_authorized is False
    assert mapping.denial is not None
    assert mapping.denial.error_code == code


@pytest.mark.parametrize(
    "code",
    [
        None,
        "Client.DryRunOperation",
        "NoSuchKey",
        "ValidationException",
        "ResourceNotFoundException",
        "ThrottlingException",
        "Client.InvalidInstanceID.NotFound",
    ],
)
def test_success_dry_runs_and_errors_after_authorization_are_authorized(code: str | None) -> None:
    mapping = map_event(a_row("ec2.amazonaws.com", "RunInstances", error_code=code))
    assert mapping.is_authorized is True
    assert mapping.denial is None


def test_an_authentication_failure_evaluated_no_permission() -> None:
    mapping = map_event(a_row("sts.amazonaws.com", "AssumeRole", error_code="ExpiredToken"))
    assert mapping.classification == "iam_action"
    assert mapping.is_authorized is None
    assert mapping.reason and "ExpiredToken" in mapping.reason


def test_a_denied_call_of_an_unknown_operation_yields_the_action_its_message_names() -> None:
    mapping = map_event(
        a_row(
            "rds.amazonaws.com",
            "SomeFutureOperation",
            error_code="AccessDenied",
            error_message="User is not authorized to perform: rds:DescribeDBInstances",
        )
    )
    assert mapping.classification == "iam_action"
    assert mapping.is_authorized is False
    assert uses(mapping) == {("rds:DescribeDBInstances", None, "errorMessage of the denied call")}


def test_an_unknown_operation_is_unknown_with_a_reason() -> None:
    mapping = map_event(a_row("iam.amazonaws.com", "NotCreateUser"))
    assert mapping.classification == "unknown"
    assert mapping.actions == ()
    assert (
        mapping.reason == "operation iam:NotCreateUser is not in the catalogue and no rule maps it"
    )


def test_an_event_source_without_a_catalogue_prefix_is_unknown_with_a_reason() -> None:
    mapping = map_event(a_row("macie.amazonaws.com", "UpdateMacieSession"))
    assert mapping.classification == "unknown"
    assert mapping.reason == "event source macie.amazonaws.com has no IAM prefix in the catalogue"


def test_a_partiql_call_without_its_statement_is_unknown_rather_than_guessed() -> None:
    mapping = map_event(a_row("dynamodb.amazonaws.com", "ExecuteStatement", {}))
    assert mapping.classification == "unknown"
    assert mapping.reason and "request parameters" in mapping.reason


@pytest.mark.parametrize("partition", ["aws-cn", "aws-us-gov"])
def test_arns_are_built_in_the_partition_of_the_caller(partition: str) -> None:
    role = f"arn:{partition}:iam::{ACCOUNT}:role/app-role"
    mapping = map_event(
        a_row(
            "dynamodb.amazonaws.com",
            "GetItem",
            {"tableName": "orders"},
            aws_region="cn-north-1",
            principal_arn=role,
            session_issuer_arn=role,
            user_identity_arn=f"arn:{partition}:sts::{ACCOUNT}:assumed-role/app-role/s",
        )
    )
    assert uses(mapping) == {
        ("dynamodb:GetItem", f"arn:{partition}:dynamodb:cn-north-1:{ACCOUNT}:table/orders", "event")
    }


def test_a_resource_that_cannot_be_known_is_none_never_a_placeholder() -> None:
    mapping = map_event(a_row("s3.amazonaws.com", "GetObject", {"bucketName": "b"}))
    assert uses(mapping) == {("s3:GetObject", None, "event")}
    arns = [u.resource_arn for u in map_event(a_row("ec2.amazonaws.com", "RunInstances")).actions]
    assert arns == [None]


def test_emitted_actions_use_the_catalogue_spelling() -> None:
    mapping = map_event(a_row("s3.amazonaws.com", "GetBucketCors", {"bucketName": "web"}))
    assert actions(mapping) == {"s3:GetBucketCORS"}


def test_action_info_gives_the_prefix_and_access_level_in_any_case() -> None:
    assert action_info("s3:GetObject") == ("s3", "Read")
    assert action_info("S3:getobject") == ("s3", "Read")
    assert action_info("iam:PassRole") == ("iam", "Write")
    assert action_info("s3:HeadObject") is None
    assert action_info("nonsense") is None


def test_the_catalogue_holds_every_action_in_its_own_spelling() -> None:
    catalogue = catalogue_actions()
    assert len(catalogue) > 15000
    assert {"s3:GetObject", "cloud9:CreateEnvironmentEC2", "kafka:ListClustersV2"} <= catalogue
    assert "lambda:Invoke" not in catalogue


def test_results_are_immutable_values() -> None:
    mapping = map_event(a_row("s3.amazonaws.com", "ListBuckets"))
    assert mapping == map_event(a_row("s3.amazonaws.com", "ListBuckets"))
    assert mapping.actions == (ActionUse("s3:ListAllMyBuckets", None, "event"),)
    with pytest.raises(AttributeError):
        mapping.classification = "unknown"  # type: ignore[misc]


@pytest.mark.parametrize(
    "request_parameters",
    ["{not json", '"a string"', "[1, 2]", '{"bucketName": {"nested": true}, "key": null}', "..."],
)
def test_unreadable_or_odd_request_parameters_never_break_the_mapping(
    request_parameters: str,
) -> None:
    row = a_row("s3.amazonaws.com", "GetObject", request_parameters=request_parameters)
    assert uses(map_event(row)) == {("s3:GetObject", None, "event")}


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**31), 2**31) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(
    source=st.sampled_from(
        [
            "s3.amazonaws.com",
            "ec2.amazonaws.com",
            "dynamodb.amazonaws.com",
            "lambda.amazonaws.com",
            "iam.amazonaws.com",
            "sts.amazonaws.com",
            "kms.amazonaws.com",
            "apigateway.amazonaws.com",
            "unheard-of.amazonaws.com",
        ]
    ),
    name=st.sampled_from(
        [
            "GetObject",
            "CopyObject",
            "RunInstances",
            "ExecuteStatement",
            "TransactWriteItems",
            "Invoke",
            "CreateRole",
            "AssumeRole",
            "ReEncrypt",
            "GetResource",
            "Frobnicate",
        ]
    ),
    params=st.dictionaries(
        st.sampled_from(
            [
                "bucketName",
                "key",
                "x-amz-copy-source",
                "statement",
                "transactItems",
                "roleArn",
                "tags",
                "functionName",
                "sourceKeyId",
                "restApiId",
                "iamInstanceProfile",
                "tagSpecificationSet",
                "versionId",
            ]
        ),
        _json,
        max_size=5,
    ),
    error_code=st.sampled_from([None, "AccessDenied", "NoSuchKey", "ExpiredToken"]),
)
def test_any_parameters_map_without_error_to_catalogue_actions_only(
    source: str, name: str, params: dict[str, Any], error_code: str | None
) -> None:
    mapping = map_event(a_row(source, name, params, error_code=error_code))
    valid = catalogue_actions()
    assert all(use.action in valid for use in mapping.actions)
    assert all(
        use.resource_arn is None or use.resource_arn.startswith("arn:") for use in mapping.actions
    )
    assert (mapping.classification == "iam_action") == bool(mapping.actions)
