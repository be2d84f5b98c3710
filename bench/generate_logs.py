"""Deterministic CloudTrail delivery files for tests, demos and benchmarks.

Two modes:

* ``sample`` writes the small, hand-shaped data set committed under ``sample_logs/``: three
  accounts, three days, every scenario that later features need (see ``sample_logs/README.md``),
  delivered the way CloudTrail delivers (account trails, an organization trail, a digest chain)
  plus ``get-account-authorization-details`` snapshots of the two member accounts.
* ``bulk`` writes N events in M account-trail delivery files for benchmarks. The events are the
  sample's events re-timed and re-keyed, so bulk data has the same shapes as the sample.

Run ``python bench/generate_logs.py sample --out sample_logs`` or
``python bench/generate_logs.py bulk --events 1000000 --files 4004 --out DIR --workers 2``.
Output depends only on the arguments: the same command writes byte-identical files.
"""

import argparse
import base64
import gzip
import hashlib
import io
import math
import multiprocessing
import random
import re
import sys
import time
import types
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

# --------------------------------------------------------------------------------------------
# The world: accounts, trails, principals, resources
# --------------------------------------------------------------------------------------------

PROD = "111122223333"
DEV = "444455556666"
MGMT = "999988887777"
ORG_ID = "o-a1b2c3d4e5"
US = "us-east-1"
EU = "eu-west-1"
PARTITION = "aws"

LOG_BUCKET = "acme-cloudtrail-logs"
ORG_PREFIX = "org-trail"
ORG_TRAIL = "org-trail"
PROD_TRAIL = "prod-data-events"
DEV_TRAIL = "dev-trail"

D1 = datetime(2026, 11, 2, tzinfo=UTC)
D2 = D1 + timedelta(days=1)
D3 = D1 + timedelta(days=2)
DAYS = (D1, D2, D3)
# When the IAM snapshots and resource captures were taken: the morning after the last day.
SNAPSHOT_TIME = D3 + timedelta(days=1, hours=8)
# From 09:55 to 10:10 on day 2 the prod data-events trail also logged management events (an
# event-selector change that was reverted), so those management events reach both trails.
OVERLAP = (D2 + timedelta(hours=9, minutes=55), D2 + timedelta(hours=10, minutes=10))

IDC_STORE = "d-9067a1b2c3"
IDC_INSTANCE = "ssoins-72230a1b2c3d4e5f"
SAML_PROVIDER = "AWSSSO_5a4b3c2d1e0f9a8b_DO_NOT_DELETE"
NAME_QUALIFIER = "Kq3xW0pLr8ZyTnV1bC2dE4fG5hI="
OIDC_PROVIDER = f"arn:aws:iam::{PROD}:oidc-provider/token.actions.githubusercontent.com"
# Before Identity Center (2024-02) prod's people signed in through Okta; its provider and role stay.
OKTA_PROVIDER = f"arn:aws:iam::{PROD}:saml-provider/okta"
# A GitLab CI trial in dev that never got a role.
GITLAB_PROVIDER = f"arn:aws:iam::{DEV}:oidc-provider/gitlab.com"
GITHUB_SUB = "repo:acme/app:ref:refs/heads/main"

_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def aws_id(prefix: str, name: str, length: int = 21) -> str:
    """A stable IAM-style unique id (``AROA...``, ``AIDA...``, ``AKIA...``) derived from a name."""
    digest = hashlib.sha256(name.encode()).digest()
    return prefix + "".join(_ID_ALPHABET[b % 32] for b in digest[: length - len(prefix)])


@dataclass(frozen=True)
class Role:
    account: str
    name: str
    path: str = "/"

    @property
    def id(self) -> str:
        return aws_id("AROA", f"{self.account}:role:{self.name}")

    @property
    def arn(self) -> str:
        return f"arn:{PARTITION}:iam::{self.account}:role{self.path}{self.name}"

    def session_arn(self, session: str) -> str:
        # The path is not part of an assumed-role ARN.
        return f"arn:{PARTITION}:sts::{self.account}:assumed-role/{self.name}/{session}"


@dataclass(frozen=True)
class User:
    account: str
    name: str
    path: str = "/"

    @property
    def id(self) -> str:
        return aws_id("AIDA", f"{self.account}:user:{self.name}")

    @property
    def arn(self) -> str:
        return f"arn:{PARTITION}:iam::{self.account}:user{self.path}{self.name}"

    @property
    def key(self) -> str:
        return aws_id("AKIA", f"{self.account}:key:{self.name}", 20)


SSO_PATH = "/aws-reserved/sso.amazonaws.com/"
APP_ROLE = Role(PROD, "app-role")
LAMBDA_ROLE = Role(PROD, "orders-processor-role", "/service-role/")
CI_ROLE = Role(PROD, "github-actions-deploy")
ECS_EXEC_ROLE = Role(PROD, "ecsTaskExecutionRole")
ASG_ROLE = Role(
    PROD, "AWSServiceRoleForAutoScaling", "/aws-service-role/autoscaling.amazonaws.com/"
)
SSO_ADMIN = Role(PROD, "AWSReservedSSO_AdministratorAccess_0123456789abcdef", SSO_PATH)
SSO_READONLY = Role(PROD, "AWSReservedSSO_ReadOnly_fedcba9876543210", SSO_PATH)
ORG_ACCESS_ROLE = Role(PROD, "OrganizationAccountAccessRole")
OKTA_ROLE = Role(PROD, "okta-platform-admin")
MGMT_SSO_ADMIN = Role(MGMT, "AWSReservedSSO_AdministratorAccess_7c1d2e3f4a5b6c7d", SSO_PATH)
DEV_SANDBOX_ROLE = Role(DEV, "dev-sandbox-role")
DEV_CI_ROLE = Role(DEV, "ci-dev-deploy")

REPORTING_USER = User(PROD, "reporting-svc", "/service-accounts/")
BACKUP_USER = User(PROD, "backup-legacy")
BREAKGLASS_USER = User(PROD, "breakglass-admin")
DEV_BOB = User(DEV, "dev.bob")

ORDERS_BUCKET = "acme-prod-orders-data"
ORDERS_BUCKET_EU = "acme-prod-orders-data-eu"
ARTIFACTS_BUCKET = "acme-prod-artifacts"
REPORTS_BUCKET = "acme-prod-reports"
FINANCE_BUCKET = "acme-prod-finance"
BACKUPS_BUCKET = "acme-prod-backups"
PUBLIC_BUCKET = "acme-prod-public-downloads"
SANDBOX_BUCKET = "acme-dev-sandbox"
SCRATCH_BUCKET = "acme-dev-scratch-444455556666"
ORDERS_TABLE = "orders"
PAYMENTS_TABLE = "payments"
ORDERS_QUEUE = "orders-queue"
ORDERS_FUNCTION = "orders-processor"
ORDERS_FUNCTION_ARN = f"arn:aws:lambda:us-east-1:{PROD}:function:{ORDERS_FUNCTION}"
NOTIFIER_FUNCTION = "orders-notifier"
DEV_FUNCTION = "orders-processor-dev"
ORDERS_KEY = f"arn:aws:kms:{US}:{PROD}:key/3f2a9c1e-7b4d-4e8a-9c65-1d2e3f4a5b6c"
EU_KEY = f"arn:aws:kms:{EU}:{PROD}:key/8d7c6b5a-4e3f-4a2b-9c1d-0e9f8a7b6c5d"
ECR_REPO = "orders-api"
DISTRIBUTION = "E2QWRUHAPOMQZL"
CERTIFICATE = f"arn:aws:acm:us-east-1:{PROD}:certificate/0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e"
INSTANCE_US = "i-0a1b2c3d4e5f60718"
INSTANCE_EU = "i-0f9e8d7c6b5a40312"
VPCE_S3_EU = "vpce-0a1b2c3d4e5f67890"

UA_BROWSER = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36"
)
UA_FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0"
UA_APP = (
    "aws-sdk-java/2.28.16 Linux/6.1.112-122.189.amzn2023.x86_64 "
    "OpenJDK_64-Bit_Server_VM/21.0.5+11-LTS Java/21.0.5 vendor/Amazon.com_Inc. io/sync "
    "http/Apache cfg/retry-mode/legacy"
)
UA_LAMBDA = (
    "Boto3/1.34.145 md/Botocore#1.34.145 ua/2.0 os/linux#5.10.227-239.884.amzn2.x86_64 "
    "md/arch#x86_64 lang/python#3.12.7 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 "
    "cfg/retry-mode#legacy Botocore/1.34.145"
)
UA_DOCKER = (
    "docker/27.3.1 go/go1.22.7 git-commit/41ca978 kernel/6.8.0-1017-azure os/linux arch/amd64"
)
UA_SSM = "aws-sdk-go/1.55.5 (go1.22.7; linux; amd64) amazon-ssm-agent/3.3.987.0"
UA_GHA_STS = (
    "aws-sdk-js/3.654.0 ua/2.1 os/linux#6.8.0-1014-azure lang/js md/nodejs#20.17.0 "
    "api/sts#3.654.0 m/E configure-aws-credentials-for-github-actions"
)
UA_IDC = (
    "aws-sdk-java/2.28.16 md/io#sync md/http#Apache md/internal ua/2.1 api/STS#2.28.x "
    "os/Linux#4.14.355-284.735.amzn2.x86_64 lang/java#17.0.13 "
    "md/OpenJDK_64-Bit_Server_VM#17.0.13+11-LTS md/vendor#Amazon.com_Inc. md/en_US m/E,N"
)


def cli_agent(command: str, os_part: str = "os/linux#6.8.0-1017-azure md/arch#x86_64") -> str:
    """The AWS CLI v2 user agent, which names the command it ran."""
    return (
        f"aws-cli/2.18.12 md/awscrt#0.22.0 ua/2.0 {os_part} lang/python#3.12.6 "
        f"md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off "
        f"md/command#{command}"
    )


def bob_agent(command: str) -> str:
    return cli_agent(command, "os/macos#24.1.0 md/arch#arm64")


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def iam_date(t: datetime) -> str:
    """Dates as ``aws iam get-account-authorization-details`` prints them."""
    return t.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def sts_expiration(t: datetime) -> str:
    """STS writes credential expirations as ``Nov 2, 2026, 3:14:15 PM``."""
    hour = t.hour % 12 or 12
    return f"{t:%b} {t.day}, {t.year}, {hour}:{t:%M:%S} {'AM' if t.hour < 12 else 'PM'}"


def java_date(t: datetime) -> str:
    """Some services (CloudFront) write dates as ``Nov 2, 2026 3:14:15 PM``."""
    return sts_expiration(t).replace(f"{t.year},", str(t.year))


class Rand:
    """A named, seeded random stream: one per scenario, so scenarios do not shift each other."""

    def __init__(self, seed: int, name: str) -> None:
        self.r = random.Random(f"{seed}:{name}")

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.r.getrandbits(128), version=4))

    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.r.choices(alphabet, k=n))

    def hex(self, n: int) -> str:
        return self.chars("0123456789abcdef", n)

    def s3_request_id(self) -> str:
        return self.chars("0123456789ABCDEF", 16)

    def dynamodb_request_id(self) -> str:
        return self.chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 52)

    def temp_key(self) -> str:
        return "ASIA" + self.chars(_ID_ALPHABET, 16)

    def b64(self, n_bytes: int) -> str:
        return base64.b64encode(self.r.randbytes(n_bytes)).decode()

    def session_token(self) -> str:
        return "IQoJb3JpZ2luX2VjE" + self.b64(300)

    def between(self, start: datetime, seconds: int) -> datetime:
        return start + timedelta(seconds=self.r.randrange(seconds))


# --------------------------------------------------------------------------------------------
# Callers and the event builder
# --------------------------------------------------------------------------------------------

TLS13 = ("TLSv1.3", "TLS_AES_128_GCM_SHA256")
TLS12 = ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256")


@dataclass
class Caller:
    """Who makes a call: the userIdentity block plus where the call comes from."""

    identity: dict[str, Any]
    ip: str
    agent: str
    account: str
    console: bool = False
    tls: tuple[str, str] | None = TLS13


def service_caller(service: str, account: str) -> Caller:
    """An AWS service acting on its own (AssumeRole of a service role, service invokes)."""
    host = f"{service}.amazonaws.com"
    return Caller({"type": "AWSService", "invokedBy": host}, host, host, account, tls=None)


def user_caller(user: User, ip: str, agent: str, *, tls: tuple[str, str] = TLS13) -> Caller:
    identity = {
        "type": "IAMUser",
        "principalId": user.id,
        "arn": user.arn,
        "accountId": user.account,
        "accessKeyId": user.key,
        "userName": user.name,
    }
    return Caller(identity, ip, agent, user.account, tls=tls)


def root_console_caller(account: str, key: str, created: datetime, ip: str) -> Caller:
    identity = {
        "type": "Root",
        "principalId": account,
        "arn": f"arn:{PARTITION}:iam::{account}:root",
        "accountId": account,
        "accessKeyId": key,
        "sessionContext": {
            "sessionIssuer": {},
            "webIdFederationData": {},
            "attributes": {"creationDate": iso(created), "mfaAuthenticated": "false"},
        },
    }
    return Caller(identity, ip, UA_BROWSER, account, console=True)


def session_identity(
    role: Role,
    session: str,
    key: str,
    created: datetime,
    *,
    mfa: bool = False,
    web_identity: str | None = None,
    ec2: bool = False,
    invoked_by: str | None = None,
) -> dict[str, Any]:
    web_data: dict[str, Any] = {}
    if web_identity:
        web_data = {"federatedProvider": web_identity, "attributes": {}}
    context: dict[str, Any] = {
        "sessionIssuer": {
            "type": "Role",
            "principalId": role.id,
            "arn": role.arn,
            "accountId": role.account,
            "userName": role.name,
        },
        "webIdFederationData": web_data,
        "attributes": {
            "creationDate": iso(created),
            "mfaAuthenticated": "true" if mfa else "false",
        },
    }
    if ec2:
        context["ec2RoleDelivery"] = "2.0"
    identity = {
        "type": "AssumedRole",
        "principalId": f"{role.id}:{session}",
        "arn": role.session_arn(session),
        "accountId": role.account,
        "accessKeyId": key,
        "sessionContext": context,
    }
    if invoked_by:
        identity["invokedBy"] = invoked_by
    return identity


VERSIONS = {
    "s3": "1.10",
    "dynamodb": "1.09",
    "sqs": "1.09",
    "ec2": "1.09",
    "secretsmanager": "1.09",
    "cloudtrail": "1.09",
    "monitoring": "1.09",
    "organizations": "1.09",
    "autoscaling": "1.09",
    "sso": "1.10",
}
GLOBAL_HOSTS = {
    "iam": "iam.amazonaws.com",
    "cloudfront": "cloudfront.amazonaws.com",
    "organizations": "organizations.us-east-1.amazonaws.com",
}
READ_PREFIXES = (
    "Get",
    "List",
    "Describe",
    "Head",
    "Lookup",
    "BatchGet",
    "BatchCheck",
    "Query",
    "Scan",
    "AssumeRole",
    "Decrypt",
    "GenerateDataKey",
)


def source_host(source: str, region: str) -> str:
    return GLOBAL_HOSTS.get(source, f"{source}.{region}.amazonaws.com")


@dataclass
class Rec:
    """One generated event with its time kept as a datetime for routing."""

    at: datetime
    event: dict[str, Any]


@dataclass
class Sample:
    seed: int
    records: list[Rec] = field(default_factory=list)

    def scene(self, name: str) -> "Scene":
        return Scene(self, Rand(self.seed, name))


