"""stale_federation: identity providers nobody signed in through in the window, with the roles
that trust them, their last sign-in and the window's failures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.given import an_event, given_delivery_file
from trailwise.pipeline import api
from trailwise.pipeline.errors import QueryError

PROD, DEV = "111122223333", "444455556666"
GITHUB = "token.actions.githubusercontent.com"
QUALIFIER = "Kq3xW0pLr8ZyTnV1bC2dE4fG5hI="
SUBJECT = "repo:acme/app:ref:refs/heads/main"
WINDOW = {"since": "2026-11-03", "until": "2026-11-05"}


def saml_provider(account: str, name: str = "okta") -> str:
    return f"arn:aws:iam::{account}:saml-provider/{name}"


def oidc_provider(account: str, url: str = GITHUB) -> str:
    return f"arn:aws:iam::{account}:oidc-provider/{url}"


def role(account: str, name: str) -> str:
    return f"arn:aws:iam::{account}:role/{name}"


def a_saml_sign_in(provider: str, role_arn: str, at: str, **overrides: Any) -> dict[str, Any]:
    """AssumeRoleWithSAML as CloudTrail logs it: the provider only in requestParameters."""
    return an_event(
        userIdentity={
            "type": "SAMLUser",
            "principalId": f"{QUALIFIER}:alice@example.com",
            "userName": "alice@example.com",
            "identityProvider": QUALIFIER,
        },
        eventTime=at,
        eventSource="sts.amazonaws.com",
        eventName="AssumeRoleWithSAML",
        requestParameters={
            "sAMLAssertionID": "_0c1d2e3f",
            "roleSessionName": "alice@example.com",
            "roleArn": role_arn,
            "principalArn": provider,
            "durationSeconds": 3600,
        },
        recipientAccountId=role_arn.split(":")[4],
        **overrides,
    )


def a_web_identity_sign_in(
    identity_provider: str, role_arn: str, at: str, **overrides: Any
) -> dict[str, Any]:
    """AssumeRoleWithWebIdentity whose userIdentity names the provider as given (its ARN, or
    the token's issuer)."""
    return an_event(
        userIdentity={
            "type": "WebIdentityUser",
            "principalId": f"{identity_provider}:sts.amazonaws.com:{SUBJECT}",
            "userName": SUBJECT,
            "identityProvider": identity_provider,
        },
        eventTime=at,
        eventSource="sts.amazonaws.com",
        eventName="AssumeRoleWithWebIdentity",
        requestParameters={"roleArn": role_arn, "roleSessionName": "GitHubActions"},
        recipientAccountId=role_arn.split(":")[4],
        **overrides,
    )


DENIED = {
    "errorCode": "AccessDenied",
    "errorMessage": "Not authorized to perform sts:AssumeRoleWithWebIdentity",
    "responseElements": None,
}


def a_provider(arn: str) -> dict[str, Any]:
    kind = "saml" if ":saml-provider/" in arn else "oidc"
    url = arn.split("oidc-provider/", 1)[1] if kind == "oidc" else None
    return {
        "Arn": arn,
        "Kind": kind,
        "Url": url,
        "Audiences": ["sts.amazonaws.com"] if kind == "oidc" else [],
        "Thumbprints": [],
        "CreatedAt": "2024-01-10T09:00:00+00:00",
        "ValidUntil": None,
        "ErrorCode": None,
    }


def a_role(arn: str, *statements: dict[str, Any]) -> dict[str, Any]:
    return {
        "Arn": arn,
        "RoleName": arn.rsplit("/", 1)[1],
        "RoleId": "AROA" + arn.rsplit("/", 1)[1].upper().replace("-", "")[:17],
        "Path": "/",
        "CreateDate": "2024-01-10T09:05:00+00:00",
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": list(statements)},
    }


def trusting(provider: str | list[str], effect: str = "Allow") -> dict[str, Any]:
    action = (
        "sts:AssumeRoleWithSAML"
        if ":saml-provider/" in str(provider)
        else ("sts:AssumeRoleWithWebIdentity")
    )
    return {"Effect": effect, "Principal": {"Federated": provider}, "Action": action}


def given_a_lake(
    tmp_path: Path,
    events: list[dict[str, Any]],
    providers: list[str],
    roles: list[dict[str, Any]] | None = None,
) -> Path:
    """The events ingested, then one capture of the providers' accounts: with the roles as its
    authorization details when given, else resources alone (no IAM snapshot of any role)."""
    given_delivery_file(tmp_path / "logs", events)
    lake = tmp_path / "lake"
    api.ingest([str(tmp_path / "logs")], lake)
    capture: dict[str, Any] = {
        "CapturedAt": "2026-11-05T08:00:00+00:00",
        "Accounts": sorted({arn.split(":")[4] for arn in providers}),
        "ResourcePolicies": [],
        "IdentityProviders": [a_provider(arn) for arn in providers],
    }
    if roles is not None:
        capture["AuthorizationDetails"] = {
            "UserDetailList": [],
            "GroupDetailList": [],
            "RoleDetailList": roles,
            "Policies": [],
        }
    path = tmp_path / "capture.json"
    path.write_text(json.dumps(capture))
    api.iam_load(path, lake)
    return lake


def stale(lake: Path, **params: str) -> dict[str, dict[str, Any]]:
    rows = api.run_named("stale_federation", lake, params).to_pylist()
    return {r["provider_arn"]: r for r in rows}


def test_a_provider_someone_signed_in_through_in_the_window_is_not_stale(tmp_path):
    okta = saml_provider(PROD)
    lake = given_a_lake(
        tmp_path,
        [a_saml_sign_in(okta, role(PROD, "admins"), "2026-11-03T09:00:00Z")],
        [okta],
        [a_role(role(PROD, "admins"), trusting(okta))],
    )
    assert stale(lake, **WINDOW) == {}


def test_a_provider_used_only_before_the_window_is_stale_with_its_last_sign_in(tmp_path):
    okta = saml_provider(PROD)
    lake = given_a_lake(
        tmp_path,
        [
            a_saml_sign_in(okta, role(PROD, "admins"), "2026-11-01T08:00:00Z"),
            a_saml_sign_in(okta, role(PROD, "admins"), "2026-11-02T17:30:00Z"),
            an_event(eventTime="2026-11-03T10:00:00Z"),  # the account is in the lake then
        ],
        [okta],
        [a_role(role(PROD, "admins"), trusting(okta))],
    )
    row = stale(lake, **WINDOW)[okta]
    assert str(row["last_used_at"]) == "2026-11-02 17:30:00"
    assert row["reason"] == "no sign-in in the window; the last one was on 2026-11-02"
    assert (row["account_id"], row["kind"], row["failed_sign_ins"]) == (PROD, "saml", 0)


def test_a_failed_sign_in_is_counted_but_does_not_make_the_provider_used(tmp_path):
    github = oidc_provider(PROD)
    lake = given_a_lake(
        tmp_path,
        [a_web_identity_sign_in(github, role(PROD, "deploy"), "2026-11-03T14:00:00Z", **DENIED)],
        [github],
        [a_role(role(PROD, "deploy"), trusting(github))],
    )
    row = stale(lake, **WINDOW)[github]
    assert row["failed_sign_ins"] == 1
    assert row["last_used_at"] is None
    assert row["reason"] == (
        "a role trusts it but nothing ever signed in through it in the lake"
        " (a failed sign-in in the window)"
    )


def test_the_roles_whose_trust_policy_lets_the_provider_in_are_listed(tmp_path):
    okta, other = saml_provider(PROD), saml_provider(PROD, "adfs")
    lake = given_a_lake(
        tmp_path,
        [an_event(eventTime="2026-11-03T10:00:00Z")],
        [okta, other],
        [
            a_role(role(PROD, "admins"), trusting(okta)),
            a_role(role(PROD, "readers"), trusting([other, okta])),  # a list of providers
            a_role(role(PROD, "fenced"), trusting(okta, effect="Deny"), trusting(other)),
            a_role(
                role(PROD, "app"),
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "ec2.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                },
            ),
        ],
    )
    rows = stale(lake, **WINDOW)
    assert rows[okta]["trusting_roles"] == [role(PROD, "admins"), role(PROD, "readers")]
    assert rows[other]["trusting_roles"] == [role(PROD, "fenced"), role(PROD, "readers")]
    assert rows[okta]["reason"] == (
        "2 roles trust it but nothing ever signed in through it in the lake"
    )


def test_a_provider_no_role_trusts_says_it_can_be_deleted(tmp_path):
    gitlab = oidc_provider(DEV, "gitlab.com")
    lake = given_a_lake(
        tmp_path,
        [an_event(eventTime="2026-11-03T10:00:00Z", recipientAccountId=DEV)],
        [gitlab],
        [
            a_role(
                role(DEV, "sandbox"),
                {"Effect": "Allow", "Principal": {"AWS": DEV}, "Action": "sts:AssumeRole"},
            )
        ],
    )
    row = stale(lake, **WINDOW)[gitlab]
    assert row["trusting_roles"] == []
    assert row["reason"].endswith("it can be deleted")


def test_without_an_iam_snapshot_the_query_runs_and_trusting_roles_are_unknown(tmp_path):
    okta = saml_provider(PROD)
    lake = given_a_lake(tmp_path, [an_event(eventTime="2026-11-03T10:00:00Z")], [okta])
    with pytest.raises(QueryError, match="iam_principals"):
        api.run_sql("select count(*) from iam_principals", lake)
    row = stale(lake, **WINDOW)[okta]
    assert row["trusting_roles"] is None
    assert "no IAM snapshot of its account says which roles trust it" in row["reason"]


def test_a_lake_without_captures_has_no_stale_provider(tmp_path):
    given_delivery_file(tmp_path / "logs", [an_event()])
    lake = tmp_path / "lake"
    api.ingest([str(tmp_path / "logs")], lake)
    assert stale(lake) == {}


def test_a_sign_in_naming_the_issuer_host_uses_the_provider_of_its_own_account_only(tmp_path):
    ours, theirs = oidc_provider(PROD), oidc_provider(DEV)
    lake = given_a_lake(
        tmp_path,
        [
            # AWS may name a web identity provider by its issuer, without the ARN
            a_web_identity_sign_in(
                f"https://{GITHUB}", role(PROD, "deploy"), "2026-11-03T12:00:00Z"
            ),
            an_event(eventTime="2026-11-03T10:00:00Z", recipientAccountId=DEV),
        ],
        [ours, theirs],
        [
            a_role(role(PROD, "deploy"), trusting(ours)),
            a_role(role(DEV, "deploy"), trusting(theirs)),
        ],
    )
    rows = stale(lake, **WINDOW)
    assert ours not in rows
    assert rows[theirs]["account_id"] == DEV
    assert rows[theirs]["trusting_roles"] == [role(DEV, "deploy")]


def test_account_id_keeps_that_accounts_providers_and_its_sign_ins_alone(tmp_path):
    prod_okta, dev_okta = saml_provider(PROD), saml_provider(DEV)
    lake = given_a_lake(
        tmp_path,
        [
            a_saml_sign_in(prod_okta, role(PROD, "admins"), "2026-11-01T08:00:00Z"),
            an_event(eventTime="2026-11-03T10:00:00Z"),
            an_event(eventTime="2026-11-03T10:00:00Z", recipientAccountId=DEV),
        ],
        [prod_okta, dev_okta],
    )
    assert set(stale(lake, **WINDOW)) == {prod_okta, dev_okta}
    only_dev = stale(lake, **WINDOW, account_id=DEV)
    assert set(only_dev) == {dev_okta}
    assert only_dev[dev_okta]["last_used_at"] is None


def test_a_provider_of_an_account_without_events_in_the_window_is_not_judged_unused(tmp_path):
    okta = saml_provider(PROD)
    lake = given_a_lake(
        tmp_path,
        [a_saml_sign_in(okta, role(PROD, "admins"), "2026-11-01T08:00:00Z")],
        [okta],
    )
    row = stale(lake, **WINDOW)[okta]
    assert row["reason"] == (
        "the lake holds no events of its account in the window: a sign-in could not be seen"
    )
    assert str(row["last_used_at"]) == "2026-11-01 08:00:00"


def test_without_a_window_only_providers_never_signed_in_through_are_stale(tmp_path):
    used, unused = saml_provider(PROD), saml_provider(PROD, "adfs")
    lake = given_a_lake(
        tmp_path,
        [a_saml_sign_in(used, role(PROD, "admins"), "2026-11-01T08:00:00Z")],
        [used, unused],
    )
    assert set(stale(lake)) == {unused}
