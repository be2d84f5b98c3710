"""Who acts through which path: identity_paths, shared_roles and cross_account_access."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.given import REALDATA, an_event, given_delivery_file
from trailwise.pipeline import api

# One worker runs the module: its module fixture (a lake, and what is asked of it) is built once,
# not once on each xdist worker.
pytestmark = [pytest.mark.xdist_group("identity-paths")]

PROD = "111122223333"
DEV = "444455556666"
STRANGER = "210987654321"
PATHS = {
    "human",
    "deployer",
    "workload",
    "aws_service",
    "other_account",
    "anonymous",
    "unclassified",
}
GITHUB = f"arn:aws:iam::{PROD}:oidc-provider/token.actions.githubusercontent.com"


def role(name: str, account: str = PROD) -> str:
    return f"arn:aws:iam::{account}:role/{name}"


def credentials(role_arn: str, session: str, key: str) -> dict[str, Any]:
    account, name = role_arn.split(":")[4], role_arn.rsplit("/", 1)[1]
    return {
        "credentials": {"accessKeyId": key, "expiration": "Nov 2, 2026, 11:00:00 PM"},
        "assumedRoleUser": {
            "assumedRoleId": f"AROA{name.upper()[:12]}:{session}",
            "arn": f"arn:aws:sts::{account}:assumed-role/{name}/{session}",
        },
    }


def an_assume_role_by_service(
    service: str, role_arn: str, session: str, key: str, at: str
) -> dict[str, Any]:
    return an_event(
        eventTime=at,
        eventSource="sts.amazonaws.com",
        eventName="AssumeRole",
        userIdentity={"type": "AWSService", "invokedBy": service},
        sourceIPAddress=service,
        userAgent=service,
        requestParameters={"roleArn": role_arn, "roleSessionName": session},
        responseElements=credentials(role_arn, session, key),
    )


def an_assume_role_with_web_identity(
    subject: str, role_arn: str, key: str, at: str
) -> dict[str, Any]:
    return an_event(
        eventTime=at,
        eventSource="sts.amazonaws.com",
        eventName="AssumeRoleWithWebIdentity",
        userIdentity={
            "type": "WebIdentityUser",
            "principalId": f"{GITHUB}:sts.amazonaws.com:{subject}",
            "userName": subject,
            "identityProvider": GITHUB,
        },
        userAgent="aws-sdk-js/3.654.0",
        requestParameters={"roleArn": role_arn, "roleSessionName": "GitHubActions"},
        responseElements=credentials(role_arn, "GitHubActions", key),
    )


def an_assume_role_with_saml(person: str, role_arn: str, key: str, at: str) -> dict[str, Any]:
    # AssumeRoleWithSAML has no roleSessionName parameter: the name comes from the assertion.
    return an_event(
        eventTime=at,
        eventSource="sts.amazonaws.com",
        eventName="AssumeRoleWithSAML",
        userIdentity={
            "type": "SAMLUser",
            "principalId": f"corp-idp:{person}",
            "userName": person,
            "identityProvider": f"arn:aws:iam::{PROD}:saml-provider/corp-idp",
        },
        requestParameters={
            "roleArn": role_arn,
            "principalArn": f"arn:aws:iam::{PROD}:saml-provider/corp-idp",
        },
        responseElements=credentials(role_arn, person, key),
    )


def a_call_as(role_arn: str, session: str, key: str, at: str, **overrides: Any) -> dict[str, Any]:
    account, name = role_arn.split(":")[4], role_arn.rsplit("/", 1)[1]
    role_id = f"AROA{name.upper()[:12]}"
    return an_event(
        eventTime=at,
        recipientAccountId=overrides.pop("recipientAccountId", account),
        userIdentity={
            "type": "AssumedRole",
            "principalId": f"{role_id}:{session}",
            "arn": f"arn:aws:sts::{account}:assumed-role/{name}/{session}",
            "accountId": account,
            "accessKeyId": key,
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": role_id,
                    "arn": role_arn,
                    "accountId": account,
                    "userName": name,
                },
                "attributes": {"creationDate": at, "mfaAuthenticated": "false"},
            },
        },
        **overrides,
    )


SHARED_APP = role("shared-app")
ORDERS = role("orders-lambda")
POOLED = role("pooled-compute")
FLEET = role("fleet-instance")
LATE = role("late-worker")
NAMED_ONLY = role("named-only")


def scenario_events() -> list[dict[str, Any]]:
    """Small, deliberate cases: a shared role, a Lambda role behind two functions, one role
    behind two services, an instance role on two instances, a session created before the
    window, sessions whose creators are not in the lake, and a stranger's calls."""
    return [
        # shared-app: EC2, a person through SAML, and two repositories' pipelines.
        an_assume_role_by_service(
            "ec2.amazonaws.com",
            SHARED_APP,
            "i-0123456789abcdef0",
            "ASIASHAREDEC2",
            "2026-11-02T08:00:00Z",
        ),
        a_call_as(SHARED_APP, "i-0123456789abcdef0", "ASIASHAREDEC2", "2026-11-02T08:01:00Z"),
        an_assume_role_with_saml("carol", SHARED_APP, "ASIASHAREDSAML", "2026-11-02T09:00:00Z"),
        a_call_as(SHARED_APP, "carol", "ASIASHAREDSAML", "2026-11-02T09:01:00Z"),
        an_assume_role_with_web_identity(
            "repo:acme/web:ref:refs/heads/main", SHARED_APP, "ASIASHAREDWEB", "2026-11-02T10:00:00Z"
        ),
        a_call_as(SHARED_APP, "GitHubActions", "ASIASHAREDWEB", "2026-11-02T10:01:00Z"),
        an_assume_role_with_web_identity(
            "repo:acme/billing:ref:refs/heads/main",
            SHARED_APP,
            "ASIASHAREDBILL",
            "2026-11-02T11:00:00Z",
        ),
        a_call_as(SHARED_APP, "GitHubActions", "ASIASHAREDBILL", "2026-11-02T11:01:00Z"),
        # orders-lambda: one execution role behind two functions.
        an_assume_role_by_service(
            "lambda.amazonaws.com", ORDERS, "awslambda_1", "ASIAORDERSONE", "2026-11-02T12:00:00Z"
        ),
        a_call_as(ORDERS, "orders-processor", "ASIAORDERSONE", "2026-11-02T12:00:01Z"),
        an_assume_role_by_service(
            "lambda.amazonaws.com", ORDERS, "awslambda_2", "ASIAORDERSTWO", "2026-11-02T12:05:00Z"
        ),
        a_call_as(ORDERS, "orders-notifier", "ASIAORDERSTWO", "2026-11-02T12:05:01Z"),
        # pooled-compute: the same role for EC2 and Lambda.
        an_assume_role_by_service(
            "ec2.amazonaws.com",
            POOLED,
            "i-0fedcba987654321f",
            "ASIAPOOLEDEC2",
            "2026-11-02T13:00:00Z",
        ),
        a_call_as(POOLED, "i-0fedcba987654321f", "ASIAPOOLEDEC2", "2026-11-02T13:00:30Z"),
        an_assume_role_by_service(
            "lambda.amazonaws.com", POOLED, "awslambda_3", "ASIAPOOLEDLAM", "2026-11-02T13:05:00Z"
        ),
        a_call_as(POOLED, "pooled-fn", "ASIAPOOLEDLAM", "2026-11-02T13:05:01Z"),
        # fleet-instance: one app on two instances is one workload.
        an_assume_role_by_service(
            "ec2.amazonaws.com",
            FLEET,
            "i-0aaaaaaaaaaaaaaa1",
            "ASIAFLEETONE",
            "2026-11-02T14:00:00Z",
        ),
        a_call_as(FLEET, "i-0aaaaaaaaaaaaaaa1", "ASIAFLEETONE", "2026-11-02T14:00:30Z"),
        an_assume_role_by_service(
            "ec2.amazonaws.com",
            FLEET,
            "i-0bbbbbbbbbbbbbbb2",
            "ASIAFLEETTWO",
            "2026-11-02T14:01:00Z",
        ),
        a_call_as(FLEET, "i-0bbbbbbbbbbbbbbb2", "ASIAFLEETTWO", "2026-11-02T14:01:30Z"),
        # late-worker: created before midnight, used after it.
        an_assume_role_by_service(
            "ecs-tasks.amazonaws.com", LATE, "worker", "ASIALATE", "2026-11-02T23:50:00Z"
        ),
        a_call_as(LATE, "worker", "ASIALATE", "2026-11-03T00:10:00Z"),
        # named-only: no Assume* event in the lake; the session names are all there is.
        a_call_as(NAMED_ONLY, "i-0ccccccccccccccc3", "ASIANAMEDEC2", "2026-11-03T01:00:00Z"),
        a_call_as(
            NAMED_ONLY, "botocore-session-1762131600", "ASIANAMEDSDK", "2026-11-03T01:05:00Z"
        ),
        # A deploy tool on an instance role: the user agent says what the call is for.
        a_call_as(
            FLEET,
            "i-0aaaaaaaaaaaaaaa1",
            "ASIAFLEETONE",
            "2026-11-02T14:02:00Z",
            userAgent="APN/1.0 HashiCorp/1.0 Terraform/1.9.2 (+https://www.terraform.io)",
        ),
        # A stranger's role reads a bucket here and is denied once; only its account is logged
        # for one more call.
        a_call_as(
            role("partner-reader", STRANGER),
            "sync",
            "ASIASTRANGER",
            "2026-11-03T02:00:00Z",
            recipientAccountId=PROD,
            eventSource="s3.amazonaws.com",
            eventName="GetObject",
        ),
        a_call_as(
            role("partner-reader", STRANGER),
            "sync",
            "ASIASTRANGER",
            "2026-11-03T02:01:00Z",
            recipientAccountId=PROD,
            eventSource="s3.amazonaws.com",
            eventName="GetObject",
            errorCode="AccessDenied",
            errorMessage="Access Denied",
        ),
        an_event(
            eventTime="2026-11-03T02:02:00Z",
            userIdentity={"type": "AWSAccount", "principalId": "AIDAUNSEEN", "accountId": STRANGER},
            eventSource="s3.amazonaws.com",
            eventName="GetObject",
        ),
    ]


