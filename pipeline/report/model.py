"""What a report holds: the answers of the named queries it was built from, each with how to
ask the same question again."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from trailwise.pipeline.timeutil import iso

# Parameters `trailwise query` takes as options of their own.
WINDOW_PARAMS = ("since", "until")


@dataclass(frozen=True)
class Figure:
    """One named query's answer as the report used it.

    ``account_filter`` says how ``--account`` narrowed it: ``param`` (bound as ``$account_id``,
    one run per account), ``rows`` (the answer's ``account_column`` filtered after the query) or
    ``none`` (no ``--account`` given).
    """

    query: str
    params: dict[str, Any]
    rows: list[dict[str, Any]]
    accounts: tuple[str, ...] = ()
    account_filter: str = "none"
    account_column: str | None = None
    seconds: float = 0.0

    def commands(self) -> list[str]:
        """The ``trailwise query`` command lines that give the same rows (one per account when
        ``--account`` was bound as a parameter)."""
        parts = ["trailwise", "query", self.query]
        for name, value in self.params.items():
            if value is None:
                continue
            text = _param_text(value)
            parts += [f"--{name}", text] if name in WINDOW_PARAMS else ["--param", f"{name}={text}"]
        if self.account_filter != "param":
            return [" ".join(parts)]
        return [" ".join([*parts, "--param", f"account_id={a}"]) for a in self.accounts]

    def filter_note(self) -> str:
        """How ``--account`` was applied, for the page."""
        if self.account_filter == "param":
            each = "" if len(self.accounts) == 1 else ", run once for each account"
            return f"--account bound as $account_id{each}"
        if self.account_filter == "rows":
            return f"--account applied to the answer's {self.account_column} column"
        return ""


def _param_text(value: Any) -> str:
    if isinstance(value, datetime):
        return iso(value) or ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class Report:
    """Everything the page shows, gathered by :func:`trailwise.pipeline.report.build`.

    ``since``/``until`` are the window every query was asked about (the lake's first and last
    event day when none was given; None when the lake holds no event at all).
    """

    lake: str
    since: datetime | None
    until: datetime | None
    accounts: tuple[str, ...]
    generated_at: datetime
    has_iam_snapshot: bool
    figures: dict[str, Figure] = field(default_factory=dict)
    seconds: float = 0.0

    def rows(self, query: str) -> list[dict[str, Any]]:
        """The rows of ``query``'s answer (empty when it was not asked)."""
        figure = self.figures.get(query)
        return figure.rows if figure is not None else []
