"""The library's front door: one function per CLI command, usable from Python as is."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from trailwise.pipeline import ingest as _ingest
from trailwise.pipeline import query
from trailwise.pipeline.errors import PolicyError, UsageError
from trailwise.pipeline.ingest import FIRST_RUN_DAYS, Window, open_sources
from trailwise.pipeline.lake import Lake, actions, as_lake, maintenance
from trailwise.pipeline.lake import copy as lake_copy
from trailwise.pipeline.policy import permissions
from trailwise.pipeline.policy.permissions import LakeAccess
from trailwise.pipeline.query import init_file
from trailwise.pipeline.sources.s3 import S3Config
from trailwise.pipeline.spark import query as spark_query
from trailwise.pipeline.spark.session import spark_session

# A lake: opened (a Lake), or named by its root (None: --lake's default).
LakeLike = Lake | str | Path | None

__all__ = [
    "LakeAccess",
    "S3Config",
    "UsageError",
    "compact",
    "connect",
    "copy_lake",
    "demo",
    "iam_load",
    "ingest",
    "ingest_permissions",
    "list_queries",
    "load_permissions",
    "policy_bulk",
    "policy_diff",
    "policy_suggest",
    "policy_trust",
    "remap",
    "report",
    "run_named",
    "run_sql",
    "status",
]


def ingest(
    specs: Sequence[str],
    lake: LakeLike = None,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    accounts: Sequence[str] = (),
    regions: Sequence[str] = (),
    workers: int | None = None,
    progress: _ingest.Progress | None = None,
    s3: S3Config | None = None,
    first_run_days: int = FIRST_RUN_DAYS,
    engine: str = "duckdb",
    spark_master: str | None = None,
) -> _ingest.IngestResult:
    """Ingest CloudTrail files from ``specs`` into the lake; see :func:`ingest.ingest`.

    ``workers`` is how many objects are read (downloaded) at once; decoding uses every CPU, or
    with ``engine="spark"`` the tasks of a Spark session (``spark_master``, or the one
    spark-submit configured).
    """
    target = as_lake(lake)
    window = Window(since, until, frozenset(accounts), frozenset(regions))
    decoder = None
    if _spark_engine(engine, spark_master):
        from trailwise.pipeline.spark.ingest import decode_all

        decoder = functools.partial(decode_all, spark_session(spark_master))
    sources = open_sources(specs, target, window, s3, first_run_days)
    return _ingest.ingest(sources, target, window, workers, progress, decoder=decoder)


# The engines trailwise runs on: this machine (processes, DuckDB), or a Spark session over the
# same lake.
ENGINES = ("duckdb", "spark")


def run_sql(
    sql: str,
    lake: LakeLike = None,
    *,
    engine: str = "duckdb",
    spark_master: str | None = None,
) -> pa.Table:
    """Read-only SQL over the lake's views: DuckDB SQL, or with ``engine="spark"`` one Spark
    SQL query (SELECT or WITH) over the same views."""
    target = as_lake(lake)
    if _spark_engine(engine, spark_master):
        return spark_query.run_sql(target, sql, spark_session(spark_master))
    return query.run_sql(target, sql)


def run_named(
    name: str,
    lake: LakeLike = None,
    params: dict[str, Any] | None = None,
    *,
    engine: str = "duckdb",
    spark_master: str | None = None,
) -> pa.Table:
    """A named query from ``queries/`` with bound parameters, on DuckDB or (``engine="spark"``)
    on Spark, with the same answer."""
    target = as_lake(lake)
    if _spark_engine(engine, spark_master):
        return spark_query.run_named(target, name, params, spark_session(spark_master))
    return query.run_named(target, name, params)


def _spark_engine(engine: str, spark_master: str | None) -> bool:
    """Whether ``engine`` is Spark (pyspark itself is imported only then: it is an optional
    extra); an unknown engine, or a Spark master for DuckDB, is a UsageError."""
    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r}", hint=f"use one of {', '.join(ENGINES)}")
    if spark_master is not None and engine != "spark":
        raise UsageError("--spark-master needs --engine spark")
    return engine == "spark"


def connect(lake: LakeLike = None, output: str | Path | None = None) -> init_file.ConnectResult:
    """Write a DuckDB init file defining the lake's views over its current snapshot; see
    :func:`query.init_file.write_init_file`."""
    return init_file.write_init_file(as_lake(lake), Path(output) if output is not None else None)


def copy_lake(source: LakeLike, destination: LakeLike) -> lake_copy.CopyResult:
    """Copy a whole lake to another place, its tables registered anew there; see
    :func:`lake.copy.copy_lake`."""
    return lake_copy.copy_lake(as_lake(source), as_lake(destination))


def list_queries() -> list[query.NamedQuery]:
    """The named queries shipped with trailwise."""
    return list(query.named_queries().values())


def status(lake: LakeLike = None) -> dict[str, Any]:
    """What the lake holds and what its last runs did."""
    return maintenance.status(as_lake(lake))


def iam_load(
    path: str | Path | None,
    lake: LakeLike = None,
    captured_at: datetime | None = None,
    aws: S3Config | None = None,
    regions: Sequence[str] = (),
    save: str | Path | None = None,
) -> Any:
    """Load an ``aws iam get-account-authorization-details`` file or a capture file, or read
    the account with ``aws`` (authorization details, the resource policies of ``regions``,
    identity providers), writing what it read to ``save`` if given; see
    :func:`trailwise.pipeline.iam.store.load_into_lake`."""
    from trailwise.pipeline.iam.store import load_into_lake

    if (path is None) == (aws is None):
        raise UsageError("give either a snapshot FILE or --from-aws")
    if aws is None and (regions or save is not None):
        raise UsageError("--region and --save go with --from-aws")
    return load_into_lake(
        as_lake(lake),
        Path(path).expanduser() if path is not None else None,
        captured_at,
        aws,
        regions,
        Path(save) if save is not None else None,
    )


def load_permissions(account_id: str | None = None, regions: Sequence[str] = ()) -> dict[str, Any]:
    """The IAM policy ``iam load --from-aws`` needs; see :func:`permissions.load_policy`."""
    return permissions.load_policy(account_id, regions)


def ingest_permissions(
    bucket: str,
    prefix: str = "",
    kms_key: str | None = None,
    role_arn: str | None = None,
    lake: permissions.LakeAccess | None = None,
) -> dict[str, Any]:
    """The IAM policy the ingest job needs; see :func:`permissions.ingest_policy`."""
    return permissions.ingest_policy(bucket, prefix, kms_key, role_arn, lake)


def demo(sample_logs: str | Path, lake: LakeLike = None) -> Any:
    """Serve ``sample_logs`` from an in-process S3 emulator and ingest it through s3://."""
    from trailwise.pipeline.demo import run_demo

    return run_demo(Path(sample_logs), as_lake(lake))


