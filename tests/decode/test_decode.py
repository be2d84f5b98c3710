"""Decoding accepts what users have, keeps everything, and says why it refuses a record."""

from __future__ import annotations

import gzip
import io
import zipfile

import orjson

from tests.given import an_event, corrupted_delivery_files, delivery_name
from trailwise.pipeline.decode import decode_bytes, principal_arn


def rows_as_dicts(decoded):
    return decoded.table().to_pylist()


def decode(data: bytes, name: str = "events.json"):
    return decode_bytes(data, name, f"file:///{name}")


def test_a_gzip_delivery_file_yields_one_row_per_record():
    events = [an_event(), an_event()]
    decoded = decode(gzip.compress(orjson.dumps({"Records": events})), delivery_name())
    assert decoded.kind == "events"
    assert decoded.records_in == 2
    assert [r["event_id"] for r in rows_as_dicts(decoded)] == [e["eventID"] for e in events]


def test_arrays_ndjson_single_events_and_eventbridge_envelopes_are_all_read():
    a, b = an_event(), an_event()
    shapes = {
        "array": orjson.dumps([a, b]),
        "ndjson": orjson.dumps(a) + b"\n" + orjson.dumps(b) + b"\n",
        "single": orjson.dumps(a),
        "eventbridge": orjson.dumps(
            {
                "version": "0",
                "detail-type": "AWS API Call via CloudTrail",
                "source": "aws.s3",
                "detail": a,
            }
        ),
        "raw-string": orjson.dumps([{"_raw": orjson.dumps(a).decode(), "host": "x"}]),
    }
    for shape, data in shapes.items():
        decoded = decode(data)
        assert decoded.kind == "events", shape
        assert rows_as_dicts(decoded)[0]["event_id"] == a["eventID"], shape


def test_digest_files_and_other_json_are_not_cloudtrail():
    digest = {
        "awsAccountId": "111122223333",
        "digestStartTime": "2026-11-02T00:00:00Z",
        "digestEndTime": "2026-11-02T01:00:00Z",
        "logFiles": [],
    }
    assert decode(gzip.compress(orjson.dumps(digest)), "x.json.gz").kind == "not_cloudtrail"
    assert decode(orjson.dumps({"UserDetailList": []})).kind == "not_cloudtrail"
    assert decode(b"Apache License\nVersion 2.0", "LICENSE").kind == "not_cloudtrail"


def test_a_truncated_gzip_file_is_quarantined_with_the_reason():
    data = gzip.compress(orjson.dumps({"Records": [an_event()]}))[:-20]
    decoded = decode(data, delivery_name())
    assert decoded.kind == "quarantined"
    assert "gzip" in decoded.reason


def test_invalid_json_and_wrong_shapes_are_quarantined():
    assert decode(b'{"Records": [{"eventID": ', delivery_name()).kind == "quarantined"
    wrong = decode(orjson.dumps({"Records": "not a list"}), delivery_name())
    assert (wrong.kind, wrong.reason) == ("quarantined", "'Records' is a str, not a list")
    assert decode(b"42", "events.json").kind == "quarantined"


def test_records_without_event_id_or_usable_time_are_quarantined_and_the_rest_kept():
    good = an_event()
    no_id = an_event()
    del no_id["eventID"]
    bad_time = an_event(eventTime="yesterday")
    decoded = decode(orjson.dumps({"Records": [good, no_id, bad_time]}))
    assert decoded.records_in == 3
    assert decoded.events == 1
    assert sorted(q.reason for q in decoded.quarantined) == [
        "eventTime 'yesterday' is not a timestamp",
        "missing eventID",
    ]
    assert orjson.loads(decoded.quarantined[0].raw)["eventName"] == "ListBuckets"


def test_a_bad_ndjson_line_is_quarantined_alone():
    data = orjson.dumps(an_event()) + b"\n{broken\n" + orjson.dumps(an_event()) + b"\n"
    decoded = decode(data, "events.ndjson")
    assert decoded.events == 2
    assert [q.raw for q in decoded.quarantined] == ["{broken"]
    assert decoded.records_in == 3


def test_unknown_fields_and_uncoercible_values_are_kept_in_extra_fields():
    event = an_event(brandNewField={"x": 1}, readOnly="maybe")
    row = rows_as_dicts(decode(orjson.dumps(event)))[0]
    assert orjson.loads(row["extra_fields"]) == {"brandNewField": {"x": 1}, "readOnly": "maybe"}
    assert row["read_only"] is None


