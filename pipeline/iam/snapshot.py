"""IAM snapshots: reading ``aws iam get-account-authorization-details`` output into a typed model.

A snapshot is read whole or not at all: every structural problem raises
:class:`SnapshotError` naming the list, the index and the missing or wrong field
(``"RoleDetailList[3] has no Arn"``), before anything is returned. The model itself is in
``model``, the validating builder in ``builder`` (its field readers in ``fields``) and the lake
tables in ``tables``.

Example::

    from trailwise.pipeline.iam import load_file, to_tables

    snapshot = load_file(Path("authorization-details-111122223333.json"))
    tables = to_tables(snapshot)  # name -> pyarrow.Table, ready for the lake
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from trailwise.pipeline.errors import SnapshotError
from trailwise.pipeline.iam.builder import Builder
from trailwise.pipeline.iam.fields import utc
from trailwise.pipeline.iam.model import Snapshot


def load_file(path: Path, *, captured_at: datetime | None = None) -> Snapshot:
    """Read a JSON file holding one authorization-details document or a list of them.

    Args:
        path: the file (``aws iam get-account-authorization-details > path``).
        captured_at: when the snapshot was taken, if known.

    Raises:
        SnapshotError: the file cannot be read, is not JSON, or is not authorization details.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SnapshotError(f"cannot read IAM snapshot {path}: {exc.strerror or exc}") from exc
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise SnapshotError(f"{path} is not JSON: {exc}") from exc
    if not isinstance(data, dict | list):
        raise SnapshotError(f"{path} holds a JSON {type(data).__name__}, not an object or a list")
    return load_authorization_details(data, str(path), captured_at)


def load_authorization_details(
    data: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    source: str,
    captured_at: datetime | None = None,
) -> Snapshot:
    """Build a :class:`Snapshot` from decoded authorization-details JSON.

    Args:
        data: one document (``{"UserDetailList": ..., "RoleDetailList": ...}``) or a list of
            them, one per account; each document's account is read from its ARNs.
        source: where the data came from (a path or a label), kept on the snapshot.
        captured_at: when the snapshot was taken, if known (made timezone-aware UTC).

    Raises:
        SnapshotError: naming the first malformed element; nothing is returned half-loaded.
    """
    docs: list[tuple[str, Mapping[str, Any]]]
    if isinstance(data, Mapping):
        docs = [("", data)]
    elif isinstance(data, Sequence) and not isinstance(data, str | bytes):
        if not data:
            raise SnapshotError(f"{source}: an empty list holds no authorization details")
        docs = [(f"[{i}]", d) for i, d in enumerate(data)]
    else:
        raise SnapshotError(f"{source}: expected an object or a list of objects")

    builder = Builder(source)
    for where, doc in docs:
        builder.add_document(where, doc)
    digest = hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return builder.build(digest[:20], utc(captured_at) if captured_at else None)
