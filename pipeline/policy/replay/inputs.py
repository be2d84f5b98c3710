"""The policies to replay against, from the files people have: each becomes (name, document).

A file holds one of:

- an identity policy document (``{"Version": ..., "Statement": ...}``), named after the file;
- a JSON list of documents: the parts of a split policy, as ``policy suggest`` writes them;
- a CloudFormation template (``policy suggest --format cloudformation``): each
  ``AWS::IAM::ManagedPolicy`` or ``AWS::IAM::Policy`` resource's document;
- a ``policy diff --format json`` result: the principal's policies as they would be once the
  replacements are applied (replaced ones swapped, deleted ones gone, the rest as today), which
  is what the principal would hold. It needs the replacement section (not ``--no-replacement``).

Terraform's HCL is not read: replay the JSON or CloudFormation output of the same command.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from trailwise.pipeline.errors import PolicyError

Named = tuple[str, dict[str, Any]]
_POLICY_RESOURCES = ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy")


def load_policies(paths: Iterable[Path]) -> list[Named]:
    """(name, document) of every policy in ``paths``; PolicyError names a file that holds none."""
    out: list[Named] = []
    for path in paths:
        try:
            value = orjson.loads(path.read_bytes())
        except OSError as exc:
            raise PolicyError(f"{path}: cannot read the policy file ({exc.strerror})") from exc
        except orjson.JSONDecodeError as exc:
            hint = "Terraform is not read: pass the json or cloudformation output instead"
            raise PolicyError(f"{path}: not JSON ({exc})", hint=hint) from exc
        found = from_value(value, path.stem, str(path))
        if not found:
            raise PolicyError(f"{path}: holds no policy document")
        out.extend(found)
    names = [name for name, _ in out]
    if len(set(names)) != len(names):
        raise PolicyError(
            "two policies have the same name: "
            + ", ".join(sorted({n for n in names if names.count(n) > 1})),
            hint="rename one of the files (a policy is named after its file)",
        )
    return out


def from_value(value: Any, name: str, where: str) -> list[Named]:
    """The policies of one parsed file (see the module docstring)."""
    if isinstance(value, list):
        if not all(_is_document(v) for v in value):
            raise PolicyError(f"{where}: a list of policies must hold policy documents only")
        return numbered(name, value)
    if not isinstance(value, dict):
        raise PolicyError(f"{where}: neither a policy document nor a list of them")
    if _is_document(value):
        return [(name, value)]
    if "replacement" in value and "policies" in value:
        return _after_diff(value, where)
    if "policies" in value and "principal_arn" in value:
        raise PolicyError(
            f"{where}: a policy diff without its replacement policies",
            hint="write it with policy diff --format json (without --no-replacement)",
        )
    if isinstance(value.get("documents"), list):  # a suggestion's JSON (policy bulk writes them)
        return numbered(str(value.get("name") or name), value["documents"])
    if isinstance(value.get("Resources"), dict):
        return _cloudformation(value["Resources"], where)
    raise PolicyError(
        f"{where}: not a policy document (no Statement), a list of them, a CloudFormation"
        " template or a policy diff"
    )


def _is_document(value: Any) -> bool:
    return isinstance(value, dict) and "Statement" in value


def numbered(name: str, documents: list[Any]) -> list[Named]:
    """(name, document) of a policy's parts: ``name`` alone, or ``name-1``, ``name-2``, ..."""
    if len(documents) == 1:
        return [(name, documents[0])]
    return [(f"{name}-{i}", doc) for i, doc in enumerate(documents, start=1)]


def _after_diff(value: dict[str, Any], where: str) -> list[Named]:
    replaced = {r["source"]: r for r in value["replacement"]}
    out: list[Named] = []
    for policy in value["policies"]:
        source = str(policy["source"])
        if policy.get("document") is None:
            raise PolicyError(
                f"{where}: the snapshot holds no document of {source}, so what the principal"
                " would hold cannot be known",
                hint="load a snapshot with every policy's document (iam load --from-aws)",
            )
        replacement = replaced.get(source)
        if replacement is None:
            out.append((source, policy["document"]))
        elif replacement["action"] == "replace":
            out.extend(numbered(source, list(replacement["documents"])))
    return out


def _cloudformation(resources: dict[str, Any], where: str) -> list[Named]:
    out: list[Named] = []
    for logical_id, resource in sorted(resources.items()):
        if isinstance(resource, dict) and resource.get("Type") in _POLICY_RESOURCES:
            document = (resource.get("Properties") or {}).get("PolicyDocument")
            if not isinstance(document, dict) or not _is_document(document):
                raise PolicyError(f"{where}: {logical_id} has no PolicyDocument")
            out.append((logical_id, document))
    return out
