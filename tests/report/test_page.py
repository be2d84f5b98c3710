"""The report as a person sees it: opened in headless Chromium with every request blocked."""

from __future__ import annotations

import pytest

from tests.report.conftest import SCRIPT_AGENT, SCRIPT_USER
from trailwise.pipeline import api

pytestmark = [pytest.mark.xdist_group("browser")]

WINDOW = {"since": "2026-11-02", "until": "2026-11-05"}


def shown(page, figure: str) -> int:
    """The number a data-figure element shows, after checking that every copy agrees."""
    values = page.eval_on_selector_all(
        f'[data-figure="{figure}"]', "els => els.map(e => [e.dataset.value, e.textContent])"
    )
    assert values, f"no element shows {figure}"
    numbers = {int(text.replace(",", "")) for _, text in values}
    assert numbers == {int(value) for value, _ in values}
    assert len(numbers) == 1, f"{figure} is shown as {numbers}"
    return numbers.pop()


def test_the_report_of_the_sample_lake_opens_with_no_console_error_and_no_request(sample_opened):
    opened = sample_opened
    assert opened.page.evaluate("document.documentElement.dataset.charts") == "drawn"
    assert opened.console_errors == []
    assert opened.blocked_requests == []


def test_every_chart_is_drawn_with_a_width_and_a_height(sample_opened):
    page = sample_opened.page
    charts = page.eval_on_selector_all(
        "[data-chart]",
        "els => els.map(e => { const s = e.querySelector('svg');"
        " const r = s ? s.getBoundingClientRect() : {width: 0, height: 0};"
        " const marks = s ? s.querySelectorAll('path, rect, text').length : 0;"
        " return [e.dataset.chart, r.width, r.height, marks]; })",
    )
    assert len(charts) >= 6
    for name, width, height, marks in charts:
        assert width > 200 and height > 50, name
        assert marks > 5, name


def test_the_numbers_shown_are_the_named_queries_answers(sample_opened, sample_lake):
    page = sample_opened.page
    failures = api.run_named("authorization_failures", sample_lake, WINDOW).to_pylist()
    denied_events = api.run_named("authorization_failure_events", sample_lake, WINDOW).to_pylist()
    root = api.run_named("root_activity", sample_lake, WINDOW).to_pylist()
    root_summary = api.run_named("root_summary", sample_lake, WINDOW).to_pylist()
    coverage = api.run_named("lake_coverage", sample_lake, WINDOW).to_pylist()
    keys = api.run_named("long_lived_keys", sample_lake, WINDOW).to_pylist()
    sensitive = api.run_named("sensitive_actions", sample_lake, WINDOW).to_pylist()
    unused = api.run_named("unused_permissions_summary", sample_lake, WINDOW).to_pylist()

    assert shown(page, "authorization_failures.total") == sum(r["failures"] for r in failures)
    assert shown(page, "authorization_failures.total") == len(denied_events)
    assert shown(page, "authorization_failure_events.explicit_denies") == sum(
        1 for r in denied_events if r["is_explicit_deny"]
    )
    assert shown(page, "root_activity.events") == len(root) > 0
    assert shown(page, "root_summary.console_logins_without_mfa") == sum(
        r["console_logins_without_mfa"] for r in root_summary
    )
    assert shown(page, "root_activity.sign_ins_without_mfa") == sum(
        r["console_logins_without_mfa"] for r in root_summary
    )
    assert shown(page, "lake_coverage.events") == sum(r["events"] for r in coverage)
    assert shown(page, "lake_coverage.account_gaps") == len(
        {(r["account_id"], r["event_date"]) for r in coverage if r["is_account_gap"]}
    )
    assert shown(page, "long_lived_keys.rows") == len(keys)
    assert shown(page, "sensitive_actions.rows") == len(sensitive)
    assert shown(page, "unused_permissions_summary.unused") == sum(r["unused"] for r in unused)
    assert shown(page, "unused_permissions_summary.granted") == sum(r["granted"] for r in unused)