@pytest.fixture(scope="module")
def scenario_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("paths")
    given_delivery_file(root / "logs", scenario_events())
    api.ingest([str(root / "logs")], root / "lake")
    return root / "lake"


def rows_of(query: str, lake: Path, **params: str) -> list[dict[str, Any]]:
    return api.run_named(query, lake, params).to_pylist()


def by_principal(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        assert row["principal_arn"] not in out, f"{row['principal_arn']} is on two paths"
        out[row["principal_arn"]] = row
    return out


def count_events(lake: Path, where: str) -> int:
    [row] = api.run_sql(f"select count(*) as n from events where {where}", lake).to_pylist()
    return int(row["n"])


# identity_paths


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({}, "true"),
        (
            {"since": "2026-11-03", "until": "2026-11-04"},
            "event_time >= '2026-11-03' and event_time < '2026-11-04'",
        ),
        ({"account_id": DEV}, f"recipient_account_id = '{DEV}'"),
    ],
)
def test_every_event_of_the_window_is_on_exactly_one_path(sample_lake, params, where):
    rows = rows_of("identity_paths", sample_lake, **params)
    assert sum(r["events"] for r in rows) == count_events(sample_lake, where) > 0
    keys = [(r["account_id"], r["principal_arn"], r["path"]) for r in rows]
    assert len(keys) == len(set(keys))
    assert {r["path"] for r in rows} <= PATHS
    assert all(r["reasons"] for r in rows)


