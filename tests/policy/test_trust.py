"""Who really assumes a role, the trust policy that admits exactly them, and what the current one
allows beyond that."""

from __future__ import annotations

import json
import warnings
from datetime import UTC, datetime

import pytest

from tests.given import REALDATA, SAMPLE_LOGS, an_event, given_delivery_file
from trailwise.pipeline import api
from trailwise.pipeline.errors import UsageError
from trailwise.pipeline.policy.document import validate
from trailwise.pipeline.policy.trust import render_text, suggest_trust

PROD, DEV, OPS = "111122223333", "444455556666", "999988887777"
GITHUB = f"arn:aws:iam::{PROD}:oidc-provider/token.actions.githubusercontent.com"
MAIN = "repo:acme/app:ref:refs/heads/main"
TARGET = f"arn:aws:iam::{PROD}:role/target"


def role(account, name):
    return f"arn:aws:iam::{account}:role/{name}"


def statements(doc):
    return doc["Statement"]


def findings(suggestion, kind):
    return [f for f in suggestion.findings if f.kind == kind]


def parliament_findings(doc):
    """What parliament says about a trust policy, less what it cannot judge in one: trust
    policies have no Resource, and parliament 1.6.4 knows no OIDC provider ARNs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from parliament import analyze_policy_string

        found = analyze_policy_string(json.dumps(doc)).findings
    return [
        (f.issue, f.detail)
        for f in found
        if not (f.issue == "MALFORMED" and "neither Resource nor NotResource" in str(f.detail))
        and not (f.issue == "UNKNOWN_FEDERATION_SOURCE" and ":oidc-provider/" in str(f.detail))
    ]


# ---------------------------------------------------------------------------------------------
# Given-helpers: snapshots with trust policies, assumption events


def given_snapshot(tmp_path, account, trusts, role_ids=None):
    """An authorization-details file of ``account`` holding one role per name in ``trusts``."""
    role_ids = role_ids or {}
    roles = [
        {
            "Path": "/",
            "RoleName": name,
            "RoleId": role_ids.get(name, f"AROA{name.upper():0<16}"[:20]),
            "Arn": role(account, name),
            "CreateDate": "2020-01-01T00:00:00Z",
            "AssumeRolePolicyDocument": trust,
            "InstanceProfileList": [],
            "AttachedManagedPolicies": [],
            "RolePolicyList": [],
            "Tags": [],
        }
        for name, trust in trusts.items()
    ]
    doc = {"UserDetailList": [], "GroupDetailList": [], "Policies": [], "RoleDetailList": roles}
    path = tmp_path / f"snapshot-{account}.json"
    path.write_text(json.dumps(doc))
    return path


def trust_of(*statements_):
    return {"Version": "2012-10-17", "Statement": list(statements_)}


def allow(principal, action="sts:AssumeRole", condition=None):
    statement = {"Effect": "Allow", "Principal": principal, "Action": action}
    if condition:
        statement["Condition"] = condition
    return statement


def user_identity(account, name):
    return {
        "type": "IAMUser",
        "principalId": f"AIDA{name.upper():0<16}"[:20],
        "arn": f"arn:aws:iam::{account}:user/{name}",
        "accountId": account,
        "accessKeyId": "AKIAEXAMPLEKEY000001",
        "userName": name,
    }


def session_identity(account, role_name, session="s"):
    identity = an_event()["userIdentity"]
    identity["arn"] = f"arn:aws:sts::{account}:assumed-role/{role_name}/{session}"
    identity["accountId"] = account
    identity["principalId"] = f"AROA{role_name.upper():0<16}"[:20] + f":{session}"
    issuer = identity["sessionContext"]["sessionIssuer"]
    issuer.update(
        arn=role(account, role_name),
        accountId=account,
        userName=role_name,
        principalId=f"AROA{role_name.upper():0<16}"[:20],
    )
    return identity


def assume_event(role_arn, identity, *, recipient=PROD, key=None, shared=None, **request):
    session = request.pop("roleSessionName", "session")
    event = an_event(
        eventSource="sts.amazonaws.com",
        eventName="AssumeRole",
        userIdentity=identity,
        requestParameters={"roleArn": role_arn, "roleSessionName": session, **request},
        recipientAccountId=recipient,
    )
    # Each assumption returns its own credentials; both copies of a cross-account call share them.
    issued = key or f"ASIA{event['eventID'][-16:].upper()}"
    event["responseElements"] = {
        "credentials": {"accessKeyId": issued, "expiration": "Nov 2, 2026, 11:00:00 AM"},
        "assumedRoleUser": {
            "assumedRoleId": f"AROAEXAMPLE:{session}",
            "arn": f"arn:aws:sts::{role_arn.split(':')[4]}:assumed-role/"
            f"{role_arn.rsplit('/', 1)[1]}/{session}",
        },
    }
    if shared:
        event["sharedEventID"] = shared
    return event


def web_identity_event(role_arn, sub, provider=GITHUB, audience="sts.amazonaws.com"):
    event = an_event(
        eventSource="sts.amazonaws.com",
        eventName="AssumeRoleWithWebIdentity",
        userIdentity={
            "type": "WebIdentityUser",
            "principalId": f"{provider}:{audience}:{sub}",
            "userName": sub,
            "identityProvider": provider,
        },
        requestParameters={"roleArn": role_arn, "roleSessionName": "GitHubActions"},
    )
    event["responseElements"] = {
        "subjectFromWebIdentityToken": sub,
        "provider": provider,
        "audience": audience,
        "credentials": {"accessKeyId": f"ASIA{event['eventID'][-16:].upper()}"},
    }
    return event


def given_lake(tmp_path, lake_dir, events_by_account, snapshots):
    for account, events in events_by_account.items():
        given_delivery_file(tmp_path / "logs", events, account=account)
    api.ingest([str(tmp_path / "logs")], lake_dir)
    for snapshot in snapshots:
        api.iam_load(snapshot, lake_dir, captured_at=datetime(2026, 11, 5, tzinfo=UTC))
    return lake_dir


# ---------------------------------------------------------------------------------------------
# The sample organisation


def test_the_github_deploy_role_is_trusted_for_exactly_the_observed_repository_and_branch(
    sample_lake,
):
    suggestion = suggest_trust(sample_lake, role(PROD, "github-actions-deploy"))
    [assumer] = suggestion.assumers
    assert (assumer.kind, assumer.principal, assumer.subjects) == ("oidc", GITHUB, (MAIN,))
    assert assumer.assumptions == 3
    [statement] = statements(suggestion.document)
    assert statement["Principal"] == {"Federated": GITHUB}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": MAIN,
        }
    }
    assert suggestion.findings == []


def test_the_app_role_is_trusted_by_ec2_alone_without_a_source_account_pin(sample_lake):
    suggestion = suggest_trust(sample_lake, role(PROD, "app-role"))
    assert [(a.kind, a.principal) for a in suggestion.assumers] == [
        ("service", "ec2.amazonaws.com")
    ]
    # EC2 sends no aws:SourceAccount for instance profiles: pinning it would lock the role.
    assert statements(suggestion.document) == [
        {
            "Sid": "TrustEc2",
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]
    assert suggestion.sessions.seen == suggestion.sessions.explained == 2


def test_the_dev_deploy_role_trusts_exactly_the_prod_ci_role_counted_once(sample_lake):
    suggestion = suggest_trust(sample_lake, role(DEV, "ci-dev-deploy"))
    [assumer] = suggestion.assumers
    # Logged in both accounts (the dev copy knows only the prod account): one assumption.
    assert (assumer.kind, assumer.principal, assumer.assumptions) == (
        "aws",
        role(PROD, "github-actions-deploy"),
        1,
    )
    [statement] = statements(suggestion.document)
    assert statement["Principal"] == {"AWS": role(PROD, "github-actions-deploy")}
    assert f"arn:aws:iam::{PROD}:root" not in json.dumps(suggestion.document)
    assert suggestion.findings == []


def test_the_lambda_role_gets_aws_source_account_and_its_absence_is_flagged(sample_lake):
    suggestion = suggest_trust(sample_lake, role(PROD, "service-role/orders-processor-role"))
    [statement] = statements(suggestion.document)
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": PROD}}
    [finding] = findings(suggestion, "missing_condition")
    assert finding.principal == "lambda.amazonaws.com"
    # Lambda's sessions are named after the function, its assumptions awslambda_...: the
    # access key links them.
    assert suggestion.sessions.unexplained == ()


def test_a_whole_account_trust_names_the_one_principal_of_it_seen_assuming(sample_lake):
    suggestion = suggest_trust(sample_lake, role(DEV, "dev-sandbox-role"))
    [finding] = findings(suggestion, "account_root_principal")
    bob = f"arn:aws:iam::{DEV}:user/dev.bob"
    assert finding.seen == (bob,)
    assert f"only {bob}" in finding.message
    [statement] = statements(suggestion.document)
    assert statement["Principal"] == {"AWS": bob}


def test_a_role_nobody_assumed_gets_no_policy_and_its_trusted_account_is_unused(sample_lake):
    suggestion = suggest_trust(sample_lake, role(PROD, "OrganizationAccountAccessRole"))
    assert suggestion.assumers == []
    assert suggestion.document is None
    kinds = {f.kind for f in suggestion.findings}
    assert {"no_assumptions", "unused_principal", "account_root_principal"} <= kinds
    [root] = findings(suggestion, "account_root_principal")
    assert root.principal == f"arn:aws:iam::{OPS}:root" and root.severity == "medium"


def test_identity_center_roles_keep_the_saml_audience_and_session_tagging(sample_lake):
    arn = role(PROD, "aws-reserved/sso.amazonaws.com/AWSReservedSSO_ReadOnly_fedcba9876543210")
    suggestion = suggest_trust(sample_lake, arn)
    [assumer] = suggestion.assumers
    assert assumer.kind == "saml" and assumer.subjects == ("bob@example.com",)
    [statement] = statements(suggestion.document)
    assert statement["Principal"]["Federated"].endswith(
        ":saml-provider/AWSSSO_5a4b3c2d1e0f9a8b_DO_NOT_DELETE"
    )
    # Identity Center's tags come from the assertion, never the request: keep what it allows.
    assert statement["Action"] == ["sts:AssumeRoleWithSAML", "sts:TagSession"]
    assert statement["Condition"] == {
        "StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}
    }
    assert suggestion.is_aws_managed and findings(suggestion, "aws_managed_role")


def test_sessions_without_an_assumption_event_are_reported_and_their_service_inferred(
    sample_lake,
):
    arn = role(PROD, "aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling")
    suggestion = suggest_trust(sample_lake, arn)
    assert suggestion.sessions.unexplained == ("AutoScaling",)
    [assumer] = suggestion.assumers
    assert (assumer.principal, assumer.evidence) == ("autoscaling.amazonaws.com", "sessions")
    assert findings(suggestion, "sessions_without_assumption")


def test_every_suggested_trust_policy_of_the_sample_validates(sample_lake):
    roles = [
        r["Arn"]
        for path in sorted((SAMPLE_LOGS / "iam").glob("authorization-details-*.json"))
        for r in json.loads(path.read_text())["RoleDetailList"]
    ]
    suggested = [s for s in (suggest_trust(sample_lake, arn) for arn in roles) if s.document]
    assert len(suggested) >= 8
    for suggestion in suggested:
        assert validate(suggestion.document) == [], suggestion.role_arn
        assert suggestion.problems == []
        assert parliament_findings(suggestion.document) == [], suggestion.role_arn


def test_the_report_is_complete_as_text_and_as_json(sample_lake):
    suggestion = suggest_trust(sample_lake, role(DEV, "dev-sandbox-role"))
    text = render_text(suggestion)
    for part in (
        "Who assumed it (2 assumptions)",  # bob, on days 2 and 3 (scenarios 2a and 10)
        "Findings:",
        "account_root_principal",
        "Suggested trust policy:",
        "Current trust policy:",
    ):
        assert part in text
    data = json.loads(json.dumps(suggestion.to_dict()))
    assert data["assumers"][0]["principal"] == f"arn:aws:iam::{DEV}:user/dev.bob"
    assert data["suggested_policy"] == suggestion.document
    assert data["current_policy"]["Statement"][0]["Principal"] == {
        "AWS": f"arn:aws:iam::{DEV}:root"
    }
    assert [p["assumptions"] for p in data["current_principals"]] == [2]


def test_a_window_after_the_last_assumption_finds_nobody(sample_lake):
    suggestion = suggest_trust(
        sample_lake,
        role(PROD, "github-actions-deploy"),
        since=datetime(2026, 11, 5, tzinfo=UTC),
    )
    assert suggestion.assumers == [] and suggestion.document is None
    assert {"no_assumptions", "unused_principal"} <= {f.kind for f in suggestion.findings}


def test_trust_needs_a_role_arn_the_loaded_snapshot_of_its_account_holds(sample_lake):
    with pytest.raises(UsageError, match="only roles have a trust policy"):
        suggest_trust(sample_lake, f"arn:aws:iam::{DEV}:user/dev.bob")
    with pytest.raises(UsageError, match="is not in the IAM snapshot"):
        suggest_trust(sample_lake, role(PROD, "no-such-role"))
    # an account without a snapshot is read from its events alone, and says so
    [finding] = findings(suggest_trust(sample_lake, role(OPS, "anything")), "no_snapshot")
    assert f"no IAM snapshot of account {OPS}" in finding.message
    with pytest.raises(UsageError, match="not a role ARN"):
        suggest_trust(sample_lake, "github-actions-deploy")


def test_an_assumed_role_session_arn_names_its_role(sample_lake):
    suggestion = suggest_trust(
        sample_lake, f"arn:aws:sts::{PROD}:assumed-role/github-actions-deploy/GitHubActions"
    )
    assert suggestion.role_arn == role(PROD, "github-actions-deploy")


def test_without_a_snapshot_who_assumed_still_shows_and_the_comparison_says_what_to_load(
    tmp_path, lake_dir
):
    alice = user_identity(PROD, "alice")
    given_lake(tmp_path, lake_dir, {PROD: [assume_event(TARGET, alice)]}, [])
    suggestion = suggest_trust(lake_dir, TARGET)
    assert [a.principal for a in suggestion.assumers] == [alice["arn"]]
    assert suggestion.document["Statement"][0]["Principal"] == {"AWS": alice["arn"]}
    assert suggestion.current is None
    [finding] = findings(suggestion, "no_snapshot")
    assert "trailwise iam load" in finding.message
    assert not findings(suggestion, "assumer_not_trusted")


# ---------------------------------------------------------------------------------------------
# Small hand-built lakes


def test_a_wildcard_principal_is_flagged_and_replaced_by_who_assumed(tmp_path, lake_dir):
    alice = user_identity(PROD, "alice")
    given_lake(
        tmp_path,
        lake_dir,
        {PROD: [assume_event(TARGET, alice)]},
        [given_snapshot(tmp_path, PROD, {"target": trust_of(allow({"AWS": "*"}))})],
    )
    suggestion = suggest_trust(lake_dir, TARGET)
    [finding] = findings(suggestion, "wildcard_principal")
    assert finding.severity == "high"
    assert finding.seen == (alice["arn"],)
    assert statements(suggestion.document)[0]["Principal"] == {"AWS": alice["arn"]}


def test_a_wildcard_limited_by_conditions_is_flagged_less_severely(tmp_path, lake_dir):
    org = {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}
    given_lake(
        tmp_path,
        lake_dir,
        {PROD: [assume_event(TARGET, user_identity(PROD, "alice"))]},
        [given_snapshot(tmp_path, PROD, {"target": trust_of(allow("*", condition=org))})],
    )
    suggestion = suggest_trust(lake_dir, TARGET)
    [finding] = findings(suggestion, "wildcard_principal")
    assert finding.severity == "medium" and "aws:PrincipalOrgID" in finding.message
    # The condition held when alice assumed the role: it stays, now on her alone.
    [statement] = statements(suggestion.document)
    assert statement["Condition"] == org


def test_an_account_root_trust_used_by_one_role_of_that_account_is_narrowed_to_it(
    tmp_path, lake_dir
):
    caller = session_identity(OPS, "ops-automation")
    caller_copy = assume_event(TARGET, caller, recipient=OPS, shared="shared-1")
    role_copy = assume_event(
        TARGET,
        {"type": "AWSAccount", "principalId": caller["principalId"], "accountId": OPS},
        recipient=PROD,
        shared="shared-1",
        key=caller_copy["responseElements"]["credentials"]["accessKeyId"],
    )
    given_lake(
        tmp_path,
        lake_dir,
        {OPS: [caller_copy], PROD: [role_copy]},
        [
            given_snapshot(
                tmp_path, PROD, {"target": trust_of(allow({"AWS": f"arn:aws:iam::{OPS}:root"}))}
            )
        ],
    )
    suggestion = suggest_trust(lake_dir, TARGET)
    [assumer] = suggestion.assumers
    assert (assumer.principal, assumer.assumptions) == (role(OPS, "ops-automation"), 1)
    [finding] = findings(suggestion, "account_root_principal")
    assert finding.seen == (role(OPS, "ops-automation"),)
    assert "only arn:aws:iam::999988887777:role/ops-automation of that account" in finding.message
    assert statements(suggestion.document)[0]["Principal"] == {"AWS": role(OPS, "ops-automation")}


def test_the_role_account_copy_alone_names_the_caller_through_its_unique_id_or_its_account(
    tmp_path, lake_dir
):
    copy = assume_event(
        TARGET,
        {"type": "AWSAccount", "principalId": "AROAOPSAUTOMATION001:s", "accountId": OPS},
        shared="shared-2",
    )
    trust = trust_of(allow({"AWS": f"arn:aws:iam::{OPS}:root"}))
    given_lake(
        tmp_path, lake_dir, {PROD: [copy]}, [given_snapshot(tmp_path, PROD, {"target": trust})]
    )
    unknown = suggest_trust(lake_dir, TARGET)
    [assumer] = unknown.assumers
    # The caller's own trail is not in the lake: only its account is known, and trusted.
    assert (assumer.kind, assumer.principal) == ("account", f"arn:aws:iam::{OPS}:root")
    assert "only the calling account is known" in (assumer.note or "")
    assert statements(unknown.document)[0]["Principal"] == {"AWS": f"arn:aws:iam::{OPS}:root"}

    api.iam_load(
        given_snapshot(
            tmp_path,
            OPS,
            {"ops-automation": trust_of(allow({"Service": "ec2.amazonaws.com"}))},
            role_ids={"ops-automation": "AROAOPSAUTOMATION001"},
        ),
        lake_dir,
        captured_at=datetime(2026, 11, 5, tzinfo=UTC),
    )
    known = suggest_trust(lake_dir, TARGET)
    [assumer] = known.assumers
    assert (assumer.kind, assumer.principal) == ("aws", role(OPS, "ops-automation"))
    assert "unique id" in (assumer.note or "")


def test_oidc_without_a_sub_condition_is_flagged_and_pinned_to_the_observed_subjects(
    tmp_path, lake_dir
):
    aud_only = {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}
    trust = trust_of(allow({"Federated": GITHUB}, "sts:AssumeRoleWithWebIdentity", aud_only))
    release = "repo:acme/app:ref:refs/tags/v1.2.0"
    given_lake(
        tmp_path,
        lake_dir,
        {PROD: [web_identity_event(TARGET, MAIN), web_identity_event(TARGET, release)]},
        [given_snapshot(tmp_path, PROD, {"target": trust})],
    )
    suggestion = suggest_trust(lake_dir, TARGET)
    [finding] = findings(suggestion, "missing_condition")
    assert (
        finding.severity == "high" and "token.actions.githubusercontent.com:sub" in finding.message
    )
    [statement] = statements(suggestion.document)
    assert statement["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == [
        MAIN,
        release,
    ]


def test_a_wildcard_sub_pattern_is_flagged_as_wider_than_what_was_used(tmp_path, lake_dir):
    conditions = {
        "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
        "StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/*"},
    }
    trust = trust_of(allow({"Federated": GITHUB}, "sts:AssumeRoleWithWebIdentity", conditions))
    given_lake(
        tmp_path,
        lake_dir,
        {PROD: [web_identity_event(TARGET, MAIN)]},
        [given_snapshot(tmp_path, PROD, {"target": trust})],
    )
    suggestion = suggest_trust(lake_dir, TARGET)
    [finding] = findings(suggestion, "missing_condition")
    assert finding.severity == "medium" and "repo:acme/*" in finding.message
    [statement] = statements(suggestion.document)
    # The exact subject replaces the pattern; nothing else is carried twice.
    assert statement["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": MAIN,
        }
    }


def test_a_trusted_principal_never_seen_is_unused_and_left_out(tmp_path, lake_dir):
    builder, auditor = role(PROD, "builder"), role(PROD, "auditor")
    trust = trust_of(allow({"AWS": [builder, auditor]}))
    given_lake(
        tmp_path,
        lake_dir,
        {PROD: [assume_event(TARGET, session_identity(PROD, "builder"))]},
        [given_snapshot(tmp_path, PROD, {"target": trust})],
    )
    suggestion = suggest_trust(lake_dir, TARGET)
    [unused] = findings(suggestion, "unused_principal")
    assert unused.principal == auditor
    assert statements(suggestion.document)[0]["Principal"] == {"AWS": builder}
    assert {p.principal: p.assumptions for p in suggestion.trusted} == {builder: 1, auditor: 0}


def test_external_id_is_pinned_only_for_a_caller_that_always_passed_one(tmp_path, lake_dir):
    vendor = session_identity(OPS, "vendor-scanner")
    sometimes = session_identity(OPS, "vendor-reporter")
    events = [
        assume_event(TARGET, vendor, externalId="acme-7f3c", recipient=PROD),
        assume_event(TARGET, vendor, externalId="acme-7f3c", recipient=PROD),
        assume_event(TARGET, sometimes, externalId="acme-7f3c", recipient=PROD),
        assume_event(TARGET, sometimes, recipient=PROD),
    ]
    trust = trust_of(allow({"AWS": f"arn:aws:iam::{OPS}:root"}))
    given_lake(
        tmp_path, lake_dir, {PROD: events}, [given_snapshot(tmp_path, PROD, {"target": trust})]
    )
    suggestion = suggest_trust(lake_dir, TARGET)
    by_principal = {s["Principal"]["AWS"]: s for s in statements(suggestion.document)}
    assert by_principal[role(OPS, "vendor-scanner")]["Condition"] == {
        "StringEquals": {"sts:ExternalId": "acme-7f3c"}
    }
    assert "Condition" not in by_principal[role(OPS, "vendor-reporter")]


def test_an_assumer_missing_from_the_trust_policy_is_flagged(tmp_path, lake_dir):
    trust = trust_of(allow({"AWS": role(PROD, "builder")}))
    given_lake(
        tmp_path,
        lake_dir,
        {PROD: [assume_event(TARGET, user_identity(PROD, "mallory"))]},
        [given_snapshot(tmp_path, PROD, {"target": trust})],
    )
    suggestion = suggest_trust(lake_dir, TARGET)
    [finding] = findings(suggestion, "assumer_not_trusted")
    assert finding.principal == f"arn:aws:iam::{PROD}:user/mallory"


def test_denied_attempts_are_listed_apart_and_never_trusted(tmp_path, lake_dir):
    mallory = user_identity(PROD, "mallory")
    denied = an_event(
        eventSource="sts.amazonaws.com",
        eventName="AssumeRole",
        userIdentity=mallory,
        errorCode="AccessDenied",
        errorMessage=f"User: {mallory['arn']} is not authorized to perform: sts:AssumeRole "
        f"on resource: {TARGET}",
        requestParameters=None,
    )
    trust = trust_of(allow({"AWS": role(PROD, "builder")}))
    given_lake(
        tmp_path,
        lake_dir,
        {PROD: [assume_event(TARGET, session_identity(PROD, "builder")), denied]},
        [given_snapshot(tmp_path, PROD, {"target": trust})],
    )
    suggestion = suggest_trust(lake_dir, TARGET)
    [failure] = suggestion.failed
    assert (failure.principal, failure.error_code, failure.attempts) == (
        mallory["arn"],
        "AccessDenied",
        1,
    )
    assert [a.principal for a in suggestion.assumers] == [role(PROD, "builder")]
    assert findings(suggestion, "denied_assumption")[0].principal == mallory["arn"]
    assert mallory["arn"] not in json.dumps(suggestion.document)


# ---------------------------------------------------------------------------------------------
# Real events


def test_real_assumptions_from_the_iam_user_guide_keep_source_identity_and_session_tags(
    tmp_path, lake_dir
):
    """awsdocs/iam-user-guide examples: JohnDoe of 777788889999 assumes EC2-dev in 111122223333
    with a source identity (logged in both accounts), and JohnRole1 passes session tags and a
    source identity to JohnRole2 (MIT-0, see tests/fixtures/realdata/awsdocs-iam)."""
    api.ingest([str(REALDATA / "awsdocs-iam")], lake_dir)
    for account, name, trusted in (
        (PROD, "EC2-dev", "777788889999"),
        ("111111111111", "JohnRole2", "111111111111"),
    ):
        path = tmp_path / account
        path.mkdir()
        api.iam_load(
            given_snapshot(
                path, account, {name: trust_of(allow({"AWS": f"arn:aws:iam::{trusted}:root"}))}
            ),
            lake_dir,
        )
    ec2_dev = suggest_trust(lake_dir, role(PROD, "EC2-dev"))
    [john] = ec2_dev.assumers
    assert (john.principal, john.assumptions, john.source_identities) == (
        "arn:aws:iam::777788889999:user/JohnDoe",
        1,
        ("JohnDoe",),
    )
    [statement] = statements(ec2_dev.document)
    assert statement["Principal"] == {"AWS": "arn:aws:iam::777788889999:user/JohnDoe"}
    assert statement["Action"] == ["sts:AssumeRole", "sts:SetSourceIdentity"]
    [root] = findings(ec2_dev, "account_root_principal")
    assert root.seen == ("arn:aws:iam::777788889999:user/JohnDoe",)

    role2 = suggest_trust(lake_dir, role("111111111111", "JohnRole2"))
    [statement] = statements(role2.document)
    assert statement["Principal"] == {"AWS": role("111111111111", "JohnRole1")}
    assert statement["Action"] == ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"]
    assert role2.assumers[0].session_tag_keys == ("CostCenter", "Department", "Email")
    assert validate(role2.document) == [] and parliament_findings(role2.document) == []
