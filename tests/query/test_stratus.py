"""Real attacks (Stratus Red Team detonation logs) show up in the query that answers for them.

Each technique is decided here: which sensitive_actions rows it must produce (and no others),
which denials authorization_failures must show, which actions used_actions must list and which
services the attacker's long-term key must show in long_lived_keys. A technique that is not a
sensitive action says why.

Data: DataDog/stratus-red-team @ 7c9a7a5, docs/detonation-logs/*.json (Apache-2.0), read in place
from tests/fixtures/realdata/stratus-red-team/ (see its README and LICENSE.upstream).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from tests.given import REALDATA
from trailwise.pipeline import api

# One worker runs the module: its module fixture (a lake, and what is asked of it) is built once,
# not once on each xdist worker.
pytestmark = [pytest.mark.xdist_group("stratus")]

STRATUS = REALDATA / "stratus-red-team"
CONSOLE_LOGIN = "aws.initial-access.console-login-without-mfa"

EXECUTION = "runs code or commands on a resource: execution, not a change of who can do what"
READS = "reads secrets with permissions already held: access, not a change of who can do what"
DENIED = "the attempt was denied, so nothing changed (authorization_failures shows it)"


@dataclass(frozen=True)
class Technique:
    """Where one attack must appear."""

    sensitive: frozenset[tuple[str, str]] = frozenset()  # exactly these (category, action) rows
    denied: tuple[str, ...] = ()  # actions authorization_failures must show
    used: tuple[str, ...] = ()  # actions used_actions must show
    key_services: tuple[str, ...] = ()  # services long_lived_keys must show for an AKIA key
    not_sensitive_because: str = ""


def rows(*pairs: tuple[str, str]) -> frozenset[tuple[str, str]]:
    return frozenset(pairs)


TECHNIQUES: dict[str, Technique] = {
    "aws.credential-access.ec2-get-password-data": Technique(
        denied=("ec2:GetPasswordData",), not_sensitive_because=DENIED
    ),
    "aws.credential-access.ec2-steal-instance-credentials": Technique(
        used=("ssm:SendCommand",),
        key_services=("ssm.amazonaws.com",),
        # The stolen role session then calls from outside the instance; telling that apart needs
        # the instance's own network address, which no event here carries.
        not_sensitive_because=EXECUTION,
    ),
    "aws.credential-access.secretsmanager-batch-retrieve-secrets": Technique(
        used=("secretsmanager:BatchGetSecretValue",),
        key_services=("secretsmanager.amazonaws.com",),
        not_sensitive_because=READS,
    ),
    "aws.credential-access.secretsmanager-retrieve-secrets": Technique(
        used=("secretsmanager:GetSecretValue",),
        key_services=("secretsmanager.amazonaws.com",),
        not_sensitive_because=READS,
    ),
    "aws.credential-access.ssm-retrieve-securestring-parameters": Technique(
        used=("ssm:GetParameters",),
        key_services=("ssm.amazonaws.com",),
        not_sensitive_because=READS,
    ),
    "aws.defense-evasion.cloudtrail-delete": Technique(
        sensitive=rows(("logging_disabled", "cloudtrail:DeleteTrail")),
        key_services=("cloudtrail.amazonaws.com",),
    ),
    "aws.defense-evasion.cloudtrail-event-selectors": Technique(
        sensitive=rows(("logging_changed", "cloudtrail:PutEventSelectors")),
    ),
    "aws.defense-evasion.cloudtrail-stop": Technique(
        sensitive=rows(("logging_disabled", "cloudtrail:StopLogging")),
    ),
    "aws.defense-evasion.dns-delete-logs": Technique(
        sensitive=rows(("logging_disabled", "route53resolver:DeleteResolverQueryLogConfig")),
    ),
    "aws.defense-evasion.organizations-leave": Technique(
        denied=("organizations:LeaveOrganization",), not_sensitive_because=DENIED
    ),
    "aws.defense-evasion.vpc-remove-flow-logs": Technique(
        sensitive=rows(("logging_disabled", "ec2:DeleteFlowLogs")),
    ),
    "aws.discovery.ec2-download-user-data": Technique(
        denied=("ec2:DescribeInstanceAttribute",), not_sensitive_because=DENIED
    ),
    "aws.execution.ec2-launch-unusual-instances": Technique(
        denied=("ec2:RunInstances",), not_sensitive_because=DENIED
    ),
    "aws.execution.ec2-user-data": Technique(
        used=("ec2:ModifyInstanceAttribute",),
        key_services=("ec2.amazonaws.com",),
        not_sensitive_because=EXECUTION,
    ),
    "aws.execution.ssm-send-command": Technique(
        used=("ssm:SendCommand",), not_sensitive_because=EXECUTION
    ),
    "aws.execution.ssm-start-session": Technique(
        used=("ssm:StartSession",), not_sensitive_because=EXECUTION
    ),
    "aws.exfiltration.ec2-security-group-open-port-22-ingress": Technique(
        used=("ec2:AuthorizeSecurityGroupIngress",),
        not_sensitive_because=(
            "a firewall rule changes who can reach an address, not who can do what in AWS; "
            "ingress rules are routine and telling a world-open port apart is a network question"
        ),
    ),
    "aws.exfiltration.ec2-share-ami": Technique(
        sensitive=rows(("resource_shared", "ec2:ModifyImageAttribute")),
    ),
    "aws.exfiltration.ec2-share-ebs-snapshot": Technique(
        sensitive=rows(("resource_shared", "ec2:ModifySnapshotAttribute")),
    ),
    "aws.exfiltration.rds-share-snapshot": Technique(
        sensitive=rows(("resource_shared", "rds:ModifyDBSnapshotAttribute")),
    ),
    "aws.impact.bedrock-invoke-model": Technique(
        used=("bedrock:InvokeModel",),
        not_sensitive_because="invoking a model spends money with permissions already held",
    ),
    "aws.lateral-movement.ec2-instance-connect": Technique(
        used=("ec2-instance-connect:SendSSHPublicKey",),
        not_sensitive_because=(
            "pushes a 60-second SSH key into an instance: operating-system access, not IAM"
        ),
    ),
    "aws.lateral-movement.ec2-serial-console-send-ssh-public-key": Technique(
        used=(
            "ec2:EnableSerialConsoleAccess",
            "ec2-instance-connect:SendSerialConsoleSSHPublicKey",
        ),
        not_sensitive_because=(
            "serial console access is operating-system access to instances, not a change of "
            "who can do what in AWS"
        ),
    ),
    "aws.persistence.iam-backdoor-role": Technique(
        sensitive=rows(("trust_policy_change", "iam:UpdateAssumeRolePolicy")),
    ),
    "aws.persistence.iam-backdoor-user": Technique(
        sensitive=rows(("iam_credentials", "iam:CreateAccessKey")),
    ),
    "aws.persistence.iam-create-admin-user": Technique(
        sensitive=rows(
            ("iam_principal_created", "iam:CreateUser"),
            ("iam_policy_change", "iam:AttachUserPolicy"),
            ("iam_credentials", "iam:CreateAccessKey"),
        ),
    ),
    "aws.persistence.iam-create-backdoor-role": Technique(
        sensitive=rows(
            ("iam_principal_created", "iam:CreateRole"),
            ("iam_policy_change", "iam:AttachRolePolicy"),
        ),
    ),
    # Its failed DeleteLoginProfile (EntityTemporarilyUnmodifiable) changed nothing: not listed.
    "aws.persistence.iam-create-user-login-profile": Technique(
        sensitive=rows(("iam_credentials", "iam:CreateLoginProfile")),
        used=("iam:DeleteLoginProfile",),
    ),
    "aws.persistence.lambda-backdoor-function": Technique(
        sensitive=rows(("resource_policy_change", "lambda:AddPermission")),
    ),
    "aws.persistence.lambda-layer-extension": Technique(
        used=("lambda:UpdateFunctionConfiguration",),
        not_sensitive_because=(
            "adds a layer, a code change like every deploy; it passes no role (a new role would "
            "be role_passing)"
        ),
    ),
    "aws.persistence.lambda-overwrite-code": Technique(
        used=("lambda:UpdateFunctionCode",),
        not_sensitive_because="replaces a function's code, as every deploy does",
    ),
    "aws.persistence.rolesanywhere-create-trust-anchor": Technique(
        sensitive=rows(
            ("identity_provider_change", "rolesanywhere:CreateTrustAnchor"),
            ("identity_provider_change", "rolesanywhere:CreateProfile"),
        ),
    ),
    "aws.persistence.sts-federation-token": Technique(
        sensitive=rows(("iam_credentials", "sts:GetFederationToken")),
        key_services=("sts.amazonaws.com",),
    ),
    "aws.privilege-escalation.iam-update-user-login-profile": Technique(
        sensitive=rows(("iam_credentials", "iam:UpdateLoginProfile")),
    ),
}


def raw_events(technique: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = json.loads((STRATUS / f"{technique}.json").read_text())
    return events


def account_of(technique: str) -> str:
    [account] = {e["recipientAccountId"] for e in raw_events(technique)}
    return account


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """Every stratus file in one lake (one random account per file), each query asked once."""
    lake = tmp_path_factory.mktemp("stratus") / "lake"
    api.ingest([str(STRATUS)], lake)
    return {
        name: api.run_named(name, lake).to_pylist()
        for name in (
            "sensitive_actions",
            "authorization_failures",
            "used_actions",
            "long_lived_keys",
        )
    }


def in_account(rows: list[dict[str, Any]], account: str) -> list[dict[str, Any]]:
    return [r for r in rows if f":{account}:" in (r["principal_arn"] or "")]


def test_every_stratus_technique_has_a_decision():
    files = {p.stem for p in STRATUS.glob("*.json")}
    assert files == set(TECHNIQUES) | {CONSOLE_LOGIN}
    for technique, expected in TECHNIQUES.items():
        assert bool(expected.sensitive) != bool(expected.not_sensitive_because), technique


# The console sign-in without MFA is no API call: test_panther_rules.py checks it shows up in
# console_logins_without_mfa.
@pytest.mark.parametrize("technique", sorted(TECHNIQUES))
def test_each_technique_shows_up_where_it_belongs(answers, technique):
    expected = TECHNIQUES[technique]
    account = account_of(technique)

    shown = {
        (r["category"], r["action"])
        for r in answers["sensitive_actions"]
        if r["account_id"] == account
    }
    assert shown == expected.sensitive

    denied = {r["action"] for r in in_account(answers["authorization_failures"], account)}
    assert set(expected.denied) <= denied

    used = {r["action"] for r in in_account(answers["used_actions"], account)}
    assert set(expected.used) <= used

    keys = [r for r in answers["long_lived_keys"] if r["account_id"] == account]
    for service in expected.key_services:
        assert any(service in key["services"] for key in keys), service


def test_long_lived_keys_count_every_akia_call_in_the_raw_files(answers):
    signed = [
        e
        for path in STRATUS.glob("*.json")
        for e in raw_events(path.stem)
        if str((e.get("userIdentity") or {}).get("accessKeyId", "")).startswith("AKIA")
    ]
    keys = answers["long_lived_keys"]
    assert sum(k["calls"] for k in keys) == len(signed) > 200
    assert {k["access_key_id"] for k in keys} == {e["userIdentity"]["accessKeyId"] for e in signed}
    assert not any(k["is_root_key"] for k in keys)


def test_every_sensitive_stratus_row_is_a_call_that_succeeded(answers):
    by_id = {e["eventID"]: e for path in STRATUS.glob("*.json") for e in raw_events(path.stem)}
    for row in answers["sensitive_actions"]:
        event = by_id[row["event_id"]]
        assert "errorCode" not in event or event["errorCode"] is None, row
        assert row["caller_arn"] == event["userIdentity"]["arn"]
