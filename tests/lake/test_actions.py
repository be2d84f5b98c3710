"""The lake's derived facts: every event's IAM actions, kept in step with the events table."""

from __future__ import annotations

from tests.given import an_event, given_delivery_file
from trailwise.pipeline import api
from trailwise.pipeline.lake import ACTIONS_TABLE, Lake

DENIED = (
    "AccessDenied",
    "AccessDeniedException",
    "Client.UnauthorizedOperation",
    "UnauthorizedOperation",
    "Client.OperationNotPermitted",
)


def sql(lake, text):
    return api.run_sql(text, lake).to_pylist()


def test_every_event_has_its_actions_or_a_classification(sample_lake):
    [row] = sql(
        sample_lake,
        """
        select
            (select count(*) from events) as events,
            (select count(distinct (event_id, recipient_account_id, event_time)) from event_actions)
                as mapped
    """,
    )
    assert row["events"] == row["mapped"] > 400


def test_every_action_in_the_lake_exists_in_the_catalogue(sample_lake):
    missing = sql(
        sample_lake,
        """
        select distinct action from event_actions
        where action is not null and action not in (select action from iam_actions)
    """,
    )
    assert missing == []


def test_denied_calls_are_never_counted_as_used(sample_lake):
    denied = sql(
        sample_lake,
        f"""
        select distinct principal_arn, action from event_actions
        where error_code in {DENIED!r} and action is not null
    """,
    )
    assert denied, "sample_logs holds denied calls"
    assert {
        r["is_authorized"]
        for r in sql(
            sample_lake,
            f"""
        select is_authorized from event_actions where error_code in {DENIED!r}""",
        )
    } == {False}
    used = api.run_named(
        "used_actions", sample_lake, {"since": "2026-11-01", "until": "2026-11-06"}
    ).to_pylist()
    used_pairs = {(r["principal_arn"], r["action"]) for r in used}
    only_denied = [d for d in denied if (d["principal_arn"], d["action"]) not in used_pairs]
    assert only_denied, "some denied actions were never also used successfully"


def test_a_role_passing_call_records_pass_role_on_the_role(sample_lake):
    rows = sql(
        sample_lake,
        """
        select action, resource_arn, inferred_from from event_actions
        where event_name like 'CreateFunction%' and action = 'iam:PassRole'
    """,
    )
    assert rows and all(r["resource_arn"].startswith("arn:aws:iam::") for r in rows)
    assert all(
        "PassRole" in r["inferred_from"] or "role" in r["inferred_from"].lower() for r in rows
    )


def test_used_actions_names_service_and_access_level_per_resource(sample_lake):
    rows = api.run_named(
        "used_actions",
        sample_lake,
        {
            "since": "2026-11-01",
            "until": "2026-11-06",
            "principal_arn": "arn:aws:iam::111122223333:role/app-role",
        },
    ).to_pylist()
    actions = {r["action"] for r in rows}
    assert {"s3:GetObject", "dynamodb:GetItem"} <= actions
    assert "sqs:DeleteMessage" not in actions  # granted to app-role, never used
    assert all(r["service"] == r["action"].split(":")[0] and r["access_level"] for r in rows)


def test_sample_logs_are_fully_classified(sample_lake):
    coverage = api.run_named("action_coverage", sample_lake).to_pylist()
    assert all(r["pair_share"] >= 0.99 for r in coverage)
    assert api.run_named("unmapped_events", sample_lake).num_rows == sum(
        r["pairs"] - r["pairs_classified"] for r in coverage
    )


def test_remap_rederives_the_same_facts_in_one_commit(cli, tmp_path, lake_dir):
    given_delivery_file(
        tmp_path / "logs",
        [
            an_event(),
            an_event(
                eventName="GetObject",
                eventCategory="Data",
                requestParameters={"bucketName": "b", "key": "k"},
            ),
        ],
    )
    cli.json("ingest", tmp_path / "logs", "--lake", lake_dir)
    before = sql(lake_dir, "select * exclude (mapping_version) from event_actions order by all")
    files_before = Lake(lake_dir).data_files("trailwise.event_actions")
    result = cli.json("remap", "--lake", lake_dir)
    assert result["files_mapped"] == result["files_dropped"] == len(files_before)
    assert (
        sql(lake_dir, "select * exclude (mapping_version) from event_actions order by all")
        == before
    )
    assert Lake(lake_dir).data_files("trailwise.event_actions") != files_before
    assert cli.json("status", "--lake", lake_dir)["stale_action_rows"] == 0


def test_actions_lost_to_a_crash_are_restored_by_the_next_run(cli, tmp_path, lake_dir):
    given_delivery_file(tmp_path / "logs", [an_event(), an_event()])
    cli.json("ingest", tmp_path / "logs", "--lake", lake_dir)
    # What a SIGKILL between the events commit and the actions commit leaves: no actions.
    table = Lake(lake_dir).load(ACTIONS_TABLE)
    with table.transaction() as tx, tx.update_snapshot().overwrite() as overwrite:
        for task in table.scan().plan_files():
            overwrite.delete_data_file(task.file)
    assert sql(lake_dir, "select count(*) as n from event_actions") == [{"n": 0}]
    again = cli.json("ingest", tmp_path / "logs", "--lake", lake_dir)
    assert again["events_written"] == 0
    assert sql(lake_dir, "select count(*) as n from event_actions") == [{"n": 2}]


def test_compact_keeps_one_actions_file_per_events_file(cli, tmp_path, lake_dir):
    for n in range(3):
        given_delivery_file(tmp_path / f"run{n}", [an_event(), an_event()])
        cli.json("ingest", tmp_path / f"run{n}", "--lake", lake_dir)
    cli.json("compact", "--lake", lake_dir)
    lake = Lake(lake_dir)
    assert len(lake.data_files()) == len(lake.data_files("trailwise.event_actions")) == 1
    assert sql(lake_dir, "select count(*) as n from event_actions") == [{"n": 6}]
