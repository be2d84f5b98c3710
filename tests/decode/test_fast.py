"""The fast path lands exactly what the tolerant path lands, file by file, and steps aside for
every file it cannot take as it is."""

from __future__ import annotations

import gzip
import json
from typing import Any

import orjson
import pytest

from tests.given import REALDATA, SAMPLE_LOGS, an_event, corrupted_delivery_files, delivery_name
from trailwise.pipeline.decode import Decoded, decode_bytes
from trailwise.pipeline.decode.schema import JSON_OBJECTS

JSON_COLUMNS = {spec[0] for spec in JSON_OBJECTS} | {"extra_fields"}


def landed(decoded: Decoded) -> dict[str, Any]:
    """Everything a decode gives the lake, JSON columns compared as parsed JSON (a JSON text
    'null' stays apart from no value)."""
    rows = decoded.table().to_pylist()
    for row in rows:
        for column in JSON_COLUMNS:
            if row[column] is not None:
                row[column] = ("json", json.loads(row[column]))
    return {
        "kind": decoded.kind,
        "reason": decoded.reason,
        "records_in": decoded.records_in,
        "filtered": decoded.filtered,
        "quarantined": [(q.index, q.reason) for q in decoded.quarantined],
        "aggregated": decoded.aggregated,
        "rows": rows,
    }


def both_ways(data: bytes, name: str = "", keep: Any = None) -> tuple[Decoded, Decoded]:
    name = name or f"AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/02/{delivery_name()}"
    fast = decode_bytes(data, name, "s3://trail/x.json.gz", keep)
    tolerant = decode_bytes(data, name, "s3://trail/x.json.gz", keep, fast=False)
    return fast, tolerant


def delivery(*events: dict[str, Any]) -> bytes:
    return gzip.compress(orjson.dumps({"Records": list(events)}), mtime=0)


@pytest.mark.parametrize("root", [SAMPLE_LOGS, REALDATA], ids=["sample_logs", "realdata"])
def test_every_file_of_the_corpora_lands_the_same_either_way(root):
    taken = 0
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        fast, tolerant = both_ways(path.read_bytes(), path.as_posix())
        assert landed(fast) == landed(tolerant), path
        taken += fast.fast is not None
    assert taken  # the fast path did take delivery files of the corpus


def test_the_generated_bulk_files_land_the_same_either_way(tmp_path):
    import importlib.util
    import sys

    from tests.given import REPO

    spec = importlib.util.spec_from_file_location("generate_logs", REPO / "bench/generate_logs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    module.generate_bulk(tmp_path, events=3000, files=12, seed=3, workers=1)
    paths = sorted(tmp_path.rglob("*.json.gz"))
    assert paths
    for path in paths:
        fast, tolerant = both_ways(path.read_bytes(), path.as_posix())
        assert fast.fast is not None
        assert landed(fast) == landed(tolerant)


def identity_of(**fields: Any) -> dict[str, Any]:
    identity: dict[str, Any] = an_event()["userIdentity"]
    identity.update(fields)
    return identity


# Files the fast path must leave to the tolerant one, each with what makes it so.
ODD = {
    "an unmodelled top-level field": an_event(somethingNew={"a": 1}),
    "a number where text belongs": an_event(awsRegion=5),
    "a bool where text belongs": an_event(errorCode=True),
    "an object where text belongs": an_event(userAgent={"x": 1}),
    "a missing eventID": {k: v for k, v in an_event().items() if k != "eventID"},
    "an empty eventID": an_event(eventID=""),
    "a time that does not parse": an_event(eventTime="yesterday"),
    "a time without a zone": an_event(eventTime="2026-11-02 10:00:00"),
    "a text flag that is neither true nor false": an_event(readOnly="sometimes"),
    "a text readOnly": an_event(readOnly="TRUE"),
    "a userIdentity that is text": an_event(userIdentity="root"),
    "a userIdentity that is null": an_event(userIdentity=None),
    "a sessionContext that is a list": an_event(userIdentity=identity_of(sessionContext=[1])),
    "an unparseable creationDate": an_event(
        userIdentity=identity_of(
            sessionContext={"attributes": {"creationDate": "soon", "mfaAuthenticated": "false"}}
        )
    ),
    "a mfaAuthenticated that is a number": an_event(
        userIdentity=identity_of(sessionContext={"attributes": {"mfaAuthenticated": 1}})
    ),
    "an envelope inside Records": {
        "detail-type": "AWS API Call via CloudTrail",
        "detail": an_event(),
    },
    "an aggregated record inside Records": {
        "eventCategory": "Aggregated",
        "eventId": "x",
        "accountId": "111122223333",
        "timeWindow": {"windowStart": "2026-11-02T10:00:00Z"},
    },
    "a record that is not an object": [1, 2],
    "text with a lone surrogate": an_event(userAgent="\udcff"),
    "a JSON null request": an_event(requestParameters=None, responseElements=None),
    "an addendum beside the event": an_event(addendum={"reason": "DELIVERY_DELAY"}),
}


@pytest.mark.parametrize("case", ODD)
def test_an_odd_record_lands_as_the_tolerant_path_lands_it(case):
    record = ODD[case]
    if case == "text with a lone surrogate":
        text = json.dumps({"Records": [record, an_event()]}).encode()
        data = gzip.compress(text, mtime=0)
    else:
        data = delivery(record, an_event())
    fast, tolerant = both_ways(data)
    assert landed(fast) == landed(tolerant)


def test_a_window_filters_the_same_either_way():
    from trailwise.pipeline.ingest import Window
    from trailwise.pipeline.timeutil import parse_when

    early = an_event(eventTime="2026-11-01T10:00:00Z")
    other_account = an_event(recipientAccountId="444455556666")
    window = Window(parse_when("2026-11-02"), None, frozenset({"111122223333"}))
    fast, tolerant = both_ways(delivery(early, other_account, an_event()), keep=window)
    assert fast.fast is not None
    assert (fast.filtered, fast.events) == (2, 1)
    assert landed(fast) == landed(tolerant)


def test_randomly_corrupted_delivery_files_land_the_same_either_way():
    for path, raw in corrupted_delivery_files(seed=11):
        fast, tolerant = both_ways(gzip.compress(raw, mtime=0), path.as_posix())
        assert landed(fast) == landed(tolerant)
