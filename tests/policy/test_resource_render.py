"""Suggested resource policies rendered as JSON, Terraform and CloudFormation for every service
that has them, and validated against the rules and limits each service applies."""

from __future__ import annotations

import json
import re
from typing import Any

import hcl2
import pytest
from cfnlint.api import ManualArgs, lint

from trailwise.pipeline.errors import UsageError
from trailwise.pipeline.policy.document import normalize_statement
from trailwise.pipeline.policy.resource_policy.render import (
    SIZE_LIMITS,
    lambda_permissions,
    render_resource_policy,
    validate_resource_policy,
)
from trailwise.pipeline.policy.resource_policy.target import parse_target, target

ACCOUNT, OTHER = "111122223333", "444455556666"
BUCKET = "arn:aws:s3:::trail-bucket"
TRAIL = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/main"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
QUEUE = f"arn:aws:sqs:us-east-1:{ACCOUNT}:events"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:alarms"
FUNCTION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:ingest"
SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db/password-AbCdEf"
REPOSITORY = f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/team/app"
ORG = "o-a1b2c3d4e5"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


# The CloudTrail bucket policy of AWS's CloudTrail documentation
# (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-s3-bucket-policy-for-cloudtrail.html)
CLOUDTRAIL_ACL_CHECK = {
    "Sid": "AWSCloudTrailAclCheck20150319",
    "Effect": "Allow",
    "Principal": {"Service": "cloudtrail.amazonaws.com"},
    "Action": "s3:GetBucketAcl",
    "Resource": BUCKET,
    "Condition": {"StringEquals": {"aws:SourceArn": TRAIL}},
}
CLOUDTRAIL_WRITE = {
    "Sid": "AWSCloudTrailWrite20150319",
    "Effect": "Allow",
    "Principal": {"Service": "cloudtrail.amazonaws.com"},
    "Action": "s3:PutObject",
    "Resource": f"{BUCKET}/AWSLogs/{ACCOUNT}/*",
    "Condition": {
        "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": TRAIL}
    },
}
S3_INVOKE = {
    "Sid": "S3Invoke",
    "Effect": "Allow",
    "Principal": {"Service": "s3.amazonaws.com"},
    "Action": "lambda:InvokeFunction",
    "Resource": FUNCTION,
    "Condition": {
        "ArnLike": {"AWS:SourceArn": BUCKET},
        "StringEquals": {"AWS:SourceAccount": ACCOUNT},
    },
}

# One realistic policy per service, with what each keeps verbatim from a current policy.
POLICIES: dict[str, tuple[str, dict[str, Any]]] = {
    "s3": (
        BUCKET,
        policy(
            CLOUDTRAIL_ACL_CHECK,
            CLOUDTRAIL_WRITE,
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [BUCKET, f"{BUCKET}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Sid": "DenyDeleteToOthers",
                "Effect": "Deny",
                "NotPrincipal": {"AWS": [f"arn:aws:iam::{ACCOUNT}:root"]},
                "Action": "s3:DeleteBucket",
                "Resource": BUCKET,
            },
        ),
    ),
    "kms": (
        KEY,
        policy(
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "Allow CloudTrail to encrypt logs",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "kms:GenerateDataKey*",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:SourceArn": TRAIL},
                    "StringLike": {
                        "kms:EncryptionContext:aws:cloudtrail:arn": (
                            f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"
                        )
                    },
                },
            },
        ),
    ),
    "sqs": (
        QUEUE,
        policy(
            {
                "Sid": "AllowS3Notifications",
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": QUEUE,
                "Condition": {
                    "ArnLike": {"aws:SourceArn": BUCKET},
                    "StringEquals": {"aws:SourceAccount": ACCOUNT},
                },
            }
        ),
    ),
    "sns": (
        TOPIC,
        policy(
            {
                "Sid": "AllowEventBridge",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": TOPIC,
            }
        ),
    ),
    "lambda": (
        FUNCTION,
        policy(
            S3_INVOKE,
            {
                "Sid": "OrgInvoke",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "lambda:InvokeFunction",
                "Resource": FUNCTION,
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG}},
            },
            {
                "Sid": "PublicUrl",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "lambda:InvokeFunctionUrl",
                "Resource": FUNCTION,
                "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}},
            },
        ),
    ),
    "secretsmanager": (
        SECRET,
        policy(
            {
                "Sid": "AllowAppRead",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{OTHER}:role/app"},
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "*",
            }
        ),
    ),
    "ecr": (
        REPOSITORY,
        policy(
            {
                "Sid": "AllowPull",
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:aws:iam::{OTHER}:root"]},
                "Action": [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
            },
            {
                "Sid": "LambdaECRImageRetrievalPolicy",
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                "Condition": {
                    "StringLike": {
                        "aws:sourceArn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:*"
                    }
                },
            },
        ),
    ),
}
WHOLE_POLICY_SERVICES = ["s3", "kms", "sqs", "sns", "secretsmanager", "ecr"]


