"""Policy documents as deployable text: plain JSON, Terraform, CloudFormation.

The renderers take generic policy documents (dicts with Version and Statement), so identity
policies, trust policies and replacement policies all print the same way.
"""

from __future__ import annotations

import json
import re
from typing import Any

from trailwise.pipeline.errors import UsageError
from trailwise.pipeline.policy.document import sid

FORMATS = ("json", "terraform", "cloudformation")
KINDS = ("policy", "trust")
_TF_NAME = re.compile(r"[^A-Za-z0-9_-]+")


def render(documents: list[dict[str, Any]], fmt: str, name: str, *, kind: str = "policy") -> str:
    """``documents`` as text in ``fmt``.

    Args:
        documents: policy documents; several are the parts of one split policy.
        fmt: ``json`` (one document as is, several as a JSON array), ``terraform`` (one
            ``data "aws_iam_policy_document"`` block per document) or ``cloudformation`` (a JSON
            template with one ``AWS::IAM::ManagedPolicy`` per document, or for ``kind="trust"``
            one ``AWS::IAM::Role`` per document holding it as ``AssumeRolePolicyDocument``).
        name: the policy's name: the Terraform data source label and the CloudFormation
            logical id are derived from it (numbered when there are several documents).
        kind: ``policy`` for permissions, ``trust`` for role trust policies.

    Returns:
        The text, ending in a newline.
    """
    if fmt not in FORMATS:
        raise UsageError(f"unknown policy format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
    if kind not in KINDS:
        raise UsageError(f"unknown policy kind {kind!r}", hint=f"use one of {', '.join(KINDS)}")
    if not documents:
        raise UsageError("there is no policy document to render")
    if fmt == "json":
        value: Any = documents[0] if len(documents) == 1 else documents
        return json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    if fmt == "terraform":
        return terraform(documents, name)
    return cloudformation(documents, name, kind=kind)


def _numbered(base: str, count: int, index: int, sep: str) -> str:
    return base if count == 1 else f"{base}{sep}{index}"


def terraform_label(name: str) -> str:
    """``name`` as a Terraform block label (letters, digits, ``_`` and ``-``, not a digit first)."""
    label = _TF_NAME.sub("_", name).strip("_") or "policy"
    return label if not label[0].isdigit() and label[0] != "-" else f"p_{label}"


def hcl_string(value: str) -> str:
    """A quoted HCL string: escapes, and ``${``/``%{`` doubled so that IAM policy variables such
    as ``${aws:username}`` reach IAM instead of being read as Terraform interpolation."""
    escaped = (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
        .replace("${", "$${")
        .replace("%{", "%%{")
    )
    return f'"{escaped}"'


def _hcl_value(value: Any) -> str:
    if isinstance(value, bool):
        return hcl_string("true" if value else "false")
    return hcl_string(str(value))


def _hcl_list(values: Any, indent: str) -> str:
    items = values if isinstance(values, list) else [values]
    if len(items) <= 1:
        return "[" + ", ".join(_hcl_value(v) for v in items) + "]"
    inner = "".join(f"{indent}  {_hcl_value(v)},\n" for v in items)
    return f"[\n{inner}{indent}]"


def _principal_blocks(block: str, principal: Any, indent: str) -> list[str]:
    if principal == "*":
        pairs: list[tuple[str, Any]] = [("*", ["*"])]
    elif isinstance(principal, dict):
        pairs = sorted(principal.items())
    else:
        raise UsageError(f"cannot render principal {principal!r}")
    out = []
    for kind, identifiers in pairs:
        out.append(
            f"{indent}{block} {{\n"
            f"{indent}  type        = {hcl_string(kind)}\n"
            f"{indent}  identifiers = {_hcl_list(identifiers, indent + '  ')}\n"
            f"{indent}}}\n"
        )
    return out


def _statement_hcl(statement: dict[str, Any]) -> str:
    ind = "    "
    attributes: list[tuple[str, str]] = []
    if "Sid" in statement:
        attributes.append(("sid", hcl_string(str(statement["Sid"]))))
    attributes.append(("effect", hcl_string(str(statement.get("Effect", "Allow")))))
    for key, attribute in (
        ("Action", "actions"),
        ("NotAction", "not_actions"),
        ("Resource", "resources"),
        ("NotResource", "not_resources"),
    ):
        if key in statement:
            attributes.append((attribute, _hcl_list(statement[key], ind)))
    # Aligned like `terraform fmt` aligns adjacent attributes.
    width = max(len(name) for name, _ in attributes)
    lines = ["  statement {\n"]
    lines.extend(f"{ind}{name.ljust(width)} = {value}\n" for name, value in attributes)
    if "Principal" in statement:
        lines.extend(_principal_blocks("principals", statement["Principal"], ind))
    if "NotPrincipal" in statement:
        lines.extend(_principal_blocks("not_principals", statement["NotPrincipal"], ind))
    for operator, keys in (statement.get("Condition") or {}).items():
        for key, values in keys.items():
            lines.append(
                f"{ind}condition {{\n"
                f"{ind}  test     = {hcl_string(operator)}\n"
                f"{ind}  variable = {hcl_string(key)}\n"
                f"{ind}  values   = {_hcl_list(values, ind + '  ')}\n"
                f"{ind}}}\n"
            )
    lines.append("  }\n")
    return "".join(lines)


def terraform(documents: list[dict[str, Any]], name: str) -> str:
    """One ``data "aws_iam_policy_document"`` block per document (``NAME`` or ``NAME_1..n``);
    reference it as ``data.aws_iam_policy_document.NAME.json``."""
    label = terraform_label(name)
    blocks = []
    for index, doc in enumerate(documents, start=1):
        body = [
            f'data "aws_iam_policy_document" "{_numbered(label, len(documents), index, "_")}" {{\n'
        ]
        body.append(f"  version = {hcl_string(str(doc.get('Version', '2012-10-17')))}\n")
        if "Id" in doc:
            body.append(f"  policy_id = {hcl_string(str(doc['Id']))}\n")
        statements = doc.get("Statement", [])
        for statement in statements if isinstance(statements, list) else [statements]:
            body.append("\n")
            body.append(_statement_hcl(statement))
        body.append("}\n")
        blocks.append("".join(body))
    return "\n".join(blocks)


def cloudformation(documents: list[dict[str, Any]], name: str, *, kind: str = "policy") -> str:
    """A CloudFormation template (JSON) with one resource per document.

    No ``ManagedPolicyName``/``RoleName`` is set: a fixed name would block CloudFormation from
    replacing the resource on an update that needs replacement; the description carries ``name``.
    """
    base = sid(name)
    resources: dict[str, Any] = {}
    for index, doc in enumerate(documents, start=1):
        logical = _numbered(base, len(documents), index, "Part")
        part = f" (part {index} of {len(documents)})" if len(documents) > 1 else ""
        description = f"{name}{part}, generated by trailwise"[:1000]
        if kind == "trust":
            resources[logical] = {
                "Type": "AWS::IAM::Role",
                "Properties": {"Description": description, "AssumeRolePolicyDocument": doc},
            }
        else:
            resources[logical] = {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {"Description": description, "PolicyDocument": doc},
            }
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"{name}, generated by trailwise",
        "Resources": resources,
        "Outputs": {
            f"{logical}Arn": {
                "Value": {"Ref": logical} if kind == "policy" else {"Fn::GetAtt": [logical, "Arn"]}
            }
            for logical in resources
        },
    }
    return json.dumps(template, indent=2, ensure_ascii=False) + "\n"
