"""CloudTrail files in local folders and files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from trailwise.pipeline.errors import SourceError
from trailwise.pipeline.sources import SourceObject


@dataclass(frozen=True)
class LocalSource:
    """A folder (walked recursively, in sorted order) or a single file."""

    path: Path
    exclude: Path | None = None

    @property
    def uri(self) -> str:
        return self.path.resolve().as_uri()

    def list(self) -> Iterator[SourceObject]:
        root = self.path
        if not root.exists():
            raise SourceError(f"source {root} does not exist")
        if root.is_file():
            yield self._object(root)
            return
        for dirpath, dirnames, filenames in os.walk(root, onerror=_raise):
            here = Path(dirpath)
            # Never read the lake itself when it sits inside the source folder.
            dirnames[:] = sorted(d for d in dirnames if self.exclude != (here / d).resolve())
            for name in sorted(filenames):
                yield self._object(here / name)

    def read(self, obj: SourceObject) -> bytes:
        return Path(obj.name).read_bytes()

    @staticmethod
    def _object(path: Path) -> SourceObject:
        st = path.stat()
        resolved = path.resolve()
        return SourceObject(
            uri=resolved.as_uri(),
            name=resolved.as_posix(),
            size=st.st_size,
            fingerprint=f"{st.st_size}:{st.st_mtime_ns}",
        )


def _raise(error: OSError) -> None:
    raise SourceError(f"cannot read {error.filename}: {error.strerror}")
