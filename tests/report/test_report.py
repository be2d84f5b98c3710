"""The report as data: every figure a named query's answer, specs that compile offline, a page
that names nothing to load, and the commands that write it."""

from __future__ import annotations

import json
import re
import shlex

import vl_convert

from tests.given import an_event, given_delivery_file
from trailwise.pipeline import api
from trailwise.pipeline.query import named_queries
from trailwise.pipeline.report import ASKS, build, render_html
from trailwise.pipeline.report import vega as report_vega
from trailwise.pipeline.report.sections import sections

# What would make a browser fetch something: an attribute naming a URL, CSS url() or @import.
LOADS = re.compile(
    r"""(?:\b(?:src|href|action|poster|srcset|data)\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|url\(\s*["']?\s*(?:https?:)?//|@import)""",
    re.IGNORECASE,
)


def charts_of(report):
    return [b.spec for s in sections(report) for b in s.blocks if b.kind == "chart"]


def test_every_chart_spec_compiles_offline_and_carries_its_data(sample_report):
    specs = charts_of(sample_report)
    assert len(specs) >= 6
    for spec in specs:
        assert "url" not in spec["data"] and spec["data"]["values"]
        vega_spec = vl_convert.vegalite_to_vega(spec)
        assert vega_spec["marks"]
    # One is drawn the way the page draws it, to SVG.
    assert "<svg" in vl_convert.vegalite_to_svg(specs[0])


def test_the_page_names_no_url_and_nothing_that_would_load_one(sample_report):
    html = render_html(sample_report)
    assert LOADS.search(html) is None
    ours = html.replace(report_vega.script(), "")
    assert re.findall(r"https?://", ours) == []
    assert "<link" not in ours and "<iframe" not in ours and "@font-face" not in ours


def test_every_query_the_report_asks_can_be_narrowed_to_accounts():
    queries = named_queries()
    for ask in ASKS:
        query = queries[ask.query]
        has_param = "account_id" in {p.name for p in query.params}
        assert has_param or ask.account_column in query.columns, ask.query


def test_each_figure_is_what_its_command_prints(cli, sample_lake, sample_report):
    for name in ("authorization_failures", "lake_coverage", "root_activity"):
        figure = sample_report.figures[name]
        [command] = figure.commands()
        args = shlex.split(command)[1:]
        rows = cli.json(*args, "--lake", sample_lake)
        assert len(rows) == len(figure.rows) > 0, name


def test_one_account_is_bound_as_a_parameter_or_filtered_in_the_rows(sample_lake):
    report = build(sample_lake, accounts=["444455556666"])
    assert report.figures["identity_paths"].account_filter == "param"
    assert report.figures["identity_paths"].commands()[0].endswith("account_id=444455556666")
    assert report.figures["root_activity"].account_filter == "rows"
    assert "account_id column" in report.figures["root_activity"].filter_note()
    for name in (
        "identity_paths",
        "root_activity",
        "lake_coverage",
        "authorization_failure_events",
    ):
        accounts = {row["account_id"] for row in report.figures[name].rows}
        assert accounts == {"444455556666"}, name
    failures = report.figures["authorization_failures"].rows
    denied = report.figures["authorization_failure_events"].rows
    assert sum(r["failures"] for r in failures) == len(denied)


def test_the_biggest_right_sizing_wins_are_what_policy_bulk_removes(
    sample_report, sample_lake, tmp_path
):
    [least] = [s for s in sections(sample_report) if s.id == "least-privilege"]
    [wins] = [b for b in least.blocks if b.title == "Biggest right-sizing wins"]
    top = wins.rows[0]
    arn = top[0].title
    name = arn.rsplit("/", 1)[1]
    result = api.policy_bulk(tmp_path / "bulk", sample_lake, name_pattern=name)
    [row] = [r for r in result.rows if r.principal_arn == arn]
    assert top[3].sort == row.removable
    assert round(100 * top[4].sort, 1) == row.reduction_pct


def test_report_writes_the_page_and_prints_its_path(cli, sample_lake, tmp_path):
    out = tmp_path / "out" / "report.html"
    result = cli("report", "--lake", sample_lake, "--output", out)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(out)
    assert out.read_text(encoding="utf-8").startswith("<!doctype html>")


def test_a_report_of_a_missing_lake_is_one_line(cli, tmp_path):
    result = cli("report", "--lake", tmp_path / "nothing", "--output", tmp_path / "r.html")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: no trailwise lake at ")
    assert not (tmp_path / "r.html").exists()


def test_ingest_writes_the_report_after_a_successful_run(cli, tmp_path):
    given_delivery_file(tmp_path / "logs", [an_event(), an_event(eventName="GetObject")])
    out = tmp_path / "report.html"
    summary = cli.json("ingest", tmp_path / "logs", "--lake", tmp_path / "lake", "--report", out)
    assert summary["exit_code"] == 0 and summary["report"] == str(out)
    html = out.read_text(encoding="utf-8")
    assert 'data-figure="lake_coverage.events" data-value="2"' in html
    assert json.loads(
        html.split('<script type="application/json" id="chart-specs">')[1].split("</script>")[0]
    )
