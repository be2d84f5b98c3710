"""Reading the lake's IAM snapshot for a diff: the principal named by an ARN, its identity
policies (inline, attached, through its groups) and the resources its grants reach."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import duckdb

from trailwise.pipeline import sqlfile
from trailwise.pipeline.errors import UsageError
from trailwise.pipeline.query import fetch

_PRINCIPAL_ARN = re.compile(
    r"^arn:(?P<partition>[\w-]+):(?P<service>iam|sts)::(?P<account>\d{12}):"
    r"(?P<kind>role|user|assumed-role|group)/(?P<rest>.+)$"
)


def _sql(name: str) -> str:
    return sqlfile.text("trailwise.pipeline.policy.diff", name)


def parse_principal(principal_arn: str) -> tuple[str, str, str]:
    """The account, type (``user`` or ``role``) and name a principal ARN names.

    Args:
        principal_arn: a user or role ARN; an assumed-role session ARN names its role.

    Returns:
        ``(account, kind, name)``.

    Raises:
        UsageError: not a user or role ARN (a group's included).
    """
    m = _PRINCIPAL_ARN.match(principal_arn.strip())
    if not m or (m.group("service") == "sts") != (m.group("kind") == "assumed-role"):
        raise UsageError(
            f"{principal_arn!r} is not a user or role ARN",
            hint="use arn:aws:iam::ACCOUNT:role/NAME or arn:aws:iam::ACCOUNT:user/NAME",
        )
    kind = m.group("kind")
    if kind == "group":
        raise UsageError(
            f"{principal_arn} is a group: diff one of its users instead",
            hint="a group's policies reach each member together with the member's own",
        )
    rest = m.group("rest")
    if kind == "assumed-role":
        return m.group("account"), "role", rest.split("/", 1)[0]
    return m.group("account"), kind, rest.rsplit("/", 1)[-1]


def principal_row(
    con: duckdb.DuckDBPyConnection, account: str, kind: str, name: str, given: str
) -> dict[str, Any]:
    """The principal's row in the IAM snapshot.

    Args:
        con: a connection to the lake's views.
        account: the principal's account id.
        kind: ``user`` or ``role``.
        name: its name (compared case-insensitively).
        given: the ARN as the caller gave it, for the error messages.

    Raises:
        UsageError: no snapshot of the account is loaded, or the principal is not in it.
    """
    rows = fetch(con, _sql("principal_row"), account=account, kind=kind, name=name.lower())
    if rows:
        return rows[0]
    accounts = {
        r["account_id"] for r in fetch(con, "select distinct account_id from iam_principals")
    }
    if account not in accounts:
        raise UsageError(
            f"no IAM snapshot of account {account} is loaded ({given})",
            hint="load it: trailwise iam load FILE",
        )
    raise UsageError(f"{kind} {given} is not in the IAM snapshot of account {account}")


@dataclass(frozen=True)
class Source:
    """One identity policy of the principal, as read from the snapshot."""

    source: str
    kind: str
    name: str
    policy_arn: str | None
    attachment_count: int | None
    document_json: str | None


def policy_sources(con: duckdb.DuckDBPyConnection, principal: Mapping[str, Any]) -> list[Source]:
    """The principal's identity policies, named as ``granted_by`` names them."""
    arn = str(principal["principal_arn"])
    out = [
        Source(
            f"inline:{principal['name']}/{r['policy_name']}",
            "inline",
            str(r["policy_name"]),
            None,
            None,
            r["document"],
        )
        for r in _inline(con, arn)
    ]
    out.extend(
        Source(
            str(r["policy_arn"]),
            "aws_managed" if r["is_aws_managed"] else "managed",
            str(r["policy_name"]),
            str(r["policy_arn"]),
            r["attachment_count"],
            r["document"],
        )
        for r in _attached(con, arn)
    )
    if principal["principal_type"] == "user":
        groups = fetch(con, _sql("group_memberships"), arn=arn)
        for group in groups:
            out.extend(
                Source(
                    f"group:{group['group_name']}/inline:{r['policy_name']}",
                    "group_inline",
                    str(r["policy_name"]),
                    None,
                    None,
                    r["document"],
                )
                for r in _inline(con, str(group["group_arn"]))
            )
            out.extend(
                Source(
                    f"group:{group['group_name']}/{r['policy_arn']}",
                    "group_managed",
                    str(r["policy_name"]),
                    str(r["policy_arn"]),
                    r["attachment_count"],
                    r["document"],
                )
                for r in _attached(con, str(group["group_arn"]))
            )
    return out


def _inline(con: duckdb.DuckDBPyConnection, owner: str) -> list[dict[str, Any]]:
    return fetch(con, _sql("inline_policies"), owner=owner)


def _attached(con: duckdb.DuckDBPyConnection, owner: str) -> list[dict[str, Any]]:
    return fetch(con, _sql("attached_policies"), owner=owner)


def resource_scopes(con: duckdb.DuckDBPyConnection, arn: str) -> dict[str, tuple[str, ...]]:
    """The resources each action granted to ``arn`` reaches (its ``iam_grants`` rows).

    Args:
        con: a connection to the lake's views.
        arn: the principal's ARN.

    Returns:
        The resource patterns per granted action.
    """
    return {
        str(r["action"]): tuple(r["resource_scope"] or ())
        for r in fetch(con, _sql("resource_scopes"), arn=arn)
    }