class Scene:
    """Builds events for one scenario from its own random stream."""

    def __init__(self, sample: Sample, rand: Rand) -> None:
        self.sample = sample
        self.rand = rand

    def call(
        self,
        who: Caller,
        at: datetime,
        source: str,
        name: str,
        region: str = US,
        *,
        request: Any = None,
        response: Any = None,
        read_only: bool | None = None,
        data: bool = False,
        resources: list[dict[str, Any]] | None = None,
        error: tuple[str | None, str] | None = None,
        additional: dict[str, Any] | None = None,
        event_type: str = "AwsApiCall",
        recipient: str | None = None,
        shared_event_id: str | None = None,
        vpce: str | None = None,
        service_details: dict[str, Any] | None = None,
        host: str | None = None,
        request_id: str | None = "",
        version: str | None = None,
        agent: str | None = None,
        ip: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Append one event, with the fields in the order CloudTrail writes them."""
        if read_only is None:
            read_only = name.startswith(READ_PREFIXES)
        if request_id == "":
            request_id = self.rand.uuid()
        event: dict[str, Any] = {
            "eventVersion": version or VERSIONS.get(source, "1.08"),
            "userIdentity": who.identity,
            "eventTime": iso(at),
            "eventSource": f"{source}.amazonaws.com",
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": ip or who.ip,
            "userAgent": agent or who.agent,
        }
        if error:
            code, message = error
            if code:  # a failed console sign-in has a message but no code
                event["errorCode"] = code
            event["errorMessage"] = message
        event["requestParameters"] = request
        event["responseElements"] = response
        if additional is not None:
            event["additionalEventData"] = additional
        if request_id is not None:
            event["requestID"] = request_id
        event["eventID"] = self.rand.uuid()
        event["readOnly"] = read_only
        if resources is not None:
            event["resources"] = resources
        event["eventType"] = event_type
        event["managementEvent"] = not data
        event["recipientAccountId"] = recipient or who.account
        if shared_event_id:
            event["sharedEventID"] = shared_event_id
        if vpce:
            event["vpcEndpointId"] = vpce
            event["vpcEndpointAccountId"] = recipient or who.account
        if service_details is not None:
            event["serviceEventDetails"] = service_details
        event["eventCategory"] = "Data" if data else "Management"
        if who.tls and event_type != "AwsServiceEvent":
            event["tlsDetails"] = {
                "tlsVersion": who.tls[0],
                "cipherSuite": who.tls[1],
                "clientProvidedHostHeader": host or source_host(source, region),
            }
        if who.console:
            event["sessionCredentialFromConsole"] = "true"
        if extra:
            event.update(extra)
        self.sample.records.append(Rec(at, event))
        return event

    # ---- STS ------------------------------------------------------------------------------

    def sts_additional(self, region: str) -> dict[str, Any]:
        return {
            "ExtendedRequestId": self.rand.b64(40),
            "RequestDetails": {"endpointType": "regional", "awsServingRegion": region},
        }

    def credentials(self, key: str, at: datetime, hours: int = 1) -> dict[str, str]:
        return {
            "accessKeyId": key,
            "sessionToken": self.rand.session_token(),
            "expiration": sts_expiration(at + timedelta(hours=hours)),
        }

    def service_assume_role(
        self, service: str, role: Role, session: str, at: datetime, region: str = US
    ) -> str:
        """A service (lambda, ec2, ecs-tasks) assumes its role; returns the new session key."""
        key = self.rand.temp_key()
        self.call(
            service_caller(service, role.account),
            at,
            "sts",
            "AssumeRole",
            region,
            request={"roleArn": role.arn, "roleSessionName": session},
            response={"credentials": self.credentials(key, at, 6 if service == "ec2" else 12)},
            resources=[{"accountId": role.account, "type": "AWS::IAM::Role", "ARN": role.arn}],
            shared_event_id=self.rand.uuid(),
        )
        return key

    def role_caller(
        self,
        role: Role,
        session: str,
        key: str,
        created: datetime,
        ip: str,
        agent: str,
        **kwargs: Any,
    ) -> Caller:
        console = kwargs.pop("console", False)
        return Caller(
            session_identity(role, session, key, created, **kwargs),
            ip,
            agent,
            role.account,
            console=console,
        )

    # ---- data-event helpers ---------------------------------------------------------------

    def s3_object(
        self,
        who: Caller,
        at: datetime,
        name: str,
        bucket: str,
        key: str,
        region: str = US,
        *,
        owner: str | None = None,
        bytes_in: int = 0,
        bytes_out: int = 0,
        error: tuple[str, str] | None = None,
        vpce: str | None = None,
        ip: str | None = None,
        shared_event_id: str | None = None,
    ) -> dict[str, Any]:
        owner = owner or who.account
        host = f"{bucket}.s3.{region}.amazonaws.com"
        response = None
        if name == "PutObject" and not error:
            response = {"x-amz-server-side-encryption": "AES256"}
        additional = {
            "SignatureVersion": "SigV4",
            "CipherSuite": "TLS_AES_128_GCM_SHA256",
            "bytesTransferredIn": bytes_in,
            "SSEApplied": "Default_SSE_S3",
            "AuthenticationMethod": "AuthHeader",
            "x-amz-id-2": self.rand.b64(54),
            "bytesTransferredOut": bytes_out,
        }
        return self.call(
            who,
            at,
            "s3",
            name,
            region,
            request={"bucketName": bucket, "Host": host, "key": key},
            response=response,
            error=error,
            additional=additional,
            request_id=self.rand.s3_request_id(),
            read_only=name in ("GetObject", "HeadObject"),
            data=True,
            resources=[
                {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"},
                {"accountId": owner, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"},
            ],
            vpce=vpce,
            host=host,
            ip=ip,
            shared_event_id=shared_event_id,
        )

    def s3_list(
        self,
        who: Caller,
        at: datetime,
        bucket: str,
        prefix: str,
        region: str = US,
        *,
        owner: str | None = None,
        shared_event_id: str | None = None,
    ) -> dict[str, Any]:
        host = f"{bucket}.s3.{region}.amazonaws.com"
        return self.call(
            who,
            at,
            "s3",
            "ListObjects",
            region,
            request={
                "bucketName": bucket,
                "Host": host,
                "prefix": prefix,
                "delimiter": "/",
                "encoding-type": "url",
            },
            additional={
                "SignatureVersion": "SigV4",
                "CipherSuite": "TLS_AES_128_GCM_SHA256",
                "bytesTransferredIn": 0,
                "AuthenticationMethod": "AuthHeader",
                "x-amz-id-2": self.rand.b64(54),
                "bytesTransferredOut": 1843,
            },
            request_id=self.rand.s3_request_id(),
            data=True,
            resources=[
                {
                    "accountId": owner or who.account,
                    "type": "AWS::S3::Bucket",
                    "ARN": f"arn:aws:s3:::{bucket}",
                }
            ],
            host=host,
            shared_event_id=shared_event_id,
        )

    def s3_bucket_call(
        self,
        who: Caller,
        at: datetime,
        name: str,
        bucket: str,
        request_extra: dict[str, Any] | None = None,
        *,
        region: str = US,
        error: tuple[str, str] | None = None,
    ) -> dict[str, Any]:
        host = f"{bucket}.s3.{region}.amazonaws.com" if bucket else "s3.amazonaws.com"
        request: dict[str, Any] = {"bucketName": bucket, "Host": host} if bucket else {"Host": host}
        request.update(request_extra or {})
        return self.call(
            who,
            at,
            "s3",
            name,
            region,
            request=request,
            error=error,
            additional={
                "SignatureVersion": "SigV4",
                "CipherSuite": "TLS_AES_128_GCM_SHA256",
                "bytesTransferredIn": 0,
                "AuthenticationMethod": "AuthHeader",
                "x-amz-id-2": self.rand.b64(54),
                "bytesTransferredOut": 0,
            },
            request_id=self.rand.s3_request_id(),
            resources=(
                [
                    {
                        "accountId": who.account,
                        "type": "AWS::S3::Bucket",
                        "ARN": f"arn:aws:s3:::{bucket}",
                    }
                ]
                if bucket
                else None
            ),
            host=host,
        )

    def dynamodb(
        self,
        who: Caller,
        at: datetime,
        name: str,
        table: str,
        region: str = US,
        *,
        error: tuple[str, str] | None = None,
    ) -> dict[str, Any]:
        hidden = "HIDDEN_DUE_TO_SECURITY_REASONS"
        request: dict[str, Any] = {"tableName": table}
        if name == "Query":
            request.update(
                {
                    "indexName": "by-customer",
                    "keyConditionExpression": "#c = :c",
                    "expressionAttributeNames": {"#c": "customer_id"},
                    "expressionAttributeValues": {":c": hidden},
                    "limit": 25,
                }
            )
        else:
            request["key"] = {"order_id": hidden}
        if name == "PutItem":
            request["item"] = ["order_id", "customer_id", "status", "total", "updated_at"]
        account = who.account
        return self.call(
            who,
            at,
            "dynamodb",
            name,
            region,
            request=request,
            error=error,
            request_id=self.rand.dynamodb_request_id(),
            data=True,
            resources=[
                {
                    "accountId": account,
                    "type": "AWS::DynamoDB::Table",
                    "ARN": f"arn:aws:dynamodb:{region}:{account}:table/{table}",
                }
            ],
        )

    def sqs(self, who: Caller, at: datetime, name: str, region: str = US) -> dict[str, Any]:
        url = f"https://sqs.{region}.amazonaws.com/{PROD}/{ORDERS_QUEUE}"
        if name == "SendMessage":
            request = {"queueUrl": url, "messageBody": "HIDDEN_DUE_TO_SECURITY_REASONS"}
            response: dict[str, Any] | None = {
                "mD5OfMessageBody": self.rand.hex(32),
                "messageId": self.rand.uuid(),
            }
        else:
            request = {"queueUrl": url, "receiptHandle": "HIDDEN_DUE_TO_SECURITY_REASONS"}
            response = None
        return self.call(
            who,
            at,
            "sqs",
            name,
            region,
            request=request,
            response=response,
            read_only=False,
            data=True,
            resources=[
                {
                    "accountId": PROD,
                    "type": "AWS::SQS::Queue",
                    "ARN": f"arn:aws:sqs:{region}:{PROD}:{ORDERS_QUEUE}",
                }
            ],
        )

    def lambda_invoke(
        self, who: Caller, at: datetime, function: str, region: str = US, account: str = PROD
    ) -> dict[str, Any]:
        arn = f"arn:aws:lambda:{region}:{account}:function:{function}"
        return self.call(
            who,
            at,
            "lambda",
            "Invoke",
            region,
            request={"functionName": arn, "invocationType": "RequestResponse"},
            additional={"functionVersion": f"{arn}:$LATEST"},
            read_only=False,
            data=True,
            resources=[{"accountId": account, "type": "AWS::Lambda::Function", "ARN": arn}],
            recipient=account,
            version="1.09",
        )


# --------------------------------------------------------------------------------------------
# Big response bodies (RunInstances, CloudFront) used by several scenarios
# --------------------------------------------------------------------------------------------


def run_instances_response(
    rand: Rand,
    account: str,
    region: str,
    count: int,
    instance_type: str,
    profile: str | None,
    launched: datetime,
    tags: list[dict[str, str]],
) -> dict[str, Any]:
    az = f"{region}b"
    items = []
    for index in range(count):
        instance_id = "i-0" + rand.hex(16)
        eni = "eni-0" + rand.hex(16)
        octets = f"10.20.{rand.r.randrange(1, 60)}.{rand.r.randrange(4, 250)}"
        dns = f"ip-{octets.replace('.', '-')}.{region}.compute.internal"
        item: dict[str, Any] = {
            "instanceId": instance_id,
            "imageId": "ami-0c1d2e3f4a5b6c7d8",
            "currentInstanceBootMode": "uefi",
            "instanceState": {"code": 0, "name": "pending"},
            "privateDnsName": dns,
            "amiLaunchIndex": index,
            "productCodes": {},
            "instanceType": instance_type,
            "launchTime": int(launched.timestamp() * 1000),
            "placement": {"availabilityZone": az, "tenancy": "default"},
            "monitoring": {"state": "disabled"},
            "subnetId": "subnet-0b1c2d3e4f5a6b7c8",
            "vpcId": "vpc-0a9b8c7d6e5f4a3b2",
            "privateIpAddress": octets,
            "stateReason": {"code": "pending", "message": "pending"},
            "architecture": "x86_64",
            "rootDeviceType": "ebs",
            "rootDeviceName": "/dev/xvda",
            "blockDeviceMapping": {},
            "virtualizationType": "hvm",
            "hypervisor": "xen",
            "tagSet": {"items": tags},
            "clientToken": rand.uuid(),
            "groupSet": {"items": [{"groupId": "sg-0d1e2f3a4b5c6d7e8", "groupName": "app"}]},
            "sourceDestCheck": True,
            "networkInterfaceSet": {
                "items": [
                    {
                        "networkInterfaceId": eni,
                        "subnetId": "subnet-0b1c2d3e4f5a6b7c8",
                        "vpcId": "vpc-0a9b8c7d6e5f4a3b2",
                        "ownerId": account,
                        "status": "in-use",
                        "macAddress": ":".join(rand.hex(2) for _ in range(6)),
                        "privateIpAddress": octets,
                        "privateDnsName": dns,
                        "sourceDestCheck": True,
                        "interfaceType": "interface",
                        "groupSet": {
                            "items": [{"groupId": "sg-0d1e2f3a4b5c6d7e8", "groupName": "app"}]
                        },
                        "attachment": {
                            "attachmentId": "eni-attach-0" + rand.hex(16),
                            "deviceIndex": 0,
                            "networkCardIndex": 0,
                            "status": "attaching",
                            "attachTime": int(launched.timestamp() * 1000),
                            "deleteOnTermination": True,
                        },
                        "privateIpAddressesSet": {
                            "item": [
                                {
                                    "privateIpAddress": octets,
                                    "privateDnsName": (dns),
                                    "primary": True,
                                }
                            ]
                        },
                        "ipv6AddressesSet": {},
                        "tagSet": {},
                    }
                ]
            },
            "ebsOptimized": False,
            "enaSupport": True,
            "cpuOptions": {"coreCount": 1, "threadsPerCore": 2},
            "capacityReservationSpecification": {"capacityReservationPreference": "open"},
            "enclaveOptions": {"enabled": False},
            "metadataOptions": {
                "state": "pending",
                "httpTokens": "required",
                "httpPutResponseHopLimit": 2,
                "httpEndpoint": "enabled",
                "httpProtocolIpv4": "enabled",
                "httpProtocolIpv6": "disabled",
                "instanceMetadataTags": "disabled",
            },
            "maintenanceOptions": {"autoRecovery": "default"},
            "privateDnsNameOptions": {
                "hostnameType": "ip-name",
                "enableResourceNameDnsARecord": False,
                "enableResourceNameDnsAAAARecord": False,
            },
        }
        if profile:
            item["iamInstanceProfile"] = {
                "arn": f"arn:aws:iam::{account}:instance-profile/{profile}",
                "id": aws_id("AIPA", f"{account}:profile:{profile}"),
            }
        items.append(item)
    return {
        "requestId": rand.uuid(),
        "reservationId": "r-0" + rand.hex(16),
        "ownerId": account,
        "groupSet": {},
        "instancesSet": {"items": items},
    }


def distribution_config(comment: str) -> dict[str, Any]:
    origin = f"{ARTIFACTS_BUCKET}.s3.us-east-1.amazonaws.com"
    return {
        "callerReference": "orders-web-2025-03-14",
        "aliases": {"quantity": 1, "items": ["shop.acme.example"]},
        "defaultRootObject": "index.html",
        "origins": {
            "quantity": 1,
            "items": [
                {
                    "id": origin,
                    "domainName": origin,
                    "originPath": "/web",
                    "customHeaders": {"quantity": 0},
                    "s3OriginConfig": {"originAccessIdentity": ""},
                    "connectionAttempts": 3,
                    "connectionTimeout": 10,
                    "originShield": {"enabled": False},
                    "originAccessControlId": "E3OACABCDEF123",
                }
            ],
        },
        "originGroups": {"quantity": 0},
        "defaultCacheBehavior": {
            "targetOriginId": origin,
            "trustedSigners": {"enabled": False, "quantity": 0},
            "trustedKeyGroups": {"enabled": False, "quantity": 0},
            "viewerProtocolPolicy": "redirect-to-https",
            "allowedMethods": {
                "quantity": 2,
                "items": ["HEAD", "GET"],
                "cachedMethods": {"quantity": 2, "items": ["HEAD", "GET"]},
            },
            "smoothStreaming": False,
            "compress": True,
            "lambdaFunctionAssociations": {"quantity": 0},
            "functionAssociations": {"quantity": 0},
            "fieldLevelEncryptionId": "",
            "cachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
        },
        "cacheBehaviors": {"quantity": 0},
        "customErrorResponses": {"quantity": 0},
        "comment": comment,
        "logging": {"enabled": False, "includeCookies": False, "bucket": "", "prefix": ""},
        "priceClass": "PriceClass_100",
        "enabled": True,
        "viewerCertificate": {
            "aCMCertificateArn": CERTIFICATE,
            "sSLSupportMethod": "sni-only",
            "minimumProtocolVersion": "TLSv1.2_2021",
            "certificate": CERTIFICATE,
            "certificateSource": "acm",
        },
        "restrictions": {"geoRestriction": {"restrictionType": "none", "quantity": 0}},
        "webACLId": "",
        "httpVersion": "http2and3",
        "isIPV6Enabled": True,
        "staging": False,
    }


# --------------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------------

APP_HOURS = (7, 9, 11, 13, 15, 17, 19, 21)
NAT_US = "44.212.17.133"
PRIVATE_EU = "10.20.3.17"
GHA_IPS = ("20.57.73.18", "172.183.50.7", "4.227.199.83")
ALICE_IP = "198.51.100.23"
BOB_IP = "203.0.113.54"
BOB_DEV_IPV6 = "2001:db8:4a7c:1e00:8d31:5f2b:9c04:7e11"
IDC_IP = "3.236.12.41"


def scenario_app_traffic(sample: Sample) -> None:
    """Scenarios 5, 6, 7: app-role on two EC2 instances, the Lambda it invokes, service roles."""
    s = sample.scene("app")
    sessions: dict[str, list[tuple[str, datetime]]] = {US: [], EU: []}

    def app(region: str, at: datetime) -> Caller:
        """The instance's credentials that were current at ``at``."""
        instance = INSTANCE_US if region == US else INSTANCE_EU
        key, created = [session for session in sessions[region] if session[1] <= at][-1]
        ip = NAT_US if region == US else PRIVATE_EU
        return s.role_caller(APP_ROLE, instance, key, created, ip, UA_APP, ec2=True)

    lambda_session: tuple[str, datetime] | None = None

    def function_caller() -> Caller:
        assert lambda_session is not None
        key, created = lambda_session
        return s.role_caller(LAMBDA_ROLE, ORDERS_FUNCTION, key, created, "3.91.44.120", UA_LAMBDA)

    def cold_start(at: datetime) -> None:
        nonlocal lambda_session
        session = f"awslambda_512_{at:%Y%m%d%H%M%S}{s.rand.r.randrange(1000):03d}"
        key = s.service_assume_role("lambda", LAMBDA_ROLE, session, at)
        lambda_session = (key, at)
        caller = function_caller()
        s.call(
            caller,
            at + timedelta(seconds=1),
            "kms",
            "Decrypt",
            request={
                "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
                "encryptionContext": {"aws:lambda:FunctionArn": ORDERS_FUNCTION_ARN},
            },
            resources=[{"accountId": PROD, "type": "AWS::KMS::Key", "ARN": ORDERS_KEY}],
        )
        s.call(
            caller,
            at + timedelta(seconds=2),
            "secretsmanager",
            "GetSecretValue",
            request={"secretId": "prod/orders/db"},
        )

    def function_work(at: datetime, batch: int) -> None:
        caller = function_caller()
        for i in range(batch):
            s.dynamodb(caller, at + timedelta(seconds=i), "PutItem", ORDERS_TABLE)
        s.sqs(caller, at + timedelta(seconds=batch), "DeleteMessage")

    for day_index, day in enumerate(DAYS):
        # Instance credentials: EC2 assumes the instance role for each instance twice a day.
        for region, instance in ((US, INSTANCE_US), (EU, INSTANCE_EU)):
            for hour in (5, 17):
                at = day + timedelta(hours=hour, minutes=40 + (region == EU), seconds=12)
                key = s.service_assume_role("ec2", APP_ROLE, instance, at, region)
                sessions[region].append((key, at))
        for hour in APP_HOURS:
            base = day + timedelta(hours=hour, minutes=s.rand.r.randrange(3, 50))
            if day == D2 and hour == 9:
                base = day + timedelta(hours=9, minutes=58, seconds=40)  # inside OVERLAP
            # us-east-1: the order service reads and writes orders, queues work, calls Lambda.
            t = base
            caller = app(US, t)
            s.dynamodb(caller, t, "Query", ORDERS_TABLE)
            order_key = f"orders/{t:%Y/%m/%d}/ord-{s.rand.r.randrange(10**6):06d}.json"
            s.dynamodb(caller, t + timedelta(seconds=1), "GetItem", ORDERS_TABLE)
            s.s3_object(
                caller,
                t + timedelta(seconds=2),
                "GetObject",
                ORDERS_BUCKET,
                order_key,
                bytes_out=s.rand.r.randrange(900, 4000),
            )
            s.s3_object(
                caller,
                t + timedelta(seconds=3),
                "PutObject",
                ORDERS_BUCKET,
                f"receipts/{t:%Y/%m/%d}/rcpt-{s.rand.r.randrange(10**6):06d}.pdf",
                bytes_in=s.rand.r.randrange(20_000, 90_000),
            )
            s.sqs(caller, t + timedelta(seconds=4), "SendMessage")
            s.lambda_invoke(caller, t + timedelta(seconds=5), ORDERS_FUNCTION)
            if hour in (7, 15) or lambda_session is None:
                cold_start(t + timedelta(seconds=5))
            function_work(t + timedelta(seconds=8), 1 + (hour % 3))
            if hour in (11, 19):
                s.lambda_invoke(
                    service_caller("apigateway", PROD),
                    t + timedelta(seconds=40),
                    ORDERS_FUNCTION,
                )
                function_work(t + timedelta(seconds=41), 1)
            if hour % 4 == 1:
                s.call(
                    caller,
                    t + timedelta(seconds=30),
                    "ssm",
                    "UpdateInstanceInformation",
                    agent=UA_SSM,
                    request={
                        "instanceId": INSTANCE_US,
                        "agentVersion": "3.3.987.0",
                        "agentStatus": "Active",
                        "platformType": "Linux",
                        "platformName": "Amazon Linux",
                        "platformVersion": "2023",
                        "iPAddress": "10.10.4.21",
                        "computerName": "ip-10-10-4-21.ec2.internal",
                        "agentName": "amazon-ssm-agent",
                        "availabilityZone": "us-east-1b",
                        "availabilityZoneId": "use1-az4",
                    },
                    read_only=False,
                )
            if hour == 13 and day_index == 1:
                s.s3_object(
                    caller,
                    t + timedelta(seconds=6),
                    "GetObject",
                    ORDERS_BUCKET,
                    f"orders/{t:%Y/%m/%d}/ord-missing.json",
                    error=("NoSuchKey", "The specified key does not exist."),
                )
            # eu-west-1: the EU replica, through the S3 gateway endpoint.
            t = base + timedelta(minutes=1, seconds=17)
            caller = app(EU, t)
            s.dynamodb(caller, t, "GetItem", ORDERS_TABLE, EU)
            s.s3_object(
                caller,
                t + timedelta(seconds=1),
                "GetObject",
                ORDERS_BUCKET_EU,
                f"orders/{t:%Y/%m/%d}/ord-{s.rand.r.randrange(10**6):06d}.json",
                EU,
                bytes_out=s.rand.r.randrange(900, 4000),
                vpce=VPCE_S3_EU,
            )
            if hour in (9, 17):
                s.s3_object(
                    caller,
                    t + timedelta(seconds=2),
                    "PutObject",
                    ORDERS_BUCKET_EU,
                    f"receipts/{t:%Y/%m/%d}/rcpt-{s.rand.r.randrange(10**6):06d}.pdf",
                    EU,
                    bytes_in=s.rand.r.randrange(20_000, 90_000),
                    vpce=VPCE_S3_EU,
                )
        # Nightly reconciliation at 23:58: EventBridge invokes the function; the events land in
        # the file named 00:00 of the next day (in the next day's folder).
        if day != D3:
            at = day + timedelta(hours=23, minutes=58, seconds=14)
            s.lambda_invoke(service_caller("events", PROD), at, ORDERS_FUNCTION)
            cold_start(at + timedelta(seconds=1))
            s.dynamodb(function_caller(), at + timedelta(seconds=9), "Query", ORDERS_TABLE)
            function_work(at + timedelta(seconds=31), 2)


def scenario_app_denials(sample: Sample) -> None:
    """Scenario 2 (part): app-role calls that fail authorization, one per policy type."""
    s = sample.scene("app-denials")
    t = D2 + timedelta(hours=13, minutes=21, seconds=5)
    key = s.service_assume_role("ec2", APP_ROLE, INSTANCE_US, t - timedelta(minutes=3))
    app = s.role_caller(
        APP_ROLE, INSTANCE_US, key, t - timedelta(minutes=3), NAT_US, UA_APP, ec2=True
    )
    who = APP_ROLE.session_arn(INSTANCE_US)
    s.dynamodb(
        app,
        t,
        "PutItem",
        PAYMENTS_TABLE,
        error=(
            "AccessDeniedException",
            f"User: {who} is not authorized to perform: dynamodb:PutItem on resource: "
            f"arn:aws:dynamodb:us-east-1:{PROD}:table/{PAYMENTS_TABLE} because no "
            "identity-based policy allows the dynamodb:PutItem action",
        ),
    )
    finance_key = "2026/q3/ledger.csv"
    s.s3_object(
        app,
        t + timedelta(seconds=9),
        "GetObject",
        FINANCE_BUCKET,
        finance_key,
        error=(
            "AccessDenied",
            f"User: {who} is not authorized to perform: s3:GetObject on resource: "
            f'"arn:aws:s3:::{FINANCE_BUCKET}/{finance_key}" with an explicit deny in a '
            "resource-based policy",
        ),
    )
    t_eu = D2 + timedelta(hours=13, minutes=24, seconds=40)
    key_eu = s.service_assume_role("ec2", APP_ROLE, INSTANCE_EU, t_eu - timedelta(minutes=2), EU)
    app_eu = s.role_caller(
        APP_ROLE, INSTANCE_EU, key_eu, t_eu - timedelta(minutes=2), PRIVATE_EU, UA_APP, ec2=True
    )
    export_key = f"exports/{t_eu:%Y-%m-%d}.csv"
    s.s3_object(
        app_eu,
        t_eu,
        "PutObject",
        ORDERS_BUCKET_EU,
        export_key,
        EU,
        bytes_in=48_211,
        vpce=VPCE_S3_EU,
        error=(
            "AccessDenied",
            f"User: {APP_ROLE.session_arn(INSTANCE_EU)} is not authorized to perform: "
            f's3:PutObject on resource: "arn:aws:s3:::{ORDERS_BUCKET_EU}/{export_key}" because '
            "no VPC endpoint policy allows the s3:PutObject action",
        ),
    )
    # The Lambda role is allowed the payments secret by its own policy, but the secret's
    # resource policy denies it.
    t2 = D3 + timedelta(hours=8, minutes=2, seconds=51)
    session = f"awslambda_512_{t2:%Y%m%d%H%M%S}118"
    lkey = s.service_assume_role("lambda", LAMBDA_ROLE, session, t2)
    fn = s.role_caller(LAMBDA_ROLE, ORDERS_FUNCTION, lkey, t2, "3.91.44.120", UA_LAMBDA)
    s.call(
        fn,
        t2 + timedelta(seconds=2),
        "secretsmanager",
        "GetSecretValue",
        request={"secretId": "prod/payments/api-key"},
        error=(
            "AccessDeniedException",
            f"User: {LAMBDA_ROLE.session_arn(ORDERS_FUNCTION)} is not authorized to perform: "
            f"secretsmanager:GetSecretValue on resource: prod/payments/api-key with an explicit "
            "deny in a resource-based policy",
        ),
    )


def scenario_service_events(sample: Sample) -> None:
    """Scenarios 1 and 9: AWS acting on its own, an Auto Scaling launch with a big response."""
    s = sample.scene("service")
    at = D2 + timedelta(hours=3, minutes=12, seconds=44)
    key_id = ORDERS_KEY.rsplit("/", 1)[1]
    s.call(
        Caller(
            {"accountId": PROD, "invokedBy": "kms.amazonaws.com"},
            "kms.amazonaws.com",
            "kms.amazonaws.com",
            PROD,
            tls=None,
        ),
        at,
        "kms",
        "RotateKey",
        request=None,
        response=None,
        request_id=None,
        read_only=False,
        resources=[{"accountId": PROD, "type": "AWS::KMS::Key", "ARN": ORDERS_KEY}],
        event_type="AwsServiceEvent",
        service_details={"keyId": key_id},
    )
    # Auto Scaling launches two app instances in eu-west-1 with its service-linked role.
    at = D2 + timedelta(hours=6, minutes=0, seconds=31)
    created = at - timedelta(minutes=14)
    asg = Caller(
        session_identity(
            ASG_ROLE,
            "AutoScaling",
            s.rand.temp_key(),
            created,
            invoked_by="autoscaling.amazonaws.com",
        ),
        "autoscaling.amazonaws.com",
        "autoscaling.amazonaws.com",
        PROD,
        tls=None,
    )
    tags = [
        {"key": "aws:autoscaling:groupName", "value": "orders-app-eu"},
        {"key": "aws:ec2launchtemplate:id", "value": "lt-0a1b2c3d4e5f60718"},
        {"key": "aws:ec2launchtemplate:version", "value": "7"},
        {"key": "Name", "value": "orders-app"},
    ]
    s.call(
        asg,
        at,
        "ec2",
        "RunInstances",
        EU,
        request={
            "instancesSet": {"items": [{"minCount": 2, "maxCount": 2}]},
            "launchTemplate": {"launchTemplateId": "lt-0a1b2c3d4e5f60718", "version": "7"},
            "subnetId": "subnet-0b1c2d3e4f5a6b7c8",
            "availabilityZone": "eu-west-1b",
            "disableApiTermination": False,
            "clientToken": s.rand.uuid(),
            "tagSpecificationSet": {
                "items": [
                    {
                        "resourceType": "instance",
                        "tags": [{"key": "aws:autoscaling:groupName", "value": "orders-app-eu"}],
                    }
                ]
            },
        },
        response=run_instances_response(
            s.rand, PROD, EU, 2, "m7i.large", "app-instance-profile", at, tags
        ),
    )


def scenario_reporting_user(sample: Sample) -> None:
    """Scenario 6: an IAM user whose access key is used every morning."""
    s = sample.scene("reporting")
    agent = cli_agent("s3.cp", "os/linux#5.10.225-213.878.amzn2.x86_64 md/arch#x86_64")
    caller = user_caller(REPORTING_USER, "54.163.20.9", agent, tls=TLS12)
    for day in DAYS:
        t = day + timedelta(hours=6, minutes=5, seconds=s.rand.r.randrange(50))
        s.s3_list(caller, t, REPORTS_BUCKET, f"daily/{t:%Y/%m/%d}/")
        for i, name in enumerate(("orders.csv", "refunds.csv")):
            s.s3_object(
                caller,
                t + timedelta(seconds=2 + i),
                "GetObject",
                REPORTS_BUCKET,
                f"daily/{t:%Y/%m/%d}/{name}",
                bytes_out=s.rand.r.randrange(50_000, 400_000),
            )
        s.call(
            caller,
            t + timedelta(seconds=20),
            "monitoring",
            "GetMetricData",
            agent=cli_agent("cloudwatch.get-metric-data"),
            request={
                "metricDataQueries": [
                    {
                        "id": "orders",
                        "metricStat": {
                            "metric": {
                                "namespace": "Acme/Orders",
                                "metricName": "OrdersPlaced",
                                "dimensions": [{"name": "Region", "value": "us-east-1"}],
                            },
                            "period": 3600,
                            "stat": "Sum",
                        },
                        "returnData": True,
                    }
                ],
                "startTime": iso(t - timedelta(days=1)),
                "endTime": iso(t),
            },
        )
        if day == D2:
            s.s3_object(
                caller,
                t + timedelta(seconds=31),
                "GetObject",
                FINANCE_BUCKET,
                "2026/q3/ledger.csv",
                error=("AccessDenied", "Access Denied"),
            )


def scenario_ci(sample: Sample) -> None:
    """Scenarios 3 and 8: GitHub Actions deploys through OIDC, with versioned event names."""
    s = sample.scene("ci")
    runs = (
        D1 + timedelta(hours=14, minutes=20, seconds=7),
        D2 + timedelta(hours=11, minutes=5, seconds=42),
        D3 + timedelta(hours=16, minutes=40, seconds=19),
    )
    for number, start in enumerate(runs, 1):
        ip = GHA_IPS[number - 1]
        key = s.rand.temp_key()
        session = "GitHubActions"
        s.call(
            Caller(
                {
                    "type": "WebIdentityUser",
                    "principalId": f"{OIDC_PROVIDER}:sts.amazonaws.com:{GITHUB_SUB}",
                    "userName": GITHUB_SUB,
                    "identityProvider": OIDC_PROVIDER,
                },
                ip,
                UA_GHA_STS,
                PROD,
            ),
            start,
            "sts",
            "AssumeRoleWithWebIdentity",
            request={"roleArn": CI_ROLE.arn, "roleSessionName": session, "durationSeconds": 3600},
            response={
                "credentials": s.credentials(key, start),
                "subjectFromWebIdentityToken": GITHUB_SUB,
                "assumedRoleUser": {
                    "assumedRoleId": f"{CI_ROLE.id}:{session}",
                    "arn": CI_ROLE.session_arn(session),
                },
                "provider": OIDC_PROVIDER,
                "audience": "sts.amazonaws.com",
            },
            additional={
                "identityProviderConnectionVerificationMethod": "IAMTrustStore",
                **s.sts_additional(US),
            },
            resources=[{"accountId": PROD, "type": "AWS::IAM::Role", "ARN": CI_ROLE.arn}],
        )
        ci = s.role_caller(
            CI_ROLE,
            session,
            key,
            start,
            ip,
            cli_agent("sts.get-caller-identity"),
            web_identity=OIDC_PROVIDER,
        )
        t = start + timedelta(seconds=4)
        s.call(ci, t, "sts", "GetCallerIdentity", additional=s.sts_additional(US))
        sha = s.rand.hex(7)
        image = f"{PROD}.dkr.ecr.us-east-1.amazonaws.com/{ECR_REPO}:sha-{sha}"
        t = ci_push_image(s, ci, t + timedelta(seconds=20), sha)
        artifact = f"lambda/{ORDERS_FUNCTION}/{sha}.zip"
        s.s3_object(
            ci,
            t,
            "PutObject",
            ARTIFACTS_BUCKET,
            artifact,
            bytes_in=s.rand.r.randrange(2_000_000, 6_000_000),
        )
        function_arn = f"arn:aws:lambda:us-east-1:{PROD}:function:{ORDERS_FUNCTION}"
        code_response = lambda_function_response(
            s.rand, ORDERS_FUNCTION, LAMBDA_ROLE.arn, t, "InProgress"
        )
        if number == 1:
            notifier = lambda_function_response(s.rand, NOTIFIER_FUNCTION, LAMBDA_ROLE.arn, t, None)
            s.call(
                ci,
                t + timedelta(seconds=6),
                "lambda",
                "CreateFunction20150331",
                agent=cli_agent("lambda.create-function"),
                request={
                    "functionName": NOTIFIER_FUNCTION,
                    "runtime": "python3.12",
                    "role": LAMBDA_ROLE.arn,
                    "handler": "notifier.handler",
                    "code": {"s3Bucket": ARTIFACTS_BUCKET, "s3Key": artifact},
                    "description": "Sends order notifications",
                    "timeout": 30,
                    "memorySize": 256,
                    "publish": True,
                    "environment": {},
                    "architectures": ["arm64"],
                },
                response=notifier,
            )
        s.call(
            ci,
            t + timedelta(seconds=9),
            "lambda",
            "UpdateFunctionCode20150331v2",
            agent=cli_agent("lambda.update-function-code"),
            request={
                "functionName": function_arn,
                "s3Bucket": ARTIFACTS_BUCKET,
                "s3Key": artifact,
                "publish": True,
                "dryRun": False,
            },
            response=code_response,
        )
        s.call(
            ci,
            t + timedelta(seconds=14),
            "lambda",
            "GetFunction20150331v2",
            agent=cli_agent("lambda.wait"),
            request={"functionName": function_arn},
        )
        if number == 2:
            s.call(
                ci,
                t + timedelta(seconds=19),
                "lambda",
                "UpdateFunctionConfiguration20150331v2",
                agent=cli_agent("lambda.update-function-configuration"),
                request={"functionName": ORDERS_FUNCTION, "timeout": 60, "memorySize": 512},
                response=lambda_function_response(
                    s.rand, ORDERS_FUNCTION, LAMBDA_ROLE.arn, t, "InProgress"
                ),
            )
            s.call(
                ci,
                t + timedelta(seconds=25),
                "iam",
                "CreateRole",
                agent=cli_agent("iam.create-role"),
                request={
                    "roleName": "app-preview-role",
                    "assumeRolePolicyDocument": (
                        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":'
                        '{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
                    ),
                },
                error=(
                    "AccessDenied",
                    f"User: {CI_ROLE.session_arn(session)} is not authorized to perform: "
                    f"iam:CreateRole on resource: arn:aws:iam::{PROD}:role/app-preview-role "
                    "with an explicit deny in a permissions boundary",
                ),
            )
        t = ci_deploy_service(s, ci, t + timedelta(seconds=30), image)
        if number == 3:
            ci_cloudfront(s, ci, t + timedelta(seconds=5))
            ci_cross_account(s, ci, session, t + timedelta(seconds=40), ip, artifact)


def ci_push_image(s: Scene, ci: Caller, t: datetime, sha: str) -> datetime:
    repo = {"repositoryName": ECR_REPO, "registryId": PROD}
    resources = [
        {
            "accountId": PROD,
            "ARN": f"arn:aws:ecr:us-east-1:{PROD}:repository/{ECR_REPO}",
        }
    ]
    s.call(
        ci,
        t,
        "ecr",
        "GetAuthorizationToken",
        agent=cli_agent("ecr.get-login-password"),
        request=None,
    )
    layers = ["sha256:" + s.rand.hex(64) for _ in range(2)]
    s.call(
        ci,
        t + timedelta(seconds=3),
        "ecr",
        "BatchCheckLayerAvailability",
        agent=UA_DOCKER,
        request={**repo, "layerDigests": layers},
        resources=resources,
    )
    upload = s.rand.uuid()
    s.call(
        ci,
        t + timedelta(seconds=4),
        "ecr",
        "InitiateLayerUpload",
        agent=UA_DOCKER,
        request=repo,
        response={"uploadId": upload, "partSize": 10485760},
        resources=resources,
    )
    s.call(
        ci,
        t + timedelta(seconds=9),
        "ecr",
        "UploadLayerPart",
        agent=UA_DOCKER,
        request={**repo, "uploadId": upload, "partFirstByte": 0, "partLastByte": 31457279},
        response={**repo, "uploadId": upload, "lastByteReceived": 31457279},
        resources=resources,
    )
    s.call(
        ci,
        t + timedelta(seconds=11),
        "ecr",
        "CompleteLayerUpload",
        agent=UA_DOCKER,
        request={**repo, "uploadId": upload, "layerDigests": [layers[1]]},
        response={**repo, "uploadId": upload, "layerDigest": layers[1]},
        resources=resources,
    )
    manifest = orjson.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": "sha256:" + s.rand.hex(64),
                "size": 7023,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": digest,
                    "size": 31457280,
                }
                for digest in layers
            ],
        }
    ).decode()
    image_digest = "sha256:" + s.rand.hex(64)
    s.call(
        ci,
        t + timedelta(seconds=13),
        "ecr",
        "PutImage",
        agent=UA_DOCKER,
        request={
            **repo,
            "imageTag": f"sha-{sha}",
            "imageManifest": manifest,
            "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json",
        },
        response={
            "image": {
                **repo,
                "imageManifest": manifest,
                "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json",
                "imageId": {"imageDigest": image_digest, "imageTag": f"sha-{sha}"},
            }
        },
        resources=resources,
    )
    return t + timedelta(seconds=20)