def test_numbers_in_text_fields_become_text_and_objects_move_to_extra_fields():
    event = an_event(recipientAccountId=111122223333, userAgent={"odd": True})
    row = rows_as_dicts(decode(orjson.dumps(event)))[0]
    assert row["recipient_account_id"] == "111122223333"
    assert row["user_agent"] is None
    assert orjson.loads(row["extra_fields"]) == {"userAgent": {"odd": True}}


def test_junk_regions_invalid_ips_and_huge_responses_are_kept_verbatim():
    huge = {"items": [{"id": i, "blob": "x" * 100} for i in range(5000)]}
    event = an_event(
        awsRegion="eu-west-2r",
        sourceIPAddress="225.01.00.16",
        responseElements=huge,
        requestParameters=["odd", "shape"],
    )
    row = rows_as_dicts(decode(orjson.dumps(event)))[0]
    assert row["aws_region"] == "eu-west-2r"
    assert row["source_ip_address"] == "225.01.00.16"
    assert orjson.loads(row["response_elements"]) == huge
    assert orjson.loads(row["request_parameters"]) == ["odd", "shape"]


def test_event_times_become_naive_utc_whatever_the_offset():
    row = rows_as_dicts(decode(orjson.dumps(an_event(eventTime="2026-11-02T12:00:00+02:00"))))[0]
    assert row["event_time"].isoformat() == "2026-11-02T10:00:00"


def test_zip_archives_are_read_member_by_member():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("export.json", orjson.dumps(an_event()) + b"\n" + orjson.dumps(an_event()))
        zf.writestr("notes.csv", "a,b\n1,2\n")
    decoded = decode(buf.getvalue(), "export.zip")
    assert (decoded.kind, decoded.events) == ("events", 2)
    assert decoded.member_uris == ["file:///export.zip!export.json"]


def test_principal_is_the_role_for_sessions_the_user_root_or_service_otherwise():
    role_session = an_event()["userIdentity"]
    assert principal_arn(role_session, role_session["sessionContext"]["sessionIssuer"]) == (
        "arn:aws:iam::111122223333:role/service/app-role"
    )
    bare_session = {"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/r/s"}
    assert principal_arn(bare_session, {}) == "arn:aws:iam::111122223333:role/r"
    user = {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice"}
    assert principal_arn(user, {}) == "arn:aws:iam::111122223333:user/alice"
    assert principal_arn({"type": "Root", "accountId": "111122223333"}, {}) == (
        "arn:aws:iam::111122223333:root"
    )
    assert principal_arn({"type": "AWSService", "invokedBy": "lambda.amazonaws.com"}, {}) == (
        "lambda.amazonaws.com"
    )
    web = {
        "type": "WebIdentityUser",
        "identityProvider": (
            "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
        ),
    }
    assert principal_arn(web, {}).endswith("oidc-provider/token.actions.githubusercontent.com")


def test_session_attributes_are_flattened_with_types():
    row = rows_as_dicts(decode(orjson.dumps(an_event())))[0]
    assert row["session_mfa_authenticated"] is False
    assert row["session_creation_date"].isoformat() == "2026-11-02T09:00:00"
    assert row["session_issuer_name"] == "app-role"
    assert row["user_identity_type"] == "AssumedRole"


def test_randomly_corrupted_delivery_files_never_crash_and_always_reconcile():
    import random

    rng = random.Random(7)
    for path, raw in corrupted_delivery_files(seed=7):
        blob = gzip.compress(raw) if rng.random() < 0.7 else raw
        decoded = decode_bytes(blob, path.as_posix(), path.as_uri())
        assert decoded.kind in ("events", "quarantined")
        if decoded.kind == "events":
            assert decoded.records_in == decoded.events + len(decoded.quarantined)
            decoded.table()
        else:
            assert decoded.reason


def test_json_nested_beyond_any_parser_limit_is_a_quarantined_record_not_a_crash():
    deep = b'{"Records": [' + b"[" * 5000 + b"]" * 5000 + b"]}"
    decoded = decode(deep, delivery_name())
    assert decoded.kind == "quarantined"


def test_odd_time_forms_are_normalised_or_quarantined_never_mixed():
    events = [
        an_event(eventTime="2026-11-02T12:00:00+0200Z"),
        an_event(eventTime="2026-11-02 10:00:00"),
        an_event(eventTime="2026-11-02T10:00:00.250Z"),
        an_event(eventTime="Z"),
    ]
    decoded = decode(orjson.dumps(events))
    times = [r["event_time"].isoformat() for r in rows_as_dicts(decoded)]
    assert times == ["2026-11-02T10:00:00", "2026-11-02T10:00:00", "2026-11-02T10:00:00.250000"]
    assert [q.reason for q in decoded.quarantined] == ["eventTime 'Z' is not a timestamp"]
