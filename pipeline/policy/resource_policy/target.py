"""The resource a resource-based policy belongs to, from the ARN a user gives."""

from __future__ import annotations

import re
from dataclasses import dataclass

from trailwise.pipeline.errors import UsageError
from trailwise.pipeline.iam.resources import SERVICES
from trailwise.pipeline.policy.resources import secret_named_without_suffix

_ARN = re.compile(
    r"^arn:(?P<partition>aws|aws-cn|aws-us-gov|aws-iso[a-z-]*):(?P<service>[a-z0-9-]+):"
    r"(?P<region>[a-z0-9-]*):(?P<account>\d{12}|):(?P<resource>.+)$"
)
# The resource part each service's policy-holding resource has (an S3 object or a function
# version is narrowed to its bucket or function).
_RESOURCE = {
    "s3": re.compile(r"^(?P<name>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/.*)?$"),
    "kms": re.compile(r"^key/(?P<name>[A-Za-z0-9-]+)$"),
    "sqs": re.compile(r"^(?P<name>[A-Za-z0-9_-]{1,80}(?:\.fifo)?)$"),
    "sns": re.compile(r"^(?P<name>[A-Za-z0-9_-]{1,256}(?:\.fifo)?)$"),
    "lambda": re.compile(r"^function:(?P<name>[A-Za-z0-9_-]{1,140})(?::[A-Za-z0-9$_-]+)?$"),
    "secretsmanager": re.compile(r"^secret:(?P<name>[A-Za-z0-9/_+=.@-]+)$"),
    "ecr": re.compile(r"^repository/(?P<name>[a-z0-9][a-z0-9._/-]*)$"),
}
_SECRET_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")


@dataclass(frozen=True)
class Target:
    """One resource that can hold a resource-based policy.

    ``arn`` is the policy holder's ARN (a bucket, not an object; a function without its
    qualifier); ``name_arn`` is the ARN calls may name it by when that differs (a secret
    without Secrets Manager's random ``-XXXXXX`` suffix), else None.
    """

    arn: str
    partition: str
    service: str
    region: str
    account_id: str | None  # S3 ARNs name no account: known from the events or the capture
    name: str
    name_arn: str | None

    @property
    def resource_type(self) -> str:
        return SERVICES[self.service]


def parse_target(text: str) -> Target:
    """The policy-holding resource ``text`` names.

    Raises:
        UsageError: ``text`` is not the ARN of a bucket (or object), KMS key, SQS queue, SNS
            topic, Lambda function, Secrets Manager secret or ECR repository.
    """
    arn = text.strip()
    match = _ARN.match(arn)
    if not match or match.group("service") not in _RESOURCE:
        kinds = ", ".join(f"{s} {t}" for s, t in SERVICES.items())
        raise UsageError(
            f"{text!r} is not the ARN of a resource with a resource-based policy",
            hint=f"give the ARN of one of: {kinds} (for example arn:aws:s3:::BUCKET)",
        )
    partition, service = match.group("partition"), match.group("service")
    region, account = match.group("region"), match.group("account") or None
    found = _RESOURCE[service].match(match.group("resource"))
    if not found or (service == "s3") != (account is None and not region):
        raise UsageError(
            f"{arn} is not a {SERVICES[service]} ARN",
            hint="see the service's ARN format in the Service Authorization Reference",
        )
    name = found.group("name")
    if service == "s3":
        holder = f"arn:{partition}:s3:::{name}"
    elif service == "kms":
        holder = f"arn:{partition}:kms:{region}:{account}:key/{name}"
    elif service == "lambda":
        holder = f"arn:{partition}:lambda:{region}:{account}:function:{name}"
    else:
        holder = arn
    name_arn = None
    if service == "secretsmanager" and not secret_named_without_suffix(holder):
        name_arn = _SECRET_SUFFIX.sub("", holder)
    elif service == "secretsmanager":
        # Named without the suffix: the captured ARN carries it, so both are asked for.
        name_arn = holder
    return Target(holder, partition, service, region, account, name, name_arn)
