"""The report's charts as Vega-Lite specs: plain data, built from the named queries' rows.

The browser draws them with the Vega JavaScript inlined in the page (:mod:`.vega`); the tests
compile them offline with vl-convert. Every spec carries its data inline (no URL to load) and
dates as UTC ISO strings, read on UTC scales, so a reader anywhere sees the lake's days.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from trailwise.pipeline.timeutil import iso

# The closed list of identity_paths, each with its own colour on every chart.
PATHS = (
    "human",
    "deployer",
    "workload",
    "aws_service",
    "other_account",
    "anonymous",
    "unclassified",
)
PATH_COLOURS = ("#4c78a8", "#f58518", "#54a24b", "#b279a2", "#e45756", "#9d755d", "#bab0ac")
STATUSES = ("used", "unused", "not_observable", "outside_coverage")
STATUS_COLOURS = ("#54a24b", "#e45756", "#bab0ac", "#e7e1dc")
GAP_COLOUR = "#d62728"
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
# Beyond this many rows a chart shows the biggest and says how many it left out.
MAX_FACETS = 8
MAX_BARS = 15
MAX_HEATMAP_ROWS = 40
MAX_LANES = 16
# Beyond this many root events the time line draws one point per hour (or day) and kind.
MAX_POINTS = 1500

CONFIG: dict[str, Any] = {
    "font": FONT,
    "view": {"stroke": None},
    "axis": {"labelFontSize": 11, "titleFontSize": 12, "titleFontWeight": 600, "grid": False},
    "axisY": {"grid": True, "gridColor": "#eceff3"},
    "legend": {
        "labelFontSize": 11,
        "titleFontSize": 12,
        "orient": "top",
        "direction": "horizontal",
        "labelLimit": 320,
    },
    "header": {"labelFontSize": 12, "labelFontWeight": 600, "title": None},
    "bar": {"cornerRadius": 1},
}


def _day(value: date | datetime | str) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _spec(values: list[dict[str, Any]], **rest: Any) -> dict[str, Any]:
    return {"config": CONFIG, "data": {"values": values}, **rest}


def short_arn(arn: str | None) -> str:
    """``role/app-role (111122223333)`` for an IAM ARN; other text as it is."""
    if not arn:
        return "(none)"
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[4]:
        return f"{parts[5]} ({parts[4]})"
    return arn


def _day_axis(title: str = "day (UTC)") -> dict[str, Any]:
    # Days as bands (a gap between bars), labelled as dates.
    return {
        "field": "event_date",
        "type": "ordinal",
        "timeUnit": "utcyearmonthdate",
        "title": title,
        "axis": {"format": "%b %d", "labelAngle": 0, "labelOverlap": True},
    }


def events_per_day(identity_rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Events per UTC day, per receiving account, stacked by identity path (identity_paths'
    ``events_by_day``). The accounts with the most events get a panel each; the rest share
    one, named with how many it holds."""
    per_account: Counter[str] = Counter()
    cells: Counter[tuple[str, str, str]] = Counter()
    for row in identity_rows:
        for day in row["events_by_day"] or []:
            cells[(row["account_id"], _day(day["event_date"]), row["path"])] += day["events"]
            per_account[row["account_id"]] += day["events"]
    shown = [account for account, _ in per_account.most_common(MAX_FACETS)]
    rest = len(per_account) - len(shown)
    other = f"{rest} other accounts"
    merged: Counter[tuple[str, str, str]] = Counter()
    for (account, day, path), events in cells.items():
        merged[(account if account in shown else other, day, path)] += events
    values = [
        {"account_id": account, "event_date": day, "path": path, "events": events}
        for (account, day, path), events in sorted(merged.items())
    ]
    return _spec(
        values,
        width=860,
        height=110,
        mark={"type": "bar", "tooltip": True},
        encoding={
            "row": {
                "field": "account_id",
                "type": "nominal",
                "sort": [*shown, other],
                "header": {"labelAngle": 0, "labelAlign": "left", "labelAnchor": "start"},
            },
            "x": _day_axis(),
            "y": {"field": "events", "type": "quantitative", "aggregate": "sum", "title": "events"},
            "color": {
                "field": "path",
                "type": "nominal",
                "title": "identity path",
                "scale": {"domain": list(PATHS), "range": list(PATH_COLOURS)},
            },
            "order": {"field": "path", "sort": "ascending"},
            "tooltip": [
                {"field": "account_id", "title": "account"},
                {
                    "field": "event_date",
                    "type": "temporal",
                    "timeUnit": "utcyearmonthdate",
                    "title": "day",
                },
                {"field": "path"},
                {"field": "events", "aggregate": "sum", "title": "events", "format": ","},
            ],
        },
        resolve={"scale": {"y": "independent"}},
    )


