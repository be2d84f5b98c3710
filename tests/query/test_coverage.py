"""What the lake holds over time: lake_coverage's days and gaps, identity_paths' split by day."""

from __future__ import annotations

from datetime import date

from trailwise.pipeline import api

WINDOW = {"since": "2026-11-01", "until": "2026-11-06"}


def test_coverage_counts_every_event_of_the_window_once(sample_lake):
    coverage = api.run_named("lake_coverage", sample_lake, WINDOW).to_pylist()
    total = api.run_named("lake_summary", sample_lake).to_pylist()[0]["events"]
    assert sum(row["events"] for row in coverage) == total


def test_a_day_an_account_delivered_nothing_is_an_account_gap(sample_lake):
    coverage = api.run_named("lake_coverage", sample_lake, WINDOW).to_pylist()
    gaps = {(r["account_id"], r["event_date"]) for r in coverage if r["is_account_gap"]}
    # The organisation's management account has no events on the sample's last day.
    assert gaps == {("999988887777", date(2026, 11, 4))}
    assert all(r["is_region_gap"] for r in coverage if r["is_account_gap"])


def test_every_account_and_region_gets_every_day_of_the_span(sample_lake):
    coverage = api.run_named("lake_coverage", sample_lake, WINDOW).to_pylist()
    days = {r["event_date"] for r in coverage}
    places = {(r["account_id"], r["aws_region"]) for r in coverage}
    assert len(coverage) == len(days) * len(places)


def test_coverage_of_a_window_without_events_is_empty(sample_lake):
    assert api.run_named("lake_coverage", sample_lake, {"since": "2030-01-01"}).num_rows == 0


def test_identity_paths_split_by_day_adds_up_to_each_rows_events(sample_lake):
    rows = api.run_named("identity_paths", sample_lake, WINDOW).to_pylist()
    assert rows
    for row in rows:
        assert sum(day["events"] for day in row["events_by_day"]) == row["events"]
        days = [day["event_date"] for day in row["events_by_day"]]
        assert days == sorted(days)
        assert row["first_seen"].date() == days[0] and row["last_seen"].date() == days[-1]


def test_authorization_failures_of_one_account_are_that_accounts_denied_events(sample_lake):
    every = api.run_named("authorization_failure_events", sample_lake, WINDOW).to_pylist()
    for account in {row["account_id"] for row in every}:
        params = {**WINDOW, "account_id": account}
        failures = api.run_named("authorization_failures", sample_lake, params).to_pylist()
        mine = [row for row in every if row["account_id"] == account]
        assert sum(row["failures"] for row in failures) == len(mine)
