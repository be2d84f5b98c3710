"""Spark benchmark: the Spark engine beside the embedded one, in the same run, on this machine.

    python bench/bench_spark.py [--events 1000000] [--files 4004] [--lake DIR]
                                [--commit-files 100 1000 10000] [--skip ingest commit queries]

* ingest: ``trailwise ingest DIR`` embedded and ``--engine spark --spark-master local[2]`` of
  the same generated files (bench_ingest's data, cached under bench/.data/) into fresh lakes,
  each a subprocess; Spark's figure includes starting its JVM, reported apart.
* commit: the driver's deduplication and Iceberg commit of 100, 1,000 and 10,000 data files (of
  200 events each) into a lake holding them once already: how far one commit scales.
* queries: every named query on ``--lake`` (e.g. bench_ingest's ``--keep-lake`` 10M-event lake)
  on DuckDB and on Spark (local[2], one session; its views are made once and reported apart).

Figures are ratios against the embedded engine measured in the same run: the machine is shared
and noisy.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from bench_ingest import dataset  # noqa: E402

from trailwise.pipeline import api  # noqa: E402
from trailwise.pipeline.errors import TrailwiseError  # noqa: E402
from trailwise.pipeline.lake import as_lake  # noqa: E402
from trailwise.pipeline.query import named_queries  # noqa: E402

TRAILWISE = Path(sys.executable).with_name("trailwise")


def ingest_run(source: Path, lake: Path, *engine: str) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    proc = subprocess.run(
        [str(TRAILWISE), "ingest", str(source), "--lake", str(lake), "--format", "json", *engine],
        capture_output=True,
        text=True,
        check=False,
    )
    took = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"ingest failed: {proc.stderr.strip().splitlines()[-1:]}")
    return took, json.loads(proc.stdout)


def bench_ingest(events: int, files: int, work: Path) -> None:
    source = dataset(events, files)
    print(f"ingest: {events:,} events in {files:,} files")
    embedded, e = ingest_run(source, work / "embedded")
    spark, s = ingest_run(source, work / "spark", "--engine", "spark", "--spark-master", "local[2]")
    assert (s["events_written"], s["records_in"]) == (e["events_written"], e["records_in"])
    startup = spark - s["seconds"]  # the process's life beyond the run: Python + the JVM
    print(f"  embedded   {embedded:7.1f} s  phases {e['phase_seconds']}")
    print(
        f"  spark      {spark:7.1f} s  phases {s['phase_seconds']}  "
        f"(of which {startup:.1f} s outside the run: the JVM)"
    )
    print(
        f"  spark / embedded: {spark / embedded:.2f}x whole, "
        f"{s['seconds'] / e['seconds']:.2f}x the run alone; "
        f"decode {events / s['phase_seconds']['decode']:,.0f} events/s on Spark, "
        f"{events / e['phase_seconds']['decode']:,.0f} embedded"
    )


def _template_events(work: Path) -> pa.Table:
    lake = work / "template"
    api.ingest([str(REPO / "sample_logs")], lake)
    return api.run_sql("select * from events", lake)


def _staged(template: pa.Table, count: int, run: str, targets: Any, day: str) -> list[Any]:
    """``count`` worker data files of ``template`` (fresh event ids), as the workers leave them."""
    from trailwise.pipeline.ingest.workers import Staged, write_data_file
    from trailwise.pipeline.lake import ACTIONS_TABLE, EVENTS_TABLE
    from trailwise.pipeline.lake.actions import map_table

    out = []
    for n in range(count):
        ids = pa.array([str(uuid.UUID(int=n * 1000 + i)) for i in range(template.num_rows)])
        part = template.set_column(0, "event_id", ids)
        path = f"{targets.data_dirs[EVENTS_TABLE]}/event_date={day}/{run}-{n:06d}.parquet"
        actions = f"{targets.data_dirs[ACTIONS_TABLE]}/event_date={day}/{run}-{n:06d}~{run}.parquet"
        out.append(
            Staged(
                EVENTS_TABLE,
                day,
                path,
                part.num_rows,
                write_data_file(part, path, targets, EVENTS_TABLE),
                actions,
                write_data_file(map_table(part), actions, targets, ACTIONS_TABLE),
            )
        )
    return out


def bench_commit(counts: list[int], work: Path) -> None:
    """The driver's commit alone: N worker data files, deduplicated against a table that holds
    every one of them once already (the worst case for deduplication: each file is read)."""
    from trailwise.pipeline.ingest.commit import commit
    from trailwise.pipeline.ingest.workers import Targets
    from trailwise.pipeline.lake import ACTIONS_TABLE, AGGREGATED_TABLE, EVENTS_TABLE, Lake

    template = _template_events(work).slice(0, 200)
    day = pc.cast(template.column("event_time"), pa.date32())
    template = template.filter(pc.equal(day, pc.min(day)))
    print(f"commit: data files of {template.num_rows} events each, one day")
    for count in counts:
        lake = Lake(work / f"commit-{count}")
        lake.create()
        tables = {n: lake.load(n) for n in (EVENTS_TABLE, ACTIONS_TABLE, AGGREGATED_TABLE)}
        targets = Targets(
            "bench",
            lake.store,
            "quarantine/bench",
            {n: lake.data_dir(n) for n in tables},
            {n: t.metadata for n, t in tables.items()},
        )
        first_day = str(pc.min(day).as_py())

        with lake.lock():
            started = time.perf_counter()
            first = _staged(template, count, "first", targets, first_day)
            writing = time.perf_counter() - started
            started = time.perf_counter()
            kept = commit(lake, EVENTS_TABLE, first, "first")
            new = time.perf_counter() - started
            again = _staged(template, count, "again", targets, first_day)
            started = time.perf_counter()
            kept_again = commit(lake, EVENTS_TABLE, again, "again")
            duplicates = time.perf_counter() - started
        assert kept.total() == count * template.num_rows and kept_again.total() == 0
        print(
            f"  {count:6,} files: new {new:7.2f} s ({new / count * 1000:5.1f} ms/file), "
            f"all duplicates {duplicates:7.2f} s ({duplicates / count * 1000:5.1f} ms/file); "
            f"writing them took {writing:.1f} s"
        )


def bench_queries(lake: Path, repeat: int, only: list[str] | None = None) -> None:
    from trailwise.pipeline.spark import query as spark_query
    from trailwise.pipeline.spark.session import spark_session

    [span] = api.run_sql(
        "select min(event_time) as since, max(event_time) + interval 1 second as until from events",
        lake,
    ).to_pylist()
    [size] = api.run_sql("select count(*) as n from events", lake).to_pylist()
    print(f"queries: lake {lake}, {size['n']:,} events")
    started = time.perf_counter()
    spark = spark_session("local[2]")
    print(f"  spark session started in {time.perf_counter() - started:.1f} s")
    print(f"  {'query':32} {'duckdb':>9} {'spark':>9} {'ratio':>7}")
    for name, query in sorted(named_queries().items()):
        if only and name not in only:
            continue
        params = {p.name: str(span[p.name]) for p in query.params if p.name in span}
        missing = [p.name for p in query.params if not p.optional and p.name not in params]
        if missing:
            print(f"  {name:32} skipped: needs {', '.join(missing)}")
            continue
        try:
            duck = _median(repeat, api.run_named, name, lake, params)
            on_spark = _median(
                repeat, spark_query.run_named, as_lake(lake), name, params, spark=spark
            )
        except TrailwiseError as exc:
            print(f"  {name:32} skipped: {exc}")
            continue
        print(f"  {name:32} {duck:7.2f} s {on_spark:7.2f} s {on_spark / duck:6.2f}x", flush=True)
    spark.stop()


def _median(repeat: int, run: Any, *args: Any, **kwargs: Any) -> float:
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        run(*args, **kwargs)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=4004)
    parser.add_argument("--lake", type=Path, help="a lake for the query comparison")
    parser.add_argument("--commit-files", type=int, nargs="*", default=[100, 1000, 10000])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--only", nargs="*", help="query names (default: all)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["ingest", "commit", "queries"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if "ingest" not in args.skip:
            bench_ingest(args.events, args.files, work)
        if "commit" not in args.skip:
            bench_commit(args.commit_files, work)
        if "queries" not in args.skip:
            if args.lake is None:
                print("queries: skipped (give --lake, e.g. bench_ingest.py --keep-lake's)")
            else:
                bench_queries(args.lake, args.repeat, args.only)


if __name__ == "__main__":
    main()