def coverage(coverage_rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Account and region against day: a cell's shade is its events, red a day without any
    (lake_coverage)."""
    places = sorted({(r["account_id"], r["aws_region"]) for r in coverage_rows})
    shown = set(places[:MAX_HEATMAP_ROWS])
    values = [
        {
            "place": f"{r['account_id']} · {r['aws_region']}",
            "account_id": r["account_id"],
            "aws_region": r["aws_region"],
            "event_date": _day(r["event_date"]),
            "events": r["events"],
            "state": "no events" if r["is_region_gap"] else "events",
        }
        for r in coverage_rows
        if (r["account_id"], r["aws_region"]) in shown
    ]
    return _spec(
        values,
        width="container",
        height=max(60, 20 * len(shown)),
        mark={"type": "rect", "stroke": "white", "strokeWidth": 1, "tooltip": True},
        encoding={
            "x": {
                **_day_axis(),
                "axis": {"format": "%b %d", "labelAngle": -45, "labelOverlap": True},
            },
            "y": {
                "field": "place",
                "type": "nominal",
                "title": "account · region",
                "axis": {"labelLimit": 260, "grid": False},
            },
            "color": {
                "condition": {"test": "datum.events === 0", "value": GAP_COLOUR},
                "field": "events",
                "type": "quantitative",
                "title": "events per day",
                "scale": {"type": "symlog", "scheme": "blues"},
            },
            "tooltip": [
                {"field": "account_id", "title": "account"},
                {"field": "aws_region", "title": "region"},
                {
                    "field": "event_date",
                    "type": "temporal",
                    "timeUnit": "utcyearmonthdate",
                    "title": "day",
                },
                {"field": "events", "format": ","},
                {"field": "state"},
            ],
        },
    )


def _root_points(root_rows: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], str]:
    """One point per root event, or, beyond MAX_POINTS, one per hour (else day), account, kind
    and outcome with its count: what the chart can draw and the page can carry."""
    if len(root_rows) <= MAX_POINTS:
        return [
            {
                "event_time": iso(r["event_time"]),
                "account_id": r["account_id"],
                "kind": r["root_session_kind"],
                "event_name": r["event_name"],
                "outcome": "succeeded" if r["is_success"] else "failed",
                "mfa": "yes" if r["mfa_used"] else "no",
                "source_ip": r["source_ip"],
                "reason": r["reason"],
                "events": 1,
            }
            for r in root_rows
        ], "event"
    for unit in ("hour", "day"):
        counts: Counter[tuple[datetime, str, str, str]] = Counter()
        for r in root_rows:
            at: datetime = r["event_time"].replace(minute=0, second=0, microsecond=0)
            if unit == "day":
                at = at.replace(hour=0)
            outcome = "succeeded" if r["is_success"] else "failed"
            counts[(at, r["account_id"], r["root_session_kind"], outcome)] += 1
        if len(counts) <= MAX_POINTS:
            break
    return [
        {"event_time": iso(at), "account_id": a, "kind": k, "outcome": o, "events": n}
        for (at, a, k, o), n in sorted(counts.items())
    ], unit


def root_timeline(root_rows: Sequence[Mapping[str, Any]]) -> tuple[dict[str, Any], str]:
    """Root events on a time line, one lane per account (root_activity), and what a point is:
    ``event``, or with many events ``hour`` or ``day`` (a point per account, kind and outcome,
    sized by its events). The accounts with the most root events get a lane each."""
    per_account = Counter(r["account_id"] for r in root_rows)
    lanes = {a for a, _ in per_account.most_common(MAX_LANES)}
    values, unit = _root_points([r for r in root_rows if r["account_id"] in lanes])
    detail = (
        [
            {"field": "event_name", "title": "event"},
            {"field": "mfa", "title": "MFA"},
            {"field": "source_ip", "title": "source IP"},
            {"field": "reason"},
        ]
        if unit == "event"
        else [{"field": "events", "title": f"events in the {unit}", "format": ","}]
    )
    size: dict[str, Any] = (
        {"value": 90}
        if unit == "event"
        else {
            "field": "events",
            "type": "quantitative",
            "title": f"events per {unit}",
            "scale": {"range": [12, 150]},
        }
    )
    spec = _spec(
        values,
        width="container",
        height=max(80, len(lanes) * max(2, len({v["kind"] for v in values})) * 16),
        mark={"type": "point", "filled": True, "opacity": 0.8, "tooltip": True},
        encoding={
            "x": {
                "field": "event_time",
                "type": "temporal",
                "scale": {"type": "utc", "padding": 24},
                "title": "time (UTC)",
                "axis": {"format": "%b %d %H:%M", "labelOverlap": True},
            },
            "y": {"field": "account_id", "type": "nominal", "title": "account"},
            # each way in gets a row of its own within the account's lane
            "yOffset": {"field": "kind", "type": "nominal"},
            "color": {
                "field": "kind",
                "type": "nominal",
                "title": "how root got in",
                "scale": {"scheme": "tableau10"},
            },
            "shape": {
                "field": "outcome",
                "type": "nominal",
                "title": "outcome",
                "scale": {"domain": ["succeeded", "failed"], "range": ["circle", "cross"]},
            },
            "size": size,
            "tooltip": [
                {
                    "field": "event_time",
                    "type": "temporal",
                    "title": "time (UTC)",
                    "timeUnit": "utcyearmonthdatehoursminutesseconds",
                    "format": "%Y-%m-%d %H:%M:%S",
                },
                {"field": "account_id", "title": "account"},
                {"field": "kind", "title": "how root got in"},
                {"field": "outcome"},
                *detail,
            ],
        },
    )
    return spec, unit


def failures_per_day(failure_events: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Denied calls per UTC day, stacked by error code (authorization_failure_events)."""
    counts: Counter[tuple[str, str]] = Counter(
        (_day(r["event_time"]), r["error_code"] or "(none)") for r in failure_events
    )
    values = [
        {"event_date": day, "error_code": code, "failures": n}
        for (day, code), n in sorted(counts.items())
    ]
    return _spec(
        values,
        width="container",
        height=220,
        mark={"type": "bar", "tooltip": True},
        encoding={
            "x": _day_axis(),
            "y": {
                "field": "failures",
                "type": "quantitative",
                "aggregate": "sum",
                "title": "denied calls",
            },
            "color": {
                "field": "error_code",
                "type": "nominal",
                "title": "error code",
                "scale": {"scheme": "tableau10"},
            },
            "tooltip": [
                {
                    "field": "event_date",
                    "type": "temporal",
                    "timeUnit": "utcyearmonthdate",
                    "title": "day",
                },
                {"field": "error_code", "title": "error code"},
                {"field": "failures", "aggregate": "sum", "title": "denied calls"},
            ],
        },
    )


def denials_by_policy(failure_events: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Denied calls per policy type that refused them, explicit denies apart."""
    counts: Counter[tuple[str, str]] = Counter(
        (
            r["policy_type"] or "not named in the message",
            "explicit deny" if r["is_explicit_deny"] else "no statement allows",
        )
        for r in failure_events
    )
    values = [
        {"policy_type": policy, "kind": kind, "failures": n}
        for (policy, kind), n in sorted(counts.items())
    ]
    return _spec(
        values,
        width="container",
        height=max(80, 28 * len({v["policy_type"] for v in values})),
        mark={"type": "bar", "tooltip": True},
        encoding={
            "y": {
                "field": "policy_type",
                "type": "nominal",
                "title": "policy type",
                "sort": "-x",
                "axis": {"labelLimit": 240},
            },
            "x": {
                "field": "failures",
                "type": "quantitative",
                "aggregate": "sum",
                "title": "denied calls",
                "axis": {"tickMinStep": 1},
            },
            "color": {
                "field": "kind",
                "type": "nominal",
                "title": None,
                "scale": {
                    "domain": ["explicit deny", "no statement allows"],
                    "range": ["#e45756", "#f2b447"],
                },
            },
            "tooltip": [
                {"field": "policy_type", "title": "policy type"},
                {"field": "kind"},
                {"field": "failures", "aggregate": "sum", "title": "denied calls"},
            ],
        },
    )


def permission_use(summary_rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Per principal, the share of its granted actions used, unused, not observable and outside
    the lake's coverage (unused_permissions_summary), the most granted first."""
    top = sorted(summary_rows, key=lambda r: (-(r["granted"] or 0), r["principal_arn"]))
    values = [
        {
            "principal": short_arn(r["principal_arn"]),
            "principal_arn": r["principal_arn"],
            "status": status,
            "status_order": STATUSES.index(status),
            "actions": r[status] or 0,
            "granted": r["granted"] or 0,
        }
        for r in top[:MAX_BARS]
        for status in STATUSES
    ]
    order = [short_arn(r["principal_arn"]) for r in top[:MAX_BARS]]
    return _spec(
        values,
        width="container",
        height=max(80, 26 * len(order)),
        mark={"type": "bar", "tooltip": True},
        encoding={
            "y": {
                "field": "principal",
                "type": "nominal",
                "title": None,
                "sort": order,
                "axis": {"labelLimit": 340},
            },
            "x": {
                "field": "actions",
                "type": "quantitative",
                "stack": "normalize",
                "title": "share of granted actions",
                "axis": {"format": "%"},
            },
            "color": {
                "field": "status",
                "type": "nominal",
                "title": None,
                "scale": {"domain": list(STATUSES), "range": list(STATUS_COLOURS)},
            },
            "order": {"field": "status_order", "type": "quantitative"},
            "tooltip": [
                {"field": "principal_arn", "title": "principal"},
                {"field": "status"},
                {"field": "actions", "format": ","},
                {"field": "granted", "format": ","},
            ],
        },
    )


def sensitive_by_category(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Sensitive successful calls per category (sensitive_actions)."""
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        counts[row["category"]] += 1
    values = [{"category": c, "calls": n} for c, n in sorted(counts.items())]
    return _spec(
        values,
        width="container",
        height=max(60, 26 * len(values)),
        mark={"type": "bar", "color": "#4c78a8", "tooltip": True},
        encoding={
            "y": {
                "field": "category",
                "type": "nominal",
                "sort": "-x",
                "title": None,
                "axis": {"labelLimit": 240},
            },
            "x": {
                "field": "calls",
                "type": "quantitative",
                "title": "successful calls",
                "axis": {"tickMinStep": 1},
            },
            "tooltip": [{"field": "category"}, {"field": "calls"}],
        },
    )
