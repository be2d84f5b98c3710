"""IAM snapshots: ``aws iam get-account-authorization-details`` output as a typed model.

A snapshot is read whole or not at all: every structural problem raises
:class:`SnapshotError` naming the list, the index and the missing or wrong field
(``"RoleDetailList[3] has no Arn"``), before anything is returned.

Example::

    from trailwise.pipeline.iam import load_file, to_tables

    snapshot = load_file(Path("authorization-details-111122223333.json"))
    tables = to_tables(snapshot)  # name -> pyarrow.Table, ready for the lake
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote

import orjson
import pyarrow as pa

from trailwise.pipeline.errors import SnapshotError

PrincipalType = Literal["user", "role"]
OwnerType = Literal["user", "role", "group"]

_LISTS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
# IAM stores no description on access keys; the convention (and the sample snapshots) is a user
# tag whose key is the access key id.
_ACCESS_KEY_ID = re.compile(r"^(AKIA|ASIA)[A-Z0-9]{16}$")
_AWS_MANAGED_PATHS = ("/aws-service-role/", "/aws-reserved/sso.amazonaws.com/")


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

    builder = _Builder(source)
    for where, doc in docs:
        builder.add_document(where, doc)
    digest = hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return builder.build(digest[:20], _utc(captured_at) if captured_at else None)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def canonical_json(document: Any) -> str:
    """Compact JSON with sorted keys: equal documents give equal text."""
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode()


class _Builder:
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
        arn = _arn(self, label, item)
        account = _account(self, label, arn)
        name = _text(self, label, item, "GroupName")
        self.groups.append(
            Group(
                arn=arn,
                name=name,
                path=_opt_text(self, label, item, "Path") or "/",
                group_id=_opt_text(self, label, item, "GroupId"),
                account_id=account,
                created_at=_date(self, label, item, "CreateDate"),
            )
        )
        self._add_inline(label, account, arn, "group", name, item, "GroupPolicyList")
        self._add_attachments(label, account, arn, "group", name, item)

    def _add_principal(self, label: str, kind: PrincipalType, item: Mapping[str, Any]) -> None:
        arn = _arn(self, label, item)
        account = _account(self, label, arn)
        name = _text(self, label, item, "UserName" if kind == "user" else "RoleName")
        path = _opt_text(self, label, item, "Path") or "/"
        trust: Mapping[str, Any] | None = None
        last_used_at: datetime | None = None
        last_used_region: str | None = None
        profiles: tuple[str, ...] = ()
        groups: tuple[str, ...] = ()
        if kind == "role":
            if "AssumeRolePolicyDocument" in item:
                trust = _document(
                    self, f"{label}.AssumeRolePolicyDocument", item["AssumeRolePolicyDocument"]
                )
            last = item.get("RoleLastUsed") or {}
            if not isinstance(last, Mapping):
                raise self.fail(f"{label}.RoleLastUsed is not an object")
            last_used_at = _date(self, f"{label}.RoleLastUsed", last, "LastUsedDate")
            last_used_region = _opt_text(self, f"{label}.RoleLastUsed", last, "Region")
            profile_list = item.get("InstanceProfileList") or []
            if not isinstance(profile_list, list):
                raise self.fail(f"{label}.InstanceProfileList is not a list")
            profiles = tuple(
                sorted(
                    _arn(self, f"{label}.InstanceProfileList[{i}]", p)
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
        tags = _tags(self, label, item)
        self.principals.append(
            Principal(
                arn=arn,
                name=name,
                path=path,
                principal_id=_opt_text(self, label, item, "UserId" if kind == "user" else "RoleId"),
                account_id=account,
                principal_type=kind,
                created_at=_date(self, label, item, "CreateDate"),
                tags=tags,
                trust_policy=trust,
                role_last_used_at=last_used_at,
                role_last_used_region=last_used_region,
                password_last_used_at=_date(self, label, item, "PasswordLastUsed"),
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
            name = _text(self, where, entry, "PolicyName")
            if "PolicyDocument" not in entry:
                raise self.fail(f"{where} has no PolicyDocument")
            doc = _document(self, f"{where}.PolicyDocument", entry["PolicyDocument"])
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
            arn = _text(self, where, entry, "PolicyArn")
            name = _opt_text(self, where, entry, "PolicyName") or arn.rsplit("/", 1)[-1]
            self.attachments.append(
                Attachment(account, owner_arn, owner_type, owner_name, arn, name)
            )

    def _add_policy(self, label: str, item: Mapping[str, Any]) -> None:
        arn = _arn(self, label, item)
        account = arn.split(":")[4]
        if account != "aws":
            account = _account(self, label, arn)
        versions = item.get("PolicyVersionList")
        if not isinstance(versions, list) or not versions:
            raise self.fail(f"{label} ({arn}) has no PolicyVersionList")
        default_id = _opt_text(self, label, item, "DefaultVersionId")
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
        doc = _document(self, f"{label} default version Document", chosen["Document"])
        count = item.get("AttachmentCount")
        self.policies.append(
            ManagedPolicy(
                account_id=account,
                arn=arn,
                name=_text(self, label, item, "PolicyName"),
                path=_opt_text(self, label, item, "Path") or "/",
                policy_id=_opt_text(self, label, item, "PolicyId"),
                is_aws_managed=account == "aws",
                default_version_id=default_id or str(chosen.get("VersionId") or ""),
                document=doc,
                document_json=canonical_json(doc),
                created_at=_date(self, label, item, "CreateDate"),
                updated_at=_date(self, label, item, "UpdateDate"),
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


def _text(b: _Builder, label: str, item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    if value is None or value == "":
        raise b.fail(f"{label} has no {key}")
    if not isinstance(value, str):
        raise b.fail(f"{label}.{key} is a {type(value).__name__}, not a string")
    return value


def _opt_text(b: _Builder, label: str, item: Mapping[str, Any], key: str) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise b.fail(f"{label}.{key} is a {type(value).__name__}, not a string")
    return value


def _account(b: _Builder, label: str, arn: str) -> str:
    account = arn.split(":")[4]
    if not re.fullmatch(r"\d{12}", account):
        raise b.fail(f"{label}.Arn has no 12-digit account id: {arn}")
    return account


def _arn(b: _Builder, label: str, item: Mapping[str, Any]) -> str:
    if not isinstance(item, Mapping):
        raise b.fail(f"{label} is not an object")
    arn = _text(b, label, item, "Arn")
    if not arn.startswith("arn:") or arn.count(":") < 5:
        raise b.fail(f"{label}.Arn is not an ARN: {arn!r}")
    return arn


def _date(b: _Builder, label: str, item: Mapping[str, Any], key: str) -> datetime | None:
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, datetime):
        return _utc(value)
    if not isinstance(value, str):
        raise b.fail(f"{label}.{key} is a {type(value).__name__}, not a date")
    try:
        # The CLI writes 2025-03-14T09:31:00+00:00; some tools write a space for the 'T'.
        return _utc(datetime.fromisoformat(value.strip()))
    except ValueError:
        raise b.fail(f"{label}.{key} is not a date: {value!r}") from None


def _tags(b: _Builder, label: str, item: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    tags = item.get("Tags") or []
    if not isinstance(tags, list):
        raise b.fail(f"{label}.Tags is not a list")
    out: list[tuple[str, str]] = []
    for i, tag in enumerate(tags):
        if not isinstance(tag, Mapping) or not isinstance(tag.get("Key"), str):
            raise b.fail(f"{label}.Tags[{i}] has no Key")
        out.append((tag["Key"], str(tag.get("Value") or "")))
    return tuple(out)


def _document(b: _Builder, label: str, value: Any) -> Mapping[str, Any]:
    """A policy document: a JSON object, or the API's URL-encoded JSON text."""
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith("{"):
            text = unquote(text)
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise b.fail(f"{label} is neither JSON nor URL-encoded JSON") from None
    if not isinstance(value, Mapping):
        raise b.fail(f"{label} is a {type(value).__name__}, not a policy document")
    if "Statement" not in value:
        raise b.fail(f"{label} has no Statement")
    return value


