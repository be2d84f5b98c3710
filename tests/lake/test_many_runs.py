"""Many short runs, as an hourly job makes them: what grows with runs is kept small by the job
itself, and nothing is lost or doubled on the way."""

from __future__ import annotations

from tests.given import an_event, given_delivery_file
from trailwise.pipeline import api
from trailwise.pipeline.lake import EVENTS_TABLE, Lake
from trailwise.pipeline.lake.tables import OBJECTS_TABLE, RUNS_TABLE


def test_a_job_of_many_short_runs_compacts_itself_every_so_often(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAILWISE_MAINTAIN_EVERY", "5")
    lake_dir = tmp_path / "lake"
    summaries = []
    for hour in range(12):
        given_delivery_file(
            tmp_path / "logs",
            [an_event(eventTime=f"2026-11-02T{hour:02d}:10:00Z") for _ in range(2)],
            name=f"hour-{hour:02d}",
        )
        summaries.append(api.ingest([str(tmp_path / "logs")], lake_dir).to_dict())
    assert [s["events_written"] for s in summaries] == [2] * 12
    assert [s["files_skipped"] for s in summaries] == list(range(12))
    assert [n for n, s in enumerate(summaries, 1) if s["compacted"]] == [5, 10]
    lake = Lake(lake_dir)
    # Compacted at run 10; runs 11 and 12 added a file each.
    assert len(lake.data_files(EVENTS_TABLE)) == 3
    assert len(lake.data_files(OBJECTS_TABLE)) == 3
    assert len(lake.data_files(RUNS_TABLE)) == 4  # run 10's own line came after the merge
    assert api.run_sql("select count(*) as n from events", lake_dir).to_pylist() == [{"n": 24}]
    assert [r["command"] for r in lake.runs()] == ["ingest"] * 12


def test_a_compaction_counts_as_the_jobs_own(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAILWISE_MAINTAIN_EVERY", "3")
    lake_dir = tmp_path / "lake"
    for hour in range(4):
        given_delivery_file(tmp_path / "logs", [an_event()], name=f"hour-{hour}")
        summary = api.ingest([str(tmp_path / "logs")], lake_dir).to_dict()
        assert summary["compacted"] is None, hour
        if hour == 1:
            api.compact(lake_dir)
    assert [r["command"] for r in Lake(lake_dir).runs()] == [
        "ingest",
        "ingest",
        "compact",
        "ingest",
        "ingest",
    ]


def test_a_runs_lookup_reads_only_the_records_its_listing_meets(tmp_path):
    lake_dir = tmp_path / "lake"
    for day in range(1, 6):
        given_delivery_file(tmp_path / f"logs{day}", [an_event()], day=f"2026/11/0{day}")
        api.ingest([str(tmp_path / f"logs{day}")], lake_dir)
    lake = Lake(lake_dir)
    uris = sorted(lake.load(OBJECTS_TABLE).scan().to_arrow().column("uri").to_pylist())
    assert len(lake.data_files(OBJECTS_TABLE)) == 5
    # Day 3's listing (a bucket source lists recent day prefixes) meets one run's records.
    assert len(lake.record_files([uris[2]])) == 1
    assert len(lake.record_files(uris[1:3])) == 2


def test_a_lake_whose_folder_name_has_a_space_and_a_quote_keeps_its_tables_in_it(tmp_path):
    lake_dir = tmp_path / "o'b lake"
    given_delivery_file(tmp_path / "logs", [an_event(), an_event()])
    api.ingest([str(tmp_path / "logs")], lake_dir)
    api.compact(lake_dir)
    assert api.run_sql("select count(*) as n from events", lake_dir).to_pylist() == [{"n": 2}]
    assert all(f.startswith(f"{lake_dir}/warehouse/") for f in Lake(lake_dir).data_files())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logs", "o'b lake"]
