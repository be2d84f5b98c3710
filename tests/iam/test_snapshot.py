"""Loading ``aws iam get-account-authorization-details`` output into a snapshot."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.given import CLOUDSPLAINING_EXAMPLE, DEV_SNAPSHOT, PROD_SNAPSHOT
from trailwise.pipeline.iam import SnapshotError, load_authorization_details, load_file, to_tables
from trailwise.pipeline.iam.tables import SCHEMAS

EXAMPLE = CLOUDSPLAINING_EXAMPLE
PROD = PROD_SNAPSHOT
DEV = DEV_SNAPSHOT


def given_document(account: str = "111122223333", **lists: list[dict[str, Any]]) -> dict[str, Any]:
    """An authorization-details document with one role unless lists are given."""
    doc: dict[str, Any] = {
        "UserDetailList": [],
        "GroupDetailList": [],
        "RoleDetailList": [
            {
                "Arn": f"arn:aws:iam::{account}:role/app",
                "RoleName": "app",
                "RoleId": "AROAEXAMPLE",
                "Path": "/",
                "CreateDate": "2025-01-01T00:00:00+00:00",
                "AssumeRolePolicyDocument": {"Statement": []},
            }
        ],
        "Policies": [],
    }
    doc.update(lists)
    return doc


def loading_fails(data: Any) -> str:
    with pytest.raises(SnapshotError) as info:
        load_authorization_details(data, "test")
    return str(info.value)


def test_the_cloudsplaining_example_loads_every_user_group_role_and_policy() -> None:
    snapshot = load_file(EXAMPLE)

    users = [p for p in snapshot.principals if p.principal_type == "user"]
    roles = [p for p in snapshot.principals if p.principal_type == "role"]
    assert (len(users), len(snapshot.groups), len(roles), len(snapshot.policies)) == (44, 5, 78, 84)
    assert sum(r.role_last_used_at is not None for r in roles) == 26


def test_the_account_of_each_entity_comes_from_its_arn() -> None:
    # The cloudsplaining example splices three users, two groups and three roles of another
    # account into the lab's.
    snapshot = load_file(EXAMPLE)

    assert snapshot.account_ids == ("012345678901", "200611803367")
    assert snapshot.principal("arn:aws:iam::012345678901:user/biden").account_id == "012345678901"


def test_a_role_trust_policy_is_decoded_and_role_last_used_parsed() -> None:
    snapshot = load_file(EXAMPLE)
    arn = "arn:aws:iam::200611803367:role/AWS-QuickSetup-EnableCRecording-1clff_ap-northeast-1"

    role = snapshot.principal(arn)

    assert role.trust_policy is not None
    assert role.trust_policy["Statement"][0]["Principal"] == {"Service": "ssm.amazonaws.com"}
    assert role.role_last_used_at == datetime(2022, 8, 7, 12, 56, 48, tzinfo=UTC)
    assert role.role_last_used_region == "us-east-1"
    assert role.created_at == datetime(2022, 8, 7, 12, 55, 43, tzinfo=UTC)


def test_a_url_encoded_trust_policy_is_decoded_too() -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"Service": "ec2.amazonaws.com"},
            }
        ],
    }
    doc = given_document()
    doc["RoleDetailList"][0]["AssumeRolePolicyDocument"] = quote(json.dumps(trust))

    role = load_authorization_details(doc, "test", None).principals[0]

    assert role.trust_policy == trust


def test_the_prod_sample_snapshot_loads_its_roles_users_and_keys() -> None:
    snapshot = load_file(PROD, captured_at=datetime(2026, 11, 5, 8, 0, tzinfo=UTC))

    by_name = {p.name: p for p in snapshot.principals}
    app = by_name["app-role"]
    assert app.instance_profile_arns == (
        "arn:aws:iam::111122223333:instance-profile/app-instance-profile",
    )
    assert app.tags == (("app", "orders"),)
    assert by_name["github-actions-deploy"].permissions_boundary_arn == (
        "arn:aws:iam::111122223333:policy/ci-boundary"
    )
    assert {name for name, p in by_name.items() if p.is_aws_managed} == {
        "AWSServiceRoleForAutoScaling",
        "AWSReservedSSO_AdministratorAccess_0123456789abcdef",
        "AWSReservedSSO_ReadOnly_fedcba9876543210",
    }
    assert [(k.user_arn.rsplit("/", 1)[1], k.access_key_id) for k in snapshot.access_keys] == [
        ("backup-legacy", "AKIAUX7WDOBFU7FGSRQJ"),
        ("reporting-svc", "AKIAAPUPF6OH7RRYG245"),
    ]
    assert [(m.group_name, m.user_arn) for m in snapshot.group_members] == [
        ("Admins", "arn:aws:iam::111122223333:user/breakglass-admin")
    ]
    assert snapshot.policy("arn:aws:iam::aws:policy/AdministratorAccess") is not None
    assert snapshot.missing_policy_arns() == ()


def test_several_accounts_load_as_one_snapshot_from_a_list_of_documents() -> None:
    prod = json.loads(PROD.read_text())
    dev = json.loads(DEV.read_text())

    snapshot = load_authorization_details([prod, dev], "both", None)

    assert snapshot.account_ids == ("111122223333", "444455556666")
    assert len(snapshot.principals) == 12 + 3
    bob = snapshot.principal("arn:aws:iam::444455556666:user/dev.bob")
    assert bob.group_names == ("Developers",)


def test_the_same_input_gives_the_same_snapshot_id() -> None:
    first = load_file(PROD)
    second = load_authorization_details(json.loads(PROD.read_text()), "elsewhere", None)
    other = load_file(DEV)

    assert first.snapshot_id == second.snapshot_id != other.snapshot_id


def test_dates_with_a_space_or_a_t_both_parse() -> None:
    doc = given_document()
    doc["RoleDetailList"][0]["CreateDate"] = "2022-08-07 12:55:43+00:00"
    spaced = load_authorization_details(doc, "test", None).principals[0]
    doc["RoleDetailList"][0]["CreateDate"] = "2022-08-07T12:55:43+00:00"
    with_t = load_authorization_details(doc, "test", None).principals[0]

    assert spaced.created_at == with_t.created_at == datetime(2022, 8, 7, 12, 55, 43, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["RoleDetailList"].append({"RoleName": "x"}),
            "test: RoleDetailList[1] has no Arn",
        ),
        (
            lambda d: d["RoleDetailList"][0].pop("RoleName"),
            "test: RoleDetailList[0] has no RoleName",
        ),
        (lambda d: d.update(UserDetailList={}), "test: UserDetailList is a dict, not a list"),
        (
            lambda d: d["RoleDetailList"][0].update(CreateDate="yesterday"),
            "test: RoleDetailList[0].CreateDate is not a date: 'yesterday'",
        ),
        (
            lambda d: d["RoleDetailList"][0].update(Arn="arn:aws:iam::acme:role/app"),
            "test: RoleDetailList[0].Arn has no 12-digit account id: arn:aws:iam::acme:role/app",
        ),
        (
            lambda d: d["RoleDetailList"][0].update(AssumeRolePolicyDocument="%7Bnot json"),
            "test: RoleDetailList[0].AssumeRolePolicyDocument is neither JSON nor URL-encoded JSON",
        ),
        (
            lambda d: d["RoleDetailList"][0].update(RolePolicyList=[{"PolicyName": "p"}]),
            "test: RoleDetailList[0].RolePolicyList[0] has no PolicyDocument",
        ),
        (
            lambda d: d["Policies"].append(
                {
                    "Arn": "arn:aws:iam::111122223333:policy/p",
                    "PolicyName": "p",
                    "DefaultVersionId": "v2",
                    "PolicyVersionList": [
                        {
                            "VersionId": "v1",
                            "IsDefaultVersion": False,
                            "Document": {"Statement": []},
                        }
                    ],
                }
            ),
            "test: Policies[0] (arn:aws:iam::111122223333:policy/p)"
            " has no default version document",
        ),
        (
            lambda d: d["RoleDetailList"].append(copy.deepcopy(d["RoleDetailList"][0])),
            "test: user or role arn:aws:iam::111122223333:role/app is listed twice",
        ),
    ],
)
def test_malformed_input_is_refused_with_a_message_naming_the_element(
    change: Any, message: str
) -> None:
    doc = given_document()
    change(doc)

    assert loading_fails(doc) == message


def test_a_document_that_is_not_authorization_details_is_refused() -> None:
    assert loading_fails({"Records": []}) == (
        "test: document has none of UserDetailList, GroupDetailList, RoleDetailList, Policies:"
        " not authorization details"
    )
    assert loading_fails([]) == "test: an empty list holds no authorization details"
    assert loading_fails([given_document(), "x"]) == "test: document[1] is a str, not an object"


def test_a_file_that_is_not_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json")

    with pytest.raises(SnapshotError, match=r"broken.json is not JSON"):
        load_file(path)


def test_tables_have_the_declared_columns_and_one_row_per_entity() -> None:
    snapshot = load_file(PROD, captured_at=datetime(2026, 11, 5, 8, 0, tzinfo=UTC))

    tables = to_tables(snapshot)

    assert {name: t.schema for name, t in tables.items()} == SCHEMAS
    assert {name: t.num_rows for name, t in tables.items()} == {
        "principals": 12,
        "groups": 1,
        "group_members": 1,
        "policies": 9,
        "attachments": 11,
        "inline_policies": 3,
        "access_keys": 2,
    }
    for table in tables.values():
        assert table.column_names[:3] == ["snapshot_id", "captured_at", "account_id"]
        assert set(table.column("snapshot_id").to_pylist()) <= {snapshot.snapshot_id}
    principals = tables["principals"].to_pylist()
    app = next(row for row in principals if row["name"] == "app-role")
    assert json.loads(app["trust_policy"])["Statement"][0]["Principal"] == {
        "Service": "ec2.amazonaws.com"
    }
    assert app["captured_at"] == datetime(2026, 11, 5, 8, 0, tzinfo=UTC)


def test_tables_are_the_same_for_the_same_snapshot() -> None:
    assert to_tables(load_file(EXAMPLE)) == to_tables(load_file(EXAMPLE))
