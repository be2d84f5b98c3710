"""Where the lake's files live: a local folder or an S3 prefix, behind one small interface.

Everything the lake writes outside Iceberg (its format file, quarantined input, IAM snapshots,
the lease of an S3 lake) and every data file goes through a :class:`Store`. Files are named by
URI as Iceberg names them: a local path (``file://`` URIs are accepted) or ``s3://bucket/key``.

Bytes go through pyarrow's filesystems (the same C++ S3 client pyiceberg and the data files
use); the conditional writes a lease needs (``If-None-Match``, ``If-Match``) through boto3,
which pyarrow does not expose. Both take the standard credential chain and endpoint variables
(``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_S3``, profiles), resolved once by botocore.
"""

from __future__ import annotations

import contextlib
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trailwise.pipeline.errors import LakeError
from trailwise.pipeline.sources.s3 import S3Config, aws_session, error_code, s3_client


@dataclass(frozen=True)
class Listed:
    """One file under a prefix."""

    uri: str
    size: int
    mtime: float  # seconds since the epoch


class Store(ABC):
    """The lake's files under ``root`` (a local folder's path, or ``s3://bucket/prefix``)."""

    root: str

    def uri(self, key: str) -> str:
        """The URI of ``key`` (a '/'-separated path under the root)."""
        return f"{self.root}/{key.strip('/')}"

    @abstractmethod
    def filesystem(self) -> Any:
        """The pyarrow filesystem that reads and writes this store's files."""

    @abstractmethod
    def fs_path(self, uri: str) -> str:
        """``uri`` as a path of :meth:`filesystem`."""

    @abstractmethod
    def read(self, key: str) -> bytes | None:
        """The file's bytes, or None when it does not exist."""

    @abstractmethod
    def write(self, key: str, data: bytes) -> None:
        """Write a whole file; readers see the old content or the new, never a part."""

    @abstractmethod
    def create(self, key: str, data: bytes) -> str | None:
        """Write the file only if it does not exist; its version tag, or None if it did."""

    @abstractmethod
    def replace(self, key: str, data: bytes, tag: str) -> str | None:
        """Overwrite the file only if it is still at version ``tag``; the new tag, or None."""

    @abstractmethod
    def remove(self, key: str, tag: str | None = None) -> bool:
        """Delete the file (only if still at ``tag``, when given); whether it was deleted."""

    @abstractmethod
    def tag(self, key: str) -> tuple[bytes, str] | None:
        """The file's bytes and version tag, or None when it does not exist."""

    def delete(self, uri: str) -> None:
        """Delete a file by URI; a missing file is no error."""
        fs = self.filesystem()
        with contextlib.suppress(FileNotFoundError):
            fs.delete_file(self.fs_path(uri))

    def list(self, key: str) -> Iterator[Listed]:
        """Every file under ``key`` (recursively), in no particular order."""
        import pyarrow.fs as pafs

        fs = self.filesystem()
        selector = pafs.FileSelector(
            self.fs_path(self.uri(key)), recursive=True, allow_not_found=True
        )
        for info in fs.get_file_info(selector):
            if info.type == pafs.FileType.File:
                mtime = info.mtime.timestamp() if info.mtime is not None else 0.0
                yield Listed(self.to_uri(info.path), info.size or 0, mtime)

    @abstractmethod
    def to_uri(self, fs_path: str) -> str:
        """The URI of a path of :meth:`filesystem` (the inverse of :meth:`fs_path`)."""

    def size(self, uri: str) -> int:
        info = self.filesystem().get_file_info(self.fs_path(uri))
        return int(info.size or 0)

    def write_parquet(self, table: Any, uri: str, **options: Any) -> tuple[Any, int]:
        """Write ``table`` as one Parquet file; its footer and its size in bytes."""
        import pyarrow.parquet as pq

        collected: list[Any] = []
        path = self.fs_path(uri)
        self.make_parent(uri)
        pq.write_table(
            table, path, filesystem=self.filesystem(), metadata_collector=collected, **options
        )
        return collected[0], self.size(uri)

    def make_parent(self, uri: str) -> None:  # noqa: B027 - a no-op where there are no folders
        """Local folders must exist before a file is written into them; S3 has none."""


