"""Ingest on Spark lands what the embedded ingest lands: the same rows, actions, quarantine and
counts, exactly once, and a killed Spark run is completed by the next run."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.given import REALDATA, SAMPLE_LOGS, corrupted_delivery_files, given_file, reconciles
from trailwise.cli import spark as spark_entry
from trailwise.pipeline import api

pytestmark = [pytest.mark.xdist_group("spark-ingest")]  # a JVM of its own: see the Makefile

TRAILWISE = Path(sys.executable).with_name("trailwise")
SPARK_SUBMIT = Path(sys.executable).with_name("spark-submit")
# What differs between two runs of the same input: their names and timings.
RUN_FIELDS = {"run_id", "lake", "seconds", "phase_seconds", "quarantine_dir", "sources"}


def given_mixed_corpus(root: Path) -> Path:
    """sample_logs, the real-data fixtures and 60 corrupted delivery files in one folder."""
    for path in SAMPLE_LOGS.rglob("*"):
        if path.is_file():
            given_file(root / "sample" / path.relative_to(SAMPLE_LOGS), path.read_bytes())
    for path in REALDATA.rglob("*"):
        if path.is_file():
            given_file(root / "real" / path.relative_to(REALDATA), path.read_bytes())
    for n, (path, raw) in enumerate(corrupted_delivery_files(seed=15, count=60)):
        name = path.name.replace(".json.gz", f"-{n:03d}.json.gz")
        given_file(
            root / "corrupt" / path.parent.relative_to(SAMPLE_LOGS) / name, gzip.compress(raw)
        )
    return root


def ingest_with(engine: str, source: Path, lake: Path) -> dict[str, Any]:
    result = api.ingest([str(source)], lake, engine=engine)
    return {k: v for k, v in result.to_dict().items() if k not in RUN_FIELDS}


def table(lake: Path, sql: str) -> list[dict[str, Any]]:
    return api.run_sql(sql, lake).to_pylist()


def quarantine_of(lake: Path) -> dict[str, Any]:
    """Quarantined file copies and record lines, without the run's folder name."""
    out: dict[str, Any] = {}
    for path in sorted((lake / "quarantine").rglob("*")):
        if path.is_file():
            rel = "/".join(path.relative_to(lake / "quarantine").parts[1:])
            data = path.read_bytes()
            if rel.endswith(".reason.json"):
                reason = json.loads(data)
                reason.pop("at")
                data = json.dumps(reason, sort_keys=True).encode()
            elif rel.endswith(".ndjson"):
                data = b"\n".join(sorted(data.splitlines()))
            out[rel] = data
    return out


def test_a_spark_run_lands_the_same_rows_quarantine_and_counts_as_an_embedded_run(spark, tmp_path):
    corpus = given_mixed_corpus(tmp_path / "logs")
    embedded = ingest_with("duckdb", corpus, tmp_path / "embedded")
    on_spark = ingest_with("spark", corpus, tmp_path / "spark")
    assert on_spark == embedded
    assert reconciles(on_spark) and on_spark["files_quarantined"] > 0
    for sql in (
        "select * from events order by all",
        "select * from event_actions order by all",
        "select * from aggregated_events order by all",
    ):
        assert table(tmp_path / "spark", sql) == table(tmp_path / "embedded", sql), sql
    assert quarantine_of(tmp_path / "spark") == quarantine_of(tmp_path / "embedded")
    # A second Spark run finds every object recorded and adds nothing.
    again = ingest_with("spark", corpus, tmp_path / "spark")
    assert again["files_skipped"] == again["files_seen"] and again["events_written"] == 0


def ingest_process(source: Path, lake: Path, *engine: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(TRAILWISE), "ingest", str(source), "--lake", str(lake), "--format", "json", *engine],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # the run, its JVM and Spark's Python workers: one group
    )


def test_a_spark_run_killed_while_its_tasks_write_is_completed_exactly_by_the_next(spark, tmp_path):
    from tests.ingest.test_crash import given_many_files, lake_counts

    expected = given_many_files(tmp_path / "logs", files=12, per_file=400)
    lake = tmp_path / "lake"
    killed = ingest_process(
        tmp_path / "logs", lake, "--engine", "spark", "--spark-master", "local[2]"
    )
    deadline = time.monotonic() + 240
    while not list(lake.glob("**/data/event_date=*/*.parquet")) and time.monotonic() < deadline:
        if killed.poll() is not None:
            pytest.fail(f"the run ended before it wrote: {killed.stderr.read().decode()}")  # type: ignore[union-attr]
        time.sleep(0.05)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    # The next run goes the way a cluster runs it: spark-submit with the entry file.
    args = [str(tmp_path / "logs"), "--lake", str(lake), "--format", "json"]
    final = subprocess.Popen(
        [str(SPARK_SUBMIT), "--master", "local[2]", spark_entry.__file__, "ingest", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # spark-submit finds its Spark and runs the driver with the `python` on the path
        env=os.environ | {"PATH": f"{SPARK_SUBMIT.parent}{os.pathsep}{os.environ['PATH']}"},
    )
    out, err = final.communicate(timeout=300)
    assert final.returncode == 0, err.decode()
    summary = json.loads(out)
    assert summary["records_in"] == summary["events_written"] + summary["duplicates"]
    assert lake_counts(lake) == {"events": expected, "keys": expected}


def test_spark_ingest_through_the_cli_prints_the_embedded_summary(cli, spark, tmp_path):
    spark_run = cli.json("ingest", SAMPLE_LOGS, "--lake", tmp_path / "spark", "--engine", "spark")
    embedded = cli.json("ingest", SAMPLE_LOGS, "--lake", tmp_path / "embedded")
    drop = RUN_FIELDS
    assert {k: v for k, v in spark_run.items() if k not in drop} == {
        k: v for k, v in embedded.items() if k not in drop
    }


def test_a_spark_master_without_the_spark_engine_is_refused_in_one_line(cli, tmp_path):
    result = cli("ingest", SAMPLE_LOGS, "--lake", tmp_path / "lake", "--spark-master", "local[1]")
    assert result.exit_code == 1
    assert "--spark-master needs --engine spark" in result.output
