"""Resource policies and identity providers: read from AWS (moto), saved, loaded offline, viewed."""

from __future__ import annotations

import io
import json
import random
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.given import REPO, SAMPLE_LOGS
from tests.s3world import FaultProxy
from trailwise.pipeline import api
from trailwise.pipeline.iam.store import manifests
from trailwise.pipeline.lake import Lake
from trailwise.pipeline.policy.permissions import actions_of

PROD = SAMPLE_LOGS / "iam" / "authorization-details-111122223333.json"
ACCOUNT = "123456789012"
ROWS = "select service, resource_type, resource_arn, region, policy, error_code, details "
ROWS += "from iam_resource_policies order by resource_arn"


@dataclass(frozen=True)
class Account:
    """An empty AWS account of its own on the session's moto server: moto keeps one state per
    process, so only a fresh account id makes "exactly these rows" hold."""

    endpoint: str
    account_id: str
    role_arn: str
    credentials: dict[str, str]

    def client(self, service: str, region: str = "us-east-1") -> Any:
        return boto3.client(
            service, endpoint_url=self.endpoint, region_name=region, **self.credentials
        )

    def bucket(self, name: str) -> str:
        """A bucket name of this account's own (moto, like S3, has one namespace of names)."""
        return f"{name}-{self.account_id}"

    def load(self, cli: Any, lake_dir: Path, *extra: Any, endpoint: str | None = None) -> Any:
        """``iam load --from-aws`` as this account (through its role)."""
        return cli(
            "iam",
            "load",
            "--from-aws",
            "--role-arn",
            self.role_arn,
            "--endpoint-url",
            endpoint or self.endpoint,
            "--lake",
            lake_dir,
            *extra,
        )


@pytest.fixture
def account(moto_endpoint: str) -> Account:
    account_id = str(random.randrange(10**11, 10**12))
    role_arn = f"arn:aws:iam::{account_id}:role/trailwise-reader"
    sts = boto3.client("sts", endpoint_url=moto_endpoint, region_name="us-east-1")
    issued = sts.assume_role(RoleArn=role_arn, RoleSessionName="given")["Credentials"]
    credentials = {
        "aws_access_key_id": issued["AccessKeyId"],
        "aws_secret_access_key": issued["SecretAccessKey"],
        "aws_session_token": issued["SessionToken"],
    }
    return Account(moto_endpoint, account_id, role_arn, credentials)


def allow(principal: Any, action: str, resource: str) -> str:
    statement = {"Effect": "Allow", "Principal": principal, "Action": action, "Resource": resource}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def given_an_account_with_every_kind_of_resource_policy(account: Account) -> dict[str, Any]:
    """Two buckets (one with a policy and a public access block), a KMS key, a queue with a
    policy, a topic, a function with a permission, a secret with a policy, a repository with a
    policy, a SAML and an OIDC provider. Returns the ARNs by name."""
    other = {"AWS": "arn:aws:iam::999988887777:root"}
    shared, private = account.bucket("shared"), account.bucket("private")
    s3 = account.client("s3")
    s3.create_bucket(Bucket=shared)
    s3.put_bucket_policy(
        Bucket=shared, Policy=allow(other, "s3:GetObject", f"arn:aws:s3:::{shared}/*")
    )
    s3.put_public_access_block(
        Bucket=shared,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.create_bucket(Bucket=private)
    key = account.client("kms").create_key(Description="app")["KeyMetadata"]["Arn"]
    sqs = account.client("sqs")
    queue_url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    queue = f"arn:aws:sqs:us-east-1:{account.account_id}:jobs"
    sqs.set_queue_attributes(
        QueueUrl=queue_url, Attributes={"Policy": allow(other, "sqs:SendMessage", queue)}
    )
    topic = account.client("sns").create_topic(Name="alerts")["TopicArn"]
    role = account.client("iam").create_role(
        RoleName="fn-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handle(event, context):\n    return event\n")
    lam = account.client("lambda")
    function = lam.create_function(
        FunctionName="thumbnails",
        Runtime="python3.12",
        Role=role,
        Handler="handler.handle",
        Code={"ZipFile": code.getvalue()},
    )["FunctionArn"]
    lam.add_permission(
        FunctionName="thumbnails",
        StatementId="s3-invoke",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn=f"arn:aws:s3:::{shared}",
    )
    sm = account.client("secretsmanager")
    secret = sm.create_secret(Name="db-password", SecretString="hunter2")["ARN"]
    sm.put_resource_policy(
        SecretId=secret, ResourcePolicy=allow(other, "secretsmanager:GetSecretValue", "*")
    )
    ecr = account.client("ecr")
    repository = ecr.create_repository(repositoryName="app-image")["repository"]["repositoryArn"]
    ecr.set_repository_policy(
        repositoryName="app-image",
        policyText=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "pull",
                        "Effect": "Allow",
                        "Principal": other,
                        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                    }
                ],
            }
        ),
    )
    iam = account.client("iam")
    saml = iam.create_saml_provider(
        Name="okta", SAMLMetadataDocument="<EntityDescriptor>" + "x" * 1000 + "</EntityDescriptor>"
    )["SAMLProviderArn"]
    oidc = iam.create_open_id_connect_provider(
        Url="https://token.actions.githubusercontent.com",
        ClientIDList=["sts.amazonaws.com"],
        ThumbprintList=["6938fd4d98bab03faadb97b34396831e3780aea1"],
    )["OpenIDConnectProviderArn"]
    return {
        "shared": f"arn:aws:s3:::{shared}",
        "private": f"arn:aws:s3:::{private}",
        "key": key,
        "queue": queue,
        "topic": topic,
        "function": function,
        "secret": secret,
        "repository": repository,
        "saml": saml,
        "oidc": oidc,
    }


