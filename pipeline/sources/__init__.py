"""Where CloudTrail files come from: local folders and files (:mod:`.local`), S3 buckets
(:mod:`.s3`), and CloudTrail's key grammar that names them (:mod:`.keys`).

A source lists :class:`SourceObject`s (cheap metadata only) and reads one object's bytes. Sources
are picklable so that decoding processes can read for themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class SourceObject:
    """One file or object: ``uri`` names it, ``name`` is what the key grammar parses."""

    uri: str
    name: str
    size: int
    fingerprint: str


class Source(Protocol):
    """Lists objects and reads them."""

    @property
    def uri(self) -> str: ...

    def list(self) -> Iterator[SourceObject]: ...

    def read(self, obj: SourceObject) -> bytes: ...
