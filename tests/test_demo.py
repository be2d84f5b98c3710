"""The demo runs the whole flow through an in-process S3 emulator, with no AWS account."""

from __future__ import annotations

import pytest

from tests.given import SAMPLE_LOGS, Cli

# The two tests of the demo's output read one run of it (the whole flow through the emulator:
# ~10 s); one worker runs both, so it runs once.
pytestmark = [pytest.mark.xdist_group("demo")]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """One ``trailwise demo`` of sample_logs: its lake and its result."""
    lake_dir = tmp_path_factory.mktemp("demo") / "lake"
    return lake_dir, Cli()("demo", "--lake", lake_dir, "--sample-logs", SAMPLE_LOGS)


def test_the_demo_ingests_sample_logs_through_s3_and_a_second_run_finds_nothing_new(cli, demo_run):
    lake_dir, result = demo_run
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "S3 emulator at http://127.0.0.1:" in out
    assert (
        "== ingest run 1 (trailwise ingest s3://acme-cloudtrail-logs s3://acme-cloudtrail-logs/org-trail)"
        in out
    )
    run1, run2 = out.split("== ingest run 2")[0], out.split("== ingest run 2")[1]
    assert " 0 already in the lake" in run1
    assert "0 ingested" in run2.split("\n")[2]
    assert "lake_summary" in out and "(all)" in out
    assert "== who used which IAM actions" in out
    assert (
        "arn:aws:iam::111122223333:role/app-role" in out.split("== who used which IAM actions")[1]
    )

    # make demo ends with the report of the demo lake, printing where it is.
    report = cli("report", "--lake", lake_dir, "--output", lake_dir.parent / "demo-report.html")
    assert report.exit_code == 0, report.stderr
    assert report.stdout.strip() == str(lake_dir.parent / "demo-report.html")
    assert "github-actions-deploy" in (lake_dir.parent / "demo-report.html").read_text("utf-8")


def test_the_demo_ends_with_the_payoff_suggestion_diff_trust_and_a_resource_policy(demo_run):
    out = demo_run[1].stdout
    suggestion = out.split("== trailwise policy suggest")[1].split("== trailwise policy diff")[0]
    assert '"Action": "iam:PassRole"' in suggestion
    assert "iam:PassedToService" in suggestion
    diff = out.split("== trailwise policy diff")[1].split("== trailwise policy trust")[0]
    assert "Remove (granted, observable, not used in the window):" in diff
    trust = out.split("== trailwise policy trust")[1].split("== trailwise policy resource")[0]
    assert "repo:acme/app:ref:refs/heads/main" in trust
    resource = out.split("== trailwise policy resource")[1]
    assert "admits all of account 444455556666, where only" in resource
    assert '"AWS": "arn:aws:iam::444455556666:role/dev-sandbox-role"' in resource


def test_the_demo_without_sample_logs_says_what_is_missing(cli, tmp_path, lake_dir):
    result = cli("demo", "--lake", lake_dir, "--sample-logs", tmp_path)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"error: {tmp_path} holds no AWSLogs/ tree (pass --sample-logs DIR)"
    )
