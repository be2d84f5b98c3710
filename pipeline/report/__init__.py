"""The report people open: one self-contained HTML page with charts, from the named queries.

:func:`build` asks the named queries (:mod:`.build`), :func:`render_html` turns the answers
into the page (:mod:`.sections` for its content, :mod:`.charts` for the Vega-Lite specs,
:mod:`.page` and ``template.html`` for the HTML), :func:`write_report` does both into a file.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from trailwise.pipeline.lake import Lake, write_atomic
from trailwise.pipeline.report.build import ASKS, build
from trailwise.pipeline.report.model import Figure, Report
from trailwise.pipeline.report.page import render_html

__all__ = ["ASKS", "Figure", "Report", "ReportResult", "build", "render_html", "write_report"]


@dataclass(frozen=True)
class ReportResult:
    """Where the page went, how big it is, and what building and rendering it took."""

    path: str
    bytes: int
    build_seconds: float
    render_seconds: float

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "bytes": self.bytes,
            "build_seconds": self.build_seconds,
            "render_seconds": self.render_seconds,
        }


def write_report(
    lake: Lake | str | Path,
    output: str | Path,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    accounts: Sequence[str] = (),
) -> ReportResult:
    """Build the report and write it to ``output`` (temp file and rename: a reader never sees
    half a page)."""
    report = build(lake, since, until, accounts)
    started = time.perf_counter()
    html = render_html(report).encode("utf-8")
    rendered = round(time.perf_counter() - started, 3)
    path = Path(output).expanduser()
    write_atomic(path, html)
    return ReportResult(str(path), len(html), report.seconds, rendered)