def rendered(service: str, fmt: str, doc: dict[str, Any] | None = None, arn: str = "") -> str:
    default_arn, default_doc = POLICIES[service]
    return render_resource_policy(
        doc or default_doc, fmt, service=service, resource_arn=arn or default_arn, name="suggested"
    )


def problems(service: str, *statements: dict[str, Any], arn: str = "") -> list[str]:
    return validate_resource_policy(
        policy(*statements), service=service, resource_arn=arn or POLICIES[service][0]
    )


# ---------------------------------------------------------------------------------------------
# Given-helpers: Terraform read back as Terraform reads it, CloudFormation linted


def hcl_value(raw: Any) -> Any:
    """A string python-hcl2 8 returns as written (quoted, escaped) as the value Terraform sees.

    An unescaped ``${`` or ``%{`` would be a Terraform template: none may be left.
    """
    if isinstance(raw, list):
        return [hcl_value(v) for v in raw]
    assert isinstance(raw, str) and raw.startswith('"') and raw.endswith('"'), raw
    body = raw[1:-1]
    assert re.search(r"(?<!\$)\$\{|(?<!%)%\{", body.replace("$${", "").replace("%%{", "")) is None
    escapes = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
    text = re.sub(r"\\(.)", lambda m: escapes[m.group(1)], body)
    return text.replace("$${", "${").replace("%%{", "%{")


def terraform_blocks(text: str) -> dict[str, Any]:
    """The parsed HCL: ``{"data": {type: {label: body}}, "resource": {type: {label: body}}}``."""
    parsed = hcl2.loads(text)
    out: dict[str, Any] = {}
    for section in ("data", "resource"):
        for block in parsed.get(section, []):
            for kind, labelled in block.items():
                for label, body in labelled.items():
                    out.setdefault(section, {}).setdefault(kind.strip('"'), {})[
                        label.strip('"')
                    ] = body
    return out


def terraform_policy(body: dict[str, Any]) -> dict[str, Any]:
    """The policy document an ``aws_iam_policy_document`` block describes."""

    def principal(blocks: list[dict[str, Any]]) -> Any:
        pairs = {hcl_value(b["type"]): hcl_value(b["identifiers"]) for b in blocks}
        return "*" if pairs == {"*": ["*"]} else pairs

    statements = []
    for block in body.get("statement", []):
        statement: dict[str, Any] = {}
        for attribute, key in (
            ("sid", "Sid"),
            ("effect", "Effect"),
            ("actions", "Action"),
            ("not_actions", "NotAction"),
            ("resources", "Resource"),
            ("not_resources", "NotResource"),
        ):
            if attribute in block:
                statement[key] = hcl_value(block[attribute])
        for attribute, key in (("principals", "Principal"), ("not_principals", "NotPrincipal")):
            if attribute in block:
                statement[key] = principal(block[attribute])
        for condition in block.get("condition", []):
            statement.setdefault("Condition", {}).setdefault(hcl_value(condition["test"]), {})[
                hcl_value(condition["variable"])
            ] = hcl_value(condition["values"])
        statements.append(normalize_statement(statement))
    return {"Version": hcl_value(body["version"]), "Statement": statements}