def test_from_aws_records_every_resource_policy_and_identity_provider(cli, account, lake_dir):
    arns = given_an_account_with_every_kind_of_resource_policy(account)
    result = account.load(cli, lake_dir)
    assert result.exit_code == 0, result.stderr
    assert "8 resources, 2 identity providers" in result.stdout
    rows = {r["resource_arn"]: r for r in api.run_sql(ROWS, lake_dir).to_pylist()}
    assert {arn: (r["service"], r["resource_type"]) for arn, r in rows.items()} == {
        arns["private"]: ("s3", "bucket"),
        arns["shared"]: ("s3", "bucket"),
        arns["key"]: ("kms", "key"),
        arns["queue"]: ("sqs", "queue"),
        arns["topic"]: ("sns", "topic"),
        arns["function"]: ("lambda", "function"),
        arns["secret"]: ("secretsmanager", "secret"),
        arns["repository"]: ("ecr", "repository"),
    }
    assert all(r["error_code"] is None and r["region"] == "us-east-1" for r in rows.values())
    # "no policy" is a fact: the private bucket is there, with a null policy
    assert rows[arns["private"]]["policy"] is None
    shared = rows[arns["shared"]]
    assert json.loads(shared["policy"])["Statement"][0]["Action"] == "s3:GetObject"
    assert json.loads(shared["details"])["PublicAccessBlock"]["BlockPublicPolicy"] is True
    assert json.loads(rows[arns["key"]]["details"])["KeyManager"] == "CUSTOMER"
    assert json.loads(rows[arns["key"]]["policy"])["Statement"]  # the key policy "default"
    function_policy = json.loads(rows[arns["function"]]["policy"])
    assert function_policy["Statement"][0]["Principal"] == {"Service": "s3.amazonaws.com"}
    for name in ("queue", "secret", "repository"):
        principal = json.loads(rows[arns[name]]["policy"])["Statement"][0]["Principal"]
        assert principal == {"AWS": "arn:aws:iam::999988887777:root"}
    providers = api.run_sql(
        "select provider_arn, kind, url, audiences, thumbprints, valid_until is not null as ends "
        "from iam_identity_providers order by kind",
        lake_dir,
    ).to_pylist()
    assert providers == [
        {
            "provider_arn": arns["oidc"],
            "kind": "oidc",
            "url": "token.actions.githubusercontent.com",
            "audiences": ["sts.amazonaws.com"],
            "thumbprints": ["6938fd4d98bab03faadb97b34396831e3780aea1"],
            "ends": False,
        },
        {
            "provider_arn": arns["saml"],
            "kind": "saml",
            "url": None,
            "audiences": [],
            "thumbprints": [],
            "ends": True,
        },
    ]
    # the authorization details came in the same snapshot
    assert api.run_sql("select count(*) as n from iam_principals", lake_dir).to_pylist() == [
        {"n": 1}
    ]


