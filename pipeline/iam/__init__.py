"""IAM snapshots and the permissions they grant.

``snapshot`` reads ``aws iam get-account-authorization-details`` output into a typed model and
lake tables; ``expand`` turns each user's and role's identity-based policies into one
:class:`Grant` per catalogue action.

Example::

    from trailwise.pipeline.iam import expand_principal, load_file

    snapshot = load_file(Path("sample_logs/iam/authorization-details-111122223333.json"))
    grants = expand_principal(snapshot, "arn:aws:iam::111122223333:role/app-role")
"""

from __future__ import annotations

from trailwise.pipeline.errors import PolicyError, SnapshotError
from trailwise.pipeline.iam.expand import (
    Grant,
    expand_all,
    expand_principal,
    matching_actions,
)
from trailwise.pipeline.iam.model import (
    AccessKey,
    Attachment,
    Group,
    GroupMembership,
    InlinePolicy,
    ManagedPolicy,
    Principal,
    Snapshot,
)
from trailwise.pipeline.iam.snapshot import load_authorization_details, load_file
from trailwise.pipeline.iam.tables import to_tables

__all__ = [
    "AccessKey",
    "Attachment",
    "Grant",
    "Group",
    "GroupMembership",
    "InlinePolicy",
    "ManagedPolicy",
    "PolicyError",
    "Principal",
    "Snapshot",
    "SnapshotError",
    "expand_all",
    "expand_principal",
    "load_authorization_details",
    "load_file",
    "matching_actions",
    "to_tables",
]
