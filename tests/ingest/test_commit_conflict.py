"""A commit that another writer beat to the catalog is not lost and doubles nothing: the run
reads the table again, deduplicates against what the other writer added, and commits again."""

from __future__ import annotations

import json

import pytest
from pyiceberg.catalog.sql import SqlCatalog

from tests.given import an_event, given_delivery_file, reconciles
from trailwise.pipeline import api
from trailwise.pipeline.decode import decode_bytes
from trailwise.pipeline.lake import EVENTS_TABLE, Lake


def another_writer_commits_first(monkeypatch, lake_dir, events=None, times=1):
    """The next ``times`` commits to the events table find that another writer (a second
    catalog connection) appended ``events`` (default: a new event) a moment before: the
    catalog refuses them."""
    real_commit = SqlCatalog.commit_table
    state = {"left": times, "other_writing": False}

    def commit_table(self, table, requirements, updates):
        if table.name()[-1] == "events" and state["left"] > 0 and not state["other_writing"]:
            state["left"] -= 1
            state["other_writing"] = True
            try:
                other = Lake(lake_dir).load(EVENTS_TABLE)
                data = json.dumps({"Records": events or [an_event()]}).encode()
                rows = decode_bytes(data, "other.json", "file:///other-writer.json").table()
                other.append(rows.cast(other.schema().as_arrow()))
            finally:
                state["other_writing"] = False
        return real_commit(self, table, requirements, updates)

    monkeypatch.setattr(SqlCatalog, "commit_table", commit_table)


def test_a_run_beaten_to_the_commit_deduplicates_again_and_commits(tmp_path, monkeypatch):
    lake_dir = tmp_path / "lake"
    shared, mine = an_event(), an_event()
    given_delivery_file(tmp_path / "first", [an_event()])
    api.ingest([str(tmp_path / "first")], lake_dir)  # the tables exist
    given_delivery_file(tmp_path / "logs", [shared, mine])
    another_writer_commits_first(monkeypatch, lake_dir, [shared, an_event()])
    summary = api.ingest([str(tmp_path / "logs")], lake_dir).to_dict()
    assert (summary["events_written"], summary["duplicates"]) == (1, 1)
    assert reconciles(summary)
    ids = api.run_sql("select event_id from events", lake_dir).column("event_id").to_pylist()
    assert len(ids) == 4 == len(set(ids))
    assert mine["eventID"] in ids and shared["eventID"] in ids


def test_a_run_beaten_every_time_gives_up_with_one_clear_line(tmp_path, monkeypatch, cli):
    lake_dir = tmp_path / "lake"
    given_delivery_file(tmp_path / "first", [an_event()])
    api.ingest([str(tmp_path / "first")], lake_dir)
    given_delivery_file(tmp_path / "logs", [an_event()])
    another_writer_commits_first(monkeypatch, lake_dir, times=100)
    with pytest.MonkeyPatch.context() as m:
        m.setattr("trailwise.pipeline.ingest.commit.COMMIT_ATTEMPTS", 3)
        result = cli("ingest", tmp_path / "logs", "--lake", lake_dir)
    assert result.exit_code == 1
    assert "other runs committed first 3 times" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    # Nothing of the beaten run landed; the next run takes its file.
    monkeypatch.undo()
    again = api.ingest([str(tmp_path / "logs")], lake_dir).to_dict()
    assert again["events_written"] == 1
