"""Reading an account from AWS with boto3: authorization details, resource policies, providers.

:func:`fetch_capture` returns the capture file form (see ``resources``). One resource that cannot
be read (``AccessDenied``, deleted between its listing and its read) is an entry with that error
code; a listing that fails is one entry whose ARN is the pattern it would have listed
(``arn:aws:kms:eu-west-1:123456789012:key/*``). Neither stops the capture: only failing to reach
IAM's authorization details at all does, because without them there is no snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from trailwise.pipeline.errors import SourceError, UsageError
from trailwise.pipeline.iam.resources import capture_document

# Error codes that mean "this resource has no such policy or setting": recorded as null, not as
# an error. Lambda answers ResourceNotFoundException both for "no policy" and for a function
# deleted since the listing; both become "no policy".
_ABSENT = frozenset(
    {
        "NoSuchBucketPolicy",
        "NoSuchPublicAccessBlockConfiguration",
        "OwnershipControlsNotFoundError",
        "RepositoryPolicyNotFoundException",
    }
)


def fetch_authorization_details(session: Any, endpoint_url: str | None) -> dict[str, Any]:
    """``get-account-authorization-details`` of the caller's account, every page, as the CLI
    prints it (one document, dates as ISO text).

    Raises:
        SourceError: IAM cannot be reached or refuses the call.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from trailwise.pipeline.sources.s3 import error_code

    client = session.client("iam", endpoint_url=endpoint_url)
    doc: dict[str, list[Any]] = {
        "UserDetailList": [],
        "GroupDetailList": [],
        "RoleDetailList": [],
        "Policies": [],
    }
    try:
        for page in client.get_paginator("get_account_authorization_details").paginate():
            for key, items in doc.items():
                items.extend(page.get(key, []))
    except ClientError as exc:
        raise SourceError(
            f"iam:GetAccountAuthorizationDetails failed: {error_code(exc)}",
            hint="the caller needs what 'trailwise permissions load' prints",
        ) from None
    except BotoCoreError as exc:
        raise SourceError(f"cannot reach IAM: {exc}") from None
    # Round-trip through JSON: datetimes become ISO text, as in the CLI's output.
    result: dict[str, Any] = orjson.loads(orjson.dumps(doc, default=str))
    return result


def fetch_capture(config: Any, regions: Sequence[str] = ()) -> dict[str, Any]:
    """The caller's account read whole, in the capture file form.

    Args:
        config: an :class:`~trailwise.pipeline.sources.s3.S3Config` (profile, role, endpoint).
        regions: the regions whose KMS keys, queues, topics, functions, secrets and
            repositories are read; empty: the session's region. S3 buckets are listed once
            and every one is read, whatever its region (which its entry records).

    Raises:
        UsageError: no region given and the session has none.
        SourceError: IAM's authorization details cannot be read.
    """
    from trailwise.pipeline.sources.s3 import aws_session

    session = aws_session(config, "trailwise-iam-snapshot")
    chosen = sorted(set(regions)) or ([session.region_name] if session.region_name else [])
    if not chosen:
        raise UsageError(
            "no region to read resource policies in",
            hint="give --region (repeatable) or set AWS_REGION / the profile's region",
        )
    when = datetime.now(UTC)
    details = fetch_authorization_details(session, config.endpoint_url)
    reader = _Reader(session, config.endpoint_url, chosen[0])
    account = reader.account()
    entries = reader.buckets()
    for region in chosen:
        entries += reader.regional(region)
    return capture_document(details, [account], entries, reader.providers(), when)


@dataclass(frozen=True)
class _PolicyRead:
    """How one kind of resource is listed and its policy read: ``listing`` is (IAM action,
    paginated client method, result key), ``read`` (IAM action, client method, its parameters
    from the listed item and its ARN); ``arn`` takes the ARN from the item, else ``name``'s
    value is put after the region and account; ``every`` is the ARN pattern a failed listing
    stands for."""

    service: str
    resource_type: str
    every: str
    listing: tuple[str, str, str]
    read: tuple[str, str, Callable[[Any, str], dict[str, Any]]]
    policy: Callable[[dict[str, Any]], str | None]
    arn: Callable[[Any], str | None] = lambda item: None
    name: Callable[[Any], str] = lambda item: ""
    absent: frozenset[str] = frozenset()