def canonical(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` as Terraform writes it back: canonical statements, booleans as strings."""
    text = json.dumps(doc).replace(": true", ': "true"').replace(": false", ': "false"')
    loaded = json.loads(text)
    return {
        "Version": loaded["Version"],
        "Statement": [normalize_statement(s) for s in loaded["Statement"]],
    }


def cfn_lint_errors(template: str) -> list[str]:
    return [
        f"{m.rule.id} {m.message}"
        for m in lint(template, config=ManualArgs(regions=["us-east-1"]))
        if m.rule.id.startswith(("E", "W"))
    ]


# ---------------------------------------------------------------------------------------------
# JSON


@pytest.mark.parametrize("service", sorted(POLICIES))
def test_json_is_the_policy_document_itself(service):
    text = rendered(service, "json")
    assert text.endswith("}\n")
    assert json.loads(text) == POLICIES[service][1]


# ---------------------------------------------------------------------------------------------
# Terraform


ATTACHMENTS = {
    "s3": ("aws_s3_bucket_policy", "bucket", "trail-bucket"),
    "kms": ("aws_kms_key_policy", "key_id", "1234abcd-12ab-34cd-56ef-1234567890ab"),
    "sqs": (
        "aws_sqs_queue_policy",
        "queue_url",
        f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/events",
    ),
    "sns": ("aws_sns_topic_policy", "arn", TOPIC),
    "secretsmanager": ("aws_secretsmanager_secret_policy", "secret_arn", SECRET),
    "ecr": ("aws_ecr_repository_policy", "repository", "team/app"),
}


@pytest.mark.parametrize("service", WHOLE_POLICY_SERVICES)
def test_terraform_is_a_policy_document_and_the_resource_that_attaches_it(service):
    blocks = terraform_blocks(rendered(service, "terraform"))
    kind, attribute, value = ATTACHMENTS[service]
    assert list(blocks["data"]["aws_iam_policy_document"]) == ["suggested"]
    attachment = blocks["resource"][kind]["suggested"]
    assert hcl_value(attachment[attribute]) == value
    assert attachment["policy"] == "${data.aws_iam_policy_document.suggested.json}"


@pytest.mark.parametrize("service", WHOLE_POLICY_SERVICES)
def test_terraform_policy_document_round_trips_to_the_same_statements(service):
    blocks = terraform_blocks(rendered(service, "terraform"))
    body = blocks["data"]["aws_iam_policy_document"]["suggested"]
    assert terraform_policy(body) == canonical(POLICIES[service][1])


def test_terraform_leaves_iam_policy_variables_to_iam():
    doc = policy(
        {
            "Sid": "PerAccountPrefix",
            "Effect": "Allow",
            "Principal": {"AWS": [ACCOUNT, OTHER]},
            "Action": "s3:PutObject",
            "Resource": f"{BUCKET}/${{aws:PrincipalAccount}}/*",
            "Condition": {"ArnLike": {"aws:PrincipalArn": "${aws:SourceArn}"}},
        }
    )
    text = rendered("s3", "terraform", doc)
    assert "$${aws:PrincipalAccount}" in text
    assert '"$${aws:SourceArn}"' in text
    body = terraform_blocks(text)["data"]["aws_iam_policy_document"]["suggested"]
    assert terraform_policy(body) == canonical(doc)


@pytest.mark.parametrize(
    ("arn", "url"),
    [
        (QUEUE, f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/events"),
        (
            f"arn:aws-cn:sqs:cn-north-1:{ACCOUNT}:events.fifo",
            f"https://sqs.cn-north-1.amazonaws.com.cn/{ACCOUNT}/events.fifo",
        ),
        (
            f"arn:aws-us-gov:sqs:us-gov-west-1:{ACCOUNT}:events",
            f"https://sqs.us-gov-west-1.amazonaws.com/{ACCOUNT}/events",
        ),
    ],
)
def test_queue_urls_are_built_on_the_partitions_domain(arn, url):
    doc = policy({**POLICIES["sqs"][1]["Statement"][0], "Resource": arn})
    blocks = terraform_blocks(rendered("sqs", "terraform", doc, arn=arn))
    assert hcl_value(blocks["resource"]["aws_sqs_queue_policy"]["suggested"]["queue_url"]) == url
    template = json.loads(rendered("sqs", "cloudformation", doc, arn=arn))
    assert template["Resources"]["Suggested"]["Properties"]["Queues"] == [url]


def test_a_secret_policy_blocks_public_policies_in_terraform_and_cloudformation():
    blocks = terraform_blocks(rendered("secretsmanager", "terraform"))
    attachment = blocks["resource"]["aws_secretsmanager_secret_policy"]["suggested"]
    assert attachment["block_public_policy"] is True
    template = json.loads(rendered("secretsmanager", "cloudformation"))
    assert template["Resources"]["Suggested"]["Properties"]["BlockPublicPolicy"] is True


# ---------------------------------------------------------------------------------------------
# Lambda: one permission per statement, principal and action


def test_lambda_terraform_is_one_aws_lambda_permission_per_statement_principal_and_action():
    doc = policy({**S3_INVOKE, "Principal": {"Service": ["sns.amazonaws.com", "s3.amazonaws.com"]}})
    permissions = terraform_blocks(rendered("lambda", "terraform", doc))["resource"]
    assert list(permissions) == ["aws_lambda_permission"]
    bodies = {
        label: {k: hcl_value(v) for k, v in body.items() if k != "__is_block__"}
        for label, body in permissions["aws_lambda_permission"].items()
    }
    common = {
        "action": "lambda:InvokeFunction",
        "function_name": "ingest",
        "source_arn": BUCKET,
        "source_account": ACCOUNT,
    }
    assert bodies == {
        "suggested_S3Invoke-1": {
            "statement_id": "S3Invoke-1",
            "principal": "s3.amazonaws.com",
            **common,
        },
        "suggested_S3Invoke-2": {
            "statement_id": "S3Invoke-2",
            "principal": "sns.amazonaws.com",
            **common,
        },
    }


def test_lambda_permissions_take_org_ids_and_function_url_auth_types_from_conditions():
    permissions = lambda_permissions(POLICIES["lambda"][1], target("lambda", FUNCTION))
    assert [(p.statement_id, p.principal, p.conditions()) for p in permissions] == [
        ("S3Invoke", "s3.amazonaws.com", [("source_arn", BUCKET), ("source_account", ACCOUNT)]),
        ("OrgInvoke", "*", [("principal_org_id", ORG)]),
        ("PublicUrl", "*", [("function_url_auth_type", "NONE")]),
    ]


def test_lambda_permissions_expand_actions_and_name_statements_without_a_sid():
    statement = {k: v for k, v in S3_INVOKE.items() if k != "Sid"}
    doc = policy({**statement, "Action": ["lambda:InvokeFunction", "lambda:GetFunction"]})
    permissions = lambda_permissions(doc, target("lambda", FUNCTION))
    assert [(p.statement_id, p.action) for p in permissions] == [
        ("Statement1-1", "lambda:GetFunction"),
        ("Statement1-2", "lambda:InvokeFunction"),
    ]


def test_a_qualified_function_arn_puts_the_qualifier_on_every_permission():
    alias = f"{FUNCTION}:live"
    doc = policy({**S3_INVOKE, "Resource": alias})
    blocks = terraform_blocks(rendered("lambda", "terraform", doc, arn=alias))
    [body] = blocks["resource"]["aws_lambda_permission"].values()
    assert (hcl_value(body["function_name"]), hcl_value(body["qualifier"])) == ("ingest", "live")
    template = json.loads(rendered("lambda", "cloudformation", doc, arn=alias))
    [resource] = template["Resources"].values()
    assert resource["Properties"]["FunctionName"] == "ingest:live"


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"Effect": "Deny"}, "is not an Allow"),
        ({"Principal": None, "NotPrincipal": {"AWS": ACCOUNT}}, "has NotPrincipal"),
        ({"Action": None, "NotAction": "lambda:GetPolicy"}, "has NotAction"),
        ({"Principal": {"Federated": "cognito-identity.amazonaws.com"}}, "Federated principal"),
        ({"Action": "lambda:Get*"}, "cannot grant 'lambda:Get*'"),
        ({"Resource": f"{FUNCTION}-other"}, "applies to"),
        ({"Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}, "IpAddress aws:SourceIp"),
        ({"Condition": {"StringLike": {"aws:SourceArn": BUCKET}}}, "StringLike aws:SourceArn"),
        ({"Condition": {"ArnLike": {"aws:SourceArn": [BUCKET, f"{BUCKET}2"]}}}, "takes one"),
        ({"Sid": "S3 invoke"}, "letters, digits, - and _"),
    ],
)
def test_lambda_refuses_a_statement_no_permission_can_express(change, says):
    statement = {k: v for k, v in {**S3_INVOKE, **change}.items() if v is not None}
    for fmt in ("terraform", "cloudformation"):
        with pytest.raises(UsageError) as caught:
            rendered("lambda", fmt, policy(statement))
        message = str(caught.value)
        assert says in message
        assert "\n" not in message
        assert message.startswith(f"statement {statement['Sid']!r}")


# ---------------------------------------------------------------------------------------------
# CloudFormation


CFN_TYPES = {
    "s3": ("AWS::S3::BucketPolicy", {"Bucket": "trail-bucket"}, "PolicyDocument"),
    "sqs": (
        "AWS::SQS::QueuePolicy",
        {"Queues": [f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/events"]},
        "PolicyDocument",
    ),
    "sns": ("AWS::SNS::TopicPolicy", {"Topics": [TOPIC]}, "PolicyDocument"),
    "secretsmanager": (
        "AWS::SecretsManager::ResourcePolicy",
        {"SecretId": SECRET, "BlockPublicPolicy": True},
        "ResourcePolicy",
    ),
}


@pytest.mark.parametrize("service", sorted(CFN_TYPES))
def test_cloudformation_attaches_the_policy_with_the_services_resource_type(service):
    template = json.loads(rendered(service, "cloudformation"))
    kind, identifies, holder = CFN_TYPES[service]
    assert template["Resources"] == {
        "Suggested": {
            "Type": kind,
            "Properties": {**identifies, holder: POLICIES[service][1]},
        }
    }


@pytest.mark.parametrize("service", [*sorted(CFN_TYPES), "lambda"])
def test_cloudformation_templates_pass_cfn_lint(service):
    assert cfn_lint_errors(rendered(service, "cloudformation")) == []


def test_lambda_cloudformation_is_one_permission_resource_per_statement_principal_and_action():
    template = json.loads(rendered("lambda", "cloudformation"))
    assert {logical: r["Type"] for logical, r in template["Resources"].items()} == {
        "SuggestedS3Invoke": "AWS::Lambda::Permission",
        "SuggestedOrgInvoke": "AWS::Lambda::Permission",
        "SuggestedPublicUrl": "AWS::Lambda::Permission",
    }
    assert template["Resources"]["SuggestedS3Invoke"]["Properties"] == {
        "Action": "lambda:InvokeFunction",
        "FunctionName": "ingest",
        "Principal": "s3.amazonaws.com",
        "SourceArn": BUCKET,
        "SourceAccount": ACCOUNT,
    }
    assert template["Resources"]["SuggestedOrgInvoke"]["Properties"]["PrincipalOrgID"] == ORG


@pytest.mark.parametrize(
    ("service", "creator"), [("kms", "AWS::KMS::Key"), ("ecr", "AWS::ECR::Repository")]
)
def test_cloudformation_refuses_keys_and_repositories_it_cannot_attach_a_policy_to(
    service, creator
):
    with pytest.raises(UsageError) as caught:
        rendered(service, "cloudformation")
    assert creator in caught.value.message
    assert caught.value.hint == "use --format json or terraform"
    assert "\n" not in str(caught.value)


# ---------------------------------------------------------------------------------------------
# ARNs


@pytest.mark.parametrize(
    ("service", "arn", "name", "qualifier"),
    [
        ("s3", BUCKET, "trail-bucket", ""),
        ("kms", KEY, "1234abcd-12ab-34cd-56ef-1234567890ab", ""),
        ("kms", f"arn:aws-cn:kms:cn-north-1:{ACCOUNT}:key/mrk-{'a' * 32}", f"mrk-{'a' * 32}", ""),
        ("sqs", QUEUE, "events", ""),
        ("sns", f"arn:aws-us-gov:sns:us-gov-east-1:{ACCOUNT}:alarms.fifo", "alarms.fifo", ""),
        ("lambda", FUNCTION, "ingest", ""),
        ("lambda", f"{FUNCTION}:$LATEST", "ingest", "$LATEST"),
        ("secretsmanager", SECRET, "db/password-AbCdEf", ""),
        ("ecr", REPOSITORY, "team/app", ""),
    ],
)
def test_names_come_from_the_parsed_arn(service, arn, name, qualifier):
    resource = target(service, arn)
    assert (resource.name, resource.qualifier) == (name, qualifier)
    assert str(resource.arn) == arn
    assert parse_target(arn).service == service


@pytest.mark.parametrize(
    ("service", "arn", "says"),
    [
        ("s3", f"{BUCKET}/AWSLogs/x", "is an object"),
        ("kms", f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/trail", "is an alias"),
        ("sqs", TOPIC, "names a sns resource, not a sqs queue"),
        ("sqs", f"arn:aws:sqs:us-east-1:{ACCOUNT}:{'q' * 81}", "does not name a queue"),
        ("sns", f"arn:aws-iso:sns:us-iso-east-1:{ACCOUNT}:t", "partition 'aws-iso'"),
        ("sns", f"arn:aws-cn:sns:us-east-1:{ACCOUNT}:t", "not a region of aws-cn"),
        ("sns", f"arn:aws:sns:cn-north-1:{ACCOUNT}:t", "not a region of aws"),
        ("sns", "arn:aws:sns:us-east-1::t", "names its region and account"),
        ("ecr", f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/Team", "does not name a repository"),
        ("lambda", f"arn:aws:lambda:us-east-1:{ACCOUNT}:layer:x", "does not name a function"),
        ("s3", "trail-bucket", "is not an ARN"),
    ],
)
def test_an_arn_that_names_no_resource_of_the_service_is_refused(service, arn, says):
    with pytest.raises(UsageError, match=re.escape(says)):
        target(service, arn)


def test_unknown_formats_and_services_are_refused_with_the_choices():
    with pytest.raises(UsageError) as fmt:
        rendered("s3", "yaml")
    assert fmt.value.hint == "use one of json, terraform, cloudformation"
    with pytest.raises(UsageError) as service:
        render_resource_policy(policy(), "json", service="dynamodb", resource_arn=BUCKET, name="x")
    assert "dynamodb" in service.value.message
    with pytest.raises(UsageError, match="is not the ARN of a resource with a resource-based"):
        parse_target(f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/t")


# ---------------------------------------------------------------------------------------------
# Validation


def test_the_cloudtrail_bucket_policy_of_the_cloudtrail_documentation_validates_clean():
    assert problems("s3", CLOUDTRAIL_ACL_CHECK, CLOUDTRAIL_WRITE) == []


@pytest.mark.parametrize("service", sorted(POLICIES))
def test_every_example_policy_validates_clean(service):
    arn, doc = POLICIES[service]
    assert validate_resource_policy(doc, service=service, resource_arn=arn) == []


def test_a_statement_without_principal_fails_and_with_one_passes():
    statement = {k: v for k, v in CLOUDTRAIL_ACL_CHECK.items() if k != "Principal"}
    assert problems("s3", statement) == [
        "statement 'AWSCloudTrailAclCheck20150319': a resource policy statement needs a"
        " Principal or NotPrincipal"
    ]
    assert problems("s3", {**statement, "NotPrincipal": {"AWS": ACCOUNT}, "Effect": "Deny"}) == []


@pytest.mark.parametrize(
    "principal",
    [
        "*",
        {"AWS": "*"},
        {"AWS": ACCOUNT},
        {"AWS": f"arn:aws:iam::{OTHER}:root"},
        {"AWS": f"arn:aws:iam::{OTHER}:user/ops/alice"},
        {"AWS": f"arn:aws:iam::{OTHER}:role/service-role/app"},
        {"AWS": f"arn:aws:sts::{OTHER}:assumed-role/app/session-1"},
        {"AWS": "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E2QWRUHAPOMQZL"},
        {"Service": ["cloudtrail.amazonaws.com", "logs.us-east-1.amazonaws.com"]},
        {"Federated": f"arn:aws:iam::{ACCOUNT}:saml-provider/Okta"},
        {"Federated": "cognito-identity.amazonaws.com"},
        {"CanonicalUser": "a" * 64},
    ],
)
def test_valid_principal_forms_pass(principal):
    assert problems("s3", {**CLOUDTRAIL_ACL_CHECK, "Principal": principal}) == []


@pytest.mark.parametrize(
    ("principal", "says"),
    [
        ("alice", "is not a principal"),
        ({"AWS": "12345"}, "12345 is not an AWS principal"),
        ({"AWS": f"arn:aws:iam::{OTHER}:group/admins"}, "group/admins is not an AWS principal"),
        ({"AWS": f"arn:aws-cn:iam::{OTHER}:root"}, "is in partition aws-cn, the resource in aws"),
        ({"Service": "cloudtrail"}, "cloudtrail is not a service principal"),
        ({"Federated": "example.com"}, "example.com is not an identity provider ARN"),
        ({"Everyone": "*"}, "Everyone is not a principal type"),
        ({"AWS": []}, "AWS principals must be a string or a non-empty list"),
    ],
)
def test_invalid_principal_forms_fail(principal, says):
    [problem] = problems("s3", {**CLOUDTRAIL_ACL_CHECK, "Principal": principal})
    assert problem.startswith("statement 'AWSCloudTrailAclCheck20150319': ")
    assert says in problem


def test_a_canonical_user_is_only_a_principal_of_bucket_policies():
    statement = {**POLICIES["sqs"][1]["Statement"][0], "Principal": {"CanonicalUser": "a" * 64}}
    assert problems("sqs", statement) == [
        "statement 'AllowS3Notifications': CanonicalUser is not a principal type of an SQS queue"
        " policy"
    ]


def test_actions_of_another_service_fail_and_the_policys_own_or_star_pass():
    statement = {**POLICIES["sqs"][1]["Statement"][0], "Action": ["sqs:SendMessage", "sns:Publish"]}
    assert (
        "statement 'AllowS3Notifications': sns:Publish is not an action of sqs (an SQS queue"
        " policy holds only sqs actions)"
    ) in problems("sqs", statement)
    assert problems("sqs", {**statement, "Action": ["sqs:*", "*"]}) == []


@pytest.mark.parametrize(
    ("service", "resource", "ok"),
    [
        ("s3", BUCKET, True),
        ("s3", f"{BUCKET}/AWSLogs/*", True),
        ("s3", "arn:aws:s3:::trail-bucket-2", False),
        ("s3", "arn:aws:s3:::other/*", False),
        ("s3", "*", False),
        ("kms", "*", True),
        ("kms", KEY, True),
        ("kms", f"arn:aws:kms:us-east-1:{ACCOUNT}:key/00000000-0000-0000-0000-000000000000", False),
        ("sqs", QUEUE, True),
        ("sqs", "*", True),
        ("sqs", f"arn:aws:sqs:us-east-1:{ACCOUNT}:other", False),
        ("lambda", FUNCTION, True),
        ("lambda", f"{FUNCTION}:*", True),
        ("lambda", f"{FUNCTION}-v2", False),
        ("secretsmanager", "*", True),
        (
            "secretsmanager",
            f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db/password-??????",
            True,
        ),
        ("secretsmanager", f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:other", False),
    ],
)
def test_resources_are_the_resource_itself_or_inside_it(service, resource, ok):
    actions = {
        "s3": "s3:GetObject" if "/" in resource.split(":::", 1)[-1] else "s3:ListBucket",
        "kms": "kms:Decrypt",
        "sqs": "sqs:SendMessage",
        "lambda": "lambda:InvokeFunction",
        "secretsmanager": "secretsmanager:GetSecretValue",
    }
    statement = {
        "Sid": "Grant",
        "Effect": "Allow",
        "Principal": {"AWS": OTHER},
        "Action": actions[service],
        "Resource": resource,
    }
    found = [p for p in problems(service, statement) if "is not the" in p or 'is not "*"' in p]
    assert (found == []) is ok, found


def test_a_kms_key_policy_sid_may_hold_spaces_but_an_ecr_or_lambda_sid_may_not():
    assert problems("kms", POLICIES["kms"][1]["Statement"][0]) == []
    ecr = {**POLICIES["ecr"][1]["Statement"][0], "Sid": "Allow pull"}
    assert problems("ecr", ecr) == ["statement 'Allow pull': Sid must be letters and digits only"]
    function = {**S3_INVOKE, "Sid": "S3 invoke"}
    assert problems("lambda", function) == [
        "statement 'S3 invoke': Sid must be letters, digits, - and _ (at most 100)"
    ]


def given_policy_of_size(service: str, size: int) -> dict[str, Any]:
    """The service's example policy padded (in a condition value) to ``size`` as measured."""
    doc = POLICIES[service][1]
    limit = SIZE_LIMITS[service]

    def measure(d: dict[str, Any]) -> int:
        text = json.dumps(d, indent=2, ensure_ascii=False)
        return len(text.encode()) if limit.unit == "bytes" else len(text)

    statement = {**doc["Statement"][0]}
    conditions = {**statement.get("Condition", {})}

    def padded(n: int) -> dict[str, Any]:
        keys = {**conditions.get("StringNotEquals", {}), "aws:UserAgent": "x" * n}
        return policy({**statement, "Condition": {**conditions, "StringNotEquals": keys}})

    base = measure(padded(0))
    out = padded(size - base)
    assert measure(out) == size
    return out


@pytest.mark.parametrize("service", sorted(SIZE_LIMITS))
def test_a_policy_at_its_size_limit_passes_and_one_byte_over_fails(service):
    arn = POLICIES[service][0]
    limit = SIZE_LIMITS[service]
    at = given_policy_of_size(service, limit.size)
    assert validate_resource_policy(at, service=service, resource_arn=arn) == []
    over = given_policy_of_size(service, limit.size + 1)
    [problem] = validate_resource_policy(over, service=service, resource_arn=arn)
    assert f"over the {limit.size:,} {limit.unit} {limit.policy} may hold" in problem
    assert "send it minified" in problem  # its whitespace alone puts it over


@pytest.mark.parametrize(("service", "fits"), [("s3", False), ("ecr", True)])
def test_non_ascii_counts_in_utf8_bytes_where_the_limit_is_in_bytes(service, fits):
    # é is one character and two UTF-8 bytes: ten of them in place of ten x keep the length in
    # characters at the limit and put the length in bytes ten over.
    doc = given_policy_of_size(service, SIZE_LIMITS[service].size)
    keys = doc["Statement"][0]["Condition"]["StringNotEquals"]
    keys["aws:UserAgent"] = "é" * 10 + keys["aws:UserAgent"][10:]
    found = validate_resource_policy(doc, service=service, resource_arn=POLICIES[service][0])
    assert (found == []) is fits, found


def test_a_key_policy_holds_only_the_characters_kms_takes():
    statement = POLICIES["kms"][1]["Statement"][0]
    assert problems("kms", {**statement, "Sid": "Clé du compte"}) == []
    [problem] = problems("kms", {**statement, "Sid": "Key → account"})
    assert problem.startswith("the key policy holds characters KMS does not take")


def test_an_sqs_statement_holds_at_most_seven_actions():
    statement = POLICIES["sqs"][1]["Statement"][0]
    seven = ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueUrl"]
    seven += ["sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility", "sqs:PurgeQueue"]
    assert problems("sqs", {**statement, "Action": seven}) == []
    assert problems("sqs", {**statement, "Action": [*seven, "sqs:ListQueueTags"]}) == [
        "statement 'AllowS3Notifications' has 8 actions, over the 7 an SQS queue policy may hold"
    ]


def test_an_sqs_policy_holds_at_most_twenty_statements():
    # Without conditions, which the policy may hold ten of in all.
    statement = {k: v for k, v in POLICIES["sqs"][1]["Statement"][0].items() if k != "Condition"}
    many = [{**statement, "Sid": f"S{n}"} for n in range(21)]
    found = validate_resource_policy(policy(*many[:20]), service="sqs", resource_arn=QUEUE)
    assert found == []
    found = validate_resource_policy(policy(*many), service="sqs", resource_arn=QUEUE)
    assert found == ["the policy has 21 statements, over the 20 an SQS queue policy may hold"]


def test_an_sqs_policy_names_at_most_fifty_principals_and_ten_conditions():
    statement = POLICIES["sqs"][1]["Statement"][0]
    accounts = [f"{n:012d}" for n in range(1, 52)]
    assert problems("sqs", {**statement, "Principal": {"AWS": accounts[:50]}}) == []
    assert problems("sqs", {**statement, "Principal": {"AWS": accounts}}) == [
        "the policy has 51 principals, over the 50 an SQS queue policy may hold"
    ]
    ten = {f"aws:PrincipalTag/t{n}": "x" for n in range(10)}
    assert problems("sqs", {**statement, "Condition": {"StringEquals": ten}}) == []
    eleven = {**ten, "aws:PrincipalTag/t10": "x"}
    assert problems("sqs", {**statement, "Condition": {"StringEquals": eleven}}) == [
        "the policy has 11 conditions, over the 10 an SQS queue policy may hold"
    ]


def test_an_sns_statement_names_at_most_two_hundred_principals():
    statement = POLICIES["sns"][1]["Statement"][0]
    accounts = [f"{n:012d}" for n in range(1, 202)]
    assert problems("sns", {**statement, "Principal": {"AWS": accounts[:200]}}) == []
    assert problems("sns", {**statement, "Principal": {"AWS": accounts}}) == [
        "statement 'AllowEventBridge' has 201 principals, over the 200 an SNS topic policy may hold"
    ]


def test_an_sns_statement_names_exactly_one_resource_the_topic():
    statement = POLICIES["sns"][1]["Statement"][0]
    assert problems("sns", statement) == []
    assert problems("sns", {**statement, "Resource": [TOPIC, TOPIC]}) == [
        "statement 'AllowEventBridge': a statement of an SNS topic policy names one Resource,"
        " the topic"
    ]


def test_validation_refuses_a_resource_arn_of_another_service():
    with pytest.raises(UsageError, match="names a s3 resource, not a kms key"):
        validate_resource_policy(POLICIES["s3"][1], service="kms", resource_arn=BUCKET)
