"""Small I/O helpers every writer of the lake shares: run ids, atomic files, DuckDB, paths."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import duckdb


def new_run_id() -> str:
    """A sortable, unique run id: ``YYYYMMDDTHHMMSSZ-xxxxxx``."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


# The S3 filesystem of the S3 lake this process opened (None: none). DuckDB cannot fetch its
# httpfs extension here, and users should not need one: connections read and write ``s3://``
# through pyarrow's S3 client instead, as fsspec (one lake per process is all trailwise opens).
_s3_store: dict[str, Any] = {}


def use_store(store: Any) -> None:
    """Let DuckDB connections made from now on reach ``store``'s files (an S3 store's)."""
    if store.root.startswith("s3://"):
        _s3_store["store"] = store


def duckdb_connect(config: dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection. Its progress bar is off: DuckDB draws it on stdout, where
    it would corrupt a JSON or CSV answer."""
    con = duckdb.connect(config=config or {})
    con.execute("set enable_progress_bar = false")
    if "store" in _s3_store:
        con.register_filesystem(_fsspec_s3()(_s3_store["store"].filesystem()))
    return con


@cache
def _fsspec_s3() -> Any:
    """fsspec's wrapper of a pyarrow filesystem, answering for ``s3://`` (defined once)."""
    from fsspec.implementations.arrow import ArrowFSWrapper

    class S3(ArrowFSWrapper):  # type: ignore[misc]
        protocol = ("s3",)
        root_marker = ""

    return S3


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
    """A ``file://`` URI of the warehouse as a local path (an ``s3://`` URI as it is)."""
    return uri.removeprefix("file://")


def iceberg_uri(path: str) -> str:
    """How Iceberg metadata names a file: a local path as a ``file://`` URI."""
    return path if "://" in path else f"file://{path}"
