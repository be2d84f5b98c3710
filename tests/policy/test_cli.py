"""trailwise policy suggest | diff | trust | bulk, through the real typer app."""

from __future__ import annotations

import csv
import json
import re

from tests.given import APP_ROLE

CI_ROLE = "arn:aws:iam::111122223333:role/github-actions-deploy"
DEV_DEPLOY = "arn:aws:iam::444455556666:role/ci-dev-deploy"


def test_suggest_writes_terraform_and_explains_each_action_on_stderr(cli, sample_lake, tmp_path):
    out = tmp_path / "policy.tf"
    result = cli(
        "policy", "suggest", CI_ROLE, "--lake", sample_lake, "--format", "terraform",
        "--output", out, "--explain", "--since", "2026-11-01", "--until", "2026-11-05",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert out.read_text().startswith(
        'data "aws_iam_policy_document" "github-actions-deploy-least-privilege" {'
    )
    assert "IamPassRoleToLambda" in result.stderr
    assert "note: left out iam:CreateRole" in result.stderr


def test_suggest_prints_a_valid_json_policy_without_denied_calls(cli, sample_lake):
    result = cli("policy", "suggest", APP_ROLE, "--lake", sample_lake)
    assert result.exit_code == 0, result.stderr
    policy = json.loads(result.stdout)
    actions = {
        a
        for s in policy["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert "s3:GetObject" in actions and "dynamodb:PutItem" not in actions


def test_an_unknown_principal_is_one_error_line_and_exit_1(cli, sample_lake):
    nobody = "arn:aws:iam::111122223333:role/nobody"
    result = cli("policy", "suggest", nobody, "--lake", sample_lake)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_diff_as_json_lists_what_to_cut_and_the_replacement(cli, sample_lake):
    report = cli.json("policy", "diff", APP_ROLE, "--lake", sample_lake)
    removable = {a["action"] for a in report["removable"]}
    assert {"s3:DeleteObject", "dynamodb:Scan", "sqs:DeleteMessage"} <= removable
    assert report["summary"]["removable"] == len(report["removable"])
    assert report["replacement"]
    without = cli.json("policy", "diff", APP_ROLE, "--lake", sample_lake, "--no-replacement")
    assert "replacement" not in without


def test_diff_as_text_is_a_report_for_people(cli, sample_lake):
    result = cli("policy", "diff", APP_ROLE, "--lake", sample_lake)
    assert result.exit_code == 0, result.stderr
    assert APP_ROLE in result.stdout and "s3:DeleteObject" in result.stdout


def test_trust_prints_the_suggested_policy_pinned_to_the_observed_subject(cli, sample_lake):
    result = cli("policy", "trust", CI_ROLE, "--lake", sample_lake, "--format", "policy")
    assert result.exit_code == 0, result.stderr
    [statement] = json.loads(result.stdout)["Statement"]
    assert statement["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == (
        "repo:acme/app:ref:refs/heads/main"
    )


def test_trust_as_cloudformation_is_a_role_with_the_suggested_trust_policy(cli, sample_lake):
    result = cli("policy", "trust", DEV_DEPLOY, "--lake", sample_lake, "--format", "cloudformation")
    assert result.exit_code == 0, result.stderr
    [resource] = json.loads(result.stdout)["Resources"].values()
    assert resource["Type"] == "AWS::IAM::Role"
    [statement] = resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"AWS": CI_ROLE}


def test_trust_of_a_role_nobody_assumed_has_no_policy_to_print(cli, sample_lake):
    role = "arn:aws:iam::111122223333:role/OrganizationAccountAccessRole"
    report = cli("policy", "trust", role, "--lake", sample_lake)
    assert report.exit_code == 0 and "nobody" in report.stdout
    policy = cli("policy", "trust", role, "--lake", sample_lake, "--format", "policy")
    assert policy.exit_code != 0 and "no trust policy to suggest" in policy.stderr


def test_bulk_writes_an_index_and_prints_the_reductions(cli, sample_lake, tmp_path):
    result = cli(
        "policy", "bulk", "--lake", sample_lake, "--out", tmp_path, "--account", "111122223333"
    )
    assert result.exit_code == 0, result.stderr
    with (tmp_path / "index.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert {r["account_id"] for r in rows} == {"111122223333"}
    assert f"{APP_ROLE}: " in result.stdout and "removable" in result.stdout


ORDERS_FUNCTION = "arn:aws:lambda:us-east-1:111122223333:function:orders-processor"


def test_resource_reports_who_used_a_function_and_exits_0(cli, sample_lake):
    result = cli("policy", "resource", ORDERS_FUNCTION, "--lake", sample_lake)
    assert result.exit_code == 0, result.stderr
    assert f"Resource policy of {ORDERS_FUNCTION}" in result.stdout
    assert "apigateway.amazonaws.com: 6 calls" in result.stdout


def test_resource_prints_the_suggested_policy_alone(cli, sample_lake):
    result = cli("policy", "resource", ORDERS_FUNCTION, "--lake", sample_lake, "--format", "policy")
    assert result.exit_code == 0, result.stderr
    services = {s["Principal"]["Service"] for s in json.loads(result.stdout)["Statement"]}
    assert services == {"apigateway.amazonaws.com", "events.amazonaws.com"}


def test_resource_json_report_counts_the_calls(cli, sample_lake):
    report = cli.json("policy", "resource", ORDERS_FUNCTION, "--lake", sample_lake)
    assert report["calls"] == sum(c["calls"] for c in report["callers"])
    assert report["resource_arn"] == ORDERS_FUNCTION


def test_resource_without_a_policy_to_suggest_is_one_error_line(cli, sample_lake):
    bucket = "arn:aws:s3:::acme-prod-reports"  # no policy, used by its own account only
    result = cli("policy", "resource", bucket, "--lake", sample_lake, "--format", "policy")
    assert result.exit_code == 1
    assert "needs no resource policy" in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2  # the error and its hint


def test_resource_of_an_arn_without_a_resource_policy_is_a_usage_error(cli, sample_lake):
    result = cli("policy", "resource", "arn:aws:iam::111122223333:role/x", "--lake", sample_lake)
    assert result.exit_code != 0
    assert "is not the ARN of a resource with a resource-based policy" in result.stderr


def test_resource_writes_one_lambda_permission_per_service_in_terraform(cli, sample_lake):
    result = cli(
        "policy", "resource", ORDERS_FUNCTION, "--lake", sample_lake, "--format", "terraform"
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count('resource "aws_lambda_permission"') == 2
    assert re.search(r'principal\s+= "events.amazonaws.com"', result.stdout)
