"""CloudTrail from S3: discovery by delimiter listings, day-prefix listing, careful downloads.

The bucket is never listed whole. Accounts (and organization ids) are discovered under
``PREFIX/AWSLogs/`` with ``Delimiter='/'``, then kinds and regions the same way, then only the day
prefixes inside the window are listed in full. Digest and insight files are listed only to be
counted; keys that fit no part of the grammar are counted and named, never downloaded.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from trailwise.pipeline.errors import SourceError, SourceReadError
from trailwise.pipeline.sources import SourceObject, keys

UNKNOWN_KEYS_NAMED = 20
DAY_BY_DAY_LIMIT = 62  # longer windows discover which days exist first
DEFAULT_MAX_ATTEMPTS = 8
# Our own attempts on top of botocore's, for what it cannot see: bodies cut short, resets mid-body.
READ_ATTEMPTS = 4
_ACCOUNT = re.compile(r"^\d{12}$")
_ORG = re.compile(r"^o-[a-z0-9]{10,32}$")


@dataclass(frozen=True)
class S3Config:
    """How to reach S3: the standard credential chain, optionally a profile and a role."""

    endpoint_url: str | None = None
    profile: str | None = None
    region: str | None = None
    role_arn: str | None = None
    external_id: str | None = None
    max_connections: int = 16


_clients: dict[S3Config, Any] = {}
_clients_lock = threading.Lock()


def s3_client(config: S3Config) -> Any:
    """One boto3 S3 client per configuration and process (clients are thread-safe)."""
    with _clients_lock:
        client = _clients.get(config)
        if client is None:
            client = _clients[config] = _make_client(config)
        return client


def aws_session(config: S3Config, session_name: str = "trailwise-ingest") -> Any:
    """A boto3 session from the standard chain (or ``profile``), through ``role_arn`` if set."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        session = boto3.Session(profile_name=config.profile, region_name=config.region)
        if config.role_arn:
            sts = session.client("sts", endpoint_url=config.endpoint_url)
            params: dict[str, Any] = {"RoleArn": config.role_arn, "RoleSessionName": session_name}
            if config.external_id:
                params["ExternalId"] = config.external_id
            creds = sts.assume_role(**params)["Credentials"]
            session = boto3.Session(
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
                region_name=config.region or session.region_name,
            )
    except ClientError as exc:
        raise SourceError(
            f"cannot assume {config.role_arn}: {error_code(exc)}",
            hint="the caller needs sts:AssumeRole on it and the role must trust the caller",
        ) from None
    except BotoCoreError as exc:
        raise SourceError(f"cannot set up AWS credentials: {exc}") from None
    return session


def _make_client(config: S3Config) -> Any:
    from botocore.config import Config

    session = aws_session(config)
    # Adaptive retries back off on SlowDown/503, 5xx and connection errors; AWS_MAX_ATTEMPTS
    # overrides the attempts as it does for every botocore client.
    attempts = int(os.environ.get("AWS_MAX_ATTEMPTS") or DEFAULT_MAX_ATTEMPTS)
    retry_config = Config(
        retries={"mode": "adaptive", "max_attempts": attempts},
        max_pool_connections=config.max_connections,
        connect_timeout=10,
        read_timeout=60,
    )
    return session.client("s3", endpoint_url=config.endpoint_url, config=retry_config)


def error_code(exc: Any) -> str:
    """The AWS error code of a botocore ClientError (``AccessDenied``, ``NoSuchKey``...)."""
    return str(exc.response.get("Error", {}).get("Code", "error"))