def lambda_function_response(
    rand: Rand, name: str, role: str, at: datetime, last: str | None
) -> dict[str, Any]:
    """A Lambda function configuration; ``last`` is lastUpdateStatus, None for a new one."""
    arn = f"arn:aws:lambda:us-east-1:{PROD}:function:{name}"
    response: dict[str, Any] = {
        "functionName": name,
        "functionArn": arn,
        "runtime": "python3.12",
        "role": role,
        "handler": "app.handler" if name == ORDERS_FUNCTION else "notifier.handler",
        "codeSize": rand.r.randrange(2_000_000, 6_000_000),
        "description": "",
        "timeout": 30,
        "memorySize": 256,
        "lastModified": at.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        "codeSha256": rand.b64(32),
        "version": str(rand.r.randrange(10, 90)) if last else "1",
        "tracingConfig": {"mode": "PassThrough"},
        "revisionId": rand.uuid(),
        "state": "Active" if last else "Pending",
        "lastUpdateStatus": last or "",
        "packageType": "Zip",
        "architectures": ["arm64"],
        "ephemeralStorage": {"size": 512},
        "snapStart": {"applyOn": "None", "optimizationStatus": "Off"},
        "runtimeVersionConfig": {
            "runtimeVersionArn": "arn:aws:lambda:us-east-1::runtime:" + rand.hex(64)
        },
        "loggingConfig": {"logFormat": "Text", "logGroup": f"/aws/lambda/{name}"},
    }
    if not last:
        response["stateReason"] = "The function is being created."
        response["stateReasonCode"] = "Creating"
        del response["lastUpdateStatus"]
    return response


