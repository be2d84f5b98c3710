"""The IAM snapshot's typed model: frozen dataclasses for users, roles, groups and policies.

:class:`Snapshot` holds one or several accounts' authorization details, every list sorted by
ARN, with lookups by ARN; ``snapshot`` builds it and ``tables`` turns it into lake tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, Literal

import orjson

PrincipalType = Literal["user", "role"]
OwnerType = Literal["user", "role", "group"]


@dataclass(frozen=True)
class Principal:
    """An IAM user or role."""

    arn: str
    name: str
    path: str
    principal_id: str | None
    account_id: str
    principal_type: PrincipalType
    created_at: datetime | None
    tags: tuple[tuple[str, str], ...]
    trust_policy: Mapping[str, Any] | None
    role_last_used_at: datetime | None
    role_last_used_region: str | None
    password_last_used_at: datetime | None
    permissions_boundary_arn: str | None
    instance_profile_arns: tuple[str, ...]
    group_names: tuple[str, ...]
    is_aws_managed: bool


@dataclass(frozen=True)
class Group:
    """An IAM group."""

    arn: str
    name: str
    path: str
    group_id: str | None
    account_id: str
    created_at: datetime | None


@dataclass(frozen=True)
class GroupMembership:
    """A user's membership of a group (the group ARN is built when the group is not listed)."""

    account_id: str
    group_name: str
    group_arn: str
    user_arn: str


@dataclass(frozen=True)
class ManagedPolicy:
    """A managed policy with its default version's document.

    ``account_id`` is the ARN's account: ``"aws"`` for AWS managed policies.
    """

    account_id: str
    arn: str
    name: str
    path: str
    policy_id: str | None
    is_aws_managed: bool
    default_version_id: str
    document: Mapping[str, Any]
    document_json: str
    created_at: datetime | None
    updated_at: datetime | None
    attachment_count: int | None


@dataclass(frozen=True)
class InlinePolicy:
    """A policy embedded in a user, role or group."""

    account_id: str
    owner_arn: str
    owner_type: OwnerType
    owner_name: str
    name: str
    document: Mapping[str, Any]
    document_json: str


@dataclass(frozen=True)
class Attachment:
    """A managed policy attached to a user, role or group (permissions boundaries excluded)."""

    account_id: str
    owner_arn: str
    owner_type: OwnerType
    owner_name: str
    policy_arn: str
    policy_name: str


@dataclass(frozen=True)
class AccessKey:
    """An access key the snapshot reveals (from a user tag keyed by the key id)."""

    account_id: str
    user_arn: str
    access_key_id: str
    description: str | None
    source: str


@dataclass(frozen=True)
class Snapshot:
    """One or several accounts' authorization details, every list sorted by ARN."""

    snapshot_id: str
    source: str
    captured_at: datetime | None
    account_ids: tuple[str, ...]
    principals: tuple[Principal, ...]
    groups: tuple[Group, ...]
    group_members: tuple[GroupMembership, ...]
    policies: tuple[ManagedPolicy, ...]
    inline_policies: tuple[InlinePolicy, ...]
    attachments: tuple[Attachment, ...]
    access_keys: tuple[AccessKey, ...]

    @cached_property
    def _principals_by_arn(self) -> dict[str, Principal]:
        return {p.arn: p for p in self.principals}

    @cached_property
    def _policies_by_arn(self) -> dict[str, ManagedPolicy]:
        return {p.arn: p for p in self.policies}

    @cached_property
    def _groups_by_key(self) -> dict[tuple[str, str], Group]:
        return {(g.account_id, g.name): g for g in self.groups}

    @cached_property
    def _inline_by_owner(self) -> dict[str, tuple[InlinePolicy, ...]]:
        out: dict[str, list[InlinePolicy]] = {}
        for p in self.inline_policies:
            out.setdefault(p.owner_arn, []).append(p)
        return {k: tuple(v) for k, v in out.items()}

    @cached_property
    def _attachments_by_owner(self) -> dict[str, tuple[Attachment, ...]]:
        out: dict[str, list[Attachment]] = {}
        for a in self.attachments:
            out.setdefault(a.owner_arn, []).append(a)
        return {k: tuple(v) for k, v in out.items()}

    def principal(self, arn: str) -> Principal:
        """The user or role with this ARN.

        Raises:
            KeyError: when the snapshot has no such principal.
        """
        try:
            return self._principals_by_arn[arn]
        except KeyError:
            raise KeyError(f"no user or role {arn} in snapshot {self.snapshot_id}") from None

    def policy(self, arn: str) -> ManagedPolicy | None:
        """The managed policy with this ARN, or None if the snapshot does not list it."""
        return self._policies_by_arn.get(arn)

    def group(self, account_id: str, name: str) -> Group | None:
        """The group named ``name`` in ``account_id``, or None if not listed."""
        return self._groups_by_key.get((account_id, name))

    def inline_policies_of(self, owner_arn: str) -> tuple[InlinePolicy, ...]:
        """Inline policies of a user, role or group, sorted by name."""
        return self._inline_by_owner.get(owner_arn, ())

    def attachments_of(self, owner_arn: str) -> tuple[Attachment, ...]:
        """Managed policies attached to a user, role or group, sorted by policy ARN."""
        return self._attachments_by_owner.get(owner_arn, ())

    def missing_policy_arns(self) -> tuple[str, ...]:
        """Attached or boundary policy ARNs that the snapshot does not list (not expandable)."""
        wanted = {a.policy_arn for a in self.attachments}
        wanted |= {
            p.permissions_boundary_arn for p in self.principals if p.permissions_boundary_arn
        }
        return tuple(sorted(wanted - self._policies_by_arn.keys()))


def canonical_json(document: Any) -> str:
    """Compact JSON with sorted keys: equal documents give equal text."""
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode()
