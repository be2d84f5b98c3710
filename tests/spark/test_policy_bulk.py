"""policy bulk on Spark writes what it writes on DuckDB: every principal's suggestion, diff and
policy, and the index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = [pytest.mark.xdist_group("spark-ingest")]  # a JVM of its own: see the Makefile


def files_of(folder: Path) -> dict[str, object]:
    """Every file written, the index without the folder it names."""
    out: dict[str, object] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            out[str(path.relative_to(folder))] = path.read_bytes()
    index = json.loads(out.pop("index.json"))  # type: ignore[arg-type]
    index.pop("out_dir")
    out["index.json"] = index
    return out


def test_bulk_on_spark_writes_and_prints_what_it_does_on_duckdb(cli, spark, sample_lake, tmp_path):
    # one account's three principals, each with a suggested policy (Spark asks ~6 queries each)
    args = ("policy", "bulk", "--lake", sample_lake, "--account", "444455556666", "--format")
    on_spark = cli.json(*args, "json", "--out", tmp_path / "spark", "--engine", "spark")
    on_duckdb = cli.json(*args, "json", "--out", tmp_path / "duckdb")
    written = files_of(tmp_path / "duckdb")
    assert sum(name.endswith(".policy.json") for name in written) == 3
    assert files_of(tmp_path / "spark") == written
    on_spark.pop("out_dir"), on_duckdb.pop("out_dir")
    assert on_spark == on_duckdb