def remap(lake: LakeLike = None) -> actions.SyncResult:
    """Re-derive every event's IAM actions from the lake, in one commit."""
    target = as_lake(lake).require()
    with target.lock():
        return actions.sync(target, full=True)


def compact(lake: LakeLike = None) -> maintenance.CompactResult:
    """Merge small files per day and drop what old snapshots no longer need."""
    return maintenance.compact(as_lake(lake))


def policy_suggest(principal_arn: str, lake: LakeLike = None, **options: Any) -> Any:
    """The least-privilege policy of a role or user, replayed against the same window's calls
    (``.replay``); options as :func:`policy.suggest`."""
    from trailwise.pipeline.policy import suggest
    from trailwise.pipeline.policy.replay import numbered, replay

    target = as_lake(lake)
    result = suggest(target, principal_arn, **options)
    documents = numbered(result.name, result.documents)
    checked = replay(
        target, result.principal_arn, documents, since=result.since, until=result.until
    )
    return dataclasses.replace(result, replay=checked)


def policy_diff(
    principal_arn: str,
    lake: LakeLike = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Any:
    """Today's grants of a role or user against its use: what to cut, keep, cannot judge; and
    the replay of the policies it would hold once the replacements are applied (``.replay``)."""
    from trailwise.pipeline.policy.diff import diff
    from trailwise.pipeline.policy.replay import replay
    from trailwise.pipeline.policy.replay.inputs import from_value

    target = as_lake(lake)
    result = diff(target, principal_arn, since=since, until=until)
    try:
        documents = from_value(result.to_dict(), "replacement", "the policy diff")
    except PolicyError as exc:  # a policy without its document in the snapshot
        return dataclasses.replace(result, replay_skipped=str(exc))
    checked = replay(target, result.principal_arn, documents, since=since, until=until)
    return dataclasses.replace(result, replay=checked)


def policy_replay(
    principal_arn: str,
    policies: list[Path],
    lake: LakeLike = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Any:
    """Every authorized call of a role or user in the window, judged against the identity
    policies in ``policies`` (documents, suggest or diff outputs): see :mod:`policy.replay`."""
    from trailwise.pipeline.policy.replay import load_policies, replay

    documents = load_policies(policies)
    return replay(as_lake(lake), principal_arn, documents, since=since, until=until)


def policy_trust(
    role_arn: str,
    lake: LakeLike = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Any:
    """Who really assumed a role, the trust policy admitting exactly them, and findings."""
    from trailwise.pipeline.policy.trust import suggest_trust

    return suggest_trust(as_lake(lake), role_arn, since=since, until=until)


def policy_resource(
    resource_arn: str,
    lake: LakeLike = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Any:
    """Who really used a bucket, key, queue, topic, function, secret or repository, its current
    resource policy reviewed, and the resource policy admitting exactly them; see
    :func:`policy.resource_policy.suggest_resource_policy`."""
    from trailwise.pipeline.policy.resource_policy import suggest_resource_policy

    return suggest_resource_policy(as_lake(lake), resource_arn, since=since, until=until)


def policy_bulk(
    out_dir: str | Path,
    lake: LakeLike = None,
    *,
    engine: str = "duckdb",
    spark_master: str | None = None,
    **options: Any,
) -> Any:
    """Suggestions and diffs of every matching principal into ``out_dir``; see
    :func:`policy.bulk.bulk`. With ``engine="spark"`` the event-side queries of every principal
    run on one Spark session (its views made once)."""
    from trailwise.pipeline.policy.bulk import bulk

    target = as_lake(lake)
    queries = None
    if _spark_engine(engine, spark_master):
        queries = spark_query.SparkQueries(target, spark_session(spark_master))
    return bulk(target, out_dir, queries=queries, **options)


def report(
    output: str | Path,
    lake: LakeLike = None,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    accounts: Sequence[str] = (),
) -> Any:
    """Write the report: one self-contained HTML page of the named queries' answers; see
    :func:`report.write_report`."""
    from trailwise.pipeline.report import write_report

    return write_report(as_lake(lake), output, since=since, until=until, accounts=accounts)
