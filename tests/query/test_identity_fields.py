"""eventVersion 1.11 identity fields are columns analysts filter on, and identity_paths puts an
Identity Center user's session on the human path with the person."""

from __future__ import annotations

from tests.given import an_event, given_delivery_file
from trailwise.pipeline import api

ACCOUNT = "111122223333"
SSO_ROLE = f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Dev_0123"
STORE = "arn:aws:identitystore::111122223333:identitystore/d-9067a1b2c3"


def sso_session_call(user_id):
    identity = an_event()["userIdentity"]
    identity["arn"] = f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_Dev_0123/{user_id}"
    identity["sessionContext"]["sessionIssuer"]["arn"] = SSO_ROLE
    identity["onBehalfOf"] = {"userId": user_id, "identityStoreArn": STORE}
    identity["credentialId"] = "EXAMPLEcredential1234"
    return an_event(eventVersion="1.11", userIdentity=identity, userAgent="aws-cli/2.22.0")


def instance_call():
    identity = an_event()["userIdentity"]
    identity["inScopeOf"] = {
        "issuerType": "AWS::EC2::Instance",
        "credentialsIssuedTo": f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-0c1a23fc456b7ab89",
    }
    identity["invokedByDelegate"] = {"accountId": "444455556666"}
    return an_event(eventVersion="1.11", userIdentity=identity)


def test_the_new_identity_fields_are_columns(tmp_path):
    given_delivery_file(
        tmp_path / "logs",
        [sso_session_call("94482488-3041-7026-18f3-be45837cd0e4"), instance_call()],
    )
    lake = tmp_path / "lake"
    api.ingest([str(tmp_path / "logs")], lake)
    rows = api.run_sql(
        "select on_behalf_of_user_id, on_behalf_of_identity_store_arn, "
        "user_identity_credential_id, in_scope_of_issuer_type, in_scope_of_credentials_issued_to, "
        "invoked_by_delegate_account_id from events order by on_behalf_of_user_id nulls last",
        lake,
    ).to_pylist()
    assert rows == [
        {
            "on_behalf_of_user_id": "94482488-3041-7026-18f3-be45837cd0e4",
            "on_behalf_of_identity_store_arn": STORE,
            "user_identity_credential_id": "EXAMPLEcredential1234",
            "in_scope_of_issuer_type": None,
            "in_scope_of_credentials_issued_to": None,
            "invoked_by_delegate_account_id": None,
        },
        {
            "on_behalf_of_user_id": None,
            "on_behalf_of_identity_store_arn": None,
            "user_identity_credential_id": None,
            "in_scope_of_issuer_type": "AWS::EC2::Instance",
            "in_scope_of_credentials_issued_to": (
                f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-0c1a23fc456b7ab89"
            ),
            "invoked_by_delegate_account_id": "444455556666",
        },
    ]


def test_a_session_on_behalf_of_an_identity_center_user_is_that_persons(tmp_path):
    given_delivery_file(
        tmp_path / "logs",
        [sso_session_call("user-a"), sso_session_call("user-a"), sso_session_call("user-b")],
    )
    lake = tmp_path / "lake"
    api.ingest([str(tmp_path / "logs")], lake)
    [row] = [
        r
        for r in api.run_named("identity_paths", lake).to_pylist()
        if r["principal_arn"] == SSO_ROLE
    ]
    assert (row["path"], row["events"]) == ("human", 3)
    assert row["session_sources"] == ["identity_center:user-a", "identity_center:user-b"]