def test_a_capture_saved_then_loaded_offline_gives_the_same_views(cli, account, tmp_path, lake_dir):
    given_an_account_with_every_kind_of_resource_policy(account)
    saved = tmp_path / "capture.json"
    assert account.load(cli, lake_dir, "--save", saved).exit_code == 0
    offline = tmp_path / "offline-lake"
    result = cli.json("iam", "load", saved, "--lake", offline)
    assert result["is_new"] and result["rows"]["resource_policies"] == 8
    for view in ("iam_resource_policies", "iam_identity_providers", "iam_principals"):
        query = f"select * from {view} order by all"
        assert api.run_sql(query, offline).to_pylist() == api.run_sql(query, lake_dir).to_pylist()
    # the same content into the same lake is the snapshot already there
    assert cli.json("iam", "load", saved, "--lake", lake_dir)["is_new"] is False


def test_a_denied_read_is_recorded_on_its_resource_and_counted(cli, account, lake_dir):
    opened, guarded = account.bucket("open"), account.bucket("guarded")
    s3 = account.client("s3")
    for name in (opened, guarded):
        s3.create_bucket(Bucket=name)
    host, port = account.endpoint.removeprefix("http://").split(":")
    proxy = FaultProxy((host, int(port))).start()
    try:
        proxy.inject("denied", f"/{guarded}?policy")
        result = account.load(cli, lake_dir, endpoint=proxy.url)
    finally:
        proxy.stop()
    assert result.exit_code == 0, result.stderr
    assert "2 resources, 0 identity providers; 1 unreadable (AccessDenied 1)" in result.stdout
    rows = api.run_sql(ROWS, lake_dir).to_pylist()
    assert [(r["resource_arn"], r["policy"], r["error_code"]) for r in rows] == [
        (f"arn:aws:s3:::{guarded}", None, "AccessDenied"),
        (f"arn:aws:s3:::{opened}", None, None),
    ]
    assert json.loads(rows[0]["details"])["Errors"] == {"s3:GetBucketPolicy": "AccessDenied"}


def test_a_denied_listing_is_one_row_for_what_it_would_have_listed(cli, account, lake_dir):
    account.client("s3").create_bucket(Bucket=account.bucket("unseen"))
    account.client("sqs").create_queue(QueueName="still-read")
    host, port = account.endpoint.removeprefix("http://").split(":")
    proxy = FaultProxy((host, int(port))).start()
    try:
        # ListBuckets is the loader's first GET (IAM, STS and SQS calls are POSTs)
        proxy.inject("denied", "/")
        result = account.load(cli, lake_dir, endpoint=proxy.url)
    finally:
        proxy.stop()
    assert result.exit_code == 0, result.stderr
    rows = api.run_sql(ROWS, lake_dir).to_pylist()
    assert [(r["resource_arn"], r["error_code"]) for r in rows] == [
        ("arn:aws:s3:::*", "AccessDenied"),
        (f"arn:aws:sqs:us-east-1:{account.account_id}:still-read", None),
    ]
    assert json.loads(rows[0]["details"]) == {"Errors": {"s3:ListAllMyBuckets": "AccessDenied"}}


