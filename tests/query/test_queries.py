"""Named queries: headers that match their SQL, and golden answers on sample_logs."""

from __future__ import annotations

import pytest

from tests.given import SAMPLE_LOGS, an_event, given_delivery_file
from trailwise.pipeline import api
from trailwise.pipeline.errors import QueryError, UsageError
from trailwise.pipeline.query import named_queries, parse_query

QUERIES = named_queries()


def test_every_shipped_query_is_found_as_package_data():
    assert "lake_summary" in QUERIES


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_each_query_declares_exactly_the_parameters_it_uses(name):
    query = QUERIES[name]
    inherited = {p.name for used in query.uses for p in QUERIES[used].params}
    assert {p.name for p in query.params} == query.placeholders | inherited
    assert inherited <= {p.name for p in query.params}
    assert query.description and query.columns


# Values of the wrong kind where JSON objects belong: the queries read them through DuckDB's JSON
# functions, which must not fail on the lake's text for them.
ODD_EVENTS = [
    an_event(
        eventSource="sts.amazonaws.com",
        eventName="AssumeRole",
        requestParameters="redacted",
        responseElements="also text",
    ),
    an_event(
        eventSource="sts.amazonaws.com",
        eventName="AssumeRoleWithWebIdentity",
        requestParameters=42,
        responseElements=[1, 2],
    ),
    an_event(
        eventSource="signin.amazonaws.com",
        eventName="ConsoleLogin",
        eventType="AwsConsoleSignIn",
        responseElements="Success",
        additionalEventData="MFAUsed=No",
    ),
    an_event(eventName="CreateUser", userIdentity={"type": "Root", "arn": 5}),
    an_event(
        eventSource="iam.amazonaws.com",
        eventName="PutRolePolicy",
        requestParameters={"policyDocument": "{not json"},
        userIdentity={"type": "AssumedRole", "accessKeyId": 7},
    ),
]


@pytest.fixture(scope="module")
def odd_lake(tmp_path_factory):
    """The odd events and one IAM snapshot, ingested once: the queries only read it."""
    root = tmp_path_factory.mktemp("odd")
    given_delivery_file(root / "logs", [an_event(), *ODD_EVENTS])
    api.ingest([str(root / "logs")], root / "lake")
    api.iam_load(SAMPLE_LOGS / "iam" / "authorization-details-111122223333.json", root / "lake")
    return root / "lake"


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_each_query_returns_the_columns_its_header_promises(name, odd_lake):
    params = {p.name: "2026-11-01" for p in QUERIES[name].params if not p.optional}
    table = api.run_named(name, odd_lake, params)
    assert tuple(table.column_names) == QUERIES[name].columns


def test_a_header_without_a_name_is_rejected_naming_the_file():
    with pytest.raises(QueryError, match=r"broken\.sql: header has no '-- name:' line"):
        parse_query("-- description: x\n-- columns: a\nselect 1 as a", "broken.sql")


def test_lake_summary_counts_events_accounts_and_regions_per_source(tmp_path):
    given_delivery_file(
        tmp_path / "logs",
        [
            an_event(),
            an_event(eventSource="iam.amazonaws.com", eventTime="2026-11-03T08:00:00Z"),
            an_event(recipientAccountId="444455556666", awsRegion="eu-west-1"),
        ],
    )
    api.ingest([str(tmp_path / "logs")], tmp_path / "lake")
    rows = api.run_named("lake_summary", tmp_path / "lake").to_pylist()
    assert [(r["event_source"], r["events"], r["accounts"], r["regions"]) for r in rows] == [
        ("(all)", 3, 2, 2),
        ("s3.amazonaws.com", 2, 2, 2),
        ("iam.amazonaws.com", 1, 1, 1),
    ]
    assert str(rows[0]["last_event_at"]) == "2026-11-03 08:00:00"


def test_notebooks_get_a_polars_frame_with_the_same_answer(sample_lake):
    import polars as pl

    from trailwise.pipeline.query import run_query

    frame = run_query(str(sample_lake), "lake_summary")
    assert isinstance(frame, pl.DataFrame)
    assert frame.to_dicts() == api.run_named("lake_summary", sample_lake).to_pylist()


def test_a_result_too_wide_for_the_terminal_is_shown_one_block_per_row(sample_lake, capsys):
    from trailwise.cli import render

    summary = api.run_named("root_summary", sample_lake, {})
    render.write_table(summary, "table", None)
    out = capsys.readouterr().out
    assert "-[ row 1 ]" in out
    # every column is there by name with its value, none squeezed to nothing
    for name in summary.column_names:
        assert f"\n{name} " in out or f"\n{name}|" in out
    assert "444455556666" in out


def test_the_readme_lists_every_shipped_query_with_each_of_its_parameters():
    readme = (SAMPLE_LOGS.parent / "README.md").read_text(encoding="utf-8")
    rows: dict[str, str] = {}
    for line in readme.splitlines():
        if line.startswith("| `"):
            name = line.split("|")[1].strip().strip("`")
            # "as above" takes the parameters of the row before it
            rows[name] = list(rows.values())[-1] if "as above" in line else line
    for name, query in named_queries().items():
        assert name in rows, f"README has no row for {name}"
        for param in query.params:
            assert f"${param.name}" in rows[name], f"README row of {name} lacks ${param.name}"


def test_duckdb_never_draws_its_progress_bar_into_an_answer(sample_lake):
    # DuckDB draws it on stdout during long queries, inside the JSON or CSV being printed
    from trailwise.pipeline.lake import Lake
    from trailwise.pipeline.query import connect

    con = connect(Lake(sample_lake))
    try:
        setting = con.sql("select current_setting('enable_progress_bar')").fetchall()
        assert setting == [(False,)]
    finally:
        con.close()


def test_duckdb_gets_1gb_unless_the_environment_says_otherwise_and_a_bad_value_is_refused(
    sample_lake, monkeypatch
):
    from trailwise.pipeline.lake import Lake
    from trailwise.pipeline.query import connect

    def limit() -> str:
        con = connect(Lake(sample_lake))
        try:
            return con.sql("select current_setting('memory_limit')").fetchall()[0][0]
        finally:
            con.close()

    monkeypatch.delenv("TRAILWISE_MEMORY_LIMIT", raising=False)
    assert limit() == "953.6 MiB"
    monkeypatch.setenv("TRAILWISE_MEMORY_LIMIT", "4GB")
    assert limit() == "3.7 GiB"
    monkeypatch.setenv("TRAILWISE_MEMORY_LIMIT", "lots")
    with pytest.raises(UsageError, match="TRAILWISE_MEMORY_LIMIT='lots' is not a memory size"):
        connect(Lake(sample_lake))
