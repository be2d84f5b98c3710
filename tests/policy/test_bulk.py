"""policy bulk: a suggestion and a diff for every matching principal, and an index of reductions."""

from __future__ import annotations

import csv
import json

import pytest

from tests.given import APP_ROLE
from trailwise.pipeline import api
from trailwise.pipeline.errors import UsageError
from trailwise.pipeline.policy.bulk import INDEX_COLUMNS, bulk
from trailwise.pipeline.policy.diff import diff

# One worker runs the module: its module fixture (a lake, and what is asked of it) is built once,
# not once on each xdist worker.
pytestmark = [pytest.mark.xdist_group("bulk")]


@pytest.fixture(scope="module")
def everything(sample_lake, tmp_path_factory):
    out = tmp_path_factory.mktemp("bulk")
    return out, bulk(sample_lake, out)


def test_every_user_and_role_of_the_snapshots_gets_one_index_row(everything, sample_lake):
    out, result = everything
    principals = api.run_sql(
        "select principal_arn from iam_principals where principal_type in ('role', 'user')",
        sample_lake,
    ).column("principal_arn")
    with (out / "index.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == INDEX_COLUMNS
    assert sorted(r["principal_arn"] for r in rows) == sorted(principals.to_pylist())
    assert json.loads((out / "index.json").read_text())["principals"] == len(rows)
    assert result.errors == 0


def test_the_index_reduction_is_the_diffs_own_count(everything, sample_lake):
    _, result = everything
    row = next(r for r in result.rows if r.principal_arn == APP_ROLE)
    summary = diff(sample_lake, APP_ROLE).to_dict()["summary"]
    assert (row.granted, row.removable, row.kept) == (
        summary["granted"],
        summary["removable"],
        summary["kept"],
    )
    assert row.reduction_pct == round(100 * summary["removable"] / summary["granted"], 1)
    assert row.status == "suggested" and row.suggested_actions


def test_each_suggested_principal_has_its_policy_suggestion_and_diff_on_disk(everything):
    out, result = everything
    row = next(r for r in result.rows if r.principal_arn == APP_ROLE)
    assert row.files == [
        "111122223333/roles/app-role.diff.json",
        "111122223333/roles/app-role.suggest.json",
        "111122223333/roles/app-role.policy.json",
    ]
    policy = json.loads((out / "111122223333/roles/app-role.policy.json").read_text())
    assert policy["Version"] == "2012-10-17"
    assert "dynamodb:PutItem" not in json.dumps(policy)  # denied, never granted


def test_a_principal_without_activity_gets_its_diff_and_no_policy(everything, sample_lake):
    out, result = everything
    row = next(r for r in result.rows if r.principal_arn.endswith(":user/backup-legacy"))
    assert row.status == "no_activity"
    assert row.removable == row.granted
    assert (out / "111122223333/users/backup-legacy.diff.json").exists()
    assert not (out / "111122223333/users/backup-legacy.policy.json").exists()


def test_roles_aws_or_identity_center_owns_are_skipped_with_the_reason(everything):
    _, result = everything
    skipped = {
        r.principal_arn.rsplit("/", 1)[-1]: r.note for r in result.rows if r.status == "skipped"
    }
    assert "permission set" in skipped["AWSReservedSSO_ReadOnly_fedcba9876543210"]
    assert "service-linked" in skipped["AWSServiceRoleForAutoScaling"]


def test_filters_narrow_the_principals_by_account_path_and_name(sample_lake, tmp_path):
    result = bulk(sample_lake, tmp_path, account_id="111122223333", name_pattern="*-role")
    assert [r.principal_arn for r in result.rows] == [
        "arn:aws:iam::111122223333:role/app-role",
        "arn:aws:iam::111122223333:role/service-role/orders-processor-role",
    ]
    only_path = bulk(sample_lake, tmp_path / "p", path_prefix="/service-accounts/")
    assert [r.principal_arn for r in only_path.rows] == [
        "arn:aws:iam::111122223333:user/service-accounts/reporting-svc"
    ]


def test_no_matching_principal_is_a_usage_error(sample_lake, tmp_path):
    with pytest.raises(UsageError, match="matches the filters"):
        bulk(sample_lake, tmp_path, name_pattern="nobody-*")
