"""Who really uses a bucket, key, function or secret, its resource policy reviewed statement by
statement, and the resource policy admitting exactly the callers that need it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tests.given import REALDATA, an_event, given_delivery_file
from trailwise.pipeline import api
from trailwise.pipeline.errors import PolicyError, UsageError
from trailwise.pipeline.policy.resource_policy import render_text, suggest_resource_policy

PROD, DEV, OPS = "111122223333", "444455556666", "999988887777"
ORG = "o-a1b2c3d4e5"
BUCKET = "acme-artifacts"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
KEY_ARN = f"arn:aws:kms:us-east-1:{PROD}:key/3f2a9c1e-7b4d-4e8a-9c65-1d2e3f4a5b6c"
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{OPS}:trail/org-trail"


def role(account, name):
    return f"arn:aws:iam::{account}:role/{name}"


def session_identity(account, role_name, session="s"):
    identity = an_event()["userIdentity"]
    role_id = f"AROA{role_name.upper():0<16}"[:20]
    identity.update(
        arn=f"arn:aws:sts::{account}:assumed-role/{role_name}/{session}",
        accountId=account,
        principalId=f"{role_id}:{session}",
    )
    identity["sessionContext"]["sessionIssuer"].update(
        arn=role(account, role_name), accountId=account, userName=role_name, principalId=role_id
    )
    return identity


def object_call(name, key, identity, *, recipient, bucket_account=PROD, shared=None, **extra):
    event = an_event(
        eventSource="s3.amazonaws.com",
        eventName=name,
        eventCategory="Data",
        managementEvent=False,
        readOnly=name.startswith(("Get", "Head", "List")),
        userIdentity=identity,
        recipientAccountId=recipient,
        requestParameters={"bucketName": BUCKET, "key": key},
        resources=[
            {"type": "AWS::S3::Object", "ARN": f"{BUCKET_ARN}/{key}"},
            {"accountId": bucket_account, "type": "AWS::S3::Bucket", "ARN": BUCKET_ARN},
        ],
        **extra,
    )
    if shared:
        event["sharedEventID"] = shared
    return event


def cross_account_read(key, n):
    """One GetObject by dev's reader role on prod's bucket, as both accounts log it."""
    shared = f"5a1f0000-0000-4000-8000-{n:012d}"
    caller = object_call(
        "GetObject", key, session_identity(DEV, "reader"), recipient=DEV, shared=shared
    )
    owner_identity = {
        "type": "AWSAccount",
        "principalId": "AROAREADER0000000000:s",
        "accountId": DEV,
    }
    owner = object_call("GetObject", key, owner_identity, recipient=PROD, shared=shared)
    return caller, owner


def service_call(name, service, *, recipient=OPS, bucket=BUCKET, key=None, **extra):
    parameters = {"bucketName": bucket, **({"key": key} if key else {"acl": ""})}
    return an_event(
        eventSource="s3.amazonaws.com",
        eventName=name,
        userIdentity={"type": "AWSService", "invokedBy": service},
        sourceIPAddress=service,
        userAgent=service,
        recipientAccountId=recipient,
        requestParameters=parameters,
        resources=[
            {"accountId": recipient, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}
        ],
        **extra,
    )


def anonymous_read(key, error=None):
    extra = {"errorCode": "AccessDenied", "errorMessage": "Access Denied"} if error else {}
    return object_call(
        "GetObject",
        key,
        {"type": "AWSAccount", "principalId": "", "accountId": "ANONYMOUS_PRINCIPAL"},
        recipient=PROD,
        sourceIPAddress="203.0.113.9",
        **extra,
    )


def given_capture(tmp_path, account, policies):
    """A capture file of ``account``'s resource policies: {resource ARN: document or None}."""
    entries = []
    for arn, policy in policies.items():
        service = arn.split(":")[2]
        kind = {"s3": "bucket", "kms": "key", "secretsmanager": "secret", "lambda": "function"}[
            service
        ]
        entries.append(
            {
                "AccountId": account,
                "Region": "us-east-1",
                "Service": service,
                "ResourceType": kind,
                "ResourceArn": arn,
                "Policy": policy,
                "ErrorCode": None,
                "Details": {},
            }
        )
    path = tmp_path / f"capture-{account}.json"
    path.write_text(
        json.dumps(
            {
                "CapturedAt": "2026-11-05T00:00:00+00:00",
                "Accounts": [account],
                "ResourcePolicies": entries,
                "IdentityProviders": [],
            }
        )
    )
    return path


