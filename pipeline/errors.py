"""The one error family of trailwise.

Every error a user can cause or meet carries its context and says what to do next; the CLI
catches :class:`TrailwiseError` once, prints one line and exits non-zero.
"""

from __future__ import annotations


class TrailwiseError(Exception):
    """Base of every error trailwise reports to a user."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class SourceError(TrailwiseError):
    """A source (folder, file, bucket) cannot be read at all."""


class SourceReadError(TrailwiseError):
    """One object or file could not be read; the run goes on and reports it by name."""


class SnapshotError(TrailwiseError):
    """An IAM snapshot file or document cannot be read as authorization details."""


class PolicyError(TrailwiseError):
    """A policy document cannot be expanded (an unknown Effect, no Action, ...)."""


class LakeError(TrailwiseError):
    """The lake directory is missing, unreadable or in a state trailwise cannot use."""


class LakeLockedError(LakeError):
    """Another run holds the lake's lock."""


class QueryError(TrailwiseError):
    """A query is unknown, its parameters are wrong, or DuckDB rejected it."""


class UsageError(TrailwiseError):
    """Options that do not fit together or values that cannot be parsed."""
