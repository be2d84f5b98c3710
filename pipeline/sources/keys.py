"""CloudTrail's S3 key grammar, written once: build and parse keys and file names.

Account trails: ``PREFIX/AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/FILE``; organization trails
insert ``o-ORGID/`` after ``AWSLogs/``. Digest and insight files use the kinds
``CloudTrail-Digest`` and ``CloudTrail-Insight`` in the same places.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

Kind = Literal["CloudTrail", "CloudTrail-Digest", "CloudTrail-Insight"]
KINDS: tuple[Kind, ...] = ("CloudTrail", "CloudTrail-Digest", "CloudTrail-Insight")

_KEY = re.compile(
    r"^(?:(?P<prefix>.*?)/)?AWSLogs/(?:(?P<org>o-[a-z0-9]{10,32})/)?(?P<account>\d{12})/"
    r"(?P<kind>CloudTrail|CloudTrail-Digest|CloudTrail-Insight)/(?P<region>[a-z0-9-]+)/"
    r"(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/(?P<name>[^/]+)$"
)
_LOG_NAME = re.compile(
    r"^(?P<account>\d{12})_(?P<kind>CloudTrail|CloudTrail-Insight)_(?P<region>[a-z0-9-]+)_"
    r"(?P<stamp>\d{8}T\d{4}Z)_(?P<unique>[A-Za-z0-9]+)\.json(?P<gz>\.gz)?$"
)
_DIGEST_NAME = re.compile(
    r"^(?P<account>\d{12})_CloudTrail-Digest_(?P<region>[a-z0-9-]+)_(?P<trail>.+)_"
    r"(?P<trail_region>[a-z0-9-]+)_(?P<stamp>\d{8}T\d{6}Z)\.json(?P<gz>\.gz)?$"
)


@dataclass(frozen=True)
class FileName:
    """A log or insight file name: ``ACCOUNT_KIND_REGION_YYYYMMDDTHHMMZ_UNIQUE.json.gz``."""

    account: str
    kind: Kind
    region: str
    stamp: datetime
    unique: str
    gz: bool = True

    def __str__(self) -> str:
        ext = ".json.gz" if self.gz else ".json"
        stamp = self.stamp.strftime("%Y%m%dT%H%MZ")
        return f"{self.account}_{self.kind}_{self.region}_{stamp}_{self.unique}{ext}"


def parse_file_name(name: str) -> FileName | None:
    """Parse a log or insight file name; None when it does not follow the grammar."""
    m = _LOG_NAME.match(name)
    if not m:
        return None
    try:
        stamp = datetime.strptime(m["stamp"], "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
    except ValueError:
        return None
    kind: Kind = "CloudTrail" if m["kind"] == "CloudTrail" else "CloudTrail-Insight"
    return FileName(m["account"], kind, m["region"], stamp, m["unique"], bool(m["gz"]))


@dataclass(frozen=True)
class TrailKey:
    """A key (or local path) in CloudTrail's delivery layout."""

    prefix: str
    org_id: str | None
    account: str
    kind: Kind
    region: str
    day: date
    name: str

    def __str__(self) -> str:
        return (
            day_prefix(self.prefix, self.org_id, self.account, self.kind, self.region, self.day)
            + self.name
        )

    @property
    def file_name(self) -> FileName | None:
        """The parsed file name, for log and insight files that follow the grammar."""
        return parse_file_name(self.name)


def parse_key(key: str) -> TrailKey | None:
    """Parse an S3 key or a POSIX path; None when it is not in CloudTrail's layout."""
    m = _KEY.match(key)
    if not m:
        return None
    try:
        day = date(int(m["y"]), int(m["m"]), int(m["d"]))
    except ValueError:
        return None
    kind: Kind = m["kind"]  # type: ignore[assignment]  # the regex only admits the three kinds
    return TrailKey(m["prefix"] or "", m["org"], m["account"], kind, m["region"], day, m["name"])


def account_root(prefix: str, org_id: str | None = None) -> str:
    """The prefix under which account folders sit: ``PREFIX/AWSLogs/[o-ORG/]``."""
    head = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
    org = f"{org_id}/" if org_id else ""
    return f"{head}AWSLogs/{org}"


def day_prefix(
    prefix: str, org_id: str | None, account: str, kind: Kind, region: str, day: date
) -> str:
    """The key prefix holding one account's files of one kind, region and day."""
    return (
        f"{account_root(prefix, org_id)}{account}/{kind}/{region}/"
        f"{day.year:04d}/{day.month:02d}/{day.day:02d}/"
    )


def is_digest_name(name: str) -> bool:
    """True for a CloudTrail digest file name."""
    return bool(_DIGEST_NAME.match(name))
