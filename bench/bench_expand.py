"""Grant expansion speed: expand_all over a generated org of 1,000 roles.

    python bench/bench_expand.py [--roles 1000] [--seed 7]

The mix (deterministic for a seed): every role has its own inline policy (an explicit action
list on its own resources, sometimes a conditional statement and a Deny), and attaches some of
AdministratorAccess (``*``), a ReadOnlyAccess-like policy (``*:Get*``, ``*:List*``,
``*:Describe*``), a PowerUser-like ``NotAction`` policy, service-wide ``s3:*``/``dynamodb:*``,
and sometimes a permissions boundary. "cold" is the first run in the process (catalogue load,
pattern matching, document compilation included); "warm" the best of three more.
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

from trailwise.pipeline.iam import Snapshot, expand_all, load_authorization_details

ACCOUNT = "123456789012"
MANAGED: dict[str, list[dict[str, Any]]] = {
    "AdministratorAccess": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    "ReadOnlyLike": [
        {"Effect": "Allow", "Action": ["*:Get*", "*:List*", "*:Describe*"], "Resource": "*"}
    ],
    "PowerUserLike": [
        {
            "Effect": "Allow",
            "NotAction": ["iam:*", "organizations:*", "account:*"],
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            "Action": [
                "iam:CreateServiceLinkedRole",
                "iam:ListRoles",
                "organizations:DescribeOrganization",
            ],
            "Resource": "*",
        },
    ],
    "S3Full": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    "DynamoFull": [{"Effect": "Allow", "Action": ["dynamodb:*", "dax:*"], "Resource": "*"}],
    "Boundary": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {
            "Effect": "Deny",
            "Action": ["iam:*User*", "organizations:*", "cloudtrail:Stop*"],
            "Resource": "*",
        },
    ],
}
EXPLICIT = [
    "s3:GetObject",
    "s3:PutObject",
    "s3:ListBucket",
    "sqs:SendMessage",
    "sqs:ReceiveMessage",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "kms:Decrypt",
    "lambda:InvokeFunction",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "ssm:GetParameter",
    "secretsmanager:Get*",
    "ec2:Describe*",
    "sns:Publish",
    "states:StartExecution",
    "ecr:BatchGetImage",
]


def generate(roles: int, seed: int) -> dict[str, Any]:
    """An authorization-details document with ``roles`` roles and the shared managed policies."""
    rng = random.Random(seed)
    policies = [
        {
            "Arn": f"arn:aws:iam::{ACCOUNT}:policy/{name}",
            "PolicyName": name,
            "DefaultVersionId": "v1",
            "PolicyVersionList": [
                {
                    "VersionId": "v1",
                    "IsDefaultVersion": True,
                    "Document": {"Version": "2012-10-17", "Statement": statements},
                }
            ],
        }
        for name, statements in MANAGED.items()
    ]
    role_list = []
    for i in range(roles):
        name = f"role-{i:04d}"
        statements: list[dict[str, Any]] = [
            {
                "Effect": "Allow",
                "Action": rng.sample(EXPLICIT, rng.randint(3, 10)),
                "Resource": [f"arn:aws:s3:::bucket-{i}/*", f"arn:aws:sqs:*:{ACCOUNT}:queue-{i}"],
            }
        ]
        if rng.random() < 0.3:
            statements.append(
                {
                    "Effect": "Allow",
                    "Action": "ec2:RunInstances",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}},
                }
            )
        if rng.random() < 0.2:
            statements.append({"Effect": "Deny", "Action": "s3:Delete*", "Resource": "*"})
        pick = rng.random()
        if pick < 0.10:
            attached = ["AdministratorAccess"]
        elif pick < 0.35:
            attached = ["ReadOnlyLike"]
        elif pick < 0.50:
            attached = ["PowerUserLike"]
        elif pick < 0.75:
            attached = ["S3Full", "DynamoFull"]
        else:
            attached = []
        role: dict[str, Any] = {
            "Arn": f"arn:aws:iam::{ACCOUNT}:role/{name}",
            "RoleName": name,
            "RolePolicyList": [
                {
                    "PolicyName": f"{name}-inline",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                }
            ],
            "AttachedManagedPolicies": [
                {"PolicyName": a, "PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/{a}"}
                for a in attached
            ],
        }
        if rng.random() < 0.15:
            role["PermissionsBoundary"] = {
                "PermissionsBoundaryType": "Policy",
                "PermissionsBoundaryArn": f"arn:aws:iam::{ACCOUNT}:policy/Boundary",
            }
        role_list.append(role)
    return {"RoleDetailList": role_list, "Policies": policies}


def timed(snapshot: Snapshot) -> tuple[float, int]:
    started = time.perf_counter()
    count = sum(1 for _ in expand_all(snapshot))
    return time.perf_counter() - started, count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--roles", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    snapshot = load_authorization_details(generate(args.roles, args.seed), "bench")
    cold, grants = timed(snapshot)
    warm = min(timed(snapshot)[0] for _ in range(3))
    roles = len(snapshot.principals)
    for label, seconds in (("cold", cold), ("warm", warm)):
        print(
            f"expand_all {label}: {roles} roles, {grants:,} grants in {seconds:.2f} s"
            f" = {roles / seconds:,.0f} roles/s, {grants / seconds:,.0f} grants/s"
        )


if __name__ == "__main__":
    main()
