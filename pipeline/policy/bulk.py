"""Right-sizing across an organisation: a suggestion and a diff for every matching principal.

Writes into one folder ``ACCOUNT/roles/NAME.suggest.json``, ``NAME.diff.json`` and
``NAME.policy.json`` (users under ``users/``), plus ``index.csv`` and ``index.json`` with one row
per principal and the size of each reduction. Principals come from the latest IAM snapshot of each
account; one that cannot be judged (a malformed policy, say) gets an ``error`` row and the others
go on.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from trailwise.pipeline import sqlfile
from trailwise.pipeline.errors import PolicyError, TrailwiseError, UsageError
from trailwise.pipeline.iam.store import require_snapshot
from trailwise.pipeline.lake import Lake, as_lake, write_atomic
from trailwise.pipeline.policy import document
from trailwise.pipeline.policy.diff import diff
from trailwise.pipeline.policy.suggest import suggest
from trailwise.pipeline.query import connect, fetch
from trailwise.pipeline.query.named import Queries

INDEX_COLUMNS = (
    "principal_arn",
    "principal_type",
    "account_id",
    "status",
    "granted",
    "kept",
    "removable",
    "unjudgeable",
    "used_not_granted",
    "reduction_pct",
    "suggested_actions",
    "suggested_policies",
    "suggested_size",
    "last_event_at",
    "files",
    "note",
)
# IAM user and role names: what IAM itself allows, so a name is always a safe file name.
_IAM_NAME = re.compile(r"^[\w+=,.@-]{1,128}$")


@dataclass
class BulkRow:
    """One principal's line in the index."""

    principal_arn: str
    principal_type: str
    account_id: str
    status: str  # suggested | no_activity | skipped | error
    granted: int | None = None
    kept: int | None = None
    removable: int | None = None
    unjudgeable: int | None = None
    used_not_granted: int | None = None
    reduction_pct: float | None = None
    suggested_actions: int | None = None
    suggested_policies: int | None = None
    suggested_size: int | None = None
    last_event_at: str | None = None
    files: list[str] = field(default_factory=list)
    note: str = ""


@dataclass
class BulkResult:
    """What ``bulk`` wrote, and how many principals ended in each status."""

    out_dir: str
    rows: list[BulkRow]

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for row in self.rows:
            out[row.status] = out.get(row.status, 0) + 1
        return dict(sorted(out.items()))

    @property
    def errors(self) -> int:
        return self.counts.get("error", 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": self.out_dir,
            "principals": len(self.rows),
            "counts": self.counts,
            "granted": sum(r.granted or 0 for r in self.rows),
            "removable": sum(r.removable or 0 for r in self.rows),
            "index": [asdict(r) for r in self.rows],
        }


def _principals(
    lake: Lake, account_id: str | None, path_prefix: str | None, name_pattern: str | None
) -> list[dict[str, Any]]:
    require_snapshot(lake)
    con = connect(lake)
    try:
        rows = fetch(
            con, sqlfile.text("trailwise.pipeline.policy", "bulk_principals"), account_id=account_id
        )
    finally:
        con.close()
    return [
        row
        for row in rows
        if (path_prefix is None or (row["path"] or "/").startswith(path_prefix))
        and (name_pattern is None or fnmatch.fnmatchcase(row["name"], name_pattern))
    ]


def _write_json(path: Path, value: Any) -> None:
    write_atomic(path, orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))


