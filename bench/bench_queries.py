"""Time every named query on a lake, and its peak RSS, against a full scan of the events measured
in the same run.

    .venv/bin/python bench/bench_queries.py --lake /tmp/big/lake          # an existing lake
    .venv/bin/python bench/bench_queries.py --events 1000000               # generate + ingest first

The baseline is one pass over the events reading the JSON text of every request (the widest
column) and grouping by source; each query's figure is reported as seconds and as a ratio to
it (this machine is shared; ratios travel better than seconds). Each query runs in a process of
its own, so its peak RSS (Python, DuckDB, Arrow: all of it) is its own, with the library's default
memory settings (TRAILWISE_MEMORY_LIMIT passes through when set). Queries that need a window get
the lake's whole span; the others run with their defaults.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from trailwise.pipeline import api  # noqa: E402
from trailwise.pipeline.query import named_queries  # noqa: E402

BASELINE = (
    "select event_source, count(*) as n, count(distinct principal_arn) as p, "
    "sum(length(request_parameters)) as b from events group by 1"
)


def timed(run: Any, repeat: int) -> tuple[float, int]:
    """Median seconds of ``repeat`` runs of ``run()`` (a callable returning a table)."""
    seconds: list[float] = []
    rows = 0
    for _ in range(repeat):
        started = time.perf_counter()
        rows = run().num_rows
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), rows


def child(lake: Path, name: str | None, params: dict[str, str], repeat: int) -> None:
    """In the measured process: run the query (or the baseline) and print seconds and rows."""
    if name is None:
        took, rows = timed(lambda: api.run_sql(BASELINE, lake), repeat)
    else:
        took, rows = timed(lambda: api.run_named(name, lake, params), repeat)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"seconds": took, "rows": rows, "rss_mib": peak_mib}))


def measured(lake: Path, name: str | None, params: dict[str, str], repeat: int) -> dict[str, Any]:
    """Seconds, rows and peak RSS (MiB) of one query run in a process of its own; ``error`` when
    the query refused (e.g. no IAM snapshot for the permission queries)."""
    spec = json.dumps({"lake": str(lake), "name": name, "params": params, "repeat": repeat})
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", spec],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = proc.communicate()
    if proc.returncode != 0:
        return {"error": (err.strip().splitlines() or ["failed"])[-1]}
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", type=Path)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="query names (default: all)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        lake = args.lake
        if lake is None:
            import generate_logs

            logs, lake = Path(tmp) / "logs", Path(tmp) / "lake"
            generate_logs.generate_bulk(logs, events=args.events, files=args.events // 250, seed=7)
            api.ingest([str(logs)], lake)
            # the generated accounts include the sample snapshots': the permission queries run
            for snapshot in sorted((REPO / "sample_logs" / "iam").glob("*.json")):
                api.iam_load(snapshot, lake)
        [span] = api.run_sql(
            "select min(event_time) as since, max(event_time) + interval 1 second as until "
            "from events",
            lake,
        ).to_pylist()
        [size] = api.run_sql("select count(*) as n from events", lake).to_pylist()
        print(f"lake {lake}: {size['n']:,} events, {span['since']} .. {span['until']}")

        base = measured(lake, None, {}, args.repeat)
        print(f"{'query':34} {'seconds':>9} {'ratio':>7} {'peak RSS':>10}")
        rss = base["rss_mib"]
        print(f"{'baseline (full scan)':34} {base['seconds']:7.2f} s   1.00x {rss:6.0f} MiB")
        for name, query in sorted(named_queries().items()):
            if args.only and name not in args.only:
                continue
            params = {p.name: str(span[p.name]) for p in query.params if p.name in span}
            got = measured(lake, name, params, args.repeat)
            if "error" in got:  # e.g. no IAM snapshot for the permission queries
                print(f"{name:34} skipped: {got['error']}")
                continue
            print(
                f"{name:34} {got['seconds']:7.2f} s {got['seconds'] / base['seconds']:6.2f}x "
                f"{got['rss_mib']:6.0f} MiB  ({got['rows']:,} rows)",
                flush=True,
            )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        spec = json.loads(sys.argv[2])
        child(Path(spec["lake"]), spec["name"], spec["params"], spec["repeat"])
    else:
        main()
