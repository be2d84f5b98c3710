"""Time the report: building it (its named queries), rendering the page, and the page's size, on
the sample lake and on a bigger one, against the named queries run alone.

    .venv/bin/python bench/bench_report.py                          # sample lake + 1M generated
    .venv/bin/python bench/bench_report.py --lake /work/bench10m/lake --skip-sample
    .venv/bin/python bench/bench_report.py --events 0               # the sample lake only

"Queries alone" runs every named query the report asks, with the same parameters, one after the
other in this process; the report's build time over it is what gathering costs beyond the
questions themselves (near 1.00x: the report adds no query of its own). Render is the template
and the chart specs, with the Vega bundle already in its cache (the first render on a machine
adds the bundling, printed once). A first build warms the OS cache (printed as cold), then
queries alone and builds alternate --repeat times; medians.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from trailwise.pipeline import api  # noqa: E402
from trailwise.pipeline.report import build, render_html  # noqa: E402
from trailwise.pipeline.report import vega as report_vega  # noqa: E402


def queries_alone(lake: Path, report: Any) -> float:
    """Seconds to ask the report's named queries as it asked them, and nothing else."""
    started = time.perf_counter()
    for figure in report.figures.values():
        runs = (
            [{"account_id": a} for a in figure.accounts]
            if figure.account_filter == "param"
            else [{}]
        )
        for extra in runs:
            api.run_named(figure.query, lake, {**figure.params, **extra})
    return time.perf_counter() - started


def measure(label: str, lake: Path, repeat: int, out: Path) -> None:
    # A first build reads the lake into the OS cache; then queries alone and builds alternate.
    started = time.perf_counter()
    report = build(lake)
    cold = time.perf_counter() - started
    builds, alone, renders = [], [], []
    for _ in range(repeat):
        alone.append(queries_alone(lake, report))
        started = time.perf_counter()
        report = build(lake)
        builds.append(time.perf_counter() - started)
    assert report is not None
    html = ""
    for _ in range(max(3, repeat)):
        started = time.perf_counter()
        html = render_html(report)
        renders.append(time.perf_counter() - started)
    out.write_text(html, encoding="utf-8")
    b, q, r = (statistics.median(x) for x in (builds, alone, renders))
    events = sum(row["events"] for row in report.rows("lake_coverage"))
    slowest = sorted(report.figures.values(), key=lambda f: -f.seconds)[:3]
    print(f"\n{label}: {lake} ({events:,} events in the window)")
    print(f"  first build (cold)   {cold:8.2f} s")
    print(f"  queries alone        {q:8.2f} s")
    print(f"  report build         {b:8.2f} s   {b / q:5.2f}x the queries alone")
    print(f"  render (template)    {r:8.3f} s")
    print(f"  build + render       {b + r:8.2f} s   {(b + r) / q:5.2f}x the queries alone")
    print(f"  page                 {len(html.encode()) / 1e6:8.2f} MB  -> {out}")
    bundle = len(report_vega.script().encode()) / 1e6
    print(f"    of which the Vega bundle {bundle:.2f} MB")
    print("  slowest figures      " + ", ".join(f"{f.query} {f.seconds:.2f} s" for f in slowest))


def sample_lake(root: Path) -> Path:
    lake = root / "sample-lake"
    api.ingest([str(REPO / "sample_logs")], lake)
    for snapshot in sorted((REPO / "sample_logs" / "iam").glob("*.json")):
        api.iam_load(snapshot, lake)
    return lake


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", type=Path, help="a bigger lake to measure (instead of --events)")
    parser.add_argument(
        "--events", type=int, default=1_000_000, help="generate this many (0: none)"
    )
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--skip-sample", action="store_true")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()

    started = time.perf_counter()
    cold = not report_vega.cache_path().exists()
    report_vega.script()
    if cold:
        print(f"bundled the Vega libraries once: {time.perf_counter() - started:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_sample:
            measure(
                "sample lake",
                sample_lake(Path(tmp)),
                max(3, args.repeat),
                args.out / "report-sample.html",
            )
        lake = args.lake
        if lake is None and args.events:
            import generate_logs

            logs, lake = Path(tmp) / "logs", Path(tmp) / "lake"
            generate_logs.generate_bulk(logs, events=args.events, files=args.events // 250, seed=7)
            api.ingest([str(logs)], lake)
            for snapshot in sorted((REPO / "sample_logs" / "iam").glob("*.json")):
                api.iam_load(snapshot, lake)
        if lake is not None:
            measure("bigger lake", lake, args.repeat, args.out / "report-big.html")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of this process: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
