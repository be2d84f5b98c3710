"""Reading the lake: the role's ARN, its snapshot row and current trust policy, the calls that
assumed it and its sessions seen acting.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import duckdb

from trailwise.pipeline import sqlfile
from trailwise.pipeline.errors import PolicyError, UsageError
from trailwise.pipeline.query import fetch

ROLE_ARN = re.compile(
    r"^arn:(?P<partition>[\w-]+):iam::(?P<account>\d{12}):role/(?:.*/)?(?P<name>[^/]+)$"
)
_SESSION_ARN = re.compile(
    r"^arn:(?P<partition>[\w-]+):sts::(?P<account>\d{12}):assumed-role/(?P<name>[^/]+)/[^/]+$"
)
_USER_ARN = re.compile(r"^arn:[\w-]+:iam::\d{12}:user/")


def _sql(name: str) -> str:
    return sqlfile.text("trailwise.pipeline.policy.trust", name)


def parse_role(role_arn: str) -> tuple[str, str, str]:
    """(partition, account, name) of a role ARN or of an assumed-role session ARN.

    Raises:
        UsageError: the ARN is a user's, or not a role's.
    """
    arn = role_arn.strip()
    m = ROLE_ARN.match(arn) or _SESSION_ARN.match(arn)
    if m:
        return m.group("partition"), m.group("account"), m.group("name")
    if _USER_ARN.match(arn):
        raise UsageError(f"{arn} is a user: only roles have a trust policy")
    raise UsageError(
        f"{role_arn!r} is not a role ARN", hint="use arn:aws:iam::ACCOUNT:role/[PATH/]NAME"
    )


def role_row(
    con: duckdb.DuckDBPyConnection, account: str, name: str, role_arn: str
) -> dict[str, Any] | None:
    """The role's snapshot row; None when no snapshot of its account is loaded."""
    rows = fetch(
        con,
        _sql("role_principals"),
        account=account,
        name=name.lower(),
    )
    roles = [r for r in rows if r["principal_type"] == "role"]
    if roles:
        return roles[0]
    accounts = {
        r["account_id"] for r in fetch(con, "select distinct account_id from iam_principals")
    }
    if account not in accounts:
        return None
    raise UsageError(f"role {role_arn} is not in the IAM snapshot of account {account}")


def current_policy(role: Mapping[str, Any]) -> dict[str, Any] | None:
    """The role row's trust policy document; None when the row has none.

    Raises:
        PolicyError: the trust policy is not a JSON object.
    """
    text = role.get("trust_policy")
    if not text:
        return None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PolicyError(f"the trust policy of {role['principal_arn']} is not JSON") from exc
    if not isinstance(doc, dict):
        raise PolicyError(f"the trust policy of {role['principal_arn']} is not a JSON object")
    return doc


def assumption_rows(
    con: duckdb.DuckDBPyConnection,
    account: str,
    name: str,
    since: datetime | None,
    until: datetime | None,
) -> list[dict[str, Any]]:
    """The assumption calls naming the role in the window, every logged copy (``role_assumptions``).

    Args:
        con: a connection to the lake.
        account: the role's account id.
        name: the role's name (matched case-insensitively).
        since: start of the window (inclusive); None: the first event.
        until: end of the window (exclusive); None: after the last event.
    """
    return fetch(
        con,
        _sql("role_assumptions"),
        account=account,
        name=name.lower(),
        since=since,
        until=until,
    )


def session_rows(
    con: duckdb.DuckDBPyConnection,
    account: str,
    name: str,
    since: datetime | None,
    until: datetime | None,
) -> list[dict[str, Any]]:
    """The role's sessions seen acting in the window (``role_sessions``).

    Args:
        con: a connection to the lake.
        account: the role's account id.
        name: the role's name (matched case-insensitively).
        since: start of the window (inclusive); None: the first event.
        until: end of the window (exclusive); None: after the last event.
    """
    return fetch(
        con, _sql("role_sessions"), account=account, name=name.lower(), since=since, until=until
    )


def principal_ids(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The snapshot's principals by unique id (``AROA...``, ``AIDA...``): id -> ARN."""
    return {r["principal_id"]: r["principal_arn"] for r in fetch(con, _sql("principal_ids"))}