def ci_deploy_service(s: Scene, ci: Caller, t: datetime, image: str) -> datetime:
    revision = 40 + s.rand.r.randrange(10)
    task_definition = {
        "family": ECR_REPO,
        "executionRoleArn": ECS_EXEC_ROLE.arn,
        "networkMode": "awsvpc",
        "containerDefinitions": [
            {
                "name": ECR_REPO,
                "image": image,
                "cpu": 256,
                "memory": 512,
                "portMappings": [{"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}],
                "essential": True,
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": "/ecs/orders-api",
                        "awslogs-region": "us-east-1",
                        "awslogs-stream-prefix": "ecs",
                    },
                },
            }
        ],
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
    }
    td_arn = f"arn:aws:ecs:us-east-1:{PROD}:task-definition/{ECR_REPO}:{revision}"
    s.call(
        ci,
        t,
        "ecs",
        "RegisterTaskDefinition",
        agent=cli_agent("ecs.register-task-definition"),
        request=task_definition,
        response={
            "taskDefinition": {
                **task_definition,
                "taskDefinitionArn": td_arn,
                "revision": revision,
                "status": "ACTIVE",
                "compatibilities": ["EC2", "FARGATE"],
                "registeredAt": sts_expiration(t),
                "registeredBy": CI_ROLE.session_arn("GitHubActions"),
            }
        },
    )
    s.call(
        ci,
        t + timedelta(seconds=3),
        "ecs",
        "UpdateService",
        agent=cli_agent("ecs.update-service"),
        request={
            "cluster": "prod",
            "service": ECR_REPO,
            "taskDefinition": f"{ECR_REPO}:{revision}",
        },
        response={
            "service": {
                "serviceArn": f"arn:aws:ecs:us-east-1:{PROD}:service/prod/{ECR_REPO}",
                "serviceName": ECR_REPO,
                "clusterArn": f"arn:aws:ecs:us-east-1:{PROD}:cluster/prod",
                "status": "ACTIVE",
                "desiredCount": 2,
                "runningCount": 2,
                "pendingCount": 0,
                "launchType": "FARGATE",
                "taskDefinition": td_arn,
            }
        },
    )
    # The new tasks pull the image with the task execution role.
    at = t + timedelta(seconds=38)
    task_id = s.rand.hex(32)
    key = s.service_assume_role("ecs-tasks", ECS_EXEC_ROLE, task_id, at)
    ecs = s.role_caller(
        ECS_EXEC_ROLE, task_id, key, at, "ecs-tasks.amazonaws.com", "ecs-tasks.amazonaws.com"
    )
    ecs.tls = None
    s.call(
        ecs,
        at + timedelta(seconds=1),
        "ecr",
        "GetAuthorizationToken",
        request={"registryIds": [PROD]},
    )
    s.call(
        ecs,
        at + timedelta(seconds=2),
        "ecr",
        "BatchGetImage",
        request={
            "repositoryName": ECR_REPO,
            "registryId": PROD,
            "imageIds": [{"imageTag": image.rsplit(":", 1)[1]}],
            "acceptedMediaTypes": ["application/vnd.oci.image.manifest.v1+json"],
        },
        resources=[
            {"accountId": PROD, "ARN": f"arn:aws:ecr:us-east-1:{PROD}:repository/{ECR_REPO}"}
        ],
    )
    return t + timedelta(seconds=45)


def ci_cloudfront(s: Scene, ci: Caller, t: datetime) -> None:
    etag = "E" + s.rand.chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 13)
    s.call(
        ci,
        t,
        "cloudfront",
        "GetDistributionConfig2020_05_31",
        agent=cli_agent("cloudfront.get-distribution-config"),
        request={"id": DISTRIBUTION},
    )
    config = distribution_config("shop.acme.example web front")
    new_etag = "E" + s.rand.chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 13)
    s.call(
        ci,
        t + timedelta(seconds=2),
        "cloudfront",
        "UpdateDistribution2020_05_31",
        agent=cli_agent("cloudfront.update-distribution"),
        request={"distributionConfig": config, "id": DISTRIBUTION, "ifMatch": etag},
        response={
            "distribution": {
                "id": DISTRIBUTION,
                "aRN": f"arn:aws:cloudfront::{PROD}:distribution/{DISTRIBUTION}",
                "status": "InProgress",
                "lastModifiedTime": java_date(t),
                "inProgressInvalidationBatches": 0,
                "domainName": "d1a2b3c4d5e6f7.cloudfront.net",
                "activeTrustedSigners": {"enabled": False, "quantity": 0},
                "activeTrustedKeyGroups": {"enabled": False, "quantity": 0},
                "distributionConfig": config,
                "aliasICPRecordals": [
                    {"cNAME": "shop.acme.example", "iCPRecordalStatus": "APPROVED"}
                ],
            },
            "eTag": new_etag,
        },
        resources=[
            {
                "type": "AWS::CloudFront::Distribution",
                "ARN": f"arn:aws:cloudfront::{PROD}:distribution/{DISTRIBUTION}",
            }
        ],
    )
    invalidation = "I" + s.rand.chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 25)
    s.call(
        ci,
        t + timedelta(seconds=4),
        "cloudfront",
        "CreateInvalidation2020_05_31",
        agent=cli_agent("cloudfront.create-invalidation"),
        request={
            "distributionId": DISTRIBUTION,
            "invalidationBatch": {
                "paths": {"quantity": 1, "items": ["/*"]},
                "callerReference": f"cli-{int(t.timestamp())}-{s.rand.r.randrange(10**6)}",
            },
        },
        response={
            "location": (
                f"https://cloudfront.amazonaws.com/2020-05-31/distribution/{DISTRIBUTION}"
                f"/invalidation/{invalidation}"
            ),
            "invalidation": {"status": "InProgress", "createTime": java_date(t)},
        },
    )


def ci_cross_account(
    s: Scene, ci: Caller, session: str, t: datetime, ip: str, artifact: str
) -> None:
    """The CI role assumes a deploy role in dev: one call, an event in each account."""
    key = s.rand.temp_key()
    request = {
        "roleArn": DEV_CI_ROLE.arn,
        "roleSessionName": "GitHubActions-dev",
        "durationSeconds": 900,
    }
    response = {
        "credentials": s.credentials(key, t, 0)
        | {"expiration": sts_expiration(t + timedelta(minutes=15))},
        "assumedRoleUser": {
            "assumedRoleId": f"{DEV_CI_ROLE.id}:GitHubActions-dev",
            "arn": DEV_CI_ROLE.session_arn("GitHubActions-dev"),
        },
    }
    resources = [{"accountId": DEV, "type": "AWS::IAM::Role", "ARN": DEV_CI_ROLE.arn}]
    request_id = s.rand.uuid()
    shared = s.rand.uuid()
    agent = cli_agent("sts.assume-role")
    s.call(
        ci,
        t,
        "sts",
        "AssumeRole",
        request=request,
        response=response,
        resources=resources,
        request_id=request_id,
        shared_event_id=shared,
        agent=agent,
        additional=s.sts_additional(US),
    )
    other_account = Caller(
        {"type": "AWSAccount", "principalId": f"{CI_ROLE.id}:{session}", "accountId": PROD},
        ip,
        agent,
        DEV,
    )
    s.call(
        other_account,
        t,
        "sts",
        "AssumeRole",
        request=request,
        response=response,
        resources=resources,
        request_id=request_id,
        shared_event_id=shared,
        additional=s.sts_additional(US),
    )
    dev = s.role_caller(
        DEV_CI_ROLE, "GitHubActions-dev", key, t, ip, cli_agent("lambda.update-function-code")
    )
    arn = f"arn:aws:lambda:us-east-1:{DEV}:function:{DEV_FUNCTION}"
    s.call(
        dev,
        t + timedelta(seconds=3),
        "lambda",
        "UpdateFunctionCode20150331v2",
        request={
            "functionName": arn,
            "s3Bucket": ARTIFACTS_BUCKET,
            "s3Key": artifact,
            "publish": False,
            "dryRun": False,
        },
        response={
            "functionName": DEV_FUNCTION,
            "functionArn": arn,
            "runtime": "python3.12",
            "role": f"arn:aws:iam::{DEV}:role/service-role/orders-processor-dev-role",
            "lastUpdateStatus": "InProgress",
            "state": "Active",
            "version": "$LATEST",
        },
    )
    s.call(
        dev,
        t + timedelta(seconds=8),
        "lambda",
        "GetFunction20150331v2",
        agent=cli_agent("lambda.wait"),
        request={"functionName": arn},
    )


def idc_user_identity(user_id: str) -> dict[str, Any]:
    return {
        "type": "IdentityCenterUser",
        "accountId": MGMT,
        "onBehalfOf": {
            "userId": user_id,
            "identityStoreArn": f"arn:aws:identitystore::{MGMT}:identitystore/{IDC_STORE}",
        },
        "credentialId": "AAAAAG" + hashlib.sha256(user_id.encode()).hexdigest()[:60],
    }


def portal_sign_in(s: Scene, at: datetime, user_id: str, ip: str) -> None:
    """Password and TOTP checks, then the sign-in to the Identity Center portal."""
    workflow = s.rand.uuid()
    idc_user = Caller(idc_user_identity(user_id), ip, UA_BROWSER, MGMT, tls=None)
    for offset, credential in ((0, "PASSWORD"), (9, "TOTP")):
        s.call(
            idc_user,
            at + timedelta(seconds=offset),
            "signin",
            "CredentialVerification",
            request=None,
            additional={"AuthWorkflowID": workflow, "CredentialType": credential},
            event_type="AwsServiceEvent",
            service_details={"CredentialVerification": "Success"},
            read_only=False,
            version="1.10",
        )
    s.call(
        idc_user,
        at + timedelta(seconds=10),
        "signin",
        "UserAuthentication",
        request=None,
        additional={
            "AuthWorkflowID": workflow,
            "LoginTo": f"https://{IDC_STORE}.awsapps.com/start/",
            "CredentialType": "PASSWORD,TOTP",
        },
        event_type="AwsServiceEvent",
        service_details={"UserAuthentication": "Success"},
        read_only=False,
        version="1.10",
    )


SAML_ISSUER = "https://portal.sso.us-east-1.amazonaws.com/saml/assertion/" + (
    base64.b64encode(f"{MGMT}_{IDC_INSTANCE}".encode()).decode()
)


def sso_sign_in(
    s: Scene,
    at: datetime,
    person: tuple[str, str],
    ip: str,
    role: Role,
    permission_set: str,
    *,
    signed_in: bool = False,
) -> Caller:
    """Identity Center portal sign-in, the federation into an account, the console session.

    ``person`` is (email, identity-store user id). With ``signed_in`` the user already has a
    portal session and only federates into ``role``'s account.
    """
    email, user_id = person
    account = role.account
    if not signed_in:
        portal_sign_in(s, at, user_id, ip)
    # Older portal events still carry userIdentity type "Unknown" with the user's name.
    portal = Caller(
        {"type": "Unknown", "principalId": user_id, "accountId": MGMT, "userName": email},
        ip,
        UA_BROWSER,
        MGMT,
    )
    s.call(
        portal,
        at + timedelta(seconds=13),
        "sso",
        "ListAccounts",
        request=None,
        host=f"portal.sso.{US}.amazonaws.com",
    )
    s.call(
        portal,
        at + timedelta(seconds=15),
        "sso",
        "Federate",
        request=None,
        read_only=True,
        event_type="AwsServiceEvent",
        service_details={"role_name": permission_set, "account_id": account},
        request_id=s.rand.uuid(),
    )
    created = at + timedelta(seconds=16)
    key = s.rand.temp_key()
    principal_arn = f"arn:aws:iam::{account}:saml-provider/{SAML_PROVIDER}"
    s.call(
        Caller(
            {
                "type": "SAMLUser",
                "principalId": f"{NAME_QUALIFIER}:{email}",
                "userName": email,
                "identityProvider": NAME_QUALIFIER,
            },
            IDC_IP,
            UA_IDC,
            account,
        ),
        created,
        "sts",
        "AssumeRoleWithSAML",
        request={
            "sAMLAssertionID": "_" + s.rand.uuid(),
            "roleSessionName": email,
            "roleArn": role.arn,
            "principalArn": principal_arn,
            "durationSeconds": 43200,
        },
        response={
            "credentials": s.credentials(key, created, 12),
            "assumedRoleUser": {
                "assumedRoleId": f"{role.id}:{email}",
                "arn": role.session_arn(email),
            },
            "subject": email,
            "subjectType": "persistent",
            "issuer": SAML_ISSUER,
            "audience": "https://signin.aws.amazon.com/saml",
            "nameQualifier": NAME_QUALIFIER,
        },
        additional=s.sts_additional(US),
        resources=[
            {"accountId": account, "type": "AWS::IAM::Role", "ARN": role.arn},
            {"accountId": account, "type": "AWS::IAM::SAMLProvider", "ARN": principal_arn},
        ],
        recipient=account,
    )
    return s.role_caller(role, email, s.rand.temp_key(), created, ip, UA_BROWSER, console=True)


ALICE = ("alice@example.com", "9067a1b2c3-4d5e6f70-1a2b-3c4d-5e6f-7a8b9c0d1e2f")
BOB = ("bob@example.com", "9067a1b2c3-8e9fa0b1-2c3d-4e5f-6a7b-8c9d0e1f2a3b")


def scenario_identity_center(sample: Sample) -> None:
    """Scenarios 4, 2 (SCP) and the org/account duplicate window."""
    s = sample.scene("idc")
    # Day 1: alice administers prod and looks at the management account.
    at = D1 + timedelta(hours=9, minutes=12, seconds=3)
    alice = sso_sign_in(s, at, ALICE, ALICE_IP, SSO_ADMIN, "AdministratorAccess")
    t = at + timedelta(seconds=25)
    s.s3_bucket_call(alice, t, "ListBuckets", "")
    s.call(alice, t + timedelta(seconds=20), "iam", "ListRoles", request={"maxItems": 1000})
    s.call(alice, t + timedelta(seconds=31), "iam", "GetRole", request={"roleName": APP_ROLE.name})
    s.call(
        alice,
        t + timedelta(seconds=32),
        "iam",
        "ListAttachedRolePolicies",
        request={"roleName": APP_ROLE.name},
    )
    s.call(
        alice,
        t + timedelta(seconds=33),
        "iam",
        "ListRolePolicies",
        request={"roleName": APP_ROLE.name},
    )
    s.call(
        alice,
        t + timedelta(seconds=70),
        "cloudtrail",
        "DescribeTrails",
        request={"includeShadowTrails": True},
        agent="AWS Internal",
        ip="AWS Internal",
    )
    s.call(
        alice,
        t + timedelta(seconds=95),
        "ec2",
        "DescribeInstances",
        EU,
        request={"maxResults": 1000, "instancesSet": {}, "filterSet": {}},
    )
    s.call(alice, t + timedelta(seconds=140), "kms", "ListKeys", EU, request={"limit": 1000})
    s.call(
        alice,
        t + timedelta(seconds=161),
        "kms",
        "ScheduleKeyDeletion",
        EU,
        request={"keyId": EU_KEY, "pendingWindowInDays": 7},
        error=(
            "AccessDeniedException",
            f"User: {SSO_ADMIN.session_arn(ALICE[0])} is not authorized to perform: "
            f"kms:ScheduleKeyDeletion on resource: {EU_KEY} with an explicit deny in a service "
            "control policy",
        ),
    )
    mgmt_at = at + timedelta(minutes=11, seconds=40)
    alice_mgmt = sso_sign_in(
        s, mgmt_at, ALICE, ALICE_IP, MGMT_SSO_ADMIN, "AdministratorAccess", signed_in=True
    )
    t = mgmt_at + timedelta(seconds=30)
    s.call(alice_mgmt, t, "organizations", "DescribeOrganization", request=None)
    s.call(alice_mgmt, t + timedelta(seconds=2), "organizations", "ListAccounts", request=None)
    s.call(
        alice_mgmt,
        t + timedelta(seconds=40),
        "cloudtrail",
        "GetTrailStatus",
        request={"name": f"arn:aws:cloudtrail:us-east-1:{MGMT}:trail/{ORG_TRAIL}"},
    )

    # Day 2: alice widens the prod data-events trail to management events for 15 minutes.
    at = D2 + timedelta(hours=9, minutes=51, seconds=20)
    alice = sso_sign_in(s, at, ALICE, ALICE_IP, SSO_ADMIN, "AdministratorAccess")
    trail_arn = f"arn:aws:cloudtrail:us-east-1:{PROD}:trail/{PROD_TRAIL}"
    s.call(
        alice,
        at + timedelta(minutes=1, seconds=50),
        "cloudtrail",
        "GetEventSelectors",
        request={"trailName": trail_arn},
    )
    s.call(
        alice,
        OVERLAP[0] - timedelta(seconds=12),
        "cloudtrail",
        "PutEventSelectors",
        request={"trailName": trail_arn, "advancedEventSelectors": advanced_selectors(True)},
        response={"trailARN": trail_arn, "advancedEventSelectors": advanced_selectors(True)},
    )
    in_window = OVERLAP[0] + timedelta(seconds=47)
    s.call(alice, in_window, "cloudtrail", "GetTrailStatus", request={"name": trail_arn})
    s.call(
        alice,
        in_window + timedelta(minutes=2, seconds=3),
        "iam",
        "GetRole",
        request={"roleName": CI_ROLE.name},
    )
    s.call(
        alice,
        in_window + timedelta(minutes=6, seconds=14),
        "lambda",
        "GetFunction20150331v2",
        request={"functionName": ORDERS_FUNCTION},
    )
    s.call(
        alice,
        in_window + timedelta(minutes=8, seconds=2),
        "ec2",
        "DescribeInstances",
        request={"maxResults": 1000, "instancesSet": {}, "filterSet": {}},
    )
    s.call(
        alice,
        OVERLAP[1] + timedelta(seconds=31),
        "cloudtrail",
        "PutEventSelectors",
        request={"trailName": trail_arn, "advancedEventSelectors": advanced_selectors(False)},
        response={"trailARN": trail_arn, "advancedEventSelectors": advanced_selectors(False)},
    )

    # Day 2 afternoon: bob with the ReadOnly permission set looks around, and tries to change
    # things.
    at = D2 + timedelta(hours=14, minutes=30, seconds=9)
    bob = sso_sign_in(s, at, BOB, BOB_IP, SSO_READONLY, "ReadOnly")
    t = at + timedelta(seconds=30)
    who = SSO_READONLY.session_arn(BOB[0])
    s.call(
        bob,
        t,
        "ec2",
        "DescribeInstances",
        request={"maxResults": 1000, "instancesSet": {}, "filterSet": {}},
    )
    s.call(
        bob,
        t + timedelta(seconds=4),
        "ec2",
        "DescribeSecurityGroups",
        request={"securityGroupSet": {}, "securityGroupIdSet": {}, "filterSet": {}},
    )
    s.call(bob, t + timedelta(seconds=40), "dynamodb", "ListTables", request=None)
    s.call(
        bob,
        t + timedelta(seconds=43),
        "dynamodb",
        "DescribeTable",
        request={"tableName": ORDERS_TABLE},
        resources=[
            {
                "accountId": PROD,
                "type": "AWS::DynamoDB::Table",
                "ARN": f"arn:aws:dynamodb:us-east-1:{PROD}:table/{ORDERS_TABLE}",
            }
        ],
    )
    s.call(
        bob,
        t + timedelta(seconds=70),
        "lambda",
        "ListFunctions20150331",
        request={"functionVersion": "ALL"},
    )
    s.call(
        bob,
        t + timedelta(seconds=74),
        "lambda",
        "GetFunction20150331v2",
        request={"functionName": ORDERS_FUNCTION},
    )
    s.s3_bucket_call(
        bob, t + timedelta(seconds=100), "GetBucketPolicy", ORDERS_BUCKET, {"policy": ""}
    )
    s.s3_bucket_call(
        bob,
        t + timedelta(seconds=131),
        "PutBucketPolicy",
        ORDERS_BUCKET,
        {"policy": ""},
        error=(
            "AccessDenied",
            f"User: {who} is not authorized to perform: s3:PutBucketPolicy on resource: "
            f'"arn:aws:s3:::{ORDERS_BUCKET}" because no identity-based policy allows the '
            "s3:PutBucketPolicy action",
        ),
    )
    s.call(
        bob,
        t + timedelta(seconds=170),
        "ec2",
        "StopInstances",
        request={"instancesSet": {"items": [{"instanceId": INSTANCE_US}]}, "force": False},
        error=(
            "Client.UnauthorizedOperation",
            "You are not authorized to perform this operation. Encoded authorization failure "
            "message: " + s.rand.chars(_ALNUM + "-_", 600),
        ),
    )
    s.call(
        bob,
        t + timedelta(seconds=185),
        "ec2",
        "RebootInstances",
        request={"instancesSet": {"items": [{"instanceId": INSTANCE_US}]}},
        error=(
            "UnauthorizedOperation",
            f"You are not authorized to perform this operation. User: {who} is not authorized "
            f"to perform: ec2:RebootInstances on resource: arn:aws:ec2:us-east-1:{PROD}:instance/"
            f"{INSTANCE_US} because no identity-based policy allows the ec2:RebootInstances "
            "action. Encoded authorization failure message: " + s.rand.chars(_ALNUM + "-_", 540),
        ),
    )


