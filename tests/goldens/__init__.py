"""Golden answers of the named queries on sample_logs/ and its IAM snapshot.

Regenerate after an intended change, then review the diff:

    .venv/bin/python -m tests.goldens        (or: make goldens)
"""

from __future__ import annotations

import json
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

from tests.given import SAMPLE_LOGS
from trailwise.pipeline import api

HERE = Path(__file__).resolve().parent
WINDOW = {"since": "2026-11-01", "until": "2026-11-06"}
CASES: dict[str, tuple[str, dict[str, str]]] = {
    "lake_summary": ("lake_summary", {}),
    "lake_coverage": ("lake_coverage", WINDOW),
    "action_coverage": ("action_coverage", {}),
    "used_actions-app-role": (
        "used_actions",
        {**WINDOW, "principal_arn": "arn:aws:iam::111122223333:role/app-role"},
    ),
    "unused_permissions-app-role": (
        "unused_permissions",
        {**WINDOW, "principal_arn": "arn:aws:iam::111122223333:role/app-role"},
    ),
    "unused_permissions_summary": ("unused_permissions_summary", WINDOW),
    "unused_principals": ("unused_principals", WINDOW),
    "authorization_failures": ("authorization_failures", WINDOW),
    "authorization_failure_events": ("authorization_failure_events", WINDOW),
    "root_activity": ("root_activity", WINDOW),
    "root_activity-with-service-events": (
        "root_activity",
        {**WINDOW, "include_service_events": "true"},
    ),
    "root_summary": ("root_summary", WINDOW),
    "console_logins": ("console_logins", WINDOW),
    "console_logins_without_mfa": ("console_logins_without_mfa", WINDOW),
    "identity_paths": ("identity_paths", WINDOW),
    "shared_roles": ("shared_roles", WINDOW),
    "cross_account_access": ("cross_account_access", WINDOW),
    "long_lived_keys": ("long_lived_keys", WINDOW),
    "sensitive_actions": ("sensitive_actions", WINDOW),
    "unmapped_events": ("unmapped_events", WINDOW),
    "anonymous_access": ("anonymous_access", WINDOW),
    "resource_access": ("resource_access", WINDOW),
    "stale_federation": ("stale_federation", WINDOW),
    # Day 3 alone: the Identity Center providers were last used on days 1 and 2.
    "stale_federation-day-3": ("stale_federation", {"since": "2026-11-04", "until": "2026-11-05"}),
}


def sample_lake(root: Path) -> Path:
    lake = root / "lake"
    api.ingest([str(SAMPLE_LOGS)], lake)
    for snapshot in sorted((SAMPLE_LOGS / "iam").glob("*.json")):
        api.iam_load(snapshot, lake, captured_at=datetime(2026, 11, 5))
    return lake


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def answers(lake: Path) -> dict[str, list[dict[str, Any]]]:
    return {
        case: [_plain(row) for row in api.run_named(query, lake, params).to_pylist()]
        for case, (query, params) in CASES.items()
    }


def path_of(case: str) -> Path:
    return HERE / f"{case}.json"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for case, rows in answers(sample_lake(Path(tmp))).items():
            path_of(case).write_text(json.dumps(rows, indent=1, sort_keys=True) + "\n")
            print(f"wrote {path_of(case).relative_to(HERE.parent.parent)} ({len(rows)} rows)")


if __name__ == "__main__":
    main()
