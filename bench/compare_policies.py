"""Side by side: trailscraper's ``generate`` and ``trailwise policy suggest`` on one input.

Needs trailscraper in the venv (bench only, see ``bench/compare_trailscraper.py`` for how to
install it without its pins)::

    .venv/bin/python bench/compare_policies.py            # sample_logs and tests/fixtures/realdata

Both tools get the same events: the lake rows of each input (sample_logs/, then every file of
tests/fixtures/realdata), rebuilt as the raw records trailscraper reads. trailscraper is fed what
its own ``select --filter-assumed-role-arn`` would pick for a role (records whose session issuer is
the role); for an IAM user, the records of that user (trailscraper has no user filter; a user would
pipe them through jq). Its ``generate`` turns every record into a statement, denied ones included.

Printed per principal and tool: actions emitted, actions that do not exist in the IAM catalogue,
denied calls granted (actions the principal only ever attempted and was refused), whether
``iam:PassRole`` is present where the events needed it, and resource precision (actions scoped to
resources rather than ``*``; placeholders counted apart).
"""

from __future__ import annotations

import logging
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from compare_trailscraper import raw_record  # noqa: E402

from trailwise.pipeline import api  # noqa: E402
from trailwise.pipeline.errors import PolicyError  # noqa: E402
from trailwise.pipeline.lake import Lake  # noqa: E402
from trailwise.pipeline.mapping import catalogue_actions  # noqa: E402
from trailwise.pipeline.query import connect  # noqa: E402

INPUTS = {
    "sample_logs": [REPO / "sample_logs"],
    "realdata": [REPO / "tests" / "fixtures" / "realdata"],
}
PRINCIPALS_SQL = """
select principal_arn, count(*) as uses
from event_actions
where classification = 'iam_action'
    and (principal_arn like 'arn:aws:iam::%:role/%' or principal_arn like 'arn:aws:iam::%:user/%')
group by principal_arn
order by principal_arn
"""


@dataclass
class Verdict:
    """What one tool's policy for one principal grants, judged against the events."""

    tool: str
    principal: str
    actions: int = 0
    invalid: int = 0
    denied_granted: int = 0
    pass_role_needed: bool = False
    pass_role_present: bool = False
    scoped: int = 0
    star: int = 0
    placeholders: int = 0
    error: str = ""


