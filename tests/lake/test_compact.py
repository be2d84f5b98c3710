"""compact merges a day's files without changing a single row."""

from __future__ import annotations

from tests.given import an_event, given_delivery_file
from trailwise.pipeline import api
from trailwise.pipeline.lake import Lake

ALL_ROWS = "select * exclude (source_uri) from events order by event_id, recipient_account_id"


def test_compact_merges_each_days_files_and_keeps_every_row(cli, tmp_path, lake_dir):
    for hour in range(4):
        given_delivery_file(
            tmp_path / f"run{hour}",
            [
                an_event(eventTime=f"2026-11-02T0{hour}:00:00Z"),
                an_event(eventTime=f"2026-11-03T0{hour}:00:00Z", recipientAccountId="444455556666"),
            ],
        )
        cli.json("ingest", tmp_path / f"run{hour}", "--lake", lake_dir)
    before = api.run_sql(ALL_ROWS, lake_dir).to_pylist()
    assert len(Lake(lake_dir).data_files()) == 8

    result = cli.json("compact", "--lake", lake_dir)

    assert (result["days_compacted"], result["files_before"], result["files_after"]) == (2, 8, 2)
    assert len(Lake(lake_dir).data_files()) == 2
    assert api.run_sql(ALL_ROWS, lake_dir).to_pylist() == before


def test_ingest_after_compact_still_deduplicates(cli, tmp_path, lake_dir):
    given_delivery_file(tmp_path / "a", [an_event()])
    given_delivery_file(tmp_path / "b", [an_event()])
    cli.json("ingest", tmp_path / "a", "--lake", lake_dir)
    cli.json("ingest", tmp_path / "b", "--lake", lake_dir)
    cli.json("compact", "--lake", lake_dir)
    copy = tmp_path / "copy"
    (copy).mkdir()
    for p in (tmp_path / "a").rglob("*.gz"):
        (copy / p.name).write_bytes(p.read_bytes())
    summary = cli.json("ingest", copy, "--lake", lake_dir)
    assert (summary["events_written"], summary["duplicates"]) == (0, 1)


def test_compact_on_a_tidy_lake_changes_nothing(cli, tmp_path, lake_dir):
    given_delivery_file(tmp_path / "logs", [an_event()])
    cli.json("ingest", tmp_path / "logs", "--lake", lake_dir)
    files = Lake(lake_dir).data_files()
    result = cli.json("compact", "--lake", lake_dir)
    assert result["files_before"] == 0
    assert Lake(lake_dir).data_files() == files
