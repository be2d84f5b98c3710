"""IAM snapshots in the lake: whole or not at all, latest per account, queryable next to events."""

from __future__ import annotations

import json

from tests.given import APP_ROLE, CLOUDSPLAINING_EXAMPLE, SAMPLE_LOGS
from trailwise.pipeline import api
from trailwise.pipeline.iam.store import manifests
from trailwise.pipeline.lake import Lake

PROD = SAMPLE_LOGS / "iam" / "authorization-details-111122223333.json"


def sql(lake, text):
    return api.run_sql(text, lake).to_pylist()


def test_a_loaded_snapshot_is_queryable_with_the_actions_it_grants(cli, lake_dir):
    result = cli.json("iam", "load", PROD, "--lake", lake_dir)
    assert result["is_new"] and result["accounts"] == ["111122223333"]
    granted = {
        r["action"]
        for r in sql(
            lake_dir,
            f"""
        select action from iam_grants where principal_arn = '{APP_ROLE}'""",
        )
    }
    assert {"s3:GetObject", "dynamodb:Query", "sqs:DeleteMessage"} <= granted
    assert all(
        r["n"] == 1
        for r in sql(
            lake_dir,
            """
        select count(*) as n from iam_grants group by principal_arn, action""",
        )
    )


def test_granted_but_never_used_is_one_query_away(cli, lake_dir):
    api.ingest([str(SAMPLE_LOGS)], lake_dir)
    cli.json("iam", "load", PROD, "--lake", lake_dir)
    never_used = {
        r["action"]
        for r in sql(
            lake_dir,
            f"""
        select g.action from iam_grants g
        where g.principal_arn = '{APP_ROLE}'
          and g.action not in (
            select action from event_actions
            where principal_arn = '{APP_ROLE}' and is_authorized and action is not null)""",
        )
    }
    assert "sqs:DeleteMessage" in never_used
    assert "s3:GetObject" not in never_used


def test_loading_the_same_snapshot_twice_changes_nothing(cli, lake_dir):
    first = cli.json("iam", "load", PROD, "--lake", lake_dir)
    again = cli.json("iam", "load", PROD, "--lake", lake_dir)
    assert (again["is_new"], again["snapshot_id"]) == (False, first["snapshot_id"])
    assert again["captured_at"] == first["captured_at"]
    assert len(manifests(Lake(lake_dir))) == 1


def test_the_latest_capture_of_an_account_wins(cli, tmp_path, lake_dir):
    doc = json.loads(PROD.read_text())
    cli.json("iam", "load", PROD, "--lake", lake_dir, "--captured-at", "2026-11-01")
    doc["RoleDetailList"] = [r for r in doc["RoleDetailList"] if r["RoleName"] != "app-role"]
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps(doc))
    cli.json("iam", "load", newer, "--lake", lake_dir, "--captured-at", "2026-11-20")
    roles = {r["name"] for r in sql(lake_dir, "select name from iam_principals")}
    assert "app-role" not in roles and roles
    assert sql(
        lake_dir, f"select count(*) as n from iam_grants where principal_arn = '{APP_ROLE}'"
    ) == [{"n": 0}]


def test_several_accounts_in_one_file_are_each_their_own(cli, lake_dir):
    example = CLOUDSPLAINING_EXAMPLE
    result = cli.json("iam", "load", example, "--lake", lake_dir)
    assert result["accounts"] == ["012345678901", "200611803367"]
    counts = {
        r["account_id"]: r["n"]
        for r in sql(
            lake_dir,
            """
        select account_id, count(*) as n from iam_principals group by 1""",
        )
    }
    assert counts == {"012345678901": 6, "200611803367": 116}
    assert (
        sql(
            lake_dir,
            """
        select count(*) as n from iam_policies where account_id = 'aws'""",
        )[0]["n"]
        > 0
    )


def test_a_malformed_snapshot_is_one_line_and_nothing_lands(cli, tmp_path, lake_dir):
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"RoleDetailList": [{"RoleName": "x"}]}))
    result = cli("iam", "load", broken, "--lake", lake_dir)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not manifests(Lake(lake_dir))


def test_a_snapshot_is_fetched_from_aws_page_by_page(cli, moto_endpoint, lake_dir):
    import boto3

    iam = boto3.client("iam", endpoint_url=moto_endpoint, region_name="us-east-1")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"Service": "lambda.amazonaws.com"},
            }
        ],
    }
    suffix = lake_dir.parent.name[-8:]
    for n in range(3):
        role = f"fetched-{suffix}-{n}"
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))
        iam.put_role_policy(
            RoleName=role,
            PolicyName="read",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:Get*Tagging", "Resource": "*"}],
                }
            ),
        )
    result = cli.json(
        "iam", "load", "--from-aws", "--endpoint-url", moto_endpoint, "--lake", lake_dir
    )
    assert result["is_new"] and result["source"] == "aws:default credentials"
    rows = sql(
        lake_dir,
        f"""
        select principal_arn, list(action order by action) as actions from iam_grants
        where principal_arn like '%fetched-{suffix}-%' group by 1 order by 1""",
    )
    assert len(rows) == 3
    assert {"s3:GetBucketTagging", "s3:GetObjectTagging"} <= set(rows[0]["actions"])
    assert all(a.startswith("s3:Get") and a.endswith("Tagging") for a in rows[0]["actions"])


def test_a_file_and_from_aws_together_are_a_usage_error(cli, lake_dir):
    result = cli("iam", "load", PROD, "--from-aws", "--lake", lake_dir)
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: give either a snapshot FILE or --from-aws"


def test_an_aws_managed_policy_is_seen_from_the_newest_snapshot_that_holds_it(sample_lake):
    # prod's snapshot holds AmazonSSMManagedInstanceCore; dev's, captured as late, does not
    rows = api.run_sql(
        "select policy_arn, count(*) as n from iam_policies "
        "where policy_arn = 'arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore' group by 1",
        sample_lake,
    ).to_pylist()
    assert [r["n"] for r in rows] == [1]
