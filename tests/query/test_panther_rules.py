"""Our root, sign-in and denial queries against Panther's labelled CloudTrail events.

Each record of ``panther-analysis/`` carries what one of Panther's detection rules says about its
event (``_expected``). Where a rule asks what one of our queries answers, the two must agree on
every labelled event, except where we mean something else on purpose: each test names those
events and says why. Stratus Red Team's detonation logs add the console login without MFA and
the EC2 access-denied codes that Panther's labels lack.

The labelled events reuse placeholder ids ("1") and some lack a usable time, so each gets a
unique eventID (its line number) and, when needed, a fixed time before it is ingested; nothing
else in them is changed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.given import REALDATA
from trailwise.pipeline import api
from trailwise.pipeline.decode import parse_time

# One worker runs the module: its module fixture (a lake, and what is asked of it) is built once,
# not once on each xdist worker.
pytestmark = [pytest.mark.xdist_group("panther")]

PANTHER = REALDATA / "panther-analysis" / "panther_cloudtrail_test_events.ndjson"
STRATUS = REALDATA / "stratus-red-team"
RULES = "rules/aws_cloudtrail_rules/"
COMPROMISED_ROOT = "test_scenarios/compromised-root-creds/"
USED = (
    RULES + "aws_console_login_without_mfa.yml",
    RULES + "aws_console_root_login.yml",
    RULES + "aws_console_root_login_failed.yml",
    RULES + "aws_root_activity.yml",
    RULES + "aws_root_access_key_created.yml",
    RULES + "aws_unauthorized_api_call.yml",
    COMPROMISED_ROOT,
)

VICTIM = "493859302102"


def labelled_records() -> list[dict[str, Any]]:
    """The Panther records of the rules used here, each event with a unique id and a time."""
    records = []
    for number, line in enumerate(PANTHER.read_text(encoding="utf-8").splitlines(), start=1):
        record = json.loads(line)
        if not record["_source_file"].startswith(USED):
            continue
        event = dict(record["event"])
        event["eventID"] = f"panther-{number:03d}"
        if parse_time(event.get("eventTime")) is None:
            event["eventTime"] = "2019-01-01T00:00:00Z"
        event.setdefault("recipientAccountId", event.get("userIdentity", {}).get("accountId"))
        records.append({**record, "event": event})
    return records


@pytest.fixture(scope="module")
def labelled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """A lake of the labelled Panther events and Stratus Red Team's detonations."""
    root = tmp_path_factory.mktemp("panther")
    records = labelled_records()
    logs = root / "panther"
    logs.mkdir()
    (logs / "labelled.ndjson").write_text(
        "\n".join(json.dumps(r["event"]) for r in records), encoding="utf-8"
    )
    summary = api.ingest([str(logs), str(STRATUS)], root / "lake")
    assert summary.events_written == len(records) + count_stratus_events()
    return root / "lake", records


def count_stratus_events() -> int:
    return sum(len(json.loads(p.read_text(encoding="utf-8"))) for p in STRATUS.glob("*.json"))


def panther_says(records: list[dict[str, Any]], rule: str) -> dict[str, tuple[str, bool]]:
    """Panther's label per test name of one rule: (eventID, expected)."""
    return {
        r["_test_name"]: (r["event"]["eventID"], bool(r["_expected"]))
        for r in records
        if r["_source_file"] == RULES + rule
    }


def disagreements(labels: dict[str, tuple[str, bool]], ours: set[str]) -> set[str]:
    """Test names where our answer (event in ``ours`` or not) differs from Panther's label."""
    return {name for name, (event_id, expected) in labels.items() if (event_id in ours) != expected}


def ids(lake: Path, query: str, **params: Any) -> set[str]:
    return {r["event_id"] for r in api.run_named(query, lake, params).to_pylist()}


def root_ids(lake: Path, kind: str | None = None) -> set[str]:
    return {
        r["event_id"]
        for r in api.run_named("root_activity", lake).to_pylist()
        if kind is None or r["root_session_kind"] == kind
    }


def test_logins_without_mfa_agree_with_panther_except_new_users_which_we_do_not_silence(labelled):
    lake, records = labelled
    labels = panther_says(records, "aws_console_login_without_mfa.yml")
    logins = api.run_named("console_logins", lake).to_pylist()
    ours = {r["event_id"] for r in logins if r["is_without_mfa"]}
    # Panther silences users and accounts younger than three days (state it keeps itself);
    # a sign-in without MFA is one whatever the age of the user.
    assert disagreements(labels, ours) == {"No MFA Login - New User"}
    # Where both say "not without MFA", ours says why: Identity Center, SAML, an MFA session...
    enforced = {r["event_id"]: r["mfa_enforced_by"] for r in logins}
    assert enforced[labels["AWS SSOv2 Login"][0]] == "identity_center"
    assert enforced[labels["MFA Login - SAML"][0]] == "saml_provider"
    assert enforced[labels["AssumeRole from MFA User Session"][0]] == "mfa_session"
    # ...or that the lake does not show how the session was issued (Panther's own test switches
    # the rule off for such roles with ROLES_VIA_EXTERNAL_IDP).
    statuses = {r["event_id"]: r["mfa_status"] for r in logins}
    assert statuses[labels["No MFA - IAM Role and External IDP"][0]] == "unknown"


