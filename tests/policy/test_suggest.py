"""policy suggest: least-privilege identity policies from observed use, judged by the IAM
catalogue and by parliament (an independent linter)."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.given import APP_ROLE, APP_ROLE_USED, REALDATA, an_event, given_delivery_file
from trailwise.pipeline import api
from trailwise.pipeline.errors import PolicyError
from trailwise.pipeline.mapping import catalogue
from trailwise.pipeline.policy import document, render, resources, suggest, validate

CI_ROLE = "arn:aws:iam::111122223333:role/github-actions-deploy"
LAMBDA_ROLE = "arn:aws:iam::111122223333:role/service-role/orders-processor-role"
REPORTING_USER = "arn:aws:iam::111122223333:user/service-accounts/reporting-svc"
SAMPLE_PRINCIPALS = (APP_ROLE, CI_ROLE, LAMBDA_ROLE, REPORTING_USER)
WORKER = "arn:aws:iam::111122223333:role/worker"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
# Findings that make a policy wrong (not merely broad): none may appear in a generated policy.
BLOCKING_FINDINGS = {
    "EXCEPTION",
    "MALFORMED_JSON",
    "MALFORMED",
    "DUPLICATE_SID",
    "INVALID_SID",
    "UNKNOWN_ACTION",
    "UNKNOWN_PREFIX",
    "UNKNOWN_CONDITION_FOR_ACTION",
    "UNKNOWN_OPERATOR",
    "MISMATCHED_TYPE",
    "MISMATCHED_TYPE_BUT_USABLE",
    "RESOURCE_MISMATCH",
    "NO_VERSION",
    "INVALID_VERSION",
    "INVALID_ARN",
}


def parliament_findings(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """parliament's findings on ``doc`` as (issue, detail)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # parliament imports pkg_resources
        from parliament import analyze_policy_string

    policy = analyze_policy_string(json.dumps(doc))
    return [(f.issue, str(f.detail)) for f in policy.findings]


