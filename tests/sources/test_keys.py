"""The S3 key grammar is written once and read both ways."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hypothesis import given
from hypothesis import strategies as st

from trailwise.pipeline.sources import keys

accounts = st.from_regex(r"\A\d{12}\Z")
regions = st.sampled_from(["us-east-1", "eu-west-2", "ap-southeast-3", "us-gov-west-1"])
days = st.dates(min_value=date(2013, 1, 1), max_value=date(2099, 12, 31))
uniques = st.from_regex(r"\A[A-Za-z0-9]{16}\Z")
prefixes = st.sampled_from(["", "trail", "org/logs", "a/b/c"])
orgs = st.one_of(st.none(), st.from_regex(r"\Ao-[a-z0-9]{10}\Z"))


@given(prefixes, orgs, accounts, regions, days, uniques)
def test_a_built_log_key_parses_back_to_its_parts(prefix, org, account, region, day, unique):
    name = keys.FileName(
        account,
        "CloudTrail",
        region,
        datetime(day.year, day.month, day.day, 13, 5, tzinfo=UTC),
        unique,
    )
    key = keys.day_prefix(prefix, org, account, "CloudTrail", region, day) + str(name)
    parsed = keys.parse_key(key)
    assert parsed is not None
    assert (parsed.prefix, parsed.org_id, parsed.account, parsed.region, parsed.day) == (
        prefix,
        org,
        account,
        region,
        day,
    )
    assert parsed.file_name == name
    assert str(parsed) == key


def test_real_delivery_file_names_parse():
    name = "111111111111_CloudTrail_eu-central-1_20171211T1505Z_A6kvhMoVeCsc7v8U.json.gz"
    parsed = keys.parse_file_name(name)
    assert parsed is not None
    assert parsed.account == "111111111111"
    assert parsed.region == "eu-central-1"
    assert parsed.stamp == datetime(2017, 12, 11, 15, 5, tzinfo=UTC)
    assert str(parsed) == name


def test_organization_trail_keys_carry_the_org_id():
    key = (
        "logs/AWSLogs/o-a1b2c3d4e5/444455556666/CloudTrail/eu-west-1/2026/11/03/"
        "444455556666_CloudTrail_eu-west-1_20261103T0000Z_0123456789abcdef.json.gz"
    )
    parsed = keys.parse_key(key)
    assert parsed is not None
    assert (parsed.prefix, parsed.org_id, parsed.account) == (
        "logs",
        "o-a1b2c3d4e5",
        "444455556666",
    )


def test_digest_and_insight_keys_are_recognised_by_kind():
    digest = (
        "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/02/111122223333_"
        "CloudTrail-Digest_us-east-1_main_us-east-1_20261102T010000Z.json.gz"
    )
    insight = (
        "AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2026/11/02/111122223333_"
        "CloudTrail-Insight_us-east-1_20261102T0100Z_abcdefABCDEF1234.json.gz"
    )
    assert keys.parse_key(digest).kind == "CloudTrail-Digest"
    assert keys.is_digest_name(digest.rsplit("/", 1)[1])
    assert keys.parse_key(insight).kind == "CloudTrail-Insight"


def test_keys_outside_the_layout_do_not_parse():
    assert keys.parse_key("AWSLogs/111122223333/CloudTrail/us-east-1/2026/13/02/x.json.gz") is None
    assert keys.parse_key("random/prefix/file.json.gz") is None
    assert (
        keys.parse_file_name("111122223333_CloudTrail_us-east-1_20261302T0000Z_x.json.gz") is None
    )