def test_each_sample_principal_is_on_the_path_its_scenario_describes(sample_lake):
    paths = {
        (r["account_id"], r["principal_arn"]): r["path"]
        for r in rows_of("identity_paths", sample_lake)
    }
    sso = f"arn:aws:iam::{PROD}:role/aws-reserved/sso.amazonaws.com/"
    assert {
        (PROD, role("app-role")): "workload",
        (PROD, role("service-role/orders-processor-role")): "workload",
        (PROD, role("ecsTaskExecutionRole")): "workload",
        (PROD, role("github-actions-deploy")): "deployer",
        (PROD, GITHUB): "deployer",
        (PROD, sso + "AWSReservedSSO_AdministratorAccess_0123456789abcdef"): "human",
        (PROD, sso + "AWSReservedSSO_ReadOnly_fedcba9876543210"): "human",
        (
            PROD,
            role("aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"),
        ): "aws_service",
        (PROD, "ec2.amazonaws.com"): "aws_service",
        (PROD, f"arn:aws:iam::{PROD}:user/service-accounts/reporting-svc"): "unclassified",
        (PROD, f"arn:aws:iam::{PROD}:root"): "human",
        (DEV, role("ci-dev-deploy", DEV)): "other_account",
        (DEV, f"arn:aws:iam::{PROD}:root"): "other_account",
        (DEV, role("dev-sandbox-role", DEV)): "human",
        (DEV, f"arn:aws:iam::{DEV}:user/dev.bob"): "human",
    }.items() <= paths.items()