_POLICY_READS = (
    _PolicyRead(
        "sqs",
        "queue",
        "*",
        ("sqs:ListQueues", "list_queues", "QueueUrls"),
        (
            "sqs:GetQueueAttributes",
            "get_queue_attributes",
            lambda url, arn: {"QueueUrl": url, "AttributeNames": ["Policy"]},
        ),
        lambda got: got.get("Attributes", {}).get("Policy"),
        name=lambda url: str(url).rstrip("/").rsplit("/", 1)[-1],
    ),
    _PolicyRead(
        "sns",
        "topic",
        "*",
        ("sns:ListTopics", "list_topics", "Topics"),
        ("sns:GetTopicAttributes", "get_topic_attributes", lambda topic, arn: {"TopicArn": arn}),
        lambda got: got.get("Attributes", {}).get("Policy"),
        arn=lambda topic: str(topic["TopicArn"]),
    ),
    _PolicyRead(
        "lambda",
        "function",
        "function:*",
        ("lambda:ListFunctions", "list_functions", "Functions"),
        ("lambda:GetPolicy", "get_policy", lambda function, arn: {"FunctionName": arn}),
        lambda got: got.get("Policy"),
        arn=lambda function: str(function["FunctionArn"]),
        absent=frozenset({"ResourceNotFoundException"}),
    ),
    _PolicyRead(
        "secretsmanager",
        "secret",
        "secret:*",
        ("secretsmanager:ListSecrets", "list_secrets", "SecretList"),
        (
            "secretsmanager:GetResourcePolicy",
            "get_resource_policy",
            lambda secret, arn: {"SecretId": arn},
        ),
        lambda got: got.get("ResourcePolicy"),
        arn=lambda secret: str(secret["ARN"]),
    ),
    _PolicyRead(
        "ecr",
        "repository",
        "repository/*",
        ("ecr:DescribeRepositories", "describe_repositories", "repositories"),
        (
            "ecr:GetRepositoryPolicy",
            "get_repository_policy",
            lambda repository, arn: {"repositoryName": repository["repositoryName"]},
        ),
        lambda got: got.get("policyText"),
        arn=lambda repository: str(repository["repositoryArn"]),
    ),
)