def statements(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for doc in documents:
        stmts = doc.get("Statement", [])
        out.extend(stmts if isinstance(stmts, list) else [stmts])
    return out


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def is_placeholder(resource: str) -> bool:
    """Access Analyzer style ``${BucketName}`` or ``<bucket>``; IAM's escapes for a literal
    ``*``, ``?`` or ``$`` (``${*}``, ``${?}``, ``${$}``) are exact, not placeholders."""
    unescaped = resource.replace("${*}", "").replace("${?}", "").replace("${$}", "")
    return "${" in unescaped or "<" in unescaped


def judge(verdict: Verdict, documents: list[dict[str, Any]], facts: dict[str, Any]) -> Verdict:
    valid = {a.lower() for a in catalogue_actions()}
    resources_of: dict[str, set[str]] = {}
    for stmt in statements(documents):
        if stmt.get("Effect") != "Allow":
            continue
        for action in as_list(stmt.get("Action")):
            resources_of.setdefault(action.lower(), set()).update(as_list(stmt.get("Resource")))
    verdict.actions = len(resources_of)
    verdict.invalid = sum(a not in valid for a in resources_of)
    verdict.denied_granted = len(set(resources_of) & facts["denied_only"])
    verdict.pass_role_needed = facts["needs_pass_role"]
    verdict.pass_role_present = "iam:passrole" in resources_of
    for resources in resources_of.values():
        if any(is_placeholder(r) for r in resources):
            verdict.placeholders += 1
        elif resources and "*" not in resources:
            verdict.scoped += 1
        else:
            verdict.star += 1
    return verdict


def select(lake: Lake, sql: str, principal: str) -> list[dict[str, Any]]:
    con = connect(lake)
    try:
        return list(con.sql(sql, params={"p": principal}).to_arrow_table().to_pylist())
    finally:
        con.close()


def facts_of(lake: Lake, principal: str) -> dict[str, Any]:
    """From the lake: actions only ever denied, and whether the events passed a role."""
    rows = select(
        lake,
        "select lower(coalesce(denied_action, action)) as action, is_authorized "
        "from event_actions where classification = 'iam_action' and principal_arn = $p",
        principal,
    )
    allowed = {r["action"] for r in rows if r["is_authorized"]}
    denied = {r["action"] for r in rows if r["is_authorized"] is False}
    return {
        "denied_only": denied - allowed,
        "needs_pass_role": any(r["action"] == "iam:passrole" for r in rows if r["is_authorized"]),
    }


def trailscraper_policy(lake: Lake, principal: str) -> list[dict[str, Any]]:
    from trailscraper.cloudtrail import filter_records, parse_records
    from trailscraper.policy_generator import generate_policy

    rows = select(
        lake,
        "select * from events where principal_arn = $p or session_issuer_arn = $p "
        "order by event_time, event_id",
        principal,
    )
    records = parse_records([raw_record(r) for r in rows])
    if ":role/" in principal:
        records = filter_records(records, [principal])
    policy = generate_policy(records)
    return [orjson.loads(policy.to_json())]


def trailwise_policy(lake: Lake, principal: str) -> list[dict[str, Any]]:
    from trailwise.pipeline.policy import suggest

    return list(suggest(lake, principal).documents)


def compare(name: str, sources: list[Path], root: Path) -> list[Verdict]:
    lake_dir = root / name
    api.ingest([str(s) for s in sources], lake_dir)
    lake = Lake(lake_dir)
    verdicts: list[Verdict] = []
    for row in api.run_sql(PRINCIPALS_SQL, lake_dir).to_pylist():
        principal = row["principal_arn"]
        facts = facts_of(lake, principal)
        for tool, make in (("trailscraper", trailscraper_policy), ("trailwise", trailwise_policy)):
            verdict = Verdict(tool, principal)
            try:
                verdicts.append(judge(verdict, make(lake, principal), facts))
            except PolicyError as exc:  # e.g. only denied calls: nothing to grant
                verdict.error = str(exc)
                verdicts.append(verdict)
    return verdicts


def table(title: str, verdicts: list[Verdict]) -> None:
    print(f"\n### {title}\n")
    print(
        "| principal | tool | actions | not in catalogue | denied granted "
        "| PassRole needed/present "
        "| scoped / `*` / placeholder |"
    )
    print("|---|---|---:|---:|---:|---|---|")
    for v in verdicts:
        short = v.principal.split(":", 4)[-1]
        if v.error:
            print(f"| {short} | {v.tool} | - | - | - | - | {v.error} |")
            continue
        pass_role = (
            f"{'yes' if v.pass_role_needed else 'no'}/{'yes' if v.pass_role_present else 'no'}"
        )
        print(
            f"| {short} | {v.tool} | {v.actions} | {v.invalid} | {v.denied_granted} | "
            f"{pass_role} | {v.scoped} / {v.star} / {v.placeholders} |"
        )
    for tool in ("trailscraper", "trailwise"):
        mine = [v for v in verdicts if v.tool == tool and not v.error]
        missing = sum(v.pass_role_needed and not v.pass_role_present for v in mine)
        print(
            f"\n{tool}: {len(mine)} policies, {sum(v.actions for v in mine)} actions, "
            f"{sum(v.invalid for v in mine)} not in the catalogue, "
            f"{sum(v.denied_granted for v in mine)} denied calls granted, "
            f"PassRole missing in {missing} of {sum(v.pass_role_needed for v in mine)}, "
            f"{sum(v.scoped for v in mine)} actions scoped / {sum(v.star for v in mine)} on `*` / "
            f"{sum(v.placeholders for v in mine)} placeholders"
        )


def main() -> None:
    logging.disable(logging.WARNING)  # trailscraper warns about every record it cannot parse
    with tempfile.TemporaryDirectory() as tmp:
        for name, sources in INPUTS.items():
            table(name, compare(name, sources, Path(tmp)))


if __name__ == "__main__":
    main()
