"""What every ``trailwise`` command shares: the --lake option and the one error boundary."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Annotated, Any

import typer

from trailwise.pipeline.errors import TrailwiseError
from trailwise.pipeline.lake import CatalogConfig, Lake

from . import render

# Set by the root callback (--debug): show tracebacks instead of one-line errors.
debug = False

LakeOpt = Annotated[
    str | None,
    typer.Option(
        "--lake",
        envvar="TRAILWISE_LAKE",
        help="Lake directory or s3://BUCKET/PREFIX [default: ./trailwise-lake].",
    ),
]


class CatalogKind(str, Enum):
    sql = "sql"
    glue = "glue"
    rest = "rest"


CatalogOpt = Annotated[
    CatalogKind | None,
    typer.Option(
        "--catalog",
        envvar="TRAILWISE_CATALOG",
        help="Catalog of the lake's tables: sql (SQLite in a local lake), glue or rest "
        "[default: what the lake was created with, else sql].",
    ),
]
CatalogUriOpt = Annotated[
    str | None,
    typer.Option(
        "--catalog-uri",
        envvar="TRAILWISE_CATALOG_URI",
        help="sql: a SQLAlchemy URL (a shared database); rest: the catalog's URL.",
    ),
]
NamespaceOpt = Annotated[
    str | None,
    typer.Option(
        "--namespace",
        envvar="TRAILWISE_NAMESPACE",
        help="Glue database / Iceberg namespace of the tables [default: trailwise].",
    ),
]


class Engine(str, Enum):
    duckdb = "duckdb"
    spark = "spark"


EngineOpt = Annotated[
    Engine,
    typer.Option(
        "--engine",
        envvar="TRAILWISE_ENGINE",
        help="duckdb: this machine (processes and DuckDB); spark: a Spark session "
        "(pip install 'trailwise[spark]', Java 17+).",
    ),
]
SparkMasterOpt = Annotated[
    str | None,
    typer.Option(
        "--spark-master",
        envvar="TRAILWISE_SPARK_MASTER",
        help="Spark master URL for --engine spark [default: local[*], or spark-submit's].",
    ),
]


def open_lake(
    lake: str | None,
    catalog: CatalogKind | None,
    catalog_uri: str | None,
    namespace: str | None,
) -> Lake:
    """The lake the options name (nothing is read or created yet)."""
    kind = catalog.value if catalog is not None else None
    return Lake(lake, CatalogConfig(kind, catalog_uri, namespace))


@contextmanager
def reporting() -> Iterator[None]:
    """The one place errors are reported: one red line on stderr, non-zero exit."""
    try:
        yield
    except TrailwiseError as exc:
        if debug:
            raise
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(exc.exit_code) from None
    except OSError as exc:
        if debug:
            raise
        where = f" {exc.filename}:" if exc.filename else ""
        typer.secho(f"error:{where} {exc.strerror or exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    except Exception as exc:
        # AWS errors raised inside a library trailwise calls (pyiceberg's Glue catalog) carry
        # no credentials in their text: one line too.
        if debug or not _is_aws_error(exc):
            raise
        typer.secho(f"error: AWS: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None


def _is_aws_error(exc: Exception) -> bool:
    from botocore.exceptions import BotoCoreError, ClientError

    return isinstance(exc, BotoCoreError | ClientError)


def echo_json(value: Any) -> None:
    sys.stdout.buffer.write(render.to_json(value) + b"\n")
    sys.stdout.flush()