def test_role_sessions_are_traced_to_the_assume_event_that_created_them(sample_lake):
    rows = by_principal(rows_of("identity_paths", sample_lake, account_id=PROD))
    app = rows[role("app-role")]
    assert app["session_sources"] == ["service:ec2.amazonaws.com"]
    assert app["reasons"] == ["session created by ec2.amazonaws.com (EC2 instance profile)"]
    assert app["session_name_families"] == ["i-*"]
    assert app["sessions"] == 14
    ci = rows[role("github-actions-deploy")]
    assert ci["session_sources"] == ["oidc:repo:acme/app:ref:refs/heads/main"]
    assert ci["reasons"] == [
        f"session created by web identity from CI provider {GITHUB}",
    ]
    lambda_role = rows[role("service-role/orders-processor-role")]
    # Lambda assumes as awslambda_*, the function then calls under its own name: the access
    # key links the two.
    assert lambda_role["session_sources"] == ["service:lambda.amazonaws.com"]
    assert lambda_role["session_name_families"] == ["orders-processor"]
    alice = rows[
        f"arn:aws:iam::{PROD}:role/aws-reserved/sso.amazonaws.com/"
        "AWSReservedSSO_AdministratorAccess_0123456789abcdef"
    ]
    # Console federation hands out other keys than AssumeRoleWithSAML: linked by role and name.
    assert alice["session_sources"] == ["saml:alice@example.com"]
    assert alice["user_agents"] == ["AWS Internal", "Mozilla/5.0"]


def test_a_role_assumed_from_another_account_names_the_caller(sample_lake):
    rows = by_principal(rows_of("identity_paths", sample_lake, account_id=DEV))
    ci_dev = rows[role("ci-dev-deploy", DEV)]
    assert ci_dev["source_accounts"] == [PROD]
    assert ci_dev["session_sources"] == [f"principal:{role('github-actions-deploy')}"]
    assert ci_dev["reasons"] == [
        f"session created by AssumeRole from account {PROD} "
        f"by principal:{role('github-actions-deploy')}"
    ]
    sandbox = rows[role("dev-sandbox-role", DEV)]
    assert sandbox["reasons"] == [
        f"session created by arn:aws:iam::{DEV}:user/dev.bob (IAM user who signs in to the console)"
    ]


def test_a_long_lived_key_with_no_other_evidence_stays_unclassified_with_why(sample_lake):
    rows = by_principal(rows_of("identity_paths", sample_lake, account_id=PROD))
    reporting = rows[f"arn:aws:iam::{PROD}:user/service-accounts/reporting-svc"]
    assert reporting["reasons"] == [
        "long-lived access key of an IAM user who does not sign in to the console"
    ]
    assert (reporting["events"], reporting["sessions"]) == (13, 1)


def test_a_session_created_before_the_window_still_finds_its_creator(scenario_lake):
    [late] = [
        r
        for r in rows_of("identity_paths", scenario_lake, since="2026-11-03")
        if r["principal_arn"] == LATE
    ]
    assert (late["path"], late["events"]) == ("workload", 1)
    assert late["session_sources"] == ["service:ecs-tasks.amazonaws.com"]


