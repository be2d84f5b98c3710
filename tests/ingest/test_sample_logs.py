"""The committed sample set is exactly what bench/generate_logs.py writes, and is shaped like
CloudTrail's own delivery: key grammar, one copy of each event per account except where an
organization trail and an account trail both delivered it.

Regenerate with: python bench/generate_logs.py sample --out sample_logs
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import re
import sys
from collections import Counter, defaultdict
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.given import REPO

ROOT = REPO
SAMPLE = ROOT / "sample_logs"

# The grammar as AWS documents it, written here independently of the generator.
LOG_KEY = re.compile(
    r"^(?:(?P<org_prefix>[^/]+)/AWSLogs/o-[a-z0-9]{10,32}/|AWSLogs/)"
    r"(?P<account>\d{12})/CloudTrail/(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)/"
    r"(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/"
    r"(?P=account)_CloudTrail_(?P=region)_(?P=y)(?P=m)(?P=d)T\d{2}[0-5][05]Z_[A-Za-z0-9]{16}"
    r"\.json\.gz$"
)
DIGEST_KEY = re.compile(
    r"^(?:[^/]+/AWSLogs/o-[a-z0-9]{10,32}/|AWSLogs/)"
    r"(?P<account>\d{12})/CloudTrail-Digest/(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)/"
    r"(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/"
    r"(?P=account)_CloudTrail-Digest_(?P=region)_[A-Za-z0-9._-]+_[a-z]{2}(?:-[a-z]+)+-\d_"
    r"(?P=y)(?P=m)(?P=d)T\d{6}Z\.json\.gz$"
)
DIGEST_FIELDS = {
    "awsAccountId",
    "digestStartTime",
    "digestEndTime",
    "digestS3Bucket",
    "digestS3Object",
    "digestPublicKeyFingerprint",
    "digestSignatureAlgorithm",
    "newestEventTime",
    "oldestEventTime",
    "previousDigestS3Bucket",
    "previousDigestS3Object",
    "previousDigestHashValue",
    "previousDigestHashAlgorithm",
    "previousDigestSignature",
    "logFiles",
}


@cache
def generator() -> ModuleType:
    """bench/ is not a package: load the generator from its path."""
    spec = importlib.util.spec_from_file_location(
        "generate_logs", ROOT / "bench" / "generate_logs.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being created
    spec.loader.exec_module(module)
    return module


def files_under(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != "README.md"
    }


def delivery_keys(folder: Path) -> list[str]:
    return [
        path.relative_to(folder).as_posix()
        for path in sorted(folder.rglob("*.json.gz"))
        if "/CloudTrail/" in path.as_posix()
    ]


def records_by_file(folder: Path) -> dict[str, list[dict[str, Any]]]:
    return {
        key: json.loads(gzip.decompress((folder / key).read_bytes()))["Records"]
        for key in delivery_keys(folder)
    }


def test_regenerating_the_sample_reproduces_the_committed_files_byte_for_byte(
    tmp_path: Path,
) -> None:
    generator().generate_sample(tmp_path)

    regenerated = files_under(tmp_path)
    committed = files_under(SAMPLE)

    assert sorted(regenerated) == sorted(committed)
    changed = [name for name in committed if committed[name] != regenerated[name]]
    assert changed == [], "run: python bench/generate_logs.py sample --out sample_logs"


def test_every_delivery_file_name_follows_the_cloudtrail_key_grammar() -> None:
    gz_files = sorted(p.relative_to(SAMPLE).as_posix() for p in SAMPLE.rglob("*.json.gz"))
    logs = [key for key in gz_files if "/CloudTrail/" in key]
    digests = [key for key in gz_files if "/CloudTrail-Digest/" in key]

    assert logs and digests
    assert len(logs) + len(digests) == len(gz_files)
    assert [key for key in logs if not LOG_KEY.match(key)] == []
    assert [key for key in digests if not DIGEST_KEY.match(key)] == []
    prefixes = {match["org_prefix"] for match in map(LOG_KEY.match, logs) if match}
    assert prefixes == {None, "org-trail"}


def test_log_files_hold_records_and_digest_files_hold_a_digest() -> None:
    for key, records in records_by_file(SAMPLE).items():
        match = LOG_KEY.match(key)
        assert match
        assert records, key
        assert {r["recipientAccountId"] for r in records} == {match["account"]}, key
        assert {r["awsRegion"] for r in records} == {match["region"]}, key
    for path in SAMPLE.rglob("*CloudTrail-Digest_*.json.gz"):
        digest = json.loads(gzip.decompress(path.read_bytes()))
        assert "Records" not in digest
        assert set(digest) == DIGEST_FIELDS
        assert digest["digestS3Object"] == path.relative_to(SAMPLE).as_posix()
        listed = [entry["s3Object"] for entry in digest["logFiles"]]
        assert all((SAMPLE / key).is_file() for key in listed), listed


def test_event_ids_are_unique_per_account_except_the_org_and_account_trail_overlap() -> None:
    copies: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for key, records in records_by_file(SAMPLE).items():
        trail = "org" if key.startswith("org-trail/") else "account"
        for record in records:
            copies[(record["eventID"], record["recipientAccountId"])].append((trail, record))
    duplicated = {ids: found for ids, found in copies.items() if len(found) > 1}
    start, end = generator().OVERLAP

    assert 3 <= len(duplicated) <= 20
    for found in duplicated.values():
        assert sorted(trail for trail, _ in found) == ["account", "org"]
        assert found[0][1] == found[1][1]
        at = datetime.strptime(found[0][1]["eventTime"], "%Y-%m-%dT%H:%M:%SZ")
        assert start <= at.replace(tzinfo=UTC) < end


def test_every_principal_in_the_events_exists_in_its_account_snapshot() -> None:
    known: dict[str, set[str]] = {}
    for path in (SAMPLE / "iam").glob("authorization-details-*.json"):
        details = json.loads(path.read_text())
        account = path.stem.rsplit("-", 1)[1]
        known[account] = {r["Arn"] for r in details["RoleDetailList"]} | {
            u["Arn"] for u in details["UserDetailList"]
        }
    principals: Counter[str] = Counter()
    for records in records_by_file(SAMPLE).values():
        for record in records:
            identity = record["userIdentity"]
            issuer = identity.get("sessionContext", {}).get("sessionIssuer", {})
            if identity.get("type") == "IAMUser":
                principals[identity["arn"]] += 1
            elif issuer.get("type") == "Role":
                principals[issuer["arn"]] += 1
    missing = [
        arn
        for arn in principals
        if (account := arn.split(":")[4]) in known and arn not in known[account]
    ]

    assert set(known) == {"111122223333", "444455556666"}
    assert missing == []


def test_bulk_mode_writes_exactly_the_requested_events_and_files(tmp_path: Path) -> None:
    summary = generator().generate_bulk(tmp_path, events=2000, files=8, seed=3, workers=2)

    records = records_by_file(tmp_path)
    event_ids = [r["eventID"] for found in records.values() for r in found]
    assert len(records) == 8
    assert all(LOG_KEY.match(key) for key in records)
    assert len(event_ids) == 2000
    assert len(set(event_ids)) == 2000
    assert summary["files"] == 8
    assert summary["events"] == 2000


def test_bulk_mode_works_when_loaded_from_its_path_without_registering_the_module(
    tmp_path: Path,
) -> None:
    # bench/bench_ingest.py loads the generator this way; workers must still find their code.
    name = "generate_logs_unregistered"
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "generate_logs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        summary = module.generate_bulk(tmp_path, events=300, files=4, seed=5, workers=2)
    finally:
        sys.modules.pop(name, None)

    assert (summary["files"], summary["events"]) == (4, 300)


def test_bulk_output_does_not_depend_on_the_number_of_workers(tmp_path: Path) -> None:
    generator().generate_bulk(tmp_path / "one", events=600, files=5, seed=1, workers=1)
    generator().generate_bulk(tmp_path / "two", events=600, files=5, seed=1, workers=2)

    assert files_under(tmp_path / "one") == files_under(tmp_path / "two")