# ---------------------------------------------------------------------------------------------
# Lake tables


_TS = pa.timestamp("us", tz="UTC")
_COMMON = [("snapshot_id", pa.string()), ("captured_at", _TS), ("account_id", pa.string())]
_TAG = pa.struct([("key", pa.string()), ("value", pa.string())])

SCHEMAS: dict[str, pa.Schema] = {
    "principals": pa.schema(
        [
            *_COMMON,
            ("principal_arn", pa.string()),
            ("principal_type", pa.string()),
            ("name", pa.string()),
            ("path", pa.string()),
            ("principal_id", pa.string()),
            ("created_at", _TS),
            ("is_aws_managed", pa.bool_()),
            ("trust_policy", pa.string()),
            ("role_last_used_at", _TS),
            ("role_last_used_region", pa.string()),
            ("password_last_used_at", _TS),
            ("permissions_boundary_arn", pa.string()),
            ("instance_profile_arns", pa.list_(pa.string())),
            ("tags", pa.list_(_TAG)),
        ]
    ),
    "groups": pa.schema(
        [
            *_COMMON,
            ("group_arn", pa.string()),
            ("name", pa.string()),
            ("path", pa.string()),
            ("group_id", pa.string()),
            ("created_at", _TS),
        ]
    ),
    "group_members": pa.schema(
        [
            *_COMMON,
            ("group_arn", pa.string()),
            ("group_name", pa.string()),
            ("user_arn", pa.string()),
        ]
    ),
    "policies": pa.schema(
        [
            *_COMMON,
            ("policy_arn", pa.string()),
            ("name", pa.string()),
            ("path", pa.string()),
            ("policy_id", pa.string()),
            ("is_aws_managed", pa.bool_()),
            ("default_version_id", pa.string()),
            ("document", pa.string()),
            ("created_at", _TS),
            ("updated_at", _TS),
            ("attachment_count", pa.int64()),
        ]
    ),
    "attachments": pa.schema(
        [
            *_COMMON,
            ("owner_arn", pa.string()),
            ("owner_type", pa.string()),
            ("owner_name", pa.string()),
            ("policy_arn", pa.string()),
            ("policy_name", pa.string()),
        ]
    ),
    "inline_policies": pa.schema(
        [
            *_COMMON,
            ("owner_arn", pa.string()),
            ("owner_type", pa.string()),
            ("owner_name", pa.string()),
            ("policy_name", pa.string()),
            ("document", pa.string()),
        ]
    ),
    "access_keys": pa.schema(
        [
            *_COMMON,
            ("user_arn", pa.string()),
            ("access_key_id", pa.string()),
            ("description", pa.string()),
            ("source", pa.string()),
        ]
    ),
}


