"""The building blocks of the report's sections: summary numbers (cards), tables, charts and
messages, each naming the figures (named queries) it comes from."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from trailwise.pipeline.report.model import Figure
from trailwise.pipeline.timeutil import short_time

# What an empty cell shows (an en dash).
NONE = "\u2013"
# Long answers are cut to their top rows; the table says how many it left out.
TOP = 15
ROOT_ROWS = 25


@dataclass(frozen=True)
class Card:
    """One summary number: ``figure`` is its ``data-figure`` name (``QUERY.NAME``)."""

    label: str
    value: int
    figure: str
    alert: bool = False
    note: str = ""


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    # text | long (clamped, whole text on hover) | arn (resource part, then service, region
    # and account) | code | id (never wrapped) | num | time | list | bool | pct
    kind: str = "text"


@dataclass(frozen=True)
class Cell:
    text: str
    sort: str | float
    kind: str
    sub: str = ""  # a second, smaller line
    title: str = ""  # the whole value, shown on hover


@dataclass(frozen=True)
class Block:
    """A chart (``spec``), a table (``columns``/``rows``) or a message, with its sources."""

    kind: str  # chart | table | message
    title: str
    sources: tuple[Figure, ...]
    caption: str = ""
    spec: dict[str, Any] | None = None
    columns: tuple[Column, ...] = ()
    rows: tuple[tuple[Cell, ...], ...] = ()
    total_rows: int = 0
    figure: str = ""  # data-figure of the table's row count
    wide: bool = False


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    lead: str
    cards: tuple[Card, ...] = ()
    blocks: tuple[Block, ...] = ()
    headline: str = ""  # the figure of the card shown at the top of the page

    @property
    def headline_card(self) -> Card:
        return next((c for c in self.cards if c.figure == self.headline), self.cards[0])


def _cell(value: Any, kind: str) -> Cell:
    if value is None:
        return Cell(NONE, "", kind)
    if kind == "time" and isinstance(value, datetime | date):
        text = short_time(value) if isinstance(value, datetime) else value.isoformat()
        return Cell(text, value.isoformat(), kind)
    if kind == "list":
        items = [str(v) for v in value]
        shown = ", ".join(items[:3]) + (f" +{len(items) - 3} more" if len(items) > 3 else "")
        return Cell(shown or NONE, len(items), kind, title=", ".join(items) if items else "")
    if kind == "arn":
        text = str(value)
        parts = text.split(":", 5)
        if len(parts) == 6 and text.startswith("arn:") and parts[5]:
            where = " ".join(p for p in (parts[2], parts[3], parts[4]) if p)
            return Cell(parts[5], text.lower(), kind, sub=where, title=text)
        return Cell(text, text.lower(), kind, title=text)
    if kind == "long":
        return Cell(str(value), str(value).lower(), kind, title=str(value))
    if kind == "bool":
        return Cell("yes" if value else "no", 1 if value else 0, kind)
    if kind == "pct":
        return Cell(f"{100 * float(value):.0f}%", float(value), kind)
    if kind == "num":
        return Cell(f"{value:,}", float(value), kind)
    return Cell(str(value), str(value).lower(), kind)


def table(
    title: str,
    sources: Sequence[Figure],
    columns: Sequence[Column],
    rows: Sequence[Mapping[str, Any]],
    *,
    caption: str = "",
    top: int = TOP,
    figure: str = "",
    wide: bool = True,
) -> Block:
    """A sortable table of the first ``top`` rows (already in the order to show)."""
    body = tuple(tuple(_cell(row.get(c.key), c.kind) for c in columns) for row in rows[:top])
    return Block(
        "table",
        title,
        tuple(sources),
        caption,
        columns=tuple(columns),
        rows=body,
        total_rows=len(rows),
        figure=figure,
        wide=wide,
    )


def chart(title: str, sources: Sequence[Figure], spec: dict[str, Any], caption: str = "") -> Block:
    return Block("chart", title, tuple(sources), caption, spec=spec)


def message(title: str, sources: Sequence[Figure], text: str) -> Block:
    return Block("message", title, tuple(sources), text)


def count_rows(rows: Iterable[Mapping[str, Any]], test: Callable[[Mapping[str, Any]], bool]) -> int:
    return sum(1 for row in rows if test(row))


def sum_column(rows: Iterable[Mapping[str, Any]], key: str) -> int:
    return sum(int(row[key] or 0) for row in rows)