def test_only_the_regions_asked_for_are_read_but_every_bucket_is(cli, account, lake_dir):
    dublin = account.bucket("dublin")
    account.client("s3").create_bucket(
        Bucket=dublin, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    account.client("sqs", "eu-west-1").create_queue(QueueName="dublin")
    account.client("sqs", "us-east-1").create_queue(QueueName="virginia")
    result = account.load(cli, lake_dir, "--region", "eu-west-1")
    assert result.exit_code == 0, result.stderr
    rows = api.run_sql(ROWS, lake_dir).to_pylist()
    assert [(r["resource_arn"], r["region"]) for r in rows] == [
        (f"arn:aws:s3:::{dublin}", "eu-west-1"),
        (f"arn:aws:sqs:eu-west-1:{account.account_id}:dublin", "eu-west-1"),
    ]


def test_an_account_of_the_china_partition_gets_arns_of_its_partition(cli, account, lake_dir):
    account.client("sqs", "cn-north-1").create_queue(QueueName="beijing")
    result = account.load(cli, lake_dir, "--region", "cn-north-1")
    assert result.exit_code == 0, result.stderr
    arns = {r["resource_arn"] for r in api.run_sql(ROWS, lake_dir).to_pylist()}
    assert f"arn:aws-cn:sqs:cn-north-1:{account.account_id}:beijing" in arns


def test_older_snapshots_without_resource_tables_query_as_empty_views(cli, lake_dir):
    cli.json("iam", "load", PROD, "--lake", lake_dir)
    assert manifests(Lake(lake_dir))[0]["resource_accounts"] == []
    for view in ("iam_resource_policies", "iam_identity_providers"):
        assert api.run_sql(f"select count(*) as n from {view}", lake_dir).to_pylist() == [{"n": 0}]


def given_a_capture_file(tmp_path: Path, **overrides: Any) -> Path:
    document = {
        "CapturedAt": "2026-11-05T08:00:00+00:00",
        "ResourcePolicies": [
            {
                "AccountId": "111122223333",
                "Region": "eu-west-1",
                "Service": "s3",
                "ResourceType": "bucket",
                "ResourceArn": "arn:aws:s3:::prod-logs",
                "Policy": None,
                "ErrorCode": None,
                "Details": {"PublicAccessBlock": None, "OwnershipControls": None},
            }
        ],
        "IdentityProviders": [],
        **overrides,
    }
    path = tmp_path / "capture.json"
    path.write_text(json.dumps(document))
    return path


def test_a_capture_of_resources_alone_leaves_the_principals_of_the_account_in_view(
    cli, tmp_path, lake_dir
):
    cli.json("iam", "load", PROD, "--lake", lake_dir)
    principals = api.run_sql("select count(*) as n from iam_principals", lake_dir).to_pylist()
    result = cli.json("iam", "load", given_a_capture_file(tmp_path), "--lake", lake_dir)
    assert result["accounts"] == ["111122223333"]
    assert result["captured_at"] == "2026-11-05T08:00:00+00:00"
    assert api.run_sql("select count(*) as n from iam_principals", lake_dir).to_pylist() == (
        principals
    )
    assert api.run_sql(
        "select resource_arn, policy from iam_resource_policies", lake_dir
    ).to_pylist() == [{"resource_arn": "arn:aws:s3:::prod-logs", "policy": None}]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ResourcePolicies": [{"Service": "s3"}]}, "ResourcePolicies[0] has no AccountId"),
        (
            {"ResourcePolicies": [{"Service": "ec2", "AccountId": "111122223333"}]},
            "ResourcePolicies[0].Service 'ec2' is not one of s3, kms, sqs, sns, lambda, "
            "secretsmanager, ecr",
        ),
        ({"IdentityProviders": {}}, "IdentityProviders is a dict, not a list"),
        (
            {"IdentityProviders": [{"Arn": "arn:aws:iam::111122223333:saml-provider/x"}]},
            "IdentityProviders[0] has no Kind",
        ),
        ({"Accounts": ["444455556666"]}, "entries name accounts not in Accounts: 111122223333"),
    ],
)
def test_a_malformed_capture_file_is_one_error_line_naming_the_file_and_entry(
    cli, tmp_path, lake_dir, overrides, message
):
    broken = given_a_capture_file(tmp_path, **overrides)
    result = cli("iam", "load", broken, "--lake", lake_dir)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: {broken}: {message}"
    assert not manifests(Lake(lake_dir))


def test_a_json_file_of_neither_shape_is_one_error_line_naming_the_file(cli, tmp_path, lake_dir):
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"Buckets": []}))
    result = cli("iam", "load", other, "--lake", lake_dir)
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith(f"error: {other} is neither authorization details")


def test_region_and_save_go_with_from_aws(cli, tmp_path, lake_dir):
    result = cli("iam", "load", PROD, "--region", "eu-west-1", "--lake", lake_dir)
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: --region and --save go with --from-aws"


def test_the_loader_policy_allows_every_call_the_loader_makes():
    fetch = (REPO / "pipeline" / "iam" / "fetch.py").read_text()
    calls = set(re.findall(r'"((?:iam|s3|kms|sqs|sns|lambda|secretsmanager|ecr):[A-Z]\w+)"', fetch))
    policy = api.load_permissions()
    assert calls | {"iam:GetAccountAuthorizationDetails"} == set(actions_of(policy))


def test_the_loader_policy_narrows_each_read_to_the_account_and_regions(cli):
    result = cli(
        "permissions",
        "load",
        "--account-id",
        ACCOUNT,
        "--region",
        "eu-west-1",
        "--region",
        "us-east-1",
    )
    assert result.exit_code == 0
    by_sid = {s["Sid"]: s["Resource"] for s in json.loads(result.stdout)["Statement"]}
    assert by_sid["ListAccount"] == "*"
    assert by_sid["ReadKeyPolicies"] == [
        f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/*",
        f"arn:aws:kms:us-east-1:{ACCOUNT}:key/*",
    ]
    assert by_sid["ReadBucketPolicies"] == "arn:aws:s3:::*"
    assert by_sid["ReadOidcProviders"] == f"arn:aws:iam::{ACCOUNT}:oidc-provider/*"