def test_the_per_user_report_adds_up_to_the_sign_ins_without_mfa(labelled):
    lake, _ = labelled
    per_user = api.run_named("console_logins_without_mfa", lake).to_pylist()
    logins = api.run_named("console_logins", lake).to_pylist()
    assert sum(r["sign_ins"] for r in per_user) == sum(r["is_without_mfa"] for r in logins) > 0


def test_root_logins_agree_with_panther(labelled):
    lake, records = labelled
    labels = panther_says(records, "aws_console_root_login.yml")
    assert disagreements(labels, root_ids(lake, "console_login")) == set()


def test_failed_root_logins_agree_with_panther(labelled):
    lake, records = labelled
    labels = panther_says(records, "aws_console_root_login_failed.yml")
    assert disagreements(labels, root_ids(lake, "login_failure")) == set()


def test_root_activity_agrees_with_panther_except_read_only_failed_and_service_linked_role_calls(
    labelled,
):
    lake, records = labelled
    labels = panther_says(records, "aws_root_activity.yml")
    # Panther alerts on root changing things; we list everything root did: reads, failures
    # (a failed root sign-in page event too) and CreateServiceLinkedRole, which Panther allows.
    assert disagreements(labels, root_ids(lake)) == {
        "Root Activity - CreateServiceLinkedRole",
        "Root User Failed Activity",
        "Root Read-Only Enumeration",
    }


def test_root_creating_its_own_access_key_in_the_console_is_root_activity(labelled):
    lake, records = labelled
    labels = panther_says(records, "aws_root_access_key_created.yml")
    # invokedBy signin.amazonaws.com is the console acting on root's click, which Panther's
    # root-activity rule drops with every invokedBy; both events are root's own calls.
    event_ids = {event_id for event_id, _ in labels.values()}
    assert event_ids <= root_ids(lake, "console")


def test_unauthorized_calls_agree_with_panther_except_those_made_through_an_aws_service(labelled):
    lake, records = labelled
    labels = panther_says(records, "aws_unauthorized_api_call.yml")
    # Panther drops denials whose source is a service name (an AWS service calling for the
    # principal); the principal was denied all the same, so we keep them.
    assert disagreements(labels, ids(lake, "authorization_failure_events")) == {
        "Unauthorized API Call from Within AWS (FQDN)"
    }


def test_every_access_denied_code_counts_where_panther_counts_only_access_denied(labelled):
    lake, _ = labelled
    other_codes = api.run_sql(
        "select event_id, error_code from events where error_code in "
        "('Client.UnauthorizedOperation', 'AccessDeniedException', 'UnauthorizedOperation')",
        lake,
    ).to_pylist()
    # Panther's rule fires on errorCode == "AccessDenied" only; these are denials too.
    assert len(other_codes) >= 40
    assert {r["event_id"] for r in other_codes} <= ids(lake, "authorization_failure_events")


def test_stratus_console_login_without_mfa_shows_up_in_console_logins_without_mfa(labelled):
    lake, _ = labelled
    [detonation] = json.loads(
        (STRATUS / "aws.initial-access.console-login-without-mfa.json").read_text(encoding="utf-8")
    )
    reported = [
        r
        for r in api.run_named("console_logins_without_mfa", lake).to_pylist()
        if r["user_arn"] == detonation["userIdentity"]["arn"]
    ]
    assert [(r["identity_type"], r["sign_ins"], r["reason"]) for r in reported] == [
        ("IAMUser", 1, "password sign-in without MFA")
    ]


def test_the_compromised_root_scenario_adds_up_for_the_victim_account(labelled):
    lake, records = labelled
    scenario = [r["event"] for r in records if r["_source_file"].startswith(COMPROMISED_ROOT)]
    root_events = [e for e in scenario if e["userIdentity"]["type"] == "Root"]
    [victim] = [
        r for r in api.run_named("root_summary", lake).to_pylist() if r["account_id"] == VICTIM
    ]
    assert victim["events"] == len(root_events) == 15
    assert (
        victim["console_logins"],
        victim["console_logins_without_mfa"],
        victim["failed_logins"],
        victim["api_calls"],
        victim["failed_api_calls"],
    ) == (4, 4, 3, 8, 1)
    assert victim["source_ips"] == ["71.253.251.71", "92.55.146.245"]
    assert str(victim["last_console_login_at"]) == "2020-11-01 08:29:10"
    assert str(victim["last_activity_at"]) == "2020-11-01 08:39:02"
