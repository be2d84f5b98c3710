"""The write lease of a lake in S3: one writer at a time, and no holder forever.

A local lake is locked with ``flock``, which the kernel releases when the holder dies. S3 has no
such thing, so an S3 lake's writer holds a lease: the object ``state/lease.json`` created with
``If-None-Match: *`` (S3 refuses a second creation), saying who holds it and until when. The
holder renews it every third of its term with ``If-Match`` on the version it wrote; a holder that
dies stops renewing, and once the term has passed the next run takes the lease over, again with
``If-Match`` on the expired version, so that of two runs taking over at once only one wins.

A lease narrows the window for two writers but cannot close it (a holder paused past its term
does not know it until it looks): the commit itself is the catalog's atomic swap, and a commit
that loses the race re-reads the table, deduplicates again and retries
(:mod:`trailwise.pipeline.ingest.commit`).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from datetime import UTC, datetime
from typing import Any

import orjson

from trailwise.pipeline.errors import LakeError, LakeLockedError
from trailwise.pipeline.lake.store import Store

LEASE_KEY = "state/lease.json"
DEFAULT_TERM = 600.0  # seconds; TRAILWISE_LEASE_SECONDS overrides (tests use short terms)


def _term() -> float:
    return float(os.environ.get("TRAILWISE_LEASE_SECONDS") or DEFAULT_TERM)


def _stamp(seconds: float) -> str:
    return f"{datetime.fromtimestamp(seconds, UTC):%Y-%m-%dT%H:%M:%SZ}"


class Lease:
    """The lease of one run; :meth:`acquire`, then :meth:`release` (``with`` does both)."""

    def __init__(self, store: Store, term: float | None = None) -> None:
        self.store = store
        self.term = term or _term()
        self.holder = f"pid {os.getpid()} on {socket.gethostname()}"
        self.since = time.time()
        self._tag: str | None = None
        self._expires = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost = False

    def _body(self, expires: float) -> bytes:
        return orjson.dumps(
            {
                "holder": self.holder,
                "since": _stamp(self.since),
                "expires_at": expires,
                "expires": _stamp(expires),
            }
        )

    def _written(self, tag: str | None, expires: float) -> bool:
        """Take a write's tag: the lease is ours until ``expires`` only if the write landed."""
        if tag is None:
            return False
        self._tag, self._expires = tag, expires
        return True

    def acquire(self) -> None:
        for _ in range(3):
            expires = time.time() + self.term
            if self._written(self.store.create(LEASE_KEY, self._body(expires)), expires):
                break
            current = self.store.tag(LEASE_KEY)
            if current is None:
                continue  # released between the two calls: try to create it again
            data, old_tag = current
            info = _parse(data)
            if float(info.get("expires_at") or 0) > time.time():
                raise LakeLockedError(
                    f"lake {self.store.root} is locked by another run ({info.get('holder')} "
                    f"since {info.get('since')}, lease until {info.get('expires')})",
                    hint="wait for it to finish; a lease its holder stops renewing expires",
                )
            if self._written(self.store.replace(LEASE_KEY, self._body(expires), old_tag), expires):
                break  # the expired lease is ours now
        else:
            raise LakeLockedError(
                f"lake {self.store.root}: another run took the lease at the same moment",
                hint="run again",
            )
        self._thread = threading.Thread(target=self._renew, name="trailwise-lease", daemon=True)
        self._thread.start()

    def _renew(self) -> None:
        while not self._stop.wait(self.term / 3):
            assert self._tag is not None
            expires = time.time() + self.term
            # A failed request is retried at the next tick, well within the term; until a
            # renewal lands, check() goes by the last one that did.
            with contextlib.suppress(LakeError, OSError):
                if not self._written(
                    self.store.replace(LEASE_KEY, self._body(expires), self._tag), expires
                ):
                    self.lost = True  # someone took it over: our term had passed
                    return

    def check(self) -> None:
        """Fail before a commit when the lease is no longer ours."""
        if self.lost or time.time() > self._expires:
            raise LakeLockedError(
                f"lake {self.store.root}: this run lost its lease (it was paused past its term "
                "and another run may have taken over); nothing was committed by this step",
                hint="run again",
            )

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._tag is not None and not self.lost:
            self.store.remove(LEASE_KEY, self._tag)
        self._tag = None

    def __enter__(self) -> Lease:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _parse(data: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}
