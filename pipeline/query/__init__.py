"""Questions over the lake: DuckDB views of its tables (:mod:`.views`), named queries and
read-only SQL (:mod:`.named`)."""

from __future__ import annotations

from trailwise.pipeline.query.named import (
    fetch,
    named_queries,
    run_named,
    run_query,
    run_sql,
)
from trailwise.pipeline.query.views import MEMORY_LIMIT_ENV, catalogue_table, connect
from trailwise.pipeline.sqlfile import NamedQuery, Param, parse_query

__all__ = [
    "MEMORY_LIMIT_ENV",
    "NamedQuery",
    "Param",
    "catalogue_table",
    "connect",
    "fetch",
    "named_queries",
    "parse_query",
    "run_named",
    "run_query",
    "run_sql",
]