def test_without_a_creator_the_session_name_decides_or_the_row_says_why_not(scenario_lake):
    rows = [r for r in rows_of("identity_paths", scenario_lake) if r["principal_arn"] == NAMED_ONLY]
    assert {r["path"]: (r["session_name_families"], r["reasons"]) for r in rows} == {
        "workload": (["i-*"], ["session named after an EC2 instance"]),
        "unclassified": (
            ["botocore-session-*"],
            ["role session botocore-session-* whose Assume* event is not in the lake"],
        ),
    }


def test_a_deploy_tools_user_agent_outranks_the_sessions_creator(scenario_lake):
    rows = {
        r["path"]: r
        for r in rows_of("identity_paths", scenario_lake)
        if r["principal_arn"] == FLEET
    }
    assert set(rows) == {"workload", "deployer"}
    assert rows["deployer"]["reasons"] == ["user agent of a deploy tool (terraform)"]
    assert rows["deployer"]["user_agents"] == ["Terraform/1.9.2"]
    assert rows["workload"]["events"] == 2


def test_a_role_session_is_linked_to_a_real_assume_role_by_its_access_key(tmp_path):
    """stratus-red-team's detonation: an IAM user assumes a role, the session is denied
    GetPasswordData 30 times; the calls carry only the role session's own name and key."""
    source = REALDATA / "stratus-red-team" / "aws.credential-access.ec2-get-password-data.json"
    api.ingest([str(source)], tmp_path / "lake")
    rows = by_principal(rows_of("identity_paths", tmp_path / "lake"))
    user = "arn:aws:iam::457448411975:user/christophe"
    attacker_role = rows[role("stratus-red-team-ec2-get-password-data-role", "457448411975")]
    assert attacker_role["events"] == 30
    assert attacker_role["sessions"] == 1
    assert attacker_role["session_sources"] == [f"principal:{user}"]
    assert attacker_role["session_name_families"] == ["aws-go-sdk-*"]
    assert attacker_role["path"] == "unclassified"
    assert attacker_role["reasons"] == [
        f"session created by principal:{user}, which does not tell what uses it"
    ]
    assert rows[user]["path"] == "unclassified"


# shared_roles


def test_a_role_assumed_by_ec2_a_person_and_two_pipelines_is_shared(scenario_lake):
    shared = {r["role_arn"]: r for r in rows_of("shared_roles", scenario_lake)}[SHARED_APP]
    assert shared["shared_by"] == ["paths", "web_identity_subjects"]
    assert shared["paths"] == ["deployer", "human", "workload"]
    assert shared["events_by_path"] == "deployer 2, human 1, workload 1"
    assert shared["services"] == ["ec2.amazonaws.com"]
    assert shared["web_identity_subjects"] == [
        "repo:acme/billing:ref:refs/heads/main",
        "repo:acme/web:ref:refs/heads/main",
    ]
    assert shared["other_sources"] == ["saml:carol"]
    assert shared["reason"] == (
        "used through 3 paths: deployer, human, workload; "
        "assumed by 2 web identity subjects: "
        "repo:acme/billing:ref:refs/heads/main, repo:acme/web:ref:refs/heads/main"
    )


def test_one_lambda_role_behind_two_functions_is_shared_by_session_name_families(scenario_lake):
    shared = {r["role_arn"]: r for r in rows_of("shared_roles", scenario_lake)}[ORDERS]
    assert shared["shared_by"] == ["session_name_families"]
    assert shared["session_name_families"] == ["orders-notifier", "orders-processor"]
    assert shared["reason"] == (
        "2 workload session-name families: orders-notifier, orders-processor"
    )


def test_a_role_behind_two_services_is_shared(scenario_lake):
    shared = {r["role_arn"]: r for r in rows_of("shared_roles", scenario_lake)}[POOLED]
    assert "services" in shared["shared_by"]
    assert shared["services"] == ["ec2.amazonaws.com", "lambda.amazonaws.com"]