def to_tables(snapshot: Snapshot) -> dict[str, pa.Table]:
    """The snapshot as lake tables (stable snake_case columns, rows sorted by ARN).

    Every table starts with ``snapshot_id``, ``captured_at`` and ``account_id``; policy
    documents and trust policies are canonical JSON text.
    """
    sid, at = snapshot.snapshot_id, snapshot.captured_at

    def common(account: str) -> dict[str, Any]:
        return {"snapshot_id": sid, "captured_at": at, "account_id": account}

    rows: dict[str, list[dict[str, Any]]] = {
        "principals": [
            {
                **common(p.account_id),
                "principal_arn": p.arn,
                "principal_type": p.principal_type,
                "name": p.name,
                "path": p.path,
                "principal_id": p.principal_id,
                "created_at": p.created_at,
                "is_aws_managed": p.is_aws_managed,
                "trust_policy": canonical_json(p.trust_policy) if p.trust_policy else None,
                "role_last_used_at": p.role_last_used_at,
                "role_last_used_region": p.role_last_used_region,
                "password_last_used_at": p.password_last_used_at,
                "permissions_boundary_arn": p.permissions_boundary_arn,
                "instance_profile_arns": list(p.instance_profile_arns),
                "tags": [{"key": k, "value": v} for k, v in p.tags],
            }
            for p in snapshot.principals
        ],
        "groups": [
            {
                **common(g.account_id),
                "group_arn": g.arn,
                "name": g.name,
                "path": g.path,
                "group_id": g.group_id,
                "created_at": g.created_at,
            }
            for g in snapshot.groups
        ],
        "group_members": [
            {
                **common(m.account_id),
                "group_arn": m.group_arn,
                "group_name": m.group_name,
                "user_arn": m.user_arn,
            }
            for m in snapshot.group_members
        ],
        "policies": [
            {
                **common(p.account_id),
                "policy_arn": p.arn,
                "name": p.name,
                "path": p.path,
                "policy_id": p.policy_id,
                "is_aws_managed": p.is_aws_managed,
                "default_version_id": p.default_version_id,
                "document": p.document_json,
                "created_at": p.created_at,
                "updated_at": p.updated_at,
                "attachment_count": p.attachment_count,
            }
            for p in snapshot.policies
        ],
        "attachments": [
            {
                **common(a.account_id),
                "owner_arn": a.owner_arn,
                "owner_type": a.owner_type,
                "owner_name": a.owner_name,
                "policy_arn": a.policy_arn,
                "policy_name": a.policy_name,
            }
            for a in snapshot.attachments
        ],
        "inline_policies": [
            {
                **common(p.account_id),
                "owner_arn": p.owner_arn,
                "owner_type": p.owner_type,
                "owner_name": p.owner_name,
                "policy_name": p.name,
                "document": p.document_json,
            }
            for p in snapshot.inline_policies
        ],
        "access_keys": [
            {
                **common(k.account_id),
                "user_arn": k.user_arn,
                "access_key_id": k.access_key_id,
                "description": k.description,
                "source": k.source,
            }
            for k in snapshot.access_keys
        ],
    }
    return {
        name: pa.Table.from_pylist(rows[name], schema=schema) for name, schema in SCHEMAS.items()
    }