def advanced_selectors(with_management: bool) -> list[dict[str, Any]]:
    selectors: list[dict[str, Any]] = [
        {
            "name": f"{kind} data events",
            "fieldSelectors": [
                {"field": "eventCategory", "equals": ["Data"]},
                {"field": "resources.type", "equals": [kind]},
            ],
        }
        for kind in (
            "AWS::S3::Object",
            "AWS::Lambda::Function",
            "AWS::DynamoDB::Table",
            "AWS::SQS::Queue",
        )
    ]
    if with_management:
        selectors.append(
            {
                "name": "Management events",
                "fieldSelectors": [{"field": "eventCategory", "equals": ["Management"]}],
            }
        )
    return selectors


def scenario_root(sample: Sample) -> None:
    """Scenario 1: root signs in to dev without MFA and creates a bucket; a failed prod login."""
    s = sample.scene("root")
    ip = "192.0.2.181"
    at = D3 + timedelta(hours=7, minutes=41, seconds=26)
    root_identity = {
        "type": "Root",
        "principalId": DEV,
        "arn": f"arn:aws:iam::{DEV}:root",
        "accountId": DEV,
        "accessKeyId": "",
    }
    login = Caller(root_identity, ip, UA_FIREFOX, DEV)
    s.call(
        login,
        at,
        "signin",
        "ConsoleLogin",
        request=None,
        response={"ConsoleLogin": "Success"},
        additional={
            "LoginTo": "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_us-east-1_0a1b2c3d4e5f6a7b",
            "MobileVersion": "No",
            "MFAUsed": "No",
        },
        request_id=None,
        read_only=False,
        event_type="AwsConsoleSignIn",
        host="signin.aws.amazon.com",
    )
    root = root_console_caller(DEV, s.rand.temp_key(), at, ip)
    root.agent = UA_FIREFOX
    t = at + timedelta(seconds=44)
    s.s3_bucket_call(root, t, "ListBuckets", "")
    s.s3_bucket_call(
        root,
        t + timedelta(seconds=75),
        "CreateBucket",
        SCRATCH_BUCKET,
        {"CreateBucketConfiguration": {"LocationConstraint": "us-east-1"}},
    )
    s.s3_bucket_call(
        root,
        t + timedelta(seconds=77),
        "PutBucketPublicAccessBlock",
        SCRATCH_BUCKET,
        {
            "PublicAccessBlockConfiguration": {
                "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
                "RestrictPublicBuckets": True,
                "BlockPublicPolicy": True,
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
            },
            "publicAccessBlock": "",
        },
    )
    s.call(root, t + timedelta(seconds=130), "iam", "GetAccountSummary", request=None)
    # A failed root sign-in to prod from an unexpected address (org trail).
    s.call(
        Caller(
            {
                "type": "Root",
                "principalId": PROD,
                "arn": f"arn:aws:iam::{PROD}:root",
                "accountId": PROD,
                "accessKeyId": "",
            },
            "185.220.101.47",
            UA_FIREFOX,
            PROD,
        ),
        D2 + timedelta(hours=2, minutes=14, seconds=51),
        "signin",
        "ConsoleLogin",
        request=None,
        response={"ConsoleLogin": "Failure"},
        error=(None, "Failed authentication"),
        additional={
            "LoginTo": "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true",
            "MobileVersion": "No",
            "MFAUsed": "No",
        },
        request_id=None,
        read_only=False,
        event_type="AwsConsoleSignIn",
        host="signin.aws.amazon.com",
    )


def scenario_dev_bob(sample: Sample) -> None:
    """Scenarios 2 and 9 in dev: EC2 denials, a dry run, a session policy, IPv6."""
    s = sample.scene("dev-bob")
    # Day 2 morning: console sign-in with MFA.
    at = D2 + timedelta(hours=8, minutes=57, seconds=2)
    s.call(
        Caller(
            {
                "type": "IAMUser",
                "principalId": DEV_BOB.id,
                "arn": DEV_BOB.arn,
                "accountId": DEV,
                "userName": DEV_BOB.name,
            },
            BOB_DEV_IPV6,
            UA_BROWSER,
            DEV,
        ),
        at,
        "signin",
        "ConsoleLogin",
        request=None,
        response={"ConsoleLogin": "Success"},
        additional={
            "LoginTo": "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true",
            "MobileVersion": "No",
            "MFAIdentifier": f"arn:aws:iam::{DEV}:mfa/dev.bob-yubikey",
            "MFAUsed": "Yes",
        },
        request_id=None,
        read_only=False,
        event_type="AwsConsoleSignIn",
        host="signin.aws.amazon.com",
    )
    bob = user_caller(DEV_BOB, BOB_DEV_IPV6, bob_agent("ec2.describe-instances"))
    who = DEV_BOB.arn
    t = D1 + timedelta(hours=10, minutes=2, seconds=11)
    s.call(
        bob,
        t,
        "sts",
        "GetCallerIdentity",
        request=None,
        agent=bob_agent("sts.get-caller-identity"),
        additional=s.sts_additional(US),
    )
    s.call(
        bob,
        t + timedelta(seconds=9),
        "ec2",
        "DescribeInstances",
        EU,
        request={"instancesSet": {}, "filterSet": {}},
    )
    run_request = {
        "instancesSet": {
            "items": [{"imageId": "ami-0e1f2a3b4c5d6e7f8", "minCount": 1, "maxCount": 1}]
        },
        "instanceType": "p3.2xlarge",
        "blockDeviceMapping": {},
        "subnetId": "subnet-0d9c8b7a6f5e4d3c2",
        "disableApiTermination": False,
        "monitoring": {"enabled": False},
        "clientToken": s.rand.uuid(),
        "tagSpecificationSet": {
            "items": [
                {
                    "resourceType": "instance",
                    "tags": [
                        {"key": "owner", "value": "dev.bob"},
                        {"key": "Name", "value": "ml-scratch"},
                    ],
                }
            ]
        },
    }
    s.call(
        bob,
        t + timedelta(seconds=40),
        "ec2",
        "RunInstances",
        EU,
        agent=bob_agent("ec2.run-instances"),
        request={**run_request, "dryRun": True},
        error=("Client.DryRunOperation", "Request would have succeeded, but DryRun flag is set."),
    )
    s.call(
        bob,
        t + timedelta(seconds=52),
        "ec2",
        "RunInstances",
        EU,
        agent=bob_agent("ec2.run-instances"),
        request=run_request,
        error=(
            "Client.UnauthorizedOperation",
            f"You are not authorized to perform this operation. User: {who} is not authorized to "
            f"perform: ec2:RunInstances on resource: arn:aws:ec2:eu-west-1:{DEV}:instance/* "
            "because no identity-based policy allows the ec2:RunInstances action. Encoded "
            "authorization failure message: " + s.rand.chars(_ALNUM + "-_", 700),
        ),
    )
    small = {**run_request, "instanceType": "t3.micro", "clientToken": s.rand.uuid()}
    launched = t + timedelta(seconds=70)
    s.call(
        bob,
        launched,
        "ec2",
        "RunInstances",
        EU,
        agent=bob_agent("ec2.run-instances"),
        request=small,
        response=run_instances_response(
            s.rand,
            DEV,
            EU,
            1,
            "t3.micro",
            None,
            launched,
            [{"key": "owner", "value": "dev.bob"}, {"key": "Name", "value": "ml-scratch"}],
        ),
    )
    # Day 2: terminating a protected instance is refused after authorization.
    t = D2 + timedelta(hours=9, minutes=20, seconds=5)
    protected = "i-0c4d5e6f7a8b9c0d1"
    s.call(
        bob,
        t,
        "ec2",
        "TerminateInstances",
        EU,
        agent=bob_agent("ec2.terminate-instances"),
        request={"instancesSet": {"items": [{"instanceId": protected}]}},
        error=(
            "Client.OperationNotPermitted",
            f"The instance '{protected}' may not be terminated. Modify its 'disableApiTermination' "
            "instance attribute and try again.",
        ),
    )
    # Day 2: bob takes the sandbox role with a read-only session policy, then tries to delete.
    t = D2 + timedelta(hours=15, minutes=3, seconds=44)
    key = s.rand.temp_key()
    session = "bob-cleanup"
    policy = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject",'
        f'"s3:ListBucket"],"Resource":["arn:aws:s3:::{SANDBOX_BUCKET}","arn:aws:s3:::'
        f'{SANDBOX_BUCKET}/*"]}}]}}'
    )
    s.call(
        bob,
        t,
        "sts",
        "AssumeRole",
        agent=bob_agent("sts.assume-role"),
        request={
            "roleArn": DEV_SANDBOX_ROLE.arn,
            "roleSessionName": session,
            "policy": policy,
            "durationSeconds": 3600,
        },
        response={
            "credentials": s.credentials(key, t),
            "assumedRoleUser": {
                "assumedRoleId": f"{DEV_SANDBOX_ROLE.id}:{session}",
                "arn": DEV_SANDBOX_ROLE.session_arn(session),
            },
            "packedPolicySize": 9,
        },
        additional=s.sts_additional(US),
        resources=[{"accountId": DEV, "type": "AWS::IAM::Role", "ARN": DEV_SANDBOX_ROLE.arn}],
        shared_event_id=s.rand.uuid(),
    )
    sandbox = s.role_caller(DEV_SANDBOX_ROLE, session, key, t, BOB_DEV_IPV6, bob_agent("s3.rm"))
    s.s3_object(
        sandbox,
        t + timedelta(seconds=12),
        "GetObject",
        SANDBOX_BUCKET,
        "experiments/2026-10/results.parquet",
        EU,
        bytes_out=1_288_190,
    )
    s.s3_object(
        sandbox,
        t + timedelta(seconds=30),
        "DeleteObject",
        SANDBOX_BUCKET,
        "experiments/2026-10/results.parquet",
        EU,
        error=(
            "AccessDenied",
            f"User: {DEV_SANDBOX_ROLE.session_arn(session)} is not authorized to perform: "
            f's3:DeleteObject on resource: "arn:aws:s3:::{SANDBOX_BUCKET}/experiments/2026-10/'
            'results.parquet" because no session policy allows the s3:DeleteObject action',
        ),
    )
    # Day 3: an event with a field no CloudTrail schema has yet, and one delivered late.
    t = D3 + timedelta(hours=10, minutes=15, seconds=2)
    s.call(
        bob,
        t,
        "sts",
        "GetCallerIdentity",
        request=None,
        agent=bob_agent("sts.get-caller-identity"),
        additional=s.sts_additional(US),
        version="1.11",
        extra={"callerNetworkContext": {"networkOrigin": "PUBLIC", "ipVersion": "IPv6"}},
    )
    s.call(
        bob,
        t + timedelta(seconds=21),
        "ec2",
        "DescribeVolumes",
        EU,
        agent=bob_agent("ec2.describe-volumes"),
        request={"volumeSet": {}, "filterSet": {}},
        extra={
            "addendum": {
                "reason": "DELIVERY_DELAY",
                "updatedFields": "",
                "originalRequestID": "",
                "originalEventID": "",
            }
        },
    )


def owner_copy(s: Scene, caller_event: dict[str, Any], at: datetime, owner: str) -> None:
    """The bucket owner's copy of a cross-account S3 data event: the same request (request id,
    ``x-amz-id-2``, ``sharedEventID``), its own ``eventID``, and the caller named only by its
    account and principal id, as CloudTrail logs a call from another account."""
    identity = caller_event["userIdentity"]
    event = dict(caller_event)
    event["userIdentity"] = {
        "type": "AWSAccount",
        "principalId": identity["principalId"],
        "accountId": identity["accountId"],
    }
    event["eventID"] = s.rand.uuid()
    event["recipientAccountId"] = owner
    s.sample.records.append(Rec(at, event))


def anonymous_s3(
    s: Scene,
    at: datetime,
    name: str,
    request: dict[str, Any],
    ip: str,
    agent: str,
    *,
    bytes_out: int,
    error: tuple[str, str] | None = None,
) -> None:
    """An unauthenticated S3 request to a prod bucket. Shaped as the logged public-bucket reads
    of the flaws2.cloud trail (userIdentity with an empty principalId, a sharedEventID), with the
    fields S3 adds to every data event since; an unsigned request has no SignatureVersion and no
    AuthenticationMethod."""
    bucket = request["bucketName"]
    resources = [{"accountId": PROD, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}]
    if "key" in request:
        object_arn = f"arn:aws:s3:::{bucket}/{request['key']}"
        resources.insert(0, {"type": "AWS::S3::Object", "ARN": object_arn})
    anonymous = Caller(
        {"type": "AWSAccount", "principalId": "", "accountId": "ANONYMOUS_PRINCIPAL"},
        ip,
        agent,
        PROD,
    )
    s.call(
        anonymous,
        at,
        "s3",
        name,
        request=request,
        error=error,
        additional={
            "CipherSuite": "TLS_AES_128_GCM_SHA256",
            "bytesTransferredIn": 0,
            "x-amz-id-2": s.rand.b64(54),
            "bytesTransferredOut": bytes_out,
        },
        request_id=s.rand.s3_request_id(),
        read_only=True,
        data=True,
        resources=resources,
        recipient=PROD,
        shared_event_id=s.rand.uuid(),
        host=request["Host"],
    )


