"""Ingest benchmark: trailwise against a same-run floor and DuckDB's read_json.

    python bench/bench_ingest.py [--events 1000000] [--files 4004] [--big-events 3000000]

Generates (once, cached under bench/.data/) delivery files with bench/generate_logs.py, then
measures in this one run, on this machine:

* floor: one process gunzipping and orjson-parsing every file, nothing else (before and after
  trailwise; the faster counts);
* trailwise: ``trailwise ingest DIR`` into a fresh lake (a subprocess; both cores), its phases,
  and a re-run with nothing new;
* duckdb: ``read_json`` of the same files unnested into one Parquet file;
* peak memory of the trailwise process tree (sampled from /proc: RSS summed, and PSS, which
  counts the pages the processes share once) for N and for 3N events;
* objects/s from an S3 emulator, straight and through a 20 ms-per-download proxy.

``--events 10000000 --files 40040 --skip-duckdb --big-events 0 --s3-objects 0`` gives the
10M-event figure; ``--keep-lake DIR`` keeps that lake for ``bench/bench_queries.py --lake DIR``.

Figures are ratios against the floor measured in the same run: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import duckdb
import orjson

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
TRAILWISE = Path(sys.executable).with_name("trailwise")


def _generator():
    spec = importlib.util.spec_from_file_location("generate_logs", HERE / "generate_logs.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module  # worker processes unpickle functions by module name
    spec.loader.exec_module(module)
    return module


def dataset(events: int, files: int) -> Path:
    out = DATA / f"bulk-{events}-{files}"
    marker = out / ".complete"
    if not marker.exists():
        shutil.rmtree(out, ignore_errors=True)
        summary = _generator().generate_bulk(out, events=events, files=files, seed=7, workers=2)
        marker.write_text(json.dumps(summary))
    return out


def log_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.json.gz"))


def floor(paths: list[Path]) -> tuple[float, int]:
    started = time.perf_counter()
    records = 0
    for path in paths:
        records += len(orjson.loads(gzip.decompress(path.read_bytes()))["Records"])
    return time.perf_counter() - started, records


def _tree_memory(pid: int) -> tuple[int, int]:
    """Resident bytes of a process and all its descendants: RSS summed (a page the processes
    share counts once per process) and PSS summed (a shared page split between them)."""
    rss = pss = 0
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue
    stack = [pid]
    page = os.sysconf("SC_PAGE_SIZE")
    while stack:
        p = stack.pop()
        with contextlib.suppress(OSError, IndexError, ValueError):
            rss += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * page
            rollup = Path(f"/proc/{p}/smaps_rollup").read_text()
            pss += int(rollup.split("\nPss:", 1)[1].split()[0]) * 1024
        stack.extend(children.get(p, []))
    return rss, pss


def run_trailwise(source: Path, lake: Path) -> dict:
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(TRAILWISE), "ingest", str(source), "--lake", str(lake), "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    peak = {"tree": 0, "tree_pss": 0, "main": 0}

    def sample() -> None:
        while proc.poll() is None:
            rss, pss = _tree_memory(proc.pid)
            peak["tree"] = max(peak["tree"], rss)
            peak["tree_pss"] = max(peak["tree_pss"], pss)
            try:
                rss = int(Path(f"/proc/{proc.pid}/statm").read_text().split()[1])
                peak["main"] = max(peak["main"], rss * os.sysconf("SC_PAGE_SIZE"))
            except (OSError, IndexError, ValueError):
                pass
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - started
    sampler.join()
    if proc.returncode not in (0, 2):
        raise SystemExit(f"trailwise ingest failed ({proc.returncode}): {err.decode()[-2000:]}")
    summary = json.loads(out)
    return {
        "seconds": seconds,
        "peak_rss_tree": peak["tree"],
        "peak_pss_tree": peak["tree_pss"],
        "peak_rss_main": peak["main"],
        "summary": summary,
    }


def run_duckdb(paths: list[Path], target: Path) -> float:
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute(
        "copy (select unnest(Records) as event from read_json($files, "
        "columns = {'Records': 'JSON[]'}, format = 'unstructured', compression = 'gzip', "
        "maximum_object_size = 1000000000)) to '"
        + str(target).replace("'", "''")
        + "' (format parquet)",
        {"files": [str(p) for p in paths]},
    )
    con.close()
    return time.perf_counter() - started


def s3_throughput(paths: list[Path], root: Path, work: Path, objects: int) -> dict:
    """Objects/s and MB/s from an in-process S3 emulator, with 1 and with 8 readers: straight
    from the emulator, and through a proxy adding 20 ms to each download (S3's first-byte
    latency is of that order; on loopback there is none, so concurrency cannot show)."""
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    sys.path.insert(0, str(HERE.parent))
    from tests.s3world import FaultProxy

    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    out: dict = {"objects": objects}
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        s3 = boto3.client("s3", endpoint_url=endpoint)
        s3.create_bucket(Bucket="bench-trail")
        chosen = paths[:objects]
        for path in chosen:
            key = path.relative_to(root).as_posix()
            s3.put_object(Bucket="bench-trail", Key=key, Body=path.read_bytes())
        out["mb"] = round(sum(p.stat().st_size for p in chosen) / 1e6, 1)
        proxy = FaultProxy((host, port)).start()
        proxy.inject("delay", "/bench-trail/AWSLogs/", times=10**9, seconds=0.02)
        try:
            for label, url in (("direct", endpoint), ("latency_20ms", proxy.url)):
                for readers in (1, 8):
                    lake = work / f"s3-lake-{label}-{readers}"
                    started = time.perf_counter()
                    proc = subprocess.run(
                        [
                            str(TRAILWISE),
                            "ingest",
                            "s3://bench-trail",
                            "--lake",
                            str(lake),
                            "--endpoint-url",
                            url,
                            "--since",
                            "2026-11-01",
                            "--workers",
                            str(readers),
                            "--format",
                            "json",
                        ],
                        capture_output=True,
                        check=False,
                    )
                    seconds = time.perf_counter() - started
                    summary = json.loads(proc.stdout)
                    assert summary["files_ingested"] == objects, summary
                    out[f"{label}_workers_{readers}"] = {
                        "seconds": round(seconds, 2),
                        "objects_per_second": round(objects / seconds, 1),
                        "mb_per_second": round(out["mb"] / seconds, 2),
                    }
        finally:
            proxy.stop()
    finally:
        server.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=4004)
    parser.add_argument(
        "--big-events",
        type=int,
        default=3_000_000,
        help="second, larger set for the RSS growth check (0 to skip)",
    )
    parser.add_argument("--skip-duckdb", action="store_true")
    parser.add_argument(
        "--s3-objects",
        type=int,
        default=400,
        help="objects served by the S3 emulator for the readers benchmark (0: skip)",
    )
    parser.add_argument(
        "--keep-lake",
        type=Path,
        help="ingest into this (new) folder and keep it, e.g. for bench/bench_queries.py --lake",
    )
    args = parser.parse_args()
    if args.keep_lake is not None and args.keep_lake.exists():
        parser.error(f"--keep-lake {args.keep_lake} exists; give a new folder")

    source = dataset(args.events, args.files)
    paths = log_files(source)
    gz_bytes = sum(p.stat().st_size for p in paths)
    print(
        f"data: {len(paths)} files, {gz_bytes / 1e6:.0f} MB gzip, {args.events:,} events",
        flush=True,
    )

    # The floor is measured before and after trailwise and the faster taken: on a shared
    # machine another tenant's burst during one of them would otherwise flatter the ratio.
    floor_first, records = floor(paths)
    print(f"floor (1 process gunzip + orjson): {floor_first:.1f}s", flush=True)
    work = Path(tempfile.mkdtemp(prefix="trailwise-bench-"))
    lake = args.keep_lake or work / "lake"
    try:
        ours = run_trailwise(source, lake)
        s = ours["summary"]
        assert s["events_written"] == records == args.events, (s, records)
        rate = args.events / ours["seconds"]
        print(
            f"trailwise ingest: {ours['seconds']:.1f}s, {rate:,.0f} events/s, "
            f"peak RSS {ours['peak_rss_tree'] / 2**20:.0f} MiB "
            f"(main {ours['peak_rss_main'] / 2**20:.0f}; PSS {ours['peak_pss_tree'] / 2**20:.0f})",
            flush=True,
        )
        rerun = run_trailwise(source, lake)
        print(f"re-run (nothing new): {rerun['seconds']:.1f}s", flush=True)
        floor_again, _ = floor(paths)
        floor_s = min(floor_first, floor_again)
        print(
            f"floor again: {floor_again:.1f}s; trailwise / floor = {ours['seconds'] / floor_s:.2f}",
            flush=True,
        )
        duck_s = None
        if not args.skip_duckdb:
            duck_s = run_duckdb(paths, work / "duckdb.parquet")
            print(
                f"duckdb read_json -> parquet: {duck_s:.1f}s; duckdb / trailwise = "
                f"{duck_s / ours['seconds']:.2f}",
                flush=True,
            )
        s3 = None
        if args.s3_objects:
            s3 = s3_throughput(paths, source, work, args.s3_objects)
            for label in ("direct", "latency_20ms"):
                one, eight = s3[f"{label}_workers_1"], s3[f"{label}_workers_8"]
                print(
                    f"s3 emulator ({label}), {s3['objects']} objects: 1 reader "
                    f"{one['objects_per_second']} objects/s, 8 readers "
                    f"{eight['objects_per_second']} objects/s",
                    flush=True,
                )
        big = None
        if args.big_events:
            big_source = dataset(args.big_events, args.files * args.big_events // args.events)
            if args.keep_lake is None:
                shutil.rmtree(lake, ignore_errors=True)
            big = run_trailwise(big_source, work / "lake-big")
            print(
                f"trailwise ingest {args.big_events:,}: {big['seconds']:.1f}s, peak RSS "
                f"{big['peak_rss_tree'] / 2**20:.0f} MiB (main {big['peak_rss_main'] / 2**20:.0f}"
                f"; PSS {big['peak_pss_tree'] / 2**20:.0f})",
                flush=True,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    results = {
        "events": args.events,
        "files": len(paths),
        "gzip_mb": round(gz_bytes / 1e6, 1),
        "floor_seconds": round(floor_s, 2),
        "floor_runs_seconds": [round(floor_first, 2), round(floor_again, 2)],
        "trailwise_seconds": round(ours["seconds"], 2),
        "events_per_second": round(args.events / ours["seconds"]),
        "ratio_to_floor": round(ours["seconds"] / floor_s, 2),
        "phase_seconds": ours["summary"]["phase_seconds"],
        "rerun_seconds": round(rerun["seconds"], 2),
        "duckdb_seconds": round(duck_s, 2) if duck_s else None,
        "duckdb_over_trailwise": round(duck_s / ours["seconds"], 2) if duck_s else None,
        "peak_rss_mib": round(ours["peak_rss_tree"] / 2**20),
        "peak_rss_main_mib": round(ours["peak_rss_main"] / 2**20),
        "peak_pss_mib": round(ours["peak_pss_tree"] / 2**20),
        "big_events": args.big_events or None,
        "big_seconds": round(big["seconds"], 2) if big else None,
        "big_peak_rss_mib": round(big["peak_rss_tree"] / 2**20) if big else None,
        "big_peak_rss_main_mib": round(big["peak_rss_main"] / 2**20) if big else None,
        "big_peak_pss_mib": round(big["peak_pss_tree"] / 2**20) if big else None,
        "s3": s3,
        "cpus": os.cpu_count(),
    }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