def _one(
    lake: Lake,
    principal: dict[str, Any],
    out_dir: Path,
    since: datetime | None,
    until: datetime | None,
    resources: str,
    max_size: int,
    queries: Queries | None,
) -> BulkRow:
    arn = principal["principal_arn"]
    row = BulkRow(arn, principal["principal_type"], principal["account_id"], "suggested")
    path = principal["path"] or "/"
    if path.startswith("/aws-reserved/sso.amazonaws.com/"):
        row.status = "skipped"
        row.note = "IAM Identity Center owns this role: right-size its permission set instead"
        return row
    if principal["is_aws_managed"] or path.startswith("/aws-service-role/"):
        row.status = "skipped"
        row.note = "a service-linked role: AWS owns its policies, they cannot be edited"
        return row
    if not _IAM_NAME.match(principal["name"] or ""):
        raise PolicyError(f"{arn}: name {principal['name']!r} is not a valid IAM name")
    folder = out_dir / principal["account_id"] / f"{principal['principal_type']}s"
    stem = principal["name"]

    report = diff(lake, arn, since=since, until=until, queries=queries)
    summary = report.to_dict()["summary"]
    row.granted, row.kept = summary["granted"], summary["kept"]
    row.removable, row.unjudgeable = summary["removable"], summary["unjudgeable"]
    row.used_not_granted = summary["used_not_granted"]
    if row.granted:
        row.reduction_pct = round(100 * row.removable / row.granted, 1)
    _write_json(folder / f"{stem}.diff.json", report.to_dict())
    row.files.append(f"{principal['account_id']}/{folder.name}/{stem}.diff.json")

    try:
        suggestion = suggest(
            lake,
            arn,
            since=since,
            until=until,
            resources=resources,
            max_size=max_size,
            queries=queries,
        )
    except PolicyError as exc:
        # No authorized use in the window: nothing to suggest, and the diff says what to cut.
        row.status = "no_activity"
        row.note = str(exc)
        return row
    row.suggested_actions = len({e.action for e in suggestion.evidence if not e.denied})
    row.suggested_policies = len(suggestion.documents)
    row.suggested_size = sum(document.size(d) for d in suggestion.documents)
    last = suggestion.last_event_at
    row.last_event_at = last.isoformat() + "Z" if last else None
    _write_json(folder / f"{stem}.suggest.json", suggestion.to_dict())
    policies = suggestion.documents if len(suggestion.documents) > 1 else suggestion.documents[0]
    _write_json(folder / f"{stem}.policy.json", policies)
    row.files += [
        f"{principal['account_id']}/{folder.name}/{stem}.suggest.json",
        f"{principal['account_id']}/{folder.name}/{stem}.policy.json",
    ]
    row.note = "; ".join(suggestion.notes)
    return row


def bulk(
    lake: Lake | str | Path,
    out_dir: str | Path,
    *,
    account_id: str | None = None,
    path_prefix: str | None = None,
    name_pattern: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    resources: str = "generalize",
    max_size: int = document.MAX_MANAGED_POLICY_SIZE,
    queries: Queries | None = None,
) -> BulkResult:
    """Suggest and diff every user and role of the latest snapshots that matches the filters.

    Args:
        lake: the lake (or its directory) with events and IAM snapshots.
        out_dir: folder to write into (created; files of the same names are replaced).
        account_id: only principals of this account.
        path_prefix: only principals whose IAM path starts with this (e.g. ``/service-role/``).
        name_pattern: only principals whose name matches this glob (e.g. ``ci-*``).
        since, until: the window of use; None for the lake's beginning or end.
        resources, max_size: as for :func:`suggest`.
        queries: where the event-side queries run (default DuckDB; Spark's for thousands of
            principals: ``policy bulk --engine spark``).

    Raises:
        UsageError: no IAM snapshot is loaded, or no principal matches the filters.
    """
    target = as_lake(lake)
    principals = _principals(target, account_id, path_prefix, name_pattern)
    if not principals:
        raise UsageError("no user or role of the loaded IAM snapshots matches the filters")
    out = Path(out_dir)
    rows: list[BulkRow] = []
    for principal in principals:
        try:
            rows.append(_one(target, principal, out, since, until, resources, max_size, queries))
        except TrailwiseError as exc:
            rows.append(
                BulkRow(
                    principal["principal_arn"],
                    principal["principal_type"],
                    principal["account_id"],
                    "error",
                    note=str(exc),
                )
            )
    result = BulkResult(str(out), rows)
    _write_json(out / "index.json", result.to_dict())
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=INDEX_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**asdict(row), "files": " ".join(row.files)})
    write_atomic(out / "index.csv", buffer.getvalue().encode())
    return result