def scenario_resource_policies(sample: Sample) -> None:
    """Scenario 10: calls only a resource-based policy allows or refuses (dev reading prod's
    artifacts across accounts, anonymous reads of a public bucket) and CloudTrail checking the
    log bucket it writes to. The policies are in the capture files (``resource_captures``)."""
    s = sample.scene("resource-policies")
    # Day 3: bob takes the sandbox role (no session policy this time) and pulls the two build
    # artifacts CI uploaded on days 1 and 2. Prod's bucket policy grants the whole dev account;
    # only this role ever reads. Both accounts log S3 data events, so each call is two events.
    artifacts = [
        rec.event["requestParameters"]["key"]
        for rec in sample.records
        if rec.event["eventName"] == "PutObject"
        and rec.event["requestParameters"]["bucketName"] == ARTIFACTS_BUCKET
        and rec.at < D3
    ]
    t = D3 + timedelta(hours=11, minutes=32, seconds=7)
    key = s.rand.temp_key()
    session = "bob-artifacts"
    s.call(
        user_caller(DEV_BOB, BOB_DEV_IPV6, bob_agent("sts.assume-role")),
        t,
        "sts",
        "AssumeRole",
        request={
            "roleArn": DEV_SANDBOX_ROLE.arn,
            "roleSessionName": session,
            "durationSeconds": 3600,
        },
        response={
            "credentials": s.credentials(key, t),
            "assumedRoleUser": {
                "assumedRoleId": f"{DEV_SANDBOX_ROLE.id}:{session}",
                "arn": DEV_SANDBOX_ROLE.session_arn(session),
            },
        },
        additional=s.sts_additional(US),
        resources=[{"accountId": DEV, "type": "AWS::IAM::Role", "ARN": DEV_SANDBOX_ROLE.arn}],
        shared_event_id=s.rand.uuid(),
    )
    sandbox = s.role_caller(DEV_SANDBOX_ROLE, session, key, t, BOB_DEV_IPV6, bob_agent("s3.ls"))
    at = t + timedelta(seconds=19)
    listed = s.s3_list(
        sandbox,
        at,
        ARTIFACTS_BUCKET,
        f"lambda/{ORDERS_FUNCTION}/",
        owner=PROD,
        shared_event_id=s.rand.uuid(),
    )
    owner_copy(s, listed, at, PROD)
    sandbox.agent = bob_agent("s3.cp")
    for i, artifact in enumerate(artifacts):
        at = t + timedelta(seconds=41 + 6 * i)
        read = s.s3_object(
            sandbox,
            at,
            "GetObject",
            ARTIFACTS_BUCKET,
            artifact,
            owner=PROD,
            bytes_out=s.rand.r.randrange(2_000_000, 6_000_000),
            shared_event_id=s.rand.uuid(),
        )
        owner_copy(s, read, at, PROD)

    # Anonymous callers download the public catalogue; one tries to list the bucket, which the
    # bucket policy (s3:GetObject for everyone) does not allow.
    host = f"{PUBLIC_BUCKET}.s3.{US}.amazonaws.com"
    downloads = (
        (
            D2 + timedelta(hours=18, minutes=44, seconds=9),
            "catalog/2026/autumn.pdf",
            "198.51.100.77",
            f"[{UA_BROWSER}]",
        ),
        (
            D3 + timedelta(hours=3, minutes=12, seconds=55),
            "catalog/2026/price-list.csv",
            "203.0.113.200",
            "[curl/8.5.0]",
        ),
        (
            D3 + timedelta(hours=12, minutes=7, seconds=31),
            "catalog/2026/autumn.pdf",
            "192.0.2.60",
            f"[{UA_FIREFOX}]",
        ),
    )
    for at, object_key, ip, agent in downloads:
        anonymous_s3(
            s,
            at,
            "GetObject",
            {"bucketName": PUBLIC_BUCKET, "Host": host, "key": object_key},
            ip,
            agent,
            bytes_out=s.rand.r.randrange(40_000, 4_000_000),
        )
    anonymous_s3(
        s,
        D3 + timedelta(hours=3, minutes=13, seconds=20),
        "ListObjects",
        {"list-type": "2", "bucketName": PUBLIC_BUCKET, "prefix": "", "Host": host},
        "203.0.113.200",
        "[curl/8.5.0]",
        bytes_out=243,
        error=("AccessDenied", "Access Denied"),
    )

    # CloudTrail checks the ACL of the bucket it delivers to, as the bucket policy's
    # AWSCloudTrailAclCheck20150319 statement allows: a management event of the bucket's
    # account, shaped as a logged one (no tlsDetails; nothing names the trail but the policy).
    # Days 1 and 2 only: day 3 stays the management account's day without events (the gap
    # lake_coverage reports).
    cloudtrail = service_caller("cloudtrail", MGMT)
    host = f"{LOG_BUCKET}.s3.{US}.amazonaws.com"
    for day in (D1, D2):
        s.call(
            cloudtrail,
            day + timedelta(hours=4, minutes=17, seconds=s.rand.r.randrange(60)),
            "s3",
            "GetBucketAcl",
            request={"bucketName": LOG_BUCKET, "Host": host, "acl": ""},
            additional={
                "SignatureVersion": "SigV4",
                "CipherSuite": "ECDHE-RSA-AES128-GCM-SHA256",
                "bytesTransferredIn": 0,
                "AuthenticationMethod": "AuthHeader",
                "x-amz-id-2": s.rand.b64(54),
                "bytesTransferredOut": 542,
            },
            request_id=s.rand.s3_request_id(),
            resources=[
                {"accountId": MGMT, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{LOG_BUCKET}"}
            ],
            shared_event_id=s.rand.uuid(),
            version="1.08",
        )


SCENARIOS: tuple[Callable[[Sample], None], ...] = (
    scenario_app_traffic,
    scenario_app_denials,
    scenario_service_events,
    scenario_reporting_user,
    scenario_ci,
    scenario_identity_center,
    scenario_root,
    scenario_dev_bob,
    scenario_resource_policies,
)


def build_sample(seed: int = 0) -> list[Rec]:
    """Every sample event, in scenario order (not yet routed or sorted)."""
    sample = Sample(seed)
    for scenario in SCENARIOS:
        scenario(sample)
    return sample.records


# --------------------------------------------------------------------------------------------
# Delivery: trails, file names, gzip, digests
# --------------------------------------------------------------------------------------------

FIVE_MINUTES = 300
LOG_FILE_RE = re.compile(
    r"^(?P<account>\d{12})_CloudTrail_(?P<region>[a-z0-9-]+)_"
    r"(?P<stamp>\d{8}T\d{4}Z)_(?P<unique>[A-Za-z0-9]{16})\.json\.gz$"
)


def trail_prefixes(rec: Rec) -> list[str]:
    """Where CloudTrail delivers an event: the account-trail prefix, the org-trail one, or both."""
    account = rec.event["recipientAccountId"]
    org = f"{ORG_PREFIX}/AWSLogs/{ORG_ID}/{account}"
    if account == DEV:
        return [f"AWSLogs/{DEV}"]
    if account == MGMT:
        return [org]
    if rec.event["eventCategory"] == "Data":
        return [f"AWSLogs/{PROD}"]
    if OVERLAP[0] <= rec.at < OVERLAP[1]:
        return [org, f"AWSLogs/{PROD}"]
    return [org]


def delivery_time(at: datetime) -> datetime:
    """The end of the five-minute window that holds ``at`` (the time in the file name)."""
    epoch = int(at.timestamp())
    return datetime.fromtimestamp(epoch - epoch % FIVE_MINUTES + FIVE_MINUTES, UTC)


def log_file_key(prefix: str, account: str, region: str, delivered: datetime, unique: str) -> str:
    name = f"{account}_CloudTrail_{region}_{delivered:%Y%m%dT%H%MZ}_{unique}.json.gz"
    return f"{prefix}/CloudTrail/{region}/{delivered:%Y/%m/%d}/{name}"


def gzip_bytes(data: bytes, name: str, level: int = 9) -> bytes:
    """Gzip with a fixed header (mtime 0, the inner file name) so output is reproducible."""
    buffer = io.BytesIO()
    with gzip.GzipFile(
        filename=name, mode="wb", fileobj=buffer, mtime=0, compresslevel=level
    ) as gz:
        gz.write(data)
    return buffer.getvalue()


def records_json(events: Iterable[dict[str, Any]]) -> bytes:
    return b'{"Records":[' + b",".join(orjson.dumps(e) for e in events) + b"]}"


@dataclass
class LogFile:
    key: str
    raw: bytes
    oldest: str
    newest: str


def deliver(records: list[Rec], seed: int) -> list[LogFile]:
    """Group events into delivery files by (trail prefix, region, five-minute window)."""
    groups: dict[tuple[str, str, datetime], list[Rec]] = defaultdict(list)
    for rec in records:
        for prefix in trail_prefixes(rec):
            groups[(prefix, rec.event["awsRegion"], delivery_time(rec.at))].append(rec)
    files = []
    for (prefix, region, delivered), group in sorted(groups.items()):
        recs = sorted(group, key=lambda r: r.at)  # stable: equal times keep scenario order
        account = prefix.rsplit("/", 1)[1]
        unique = Rand(seed, f"file:{prefix}:{region}:{delivered:%Y%m%dT%H%M}").chars(_ALNUM, 16)
        key = log_file_key(prefix, account, region, delivered, unique)
        files.append(
            LogFile(
                key,
                records_json(r.event for r in recs),
                recs[0].event["eventTime"],
                recs[-1].event["eventTime"],
            )
        )
    return files


def digest_files(files: list[LogFile], seed: int) -> dict[str, bytes]:
    """An hourly digest chain for the prod data-events trail and one org-trail digest."""
    out: dict[str, bytes] = {}
    rand = Rand(seed, "digests")
    fingerprint = rand.hex(32)
    chains = (
        (f"AWSLogs/{PROD}", PROD_TRAIL, D2 + timedelta(hours=9, minutes=20, seconds=31), 2),
        (
            f"{ORG_PREFIX}/AWSLogs/{ORG_ID}/{PROD}",
            ORG_TRAIL,
            D2 + timedelta(hours=9, minutes=31, seconds=8),
            1,
        ),
    )
    for prefix, trail, first_start, count in chains:
        previous: tuple[str, bytes, str] | None = None
        for index in range(count):
            start = first_start + timedelta(hours=index)
            end = start + timedelta(hours=1)
            region = US
            name = (
                f"{PROD}_CloudTrail-Digest_{region}_{trail}_{region}_{end:%Y%m%dT%H%M%SZ}.json.gz"
            )
            key = f"{prefix}/CloudTrail-Digest/{region}/{end:%Y/%m/%d}/{name}"
            listed = [
                f
                for f in files
                if f.key.startswith(f"{prefix}/CloudTrail/{region}/")
                and start <= file_delivery(f.key) < end
            ]
            signature = rand.hex(512)
            digest: dict[str, Any] = {
                "awsAccountId": PROD,
                "digestStartTime": iso(start),
                "digestEndTime": iso(end),
                "digestS3Bucket": LOG_BUCKET,
                "digestS3Object": key,
                "digestPublicKeyFingerprint": fingerprint,
                "digestSignatureAlgorithm": "SHA256withRSA",
                "newestEventTime": max((f.newest for f in listed), default=None),
                "oldestEventTime": min((f.oldest for f in listed), default=None),
                "previousDigestS3Bucket": LOG_BUCKET if previous else None,
                "previousDigestS3Object": previous[0] if previous else None,
                "previousDigestHashValue": (
                    hashlib.sha256(previous[1]).hexdigest() if previous else None
                ),
                "previousDigestHashAlgorithm": "SHA-256" if previous else None,
                "previousDigestSignature": previous[2] if previous else None,
                "logFiles": [
                    {
                        "s3Bucket": LOG_BUCKET,
                        "s3Object": f.key,
                        "hashValue": hashlib.sha256(f.raw).hexdigest(),
                        "hashAlgorithm": "SHA-256",
                        "newestEventTime": f.newest,
                        "oldestEventTime": f.oldest,
                    }
                    for f in listed
                ],
            }
            raw = orjson.dumps(digest)
            out[key] = gzip_bytes(raw, name)
            previous = (key, raw, signature)
    return out


def file_delivery(key: str) -> datetime:
    match = LOG_FILE_RE.match(key.rsplit("/", 1)[1])
    assert match, key
    return datetime.strptime(match["stamp"], "%Y%m%dT%H%MZ").replace(tzinfo=UTC)


# --------------------------------------------------------------------------------------------
# IAM snapshots (aws iam get-account-authorization-details)
# --------------------------------------------------------------------------------------------


def names(text: str) -> str | list[str]:
    """``"a b c"`` -> ``["a", "b", "c"]``; a single name stays a string, as IAM prints it."""
    parts = text.split()
    return parts[0] if len(parts) == 1 else parts


def statement(
    actions: str, resources: str | list[str], sid: str | None = None, **extra: Any
) -> dict[str, Any]:
    """One policy statement; ``actions`` is a space-separated list of IAM actions."""
    out: dict[str, Any] = {}
    if sid:
        out["Sid"] = sid
    out["Effect"] = extra.pop("Effect", "Allow")
    out["Action"] = names(actions)
    out["Resource"] = resources
    out.update(extra)
    return out


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def trust(
    principal: dict[str, Any],
    action: str = "sts:AssumeRole",
    condition: dict[str, Any] | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": names(action)}
    if condition:
        entry["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [entry]}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class ManagedPolicy:
    name: str
    account: str | None  # None for AWS managed policies
    doc: dict[str, Any]
    path: str = "/"
    version: str = "v1"
    created: datetime = datetime(2025, 3, 14, 9, 30, 12, tzinfo=UTC)
    updated: datetime | None = None

    @property
    def arn(self) -> str:
        owner = self.account or "aws"
        return f"arn:aws:iam::{owner}:policy{self.path}{self.name}"


AWS_POLICIES = {
    p.name: p
    for p in (
        ManagedPolicy(
            "AdministratorAccess",
            None,
            document(statement("*", "*")),
            created=at("2015-02-06 18:39:46"),
        ),
        # Abbreviated: the real ReadOnlyAccess names every service; this keeps the services the
        # sample touches.
        ManagedPolicy(
            "ReadOnlyAccess",
            None,
            document(
                statement(
                    "cloudtrail:Describe* cloudtrail:Get* cloudtrail:List* cloudtrail:LookupEvents "
                    "cloudwatch:Describe* cloudwatch:Get* cloudwatch:List* dynamodb:BatchGet* "
                    "dynamodb:Describe* dynamodb:Get* dynamodb:List* dynamodb:Query dynamodb:Scan "
                    "ec2:Describe* ec2:Get* ecr:BatchGet* ecr:Describe* ecr:Get* ecr:List* "
                    "ecs:Describe* ecs:List* iam:Generate* iam:Get* iam:List* iam:Simulate* "
                    "kms:Describe* kms:Get* kms:List* lambda:Get* lambda:List* s3:Describe* "
                    "s3:Get* s3:List* sqs:Get* sqs:List* sqs:Receive* ssm:Describe* ssm:Get* "
                    "ssm:List*",
                    "*",
                    "ReadOnlyActions",
                )
            ),
            version="v121",
            created=at("2015-02-06 18:39:48"),
            updated=at("2026-09-30 17:02:11"),
        ),
        ManagedPolicy(
            "AmazonSSMManagedInstanceCore",
            None,
            document(
                statement(
                    "ssm:DescribeAssociation ssm:GetDeployablePatchSnapshotForInstance "
                    "ssm:GetDocument ssm:DescribeDocument ssm:GetManifest ssm:GetParameter "
                    "ssm:GetParameters ssm:ListAssociations ssm:ListInstanceAssociations "
                    "ssm:PutInventory ssm:PutComplianceItems ssm:PutConfigurePackageResult "
                    "ssm:UpdateAssociationStatus ssm:UpdateInstanceAssociationStatus "
                    "ssm:UpdateInstanceInformation",
                    "*",
                ),
                statement(
                    "ssmmessages:CreateControlChannel ssmmessages:CreateDataChannel "
                    "ssmmessages:OpenControlChannel ssmmessages:OpenDataChannel",
                    "*",
                ),
                statement(
                    "ec2messages:AcknowledgeMessage ec2messages:DeleteMessage "
                    "ec2messages:FailMessage ec2messages:GetEndpoint ec2messages:GetMessages "
                    "ec2messages:SendReply",
                    "*",
                ),
            ),
            version="v2",
            created=at("2019-03-15 17:22:12"),
            updated=at("2019-05-23 16:54:21"),
        ),
        ManagedPolicy(
            "AWSLambdaBasicExecutionRole",
            None,
            document(statement("logs:CreateLogGroup logs:CreateLogStream logs:PutLogEvents", "*")),
            path="/service-role/",
            created=at("2015-04-09 15:03:43"),
        ),
        ManagedPolicy(
            "AmazonECSTaskExecutionRolePolicy",
            None,
            document(
                statement(
                    "ecr:GetAuthorizationToken ecr:BatchCheckLayerAvailability "
                    "ecr:GetDownloadUrlForLayer ecr:BatchGetImage logs:CreateLogStream "
                    "logs:PutLogEvents",
                    "*",
                )
            ),
            path="/service-role/",
            created=at("2017-11-16 18:48:22"),
        ),
        # Abbreviated to its EC2 part.
        ManagedPolicy(
            "AutoScalingServiceRolePolicy",
            None,
            document(
                statement(
                    "ec2:AttachClassicLinkVpc ec2:CancelSpotInstanceRequests ec2:CreateFleet "
                    "ec2:CreateTags ec2:DeleteTags ec2:Describe* ec2:DetachClassicLinkVpc "
                    "ec2:ModifyInstanceAttribute ec2:RequestSpotInstances ec2:RunInstances "
                    "ec2:StartInstances ec2:StopInstances ec2:TerminateInstances",
                    "*",
                    "EC2InstanceManagement",
                ),
                statement(
                    "iam:PassRole",
                    "*",
                    "EC2InstanceProfileManagement",
                    Condition={"StringLike": {"iam:PassedToService": "ec2.amazonaws.com*"}},
                ),
            ),
            path="/aws-service-role/",
            version="v9",
            created=at("2018-01-08 23:10:55"),
            updated=at("2024-08-27 20:05:34"),
        ),
    )
}

CI_BOUNDARY = ManagedPolicy(
    "ci-boundary",
    PROD,
    document(
        statement("*", "*", "AllowWithinBoundary"),
        statement(
            "iam:Create* iam:Delete* iam:Attach* iam:Detach* iam:Put* iam:Update* "
            "organizations:* cloudtrail:StopLogging cloudtrail:DeleteTrail",
            "*",
            "DenyIdentityAndAuditChanges",
            Effect="Deny",
        ),
    ),
)
CI_DEPLOY = ManagedPolicy(
    "ci-deploy",
    PROD,
    document(
        statement("ecr:GetAuthorizationToken", "*", "EcrLogin"),
        statement(
            "ecr:BatchCheckLayerAvailability ecr:InitiateLayerUpload ecr:UploadLayerPart "
            "ecr:CompleteLayerUpload ecr:PutImage ecr:BatchGetImage ecr:DescribeImages",
            f"arn:aws:ecr:us-east-1:{PROD}:repository/{ECR_REPO}",
            "EcrPush",
        ),
        statement("s3:PutObject s3:GetObject", f"arn:aws:s3:::{ARTIFACTS_BUCKET}/*", "Artifacts"),
        statement(
            "lambda:CreateFunction lambda:UpdateFunctionCode lambda:UpdateFunctionConfiguration "
            "lambda:GetFunction lambda:PublishVersion lambda:UpdateAlias",
            f"arn:aws:lambda:us-east-1:{PROD}:function:orders-*",
            "Functions",
        ),
        statement(
            "iam:PassRole",
            [LAMBDA_ROLE.arn, ECS_EXEC_ROLE.arn],
            "PassDeployRoles",
            Condition={
                "StringEquals": {
                    "iam:PassedToService": ["lambda.amazonaws.com", "ecs-tasks.amazonaws.com"]
                }
            },
        ),
        statement(
            "iam:CreateRole iam:AttachRolePolicy", f"arn:aws:iam::{PROD}:role/app-*", "PreviewRoles"
        ),
        statement("ecs:RegisterTaskDefinition ecs:DescribeTaskDefinition", "*", "TaskDefs"),
        statement(
            "ecs:UpdateService ecs:DescribeServices",
            f"arn:aws:ecs:us-east-1:{PROD}:service/prod/{ECR_REPO}",
            "Service",
        ),
        statement(
            "cloudfront:GetDistributionConfig cloudfront:UpdateDistribution "
            "cloudfront:CreateInvalidation",
            f"arn:aws:cloudfront::{PROD}:distribution/{DISTRIBUTION}",
            "Cdn",
        ),
        statement("sts:AssumeRole", DEV_CI_ROLE.arn, "DeployDev"),
    ),
    version="v4",
    updated=at("2026-06-02 13:11:40"),
)
LEGACY_BACKUP = ManagedPolicy(
    "legacy-backup-writer",
    PROD,
    document(
        statement(
            "s3:PutObject s3:ListBucket",
            [f"arn:aws:s3:::{BACKUPS_BUCKET}", f"arn:aws:s3:::{BACKUPS_BUCKET}/*"],
        )
    ),
    created=at("2023-05-08 11:02:40"),
)
DEVELOPER_ACCESS = ManagedPolicy(
    "developer-access",
    DEV,
    document(
        statement("ec2:Describe* ec2:GetConsoleOutput", "*", "Read"),
        statement(
            "ec2:RunInstances",
            f"arn:aws:ec2:*:{DEV}:instance/*",
            "SmallInstancesOnly",
            Condition={"StringLike": {"ec2:InstanceType": ["t3.*", "t4g.*"]}},
        ),
        statement(
            "ec2:RunInstances",
            [
                f"arn:aws:ec2:*:{DEV}:subnet/*",
                f"arn:aws:ec2:*:{DEV}:network-interface/*",
                f"arn:aws:ec2:*:{DEV}:security-group/*",
                f"arn:aws:ec2:*:{DEV}:volume/*",
                "arn:aws:ec2:*::image/*",
            ],
            "RunInstancesResources",
        ),
        statement(
            "ec2:CreateTags",
            f"arn:aws:ec2:*:{DEV}:*/*",
            "TagOnLaunch",
            Condition={"StringEquals": {"ec2:CreateAction": "RunInstances"}},
        ),
        statement(
            "ec2:StartInstances ec2:StopInstances ec2:TerminateInstances",
            f"arn:aws:ec2:*:{DEV}:instance/*",
            "OwnInstances",
            Condition={"StringEquals": {"aws:ResourceTag/owner": "${aws:username}"}},
        ),
        statement("sts:AssumeRole", DEV_SANDBOX_ROLE.arn, "Sandbox"),
        statement("s3:ListAllMyBuckets s3:GetBucketLocation", "*", "S3Browse"),
        statement(
            "iam:GetUser iam:ListAccessKeys iam:ListMFADevices",
            "arn:aws:iam::*:user/${aws:username}",
            "Self",
        ),
    ),
    version="v3",
    created=at("2025-01-20 08:00:05"),
    updated=at("2026-02-11 16:45:09"),
)


@dataclass
class RoleSpec:
    role: Role
    trust: dict[str, Any]
    created: datetime
    inline: dict[str, dict[str, Any]] = field(default_factory=dict)
    managed: list[ManagedPolicy] = field(default_factory=list)
    boundary: ManagedPolicy | None = None
    profile: str | None = None
    tags: list[dict[str, str]] = field(default_factory=list)
    last_used_before: tuple[datetime, str] | None = None


@dataclass
class UserSpec:
    user: User
    created: datetime
    groups: list[str] = field(default_factory=list)
    inline: dict[str, dict[str, Any]] = field(default_factory=dict)
    managed: list[ManagedPolicy] = field(default_factory=list)
    tags: list[dict[str, str]] = field(default_factory=list)


def sso_trust(account: str) -> dict[str, Any]:
    return trust(
        {"Federated": f"arn:aws:iam::{account}:saml-provider/{SAML_PROVIDER}"},
        "sts:AssumeRoleWithSAML sts:TagSession",
        {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}},
    )


def prod_iam() -> tuple[list[UserSpec], list[dict[str, Any]], list[RoleSpec]]:
    bucket_objects = [f"arn:aws:s3:::{ORDERS_BUCKET}/*", f"arn:aws:s3:::{ORDERS_BUCKET_EU}/*"]
    app_policy = document(
        statement("s3:GetObject s3:PutObject s3:DeleteObject", bucket_objects, "OrderObjects"),
        statement(
            "s3:ListBucket",
            [f"arn:aws:s3:::{ORDERS_BUCKET}", f"arn:aws:s3:::{ORDERS_BUCKET_EU}"],
            "OrderBuckets",
        ),
        statement(
            "dynamodb:GetItem dynamodb:PutItem dynamodb:Query dynamodb:DeleteItem dynamodb:Scan",
            [
                f"arn:aws:dynamodb:*:{PROD}:table/{ORDERS_TABLE}",
                f"arn:aws:dynamodb:*:{PROD}:table/{ORDERS_TABLE}/index/*",
            ],
            "OrdersTable",
        ),
        statement(
            "sqs:SendMessage sqs:ReceiveMessage sqs:DeleteMessage",
            f"arn:aws:sqs:*:{PROD}:{ORDERS_QUEUE}",
            "OrdersQueue",
        ),
        statement("kms:Decrypt kms:GenerateDataKey", ORDERS_KEY, "OrdersKey"),
        statement(
            "lambda:InvokeFunction",
            f"arn:aws:lambda:us-east-1:{PROD}:function:{ORDERS_FUNCTION}",
            "InvokeProcessor",
        ),
    )
    lambda_policy = document(
        statement(
            "dynamodb:PutItem dynamodb:UpdateItem dynamodb:Query",
            [
                f"arn:aws:dynamodb:us-east-1:{PROD}:table/{ORDERS_TABLE}",
                f"arn:aws:dynamodb:us-east-1:{PROD}:table/{ORDERS_TABLE}/index/*",
            ],
        ),
        statement(
            "sqs:ReceiveMessage sqs:DeleteMessage sqs:GetQueueAttributes",
            f"arn:aws:sqs:us-east-1:{PROD}:{ORDERS_QUEUE}",
        ),
        statement("kms:Decrypt", ORDERS_KEY),
        statement(
            "secretsmanager:GetSecretValue",
            [
                f"arn:aws:secretsmanager:us-east-1:{PROD}:secret:prod/orders/db-*",
                f"arn:aws:secretsmanager:us-east-1:{PROD}:secret:prod/payments/api-key-*",
            ],
        ),
    )
    reporting_policy = document(
        statement("s3:ListBucket", f"arn:aws:s3:::{REPORTS_BUCKET}"),
        statement("s3:GetObject", f"arn:aws:s3:::{REPORTS_BUCKET}/*"),
        statement("cloudwatch:GetMetricData", "*"),
    )
    users = [
        UserSpec(
            REPORTING_USER,
            datetime(2024, 9, 3, 10, 12, 44, tzinfo=UTC),
            inline={"reporting-read": reporting_policy},
            tags=[
                {"Key": REPORTING_USER.key, "Value": "daily report cron on bastion"},
                {"Key": "owner", "Value": "data-team"},
            ],
        ),
        UserSpec(
            BACKUP_USER,
            datetime(2023, 5, 8, 11, 3, 2, tzinfo=UTC),
            managed=[LEGACY_BACKUP],
            tags=[
                {"Key": BACKUP_USER.key, "Value": "old backup script (2023)"},
                {"Key": "owner", "Value": "platform"},
            ],
        ),
        UserSpec(BREAKGLASS_USER, datetime(2022, 11, 30, 16, 40, 0, tzinfo=UTC), groups=["Admins"]),
    ]
    groups = [
        {
            "Path": "/",
            "GroupName": "Admins",
            "GroupId": aws_id("AGPA", f"{PROD}:group:Admins"),
            "Arn": f"arn:aws:iam::{PROD}:group/Admins",
            "CreateDate": iam_date(datetime(2022, 11, 30, 16, 38, 12, tzinfo=UTC)),
            "GroupPolicyList": [],
            "AttachedManagedPolicies": [AWS_POLICIES["AdministratorAccess"]],
        }
    ]
    roles = [
        RoleSpec(
            APP_ROLE,
            trust({"Service": "ec2.amazonaws.com"}),
            datetime(2025, 3, 14, 9, 31, 0, tzinfo=UTC),
            inline={"app-data-access": app_policy},
            managed=[AWS_POLICIES["AmazonSSMManagedInstanceCore"]],
            profile="app-instance-profile",
            tags=[{"Key": "app", "Value": "orders"}],
        ),
        RoleSpec(
            LAMBDA_ROLE,
            trust({"Service": "lambda.amazonaws.com"}),
            datetime(2025, 3, 14, 9, 31, 40, tzinfo=UTC),
            inline={"orders-processor": lambda_policy},
            managed=[AWS_POLICIES["AWSLambdaBasicExecutionRole"]],
        ),
        RoleSpec(
            CI_ROLE,
            trust(
                {"Federated": OIDC_PROVIDER},
                "sts:AssumeRoleWithWebIdentity",
                {
                    "StringEquals": {
                        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com"
                    },
                    "StringLike": {"token.actions.githubusercontent.com:sub": GITHUB_SUB},
                },
            ),
            datetime(2025, 6, 2, 13, 10, 5, tzinfo=UTC),
            managed=[CI_DEPLOY],
            boundary=CI_BOUNDARY,
        ),
        RoleSpec(
            ECS_EXEC_ROLE,
            trust({"Service": "ecs-tasks.amazonaws.com"}),
            datetime(2025, 3, 14, 9, 32, 10, tzinfo=UTC),
            managed=[AWS_POLICIES["AmazonECSTaskExecutionRolePolicy"]],
        ),
        RoleSpec(
            ASG_ROLE,
            trust({"Service": "autoscaling.amazonaws.com"}),
            datetime(2025, 4, 1, 7, 45, 31, tzinfo=UTC),
            managed=[AWS_POLICIES["AutoScalingServiceRolePolicy"]],
        ),
        RoleSpec(
            SSO_ADMIN,
            sso_trust(PROD),
            datetime(2024, 2, 19, 12, 0, 48, tzinfo=UTC),
            managed=[AWS_POLICIES["AdministratorAccess"]],
        ),
        RoleSpec(
            SSO_READONLY,
            sso_trust(PROD),
            datetime(2024, 2, 19, 12, 0, 51, tzinfo=UTC),
            managed=[AWS_POLICIES["ReadOnlyAccess"]],
        ),
        RoleSpec(
            ORG_ACCESS_ROLE,
            trust({"AWS": f"arn:aws:iam::{MGMT}:root"}),
            datetime(2022, 11, 30, 16, 30, 2, tzinfo=UTC),
            managed=[AWS_POLICIES["AdministratorAccess"]],
            last_used_before=(datetime(2025, 6, 11, 14, 2, 51, tzinfo=UTC), US),
        ),
        # Okta's admin role, left behind when Identity Center replaced Okta in 2024-02.
        RoleSpec(
            OKTA_ROLE,
            trust(
                {"Federated": OKTA_PROVIDER},
                "sts:AssumeRoleWithSAML",
                {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}},
            ),
            datetime(2023, 3, 8, 10, 20, 5, tzinfo=UTC),
            managed=[AWS_POLICIES["ReadOnlyAccess"]],
            tags=[{"Key": "idp", "Value": "okta"}],
            last_used_before=(datetime(2024, 2, 16, 17, 41, 9, tzinfo=UTC), US),
        ),
    ]
    return users, groups, roles


def dev_iam() -> tuple[list[UserSpec], list[dict[str, Any]], list[RoleSpec]]:
    users = [
        UserSpec(
            DEV_BOB,
            datetime(2025, 1, 20, 8, 3, 17, tzinfo=UTC),
            groups=["Developers"],
            tags=[{"Key": DEV_BOB.key, "Value": "laptop cli"}],
        ),
    ]
    groups = [
        {
            "Path": "/",
            "GroupName": "Developers",
            "GroupId": aws_id("AGPA", f"{DEV}:group:Developers"),
            "Arn": f"arn:aws:iam::{DEV}:group/Developers",
            "CreateDate": iam_date(datetime(2025, 1, 20, 8, 0, 41, tzinfo=UTC)),
            "GroupPolicyList": [],
            "AttachedManagedPolicies": [DEVELOPER_ACCESS],
        }
    ]
    sandbox = document(
        statement("s3:*", [f"arn:aws:s3:::{SANDBOX_BUCKET}", f"arn:aws:s3:::{SANDBOX_BUCKET}/*"]),
        # Prod's artifacts bucket policy lets the dev account read; this side must allow it too.
        statement(
            "s3:GetObject s3:ListBucket",
            [f"arn:aws:s3:::{ARTIFACTS_BUCKET}", f"arn:aws:s3:::{ARTIFACTS_BUCKET}/*"],
            "ProdArtifacts",
        ),
    )
    ci_policy = document(
        statement(
            "lambda:UpdateFunctionCode lambda:GetFunction",
            f"arn:aws:lambda:us-east-1:{DEV}:function:orders-*-dev",
        ),
        statement("s3:GetObject", f"arn:aws:s3:::{ARTIFACTS_BUCKET}/lambda/*"),
    )
    roles = [
        RoleSpec(
            DEV_SANDBOX_ROLE,
            trust({"AWS": f"arn:aws:iam::{DEV}:root"}),
            datetime(2025, 1, 20, 8, 10, 2, tzinfo=UTC),
            inline={"sandbox-s3": sandbox},
        ),
        RoleSpec(
            DEV_CI_ROLE,
            trust({"AWS": CI_ROLE.arn}),
            datetime(2025, 6, 2, 13, 20, 44, tzinfo=UTC),
            inline={"deploy-dev": ci_policy},
        ),
    ]
    return users, groups, roles


def role_last_used(records: list[Rec]) -> dict[str, tuple[datetime, str]]:
    """When each role's sessions last made a call, as IAM's RoleLastUsed reports it."""
    last: dict[str, tuple[datetime, str]] = {}
    for rec in records:
        issuer = rec.event["userIdentity"].get("sessionContext", {}).get("sessionIssuer", {})
        arn = issuer.get("arn")
        if arn and (arn not in last or rec.at > last[arn][0]):
            last[arn] = (rec.at, rec.event["awsRegion"])
    return last


def policy_ref(policy: ManagedPolicy) -> dict[str, str]:
    return {"PolicyName": policy.name, "PolicyArn": policy.arn}


def authorization_details(
    account: str,
    spec: tuple[list[UserSpec], list[dict[str, Any]], list[RoleSpec]],
    last_used: dict[str, tuple[datetime, str]],
) -> dict[str, Any]:
    users, groups, roles = spec
    attached: dict[str, int] = defaultdict(int)
    boundaries: dict[str, int] = defaultdict(int)
    policies: dict[str, ManagedPolicy] = {}

    def attach(policy: ManagedPolicy) -> dict[str, str]:
        policies[policy.arn] = policy
        attached[policy.arn] += 1
        return policy_ref(policy)

    user_list = []
    for u in users:
        entry: dict[str, Any] = {
            "Path": u.user.path,
            "UserName": u.user.name,
            "UserId": u.user.id,
            "Arn": u.user.arn,
            "CreateDate": iam_date(u.created),
            "GroupList": u.groups,
            "AttachedManagedPolicies": [attach(p) for p in u.managed],
            "Tags": u.tags,
        }
        if u.inline:
            entry["UserPolicyList"] = [
                {"PolicyName": n, "PolicyDocument": d} for n, d in u.inline.items()
            ]
        user_list.append(entry)
    group_list = []
    for g in groups:
        group_list.append(
            {**g, "AttachedManagedPolicies": [attach(p) for p in g["AttachedManagedPolicies"]]}
        )
    role_list = []
    for r in roles:
        profiles = []
        if r.profile:
            profiles.append(
                {
                    "Path": "/",
                    "InstanceProfileName": r.profile,
                    "InstanceProfileId": aws_id("AIPA", f"{account}:profile:{r.profile}"),
                    "Arn": f"arn:aws:iam::{account}:instance-profile/{r.profile}",
                    "CreateDate": iam_date(r.created),
                    "Roles": [
                        {
                            "Path": r.role.path,
                            "RoleName": r.role.name,
                            "RoleId": r.role.id,
                            "Arn": r.role.arn,
                            "CreateDate": iam_date(r.created),
                            "AssumeRolePolicyDocument": r.trust,
                        }
                    ],
                }
            )
        entry = {
            "Path": r.role.path,
            "RoleName": r.role.name,
            "RoleId": r.role.id,
            "Arn": r.role.arn,
            "CreateDate": iam_date(r.created),
            "AssumeRolePolicyDocument": r.trust,
            "InstanceProfileList": profiles,
            "RolePolicyList": [{"PolicyName": n, "PolicyDocument": d} for n, d in r.inline.items()],
            "AttachedManagedPolicies": [attach(p) for p in r.managed],
        }
        if r.boundary:
            policies[r.boundary.arn] = r.boundary
            boundaries[r.boundary.arn] += 1
            entry["PermissionsBoundary"] = {
                "PermissionsBoundaryType": "Policy",
                "PermissionsBoundaryArn": r.boundary.arn,
            }
        entry["Tags"] = r.tags
        used = last_used.get(r.role.arn) or r.last_used_before
        entry["RoleLastUsed"] = (
            {"LastUsedDate": iam_date(used[0]), "Region": used[1]} if used else {}
        )
        role_list.append(entry)
    policy_list = []
    for arn in sorted(policies, key=lambda a: (a.startswith("arn:aws:iam::aws:"), a)):
        p = policies[arn]
        policy_list.append(
            {
                "PolicyName": p.name,
                "PolicyId": aws_id("ANPA", arn),
                "Arn": arn,
                "Path": p.path,
                "DefaultVersionId": p.version,
                "AttachmentCount": attached[arn],
                "PermissionsBoundaryUsageCount": boundaries[arn],
                "IsAttachable": True,
                "CreateDate": iam_date(p.created),
                "UpdateDate": iam_date(p.updated or p.created),
                "PolicyVersionList": [
                    {
                        "Document": p.doc,
                        "VersionId": p.version,
                        "IsDefaultVersion": True,
                        "CreateDate": iam_date(p.updated or p.created),
                    }
                ],
            }
        )
    return {
        "UserDetailList": user_list,
        "GroupDetailList": group_list,
        "RoleDetailList": role_list,
        "Policies": policy_list,
    }


# --------------------------------------------------------------------------------------------
# Resource policies and identity providers (trailwise's capture file, as `iam load --save`
# writes it)
# --------------------------------------------------------------------------------------------

# Every bucket created since 2023-04 has all four blocks on and ACLs disabled; these are the
# settings GetPublicAccessBlock and GetBucketOwnershipControls then return.
ALL_BLOCKED = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
ACLS_DISABLED = [{"ObjectOwnership": "BucketOwnerEnforced"}]
# The thumbprints IAM shows for the two providers (public values of their certificate chains).
GITHUB_THUMBPRINTS = [
    "1c58a3a8518e8759bf075b76b750d4f2df264fcd",
    "6938fd4d98bab03faadb97b34396831e3780aea1",
]
GITLAB_THUMBPRINTS = ["b3dd7606d2b5a8b4a13771dbecc9ee1cecafa38a"]
API_ID = "q7w8e9r0t1"  # the orders REST API that invokes orders-processor
ORDERS_TOPIC = f"arn:aws:sns:{US}:{PROD}:orders-events"
SECRETS = {
    "prod/orders/db": f"arn:aws:secretsmanager:{US}:{PROD}:secret:prod/orders/db-Q3dx9K",
    "prod/payments/api-key": (
        f"arn:aws:secretsmanager:{US}:{PROD}:secret:prod/payments/api-key-h7TQ2a"
    ),
}


def trail_arn(account: str, name: str) -> str:
    return f"arn:aws:cloudtrail:{US}:{account}:trail/{name}"


def resource_entry(
    account: str,
    region: str,
    service: str,
    resource_type: str,
    arn: str,
    policy: dict[str, Any] | None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One ResourcePolicies entry, keys in the order ``trailwise iam load --save`` writes."""
    return {
        "AccountId": account,
        "Region": region,
        "Service": service,
        "ResourceType": resource_type,
        "ResourceArn": arn,
        "Policy": policy,
        "ErrorCode": None,
        "Details": details or {},
    }


def bucket_entry(
    account: str,
    region: str,
    bucket: str,
    policy: dict[str, Any] | None,
    block: dict[str, bool] | None = None,
) -> dict[str, Any]:
    details = {"PublicAccessBlock": block or ALL_BLOCKED, "OwnershipControls": ACLS_DISABLED}
    return resource_entry(
        account, region, "s3", "bucket", f"arn:aws:s3:::{bucket}", policy, details
    )


def deny_insecure_transport(bucket: str) -> dict[str, Any]:
    return document(
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )


def key_policy(account: str, admins: list[str]) -> dict[str, Any]:
    """A key policy as the KMS console writes it: IAM decides for the account's principals,
    and the key administrators manage the key without using it."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if admins:
        statements.append(
            {
                "Sid": "Allow access for Key Administrators",
                "Effect": "Allow",
                "Principal": {"AWS": admins},
                "Action": names(
                    "kms:Create* kms:Describe* kms:Enable* kms:List* kms:Put* kms:Update* "
                    "kms:Revoke* kms:Disable* kms:Get* kms:Delete* kms:TagResource "
                    "kms:UntagResource kms:ScheduleKeyDeletion kms:CancelKeyDeletion "
                    "kms:RotateKeyOnDemand"
                ),
                "Resource": "*",
            }
        )
    return {
        "Version": "2012-10-17",
        "Id": "key-consolepolicy-3" if admins else "key-default-1",
        "Statement": statements,
    }


def key_entry(arn: str, admins: list[str]) -> dict[str, Any]:
    region, account = arn.split(":")[3:5]
    details = {
        "KeyManager": "CUSTOMER",
        "KeyState": "Enabled",
        "KeyUsage": "ENCRYPT_DECRYPT",
        "KeySpec": "SYMMETRIC_DEFAULT",
        "MultiRegion": False,
    }
    return resource_entry(account, region, "kms", "key", arn, key_policy(account, admins), details)


def provider_entry(
    arn: str,
    kind: str,
    created: datetime,
    *,
    url: str | None = None,
    audiences: list[str] | None = None,
    thumbprints: list[str] | None = None,
) -> dict[str, Any]:
    """One IdentityProviders entry. IAM lists a SAML provider without its URL or audiences; its
    ValidUntil, for metadata that names no expiry, is 100 years after its creation."""
    valid_until = created.replace(year=created.year + 100) if kind == "saml" else None
    return {
        "Arn": arn,
        "Kind": kind,
        "Url": url,
        "Audiences": audiences or [],
        "Thumbprints": thumbprints or [],
        "CreatedAt": iam_date(created),
        "ValidUntil": iam_date(valid_until) if valid_until else None,
        "ErrorCode": None,
    }


def prod_resources() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    artifacts = f"arn:aws:s3:::{ARTIFACTS_BUCKET}"
    function_arn = ORDERS_FUNCTION_ARN
    queue_arn = f"arn:aws:sqs:{US}:{PROD}:{ORDERS_QUEUE}"
    policies = [
        bucket_entry(
            PROD,
            US,
            ARTIFACTS_BUCKET,
            document(
                {
                    "Sid": "DevAccountReadsArtifacts",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{DEV}:root"},
                    "Action": ["s3:GetObject", "s3:ListBucket"],
                    "Resource": [artifacts, f"{artifacts}/*"],
                }
            ),
        ),
        bucket_entry(PROD, US, BACKUPS_BUCKET, None),
        # Scenario 2a's explicit deny in a resource-based policy: the ledger is for the finance
        # team's principals only.
        bucket_entry(
            PROD,
            US,
            FINANCE_BUCKET,
            document(
                {
                    "Sid": "DenyReadsOutsideFinance",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{FINANCE_BUCKET}/*",
                    "Condition": {"StringNotEquals": {"aws:PrincipalTag/team": "finance"}},
                }
            ),
        ),
        bucket_entry(PROD, US, ORDERS_BUCKET, deny_insecure_transport(ORDERS_BUCKET)),
        bucket_entry(PROD, EU, ORDERS_BUCKET_EU, deny_insecure_transport(ORDERS_BUCKET_EU)),
        # Public on purpose: the catalogue downloads. Its account lifted the two blocks that
        # stop a public policy (ACLs stay disabled).
        bucket_entry(
            PROD,
            US,
            PUBLIC_BUCKET,
            document(
                {
                    "Sid": "PublicRead",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{PUBLIC_BUCKET}/*",
                }
            ),
            {**ALL_BLOCKED, "BlockPublicPolicy": False, "RestrictPublicBuckets": False},
        ),
        bucket_entry(PROD, US, REPORTS_BUCKET, None),
        key_entry(ORDERS_KEY, [SSO_ADMIN.arn]),
        key_entry(EU_KEY, []),
        resource_entry(
            PROD,
            US,
            "sqs",
            "queue",
            queue_arn,
            {
                "Version": "2012-10-17",
                "Id": f"{queue_arn}/SQSDefaultPolicy",
                "Statement": [
                    {
                        "Sid": "OrdersEventsTopic",
                        "Effect": "Allow",
                        "Principal": {"Service": "sns.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": queue_arn,
                        "Condition": {"ArnEquals": {"aws:SourceArn": ORDERS_TOPIC}},
                    }
                ],
            },
        ),
        # The policy SNS gives every new topic.
        resource_entry(
            PROD,
            US,
            "sns",
            "topic",
            ORDERS_TOPIC,
            {
                "Version": "2008-10-17",
                "Id": "__default_policy_ID",
                "Statement": [
                    {
                        "Sid": "__default_statement_ID",
                        "Effect": "Allow",
                        "Principal": {"AWS": "*"},
                        "Action": [
                            "SNS:GetTopicAttributes",
                            "SNS:SetTopicAttributes",
                            "SNS:AddPermission",
                            "SNS:RemovePermission",
                            "SNS:DeleteTopic",
                            "SNS:Subscribe",
                            "SNS:ListSubscriptionsByTopic",
                            "SNS:Publish",
                        ],
                        "Resource": ORDERS_TOPIC,
                        "Condition": {"StringEquals": {"AWS:SourceOwner": PROD}},
                    }
                ],
            },
        ),
        # The function policy `lambda add-permission` wrote for the two services that invoke
        # orders-processor (scenario 7): API Gateway and the nightly EventBridge rule.
        resource_entry(
            PROD,
            US,
            "lambda",
            "function",
            function_arn,
            {
                "Version": "2012-10-17",
                "Id": "default",
                "Statement": [
                    {
                        "Sid": "orders-api-invoke",
                        "Effect": "Allow",
                        "Principal": {"Service": "apigateway.amazonaws.com"},
                        "Action": "lambda:InvokeFunction",
                        "Resource": function_arn,
                        "Condition": {
                            "StringEquals": {"AWS:SourceAccount": PROD},
                            "ArnLike": {
                                "AWS:SourceArn": (
                                    f"arn:aws:execute-api:{US}:{PROD}:{API_ID}/*/POST/orders"
                                )
                            },
                        },
                    },
                    {
                        "Sid": "nightly-reconciliation",
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": "lambda:InvokeFunction",
                        "Resource": function_arn,
                        "Condition": {
                            "ArnLike": {
                                "AWS:SourceArn": (
                                    f"arn:aws:events:{US}:{PROD}:rule/orders-nightly-reconciliation"
                                )
                            }
                        },
                    },
                ],
            },
        ),
        resource_entry(
            PROD,
            US,
            "lambda",
            "function",
            f"arn:aws:lambda:{US}:{PROD}:function:{NOTIFIER_FUNCTION}",
            None,
        ),
        resource_entry(PROD, US, "secretsmanager", "secret", SECRETS["prod/orders/db"], None),
        # Scenario 2b's explicit deny in a resource-based policy: only principals tagged
        # team=payments read the payments key (orders-processor-role is not).
        resource_entry(
            PROD,
            US,
            "secretsmanager",
            "secret",
            SECRETS["prod/payments/api-key"],
            document(
                {
                    "Sid": "DenyOutsidePayments",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": "*",
                    "Condition": {"StringNotEquals": {"aws:PrincipalTag/team": "payments"}},
                }
            ),
        ),
        # Granted for a dev deployment of the API that never happened: nobody pulls.
        resource_entry(
            PROD,
            US,
            "ecr",
            "repository",
            f"arn:aws:ecr:{US}:{PROD}:repository/{ECR_REPO}",
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DevAccountPull",
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{DEV}:root"},
                        "Action": [
                            "ecr:BatchCheckLayerAvailability",
                            "ecr:BatchGetImage",
                            "ecr:GetDownloadUrlForLayer",
                        ],
                    }
                ],
            },
        ),
    ]
    providers = [
        provider_entry(
            OIDC_PROVIDER,
            "oidc",
            datetime(2025, 6, 2, 13, 9, 40, tzinfo=UTC),
            url="token.actions.githubusercontent.com",
            audiences=["sts.amazonaws.com"],
            thumbprints=GITHUB_THUMBPRINTS,
        ),
        provider_entry(
            f"arn:aws:iam::{PROD}:saml-provider/{SAML_PROVIDER}",
            "saml",
            datetime(2024, 2, 19, 12, 0, 31, tzinfo=UTC),
        ),
        provider_entry(OKTA_PROVIDER, "saml", datetime(2023, 3, 8, 10, 14, 22, tzinfo=UTC)),
    ]
    return policies, providers


