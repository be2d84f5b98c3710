"""Gather a report: every figure is a named query's answer over one window.

Nothing here computes a security finding; the queries do. ``--account`` narrows a query through
its ``$account_id`` parameter when it has one (one run per account, so each answer is exactly
what ``trailwise query NAME --param account_id=ID`` prints) and otherwise by the account column
of its rows; each figure records which.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from trailwise.pipeline.iam.store import latest
from trailwise.pipeline.lake import Lake, as_lake
from trailwise.pipeline.query import connect, named_queries, run_named
from trailwise.pipeline.report.model import Figure, Report
from trailwise.pipeline.timeutil import naive_utc


@dataclass(frozen=True)
class Ask:
    """A named query the report asks, and the column of its answer that names the account."""

    query: str
    account_column: str | None
    needs_iam_snapshot: bool = False
    needs_window: bool = False


# In page order. lake_summary is the whole lake (its header line), never narrowed.
ASKS = (
    Ask("lake_coverage", "account_id"),
    Ask("identity_paths", "account_id"),
    Ask("root_activity", "account_id"),
    Ask("root_summary", "account_id"),
    Ask("authorization_failure_events", "account_id"),
    Ask("authorization_failures", None),
    Ask("shared_roles", "account_id"),
    Ask("cross_account_access", "account_id"),
    Ask("long_lived_keys", "account_id"),
    Ask("sensitive_actions", "account_id"),
    Ask("unused_permissions_summary", "account_id", needs_iam_snapshot=True, needs_window=True),
    Ask("resource_access", "account_id"),
    Ask("stale_federation", "account_id"),
)


def default_window(summary: Sequence[dict[str, Any]]) -> tuple[datetime | None, datetime | None]:
    """The lake's whole days: midnight of the first event's day to the midnight after the last's
    (None, None for a lake without events)."""
    overall = summary[0] if summary else {}
    first, last = overall.get("first_event_at"), overall.get("last_event_at")
    if first is None or last is None:
        return None, None
    start = datetime.combine(first.date(), datetime.min.time())
    end = datetime.combine(last.date(), datetime.min.time()) + timedelta(days=1)
    return start, end


def _ask(
    lake: Lake,
    con: duckdb.DuckDBPyConnection,
    ask: Ask,
    window: dict[str, Any],
    accounts: tuple[str, ...],
) -> Figure:
    declared = {p.name for p in named_queries()[ask.query].params}
    params = {name: value for name, value in window.items() if name in declared}
    started = time.perf_counter()
    if not accounts:
        rows = run_named(lake, ask.query, params, con).to_pylist()
        how, column = "none", None
    elif "account_id" in declared:
        rows = []
        for account in accounts:
            rows += run_named(lake, ask.query, {**params, "account_id": account}, con).to_pylist()
        how, column = "param", None
    elif ask.account_column is not None:
        wanted = set(accounts)
        rows = [
            row
            for row in run_named(lake, ask.query, params, con).to_pylist()
            if row[ask.account_column] in wanted
        ]
        how, column = "rows", ask.account_column
    else:
        raise ValueError(f"{ask.query} can be narrowed to an account neither way")
    return Figure(
        ask.query,
        params,
        rows,
        accounts,
        how,
        column,
        round(time.perf_counter() - started, 3),
    )


def build(
    lake: Lake | str | Path,
    since: datetime | None = None,
    until: datetime | None = None,
    accounts: Sequence[str] = (),
) -> Report:
    """Ask every named query the report shows, over one window.

    Args:
        lake: the lake (or its root).
        since: start of the window (inclusive); None: midnight of the lake's first event day.
        until: end of the window (exclusive); None: the midnight after the last event.
        accounts: only these receiving accounts (all when empty).

    Raises:
        UsageError: the lake does not exist.
        QueryError: a query failed.
    """
    started = time.perf_counter()
    target = as_lake(lake).require()
    chosen = tuple(dict.fromkeys(accounts))
    # One connection for every query: its views cost more than most queries on a small lake.
    con = connect(target)
    try:
        return _build(target, con, since, until, chosen, started)
    finally:
        con.close()


def _build(
    target: Lake,
    con: duckdb.DuckDBPyConnection,
    since: datetime | None,
    until: datetime | None,
    chosen: tuple[str, ...],
    started: float,
) -> Report:
    summary_started = time.perf_counter()
    summary = run_named(target, "lake_summary", None, con).to_pylist()
    figures = {
        "lake_summary": Figure(
            "lake_summary", {}, summary, seconds=round(time.perf_counter() - summary_started, 3)
        )
    }
    first, last = default_window(summary)
    start = naive_utc(since) if since is not None else first
    end = naive_utc(until) if until is not None else last
    window = {"since": start, "until": end}
    has_snapshot = latest(target).num_rows > 0
    for ask in ASKS:
        if ask.needs_iam_snapshot and not has_snapshot:
            continue
        if ask.needs_window and (start is None or end is None):
            continue
        figures[ask.query] = _ask(target, con, ask, window, chosen)
    return Report(
        lake=str(target.root),
        since=start,
        until=end,
        accounts=chosen,
        generated_at=datetime.now(UTC).replace(microsecond=0),
        has_iam_snapshot=has_snapshot,
        figures=figures,
        seconds=round(time.perf_counter() - started, 3),
    )