def given_lake(tmp_path, events_by_account, captures=(), org=None):
    for account, events in events_by_account.items():
        given_delivery_file(tmp_path / "logs", events, account=account, org=org)
    lake = tmp_path / "lake"
    api.ingest([str(tmp_path / "logs")], lake)
    for capture in captures:
        api.iam_load(capture, lake, captured_at=datetime(2026, 11, 5, tzinfo=UTC))
    return lake


def policy_of(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(principal, actions, resources, condition=None, sid=None):
    statement = {
        "Effect": "Allow",
        "Principal": principal,
        "Action": actions,
        "Resource": resources,
    }
    if condition:
        statement["Condition"] = condition
    if sid:
        statement["Sid"] = sid
    return statement


SECURE_TRANSPORT = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": [BUCKET_ARN, f"{BUCKET_ARN}/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


def findings(result, kind):
    return [f for f in result.findings if f.kind == kind]


def statement_by_sid(doc, sid):
    return next(s for s in doc["Statement"] if s.get("Sid") == sid)


# ---------------------------------------------------------------------------------------------
# Other accounts' principals


@pytest.fixture
def shared_bucket(tmp_path):
    """prod's bucket, read by dev's reader role (both copies logged), granted to all of dev."""
    dev, prod = [], []
    for n, key in enumerate(["builds/app-1.zip", "builds/app-2.zip", "builds/app-3.zip"]):
        caller, owner = cross_account_read(key, n)
        dev.append(caller)
        prod.append(owner)
    prod.append(
        object_call("PutObject", "builds/app-4.zip", session_identity(PROD, "ci"), recipient=PROD)
    )
    current = policy_of(
        allow(
            {"AWS": f"arn:aws:iam::{DEV}:root"},
            ["s3:GetObject", "s3:ListBucket"],
            [BUCKET_ARN, f"{BUCKET_ARN}/*"],
            sid="DevRead",
        ),
        allow(
            {"AWS": f"arn:aws:iam::{OPS}:root"}, "s3:GetObject", f"{BUCKET_ARN}/*", sid="OpsRead"
        ),
        SECURE_TRANSPORT,
    )
    capture = given_capture(tmp_path, PROD, {BUCKET_ARN: current})
    return given_lake(tmp_path, {DEV: dev, PROD: prod}, [capture], org=ORG)


def test_a_call_logged_by_both_accounts_is_one_call_named_by_the_callers_copy(shared_bucket):
    result = suggest_resource_policy(shared_bucket, BUCKET_ARN)
    (reader,) = [c for c in result.callers if not c.is_same_account]
    assert reader.arn == role(DEV, "reader")
    assert reader.account_id == DEV
    assert reader.calls == 3
    assert reader.used_actions == ("s3:GetObject",)


def test_the_suggestion_names_the_role_that_acted_not_its_whole_account(shared_bucket):
    doc = suggest_resource_policy(shared_bucket, BUCKET_ARN).document
    granted = [s for s in doc["Statement"] if s["Effect"] == "Allow"]
    assert len(granted) == 1
    assert granted[0]["Principal"] == {"AWS": role(DEV, "reader")}
    assert granted[0]["Action"] == "s3:GetObject"
    assert granted[0]["Resource"] == f"{BUCKET_ARN}/builds/*"


def test_principal_org_id_pins_callers_the_lake_knows_are_in_the_organization(shared_bucket):
    doc = suggest_resource_policy(shared_bucket, BUCKET_ARN).document
    granted = next(s for s in doc["Statement"] if s["Effect"] == "Allow")
    assert granted["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": ORG}}


