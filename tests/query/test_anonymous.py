"""Unauthenticated callers are nobody's principal: named 'anonymous', on a path of their own,
never another account's caller, and listed by the query that answers for public access."""

from __future__ import annotations

import pytest

from tests.given import ANONYMOUS, an_event, given_delivery_file
from trailwise.pipeline import api


def s3_call(name, key, *, read_only=True, bucket="public-site", **overrides):
    return an_event(
        userIdentity=ANONYMOUS,
        eventSource="s3.amazonaws.com",
        eventName=name,
        readOnly=read_only,
        eventCategory="Data",
        managementEvent=False,
        userAgent="[Mozilla/5.0]",
        sourceIPAddress="198.51.100.20",
        requestParameters={"bucketName": bucket, "key": key},
        resources=[
            {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"},
            {
                "accountId": "111122223333",
                "type": "AWS::S3::Bucket",
                "ARN": f"arn:aws:s3:::{bucket}",
            },
        ],
        **overrides,
    )


@pytest.fixture
def anonymous_lake(tmp_path):
    given_delivery_file(
        tmp_path / "logs",
        [
            s3_call("GetObject", "assets/css/site.css"),
            s3_call("GetObject", "assets/js/app.js"),
            s3_call("PutObject", "uploads/shell.php", read_only=False),
            s3_call(
                "GetObject",
                "payroll.csv",
                bucket="private-data",
                errorCode="AccessDenied",
                errorMessage="Access Denied",
            ),
            an_event(),  # an authenticated caller beside them
        ],
    )
    lake = tmp_path / "lake"
    api.ingest([str(tmp_path / "logs")], lake)
    return lake


def rows(name, lake):
    return api.run_named(name, lake).to_pylist()


def test_an_anonymous_caller_gets_no_invented_principal_arn(anonymous_lake):
    principals = api.run_sql(
        "select distinct principal_arn from events where user_identity_account_id = "
        "'ANONYMOUS_PRINCIPAL'",
        anonymous_lake,
    ).to_pylist()
    assert principals == [{"principal_arn": "anonymous"}]
    invented = api.run_sql(
        "select count(*) as n from events where principal_arn like '%ANONYMOUS%'", anonymous_lake
    ).to_pylist()
    assert invented == [{"n": 0}]


def test_anonymous_calls_are_their_own_path_in_identity_paths(anonymous_lake):
    paths = {(r["principal_arn"], r["path"]): r for r in rows("identity_paths", anonymous_lake)}
    anonymous = paths[("anonymous", "anonymous")]
    assert anonymous["events"] == 4
    assert anonymous["source_accounts"] == []
    assert not [key for key in paths if key[1] == "other_account"]


def test_anonymous_calls_are_never_cross_account_calls(anonymous_lake):
    assert rows("cross_account_access", anonymous_lake) == []


def test_anonymous_access_lists_public_reads_writes_and_failures_per_key_prefix(anonymous_lake):
    found = {
        (r["resource_arn"], r["key_prefix"]): r for r in rows("anonymous_access", anonymous_lake)
    }
    assert set(found) == {
        ("arn:aws:s3:::private-data", ""),
        ("arn:aws:s3:::public-site", "assets/css/"),
        ("arn:aws:s3:::public-site", "assets/js/"),
        ("arn:aws:s3:::public-site", "uploads/"),
    }
    upload = found[("arn:aws:s3:::public-site", "uploads/")]
    assert (upload["calls"], upload["succeeded"], upload["writes"]) == (1, 1, 1)
    assert upload["reason"] == "unauthenticated callers changed it: it is publicly writable"
    assert upload["source_ips"] == ["198.51.100.20"] and upload["user_agents"] == ["[Mozilla/5.0]"]
    denied = found[("arn:aws:s3:::private-data", "")]
    assert (denied["succeeded"], denied["failed"], denied["denied"]) == (0, 1, 1)
    assert denied["reason"] == "unauthenticated callers tried and failed"
    assert found[("arn:aws:s3:::public-site", "assets/css/")]["reason"] == (
        "unauthenticated callers read it: it is public"
    )


def test_sensitive_actions_flags_public_writes_and_reads(anonymous_lake):
    flagged = [(r["category"], r["action"]) for r in rows("sensitive_actions", anonymous_lake)]
    assert sorted(flagged) == [
        ("anonymous_read", "s3:GetObject"),
        ("anonymous_read", "s3:GetObject"),
        ("anonymous_write", "s3:PutObject"),
    ]
    only_writes = api.run_named(
        "sensitive_actions", anonymous_lake, {"category": "anonymous_write"}
    ).to_pylist()
    assert [r["resource_arn"] for r in only_writes] == [
        "arn:aws:s3:::public-site/uploads/shell.php"
    ]
