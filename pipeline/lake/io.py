"""Small I/O helpers every writer of the lake shares: run ids, atomic files, DuckDB, paths."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb


def new_run_id() -> str:
    """A sortable, unique run id: ``YYYYMMDDTHHMMSSZ-xxxxxx``."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def duckdb_connect(config: dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection. Its progress bar is off: DuckDB draws it on stdout, where
    it would corrupt a JSON or CSV answer."""
    con = duckdb.connect(config=config or {})
    con.execute("set enable_progress_bar = false")
    return con


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temp file beside ``path`` and rename it into place (fsync'd)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


def local_path(uri: str) -> str:
    """A ``file://`` URI of the warehouse as a local path."""
    return uri.removeprefix("file://")