def test_a_whole_account_where_one_role_acted_is_broader_than_its_use(shared_bucket):
    result = suggest_resource_policy(shared_bucket, BUCKET_ARN)
    dev_read = next(r for r in result.reviews if r.sid == "DevRead")
    assert dev_read.verdict == "used"
    assert dev_read.calls == 3
    assert any(
        f"admits all of account {DEV}, where only {role(DEV, 'reader')}" in b
        for b in (f.message for f in dev_read.broader)
    )
    assert any("s3:ListBucket" in b for b in (f.message for f in dev_read.broader))


def test_a_statement_no_call_used_is_unused(shared_bucket):
    result = suggest_resource_policy(shared_bucket, BUCKET_ARN)
    assert next(r for r in result.reviews if r.sid == "OpsRead").verdict == "unused"
    assert [f.subject for f in findings(result, "unused_statement")] == ["OpsRead"]


def test_deny_statements_and_secure_transport_guards_are_kept_as_they_are(shared_bucket):
    result = suggest_resource_policy(shared_bucket, BUCKET_ARN)
    assert next(r for r in result.reviews if r.sid == "DenyInsecureTransport").verdict == "deny"
    assert statement_by_sid(result.document, "DenyInsecureTransport") == SECURE_TRANSPORT


def test_same_account_principals_are_named_in_a_note_not_granted(shared_bucket):
    result = suggest_resource_policy(shared_bucket, BUCKET_ARN)
    assert any(
        role(PROD, "ci") in note and "identity policies suffice" in note for note in result.notes
    )
    principals = json.dumps([s.get("Principal") for s in result.document["Statement"]])
    assert role(PROD, "ci") not in principals


def test_the_suggestion_is_a_valid_policy(shared_bucket):
    assert suggest_resource_policy(shared_bucket, BUCKET_ARN).problems == []


def test_an_objects_arn_names_its_bucket(shared_bucket):
    result = suggest_resource_policy(shared_bucket, f"{BUCKET_ARN}/builds/app-1.zip")
    assert result.resource_arn == BUCKET_ARN
    assert sum(c.calls for c in result.callers) == 4


def test_the_window_bounds_the_calls(shared_bucket):
    result = suggest_resource_policy(shared_bucket, BUCKET_ARN, since=datetime(2027, 1, 1))
    assert result.callers == []
    assert next(r for r in result.reviews if r.sid == "DevRead").verdict == "unused"


def test_denied_calls_are_counted_but_never_granted(tmp_path):
    denied = object_call(
        "PutObject",
        "x",
        session_identity(DEV, "writer"),
        recipient=PROD,
        errorCode="AccessDenied",
        errorMessage="Access Denied",
    )
    lake = given_lake(tmp_path, {PROD: [denied]})
    result = suggest_resource_policy(lake, BUCKET_ARN)
    (writer,) = result.callers
    assert (writer.calls, writer.denied) == (0, 1)
    assert result.document is None


# ---------------------------------------------------------------------------------------------
# AWS services and the confused deputy