def dev_resources() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    policies = [
        bucket_entry(DEV, EU, SANDBOX_BUCKET, None),
        bucket_entry(DEV, US, SCRATCH_BUCKET, None),
        resource_entry(
            DEV,
            US,
            "lambda",
            "function",
            f"arn:aws:lambda:{US}:{DEV}:function:{DEV_FUNCTION}",
            None,
        ),
    ]
    providers = [
        provider_entry(
            GITLAB_PROVIDER,
            "oidc",
            datetime(2024, 4, 16, 14, 2, 37, tzinfo=UTC),
            url="gitlab.com",
            audiences=["https://gitlab.com"],
            thumbprints=GITLAB_THUMBPRINTS,
        )
    ]
    return policies, providers


def mgmt_resources() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The trail bucket's policy as the CloudTrail user guide gives it for an organization trail
    (AWSCloudTrailAclCheck / Write / OrganizationWrite), with the two account trails that also
    deliver here, every statement limited by aws:SourceArn to the trails."""
    bucket = f"arn:aws:s3:::{LOG_BUCKET}"
    trails = [trail_arn(MGMT, ORG_TRAIL), trail_arn(PROD, PROD_TRAIL), trail_arn(DEV, DEV_TRAIL)]
    service = {"Service": "cloudtrail.amazonaws.com"}
    policy = document(
        {
            "Sid": "AWSCloudTrailAclCheck20150319",
            "Effect": "Allow",
            "Principal": service,
            "Action": "s3:GetBucketAcl",
            "Resource": bucket,
            "Condition": {"StringEquals": {"aws:SourceArn": trails}},
        },
        {
            "Sid": "AWSCloudTrailWrite20150319",
            "Effect": "Allow",
            "Principal": service,
            "Action": "s3:PutObject",
            "Resource": [
                f"{bucket}/{ORG_PREFIX}/AWSLogs/{MGMT}/*",
                f"{bucket}/AWSLogs/{PROD}/*",
                f"{bucket}/AWSLogs/{DEV}/*",
            ],
            "Condition": {
                "StringEquals": {
                    "s3:x-amz-acl": "bucket-owner-full-control",
                    "aws:SourceArn": trails,
                }
            },
        },
        {
            "Sid": "AWSCloudTrailOrganizationWrite20150319",
            "Effect": "Allow",
            "Principal": service,
            "Action": "s3:PutObject",
            "Resource": f"{bucket}/{ORG_PREFIX}/AWSLogs/{ORG_ID}/*",
            "Condition": {
                "StringEquals": {
                    "s3:x-amz-acl": "bucket-owner-full-control",
                    "aws:SourceArn": trail_arn(MGMT, ORG_TRAIL),
                }
            },
        },
    )
    policies = [bucket_entry(MGMT, US, LOG_BUCKET, policy)]
    providers = [
        provider_entry(
            f"arn:aws:iam::{MGMT}:saml-provider/{SAML_PROVIDER}",
            "saml",
            datetime(2024, 2, 19, 11, 58, 2, tzinfo=UTC),
        )
    ]
    return policies, providers


def resource_captures() -> dict[str, dict[str, Any]]:
    """One capture file per account, read when the snapshots were (2026-11-05 08:00Z): no
    AuthorizationDetails, so each adds the account's resources beside its snapshot."""
    out = {}
    for account, read in ((PROD, prod_resources), (DEV, dev_resources), (MGMT, mgmt_resources)):
        policies, providers = read()
        out[account] = {
            "CapturedAt": iam_date(SNAPSHOT_TIME),
            "Accounts": [account],
            "ResourcePolicies": sorted(
                policies, key=lambda p: (p["AccountId"], p["ResourceArn"], p["Region"] or "")
            ),
            "IdentityProviders": sorted(providers, key=lambda p: p["Arn"]),
        }
    return out