def test_the_resource_and_federation_numbers_are_the_named_queries_answers(
    sample_opened, sample_lake
):
    page = sample_opened.page
    access = api.run_named("resource_access", sample_lake, WINDOW).to_pylist()
    stale = api.run_named("stale_federation", sample_lake, WINDOW).to_pylist()
    assert shown(page, "resource_access.rows") == len(access) > 0
    assert shown(page, "resource_access.external") == sum(
        1 for r in access if r["external_accounts"]
    )
    assert shown(page, "resource_access.services") == sum(1 for r in access if r["aws_services"])
    assert shown(page, "resource_access.anonymous_calls") == sum(
        r["anonymous_calls"] for r in access
    )
    assert shown(page, "resource_access.beyond") == sum(
        1 for r in access if r["external_accounts"] or r["aws_services"] or r["anonymous_calls"]
    )
    assert shown(page, "stale_federation.rows") == len(stale) > 0
    section = page.locator("#resources")
    assert "acme-prod-public-downloads" in section.inner_text()
    assert "okta" in section.inner_text().lower()


def test_each_figure_names_the_query_that_gives_it(sample_opened):
    page = sample_opened.page
    commands = page.eval_on_selector_all("[data-query]", "els => els.map(e => e.textContent)")
    queries = {c.split()[2] for c in commands}
    assert queries >= {
        "lake_coverage",
        "identity_paths",
        "root_activity",
        "authorization_failures",
        "shared_roles",
        "cross_account_access",
        "long_lived_keys",
        "sensitive_actions",
        "unused_permissions_summary",
        "resource_access",
        "stale_federation",
    }
    assert all(c.startswith("trailwise query ") for c in commands)


def test_a_table_sorts_by_the_column_whose_header_is_clicked(sample_opened):
    page = sample_opened.page
    table = page.locator("#failures table.sortable").first
    header = table.locator("th", has_text="last seen")

    def column() -> list[str]:
        index = table.locator("th").all_inner_texts().index(header.inner_text())
        return table.locator(f"tbody tr td:nth-child({index + 1})").evaluate_all(
            "cells => cells.map(c => c.dataset.sort)"
        )

    header.click()
    assert header.get_attribute("aria-sort") == "ascending"
    assert column() == sorted(column())
    header.click()
    assert header.get_attribute("aria-sort") == "descending"
    assert column() == sorted(column(), reverse=True)


def test_numbers_sort_as_numbers(sample_opened):
    page = sample_opened.page
    table = page.locator("#identities table.sortable").first
    header = table.locator("th", has_text="events")
    header.click()
    index = table.locator("th").all_inner_texts().index(header.inner_text())
    values = table.locator(f"tbody tr td:nth-child({index + 1})").evaluate_all(
        "cells => cells.map(c => Number(c.dataset.sort))"
    )
    assert values == sorted(values) and len(set(values)) > 1


def test_without_iam_snapshots_least_privilege_says_how_to_load_one(open_page, hostile_page):
    page = open_page(hostile_page).page
    text = page.locator("#least-privilege").inner_text()
    assert "holds no IAM snapshot" in text
    assert "trailwise iam load" in text
    assert "aws iam get-account-authorization-details" in text


def test_markup_in_a_user_agent_or_a_principals_name_is_shown_as_text(open_page, hostile_page):
    opened = open_page(hostile_page)
    page = opened.page
    assert page.evaluate("window.pwned") is None
    assert opened.console_errors == [] and opened.blocked_requests == []
    body = page.locator("body").inner_text()
    # identity_paths names a client by its user agent's first token: here the markup itself.
    assert SCRIPT_AGENT.split(" ")[0] in body
    assert f"user/{SCRIPT_USER}" in body
    # Only the page's own scripts: the chart specs, the Vega bundle and the page's script.
    assert page.locator("script").count() == 3
    assert page.locator("img").count() == 0


def test_the_screenshot_is_written_under_the_tests_temp_folder(sample_opened, tmp_path):
    page = sample_opened.page
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
