"""Root activity and console sign-ins: what root did, how it got in, who signed in without MFA."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.given import an_event, given_delivery_file
from trailwise.pipeline import api

PROD, DEV, MGMT = "111122223333", "444455556666", "999988887777"
ROOT_SESSION_KEY = "ASIAROOTSESSION00001"


def root_identity(account: str = PROD, **extra: Any) -> dict[str, Any]:
    return {
        "type": "Root",
        "principalId": account,
        "arn": f"arn:aws:iam::{account}:root",
        "accountId": account,
        **extra,
    }


def a_root_call(account: str = PROD, **overrides: Any) -> dict[str, Any]:
    """An API call by root; ``key`` sets the access key, ``session`` the sessionContext."""
    key = overrides.pop("key", None)
    session = overrides.pop("session", None)
    identity = root_identity(account, **({"accessKeyId": key} if key else {}))
    if session is not None:
        identity["sessionContext"] = session
    return an_event(**{"userIdentity": identity, "recipientAccountId": account, **overrides})


def a_console_login(
    identity: dict[str, Any], result: str = "Success", **overrides: Any
) -> dict[str, Any]:
    """A ConsoleLogin by ``identity``; ``additional`` replaces additionalEventData."""
    additional = overrides.pop(
        "additional",
        {
            "LoginTo": "https://console.aws.amazon.com/console/home",
            "MobileVersion": "No",
            "MFAUsed": "No",
        },
    )
    fields: dict[str, Any] = {
        "userIdentity": identity,
        "eventSource": "signin.amazonaws.com",
        "eventName": "ConsoleLogin",
        "eventType": "AwsConsoleSignIn",
        "readOnly": False,
        "userAgent": "Mozilla/5.0",
        "responseElements": {"ConsoleLogin": result},
        "additionalEventData": additional,
        "recipientAccountId": identity.get("accountId", PROD),
    }
    event = an_event(**{**fields, **overrides})
    if result == "Failure":
        event["errorMessage"] = "Failed authentication"
    return event


def a_user(name: str, account: str = DEV) -> dict[str, Any]:
    return {
        "type": "IAMUser",
        "principalId": f"AIDA{name.upper()}",
        "arn": f"arn:aws:iam::{account}:user/{name}",
        "accountId": account,
        "userName": name,
    }


def a_role_session(
    role: str, session: str, account: str = PROD, issuer_path: str = "/", mfa: bool = False
) -> dict[str, Any]:
    return {
        "type": "AssumedRole",
        "principalId": f"AROA{role.upper()[:12]}:{session}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
        "accountId": account,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": f"AROA{role.upper()[:12]}",
                "arn": f"arn:aws:iam::{account}:role{issuer_path}{role}",
                "accountId": account,
                "userName": role,
            },
            "attributes": {
                "creationDate": "2026-11-02T08:59:00Z",
                "mfaAuthenticated": "true" if mfa else "false",
            },
        },
    }


def an_assume_role(
    caller: dict[str, Any], role: str, session: str, account: str = PROD, **params: Any
) -> dict[str, Any]:
    return an_event(
        userIdentity=caller,
        eventSource="sts.amazonaws.com",
        eventName="AssumeRole",
        eventTime="2026-11-02T09:00:00Z",
        readOnly=True,
        recipientAccountId=account,
        requestParameters={
            "roleArn": f"arn:aws:iam::{account}:role/{role}",
            "roleSessionName": session,
            **params,
        },
        responseElements={
            "credentials": {
                "accessKeyId": "ASIAASSUMEDROLE00001",
                "expiration": "Nov 2, 2026, 10:00:00 AM",
            },
            "assumedRoleUser": {
                "assumedRoleId": f"AROA{role.upper()[:12]}:{session}",
                "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
            },
        },
    )


def lake_of(tmp_path: Path, events_by_account: dict[str, list[dict[str, Any]]]) -> Path:
    for account, events in events_by_account.items():
        given_delivery_file(tmp_path / "logs", events, account=account)
    lake = tmp_path / "lake"
    api.ingest([str(tmp_path / "logs")], lake)
    return lake


def rows(lake: Path, query: str, **params: Any) -> list[dict[str, Any]]:
    return api.run_named(query, lake, params).to_pylist()


def count(lake: Path, sql: str) -> int:
    [row] = api.run_sql(f"select count(*) as n from events where {sql}", lake).to_pylist()
    return int(row["n"])


# --- root activity on sample_logs -------------------------------------------------------------


def test_the_dev_root_console_session_and_the_failed_prod_root_sign_in_are_root_activity(
    sample_lake,
):
    kinds = [
        (r["account_id"], r["root_session_kind"], r["event_name"])
        for r in rows(sample_lake, "root_activity")
    ]
    assert kinds == [
        (PROD, "login_failure", "ConsoleLogin"),
        (DEV, "console_login", "ConsoleLogin"),
        (DEV, "console", "ListBuckets"),
        (DEV, "console", "CreateBucket"),
        (DEV, "console", "PutBucketPublicAccessBlock"),
        (DEV, "console", "GetAccountSummary"),
    ]


def test_a_failed_root_sign_in_has_a_message_but_no_error_code_and_is_not_a_success(sample_lake):
    [failure] = [
        r for r in rows(sample_lake, "root_activity") if r["root_session_kind"] == "login_failure"
    ]
    assert (failure["is_success"], failure["error_code"], failure["source_ip"]) == (
        False,
        None,
        "185.220.101.47",
    )
    assert failure["reason"] == "failed root sign-in: Failed authentication"


def test_root_signing_in_without_mfa_says_so(sample_lake):
    [login] = [
        r for r in rows(sample_lake, "root_activity") if r["root_session_kind"] == "console_login"
    ]
    assert (login["is_console_login"], login["mfa_used"]) == (True, False)
    assert login["reason"] == "root signed in to the console without MFA"


def test_aws_acting_on_its_own_is_never_root_activity_even_with_service_events(sample_lake):
    names = {
        r["event_name"] for r in rows(sample_lake, "root_activity", include_service_events=True)
    }
    assert not names & {"RotateKey", "RunInstances"}


def test_root_activity_reconciles_with_the_root_events_of_the_lake(sample_lake):
    activity = rows(sample_lake, "root_activity", include_service_events=True)
    assert len(activity) == count(sample_lake, "user_identity_type = 'Root'") == 6
    assert len({(r["event_id"], r["logged_in_account_id"]) for r in activity}) == len(activity)


def test_the_window_bounds_root_activity(sample_lake):
    activity = rows(sample_lake, "root_activity", since="2026-11-04", until="2026-11-04T07:43:00")
    assert [r["event_name"] for r in activity] == ["ConsoleLogin", "ListBuckets"]


def test_root_summary_counts_sign_ins_and_calls_per_account(sample_lake):
    summary = {r["account_id"]: r for r in rows(sample_lake, "root_summary")}
    dev, prod = summary[DEV], summary[PROD]
    assert (dev["console_logins"], dev["console_logins_without_mfa"], dev["api_calls"]) == (1, 1, 4)
    assert (prod["failed_logins"], prod["console_logins"], prod["api_calls"]) == (1, 0, 0)
    assert str(dev["last_activity_at"]) == "2026-11-04 07:44:20"
    assert str(dev["last_console_login_at"]) == "2026-11-04 07:41:26"
    assert list(summary) == [DEV, PROD]  # latest activity first


def test_root_summary_adds_up_to_the_rows_of_root_activity(sample_lake):
    activity = rows(sample_lake, "root_activity")
    summary = rows(sample_lake, "root_summary")
    assert sum(r["events"] for r in summary) == len(activity)
    for r in summary:
        assert (
            r["events"]
            == r["console_logins"] + r["failed_logins"] + r["api_calls"] + r["assume_root_requests"]
        )
        assert r["console_logins"] >= r["console_logins_with_mfa"] + r["console_logins_without_mfa"]


# --- centralised root access (sts:AssumeRoot) -------------------------------------------------


def assume_root(**overrides: Any) -> dict[str, Any]:
    """The management account's admin asking for PROD's root, as the IAM user guide shows it."""
    caller = a_role_session("OrgAdmin", "alice", account=MGMT)
    caller["sessionContext"]["assumedRoot"] = "true"
    fields: dict[str, Any] = {
        "userIdentity": caller,
        "eventSource": "sts.amazonaws.com",
        "eventName": "AssumeRoot",
        "eventTime": "2026-11-02T09:58:00Z",
        "readOnly": True,
        "recipientAccountId": MGMT,
        "requestParameters": {
            "targetPrincipal": PROD,
            "taskPolicyArn": {"arn": "arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy"},
        },
        "responseElements": {
            "credentials": {
                "accessKeyId": ROOT_SESSION_KEY,
                "sessionToken": "token",
                "expiration": "Nov 2, 2026, 10:13:00 AM",
            }
        },
    }
    return an_event(**{**fields, **overrides})


def privileged_session_call(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "key": ROOT_SESSION_KEY,
        "session": {
            "attributes": {"creationDate": "2026-11-02T09:58:00Z", "mfaAuthenticated": "false"}
        },
        "eventSource": "s3.amazonaws.com",
        "eventName": "DeleteBucketPolicy",
        "eventTime": "2026-11-02T10:00:00Z",
        "readOnly": False,
        "requestParameters": {"bucketName": "acme-prod-locked", "policy": ""},
    }
    return a_root_call(PROD, **{**fields, **overrides})


def test_an_assume_root_call_and_the_calls_of_its_session_are_root_activity_of_the_member(tmp_path):
    lake = lake_of(tmp_path, {MGMT: [assume_root()], PROD: [privileged_session_call()]})
    activity = rows(lake, "root_activity")
    assert [
        (r["account_id"], r["logged_in_account_id"], r["root_session_kind"]) for r in activity
    ] == [
        (PROD, MGMT, "assume_root"),
        (PROD, PROD, "assumed_root"),
    ]
    opened, used = activity
    assert opened["access_key_id"] == used["access_key_id"] == ROOT_SESSION_KEY
    assert (
        opened["caller_arn"]
        == used["caller_arn"]
        == f"arn:aws:sts::{MGMT}:assumed-role/OrgAdmin/alice"
    )
    assert used["task_policy_arn"] == "arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy"
    assert used["reason"] == (
        f"privileged root session opened by arn:aws:sts::{MGMT}:assumed-role/OrgAdmin/alice with "
        "sts:AssumeRoot (task policy arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy)"
    )


def test_a_privileged_session_is_linked_to_its_opening_call_made_before_the_window(tmp_path):
    lake = lake_of(tmp_path, {MGMT: [assume_root()], PROD: [privileged_session_call()]})
    [used] = rows(lake, "root_activity", since="2026-11-02T09:59:00")
    assert (used["root_session_kind"], used["caller_arn"]) == (
        "assumed_root",
        f"arn:aws:sts::{MGMT}:assumed-role/OrgAdmin/alice",
    )


def test_a_privileged_session_marked_assumed_root_is_recognised_without_its_opening_call(tmp_path):
    session = {
        "attributes": {"creationDate": "2026-11-02T09:58:00Z", "mfaAuthenticated": "false"},
        "assumedRoot": "true",
    }
    lake = lake_of(
        tmp_path,
        {
            PROD: [
                privileged_session_call(),
                a_root_call(key="ASIAOTHERSESSION0001", session=session),
            ]
        },
    )
    kinds = {
        (r["access_key_id"], r["root_session_kind"], r["caller_arn"])
        for r in rows(lake, "root_activity")
    }
    assert ("ASIAOTHERSESSION0001", "assumed_root", None) in kinds
    # Without its AssumeRoot call and without the mark, a temporary root key says only that.
    assert (ROOT_SESSION_KEY, "temporary_credentials", f"arn:aws:iam::{PROD}:root") in kinds


def test_a_refused_assume_root_is_still_reported_with_the_refusal(tmp_path):
    refused = assume_root(
        errorCode="AccessDenied", errorMessage="not authorized", responseElements=None
    )
    lake = lake_of(tmp_path, {MGMT: [refused]})
    [row] = rows(lake, "root_activity")
    assert (row["root_session_kind"], row["is_success"], row["account_id"]) == (
        "assume_root",
        False,
        PROD,
    )
    assert row["reason"].endswith("and was refused: AccessDenied")


def test_root_summary_counts_privileged_sessions_requested_and_used(tmp_path):
    lake = lake_of(
        tmp_path,
        {
            MGMT: [assume_root()],
            PROD: [privileged_session_call(), privileged_session_call(eventName="GetBucketPolicy")],
        },
    )
    [prod] = rows(lake, "root_summary")
    assert (
        prod["account_id"],
        prod["assume_root_requests"],
        prod["assumed_root_calls"],
        prod["events"],
    ) == (
        PROD,
        1,
        2,
        3,
    )


# --- how root got in: access keys, service events ---------------------------------------------


def test_root_access_key_use_is_counted_and_named_per_account(tmp_path):
    lake = lake_of(
        tmp_path,
        {
            DEV: [
                a_root_call(DEV, key="AKIAROOTKEY000000001", userAgent="aws-cli/2.15.0"),
                a_root_call(
                    DEV,
                    key="AKIAROOTKEY000000001",
                    eventName="ListUsers",
                    eventSource="iam.amazonaws.com",
                ),
                a_root_call(
                    DEV, key="AKIAROOTKEY000000001", errorCode="AccessDenied", errorMessage="denied"
                ),
            ]
        },
    )
    assert {r["root_session_kind"] for r in rows(lake, "root_activity")} == {"access_key"}
    [dev] = rows(lake, "root_summary")
    assert (dev["access_key_calls"], dev["access_keys_used"], dev["failed_api_calls"]) == (
        3,
        ["AKIAROOTKEY000000001"],
        1,
    )


def service_and_console_events() -> list[dict[str, Any]]:
    on_behalf = a_root_call(
        eventSource="iam.amazonaws.com",
        eventName="CreateServiceLinkedRole",
        sourceIPAddress="autoscaling.amazonaws.com",
        userAgent="autoscaling.amazonaws.com",
        userIdentity=root_identity(PROD, invokedBy="autoscaling.amazonaws.com"),
    )
    service_event = a_root_call(
        eventType="AwsServiceEvent", eventName="SharedSnapshotVolumeCreated"
    )
    # The console creating root's own access key logs signin.amazonaws.com as invokedBy.
    own_key = a_root_call(
        eventSource="iam.amazonaws.com",
        eventName="CreateAccessKey",
        userAgent="signin.amazonaws.com",
        userIdentity=root_identity(PROD, invokedBy="signin.amazonaws.com"),
    )
    return [on_behalf, service_event, own_key]


def test_service_events_and_calls_on_roots_behalf_are_left_out_unless_asked_for(tmp_path):
    lake = lake_of(tmp_path, {PROD: service_and_console_events()})
    default = rows(lake, "root_activity")
    assert [(r["event_name"], r["root_session_kind"]) for r in default] == [
        ("CreateAccessKey", "console")
    ]
    everything = rows(lake, "root_activity", include_service_events=True)
    assert {(r["event_name"], r["is_service_event"]) for r in everything} == {
        ("CreateServiceLinkedRole", True),
        ("SharedSnapshotVolumeCreated", True),
        ("CreateAccessKey", False),
    }
    [summary] = rows(lake, "root_summary", include_service_events=True)
    assert (summary["service_events"], summary["api_calls"], summary["events"]) == (2, 3, 3)


# --- console sign-ins and MFA -----------------------------------------------------------------


def test_console_logins_has_one_row_per_console_login_event(sample_lake):
    logins = rows(sample_lake, "console_logins")
    assert len(logins) == count(sample_lake, "event_name = 'ConsoleLogin'") == 3
    assert [(r["user_name"], r["is_success"], r["mfa_status"]) for r in logins] == [
        ("root", False, "not_used"),
        ("dev.bob", True, "used"),
        ("root", True, "not_used"),
    ]


def test_only_the_dev_root_signed_in_without_mfa_in_the_sample(sample_lake):
    [root] = rows(sample_lake, "console_logins_without_mfa")
    assert (root["account_id"], root["user_name"], root["sign_ins"]) == (DEV, "root", 1)
    assert root["reason"] == "root password sign-in without MFA"


def sso_login() -> dict[str, Any]:
    identity = a_role_session(
        "AWSReservedSSO_AdministratorAccess_0123456789abcdef",
        "alice@example.com",
        issuer_path="/aws-reserved/sso.amazonaws.com/",
    )
    # What Identity Center sign-ins look like: MFAUsed "No", the session not MFA-authenticated.
    return a_console_login(identity, additional={"MobileVersion": "No", "MFAUsed": "No"})


def saml_login() -> dict[str, Any]:
    identity = a_role_session("okta-admins", "bob@example.com")
    return a_console_login(
        identity,
        additional={
            "LoginTo": "https://console.aws.amazon.com/console/home",
            "MobileVersion": "No",
            "MFAUsed": "No",
            "SamlProviderArn": f"arn:aws:iam::{PROD}:saml-provider/Okta",
        },
    )


def test_identity_center_and_saml_sign_ins_are_not_without_mfa(tmp_path):
    lake = lake_of(tmp_path, {PROD: [sso_login(), saml_login()]})
    logins = {r["user_name"]: r for r in rows(lake, "console_logins")}
    assert (
        logins["alice@example.com"]["mfa_used"],
        logins["alice@example.com"]["mfa_enforced_by"],
    ) == (
        False,
        "identity_center",
    )
    assert logins["bob@example.com"]["mfa_enforced_by"] == "saml_provider"
    assert {r["mfa_status"] for r in logins.values()} == {"elsewhere"}
    assert "IAM Identity Center" in logins["alice@example.com"]["reason"]
    assert rows(lake, "console_logins_without_mfa") == []


def test_an_iam_user_signing_in_without_mfa_is_reported_once_per_user_with_every_sign_in(tmp_path):
    carol = a_user("carol")
    lake = lake_of(
        tmp_path,
        {
            DEV: [
                a_console_login(carol, sourceIPAddress="198.51.100.1"),
                a_console_login(
                    carol, sourceIPAddress="198.51.100.2", eventTime="2026-11-02T18:00:00Z"
                ),
                a_console_login(carol, result="Failure", eventTime="2026-11-02T19:00:00Z"),
                a_console_login(
                    a_user("dave"),
                    additional={"MFAUsed": "YES", "MFAIdentifier": f"arn:aws:iam::{DEV}:mfa/dave"},
                ),
            ]
        },
    )
    [carol_row] = rows(lake, "console_logins_without_mfa")
    assert (carol_row["user_name"], carol_row["sign_ins"], carol_row["source_ips"]) == (
        "carol",
        2,
        ["198.51.100.1", "198.51.100.2"],
    )
    assert carol_row["reason"] == "password sign-in without MFA"
    failed = [r for r in rows(lake, "console_logins") if not r["is_success"]]
    assert [(r["user_name"], r["failure_reason"], r["is_without_mfa"]) for r in failed] == [
        ("carol", "Failed authentication", False)
    ]


def test_a_role_session_is_judged_by_the_assume_role_that_issued_it(tmp_path):
    erin = a_user("erin", account=PROD)
    without_mfa = an_assume_role(erin, "admin", "erin-console")
    with_mfa = an_assume_role(
        erin, "admin", "erin-mfa", serialNumber=f"arn:aws:iam::{PROD}:mfa/erin", tokenCode="123456"
    )
    lake = lake_of(
        tmp_path,
        {
            PROD: [
                without_mfa,
                with_mfa,
                a_console_login(a_role_session("admin", "erin-console")),
                a_console_login(a_role_session("admin", "erin-mfa")),
                a_console_login(a_role_session("admin", "from-somewhere")),
            ]
        },
    )
    logins = {r["user_name"]: r for r in rows(lake, "console_logins")}
    assert (logins["erin-console"]["mfa_status"], logins["erin-console"]["issued_by_arn"]) == (
        "not_used",
        f"arn:aws:iam::{PROD}:user/erin",
    )
    assert (logins["erin-mfa"]["mfa_status"], logins["erin-mfa"]["mfa_enforced_by"]) == (
        "elsewhere",
        "mfa_session",
    )
    assert logins["from-somewhere"]["mfa_status"] == "unknown"
    assert "not in the lake" in logins["from-somewhere"]["reason"]
    [reported] = rows(lake, "console_logins_without_mfa")
    assert reported["user_name"] == "erin-console"
    assert reported["reason"] == (
        f"role session obtained by arn:aws:iam::{PROD}:user/erin with sts:AssumeRole without MFA"
    )


def test_a_session_created_with_mfa_is_not_without_mfa_though_the_sign_in_says_no(tmp_path):
    lake = lake_of(tmp_path, {PROD: [a_console_login(a_role_session("admin", "frank", mfa=True))]})
    [login] = rows(lake, "console_logins")
    assert (login["mfa_used"], login["mfa_status"], login["mfa_enforced_by"]) == (
        False,
        "elsewhere",
        "mfa_session",
    )


def test_a_role_session_obtained_by_an_identity_center_session_is_not_without_mfa(tmp_path):
    sso = a_role_session(
        "AWSReservedSSO_AdministratorAccess_0123456789abcdef",
        "alice@example.com",
        issuer_path="/aws-reserved/sso.amazonaws.com/",
    )
    lake = lake_of(
        tmp_path,
        {
            PROD: [
                an_assume_role(sso, "break-glass", "alice"),
                a_console_login(a_role_session("break-glass", "alice")),
            ]
        },
    )
    [login] = rows(lake, "console_logins")
    assert (login["mfa_status"], login["mfa_enforced_by"], login["issued_by_call"]) == (
        "elsewhere",
        "identity_center",
        "AssumeRole",
    )
    assert login["reason"].startswith(
        f"role session obtained by arn:aws:sts::{PROD}:assumed-role/"
        "AWSReservedSSO_AdministratorAccess_0123456789abcdef/alice@example.com, an IAM Identity"
    )
    assert rows(lake, "console_logins_without_mfa") == []


def test_a_federated_session_from_get_federation_token_is_without_mfa(tmp_path):
    broker = a_user("broker", account=PROD)
    federated = {
        "type": "FederatedUser",
        "principalId": f"{PROD}:grace",
        "arn": f"arn:aws:sts::{PROD}:federated-user/grace",
        "accountId": PROD,
        "sessionContext": {
            "sessionIssuer": {
                "type": "IAMUser",
                "principalId": "AIDABROKER",
                "arn": f"arn:aws:iam::{PROD}:user/broker",
                "accountId": PROD,
                "userName": "broker",
            },
            "attributes": {"creationDate": "2026-11-02T09:00:00Z", "mfaAuthenticated": "false"},
        },
    }
    token = an_event(
        userIdentity=broker,
        eventSource="sts.amazonaws.com",
        eventName="GetFederationToken",
        eventTime="2026-11-02T09:00:00Z",
        requestParameters={"name": "grace"},
        responseElements={
            "credentials": {"accessKeyId": "ASIAFEDERATED0000001"},
            "federatedUser": {
                "federatedUserId": f"{PROD}:grace",
                "arn": f"arn:aws:sts::{PROD}:federated-user/grace",
            },
        },
    )
    lake = lake_of(tmp_path, {PROD: [token, a_console_login(federated)]})
    [reported] = rows(lake, "console_logins_without_mfa")
    assert (reported["identity_type"], reported["user_name"]) == ("FederatedUser", "grace")
    assert reported["reason"] == (
        f"federated session obtained by arn:aws:iam::{PROD}:user/broker"
        " with sts:GetFederationToken, which cannot carry MFA"
    )
