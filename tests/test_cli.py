"""The command line: documented, one-line errors, machine-readable output."""

from __future__ import annotations

import json
import re

import pyarrow.parquet as pq
import pytest
import typer

from tests.given import REPO, an_event, given_delivery_file
from trailwise.cli.main import app

COMMANDS = sorted(c.name or c.callback.__name__ for c in app.registered_commands)


def given_a_lake(cli, tmp_path, lake_dir, events=None):
    given_delivery_file(tmp_path / "logs", events or [an_event(), an_event(eventName="GetObject")])
    cli.json("ingest", tmp_path / "logs", "--lake", lake_dir)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_and_appears_in_the_readme(cli, command):
    result = cli(command, "--help")
    assert result.exit_code == 0
    assert len(result.stdout) > 100
    readme = (REPO / "README.md").read_text()
    assert re.search(rf"trailwise {command}\b", readme), f"README does not document {command}"


def test_query_sql_prints_a_json_array_of_row_objects(cli, tmp_path, lake_dir):
    given_a_lake(cli, tmp_path, lake_dir)
    result = cli(
        "query",
        "--sql",
        "select event_name, count(*) as n from events group by 1 order by 1",
        "--lake",
        lake_dir,
        "--format",
        "json",
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout) == [
        {"event_name": "GetObject", "n": 1},
        {"event_name": "ListBuckets", "n": 1},
    ]


def test_query_writes_csv_and_parquet(cli, tmp_path, lake_dir):
    given_a_lake(cli, tmp_path, lake_dir)
    csv = cli(
        "query",
        "--sql",
        "select event_name from events order by 1",
        "--lake",
        lake_dir,
        "--format",
        "csv",
    )
    assert csv.stdout.splitlines() == ['"event_name"', '"GetObject"', '"ListBuckets"']
    out = tmp_path / "out.parquet"
    cli("query", "lake_summary", "--lake", lake_dir, "--format", "parquet", "--output", out)
    assert pq.read_table(out).column("events").to_pylist()[0] == 2


def test_sql_that_writes_is_refused_in_one_line(cli, tmp_path, lake_dir):
    given_a_lake(cli, tmp_path, lake_dir)
    result = cli("query", "--sql", "copy events to '/tmp/x.csv'", "--lake", lake_dir)
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: only read-only SELECT statements run here, not COPY"


def test_an_unknown_query_names_the_known_ones(cli, tmp_path, lake_dir):
    given_a_lake(cli, tmp_path, lake_dir)
    result = cli("query", "no_such_thing", "--lake", lake_dir)
    assert result.exit_code == 1
    assert "no query named 'no_such_thing'" in result.stderr
    assert "lake_summary" in result.stderr


def test_an_unknown_parameter_lists_the_valid_ones(cli, tmp_path, lake_dir):
    given_a_lake(cli, tmp_path, lake_dir)
    result = cli("query", "lake_summary", "--param", "colour=red", "--lake", lake_dir)
    assert result.exit_code == 1
    assert (
        result.stderr.strip() == "error: query lake_summary has no parameter colour (valid: none)"
    )


def test_commands_on_a_missing_lake_say_so_in_one_line(cli, tmp_path):
    for args in (["status"], ["query", "lake_summary"], ["compact"]):
        result = cli(*args, "--lake", tmp_path / "nope")
        assert result.exit_code == 1
        assert result.stderr.startswith(f"error: no trailwise lake at {tmp_path / 'nope'}")
        assert len(result.stderr.strip().splitlines()) == 1


def test_the_lake_comes_from_the_environment_when_not_given(cli, tmp_path, monkeypatch):
    given_delivery_file(tmp_path / "logs", [an_event()])
    monkeypatch.setenv("TRAILWISE_LAKE", str(tmp_path / "env-lake"))
    assert cli.json("ingest", tmp_path / "logs")["lake"] == str(tmp_path / "env-lake")
    assert cli.json("status")["events"] == 1


def test_status_reports_what_the_lake_holds_and_the_last_runs(cli, tmp_path, lake_dir):
    given_a_lake(cli, tmp_path, lake_dir)
    info = cli.json("status", "--lake", lake_dir)
    assert (info["events"], info["accounts"], info["runs"]) == (2, 1, 1)
    assert info["last_runs"][0]["events_written"] == 2
    text = cli("status", "--lake", lake_dir).stdout
    assert "events: 2 in 1 files" in text


def test_a_bad_time_is_a_usage_error_not_a_traceback(cli, tmp_path, lake_dir):
    result = cli("ingest", tmp_path, "--lake", lake_dir, "--since", "last tuesday")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot read 'last tuesday' as a time")


def test_the_typer_app_never_shows_locals_in_tracebacks():
    assert isinstance(app, typer.Typer)
    assert app.pretty_exceptions_show_locals is False


def every_command_path() -> list[tuple[str, ...]]:
    """("ingest",), ("iam", "load"), ("policy", "suggest"), ...: each command the app has."""
    paths = [(c.name or c.callback.__name__,) for c in app.registered_commands]
    for group in app.registered_groups:
        paths += [(group.name, c.name) for c in group.typer_instance.registered_commands]
    return sorted(paths)


def readme_headings() -> dict[tuple[str, ...], str]:
    """The command reference: command path -> its heading line."""
    headings: dict[tuple[str, ...], str] = {}
    for line in (REPO / "README.md").read_text().splitlines():
        m = re.match(r"^### `trailwise ((?:[a-z][a-z-]* ?)+)(.*)`", line)
        if m:
            headings.setdefault(tuple(m.group(1).split()), "")
            headings[tuple(m.group(1).split())] += m.group(2)
    return headings


@pytest.mark.parametrize("path", every_command_path(), ids=" ".join)
def test_the_readme_heading_of_each_command_names_only_options_it_has(cli, path):
    headings = readme_headings()
    assert path in headings, f"README has no heading for trailwise {' '.join(path)}"
    help_text = cli(*path, "--help").stdout
    for option in re.findall(r"--[a-z][a-z-]*", headings[path]):
        assert option in help_text, f"trailwise {' '.join(path)} has no {option}"
