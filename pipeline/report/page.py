"""The report as one self-contained HTML file: one template, the chart specs beside it.

Everything the page needs is inside it: the stylesheet, a few lines of script that sort tables
and draw the charts, and the Vega libraries (:mod:`.vega`). It names no URL, so it opens the
same from an e-mail attachment, a static S3 link or a disk with no network.

Every value comes from CloudTrail or IAM, which attackers write to (user agents, session names,
resource names): the template escapes all of them, and the chart specs go in as JSON whose
``<``, ``>`` and ``&`` are escaped, so no value can close the script element that holds it.
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from typing import Any

import jinja2
import markupsafe
import orjson

from trailwise.pipeline.report import vega
from trailwise.pipeline.report.model import Report
from trailwise.pipeline.report.sections import sections
from trailwise.pipeline.timeutil import short_time

_PACKAGE = "trailwise.pipeline.report"
_CODE = re.compile(r"`([^`]+)`")


def _asset(name: str) -> str:
    return resources.files(_PACKAGE).joinpath(name).read_text(encoding="utf-8")


def script_json(value: Any) -> markupsafe.Markup:
    """``value`` as JSON that is safe inside a ``<script>`` element."""
    text = orjson.dumps(value, default=str).decode("utf-8")
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return markupsafe.Markup(text)  # noqa: S704  (escaped just above)


def code_spans(text: str) -> markupsafe.Markup:
    """Escaped ``text`` whose `backticked` parts are shown as code."""
    escaped = str(markupsafe.escape(text))
    return markupsafe.Markup(_CODE.sub(r"<code>\1</code>", escaped))  # noqa: S704


_BREAKS = re.compile(r"([/:_])")


def breakable(text: str) -> markupsafe.Markup:
    """Escaped ``text`` that may wrap after each ``/``, ``:`` and ``_`` (ARNs, actions)."""
    escaped = str(markupsafe.escape(text))
    return markupsafe.Markup(_BREAKS.sub(r"\1<wbr>", escaped))  # noqa: S704


@functools.cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["code_spans"] = code_spans
    env.filters["breakable"] = breakable
    env.filters["script_json"] = script_json
    return env.from_string(_asset("template.html"))


def render_html(report: Report) -> str:
    """The report as one HTML page that loads nothing from anywhere."""
    content = sections(report)
    specs = {
        f"chart-{i}-{j}": block.spec
        for i, section in enumerate(content)
        for j, block in enumerate(section.blocks)
        if block.kind == "chart"
    }
    accounts = ", ".join(report.accounts) if report.accounts else "all accounts"
    window = (
        f"{short_time(report.since)} to {short_time(report.until)} UTC"
        if report.since and report.until
        else "no events in the lake"
    )
    return _template().render(
        report=report,
        sections=content,
        specs=specs,
        window=window,
        accounts=accounts,
        generated=short_time(report.generated_at),
        style=markupsafe.Markup(_asset("report.css")),  # noqa: S704  (our own file)
        script=markupsafe.Markup(_asset("report.js")),  # noqa: S704  (our own file)
        vega_script=markupsafe.Markup(vega.script()),  # noqa: S704  (vl-convert's bundle)
        vega_versions=vega.versions(),
    )