def test_one_app_on_several_instances_and_single_purpose_roles_are_not_shared(scenario_lake):
    shared = {r["role_arn"] for r in rows_of("shared_roles", scenario_lake)}
    assert LATE not in shared
    # fleet-instance has a terraform call besides its instances: shared by paths, not families.
    fleet = {r["role_arn"]: r for r in rows_of("shared_roles", scenario_lake)}[FLEET]
    assert fleet["shared_by"] == ["paths"]


def test_the_sample_roles_each_serve_one_path(sample_lake):
    assert rows_of("shared_roles", sample_lake) == []


# cross_account_access

# Unauthenticated callers (accountId ANONYMOUS_PRINCIPAL) belong to no account: they cross no
# boundary (anonymous_access answers for them).
CROSSING = (
    "(user_identity_account_id <> recipient_account_id "
    "and user_identity_account_id <> 'ANONYMOUS_PRINCIPAL') "
    "or (event_name = 'AssumeRole' "
    "and split_part(request_parameters ->> 'roleArn', ':', 5) <> user_identity_account_id)"
)


def test_cross_account_calls_add_up_to_the_events_that_cross_an_account_boundary(
    sample_lake, scenario_lake
):
    for lake in (sample_lake, scenario_lake):
        rows = rows_of("cross_account_access", lake)
        assert sum(r["calls"] for r in rows) == count_events(lake, CROSSING) > 0


def test_an_assume_role_into_this_account_names_the_external_principal(sample_lake):
    [inbound] = rows_of("cross_account_access", sample_lake, account_id=DEV)
    assert inbound["direction"] == "inbound"
    assert inbound["external_account_id"] == PROD
    assert inbound["caller_arn"] == role("github-actions-deploy")
    assert inbound["caller_evidence"] == [
        "the caller account's copy of the call (same sharedEventID)"
    ]
    assert inbound["role_arn"] == role("ci-dev-deploy", DEV)
    assert inbound["session_names"] == ["GitHubActions-dev"]
    assert (inbound["calls"], inbound["denied"], inbound["session_events"]) == (1, 0, 2)
    assert inbound["is_external_account_in_lake"] is True
    assert inbound["reason"] == (
        f"AssumeRole into {role('ci-dev-deploy', DEV)} by a caller of account {PROD}"
    )


def test_the_callers_side_of_a_cross_account_assume_role_is_outbound(sample_lake):
    [outbound] = [
        r
        for r in rows_of("cross_account_access", sample_lake, account_id=PROD)
        if r["direction"] == "outbound"
    ]
    assert (outbound["direction"], outbound["external_account_id"]) == ("outbound", DEV)
    assert outbound["caller_arn"] == role("github-actions-deploy")
    assert outbound["session_events"] == 2


def test_a_strangers_calls_are_inbound_with_denials_counted(scenario_lake):
    rows = [
        r for r in rows_of("cross_account_access", scenario_lake) if r["direction"] == "inbound"
    ]
    assert {
        (r["caller_arn"], r["event_name"], r["calls"], r["denied"], tuple(r["caller_evidence"]))
        for r in rows
    } == {
        (role("partner-reader", STRANGER), "GetObject", 2, 1, ("the event's userIdentity",)),
        (
            f"arn:aws:iam::{STRANGER}:root",
            "GetObject",
            1,
            0,
            ("only the caller's account is logged",),
        ),
    }
    assert all(r["is_external_account_in_lake"] is False for r in rows)
    assert all(r["session_events"] is None for r in rows)


def test_a_real_cross_account_assume_role_names_the_user_of_the_other_account(tmp_path):
    """The IAM user guide's example: JohnDoe of 777788889999 assumes EC2-dev in 111122223333."""
    api.ingest([str(REALDATA / "awsdocs-iam")], tmp_path / "lake")
    rows = rows_of("cross_account_access", tmp_path / "lake", account_id=PROD)
    assert {(r["direction"], r["caller_arn"], r["role_arn"]) for r in rows} == {
        ("inbound", "arn:aws:iam::777788889999:user/JohnDoe", role("EC2-dev")),
    }
