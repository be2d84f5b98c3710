"""SQL in files with a header: the analysts' questions (``trailwise.queries``) and the SQL each
package of the library runs (its ``sql/`` folder) share one convention::

    -- name: NAME
    -- description: one line
    -- param: NAME TYPE [optional] description   (one line per $NAME placeholder)
    -- columns: a, b, c
    -- uses: OTHER_QUERY, ...                     (named queries only: results read as views)

Values always go in as bound ``$NAME`` parameters, never spliced into the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from trailwise.pipeline.errors import QueryError

_HEADER = re.compile(r"^--\s*(name|description|param|columns|uses):\s*(.*)$")
_PLACEHOLDER = re.compile(r"(?<![\w$])\$([A-Za-z_]\w*)")
# varchar[]: a list of strings (file lists for read_parquet, ARN lists), library SQL only.
_PARAM_TYPES = {"timestamp", "date", "varchar", "integer", "boolean", "varchar[]"}


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    description: str
    optional: bool = False


@dataclass(frozen=True)
class NamedQuery:
    name: str
    description: str
    params: tuple[Param, ...]
    columns: tuple[str, ...]
    sql: str
    uses: tuple[str, ...] = ()  # named queries whose results this one reads as views

    @property
    def placeholders(self) -> set[str]:
        body = "\n".join(line for line in self.sql.splitlines() if not line.startswith("--"))
        return set(_PLACEHOLDER.findall(body))


def parse_query(text: str, filename: str) -> NamedQuery:
    """Parse a query file's header; raise QueryError naming the file when it is malformed."""
    fields: dict[str, str] = {}
    params: list[Param] = []
    for line in text.splitlines():
        if not line.startswith("--"):
            if line.strip():
                break
            continue
        m = _HEADER.match(line)
        if not m:
            continue
        key, value = m.group(1), m.group(2).strip()
        if key == "param":
            parts = value.split(None, 2)
            if len(parts) < 2 or parts[1] not in _PARAM_TYPES:
                raise QueryError(
                    f"{filename}: bad param line {value!r} (want: NAME TYPE description)"
                )
            rest = parts[2] if len(parts) > 2 else ""
            optional = rest.startswith("optional")
            description = rest.removeprefix("optional").strip()
            params.append(Param(parts[0].lstrip("$"), parts[1], description, optional))
        else:
            fields[key] = value
    for required in ("name", "description", "columns"):
        if required not in fields:
            raise QueryError(f"{filename}: header has no '-- {required}:' line")
    columns = tuple(c.strip() for c in fields["columns"].split(",") if c.strip())
    uses = tuple(u.strip() for u in fields.get("uses", "").split(",") if u.strip())
    return NamedQuery(fields["name"], fields["description"], tuple(params), columns, text, uses)


@cache
def load(package: str, name: str) -> NamedQuery:
    """The SQL file ``NAME.sql`` of a library package's ``sql/`` folder, header checked.

    Args:
        package: the package holding the ``sql/`` folder, e.g. ``"trailwise.pipeline.ingest"``.
        name: the file's name without ``.sql``; the header's ``-- name:`` must say the same.

    Raises:
        QueryError: the header is malformed, names another query, or its params do not match
            the placeholders.
    """
    filename = f"{name}.sql"
    text = resources.files(package).joinpath("sql", filename).read_text(encoding="utf-8")
    query = parse_query(text, f"{package}/sql/{filename}")
    if query.name != name:
        raise QueryError(f"{package}/sql/{filename}: header names {query.name!r}")
    declared = {p.name for p in query.params}
    if declared != query.placeholders:
        raise QueryError(
            f"{package}/sql/{filename}: params {sorted(declared)} do not match the "
            f"placeholders {sorted(query.placeholders)}"
        )
    return query


def text(package: str, name: str) -> str:
    """The SQL of :func:`load`, ready to run with bound parameters."""
    return load(package, name).sql