# --------------------------------------------------------------------------------------------
# Sample mode
# --------------------------------------------------------------------------------------------


def sample_files(records: list[Rec], seed: int = 0) -> dict[str, bytes]:
    """Every file of the sample set, keyed by path relative to the output folder."""
    logs = deliver(records, seed)
    out = {f.key: gzip_bytes(f.raw, f.key.rsplit("/", 1)[1]) for f in logs}
    out.update(digest_files(logs, seed))
    last_used = role_last_used(records)
    for account, spec in ((PROD, prod_iam()), (DEV, dev_iam())):
        details = authorization_details(account, spec, last_used)
        out[f"iam/authorization-details-{account}.json"] = (
            orjson.dumps(details, option=orjson.OPT_INDENT_2) + b"\n"
        )
    for account, capture in resource_captures().items():
        out[f"iam/resources-{account}.json"] = (
            orjson.dumps(capture, option=orjson.OPT_INDENT_2) + b"\n"
        )
    return out


def generate_sample(out: Path, seed: int = 0) -> dict[str, int]:
    """Write the sample set under ``out``, replacing what an earlier run wrote there."""
    records = build_sample(seed)
    files = sample_files(records, seed)
    # Drop files an earlier version wrote, so the folder holds exactly this version's output.
    for folder, pattern in (
        ("AWSLogs", "*.json.gz"),
        (ORG_PREFIX, "*.json.gz"),
        ("iam", "authorization-details-*.json"),
        ("iam", "resources-*.json"),
    ):
        for stale in (out / folder).rglob(pattern):
            stale.unlink()
    for relative, data in sorted(files.items()):
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return {
        "files": len(files),
        "events": len(records),
        "bytes": sum(len(d) for d in files.values()),
    }


# --------------------------------------------------------------------------------------------
# Bulk mode
# --------------------------------------------------------------------------------------------

BULK_ACCOUNTS = (PROD, DEV, MGMT, "222233334444", "555566667777", "777788889999")
BULK_REGIONS = (US, EU, "us-west-2", "ap-southeast-2")
BULK_DAYS = 7
GLOBAL_SOURCES = {"iam", "signin", "cloudfront", "organizations", "sso"}
_TOKEN_RE = re.compile(rb"@@(TIME|EID|RID|ACCT|REGION)@@")


@dataclass
class Template:
    """A sample event serialized once, split around the values each bulk event varies."""

    parts: list[bytes | str]
    is_global: bool
    size: int


def bulk_templates(seed: int) -> list[Template]:
    """The sample's events as templates; time, ids, account and region become placeholders."""
    templates = []
    for rec in build_sample(seed):
        event = dict(rec.event)
        source = event["eventSource"].split(".", 1)[0]
        is_global = source in GLOBAL_SOURCES
        event["eventTime"] = "@@TIME@@"
        event["eventID"] = "@@EID@@"
        if "requestID" in event:
            event["requestID"] = "@@RID@@"
        raw = orjson.dumps(event).replace(event["recipientAccountId"].encode(), b"@@ACCT@@")
        if not is_global:
            raw = raw.replace(rec.event["awsRegion"].encode(), b"@@REGION@@")
        parts: list[bytes | str] = []
        position = 0
        for match in _TOKEN_RE.finditer(raw):
            parts.append(raw[position : match.start()])
            parts.append(match.group(1).decode())
            position = match.end()
        parts.append(raw[position:])
        templates.append(Template(parts, is_global, len(orjson.dumps(rec.event))))
    return templates


BULK_MEAN_SIZE = 1500
PICK_TABLE_SIZE = 8192


def pick_table(templates: list[Template], indexes: list[int]) -> list[int]:
    """Template indexes, repeated so a uniform draw has a mean event size near 1.5 KB.

    The sample's events average about 1.7 KB; weights ``exp(-k * size)`` tilt the draw toward
    smaller events, with ``k`` found by bisection. Every template keeps at least one slot, so
    the large ones (RunInstances, CloudFront) still occur.
    """
    sizes = [templates[i].size for i in indexes]

    def weights(k: float) -> list[float]:
        low = min(sizes)
        return [math.exp(-k * (size - low)) for size in sizes]

    def mean(k: float) -> float:
        w = weights(k)
        return sum(wi * si for wi, si in zip(w, sizes, strict=True)) / sum(w)

    low, high = 0.0, 0.01
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if mean(middle) > BULK_MEAN_SIZE else (low, middle)
    w = weights(low)
    total = sum(w)
    table: list[int] = []
    for index, wi in zip(indexes, w, strict=True):
        table.extend([index] * max(1, round(PICK_TABLE_SIZE * wi / total)))
    return table


@dataclass(frozen=True)
class BulkFile:
    index: int
    account: str
    region: str
    delivered: datetime
    events: int
    first_event: int


def plan_bulk(events: int, files: int, seed: int) -> list[BulkFile]:
    """Spread files over accounts, regions and days, and events over files (sizes vary)."""
    if files < 1 or events < files:
        raise ValueError("bulk needs at least one file and at least one event per file")
    rand = random.Random(f"{seed}:bulk-plan")
    streams = [(a, r) for a in BULK_ACCOUNTS for r in BULK_REGIONS]
    per_stream = [len(range(s, files, len(streams))) for s in range(len(streams))]
    windows = BULK_DAYS * 24 * 12
    weights = [
        (2.0 if streams[i % len(streams)][1] == US else 1.0) * rand.uniform(0.4, 1.6)
        for i in range(files)
    ]
    total = sum(weights)
    spare = events - files
    counts = [1 + int(spare * w / total) for w in weights]
    for i in range(events - sum(counts)):
        counts[i % files] += 1
    start = datetime(2026, 11, 2, tzinfo=UTC)
    plan = []
    first = 0
    for i in range(files):
        stream = i % len(streams)
        j = i // len(streams)
        window = j * windows // per_stream[stream]
        account, region = streams[stream]
        delivered = start + timedelta(seconds=FIVE_MINUTES * (window + 1))
        plan.append(BulkFile(i, account, region, delivered, counts[i], first))
        first += counts[i]
    return plan


def _make_importable_by_name() -> None:
    """Let the pool pickle ``_write_bulk_files`` by name when this file was loaded from a path.

    ``importlib.util.module_from_spec`` + ``exec_module`` (how benchmarks load ``bench/``, which
    is not a package) does not register the module in ``sys.modules``; pickling a function looks
    its module up there. Forked workers inherit the registration.
    """
    if sys.modules.get(__name__) is None:
        module = types.ModuleType(__name__)
        module.__dict__.update(globals())
        sys.modules[__name__] = module


@dataclass
class WorkerState:
    """What each bulk worker process holds: the templates and the tables to draw them from."""

    templates: list[Template] = field(default_factory=list)
    pick_regional: list[int] = field(default_factory=list)
    pick_us_east_1: list[int] = field(default_factory=list)


_WORKER = WorkerState()


def _init_worker(templates: list[Template]) -> None:
    _WORKER.templates = templates
    # Global services (IAM, sign-in, CloudFront, ...) log in us-east-1 only.
    regional = [i for i, t in enumerate(templates) if not t.is_global]
    _WORKER.pick_regional = pick_table(templates, regional)
    _WORKER.pick_us_east_1 = pick_table(templates, list(range(len(templates))))


def _render(template: Template, account: bytes, region: bytes) -> list[bytes | str]:
    """Fill the per-file placeholders; leave TIME, EID and RID for each event."""
    out: list[bytes | str] = []
    for part in template.parts:
        value = (
            {"ACCT": account, "REGION": region}.get(part, part) if isinstance(part, str) else part
        )
        if isinstance(value, bytes) and out and isinstance(out[-1], bytes):
            out[-1] = out[-1] + value
        else:
            out.append(value)
    return out


def _bulk_event_id(r: random.Random, index: int, seed: int) -> bytes:
    # The node field is a bijection of the global event index, so ids never collide.
    node = (index * 0x9E3779B97F4A7C15 + seed * 0x5DEECE66D + 1) & 0xFFFFFFFFFFFF
    high = r.getrandbits(64)
    return (
        f"{high >> 32:08x}-{(high >> 16) & 0xFFFF:04x}-4{high & 0xFFF:03x}-"
        f"{0x8000 | r.getrandbits(14):04x}-{node:012x}"
    ).encode()


def _write_bulk_files(job: tuple[Path, int, list[BulkFile]]) -> tuple[int, int, int, int]:
    out, seed, specs = job
    cache: dict[tuple[int, str, str], list[bytes | str]] = {}
    totals = [0, 0, 0, 0]  # files, events, gz bytes, json bytes
    for spec in specs:
        r = random.Random(seed * 1_000_003 + spec.index)
        choices = _WORKER.pick_us_east_1 if spec.region == US else _WORKER.pick_regional
        account_b = spec.account.encode()
        region_b = spec.region.encode()
        window_start = spec.delivered.timestamp() - FIVE_MINUTES
        offsets = sorted(r.randrange(FIVE_MINUTES) for _ in range(spec.events))
        chunks = []
        for n, offset in enumerate(offsets):
            t = choices[r.randrange(len(choices))]
            parts = cache.get((t, spec.account, spec.region))
            if parts is None:
                parts = _render(_WORKER.templates[t], account_b, region_b)
                cache[(t, spec.account, spec.region)] = parts
            values = {
                "TIME": time.strftime(
                    "%Y-%m-%dT%H:%M:%SZ", time.gmtime(window_start + offset)
                ).encode(),
                "EID": _bulk_event_id(r, spec.first_event + n, seed),
                "RID": str(uuid.UUID(int=r.getrandbits(128), version=4)).encode(),
            }
            chunks.append(b"".join(p if isinstance(p, bytes) else values[p] for p in parts))
        raw = b'{"Records":[' + b",".join(chunks) + b"]}"
        unique = "".join(r.choices(_ALNUM, k=16))
        key = log_file_key(
            f"AWSLogs/{spec.account}", spec.account, spec.region, spec.delivered, unique
        )
        path = out / key
        path.parent.mkdir(parents=True, exist_ok=True)
        data = gzip_bytes(raw, path.name, level=6)
        path.write_bytes(data)
        totals[0] += 1
        totals[1] += spec.events
        totals[2] += len(data)
        totals[3] += len(raw)
    return totals[0], totals[1], totals[2], totals[3]


def generate_bulk(
    out: Path, events: int, files: int, seed: int = 0, workers: int = 2
) -> dict[str, Any]:
    """Write ``files`` account-trail delivery files holding ``events`` events in total.

    Args:
        out: Folder to write ``AWSLogs/...`` under.
        events: Total number of events (at least ``files``).
        files: Number of delivery files.
        seed: Changes ids, timings and the choice of event shapes.
        workers: Processes to use; the output does not depend on it.

    Returns:
        A summary: files, events, bytes_gz, bytes_json, seconds.
    """
    started = time.perf_counter()
    plan = plan_bulk(events, files, seed)
    templates = bulk_templates(seed)
    batches = max(1, min(len(plan), workers * 16))
    jobs = [(out, seed, plan[i::batches]) for i in range(batches)]
    if workers <= 1:
        _init_worker(templates)
        results = [_write_bulk_files(job) for job in jobs]
    else:
        _make_importable_by_name()
        # fork where the platform has it: the workers then need not re-import this file, which
        # benchmarks and tests load from a path rather than as an installed module.
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else None)
        with context.Pool(workers, initializer=_init_worker, initargs=(templates,)) as pool:
            results = pool.map(_write_bulk_files, jobs, chunksize=1)
    totals = [sum(column) for column in zip(*results, strict=True)]
    return {
        "files": totals[0],
        "events": totals[1],
        "bytes_gz": totals[2],
        "bytes_json": totals[3],
        "seconds": round(time.perf_counter() - started, 2),
    }


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    modes = parser.add_subparsers(dest="mode", required=True)
    sample = modes.add_parser("sample", help="write the committed sample set")
    sample.add_argument("--out", type=Path, default=Path("sample_logs"))
    sample.add_argument("--seed", type=int, default=0)
    bulk = modes.add_parser("bulk", help="write many delivery files for benchmarks")
    bulk.add_argument("--events", type=int, required=True)
    bulk.add_argument("--files", type=int, required=True)
    bulk.add_argument("--out", type=Path, required=True)
    bulk.add_argument("--seed", type=int, default=0)
    bulk.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    if args.mode == "sample":
        summary: dict[str, Any] = generate_sample(args.out, args.seed)
    else:
        summary = generate_bulk(args.out, args.events, args.files, args.seed, args.workers)
    sys.stdout.write(orjson.dumps(summary).decode() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