@dataclass
class LocalStore(Store):
    """A local folder. Writes go to a temp file that is fsync'd and renamed into place."""

    folder: Path

    def __post_init__(self) -> None:
        self.root = str(self.folder)

    def __reduce__(self) -> Any:
        return (LocalStore, (self.folder,))

    def filesystem(self) -> Any:
        import pyarrow.fs as pafs

        return pafs.LocalFileSystem()

    def fs_path(self, uri: str) -> str:
        return uri.removeprefix("file://")

    def to_uri(self, fs_path: str) -> str:
        return fs_path

    def _file(self, key: str) -> Path:
        return Path(self.uri(key))

    def read(self, key: str) -> bytes | None:
        try:
            return self._file(key).read_bytes()
        except FileNotFoundError:
            return None

    def write(self, key: str, data: bytes) -> None:
        from trailwise.pipeline.lake.io import write_atomic

        write_atomic(self._file(key), data)

    def create(self, key: str, data: bytes) -> str | None:
        path = self._file(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return None
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        return _local_tag(path)

    def replace(self, key: str, data: bytes, tag: str) -> str | None:
        # Only the S3 lease needs this: a local lake is locked with flock.
        path = self._file(key)
        if _local_tag(path) != tag:
            return None
        self.write(key, data)
        return _local_tag(path)

    def remove(self, key: str, tag: str | None = None) -> bool:
        path = self._file(key)
        if tag is not None and _local_tag(path) != tag:
            return False
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def tag(self, key: str) -> tuple[bytes, str] | None:
        path = self._file(key)
        tag, data = _local_tag(path), self.read(key)
        return None if tag is None or data is None else (data, tag)

    def list(self, key: str) -> Iterator[Listed]:
        base = self._file(key)
        if not base.exists():
            return
        for path in base.rglob("*"):
            if path.is_file():
                stat = path.stat()
                yield Listed(str(path), stat.st_size, stat.st_mtime)

    def make_parent(self, uri: str) -> None:
        Path(self.fs_path(uri)).parent.mkdir(parents=True, exist_ok=True)


def _local_tag(path: Path) -> str | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return f"{stat.st_mtime_ns}-{stat.st_size}-{stat.st_ino}"


@dataclass
class S3Store(Store):
    """An S3 prefix (``s3://bucket/prefix``), reached through ``config`` (the standard chain by
    default). Clients are made on first use, in each process that uses the store."""

    bucket: str
    prefix: str
    config: S3Config = field(default_factory=S3Config)
    _fs: Any = field(default=None, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.prefix = self.prefix.strip("/")
        self.root = f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def __reduce__(self) -> Any:
        # A worker process makes its own clients (credentials are never pickled).
        return (S3Store, (self.bucket, self.prefix, self.config))

    def _key(self, key: str) -> str:
        key = key.strip("/")
        return f"{self.prefix}/{key}" if self.prefix else key

    def client(self) -> Any:
        return s3_client(self.config)

    def filesystem(self) -> Any:
        with self._lock:
            if self._fs is None:
                self._fs = arrow_s3(self.config)
            return self._fs

    def io_properties(self) -> dict[str, str]:
        """pyiceberg FileIO properties: the same endpoint, region and credentials."""
        return s3_properties(self.config)

    def fs_path(self, uri: str) -> str:
        if not uri.startswith("s3://"):
            raise LakeError(f"{uri!r} is not in the lake at {self.root}")
        return uri.removeprefix("s3://")

    def to_uri(self, fs_path: str) -> str:
        return f"s3://{fs_path}"

    def read(self, key: str) -> bytes | None:
        found = self.tag(key)
        return None if found is None else found[0]

    def _request(self, verb: str, key: str, call: Any, *, absent: tuple[str, ...] = ()) -> Any:
        """``call()``'s result; None when AWS answers with one of the ``absent`` codes (no such
        key, a condition that failed); any other AWS error is one LakeError naming the object."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return call()
        except ClientError as exc:
            if error_code(exc) in absent:
                return None
            raise _lake_error(self.uri(key), verb, exc) from None
        except BotoCoreError as exc:
            raise _lake_error(self.uri(key), verb, exc) from None

    def write(self, key: str, data: bytes) -> None:
        self._request(
            "write",
            key,
            lambda: self.client().put_object(Bucket=self.bucket, Key=self._key(key), Body=data),
        )

    def _conditional_put(self, key: str, data: bytes, **condition: str) -> str | None:
        response = self._request(
            "write",
            key,
            lambda: self.client().put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data, **condition
            ),
            absent=_FAILED_CONDITION,
        )
        return None if response is None else str(response["ETag"])

    def create(self, key: str, data: bytes) -> str | None:
        return self._conditional_put(key, data, IfNoneMatch="*")

    def replace(self, key: str, data: bytes, tag: str) -> str | None:
        return self._conditional_put(key, data, IfMatch=tag)

    def remove(self, key: str, tag: str | None = None) -> bool:
        condition = {"IfMatch": tag} if tag else {}
        deleted = self._request(
            "delete",
            key,
            lambda: self.client().delete_object(
                Bucket=self.bucket, Key=self._key(key), **condition
            ),
            absent=_FAILED_CONDITION + _NO_KEY,
        )
        return deleted is not None

    def tag(self, key: str) -> tuple[bytes, str] | None:
        """The file's bytes and version tag (ETag), or None when it does not exist."""

        def get() -> tuple[bytes, str]:
            response = self.client().get_object(Bucket=self.bucket, Key=self._key(key))
            return response["Body"].read(), str(response["ETag"])

        found: tuple[bytes, str] | None = self._request("read", key, get, absent=_NO_KEY)
        return found


_NO_KEY = ("NoSuchKey", "404", "NotFound")
_FAILED_CONDITION = ("PreconditionFailed", "ConditionalRequestConflict", "412")


def _lake_error(uri: str, verb: str, exc: Exception) -> LakeError:
    """One line naming the object and what AWS said (an error code, or botocore's message for
    a connection or credential problem)."""
    reason = error_code(exc) if hasattr(exc, "response") else str(exc)
    return LakeError(f"cannot {verb} {uri}: {reason}")


def _resolved(config: S3Config) -> tuple[str, str | None, Any]:
    """The endpoint botocore resolved (flags, ``AWS_ENDPOINT_URL_S3``, profiles), the region,
    and the credentials of the chain (after ``role_arn``)."""
    client = s3_client(config)
    session = aws_session(config, "trailwise-lake")
    credentials = session.get_credentials()
    if credentials is None:
        raise LakeError("no AWS credentials for the lake's bucket", hint="configure the AWS chain")
    return (
        str(client.meta.endpoint_url),
        client.meta.region_name,
        credentials.get_frozen_credentials(),
    )


def custom_endpoint(endpoint: str) -> bool:
    """Whether ``endpoint`` is not AWS's own S3 (an emulator, MinIO, a gateway)."""
    return not endpoint.split("://", 1)[-1].split("/", 1)[0].endswith(".amazonaws.com")


def arrow_s3(config: S3Config) -> Any:
    """pyarrow's S3 filesystem with botocore's endpoint, region and credentials."""
    import pyarrow.fs as pafs

    endpoint, region, creds = _resolved(config)
    options: dict[str, Any] = {
        "access_key": creds.access_key,
        "secret_key": creds.secret_key,
        "session_token": creds.token,
        "region": region or "us-east-1",
    }
    if custom_endpoint(endpoint):
        scheme, _, host = endpoint.partition("://")
        options |= {"endpoint_override": host.rstrip("/"), "scheme": scheme}
    return pafs.S3FileSystem(**options)


def s3_properties(config: S3Config) -> dict[str, str]:
    """The pyiceberg properties of the same S3 access (its FileIO is pyarrow's too)."""
    endpoint, region, creds = _resolved(config)
    props = {
        "py-io-impl": "pyiceberg.io.pyarrow.PyArrowFileIO",
        "s3.region": region or "us-east-1",
        "s3.access-key-id": creds.access_key,
        "s3.secret-access-key": creds.secret_key,
    }
    if creds.token:
        props["s3.session-token"] = creds.token
    if custom_endpoint(endpoint):
        props["s3.endpoint"] = endpoint
    return props


def open_store(root: str, config: S3Config | None = None) -> Store:
    """The store of a lake root: ``s3://bucket/prefix`` or a local folder."""
    if root.startswith("s3://"):
        bucket, _, prefix = root[5:].partition("/")
        if not bucket:
            raise LakeError(f"lake {root!r} names no bucket")
        return S3Store(bucket, prefix, config or S3Config())
    return LocalStore(Path(root))
