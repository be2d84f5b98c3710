"""Fixtures: the CLI runner and a lake directory per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.given import Cli
from tests.s3world import FaultProxy, s3_client
from trailwise.pipeline.sources.s3 import close_clients as close_s3_clients


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``--dist loadgroup`` on pytest 9.2: pytest-xdist 3.8 names a test's group by setting
    ``item._nodeid``, which pytest now ignores (the node id comes from ``item._id``), so tests
    of one ``xdist_group`` (the Spark tests: one JVM) would spread over the workers."""
    if not getattr(config.option, "loadgroup", False):
        return
    try:
        from _pytest.nodeid import NodeId  # where it is missing, xdist's own suffix works
    except ImportError:
        return
    for item in items:
        groups = sorted(
            {
                str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                for m in item.iter_markers("xdist_group")
            }
        )
        if groups and "@" not in item.nodeid:
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(groups)}")


@pytest.fixture
def cli() -> Cli:
    return Cli()


@pytest.fixture
def lake_dir(tmp_path: Path) -> Path:
    return tmp_path / "lake"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto S3/STS server on 127.0.0.1, shared by the session (buckets are per test)."""
    from moto.server import ThreadedMotoServer

    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(key, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def proxy(moto_endpoint: str) -> Iterator[FaultProxy]:
    """A fault-injecting proxy in front of the emulator, per test."""
    host, port = moto_endpoint.removeprefix("http://").split(":")
    running = FaultProxy((host, int(port))).start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def sample_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sample_logs/ ingested with its IAM snapshots, built once per run: tests only read it.

    Under xdist the workers share one (the first to ask builds it, holding a lock the others
    wait on): each building its own cost every worker an ingest and two IAM loads."""
    import fcntl
    import shutil

    from tests.goldens import sample_lake as build

    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "sample-shared"
    root.mkdir(exist_ok=True)
    lake, built = root / "lake", root / "built"
    with (root / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not built.exists():
            shutil.rmtree(lake, ignore_errors=True)  # what a failed build left
            build(root)
            built.touch()
    return lake


@pytest.fixture(autouse=True)
def fresh_s3_clients() -> Iterator[None]:
    """S3 clients are cached per process; a test's environment must not leak into the next."""
    yield
    close_s3_clients()


@pytest.fixture
def bucket(moto_endpoint: str) -> str:
    name = f"trail-{uuid.uuid4().hex[:12]}"
    s3_client(moto_endpoint).create_bucket(Bucket=name)
    return name