CLOUDTRAIL_POLICY = policy_of(
    allow(
        {"Service": "cloudtrail.amazonaws.com"},
        "s3:GetBucketAcl",
        BUCKET_ARN,
        {"StringEquals": {"aws:SourceArn": TRAIL_ARN}},
        sid="AWSCloudTrailAclCheck",
    ),
    allow(
        {"Service": "cloudtrail.amazonaws.com"},
        "s3:PutObject",
        f"{BUCKET_ARN}/AWSLogs/*",
        {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": TRAIL_ARN}},
        sid="AWSCloudTrailWrite",
    ),
)


@pytest.fixture
def trail_bucket(tmp_path):
    """The trail's bucket in the management account: CloudTrail checks its ACL (a management
    event); its writes are data events this account does not log."""
    events = [service_call("GetBucketAcl", "cloudtrail.amazonaws.com") for _ in range(3)]
    capture = given_capture(tmp_path, OPS, {BUCKET_ARN: CLOUDTRAIL_POLICY})
    return given_lake(tmp_path, {OPS: events}, [capture])


def test_a_service_acting_with_its_own_principal_is_a_caller(trail_bucket):
    (service,) = suggest_resource_policy(trail_bucket, BUCKET_ARN).callers
    assert (service.kind, service.arn, service.calls) == ("service", "cloudtrail.amazonaws.com", 3)
    assert service.used_actions == ("s3:GetBucketAcl",)


def test_a_service_keeps_the_source_conditions_of_the_statement_that_admitted_it(trail_bucket):
    doc = suggest_resource_policy(trail_bucket, BUCKET_ARN).document
    acl = next(s for s in doc["Statement"] if s.get("Action") == "s3:GetBucketAcl")
    assert acl["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert acl["Condition"] == {"StringEquals": {"aws:SourceArn": TRAIL_ARN}}


def test_a_statement_of_actions_the_lake_cannot_see_is_unknown_and_kept(trail_bucket):
    result = suggest_resource_policy(trail_bucket, BUCKET_ARN)
    write = next(r for r in result.reviews if r.sid == "AWSCloudTrailWrite")
    assert write.verdict == "unknown"
    assert (
        statement_by_sid(result.document, "AWSCloudTrailWrite") == CLOUDTRAIL_POLICY["Statement"][1]
    )
    assert findings(result, "unused_statement") == []


def test_a_logged_source_arn_becomes_the_services_condition(tmp_path):
    event = service_call("GetBucketAcl", "cloudtrail.amazonaws.com", eventVersion="1.11")
    event["userIdentity"]["inScopeOf"] = {"sourceArn": TRAIL_ARN, "sourceAccount": OPS}
    lake = given_lake(tmp_path, {OPS: [event]})
    result = suggest_resource_policy(lake, BUCKET_ARN)
    (statement,) = [s for s in result.document["Statement"] if s["Effect"] == "Allow"]
    assert statement["Condition"] == {
        "ArnLike": {"aws:SourceArn": TRAIL_ARN},
        "StringEquals": {"aws:SourceAccount": OPS},
    }
    assert findings(result, "assumed_source_account") == []


def test_without_a_logged_source_the_service_is_pinned_to_the_resources_account(tmp_path):
    lake = given_lake(tmp_path, {OPS: [service_call("GetBucketAcl", "cloudtrail.amazonaws.com")]})
    result = suggest_resource_policy(lake, BUCKET_ARN)
    (statement,) = result.document["Statement"]
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": OPS}}
    assert len(findings(result, "assumed_source_account")) == 1


def test_a_service_without_documented_deputy_conditions_is_not_granted(tmp_path):
    lake = given_lake(tmp_path, {OPS: [service_call("GetBucketAcl", "unheard-of.amazonaws.com")]})
    result = suggest_resource_policy(lake, BUCKET_ARN)
    assert result.document is None
    assert [f.subject for f in findings(result, "service_not_granted")] == [
        "unheard-of.amazonaws.com"
    ]


def test_a_service_statement_without_source_conditions_is_a_confused_deputy(tmp_path):
    current = policy_of(
        allow({"Service": "cloudtrail.amazonaws.com"}, "s3:GetBucketAcl", BUCKET_ARN, sid="Open")
    )
    capture = given_capture(tmp_path, OPS, {BUCKET_ARN: current})
    lake = given_lake(
        tmp_path, {OPS: [service_call("GetBucketAcl", "cloudtrail.amazonaws.com")]}, [capture]
    )
    result = suggest_resource_policy(lake, BUCKET_ARN)
    assert [f.subject for f in findings(result, "confused_deputy")] == ["Open"]


# ---------------------------------------------------------------------------------------------
# Anonymous callers


def test_anonymous_use_is_a_finding_and_never_granted(tmp_path):
    current = policy_of(allow("*", "s3:GetObject", f"{BUCKET_ARN}/*", sid="Public"))
    capture = given_capture(tmp_path, PROD, {BUCKET_ARN: current})
    events = [
        anonymous_read("index.html"),
        anonymous_read("index.html"),
        anonymous_read("secret", error=True),
    ]
    lake = given_lake(tmp_path, {PROD: events}, [capture])
    result = suggest_resource_policy(lake, BUCKET_ARN)
    (anonymous,) = findings(result, "anonymous_use")
    assert anonymous.severity == "high"
    assert "3 calls (2 succeeded, 1 denied" in anonymous.message
    assert [f.subject for f in findings(result, "public_statement")] == ["Public"]
    assert next(r for r in result.reviews if r.sid == "Public").verdict == "used"
    assert result.document is None


# ---------------------------------------------------------------------------------------------
# KMS keys, secrets


def kms_decrypt(identity, recipient=PROD):
    return an_event(
        eventSource="kms.amazonaws.com",
        eventName="Decrypt",
        userIdentity=identity,
        recipientAccountId=recipient,
        requestParameters={"keyId": KEY_ARN},
        resources=[{"accountId": PROD, "type": "AWS::KMS::Key", "ARN": KEY_ARN}],
    )


def test_a_key_keeps_the_statement_that_lets_identity_policies_grant_it(tmp_path):
    root = allow({"AWS": f"arn:aws:iam::{PROD}:root"}, "kms:*", "*", sid="EnableIAMUserPermissions")
    admins = allow(
        {"AWS": role(PROD, "key-admin")},
        ["kms:PutKeyPolicy", "kms:Describe*"],
        "*",
        sid="KeyAdmins",
    )
    capture = given_capture(tmp_path, PROD, {KEY_ARN: policy_of(root, admins)})
    lake = given_lake(tmp_path, {PROD: [kms_decrypt(session_identity(PROD, "app"))]}, [capture])
    result = suggest_resource_policy(lake, KEY_ARN)
    sids = [s["Sid"] for s in result.document["Statement"]]
    assert sids == ["EnableIAMUserPermissions", "KeyAdmins"]  # the admins: no lock-out
    assert next(r for r in result.reviews if r.sid == "EnableIAMUserPermissions").broader == ()


def test_a_key_without_a_captured_policy_gets_the_default_statement(tmp_path):
    lake = given_lake(tmp_path, {PROD: [kms_decrypt(session_identity(PROD, "app"))]})
    result = suggest_resource_policy(lake, KEY_ARN)
    (statement,) = result.document["Statement"]
    assert statement["Sid"] == "EnableIAMUserPermissions"
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{PROD}:root"}


def test_another_accounts_key_user_is_named_with_the_action_it_used(tmp_path):
    lake = given_lake(tmp_path, {PROD: [kms_decrypt(session_identity(DEV, "decoder"))]})
    doc = suggest_resource_policy(lake, KEY_ARN).document
    named = next(s for s in doc["Statement"] if s["Sid"] != "EnableIAMUserPermissions")
    assert named["Principal"] == {"AWS": role(DEV, "decoder")}
    assert (named["Action"], named["Resource"]) == ("kms:Decrypt", "*")


def test_a_secret_matches_the_calls_that_name_it_without_its_suffix(tmp_path):
    secret = f"arn:aws:secretsmanager:us-east-1:{PROD}:secret:prod/db"
    event = an_event(
        eventSource="secretsmanager.amazonaws.com",
        eventName="GetSecretValue",
        userIdentity=session_identity(DEV, "app"),
        recipientAccountId=PROD,
        requestParameters={"secretId": f"{secret}-AbCdEf"},
    )
    capture = given_capture(tmp_path, PROD, {f"{secret}-AbCdEf": None})
    lake = given_lake(tmp_path, {PROD: [event]}, [capture])
    for asked in (secret, f"{secret}-AbCdEf"):
        result = suggest_resource_policy(lake, asked)
        assert result.current.state == "no policy"
        assert [c.arn for c in result.callers] == [role(DEV, "app")]


# ---------------------------------------------------------------------------------------------
# Errors and the report


@pytest.mark.parametrize(
    "arn",
    [
        "acme-artifacts",
        "arn:aws:iam::111122223333:role/x",
        "arn:aws:kms:us-east-1:111122223333:alias/x",
        "arn:aws:s3:us-east-1:111122223333:bucket",
    ],
)
def test_an_arn_of_no_resource_with_a_policy_is_a_usage_error(tmp_path, arn):
    with pytest.raises(UsageError) as raised:
        suggest_resource_policy(tmp_path, arn)
    assert "\n" not in str(raised.value)


def test_the_text_report_lists_callers_review_findings_and_the_suggestion(shared_bucket):
    text = render_text(suggest_resource_policy(shared_bucket, BUCKET_ARN))
    for part in (
        f"Resource policy of {BUCKET_ARN}",
        f"{role(DEV, 'reader')} (account {DEV}): 3 calls",
        "Allow DevRead: used",
        "Deny DenyInsecureTransport: deny",
        "[warning] unused_statement",
        "Suggested policy:",
    ):
        assert part in text


def test_anonymous_reads_without_a_public_statement_come_from_an_acl(tmp_path):
    capture = given_capture(tmp_path, PROD, {BUCKET_ARN: policy_of(SECURE_TRANSPORT)})
    lake = given_lake(tmp_path, {PROD: [anonymous_read("index.html")]}, [capture])
    result = suggest_resource_policy(lake, BUCKET_ARN)
    (acl,) = findings(result, "anonymous_through_acl")
    assert acl.severity == "high"


def test_a_services_object_writes_are_granted_on_the_objects(tmp_path):
    events = [
        service_call(
            "PutObject", "cloudtrail.amazonaws.com", key=f"AWSLogs/{OPS}/CloudTrail/{n}.gz"
        )
        for n in range(2)
    ]
    lake = given_lake(tmp_path, {OPS: events})
    result = suggest_resource_policy(lake, BUCKET_ARN)
    (statement,) = result.document["Statement"]
    # Folded as identity policies fold keys: up to the first id-like folder (the account).
    assert statement["Resource"] == f"{BUCKET_ARN}/AWSLogs/*"
    assert result.problems == []


def test_every_resource_the_real_trails_name_can_be_reviewed(tmp_path):
    """The real-data fixtures (odd regions, documentation placeholders, subscription ARNs):
    each resource resource_access lists is one policy resource reviews without an error."""
    lake = tmp_path / "lake"
    api.ingest([str(REALDATA)], lake)
    listed = api.run_named("resource_access", lake, {}).to_pylist()
    assert len(listed) > 40
    for row in listed:
        result = suggest_resource_policy(lake, row["resource_arn"])
        assert result.resource_arn == row["resource_arn"]
        assert sum(c.calls + c.denied for c in result.callers) >= row["calls"]


def test_a_captured_policy_that_is_not_a_policy_is_one_error_naming_the_resource(tmp_path):
    capture = given_capture(tmp_path, PROD, {BUCKET_ARN: {"Version": "2012-10-17", "Statement": 7}})
    lake = given_lake(tmp_path, {PROD: [anonymous_read("x")]}, [capture])
    with pytest.raises(PolicyError) as raised:
        suggest_resource_policy(lake, BUCKET_ARN)
    assert str(raised.value) == (
        f"the captured policy of {BUCKET_ARN}'s Statement is not an object or a list"
    )
