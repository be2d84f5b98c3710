"""The snapshot builder: validates authorization-details documents into the typed model.

Each element is checked as it is added, and :meth:`Builder.build` checks the whole (no ARN
listed twice) before anything is returned.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from trailwise.pipeline.errors import SnapshotError
from trailwise.pipeline.iam import fields
from trailwise.pipeline.iam.model import (
    AccessKey,
    Attachment,
    Group,
    GroupMembership,
    InlinePolicy,
    ManagedPolicy,
    OwnerType,
    Principal,
    PrincipalType,
    Snapshot,
    canonical_json,
)

_LISTS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
# IAM stores no description on access keys; the convention (and the sample snapshots) is a user
# tag whose key is the access key id.
_ACCESS_KEY_ID = re.compile(r"^(AKIA|ASIA)[A-Z0-9]{16}$")
_AWS_MANAGED_PATHS = ("/aws-service-role/", "/aws-reserved/sso.amazonaws.com/")


class Builder:
    """Collects one or more documents, validating each element as it goes."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.principals: list[Principal] = []
        self.groups: list[Group] = []
        self.members: list[GroupMembership] = []
        self.policies: list[ManagedPolicy] = []
        self.inline: list[InlinePolicy] = []
        self.attachments: list[Attachment] = []
        self.keys: list[AccessKey] = []

    def fail(self, message: str) -> SnapshotError:
        return SnapshotError(f"{self.source}: {message}")

    def add_document(self, where: str, doc: Any) -> None:
        if not isinstance(doc, Mapping):
            raise self.fail(f"document{where} is a {type(doc).__name__}, not an object")
        if not any(name in doc for name in _LISTS):
            raise self.fail(
                f"document{where} has none of {', '.join(_LISTS)}: not authorization details"
            )
        lists: dict[str, list[Mapping[str, Any]]] = {}
        for name in _LISTS:
            value = doc.get(name, [])
            if not isinstance(value, list):
                raise self.fail(f"{where}{name} is a {type(value).__name__}, not a list")
            for i, item in enumerate(value):
                if not isinstance(item, Mapping):
                    raise self.fail(f"{where}{name}[{i}] is a {type(item).__name__}, not an object")
            lists[name] = value
        for i, item in enumerate(lists["GroupDetailList"]):
            self._add_group(f"{where}GroupDetailList[{i}]", item)
        for i, item in enumerate(lists["UserDetailList"]):
            self._add_principal(f"{where}UserDetailList[{i}]", "user", item)
        for i, item in enumerate(lists["RoleDetailList"]):
            self._add_principal(f"{where}RoleDetailList[{i}]", "role", item)
        for i, item in enumerate(lists["Policies"]):
            self._add_policy(f"{where}Policies[{i}]", item)

    def _add_group(self, label: str, item: Mapping[str, Any]) -> None:
        arn = fields.arn(self, label, item)
        account = fields.account(self, label, arn)
        name = fields.text(self, label, item, "GroupName")
        self.groups.append(
            Group(
                arn=arn,
                name=name,
                path=fields.opt_text(self, label, item, "Path") or "/",
                group_id=fields.opt_text(self, label, item, "GroupId"),
                account_id=account,
                created_at=fields.date(self, label, item, "CreateDate"),
            )
        )
        self._add_inline(label, account, arn, "group", name, item, "GroupPolicyList")
        self._add_attachments(label, account, arn, "group", name, item)

    def _add_principal(self, label: str, kind: PrincipalType, item: Mapping[str, Any]) -> None:
        arn = fields.arn(self, label, item)
        account = fields.account(self, label, arn)
        name = fields.text(self, label, item, "UserName" if kind == "user" else "RoleName")
        path = fields.opt_text(self, label, item, "Path") or "/"
        trust: Mapping[str, Any] | None = None
        last_used_at: datetime | None = None
        last_used_region: str | None = None
        profiles: tuple[str, ...] = ()
        groups: tuple[str, ...] = ()
        if kind == "role":
            if "AssumeRolePolicyDocument" in item:
                trust = fields.document(
                    self, f"{label}.AssumeRolePolicyDocument", item["AssumeRolePolicyDocument"]
                )
            last = item.get("RoleLastUsed") or {}
            if not isinstance(last, Mapping):
                raise self.fail(f"{label}.RoleLastUsed is not an object")
            last_used_at = fields.date(self, f"{label}.RoleLastUsed", last, "LastUsedDate")
            last_used_region = fields.opt_text(self, f"{label}.RoleLastUsed", last, "Region")
            profile_list = item.get("InstanceProfileList") or []
            if not isinstance(profile_list, list):
                raise self.fail(f"{label}.InstanceProfileList is not a list")
            profiles = tuple(
                sorted(
                    fields.arn(self, f"{label}.InstanceProfileList[{i}]", p)
                    for i, p in enumerate(profile_list)
                )
            )
        else:
            group_list = item.get("GroupList") or []
            if not isinstance(group_list, list) or not all(isinstance(g, str) for g in group_list):
                raise self.fail(f"{label}.GroupList is not a list of group names")
            groups = tuple(sorted(group_list))
            partition = arn.split(":")[1]
            for g in groups:
                self.members.append(
                    GroupMembership(account, g, f"arn:{partition}:iam::{account}:group/{g}", arn)
                )
        boundary = item.get("PermissionsBoundary")
        boundary_arn: str | None = None
        if boundary:
            if not isinstance(boundary, Mapping) or not isinstance(
                boundary.get("PermissionsBoundaryArn"), str
            ):
                raise self.fail(f"{label}.PermissionsBoundary has no PermissionsBoundaryArn")
            boundary_arn = boundary["PermissionsBoundaryArn"]
        tags = fields.tags(self, label, item)
        self.principals.append(
            Principal(
                arn=arn,
                name=name,
                path=path,
                principal_id=fields.opt_text(
                    self, label, item, "UserId" if kind == "user" else "RoleId"
                ),
                account_id=account,
                principal_type=kind,
                created_at=fields.date(self, label, item, "CreateDate"),
                tags=tags,
                trust_policy=trust,
                role_last_used_at=last_used_at,
                role_last_used_region=last_used_region,
                password_last_used_at=fields.date(self, label, item, "PasswordLastUsed"),
                permissions_boundary_arn=boundary_arn,
                instance_profile_arns=profiles,
                group_names=groups,
                is_aws_managed=kind == "role" and path.startswith(_AWS_MANAGED_PATHS),
            )
        )
        policy_list = "UserPolicyList" if kind == "user" else "RolePolicyList"
        self._add_inline(label, account, arn, kind, name, item, policy_list)
        self._add_attachments(label, account, arn, kind, name, item)
        if kind == "user":
            for key, value in tags:
                if _ACCESS_KEY_ID.match(key):
                    self.keys.append(AccessKey(account, arn, key, value or None, "tag"))

    def _add_inline(
        self,
        label: str,
        account: str,
        owner_arn: str,
        owner_type: OwnerType,
        owner_name: str,
        item: Mapping[str, Any],
        field: str,
    ) -> None:
        entries = item.get(field) or []
        if not isinstance(entries, list):
            raise self.fail(f"{label}.{field} is not a list")
        for i, entry in enumerate(entries):
            where = f"{label}.{field}[{i}]"
            if not isinstance(entry, Mapping):
                raise self.fail(f"{where} is not an object")
            name = fields.text(self, where, entry, "PolicyName")
            if "PolicyDocument" not in entry:
                raise self.fail(f"{where} has no PolicyDocument")
            doc = fields.document(self, f"{where}.PolicyDocument", entry["PolicyDocument"])
            self.inline.append(
                InlinePolicy(
                    account, owner_arn, owner_type, owner_name, name, doc, canonical_json(doc)
                )
            )

    def _add_attachments(
        self,
        label: str,
        account: str,
        owner_arn: str,
        owner_type: OwnerType,
        owner_name: str,
        item: Mapping[str, Any],
    ) -> None:
        entries = item.get("AttachedManagedPolicies") or []
        if not isinstance(entries, list):
            raise self.fail(f"{label}.AttachedManagedPolicies is not a list")
        for i, entry in enumerate(entries):
            where = f"{label}.AttachedManagedPolicies[{i}]"
            if not isinstance(entry, Mapping):
                raise self.fail(f"{where} is not an object")
            arn = fields.text(self, where, entry, "PolicyArn")
            name = fields.opt_text(self, where, entry, "PolicyName") or arn.rsplit("/", 1)[-1]
            self.attachments.append(
                Attachment(account, owner_arn, owner_type, owner_name, arn, name)
            )

    def _add_policy(self, label: str, item: Mapping[str, Any]) -> None:
        arn = fields.arn(self, label, item)
        account = arn.split(":")[4]
        if account != "aws":
            account = fields.account(self, label, arn)
        versions = item.get("PolicyVersionList")
        if not isinstance(versions, list) or not versions:
            raise self.fail(f"{label} ({arn}) has no PolicyVersionList")
        default_id = fields.opt_text(self, label, item, "DefaultVersionId")
        chosen: Mapping[str, Any] | None = None
        for i, version in enumerate(versions):
            if not isinstance(version, Mapping):
                raise self.fail(f"{label}.PolicyVersionList[{i}] is not an object")
            if version.get("IsDefaultVersion") is True or (
                default_id is not None and version.get("VersionId") == default_id
            ):
                chosen = version
                break
        if chosen is None or "Document" not in chosen:
            raise self.fail(f"{label} ({arn}) has no default version document")
        doc = fields.document(self, f"{label} default version Document", chosen["Document"])
        count = item.get("AttachmentCount")
        self.policies.append(
            ManagedPolicy(
                account_id=account,
                arn=arn,
                name=fields.text(self, label, item, "PolicyName"),
                path=fields.opt_text(self, label, item, "Path") or "/",
                policy_id=fields.opt_text(self, label, item, "PolicyId"),
                is_aws_managed=account == "aws",
                default_version_id=default_id or str(chosen.get("VersionId") or ""),
                document=doc,
                document_json=canonical_json(doc),
                created_at=fields.date(self, label, item, "CreateDate"),
                updated_at=fields.date(self, label, item, "UpdateDate"),
                attachment_count=count if isinstance(count, int) else None,
            )
        )

    def build(self, snapshot_id: str, captured_at: datetime | None) -> Snapshot:
        for kind, arns in (
            ("user or role", [p.arn for p in self.principals]),
            ("group", [g.arn for g in self.groups]),
            ("customer managed policy", [p.arn for p in self.policies if not p.is_aws_managed]),
        ):
            seen: set[str] = set()
            for arn in arns:
                if arn in seen:
                    raise self.fail(f"{kind} {arn} is listed twice")
                seen.add(arn)
        # An AWS managed policy appears once per account document: keep its newest version.
        policies: dict[str, ManagedPolicy] = {}
        for p in self.policies:
            kept = policies.get(p.arn)
            if kept is None or _version_number(p) > _version_number(kept):
                policies[p.arn] = p
        groups = {g.account_id + g.name: g for g in self.groups}
        members = [
            GroupMembership(
                m.account_id, m.group_name, groups[m.account_id + m.group_name].arn, m.user_arn
            )
            if m.account_id + m.group_name in groups
            else m
            for m in self.members
        ]
        return Snapshot(
            snapshot_id=snapshot_id,
            source=self.source,
            captured_at=captured_at,
            account_ids=tuple(
                sorted(
                    {p.account_id for p in self.principals}
                    | {g.account_id for g in self.groups}
                    | {p.account_id for p in self.policies if not p.is_aws_managed}
                )
            ),
            principals=tuple(sorted(self.principals, key=lambda p: p.arn)),
            groups=tuple(sorted(self.groups, key=lambda g: g.arn)),
            group_members=tuple(sorted(members, key=lambda m: (m.group_arn, m.user_arn))),
            policies=tuple(sorted(policies.values(), key=lambda p: p.arn)),
            inline_policies=tuple(sorted(self.inline, key=lambda p: (p.owner_arn, p.name))),
            attachments=tuple(sorted(self.attachments, key=lambda a: (a.owner_arn, a.policy_arn))),
            access_keys=tuple(sorted(self.keys, key=lambda k: (k.user_arn, k.access_key_id))),
        )


def _version_number(policy: ManagedPolicy) -> tuple[int, str]:
    digits = policy.default_version_id.lstrip("v")
    return (int(digits) if digits.isdigit() else -1, policy.default_version_id)