class _Reader:
    """One account's reads, with a client per (service, region)."""

    def __init__(self, session: Any, endpoint_url: str | None, home: str) -> None:
        self.session = session
        self.endpoint_url = endpoint_url
        self.home = home
        self.account_id = ""
        self.partition = "aws"
        self._clients: dict[tuple[str, str], Any] = {}

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.home)
        if key not in self._clients:
            self._clients[key] = self.session.client(
                service, region_name=key[1], endpoint_url=self.endpoint_url
            )
        return self._clients[key]

    def account(self) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            identity = self.client("sts").get_caller_identity()
        except (BotoCoreError, ClientError) as exc:
            raise SourceError(f"sts:GetCallerIdentity failed: {exc}") from None
        self.account_id = str(identity["Account"])
        # The caller's ARN names the partition (aws-cn, aws-us-gov) every built ARN is in.
        self.partition = str(identity.get("Arn", "arn:aws:")).split(":")[1] or "aws"
        return self.account_id

    def entry(
        self,
        region: str | None,
        service: str,
        resource_type: str,
        arn: str,
        policy: str | None,
        errors: dict[str, str],
        details: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        facts = dict(details or {})
        if errors:
            facts["Errors"] = errors  # every failed read by operation; ErrorCode is the first
        return {
            "AccountId": self.account_id,
            "Region": region,
            "Service": service,
            "ResourceType": resource_type,
            "ResourceArn": arn,
            "Policy": orjson.loads(policy) if policy else None,
            "ErrorCode": next(iter(errors.values()), None),
            "Details": facts,
        }

    def listing(
        self,
        out: list[dict[str, Any]],
        where: tuple[str | None, str, str, str],
        operation: str,
        call: Callable[[], Iterable[Any]],
    ) -> list[Any]:
        """Every item ``call`` lists; a listing that fails is one error entry, not an abort."""
        errors: dict[str, str] = {}
        items = _attempt(errors, operation, call)
        if errors:
            region, service, resource_type, pattern = where
            out.append(self.entry(region, service, resource_type, pattern, None, errors))
        return items or []

    def buckets(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        s3 = self.client("s3")
        where = (None, "s3", "bucket", f"arn:{self.partition}:s3:::*")
        listed = self.listing(
            out, where, "s3:ListAllMyBuckets", lambda: s3.list_buckets().get("Buckets", [])
        )
        for bucket in listed:
            name = bucket["Name"]
            errors: dict[str, str] = {}
            location = _attempt(errors, "s3:GetBucketLocation", s3.get_bucket_location, Bucket=name)
            region = None
            if location is not None:
                # us-east-1 answers null; the oldest buckets of eu-west-1 answer "EU".
                constraint = location.get("LocationConstraint") or "us-east-1"
                region = "eu-west-1" if constraint == "EU" else constraint
            client = self.client("s3", region)
            policy = _attempt(errors, "s3:GetBucketPolicy", client.get_bucket_policy, Bucket=name)
            block = _attempt(
                errors,
                "s3:GetBucketPublicAccessBlock",
                client.get_public_access_block,
                Bucket=name,
            )
            ownership = _attempt(
                errors,
                "s3:GetBucketOwnershipControls",
                client.get_bucket_ownership_controls,
                Bucket=name,
            )
            details = {
                "PublicAccessBlock": (block or {}).get("PublicAccessBlockConfiguration"),
                "OwnershipControls": (ownership or {}).get("OwnershipControls", {}).get("Rules"),
            }
            out.append(
                self.entry(
                    region,
                    "s3",
                    "bucket",
                    f"arn:{self.partition}:s3:::{name}",
                    (policy or {}).get("Policy"),
                    errors,
                    details,
                )
            )
        return out

    def regional(self, region: str) -> list[dict[str, Any]]:
        out = self.keys(region)
        for spec in _POLICY_READS:
            out += self.policies(region, spec)
        return out

    def _arn(self, region: str, service: str, rest: str) -> str:
        return f"arn:{self.partition}:{service}:{region}:{self.account_id}:{rest}"

    def keys(self, region: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        kms = self.client("kms", region)
        where = (region, "kms", "key", self._arn(region, "kms", "key/*"))
        for key in self.listing(
            out, where, "kms:ListKeys", lambda: _pages(kms, "list_keys", "Keys")
        ):
            errors: dict[str, str] = {}
            key_id = key["KeyId"]
            meta = _attempt(errors, "kms:DescribeKey", kms.describe_key, KeyId=key_id)
            policy = _attempt(
                errors,
                "kms:GetKeyPolicy",
                kms.get_key_policy,
                KeyId=key_id,
                PolicyName="default",
            )
            info = (meta or {}).get("KeyMetadata", {})
            details = {
                name: info.get(name)
                for name in ("KeyManager", "KeyState", "KeyUsage", "KeySpec", "MultiRegion")
            }
            arn = key.get("KeyArn") or self._arn(region, "kms", f"key/{key_id}")
            out.append(
                self.entry(region, "kms", "key", arn, (policy or {}).get("Policy"), errors, details)
            )
        return out

    def policies(self, region: str, spec: _PolicyRead) -> list[dict[str, Any]]:
        """Every resource of one kind in ``region`` with its policy, read as ``spec`` says."""
        out: list[dict[str, Any]] = []
        client = self.client(spec.service, region)
        where = (
            region,
            spec.service,
            spec.resource_type,
            self._arn(region, spec.service, spec.every),
        )
        action, method, key = spec.listing
        items = self.listing(out, where, action, lambda: _pages(client, method, key))
        for item in items:
            errors: dict[str, str] = {}
            arn = spec.arn(item) or self._arn(region, spec.service, spec.name(item))
            read_action, read_method, parameters = spec.read
            got = _attempt(
                errors,
                read_action,
                getattr(client, read_method),
                absent=spec.absent,
                **parameters(item, arn),
            )
            policy = spec.policy(got or {})
            out.append(self.entry(region, spec.service, spec.resource_type, arn, policy, errors))
        return out

    def providers(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        iam = self.client("iam")
        errors: dict[str, str] = {}
        saml = _attempt(errors, "iam:ListSAMLProviders", iam.list_saml_providers)
        for provider in (saml or {}).get("SAMLProviderList", []):
            created, valid_until = provider.get("CreateDate"), provider.get("ValidUntil")
            out.append(_provider(provider["Arn"], "saml", None, created, valid_until, {}))
        oidc = _attempt(
            errors, "iam:ListOpenIDConnectProviders", iam.list_open_id_connect_providers
        )
        for provider in (oidc or {}).get("OpenIDConnectProviderList", []):
            arn = provider["Arn"]
            read: dict[str, str] = {}
            got = _attempt(
                read,
                "iam:GetOpenIDConnectProvider",
                iam.get_open_id_connect_provider,
                OpenIDConnectProviderArn=arn,
            )
            out.append(_provider(arn, "oidc", got, (got or {}).get("CreateDate"), None, read))
        # A listing that failed is one entry for the providers it would have listed.
        for operation, code in errors.items():
            kind = "saml" if "SAML" in operation else "oidc"
            pattern = f"arn:{self.partition}:iam::{self.account_id}:{kind}-provider/*"
            out.append(_provider(pattern, kind, None, None, None, {operation: code}))
        return out


def _provider(
    arn: str,
    kind: str,
    got: dict[str, Any] | None,
    created: Any,
    valid_until: Any,
    errors: dict[str, str],
) -> dict[str, Any]:
    return {
        "Arn": arn,
        "Kind": kind,
        "Url": (got or {}).get("Url"),
        "Audiences": sorted((got or {}).get("ClientIDList", [])),
        "Thumbprints": sorted((got or {}).get("ThumbprintList", [])),
        "CreatedAt": created,
        "ValidUntil": valid_until,
        "ErrorCode": next(iter(errors.values()), None),
    }


def _pages(client: Any, operation: str, key: str) -> list[Any]:
    items: list[Any] = []
    for page in client.get_paginator(operation).paginate():
        items.extend(page.get(key, []))
    return items


def _attempt(
    errors: dict[str, str],
    operation: str,
    call: Callable[..., Any],
    absent: frozenset[str] = frozenset(),
    **params: Any,
) -> Any:
    """``call(**params)``, or None with ``errors[operation]`` set to its error code (unless the code
    says the thing read does not exist: then None alone, the resource simply has none)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from trailwise.pipeline.sources.s3 import error_code

    try:
        return call(**params)
    except ClientError as exc:
        code = error_code(exc)
        if code not in _ABSENT | absent:
            errors[operation] = code
        return None
    except BotoCoreError as exc:
        errors[operation] = type(exc).__name__
        return None
