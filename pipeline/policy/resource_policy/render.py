"""Suggested resource-based policies as deployable text, and the rules AWS holds them to.

A resource policy (S3 bucket policy, KMS key policy, SQS queue policy, SNS topic policy, Lambda
function policy, Secrets Manager secret policy, ECR repository policy) is a policy document like
any other (see :mod:`render`); what differs per service is the resource that attaches it, which
names it takes from the resource's ARN, and the limits its service enforces.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass
from typing import Any

from trailwise.pipeline.errors import UsageError
from trailwise.pipeline.policy import document as policy_document
from trailwise.pipeline.policy.render import FORMATS, hcl_string, terraform, terraform_label
from trailwise.pipeline.policy.render import render as render_documents
from trailwise.pipeline.policy.resource_policy.target import RESOURCE_NOUNS, Target, target


def render_resource_policy(
    document: dict[str, Any], fmt: str, *, service: str, resource_arn: str, name: str
) -> str:
    """``document``, the resource policy of ``resource_arn``, as text in ``fmt``.

    Args:
        document: the policy document (Version and Statement).
        fmt: ``json`` (the document), ``terraform`` (a ``data "aws_iam_policy_document"`` block
            and the resource that attaches it; for Lambda one ``aws_lambda_permission`` per
            statement, principal and action) or ``cloudformation`` (a JSON template with the
            policy resource; for Lambda one ``AWS::Lambda::Permission`` per statement,
            principal and action).
        service: ``s3``, ``kms``, ``sqs``, ``sns``, ``lambda``, ``secretsmanager`` or ``ecr``.
        resource_arn: the bucket, key, queue, topic, function, secret or repository.
        name: the policy's name, from which Terraform labels and CloudFormation logical ids
            are derived.

    Returns:
        The text, ending in a newline.

    Raises:
        UsageError: an unknown format or service, an ARN that is not of that service's
            resource, a Lambda statement no Lambda permission can express, or CloudFormation
            for a KMS key or ECR repository (which only the resource that creates them sets).
    """
    if fmt not in FORMATS:
        raise UsageError(f"unknown policy format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
    resource = target(service, resource_arn)
    _statements(document)
    if fmt == "json":
        return render_documents([document], "json", name)
    if fmt == "terraform":
        return _terraform(document, resource, name)
    return _cloudformation(document, resource, name)


def _statements(document: Any) -> list[dict[str, Any]]:
    statements = document.get("Statement") if isinstance(document, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise UsageError("the resource policy has no statements to render")
    if not all(isinstance(s, dict) for s in statements):
        raise UsageError("the resource policy has a statement that is not a JSON object")
    return statements


# The Terraform resource that attaches a whole policy, and the attribute naming its target.
_TF_ATTACHMENT = {
    "s3": ("aws_s3_bucket_policy", "bucket"),
    "kms": ("aws_kms_key_policy", "key_id"),
    "sqs": ("aws_sqs_queue_policy", "queue_url"),
    "sns": ("aws_sns_topic_policy", "arn"),
    "secretsmanager": ("aws_secretsmanager_secret_policy", "secret_arn"),
    "ecr": ("aws_ecr_repository_policy", "repository"),
}


def _identifier(resource: Target) -> str:
    """What the attaching resource names its target by (Terraform and CloudFormation alike)."""
    if resource.service == "sqs":
        return resource.queue_url
    if resource.service in {"sns", "secretsmanager"}:
        return str(resource.arn)
    return resource.name


def _hcl_block(kind: str, label: str, attributes: list[tuple[str, str]]) -> str:
    """A ``resource`` block with its attributes aligned as ``terraform fmt`` aligns them."""
    width = max(len(key) for key, _ in attributes)
    body = "".join(f"  {key.ljust(width)} = {value}\n" for key, value in attributes)
    return f'resource "{kind}" "{label}" {{\n{body}}}\n'


def _terraform(document: dict[str, Any], resource: Target, name: str) -> str:
    label = terraform_label(name)
    if resource.service == "lambda":
        blocks = []
        for permission in lambda_permissions(document, resource):
            attributes = [
                ("statement_id", permission.statement_id),
                ("action", permission.action),
                ("function_name", resource.name),
                ("qualifier", resource.qualifier),
                ("principal", permission.principal),
                *permission.conditions(),
            ]
            blocks.append(
                _hcl_block(
                    "aws_lambda_permission",
                    terraform_label(f"{name}_{permission.statement_id}"),
                    [(key, hcl_string(value)) for key, value in attributes if value],
                )
            )
        return "\n".join(blocks)
    kind, attribute = _TF_ATTACHMENT[resource.service]
    attributes = [
        (attribute, hcl_string(_identifier(resource))),
        ("policy", f"data.aws_iam_policy_document.{label}.json"),
    ]
    if resource.service == "secretsmanager":
        # Secrets Manager then refuses a policy that would make the secret public: a
        # least-privilege suggestion never should, and an apply that fails says so.
        attributes.append(("block_public_policy", "true"))
    return terraform([document], name) + "\n" + _hcl_block(kind, label, attributes)


# CloudFormation has no resource type that sets the policy of an existing KMS key or ECR
# repository: a key policy is the KeyPolicy property of the AWS::KMS::Key that creates the key
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-kms-key.html
# #cfn-kms-key-keypolicy), a repository policy the RepositoryPolicyText of the
# AWS::ECR::Repository that creates it (https://docs.aws.amazon.com/AWSCloudFormation/latest/
# TemplateReference/aws-resource-ecr-repository.html#cfn-ecr-repository-repositorypolicytext).
# cfn-lint's resource schemas agree: AWS::KMS::{Alias,Key,ReplicaKey}, and of ECR policies only
# AWS::ECR::RegistryPolicy (the registry's, not a repository's).
_CFN_CREATOR = {
    "kms": ("AWS::KMS::Key", "KeyPolicy"),
    "ecr": ("AWS::ECR::Repository", "RepositoryPolicyText"),
}
# The CloudFormation resource that attaches a whole policy: its type, the property naming the
# target (a list for SQS and SNS, which take several) and the one holding the policy.
_CFN_ATTACHMENT = {
    "s3": ("AWS::S3::BucketPolicy", "Bucket", "PolicyDocument"),
    "sqs": ("AWS::SQS::QueuePolicy", "Queues", "PolicyDocument"),
    "sns": ("AWS::SNS::TopicPolicy", "Topics", "PolicyDocument"),
    "secretsmanager": ("AWS::SecretsManager::ResourcePolicy", "SecretId", "ResourcePolicy"),
}


def _cloudformation(document: dict[str, Any], resource: Target, name: str) -> str:
    if resource.service in _CFN_CREATOR:
        creator, prop = _CFN_CREATOR[resource.service]
        noun = RESOURCE_NOUNS[resource.service]
        raise UsageError(
            f"CloudFormation cannot set the policy of an existing {noun}: only the {creator}"
            f" that creates it can, as its {prop}",
            hint="use --format json or terraform",
        )
    base = policy_document.sid(name)
    description = f"{name}, generated by trailwise"[:1000]
    resources: dict[str, Any] = {}
    if resource.service == "lambda":
        function = f"{resource.name}:{resource.qualifier}" if resource.qualifier else resource.name
        for permission in lambda_permissions(document, resource):
            properties = {
                "Action": permission.action,
                "FunctionName": function,
                "Principal": permission.principal,
                **{_CFN_LAMBDA[key]: value for key, value in permission.conditions()},
            }
            # Ids differing only in - and _ make one logical id: number the later ones.
            logical = candidate = base + policy_document.sid(permission.statement_id)
            n = 1
            while logical in resources:
                n += 1
                logical = f"{candidate}N{n}"
            resources[logical] = {"Type": "AWS::Lambda::Permission", "Properties": properties}
    else:
        kind, target_property, policy_property = _CFN_ATTACHMENT[resource.service]
        identifier = _identifier(resource)
        attached: dict[str, Any] = {
            target_property: [identifier] if resource.service in {"sqs", "sns"} else identifier,
            policy_property: document,
        }
        if resource.service == "secretsmanager":
            attached["BlockPublicPolicy"] = True  # as block_public_policy in Terraform
        resources[base] = {"Type": kind, "Properties": attached}
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": description,
        "Resources": resources,
    }
    return json.dumps(template, indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------------------------
# Lambda: a function policy is only ever written one permission (AddPermission) at a time.

# botocore's lambda AddPermission shapes.
_LAMBDA_STATEMENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}\Z")
_LAMBDA_ACTION = re.compile(r"^(?:lambda:\*|lambda:[A-Za-z]+|\*)\Z")
# (operator, key) of the conditions AddPermission writes, lower-cased, and the permission
# attribute each one is. ArnEquals matches like ArnLike (both take wildcards).
_LAMBDA_CONDITIONS = {
    ("arnlike", "aws:sourcearn"): "source_arn",
    ("arnequals", "aws:sourcearn"): "source_arn",
    ("stringequals", "aws:sourceaccount"): "source_account",
    ("stringequals", "aws:principalorgid"): "principal_org_id",
    ("stringequals", "lambda:functionurlauthtype"): "function_url_auth_type",
}
_CFN_LAMBDA = {
    "source_arn": "SourceArn",
    "source_account": "SourceAccount",
    "principal_org_id": "PrincipalOrgID",
    "function_url_auth_type": "FunctionUrlAuthType",
}


@dataclass(frozen=True)
class LambdaPermission:
    """One permission of a function policy, as AddPermission (and so Terraform's
    ``aws_lambda_permission`` and CloudFormation's ``AWS::Lambda::Permission``) takes it."""

    statement_id: str
    action: str
    principal: str
    source_arn: str = ""
    source_account: str = ""
    principal_org_id: str = ""
    function_url_auth_type: str = ""

    def conditions(self) -> list[tuple[str, str]]:
        """The condition attributes that are set, in Terraform's names."""
        pairs = [
            ("source_arn", self.source_arn),
            ("source_account", self.source_account),
            ("principal_org_id", self.principal_org_id),
            ("function_url_auth_type", self.function_url_auth_type),
        ]
        return [(key, value) for key, value in pairs if value]


def lambda_permissions(document: dict[str, Any], resource: Target) -> list[LambdaPermission]:
    """The permissions that write ``document`` as ``resource``'s function policy: one per
    statement, principal and action, in statement order, principals and actions sorted.

    A statement that expands to several permissions numbers its Sid (``Sid-1``, ``Sid-2``);
    one without a Sid is ``StatementN`` (N counting from 1).

    Raises:
        UsageError: a statement no permission can express (a Deny; NotPrincipal, NotAction or
            NotResource; a Federated or CanonicalUser principal; an action AddPermission does
            not take; a Resource other than the function; a condition other than one
            aws:SourceArn, aws:SourceAccount, aws:PrincipalOrgID or lambda:FunctionUrlAuthType).
    """
    permissions: list[LambdaPermission] = []
    for index, statement in enumerate(_statements(document)):
        sid = statement.get("Sid")
        where = f"statement {sid!r}" if sid else f"statement {index}"
        hint = (
            "a Lambda permission allows one AWS or Service principal one action, on conditions"
            " of aws:SourceArn, aws:SourceAccount, aws:PrincipalOrgID or"
            " lambda:FunctionUrlAuthType only"
        )
        if statement.get("Effect") != "Allow":
            raise UsageError(f"{where} is not an Allow: a Lambda permission cannot deny", hint=hint)
        for key in ("NotPrincipal", "NotAction", "NotResource"):
            if key in statement:
                raise UsageError(f"{where} has {key}: a Lambda permission cannot", hint=hint)
        base = str(sid) if sid else f"Statement{index + 1}"
        if not _LAMBDA_STATEMENT_ID.match(base):
            raise UsageError(f"{where}: a Lambda statement id is letters, digits, - and _")
        principals = _lambda_principals(where, statement.get("Principal"))
        actions = sorted(set(_as_list(statement.get("Action"))))
        for action in actions:
            if not isinstance(action, str) or not _LAMBDA_ACTION.match(action):
                raise UsageError(f"{where}: a Lambda permission cannot grant {action!r}", hint=hint)
        if not actions:
            raise UsageError(f"{where} has no Action")
        for value in _as_list(statement.get("Resource")):
            if value != str(resource.arn):
                raise UsageError(
                    f"{where}: a Lambda permission applies to {resource.arn}, not {value}"
                )
        conditions = _lambda_conditions(where, statement.get("Condition") or {}, hint)
        pairs = [(p, a) for p in principals for a in actions]
        for number, (principal, action) in enumerate(pairs, start=1):
            statement_id = base if len(pairs) == 1 else f"{base}-{number}"
            permissions.append(
                LambdaPermission(
                    statement_id=statement_id, action=action, principal=principal, **conditions
                )
            )
    ids = [p.statement_id for p in permissions]
    for statement_id in ids:
        if ids.count(statement_id) > 1:
            raise UsageError(
                f"two Lambda permissions would have the statement id {statement_id}",
                hint="give the statements Sids that numbering does not make equal",
            )
    return permissions


def _lambda_principals(where: str, principal: Any) -> list[str]:
    if principal == "*":
        return ["*"]
    if not isinstance(principal, dict) or not principal:
        raise UsageError(f"{where} has no Principal a Lambda permission can take")
    found: set[str] = set()
    for kind, identifiers in principal.items():
        if kind not in {"AWS", "Service"}:
            raise UsageError(f"{where}: a Lambda permission cannot grant to a {kind} principal")
        found.update(str(i) for i in _as_list(identifiers))
    return sorted(found)


def _lambda_conditions(where: str, condition: Any, hint: str) -> dict[str, str]:
    out: dict[str, str] = {}
    if not isinstance(condition, dict):
        raise UsageError(f"{where}: its Condition is not an object")
    for operator, keys in condition.items():
        if not isinstance(keys, dict):
            raise UsageError(f"{where}: its Condition {operator} is not an object")
        for key, values in keys.items():
            attribute = _LAMBDA_CONDITIONS.get((str(operator).lower(), str(key).lower()))
            if attribute is None:
                raise UsageError(
                    f"{where}: a Lambda permission cannot express {operator} {key}", hint=hint
                )
            items = _as_list(values)
            if len(items) != 1 or attribute in out:
                raise UsageError(f"{where}: a Lambda permission takes one {key}", hint=hint)
            out[attribute] = str(items[0])
    return out


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# ---------------------------------------------------------------------------------------------
# Validation


@dataclass(frozen=True)
class SizeLimit:
    """The most a service's resource policy may hold, in bytes (UTF-8) or characters."""

    size: int
    unit: str
    policy: str


SIZE_LIMITS = {
    # "Bucket policies are limited to 20 KB in size."
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-iam-policies.html
    "s3": SizeLimit(20 * 1024, "bytes", "an S3 bucket policy"),
    # "Up to 32 kilobytes (32,768 bytes)"
    # https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html#key-policy-format
    "kms": SizeLimit(32 * 1024, "bytes", "a KMS key policy"),
    # Policy quotas, "Bytes 8,192"
    # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-policies.html
    "sqs": SizeLimit(8192, "bytes", "an SQS queue policy"),
    # Policy quotas, "Bytes 30 kb"
    # https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-language-api-permissions-reference.html
    "sns": SizeLimit(30 * 1024, "bytes", "an SNS topic policy"),
    # "Function resource-based policy 20 KB"; GetResourcePolicy's Policy is at most 20480 long.
    # https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
    "lambda": SizeLimit(20480, "bytes", "a Lambda function policy"),
    # PutResourcePolicy's ResourcePolicy: "Maximum length of 20480".
    # https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutResourcePolicy.html
    "secretsmanager": SizeLimit(20480, "characters", "a Secrets Manager secret policy"),
    # SetRepositoryPolicy's policyText: "Maximum length of 10240".
    # https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_SetRepositoryPolicy.html
    "ecr": SizeLimit(10240, "characters", "an ECR repository policy"),
}
# Counts the SQS and SNS policy quota tables above name besides bytes.
_SQS_QUOTAS = {"statements": 20, "principals": 50, "conditions": 10, "actions": 7}
_SNS_QUOTAS = {"statements": 100, "principals": 200}
# "A key policy document can include only the following characters: printable ASCII, printable
# characters in the Basic Latin and Latin-1 Supplement character set, tab, line feed, carriage
# return" (the KMS key-policy-format page above).
_KMS_CHARACTERS = re.compile(r"[^\t\n\r\x20-\x7e\xa0-\xff]")
# What a Sid may be. IAM's own rule (letters and digits) is document.validate's default; KMS
# documents that key policy Sids may hold spaces (key-policy-format above), S3's bucket policy
# examples use sentences, SNS and SQS write __default_statement_ID and __owner_statement into
# the policies they create; a Lambda Sid is the AddPermission statement id (botocore).
_ANY_SID = (re.compile(r"(?s)^.+\Z"), "a non-empty string")
_SID_RULES = {
    **dict.fromkeys(("kms", "s3", "sns", "sqs"), _ANY_SID),
    "lambda": (_LAMBDA_STATEMENT_ID, "letters, digits, - and _ (at most 100)"),
}
_PRINCIPAL_ARN = re.compile(
    r"^arn:(?P<partition>[a-z-]+):(?:iam::(?P<account>[0-9]{12}):(?:root|user/[\w+=,.@/-]+"
    r"|role/[\w+=,.@/-]+)|sts::(?P<sts_account>[0-9]{12}):(?:assumed-role/[\w+=,.@-]+/[\w+=,.@-]+"
    r"|federated-user/[\w+=,.@-]+))\Z"
)
# S3's legacy CloudFront origin access identities.
_CLOUDFRONT_OAI = re.compile(
    r"^arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity \w+\Z"
)
_SERVICE_PRINCIPAL = re.compile(r"^[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.amazonaws\.com(?:\.cn)?\Z")
_PROVIDER_ARN = re.compile(
    r"^arn:(?P<partition>[a-z-]+):iam::[0-9]{12}:(?:saml-provider/[\w+=,.@-]+|oidc-provider/\S+)\Z"
)
# The web identity providers IAM names without an ARN.
FEDERATED_NAMES = frozenset(
    (
        "cognito-identity.amazonaws.com",
        "www.amazon.com",
        "graph.facebook.com",
        "accounts.google.com",
    )
)
_CANONICAL_USER = re.compile(r"^[0-9a-f]{64}\Z")


def validate_resource_policy(
    document: dict[str, Any], *, service: str, resource_arn: str
) -> list[str]:
    """The problems of ``document`` as ``resource_arn``'s resource policy, one sentence each.

    :func:`document.validate`'s problems (with Sids as ``service`` allows them), and: every
    statement has a Principal or NotPrincipal of a valid form (``*``; AWS: an account id, an
    account root, user, role or session ARN of the resource's partition; Service: a service
    principal; Federated: a provider ARN or a known provider name); every action is one of
    ``service``'s (or ``*``); every Resource is the resource itself or inside it (an S3 bucket
    or its objects; a KMS key's ``*`` or ARN; elsewhere the ARN or a pattern matching it); and
    the policy fits ``service``'s size limit and quotas.

    The size is counted as trailwise prints the document (``--format json``, without the last
    newline), which is also about what Terraform's ``.json`` sends: none of these services
    documents that it ignores whitespace. UTF-8 bytes where the limit is in bytes.

    Raises:
        UsageError: an unknown service or an ARN that is not of its resource.
    """
    resource = target(service, resource_arn)
    pattern, rule = _SID_RULES.get(
        service, (re.compile(r"^[A-Za-z0-9]+\Z"), "letters and digits only")
    )
    problems = policy_document.validate(document, sid_pattern=pattern, sid_rule=rule)
    statements = document.get("Statement") if isinstance(document, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        return problems
    for index, statement in enumerate(statements):
        if isinstance(statement, dict):
            problems.extend(_statement_problems(index, statement, resource))
    problems.extend(_size_problems(document, resource))
    problems.extend(_quota_problems([s for s in statements if isinstance(s, dict)], service))
    return problems


def _where(index: int, statement: dict[str, Any]) -> str:
    sid = statement.get("Sid")
    return f"statement {sid!r}" if sid else f"statement {index}"


def _statement_problems(index: int, statement: dict[str, Any], resource: Target) -> list[str]:
    where = _where(index, statement)
    problems: list[str] = []
    if "Principal" in statement and "NotPrincipal" in statement:
        problems.append(f"{where}: has both Principal and NotPrincipal")
    elif "Principal" not in statement and "NotPrincipal" not in statement:
        problems.append(f"{where}: a resource policy statement needs a Principal or NotPrincipal")
    for key in ("Principal", "NotPrincipal"):
        if key in statement:
            problems.extend(f"{where}: {p}" for p in _principal_problems(statement[key], resource))
    service = resource.service
    for key in ("Action", "NotAction"):
        for action in _as_list(statement.get(key)):
            prefix = str(action).split(":", 1)[0].lower()
            if action != "*" and prefix != service:
                policy = SIZE_LIMITS[service].policy
                problems.append(
                    f"{where}: {action} is not an action of {service} ({policy} holds only"
                    f" {service} actions)"
                )
    for value in _as_list(statement.get("Resource")):
        if not _inside(str(value), resource):
            problems.append(f"{where}: {value} is not {_resource_phrase(resource)}")
    return problems


def _principal_problems(principal: Any, resource: Target) -> list[str]:
    if principal == "*":
        return []
    if not isinstance(principal, dict) or not principal:
        return [f'{principal!r} is not a principal (use "*" or an object of principal types)']
    problems: list[str] = []
    for kind, identifiers in principal.items():
        values = _as_list(identifiers)
        if not values or not all(isinstance(v, str) and v for v in values):
            problems.append(f"{kind} principals must be a string or a non-empty list of strings")
            continue
        for value in values:
            problem = _principal_problem(str(kind), value, resource)
            if problem:
                problems.append(problem)
    return problems


def _principal_problem(kind: str, value: str, resource: Target) -> str | None:
    partition = resource.arn.partition
    if kind == "AWS":
        if value == "*" or re.fullmatch(r"[0-9]{12}", value):
            return None
        if resource.service == "s3" and _CLOUDFRONT_OAI.match(value):
            return None
        m = _PRINCIPAL_ARN.match(value)
        if not m:
            return (
                f"{value} is not an AWS principal (an account id, or the ARN of an account root,"
                " user, role or session)"
            )
        if m.group("partition") != partition:
            return f"{value} is in partition {m.group('partition')}, the resource in {partition}"
        return None
    if kind == "Service":
        if _SERVICE_PRINCIPAL.match(value):
            return None
        return f"{value} is not a service principal (such as cloudtrail.amazonaws.com)"
    if kind == "Federated":
        m = _PROVIDER_ARN.match(value)
        if value in FEDERATED_NAMES or (m and m.group("partition") == partition):
            return None
        return f"{value} is not an identity provider ARN of {partition} or a known provider"
    if kind == "CanonicalUser" and resource.service == "s3":
        return None if _CANONICAL_USER.match(value) else f"{value} is not a canonical user id"
    return f"{kind} is not a principal type of {SIZE_LIMITS[resource.service].policy}"


def _inside(value: str, resource: Target) -> bool:
    """Whether a Resource value names ``resource`` itself or something inside it."""
    arn = str(resource.arn)
    if resource.service == "s3":
        return value == arn or value.startswith(arn + "/")
    if resource.service == "lambda" and not resource.qualifier and value.startswith(arn + ":"):
        return True  # a version or alias of the function, or all of them (``:*``)
    return value == arn or fnmatch.fnmatchcase(arn, value)


def _resource_phrase(resource: Target) -> str:
    arn = str(resource.arn)
    if resource.service == "s3":
        return f"the bucket {arn} or an object in it"
    if resource.service == "kms":
        return f'"*" (this key) or the key {arn}'
    return f'the {RESOURCE_NOUNS[resource.service]} {arn} or "*"'


def _size_problems(document: dict[str, Any], resource: Target) -> list[str]:
    limit = SIZE_LIMITS[resource.service]
    printed = json.dumps(document, indent=2, ensure_ascii=False)
    compact = policy_document.compact_json(document)

    def measure(text: str) -> int:
        return len(text.encode("utf-8")) if limit.unit == "bytes" else len(text)

    problems = []
    if measure(printed) > limit.size:
        tail = (
            f" ({measure(compact):,} without whitespace: send it minified)"
            if measure(compact) <= limit.size
            else ""
        )
        problems.append(
            f"the policy is {measure(printed):,} {limit.unit}, over the {limit.size:,}"
            f" {limit.unit} {limit.policy} may hold{tail}"
        )
    if resource.service == "kms" and _KMS_CHARACTERS.search(compact):
        problems.append(
            "the key policy holds characters KMS does not take (it takes printable ASCII and"
            " Latin-1, tab, line feed and carriage return)"
        )
    return problems


def _quota_problems(statements: list[dict[str, Any]], service: str) -> list[str]:
    policy = SIZE_LIMITS[service].policy

    def over(where: str, noun: str, count: int, most: int) -> list[str]:
        return (
            [f"{where} has {count} {noun}, over the {most} {policy} may hold"]
            if count > most
            else []
        )

    def principals(statement: dict[str, Any]) -> int:
        return sum(
            len(_as_list(v))
            for key in ("Principal", "NotPrincipal")
            if (p := statement.get(key)) is not None
            for v in (p.values() if isinstance(p, dict) else [p])
        )

    def actions(statement: dict[str, Any]) -> int:
        return len(_as_list(statement.get("Action"))) + len(_as_list(statement.get("NotAction")))

    where = [_where(i, s) for i, s in enumerate(statements)]
    if service == "sqs":
        conditions = sum(
            len(keys)
            for s in statements
            for keys in (s.get("Condition") or {}).values()
            if isinstance(keys, dict)
        )
        q = _SQS_QUOTAS
        problems = over("the policy", "statements", len(statements), q["statements"])
        problems += over(
            "the policy", "principals", sum(map(principals, statements)), q["principals"]
        )
        problems += over("the policy", "conditions", conditions, q["conditions"])
        for w, s in zip(where, statements, strict=True):
            problems += over(w, "actions", actions(s), q["actions"])
        return problems
    if service == "sns":
        problems = over("the policy", "statements", len(statements), _SNS_QUOTAS["statements"])
        for w, s in zip(where, statements, strict=True):
            problems += over(w, "principals", principals(s), _SNS_QUOTAS["principals"])
            if "NotResource" not in s and len(_as_list(s.get("Resource"))) != 1:
                problems.append(f"{w}: a statement of {policy} names one Resource, the topic")
        return problems
    return []
