"""Mapping speed: microseconds per event for map_event over sample_logs/ (after warm-up).

    python bench/bench_mapping.py

Timings live here, not in tests: this machine is shared and noisy.
"""

from __future__ import annotations

import time
from pathlib import Path

from trailwise.pipeline.decode import decode_bytes
from trailwise.pipeline.mapping import map_event

SAMPLE = Path(__file__).resolve().parent.parent / "sample_logs"


def main() -> None:
    rows = []
    for path in sorted(SAMPLE.glob("**/CloudTrail/**/*.json.gz")):
        rows.extend(decode_bytes(path.read_bytes(), path.as_posix(), "x").table().to_pylist())
    for row in rows:
        map_event(row)
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for row in rows:
            map_event(row)
        best = min(best, (time.perf_counter() - started) / len(rows))
    print(f"map_event: {best * 1e6:.1f} µs per event over {len(rows)} sample events (best of 5)")


if __name__ == "__main__":
    main()
