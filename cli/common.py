"""What every ``trailwise`` command shares: the --lake option and the one error boundary."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from trailwise.pipeline.errors import TrailwiseError

from . import render

# Set by the root callback (--debug): show tracebacks instead of one-line errors.
debug = False

LakeOpt = Annotated[
    Path | None,
    typer.Option(
        "--lake", envvar="TRAILWISE_LAKE", help="Lake directory [default: ./trailwise-lake]."
    ),
]


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
        where = f" {exc.filename}" if exc.filename else ""
        typer.secho(f"error:{where}: {exc.strerror or exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None


def echo_json(value: Any) -> None:
    sys.stdout.buffer.write(render.to_json(value) + b"\n")
    sys.stdout.flush()