def blocking(doc: dict[str, Any], ignore: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    return [f for f in parliament_findings(doc) if f[0] in BLOCKING_FINDINGS - ignore]


def statements(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for d in docs for s in d["Statement"]]


def listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def grants(docs: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """Every (action, resource, condition) the documents allow."""
    return {
        (action, resource, json.dumps(s.get("Condition"), sort_keys=True))
        for s in statements(docs)
        for action in listed(s["Action"])
        for resource in listed(s["Resource"])
    }


def granted_actions(docs: list[dict[str, Any]]) -> set[str]:
    return {action for action, _, _ in grants(docs)}


def resources_of(docs: list[dict[str, Any]], action: str) -> set[str]:
    return {r for a, r, _ in grants(docs) if a == action}


# -- the sample lake's principals -----------------------------------------------------------


def test_app_role_gets_what_it_used_and_not_its_denied_put_item_on_payments(sample_lake):
    result = suggest(sample_lake, APP_ROLE)
    assert granted_actions(result.documents) == APP_ROLE_USED
    assert not any("payments" in r for _, r, _ in grants(result.documents))
    assert any("dynamodb:PutItem" in n and "--include-denied" in n for n in result.notes)


def test_app_role_objects_generalize_to_a_key_prefix_inside_each_bucket(sample_lake):
    result = suggest(sample_lake, APP_ROLE)
    assert resources_of(result.documents, "s3:GetObject") == {
        "arn:aws:s3:::acme-prod-orders-data/orders/*",
        "arn:aws:s3:::acme-prod-orders-data-eu/orders/*",
    }
    assert resources_of(result.documents, "s3:PutObject") == {
        "arn:aws:s3:::acme-prod-orders-data/receipts/*",
        "arn:aws:s3:::acme-prod-orders-data-eu/receipts/*",
    }
    get_object = next(e for e in result.evidence if e.action == "s3:GetObject")
    assert get_object.observed_resources > 40
    assert "folded into arn:aws:s3:::acme-prod-orders-data/orders/*" in get_object.why


def test_app_role_calls_through_the_vpc_endpoint_are_bound_to_it(sample_lake):
    result = suggest(sample_lake, APP_ROLE)
    eu = [s for s in statements(result.documents) if "orders-data-eu" in json.dumps(s)]
    assert eu
    for statement in eu:
        assert statement["Condition"] == {
            "StringEquals": {"aws:SourceVpce": "vpce-0a1b2c3d4e5f67890"}
        }
    us = [s for s in statements(result.documents) if "orders-data/" in json.dumps(s)]
    assert all("Condition" not in s for s in us)
    note = next(c for c in result.conditions if c.key == "aws:SourceVpce")
    assert "VPC endpoint" in note.justification


@pytest.mark.parametrize("principal", SAMPLE_PRINCIPALS)
@pytest.mark.parametrize("mode", ["exact", "generalize"])
def test_no_grant_reaches_an_account_or_region_where_no_use_was_seen(sample_lake, principal, mode):
    result = suggest(sample_lake, principal, resources=mode)
    seen = {
        tuple(r["resource_arn"].split(":")[3:5])
        for r in api.run_sql(
            "select distinct resource_arn from event_actions "
            f"where principal_arn = '{principal}' and resource_arn is not null",
            sample_lake,
        ).to_pylist()
    }
    for _, resource, _ in grants(result.documents):
        if resource == "*":
            continue
        region_account = tuple(resource.split(":")[3:5])
        assert "*" not in "".join(region_account), resource
        assert region_account in seen, resource


def test_ci_role_passes_each_role_only_to_the_service_it_was_passed_to(sample_lake):
    result = suggest(sample_lake, CI_ROLE)
    pass_role = [s for s in statements(result.documents) if s["Action"] == "iam:PassRole"]
    assert {s["Sid"]: (s["Resource"], s["Condition"]) for s in pass_role} == {
        "IamPassRoleToEcsTasks": (
            "arn:aws:iam::111122223333:role/ecsTaskExecutionRole",
            {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        ),
        "IamPassRoleToLambda": (
            "arn:aws:iam::111122223333:role/service-role/orders-processor-role",
            {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
        ),
    }
    evidence = next(e for e in result.evidence if e.action == "iam:PassRole")
    assert "requestParameters.executionRoleArn" in evidence.why
    assert "requestParameters.role" in evidence.why


def test_ci_role_leaves_out_the_create_role_its_boundary_denied_even_with_include_denied(
    sample_lake,
):
    result = suggest(sample_lake, CI_ROLE, include_denied=True)
    assert "iam:CreateRole" not in granted_actions(result.documents)
    assert any("iam:CreateRole" in n and "permissions boundary" in n for n in result.notes)


def test_ci_role_actions_whose_resource_no_event_names_get_star_in_their_own_statement(
    sample_lake,
):
    result = suggest(sample_lake, CI_ROLE)
    [statement] = [
        s for s in statements(result.documents) if s["Sid"] == "EcsWriteResourceNotLogged"
    ]
    assert statement["Resource"] == "*"
    # the new revision's number is only in the response, so the request names no task definition
    assert statement["Action"] == "ecs:RegisterTaskDefinition"
    assert statement["Condition"] == {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}
    assert resources_of(result.documents, "ecs:UpdateService") == {
        "arn:aws:ecs:us-east-1:111122223333:service/prod/orders-api"
    }
    evidence = next(e for e in result.evidence if e.action == "ecs:RegisterTaskDefinition")
    assert "do not name a resource" in evidence.why
    assert resources_of(result.documents, "sts:AssumeRole") == {
        "arn:aws:iam::444455556666:role/ci-dev-deploy"
    }


def test_lambda_role_gets_exactly_its_tables_queue_key_and_secret(sample_lake):
    result = suggest(sample_lake, LAMBDA_ROLE)
    assert {(a, r) for a, r, _ in grants(result.documents)} == {
        ("dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:111122223333:table/orders"),
        (
            "dynamodb:Query",
            "arn:aws:dynamodb:us-east-1:111122223333:table/orders/index/by-customer",
        ),
        (
            "kms:Decrypt",
            "arn:aws:kms:us-east-1:111122223333:key/3f2a9c1e-7b4d-4e8a-9c65-1d2e3f4a5b6c",
        ),
        (
            "secretsmanager:GetSecretValue",
            "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/orders/db-??????",
        ),
        ("sqs:DeleteMessage", "arn:aws:sqs:us-east-1:111122223333:orders-queue"),
    }
    assert [s["Sid"] for s in statements(result.documents)] == [
        "DynamodbReadIndex",
        "DynamodbWriteTable",
        "KmsWriteKey",
        "SecretsmanagerReadSecret",
        "SqsWriteQueue",
    ]


def test_reporting_user_policy_lists_its_bucket_and_reads_its_report_prefix(sample_lake):
    result = suggest(sample_lake, REPORTING_USER)
    assert {(a, r) for a, r, _ in grants(result.documents)} == {
        ("cloudwatch:GetMetricData", "*"),
        ("s3:ListBucket", "arn:aws:s3:::acme-prod-reports"),
        ("s3:GetObject", "arn:aws:s3:::acme-prod-reports/daily/*"),
    }
    metric = next(e for e in result.evidence if e.action == "cloudwatch:GetMetricData")
    assert metric.events == 3
    assert "optional" in metric.why


def test_exact_mode_lists_every_object_and_star_mode_only_star(sample_lake):
    exact = suggest(sample_lake, APP_ROLE, resources="exact")
    objects = resources_of(exact.documents, "s3:GetObject")
    assert len(objects) > 40
    assert not any(r.endswith("*") for r in objects)
    assert "arn:aws:s3:::acme-prod-orders-data/orders/2026/11/03/ord-missing.json" in objects
    star = suggest(sample_lake, APP_ROLE, resources="star")
    assert {r for _, r, _ in grants(star.documents)} == {"*"}
    assert granted_actions(star.documents) == granted_actions(exact.documents)


def test_include_denied_adds_identity_denials_in_statements_of_their_own(sample_lake):
    result = suggest(sample_lake, APP_ROLE, include_denied=True)
    [denied] = [s for s in statements(result.documents) if s["Sid"].endswith("Denied")]
    assert denied == {
        "Sid": "DynamodbWriteTableDenied",
        "Effect": "Allow",
        "Action": "dynamodb:PutItem",
        "Resource": "arn:aws:dynamodb:us-east-1:111122223333:table/payments",
    }
    evidence = next(e for e in result.evidence if e.denied)
    assert (evidence.action, evidence.sids) == ("dynamodb:PutItem", ("DynamodbWriteTableDenied",))
    # An explicit deny in a resource policy and a VPC endpoint denial stay out.
    assert "arn:aws:s3:::acme-prod-finance/2026/q3/ledger.csv" not in json.dumps(result.documents)
    assert "exports" not in json.dumps(result.documents)


def test_two_runs_write_byte_identical_policies_in_every_format(sample_lake):
    first = suggest(sample_lake, CI_ROLE)
    second = suggest(sample_lake, CI_ROLE)
    for fmt in ("json", "terraform", "cloudformation"):
        assert render(first.documents, fmt, first.name) == render(
            second.documents, fmt, second.name
        )
    assert json.dumps(first.to_dict()) == json.dumps(second.to_dict())


def test_a_small_max_size_splits_the_policy_without_losing_a_grant(sample_lake):
    whole = suggest(sample_lake, CI_ROLE)
    split = suggest(sample_lake, CI_ROLE, max_size=700)
    assert len(whole.documents) == 1
    assert len(split.documents) > 2
    assert all(document.size(d) <= 700 for d in split.documents)
    assert grants(split.documents) == grants(whole.documents)
    assert any(f"split into {len(split.documents)} policies" in n for n in split.notes)


def test_a_statement_too_large_alone_is_cut_along_its_resources(sample_lake):
    whole = suggest(sample_lake, APP_ROLE, resources="exact")
    cut = suggest(sample_lake, APP_ROLE, resources="exact", max_size=1200)
    assert all(document.size(d) <= 1200 for d in cut.documents)
    assert grants(cut.documents) == grants(whole.documents)
    sids = [s["Sid"] for s in statements(cut.documents)]
    assert "S3ReadObject2Part1" in sids
    assert any("S3ReadObject2 alone exceeds 1200 characters" in n for n in cut.notes)


def test_max_size_too_small_for_one_grant_is_an_error(sample_lake):
    with pytest.raises(PolicyError, match="does not fit"):
        suggest(sample_lake, CI_ROLE, max_size=120)


@pytest.mark.parametrize("principal", SAMPLE_PRINCIPALS)
@pytest.mark.parametrize("mode", ["exact", "generalize", "star"])
def test_every_suggested_policy_passes_our_validation_and_parliament(sample_lake, principal, mode):
    result = suggest(sample_lake, principal, resources=mode, include_denied=True)
    for doc in result.documents:
        assert validate(doc) == []
        assert blocking(doc) == []
        assert document.size(doc) <= document.MAX_MANAGED_POLICY_SIZE
        sids = [s["Sid"] for s in doc["Statement"]]
        assert len(sids) == len(set(sids))
        assert all(re.fullmatch(r"[A-Za-z0-9]+", sid) for sid in sids)
        assert sids == sorted(sids)


@pytest.mark.parametrize("principal", SAMPLE_PRINCIPALS)
def test_every_action_of_a_statement_can_use_every_resource_of_it(sample_lake, principal):
    # Statements group only actions seen on the same resources: no action gains another's.
    result = suggest(sample_lake, principal)
    for statement in statements(result.documents):
        for action in listed(statement["Action"]):
            info = catalogue.lookup(action)
            assert info is not None
            for resource in listed(statement["Resource"]):
                assert document.resource_matches(info, resource), (action, resource)


def test_evidence_names_each_action_with_counts_times_and_statements(sample_lake):
    result = suggest(sample_lake, CI_ROLE)
    assert {e.action for e in result.evidence} == granted_actions(result.documents)
    for e in result.evidence:
        assert e.events > 0
        assert e.first_seen <= e.last_seen
        assert e.sids
        assert e.access_level
        assert e.why
    data = result.to_dict()
    assert data["principal_arn"] == CI_ROLE
    assert data["evidence"][0]["last_seen"].endswith("Z")
    assert {c["sid"] for c in data["conditions"]} >= {"IamPassRoleToLambda"}


# -- renderings ------------------------------------------------------------------------------


def test_terraform_rendering_is_a_policy_document_data_source_per_document(sample_lake):
    result = suggest(sample_lake, CI_ROLE, max_size=1500)
    text = render(result.documents, "terraform", result.name)
    blocks = re.findall(r'^data "aws_iam_policy_document" "([\w-]+)" \{$', text, re.M)
    assert blocks == [
        f"github-actions-deploy-least-privilege_{n}" for n in range(1, len(result.documents) + 1)
    ]
    assert text.count("{") == text.count("}")
    assert text.count("\n  statement {") == len(statements(result.documents))
    for statement in statements(result.documents):
        assert f'sid       = "{statement["Sid"]}"' in text
    assert 'variable = "iam:PassedToService"' in text
    assert 'values   = ["lambda.amazonaws.com"]' in text


def test_terraform_keeps_iam_policy_variables_out_of_interpolation():
    doc = document.document(
        [
            {
                "Sid": "Home",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::bucket/home/${aws:username}/*",
            }
        ]
    )
    assert validate(doc) == []
    text = render([doc], "terraform", "home")
    assert '"arn:aws:s3:::bucket/home/$${aws:username}/*"' in text


def test_cloudformation_rendering_is_a_managed_policy_template(sample_lake):
    result = suggest(sample_lake, APP_ROLE)
    template = json.loads(render(result.documents, "cloudformation", result.name))
    [(logical, resource)] = template["Resources"].items()
    assert logical == "AppRoleLeastPrivilege"
    assert resource["Type"] == "AWS::IAM::ManagedPolicy"
    assert resource["Properties"]["PolicyDocument"] == result.documents[0]


def test_json_rendering_is_the_document_or_an_array_of_documents(sample_lake):
    one = suggest(sample_lake, APP_ROLE)
    assert json.loads(render(one.documents, "json", one.name)) == one.documents[0]
    many = suggest(sample_lake, APP_ROLE, max_size=800)
    assert json.loads(render(many.documents, "json", many.name)) == many.documents


# -- documents -------------------------------------------------------------------------------


def test_validation_names_unknown_actions_mismatched_resources_and_bad_sids():
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "A", "Effect": "Allow", "Action": "s3:GetObjects", "Resource": "*"},
            {
                "Sid": "A",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:dynamodb:us-east-1:111122223333:table/t",
            },
            {
                "Sid": "Bad-Sid",
                "Effect": "Allow",
                "Action": "s3:ListAllMyBuckets",
                "Resource": "arn:aws:s3:::bucket",
            },
        ],
    }
    problems = validate(doc)
    assert "statement 'A': s3:GetObjects is not in the IAM action catalogue" in problems
    assert "statement 'A': Sid is not unique in the document" in problems
    assert any("matches no resource type" in p for p in problems)
    assert "statement 'Bad-Sid': Sid must be letters and digits only" in problems
    assert any("needs Resource *" in p for p in problems)


def test_object_keys_fold_before_date_segments_and_never_beyond_the_bucket():
    info = catalogue.lookup("s3:GetObject")
    assert info is not None
    object_type = next(rt for rt in info.resource_types if rt.name == "object")
    arns = [
        "arn:aws:s3:::data/events/dt=2026-11-02/part-0.parquet",
        "arn:aws:s3:::data/events/dt=2026-11-03/part-0.parquet",
        "arn:aws:s3:::data/readme.txt",
        "arn:aws:s3:::other/2026/11/a.json",
        "arn:aws:s3:::other/2026/12/b.json",
    ]
    granted = {g.resource for g in resources.grant("s3", object_type, arns, "generalize")}
    assert granted == {
        "arn:aws:s3:::data/events/*",
        "arn:aws:s3:::data/readme.txt",
        "arn:aws:s3:::other/*",
    }


def test_a_literal_wildcard_in_a_name_is_escaped_as_a_policy_variable():
    assert resources.escape("arn:aws:s3:::b/a*b?c$") == "arn:aws:s3:::b/a${*}b${?}c${$}"


# -- a lake of our own -----------------------------------------------------------------------


def by(role: str, **fields: Any) -> dict[str, Any]:
    identity = {
        "type": "AssumedRole",
        "principalId": f"AROA{role.upper()}:job",
        "arn": f"arn:aws:sts::111122223333:assumed-role/{role}/job",
        "accountId": "111122223333",
        "accessKeyId": "ASIAEXAMPLE",
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": f"AROA{role.upper()}",
                "arn": f"arn:aws:iam::111122223333:role/{role}",
                "accountId": "111122223333",
                "userName": role,
            },
            "attributes": {"creationDate": "2026-11-02T09:00:00Z", "mfaAuthenticated": "false"},
        },
    }
    if "invokedBy" in fields:
        identity["invokedBy"] = fields.pop("invokedBy")
    return an_event(userIdentity=identity, **fields)


@pytest.fixture(scope="module")
def worker_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("worker")
    events = [
        by(
            "worker",
            eventSource="lambda.amazonaws.com",
            eventName="Invoke",
            readOnly=False,
            requestParameters={"functionName": name},
            eventCategory="Data",
            managementEvent=False,
        )
        for name in ("orders-a", "orders-b", "orders-c")
    ]
    events += [
        by(
            "worker",
            eventSource="dynamodb.amazonaws.com",
            eventName="GetItem",
            requestParameters={"tableName": table},
        )
        for table in (
            "sales-a",
            "sales-b",
            "sales-c",
            "arn:aws:dynamodb:us-east-1:444455556666:table/sales-d",
        )
    ]
    events += [
        by(
            "worker",
            eventSource="kms.amazonaws.com",
            eventName="Decrypt",
            invokedBy="secretsmanager.amazonaws.com",
            sourceIPAddress="secretsmanager.amazonaws.com",
            requestParameters={
                "keyId": f"arn:aws:kms:us-east-1:111122223333:key/{KEY_ID}",
                "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
            },
        ),
        by(
            "worker",
            eventSource="ec2.amazonaws.com",
            eventName="RunInstances",
            readOnly=False,
            requestParameters={
                "instanceType": "t3.micro",
                "tagSpecificationSet": {
                    "items": [{"resourceType": "instance", "tags": [{"key": "a", "value": "b"}]}]
                },
            },
        ),
        by(
            "worker",
            eventSource="ec2.amazonaws.com",
            eventName="DescribeInstances",
            awsRegion="eu-west-1",
            requestParameters={},
        ),
        by(
            "intruder",
            eventSource="s3.amazonaws.com",
            eventName="GetObject",
            errorCode="AccessDenied",
            errorMessage=(
                "User: arn:aws:sts::111122223333:assumed-role/intruder/job is not authorized to"
                ' perform: s3:GetObject on resource: "arn:aws:s3:::secret-bucket/key.txt"'
                " because no identity-based policy allows the s3:GetObject action"
            ),
            requestParameters={"bucketName": "secret-bucket", "key": "key.txt"},
        ),
        by(
            "idle",
            eventSource="sts.amazonaws.com",
            eventName="GetCallerIdentity",
            requestParameters=None,
        ),
    ]
    given_delivery_file(root / "logs", events)
    lake = root / "lake"
    api.ingest([str(root / "logs")], lake)
    return lake


def test_three_functions_sharing_a_name_prefix_fold_to_it_per_account(worker_lake):
    result = suggest(worker_lake, WORKER)
    assert resources_of(result.documents, "lambda:InvokeFunction") == {
        "arn:aws:lambda:us-east-1:111122223333:function:orders-*"
    }
    assert resources_of(result.documents, "dynamodb:GetItem") == {
        "arn:aws:dynamodb:us-east-1:111122223333:table/sales-*",
        "arn:aws:dynamodb:us-east-1:444455556666:table/sales-d",
    }
    exact = suggest(worker_lake, WORKER, resources="exact")
    assert len(resources_of(exact.documents, "lambda:InvokeFunction")) == 3


def test_conditions_follow_the_evidence_and_each_is_justified(worker_lake):
    result = suggest(worker_lake, WORKER)
    by_sid = {s["Sid"]: s for s in statements(result.documents)}
    assert by_sid["KmsWriteKey"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}
    }
    assert by_sid["Ec2TaggingWriteAllResources"] == {
        "Sid": "Ec2TaggingWriteAllResources",
        "Effect": "Allow",
        "Action": "ec2:CreateTags",
        "Resource": "*",
        "Condition": {
            "StringEquals": {"aws:RequestedRegion": "us-east-1", "ec2:CreateAction": "RunInstances"}
        },
    }
    assert by_sid["Ec2ListAllResources"]["Condition"] == {
        "StringEquals": {"aws:RequestedRegion": "eu-west-1"}
    }
    # A region already in the ARN needs no region condition.
    assert "Condition" not in by_sid["DynamodbReadTable"]
    keys = {(c.sid, c.key) for c in result.conditions}
    assert ("KmsWriteKey", "kms:ViaService") in keys
    assert all(c.justification for c in result.conditions)
    for doc in result.documents:
        assert validate(doc) == []
        assert blocking(doc) == []


def test_an_assumed_role_session_arn_is_resolved_to_its_role(worker_lake):
    result = suggest(worker_lake, "arn:aws:sts::111122223333:assumed-role/worker/job")
    assert result.principal_arn == WORKER


def test_a_principal_with_only_denied_calls_gets_an_error_unless_denials_are_included(
    worker_lake,
):
    intruder = "arn:aws:iam::111122223333:role/intruder"
    with pytest.raises(PolicyError, match="only denied calls") as raised:
        suggest(worker_lake, intruder)
    assert "--include-denied" in str(raised.value)
    result = suggest(worker_lake, intruder, include_denied=True)
    assert statements(result.documents) == [
        {
            "Sid": "S3ReadObjectDenied",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::secret-bucket/key.txt",
        }
    ]


def test_a_principal_needing_no_permission_unknown_principals_and_empty_windows_are_errors(
    worker_lake,
):
    from datetime import UTC, datetime

    with pytest.raises(PolicyError, match="none needing an IAM permission"):
        suggest(worker_lake, "arn:aws:iam::111122223333:role/idle")
    with pytest.raises(PolicyError, match="has no events in the lake"):
        suggest(worker_lake, "arn:aws:iam::111122223333:role/nobody")
    with pytest.raises(PolicyError, match="did you mean arn:aws:iam::111122223333:role/worker"):
        suggest(worker_lake, "arn:aws:iam::111122223333:role/jobs/worker")
    with pytest.raises(PolicyError, match=r"no events in the window \[2027-01-01T00:00:00Z"):
        suggest(worker_lake, WORKER, since=datetime(2027, 1, 1, tzinfo=UTC))
    with pytest.raises(PolicyError, match="root user"):
        suggest(worker_lake, "arn:aws:iam::111122223333:root")


# -- real events -----------------------------------------------------------------------------

STRATUS = REALDATA / "stratus-red-team"
STRATUS_FILES = (
    "aws.credential-access.secretsmanager-retrieve-secrets.json",
    "aws.credential-access.ssm-retrieve-securestring-parameters.json",
    "aws.impact.bedrock-invoke-model.json",
    "aws.persistence.iam-create-admin-user.json",
    "aws.lateral-movement.ec2-instance-connect.json",
)


def test_suggestions_from_real_stratus_red_team_events_pass_validation_and_parliament(lake_dir):
    api.ingest([str(STRATUS / name) for name in STRATUS_FILES], lake_dir)
    principals = [
        row["principal_arn"]
        for row in api.run_sql(
            "select distinct principal_arn from event_actions where is_authorized"
            " and (principal_arn like '%:role/%' or principal_arn like '%:user/%') order by 1",
            lake_dir,
        ).to_pylist()
    ]
    assert len(principals) >= 4
    folded = False
    for principal in principals:
        for mode in ("exact", "generalize"):
            result = suggest(lake_dir, principal, resources=mode)
            for doc in result.documents:
                assert validate(doc) == []
                # Upstream anonymised every region (eu-west-2r): parliament rightly calls those
                # ARNs invalid, so only that finding is set aside here.
                assert blocking(doc, ignore=frozenset({"INVALID_ARN"})) == [], principal
            folded = folded or any(
                r.endswith("-*") for _, r, _ in grants(result.documents) if mode == "generalize"
            )
    assert folded  # 20 secrets named stratus-red-team-retrieve-secret-N fold to their prefix


def test_validation_rejects_a_service_condition_key_its_actions_do_not_take():
    doc = document.document(
        [
            {
                "Sid": "Read",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::bucket/*",
                "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
            }
        ]
    )
    assert validate(doc) == [
        "statement 'Read': condition key kms:ViaService applies to none of its actions"
    ]


@settings(max_examples=60, deadline=None)
@given(
    keys=st.lists(
        st.lists(st.sampled_from(["a", "bb", "ccc", "2026", "x-1"]), min_size=1, max_size=4),
        min_size=1,
        max_size=30,
    ),
    max_size=st.integers(min_value=250, max_value=2000),
)
def test_splitting_keeps_every_grant_and_every_document_within_the_limit(keys, max_size):
    arns = ["arn:aws:s3:::bucket/" + "/".join(k) for k in keys]
    whole = [
        {"Sid": "S3ReadObject", "Effect": "Allow", "Action": "s3:GetObject", "Resource": arns},
        {"Sid": "S3ListBucket", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"},
    ]
    docs = document.split(whole, max_size)
    assert grants(docs) == grants([document.document(whole)])
    for doc in docs:
        assert document.size(doc) <= max_size
        assert validate(doc) == []


def test_a_lake_mapped_by_an_older_mapping_says_to_remap(sample_lake, monkeypatch):
    # as after an upgrade: the installed mapping is newer than the one that derived the rows
    from trailwise.pipeline.policy import evidence

    monkeypatch.setattr(evidence, "mapping_version", lambda: "a-newer-mapping")
    result = suggest(sample_lake, APP_ROLE)
    assert any("older mapping" in n and "trailwise remap" in n for n in result.notes)


def test_a_lake_mapped_by_the_installed_mapping_has_no_remap_note(sample_lake):
    assert not any("older mapping" in n for n in suggest(sample_lake, APP_ROLE).notes)


@pytest.fixture(scope="module")
def launcher_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("launcher")
    model = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-v2"
    events = [
        by(
            "launcher",
            eventSource="ec2.amazonaws.com",
            eventName="RunInstances",
            readOnly=False,
            requestParameters={"instanceType": "t3.micro", "subnetId": "subnet-0abc"},
        ),
        by(
            "launcher",
            eventSource="bedrock.amazonaws.com",
            eventName="InvokeModel",
            requestParameters={"modelId": model},
            resources=[{"ARN": model, "type": "AWS::Bedrock::Model"}],
        ),
    ]
    given_delivery_file(root / "logs", events)
    api.ingest([str(root / "logs")], root / "lake")
    return root / "lake"


def test_run_instances_also_gets_the_required_resource_types_cloudtrail_does_not_name(
    launcher_lake,
):
    launcher = "arn:aws:iam::111122223333:role/launcher"
    result = suggest(launcher_lake, launcher)
    assert resources_of(result.documents, "ec2:RunInstances") == {
        "arn:aws:ec2:us-east-1:111122223333:subnet/subnet-0abc",
        "arn:aws:ec2:us-east-1::image/*",
        "arn:aws:ec2:us-east-1:111122223333:instance/*",
        "arn:aws:ec2:us-east-1:111122223333:network-interface/*",
        "arn:aws:ec2:us-east-1:111122223333:security-group/*",
    }
    assert any("ec2:RunInstances also needs" in n for n in result.notes)
    # bedrock's twelve "required" model types are alternatives: only the model used is granted
    assert resources_of(result.documents, "bedrock:InvokeModel") == {
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-v2"
    }
    for doc in result.documents:
        assert validate(doc) == []


def test_every_principal_of_the_sample_gets_policies_both_judges_accept(sample_lake):
    principals = api.run_sql(
        "select distinct principal_arn from event_actions where classification = 'iam_action' "
        "and is_authorized and regexp_matches(principal_arn, ':(role|user)/') order by 1",
        sample_lake,
    ).column("principal_arn")
    assert len(principals) >= 10
    for principal in principals.to_pylist():
        for mode in ("exact", "generalize", "star"):
            for doc in suggest(sample_lake, principal, resources=mode).documents:
                assert validate(doc) == [], (principal, mode)
                assert blocking(doc) == [], (principal, mode)


def test_a_secret_named_by_its_name_is_granted_with_its_random_suffix(sample_lake):
    # Secrets Manager ARNs end in -XXXXXX; the events name the secret "prod/orders/db", and a
    # Resource without the suffix would refuse the very calls it was built from.
    result = suggest(sample_lake, LAMBDA_ROLE)

    exact = suggest(sample_lake, LAMBDA_ROLE, resources="exact")

    for documents in (result.documents, exact.documents):
        assert resources_of(documents, "secretsmanager:GetSecretValue") == {
            "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/orders/db-??????"
        }
