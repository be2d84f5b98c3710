"""Aggregated events (5-minute summaries of data events) are records of their own, not broken
events: they land once in aggregated_events and the counts reconcile."""

from __future__ import annotations

import json

from tests.given import (
    REALDATA,
    an_aggregated_event,
    an_event,
    given_delivery_file,
    given_file,
    reconciles,
)
from trailwise.pipeline import api

AWSDOCS = REALDATA / "awsdocs-cloudtrail-2025"


def aggregated(lake_dir):
    return api.run_sql(
        "select event_id, recipient_account_id, event_time, window_end, window_size, template, "
        "primary_dimension, summary, event_source, aws_region from aggregated_events "
        "order by event_id",
        lake_dir,
    ).to_pylist()


def test_the_documented_aggregated_events_land_in_their_own_table(cli, lake_dir):
    summary = cli.json("ingest", AWSDOCS, "--lake", lake_dir)
    assert reconciles(summary)
    assert (summary["aggregated_written"], summary["records_quarantined"]) == (2, 0)
    assert summary["events_written"] == 2  # the two network activity events beside them
    rows = {r["event_id"]: r for r in aggregated(lake_dir)}
    api_activity = rows["62759c1a-6248-48e1-a6b3-d5fb7e6c4bc0"]
    assert api_activity["template"] == "API_ACTIVITY"
    assert api_activity["primary_dimension"] == "eventName"
    assert (str(api_activity["event_time"]), str(api_activity["window_end"])) == (
        "2025-11-17 19:20:00",
        "2025-11-17 19:25:00",
    )
    assert api_activity["recipient_account_id"] == "111122223333"
    assert json.loads(api_activity["summary"])["details"][0]["statistics"][0] == {
        "name": "arn:aws:s3:::bucket-1",
        "value": 800,
    }
    assert rows["2ed87efa-45c1-412d-bc38-7e0879faa6df"]["template"] == "RESOURCE_ACCESS"
    events = api.run_sql("select count(*) as n from events", lake_dir).to_pylist()
    assert events == [{"n": 2}]


def test_an_aggregated_record_delivered_twice_is_kept_once(cli, tmp_path, lake_dir):
    record = an_aggregated_event()
    given_delivery_file(tmp_path / "account-trail", [record, an_event()])
    given_delivery_file(tmp_path / "org-trail", [record], org="o-a1b2c3d4e5")
    summary = cli.json(
        "ingest", tmp_path / "account-trail", tmp_path / "org-trail", "--lake", lake_dir
    )
    assert reconciles(summary)
    assert (summary["aggregated_written"], summary["duplicates"]) == (1, 1)
    again = cli.json("ingest", tmp_path, "--lake", tmp_path / "second")
    assert (again["aggregated_written"], again["duplicates"]) == (1, 1)
    assert len(aggregated(lake_dir)) == 1


def test_an_aggregated_record_without_eventid_is_quarantined_with_the_reason(
    cli, tmp_path, lake_dir
):
    broken = an_aggregated_event()
    del broken["eventId"]
    no_window = an_aggregated_event(timeWindow={"windowSize": "PT5M"})
    given_delivery_file(tmp_path / "logs", [broken, no_window, an_aggregated_event()])
    summary = cli.json("ingest", tmp_path / "logs", "--lake", lake_dir)
    assert reconciles(summary)
    assert summary["aggregated_written"] == 1
    assert summary["quarantine_reasons"] == {
        "aggregated event without eventId": 1,
        "aggregated event without a usable timeWindow.windowStart": 1,
    }


def test_the_window_filters_aggregated_records_by_their_start(cli, tmp_path, lake_dir):
    early = an_aggregated_event(
        timeWindow={"windowStart": "2026-10-01T10:00:00Z", "windowEnd": "2026-10-01T10:05:00Z"}
    )
    given_delivery_file(tmp_path / "logs", [early, an_aggregated_event()])
    summary = cli.json("ingest", tmp_path / "logs", "--since", "2026-11-01", "--lake", lake_dir)
    assert reconciles(summary)
    assert (summary["aggregated_written"], summary["records_filtered"]) == (1, 1)


def test_status_and_compact_count_and_keep_the_aggregated_records(cli, tmp_path, lake_dir):
    for name in ("a", "b"):
        given_delivery_file(tmp_path / name, [an_aggregated_event()])
        cli.json("ingest", tmp_path / name, "--lake", lake_dir)
    assert cli.json("status", "--lake", lake_dir)["aggregated_events"] == 2
    before = aggregated(lake_dir)
    compacted = cli.json("compact", "--lake", lake_dir)
    assert compacted["rows"] == 2 and compacted["files_after"] == 1
    assert aggregated(lake_dir) == before


def test_a_file_that_is_only_aggregated_records_is_cloudtrail_not_something_else(
    cli, tmp_path, lake_dir
):
    given_file(
        tmp_path / "logs" / "summaries.json",
        json.dumps({"Records": [an_aggregated_event(), an_aggregated_event()]}),
    )
    summary = cli.json("ingest", tmp_path / "logs", "--lake", lake_dir)
    assert (summary["files_ingested"], summary["aggregated_written"]) == (1, 2)