def s3_uri(bucket: str, prefix: str) -> str:
    """The canonical URI of a bucket source: no trailing slash."""
    return f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` -> (bucket, prefix without slashes at either end)."""
    if not uri.startswith("s3://"):
        raise SourceError(f"{uri!r} is not an s3:// URI")
    bucket, _, prefix = uri[5:].partition("/")
    if not bucket:
        raise SourceError(f"{uri!r} names no bucket")
    return bucket, prefix.strip("/")


@dataclass
class Listing:
    """What listing a bucket took and found."""

    list_requests: int = 0
    objects_listed: int = 0
    unknown_keys: int = 0
    unknown_examples: list[str] = field(default_factory=list)

    def unknown(self, key: str) -> None:
        self.unknown_keys += 1
        if len(self.unknown_examples) < UNKNOWN_KEYS_NAMED:
            self.unknown_examples.append(key)


@dataclass
class S3Source:
    """CloudTrail delivery files under ``s3://bucket/prefix`` whose day is in [first, last]."""

    bucket: str
    prefix: str
    config: S3Config
    first_day: date
    last_day: date
    accounts: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    listing: Listing = field(default_factory=Listing)

    @property
    def listed_days(self) -> list[str]:
        """The first and last day prefix listed."""
        return [self.first_day.isoformat(), self.last_day.isoformat()]

    @property
    def uri(self) -> str:
        return s3_uri(self.bucket, self.prefix)

    # -- listing --------------------------------------------------------------------------
    def _list(self, prefix: str, delimiter: bool) -> Iterator[tuple[str, dict[str, Any] | None]]:
        """(common prefix, None) and (key, listing item) under ``prefix``, every page."""
        from botocore.exceptions import BotoCoreError, ClientError

        client = s3_client(self.config)
        params: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
        if delimiter:
            params["Delimiter"] = "/"
        try:
            for page in client.get_paginator("list_objects_v2").paginate(**params):
                self.listing.list_requests += 1
                for common in page.get("CommonPrefixes", []):
                    yield common["Prefix"], None
                for item in page.get("Contents", []):
                    self.listing.objects_listed += 1
                    yield item["Key"], item
        except ClientError as exc:
            code = error_code(exc)
            if code in ("AccessDenied", "AllAccessDisabled"):
                raise SourceError(
                    f"s3:ListBucket denied on s3://{self.bucket}/{prefix}",
                    hint=f"allow s3:ListBucket on arn:aws:s3:::{self.bucket} for this prefix",
                ) from None
            if code == "NoSuchBucket":
                raise SourceError(f"bucket {self.bucket} does not exist") from None
            raise SourceError(f"listing s3://{self.bucket}/{prefix} failed: {code}") from None
        except BotoCoreError as exc:
            raise SourceError(f"listing s3://{self.bucket}/{prefix} failed: {exc}") from None

    def _children(self, prefix: str) -> Iterator[str]:
        """Sub-folder names under ``prefix``; objects directly there are unknown keys."""
        for name, item in self._list(prefix, delimiter=True):
            if item is None:
                yield name[len(prefix) :].rstrip("/")
            else:
                self.listing.unknown(name)

    def _account_roots(self) -> Iterator[tuple[str | None, str]]:
        root = keys.account_root(self.prefix)
        for name in self._children(root):
            if _ACCOUNT.match(name):
                yield None, name
            elif _ORG.match(name):
                for account in self._children(f"{root}{name}/"):
                    if _ACCOUNT.match(account):
                        yield name, account
                    else:
                        self.listing.unknown(f"{root}{name}/{account}/")
            else:
                self.listing.unknown(f"{root}{name}/")

    def list(self) -> Iterator[SourceObject]:
        days = [
            self.first_day + timedelta(days=i)
            for i in range((self.last_day - self.first_day).days + 1)
        ]
        for org, account in self._account_roots():
            if self.accounts and account not in self.accounts:
                continue
            base = f"{keys.account_root(self.prefix, org)}{account}/"
            for folder in self._children(base):
                kind = next((k for k in keys.KINDS if k == folder), None)
                if kind is None:
                    self.listing.unknown(f"{base}{folder}/")
                    continue
                for region in self._children(f"{base}{kind}/"):
                    if self.regions and region not in self.regions:
                        continue
                    region_prefix = f"{base}{kind}/{region}/"
                    for day in self._days_in(region_prefix, days):
                        day_prefix = keys.day_prefix(self.prefix, org, account, kind, region, day)
                        yield from self._day_objects(day_prefix)

    def _days_in(self, region_prefix: str, days: Sequence[date]) -> Sequence[date]:
        """The window's days to list under one region. A short window lists each day; a long
        one (a backfill) first asks which years, months and days exist, so that years of
        empty days cost a few delimiter listings instead of one request per day."""
        if len(days) <= DAY_BY_DAY_LIMIT:
            return days
        wanted: set[date] = set(days)
        found: builtins.list[date] = []  # the method `list` shadows the builtin here
        years = {d.year for d in days}
        for year in self._children(region_prefix):
            if not (year.isdigit() and int(year) in years):
                continue
            months = {d.month for d in days if d.year == int(year)}
            for month in self._children(f"{region_prefix}{year}/"):
                if not (month.isdigit() and int(month) in months):
                    continue
                for day in self._children(f"{region_prefix}{year}/{month}/"):
                    try:
                        candidate = date(int(year), int(month), int(day))
                    except ValueError:
                        continue
                    if candidate in wanted:
                        found.append(candidate)
        return sorted(found)

    def _day_objects(self, day_prefix: str) -> Iterator[SourceObject]:
        for key, item in self._list(day_prefix, delimiter=False):
            if item is None or keys.parse_key(key) is None:
                self.listing.unknown(key)
                continue
            yield SourceObject(
                uri=f"s3://{self.bucket}/{key}",
                name=key,
                size=int(item["Size"]),
                fingerprint=str(item["ETag"]).strip('"'),
            )

    # -- reading --------------------------------------------------------------------------
    def read(self, obj: SourceObject) -> bytes:
        """The whole object, retried on throttling, 5xx, resets and short bodies."""
        from botocore.exceptions import BotoCoreError, ClientError
        from urllib3.exceptions import HTTPError

        client = s3_client(self.config)
        delay = 0.2
        last_error = "unknown error"
        for attempt in range(READ_ATTEMPTS):
            try:
                response = client.get_object(
                    Bucket=self.bucket, Key=obj.name, IfMatch=obj.fingerprint
                )
                body = response["Body"]
                try:
                    data: bytes = body.read()
                finally:
                    body.close()
                expected = int(response.get("ContentLength", len(data)))
                if len(data) == expected:
                    return data
                last_error = f"truncated body: {len(data)} of {expected} bytes"
            except ClientError as exc:
                code = error_code(exc)
                if code in ("AccessDenied", "Forbidden", "403"):
                    message = str(exc.response.get("Error", {}).get("Message", ""))
                    kms = "kms" in message.lower() or "KMS" in message
                    missing = "kms:Decrypt on the trail's key" if kms else "s3:GetObject"
                    raise SourceReadError(
                        f"access denied: {missing} needed for s3://{self.bucket}/{obj.name}"
                        + ("" if kms else " (and kms:Decrypt if the trail uses SSE-KMS)")
                    ) from None
                if code in ("NoSuchKey", "404"):
                    raise SourceReadError("object vanished between listing and download") from None
                if code in ("PreconditionFailed", "412"):
                    raise SourceReadError(
                        "object changed between listing and download (ETag differs)"
                    ) from None
                # botocore has already retried throttling and 5xx with backoff.
                raise SourceReadError(f"download failed: {code} after retries") from None
            except (BotoCoreError, OSError, HTTPError) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            if attempt + 1 < READ_ATTEMPTS:
                time.sleep(delay)
                delay *= 2
        raise SourceReadError(f"download failed after {READ_ATTEMPTS} attempts: {last_error}")


def close_clients() -> None:
    """Drop cached clients (tests that restart endpoints)."""
    with _clients_lock:
        for client in _clients.values():
            with contextlib.suppress(Exception):
                client.close()
        _clients.clear()
