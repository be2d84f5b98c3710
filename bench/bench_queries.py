"""Time every named query on a lake, against a full scan of the events measured in the same run.

    .venv/bin/python bench/bench_queries.py --lake /tmp/big/lake          # an existing lake
    .venv/bin/python bench/bench_queries.py --events 1000000               # generate + ingest first

The baseline is one pass over the events reading the JSON text of every request (the widest
column) and grouping by source; each query's figure is reported as seconds and as a ratio to
it (this machine is shared; ratios travel better than seconds). Queries that need a window get
the lake's whole span; the others run with their defaults.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from trailwise.pipeline import api  # noqa: E402
from trailwise.pipeline.errors import TrailwiseError  # noqa: E402
from trailwise.pipeline.query import named_queries  # noqa: E402

BASELINE = (
    "select event_source, count(*) as n, count(distinct principal_arn) as p, "
    "sum(length(request_parameters)) as b from events group by 1"
)


def timed(run: object, repeat: int) -> tuple[float, int]:
    """Median seconds of ``repeat`` runs of ``run()`` (a callable returning a table)."""
    seconds: list[float] = []
    rows = 0
    for _ in range(repeat):
        started = time.perf_counter()
        rows = run().num_rows  # type: ignore[operator]
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), rows


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
        [span] = api.run_sql(
            "select min(event_time) as since, max(event_time) + interval 1 second as until "
            "from events",
            lake,
        ).to_pylist()
        [size] = api.run_sql("select count(*) as n from events", lake).to_pylist()
        print(f"lake {lake}: {size['n']:,} events, {span['since']} .. {span['until']}")

        base, _ = timed(lambda: api.run_sql(BASELINE, lake), args.repeat)
        print(f"{'baseline (full scan)':34} {base:7.2f} s   1.00x")
        for name, query in sorted(named_queries().items()):
            if args.only and name not in args.only:
                continue
            params = {p.name: span[p.name] for p in query.params if p.name in span}
            try:
                took, rows = timed(lambda q=name, p=params: api.run_named(q, lake, p), args.repeat)
            except TrailwiseError as exc:  # e.g. no IAM snapshot for the permission queries
                print(f"{name:34} skipped: {exc}")
                continue
            print(f"{name:34} {took:7.2f} s {took / base:6.2f}x  ({rows:,} rows)", flush=True)


if __name__ == "__main__":
    main()
