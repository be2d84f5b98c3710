"""Rendering results for a terminal or a pipe: table, json, csv, parquet."""

from __future__ import annotations

import io
import shutil
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

MAX_CELL = 60
PIPE_WIDTH = 160


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError


def to_json(value: Any) -> bytes:
    """JSON with ISO timestamps; Arrow tables become an array of row objects."""
    if isinstance(value, pa.Table):
        value = value.to_pylist()
    return orjson.dumps(value, default=_default, option=orjson.OPT_UTC_Z)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def _flat(table: pa.Table) -> pa.Table:
    """Lists and structs as JSON text: CSV has no nested values."""
    for index, column in enumerate(table.schema):
        if pa.types.is_nested(column.type):
            values = [
                None if v is None else orjson.dumps(v).decode()
                for v in table.column(index).to_pylist()
            ]
            table = table.set_column(index, column.name, pa.array(values, pa.string()))
    return table


def _print_records(console: Console, table: pa.Table) -> None:
    """One block per row, a line per column (psql's expanded display): for results with more
    columns than the terminal can show side by side, where a table would squeeze them to nothing."""
    label = max((len(name) for name in table.column_names), default=0)
    for number, row in enumerate(table.to_pylist(), start=1):
        console.print(f"-[ row {number} ]" + "-" * max(0, console.width - 12 - len(str(number))))
        for name, value in row.items():
            console.print(
                f"{name.ljust(label)} | {_cell(value)}", overflow="ellipsis", no_wrap=True
            )


def write_table(table: pa.Table, fmt: str, output: Path | None) -> None:
    """Write a query result in ``fmt`` to ``output`` or stdout."""
    if fmt == "parquet":
        if output is None:
            raise ValueError("--format parquet needs --output FILE")
        pq.write_table(table, output)
        return
    if fmt == "json":
        data = to_json(table) + b"\n"
    elif fmt == "csv":
        buf = io.BytesIO()
        pacsv.write_csv(_flat(table), buf)
        data = buf.getvalue()
    else:
        # A terminal gets its own width; a pipe or file gets room for one line per row.
        width = shutil.get_terminal_size((PIPE_WIDTH, 24)).columns
        if output or not sys.stdout.isatty():
            width = max(width, PIPE_WIDTH)
        console = Console(file=io.StringIO(), width=width, highlight=False)
        min_widths = [min(len(name), 12) for name in table.column_names]
        if sum(w + 3 for w in min_widths) + 1 > width:
            _print_records(console, table)
        else:
            rich_table = Table(show_lines=False)
            for name, min_width in zip(table.column_names, min_widths, strict=True):
                rich_table.add_column(name, overflow="ellipsis", no_wrap=True, min_width=min_width)
            for row in table.to_pylist():
                rich_table.add_row(*(_cell(v) for v in row.values()))
            console.print(rich_table)
        console.print(f"{table.num_rows} row{'s' if table.num_rows != 1 else ''}")
        data = console.file.getvalue().encode()  # type: ignore[attr-defined]
    if output:
        output.write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
