"""Fixtures of the report's tests: the sample lake's report, a lake written by an attacker, and
headless Chromium with every request but the page's own blocked."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.given import an_event, given_delivery_file
from trailwise.pipeline import api
from trailwise.pipeline.report import Report, build, render_html

CHROMIUM = Path("/usr/bin/chromium")
# Attacker-controlled text where CloudTrail puts it: a user agent, and a principal's name (IAM
# would refuse it, but a lake holds whatever the log files say).
SCRIPT_AGENT = "<script>window.pwned = 1</script>aws-cli/2.0"
SCRIPT_USER = "<img src=x onerror=window.pwned=2>"


@pytest.fixture(scope="session")
def sample_report(sample_lake: Path) -> Report:
    return build(sample_lake)


@pytest.fixture(scope="session")
def sample_page(sample_report: Report, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render_html(sample_report), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def hostile_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lake without IAM snapshots whose events carry markup in a user agent and in a user's
    name, one of them denied, one of them root's."""
    root = tmp_path_factory.mktemp("hostile")
    identity = {
        "type": "IAMUser",
        "principalId": "AIDAEXAMPLE",
        "arn": f"arn:aws:iam::111122223333:user/{SCRIPT_USER}",
        "accountId": "111122223333",
        "accessKeyId": "AKIAEXAMPLEKEY000001",
        "userName": SCRIPT_USER,
    }
    events = [
        an_event(userAgent=SCRIPT_AGENT, userIdentity=identity),
        an_event(
            userAgent=SCRIPT_AGENT,
            userIdentity=identity,
            eventName="ListBuckets",
            errorCode="AccessDenied",
            errorMessage=f"User: {identity['arn']} is not authorized to perform: "
            "s3:ListAllMyBuckets because no identity-based policy allows the "
            "s3:ListAllMyBuckets action",
        ),
        an_event(
            eventTime="2026-11-02T11:00:00Z",
            userAgent=SCRIPT_AGENT,
            userIdentity={
                "type": "Root",
                "principalId": "111122223333",
                "arn": "arn:aws:iam::111122223333:root",
                "accountId": "111122223333",
            },
        ),
    ]
    given_delivery_file(root / "logs", events)
    api.ingest([str(root / "logs")], root / "lake")
    return root / "lake"


@pytest.fixture(scope="session")
def hostile_page(hostile_lake: Path) -> Path:
    """The hostile lake's report page, written once for the tests that open it."""
    path = hostile_lake.parent / "report.html"
    path.write_text(render_html(build(hostile_lake)), encoding="utf-8")
    return path


@dataclass
class Opened:
    """A page opened in the browser, and what it tried that it should not have."""

    page: Any
    console_errors: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists() or shutil.which("chromium") is None:
        pytest.skip("no /usr/bin/chromium: apt-get install chromium (.ci/run does)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


def open_in(browser: Any, path: Path) -> tuple[Any, Opened]:
    """``path`` in a fresh context that aborts every other request, once its charts are drawn:
    the context (to close) and the page with what it tried."""
    context = browser.new_context(viewport={"width": 1360, "height": 1000})
    page = context.new_page()
    opened = Opened(page)
    own = path.resolve().as_uri()

    def route(request_route: Any) -> None:
        if request_route.request.url == own:
            request_route.continue_()
        else:
            opened.blocked_requests.append(request_route.request.url)
            request_route.abort()

    page.route("**/*", route)
    page.on(
        "console", lambda m: opened.console_errors.append(m.text) if m.type == "error" else None
    )
    page.on("pageerror", lambda e: opened.console_errors.append(str(e)))
    page.on("requestfailed", lambda r: opened.blocked_requests.append(r.url))
    page.goto(own)
    page.wait_for_function("document.documentElement.dataset.charts", timeout=30_000)
    return context, opened


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:
    """open_page(path) -> Opened, for a page of the test's own."""
    contexts = []

    def opener(path: Path) -> Opened:
        context, opened = open_in(browser, path)
        contexts.append(context)
        return opened

    yield opener
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def sample_opened(browser: Any, sample_page: Path) -> Iterator[Opened]:
    """The sample lake's report, opened once for the tests that only read it."""
    context, opened = open_in(browser, sample_page)
    yield opened
    context.close()
