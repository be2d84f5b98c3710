"""The resource a resource-based policy belongs to: ARNs parsed, a user's ARN narrowed to the
policy holder (an object to its bucket, a function version to its function)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from trailwise.pipeline.errors import UsageError

SERVICES = ("s3", "kms", "sqs", "sns", "lambda", "secretsmanager", "ecr")
# The DNS suffix of each partition's endpoints (SQS queue URLs are built on it).
PARTITION_DOMAINS = {
    "aws": "amazonaws.com",
    "aws-cn": "amazonaws.com.cn",
    "aws-us-gov": "amazonaws.com",
}
_REGION_PREFIX = {"aws-cn": "cn-", "aws-us-gov": "us-gov-"}

_ARN = re.compile(
    r"^arn:(?P<partition>[a-z-]+):(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*)"
    r":(?P<account>[0-9]*):(?P<resource>.+)\Z"
)
_REGION = re.compile(r"^[a-z]{2}(?:-gov)?-[a-z]+-[0-9]\Z")
# What each service's resource part of the ARN looks like, the name captured.
_RESOURCE = {
    # Bucket names: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
    "s3": re.compile(r"^(?P<name>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\Z"),
    "kms": re.compile(
        r"^key/(?P<name>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
        r"|mrk-[0-9a-f]{32})\Z"
    ),
    # Queue names: at most 80 characters, .fifo included (checked in target()).
    "sqs": re.compile(r"^(?P<name>[A-Za-z0-9_-]+(?:\.fifo)?)\Z"),
    "sns": re.compile(r"^(?P<name>[A-Za-z0-9_-]{1,256}(?:\.fifo)?)\Z"),
    # botocore's NamespacedFunctionName and Qualifier (lambda AddPermission).
    "lambda": re.compile(
        r"^function:(?P<name>[A-Za-z0-9_-]{1,64})"
        r"(?::(?P<qualifier>\$LATEST|[A-Za-z0-9_-]{1,128}))?\Z"
    ),
    "secretsmanager": re.compile(r"^secret:(?P<name>[A-Za-z0-9/_+=.@-]{1,512})\Z"),
    # botocore's RepositoryName (ecr SetRepositoryPolicy).
    "ecr": re.compile(
        r"^repository/(?P<name>(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*)\Z"
    ),
}
_NOUNS = ("bucket", "key", "queue", "topic", "function", "secret", "repository")
RESOURCE_NOUNS = dict(zip(SERVICES, _NOUNS, strict=True))


@dataclass(frozen=True)
class Arn:
    """An ARN split into its six fields (the resource part kept whole)."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        return ":".join(
            ("arn", self.partition, self.service, self.region, self.account, self.resource)
        )


def parse_arn(text: str) -> Arn:
    """``text`` as an :class:`Arn` of the ``aws``, ``aws-cn`` or ``aws-us-gov`` partition.

    Raises:
        UsageError: not an ARN, another partition, or a region (of the usual shape) outside
            its partition.
    """
    m = _ARN.match(text.strip())
    if not m:
        raise UsageError(
            f"{text!r} is not an ARN", hint="use arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE"
        )
    arn = Arn(**m.groupdict())
    if arn.partition not in PARTITION_DOMAINS:
        raise UsageError(
            f"{text} is in partition {arn.partition!r}",
            hint=f"trailwise knows {', '.join(PARTITION_DOMAINS)}",
        )
    # A region of the usual shape must be of the partition; another name passes as it is, as
    # the lake keeps an event's awsRegion verbatim (a resource it names must stay askable).
    if arn.region and _REGION.match(arn.region):
        prefix = _REGION_PREFIX.get(arn.partition)
        in_partition = (
            arn.region.startswith(prefix)
            if prefix
            else not any(arn.region.startswith(p) for p in _REGION_PREFIX.values())
        )
        if not in_partition:
            raise UsageError(f"{text}: {arn.region!r} is not a region of {arn.partition}")
    if arn.account and not re.fullmatch(r"[0-9]{12}", arn.account):
        raise UsageError(f"{text}: the account {arn.account!r} is not 12 digits")
    return arn


@dataclass(frozen=True)
class Target:
    """The one resource a resource policy belongs to, parsed from its ARN.

    ``name`` is the bucket, key id, queue, topic, function, secret or repository name;
    ``qualifier`` a Lambda function's version or alias, if the ARN names one.
    """

    service: str
    arn: Arn
    name: str
    qualifier: str = ""

    @property
    def text(self) -> str:
        return str(self.arn)

    @property
    def partition(self) -> str:
        return self.arn.partition

    @property
    def account_id(self) -> str | None:
        """None for S3, whose ARNs name no account (the events or the capture tell it)."""
        return self.arn.account or None

    @property
    def name_arn(self) -> str | None:
        """A secret's ARN as calls may name it, without Secrets Manager's random ``-XXXXXX``
        suffix (the name itself when the ARN has none); None for other resources."""
        if self.service != "secretsmanager":
            return None
        return _SECRET_SUFFIX.sub("", self.text)

    @property
    def queue_url(self) -> str:
        """An SQS queue's URL: its regional endpoint in its partition's domain."""
        domain = PARTITION_DOMAINS[self.arn.partition]
        return f"https://sqs.{self.arn.region}.{domain}/{self.arn.account}/{self.name}"


def target(service: str, resource_arn: str) -> Target:
    """The resource ``resource_arn`` names, checked to be one ``service`` attaches policies to.

    Raises:
        UsageError: an unknown service, an ARN of another service, or one that names no
            bucket (an object), no key (an alias), no queue, topic, function, secret or
            repository.
    """
    if service not in SERVICES:
        raise UsageError(
            f"unknown resource policy service {service!r}", hint=f"use one of {', '.join(SERVICES)}"
        )
    arn = parse_arn(resource_arn)
    noun = RESOURCE_NOUNS[service]
    if arn.service != service:
        raise UsageError(f"{resource_arn} names a {arn.service} resource, not a {service} {noun}")
    global_resource = service == "s3"
    if global_resource and (arn.region or arn.account):
        raise UsageError(f"{resource_arn}: a bucket ARN has no region or account")
    if not global_resource and not (arn.region and arn.account):
        raise UsageError(f"{resource_arn}: a {noun} ARN names its region and account")
    m = _RESOURCE[service].match(arn.resource)
    if not m or (service == "sqs" and len(m.group("name")) > 80):
        if service == "s3" and "/" in arn.resource:
            raise UsageError(f"{resource_arn} is an object: bucket policies belong to the bucket")
        if service == "kms" and arn.resource.startswith("alias/"):
            raise UsageError(
                f"{resource_arn} is an alias: key policies belong to the key",
                hint="use the key ARN (aws kms describe-key --key-id ALIAS)",
            )
        raise UsageError(f"{resource_arn} does not name a {noun}")
    qualifier = m.groupdict().get("qualifier") or ""
    return Target(service=service, arn=arn, name=m.group("name"), qualifier=qualifier)


_SECRET_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")


def parse_target(text: str) -> Target:
    """The policy-holding resource ``text`` names: an object's bucket, a function without its
    version or alias, a key, queue, topic, secret or repository itself.

    Raises:
        UsageError: ``text`` is not the ARN of a bucket (or object), KMS key, SQS queue, SNS
            topic, Lambda function, Secrets Manager secret or ECR repository.
    """
    arn = parse_arn(text)
    if arn.service not in SERVICES:
        kinds = ", ".join(f"{s} {n}" for s, n in RESOURCE_NOUNS.items())
        raise UsageError(
            f"{text.strip()!r} is not the ARN of a resource with a resource-based policy",
            hint=f"give the ARN of one of: {kinds} (for example arn:aws:s3:::BUCKET)",
        )
    holder = arn
    if arn.service == "s3" and "/" in arn.resource:
        holder = Arn(arn.partition, "s3", arn.region, arn.account, arn.resource.split("/", 1)[0])
    elif arn.service == "lambda" and arn.resource.count(":") == 2:
        holder = Arn(
            arn.partition, "lambda", arn.region, arn.account, arn.resource.rsplit(":", 1)[0]
        )
    return target(arn.service, str(holder))
