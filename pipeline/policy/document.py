"""IAM policy documents as plain dicts: statement ids, sorting, size, splitting, validation.

Everything here works on generic documents (identity, trust or resource policies), so that the
suggestion, trust and replacement-policy code share one notion of a valid, deterministic policy.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass
from typing import Any

from trailwise.pipeline.errors import PolicyError
from trailwise.pipeline.mapping import catalogue

VERSION = "2012-10-17"
MAX_MANAGED_POLICY_SIZE = 6144  # characters, counted by IAM without whitespace
_SID = re.compile(r"^[A-Za-z0-9]+$")
_VARIABLE = re.compile(r"\$\{([A-Za-z0-9]+)\}")
_WORD = re.compile(r"[A-Za-z0-9]+")
# In IAM's usual order, which canonical statements follow.
_STATEMENT_KEYS = (
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
)


def sid(*parts: str) -> str:
    """A statement id from words: ``sid("s3", "Read", "object") == "S3ReadObject"``.

    Every non-alphanumeric character separates words, each word is capitalised, so ids match
    IAM's ``[A-Za-z0-9]+`` and read like the service, access level and resource type they name.
    """
    words = [w for part in parts for w in _WORD.findall(part)]
    out = "".join(w[0].upper() + w[1:] for w in words)
    return out or "Statement"


def unique_sids(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of ``statements`` whose Sids are unique: repeats get a numeric suffix (2, 3, ...)."""
    seen: dict[str, int] = {}
    taken = {str(s.get("Sid")) for s in statements if s.get("Sid")}
    out: list[dict[str, Any]] = []
    for statement in statements:
        copy = dict(statement)
        base = str(copy.get("Sid") or "")
        if base:
            count = seen.get(base, 0) + 1
            seen[base] = count
            if count > 1:
                candidate = f"{base}{count}"
                while candidate in taken:
                    count += 1
                    candidate = f"{base}{count}"
                seen[base] = count
                taken.add(candidate)
                copy["Sid"] = candidate
        out.append(copy)
    return out


def normalize_statement(statement: dict[str, Any]) -> dict[str, Any]:
    """A statement in canonical form: keys in IAM's usual order, action and resource lists sorted
    and de-duplicated, a one-element list written as a plain string, conditions sorted."""
    out: dict[str, Any] = {}
    for key in _STATEMENT_KEYS:
        if key not in statement:
            continue
        value = statement[key]
        if key in {"Action", "NotAction", "Resource", "NotResource"}:
            value = _sorted_list(value)
        elif key in {"Principal", "NotPrincipal"} and isinstance(value, dict):
            value = {k: _sorted_list(v) for k, v in sorted(value.items())}
        elif key == "Condition":
            value = {
                op: {k: _sorted_list(v) for k, v in sorted(keys.items())}
                for op, keys in sorted(value.items())
            }
        out[key] = value
    return out


def _sorted_list(value: Any) -> Any:
    if isinstance(value, str | bool | int):
        return value
    if not all(isinstance(v, str) for v in value):
        return list(value)
    items = sorted(set(value))
    return items[0] if len(items) == 1 else items


def document(statements: list[dict[str, Any]]) -> dict[str, Any]:
    """A policy document (Version 2012-10-17) holding ``statements`` in canonical form."""
    return {"Version": VERSION, "Statement": [normalize_statement(s) for s in statements]}


def compact_json(doc: Any) -> str:
    """``doc`` as JSON without insignificant whitespace, keys in the order given."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def size(doc: dict[str, Any]) -> int:
    """The size IAM counts against its quotas: characters of the JSON without whitespace."""
    return len(compact_json(doc))


@dataclass(frozen=True)
class SplitNote:
    """One statement whose resources (or actions) were cut into parts to fit ``max_size``."""

    sid: str
    parts: int
    field: str


def split(
    statements: list[dict[str, Any]], max_size: int = MAX_MANAGED_POLICY_SIZE
) -> list[dict[str, Any]]:
    """Pack ``statements`` into as few documents of at most ``max_size`` characters as the
    greedy order allows; see :func:`split_with_notes`."""
    return split_with_notes(statements, max_size)[0]


def split_with_notes(
    statements: list[dict[str, Any]], max_size: int = MAX_MANAGED_POLICY_SIZE
) -> tuple[list[dict[str, Any]], list[SplitNote]]:
    """Pack ``statements`` into documents of at most ``max_size`` characters, each into the first
    document (in order) it still fits in.

    A statement that does not fit an empty document alone is cut into parts along its Resource
    list (else its Action list), each part a statement of its own with a ``PartN`` Sid suffix;
    the notes say which statements were cut. Raises PolicyError when even one action on one
    resource does not fit.

    Returns:
        The documents (each ``{"Version", "Statement"}``) and one note per cut statement.
    """
    if max_size <= size(document([])):
        raise PolicyError(f"--max-size {max_size} is too small for any policy document")
    pieces: list[dict[str, Any]] = []
    notes: list[SplitNote] = []
    for statement in statements:
        canonical = normalize_statement(statement)
        if size(document([canonical])) <= max_size:
            pieces.append(canonical)
            continue
        parts, field = _cut(canonical, max_size)
        base = str(canonical.get("Sid") or "Statement")
        for number, part in enumerate(parts, start=1):
            part["Sid"] = f"{base}Part{number}"
            pieces.append(normalize_statement(part))
        notes.append(SplitNote(sid=base, parts=len(parts), field=field))
    # Sids made unique before packing, so that no suffix added later pushes a document over.
    pieces = unique_sids(pieces)
    # First fit, in order: each statement goes to the first document it still fits in.
    documents: list[list[dict[str, Any]]] = []
    for piece in pieces:
        for held in documents:
            if size(document([*held, piece])) <= max_size:
                held.append(piece)
                break
        else:
            documents.append([piece])
    return [document(d) for d in documents], notes


def _cut(statement: dict[str, Any], max_size: int) -> tuple[list[dict[str, Any]], str]:
    """``statement`` cut along its longest list so that every part fits ``max_size``."""
    for field in ("Resource", "NotResource", "Action", "NotAction"):
        values = statement.get(field)
        if isinstance(values, list) and len(values) > 1:
            break
    else:
        raise PolicyError(
            f"statement {statement.get('Sid') or '(no Sid)'} does not fit in {max_size} characters"
            " even with one action on one resource"
        )
    # No cut makes more parts than (resources x actions): the longest PartN suffix it can get.
    bound = 1
    for name in ("Resource", "NotResource", "Action", "NotAction"):
        bound *= len(_as_list(statement.get(name))) or 1
    probe_sid = f"{statement.get('Sid') or 'Statement'}Part{'9' * len(str(bound))}"
    parts: list[dict[str, Any]] = []
    current: list[str] = []
    for value in values:
        trial = {**statement, field: [*current, value], "Sid": probe_sid}
        if current and size(document([trial])) > max_size:
            parts.append({**statement, field: current})
            current = [value]
        else:
            current.append(value)
    parts.append({**statement, field: current})
    out: list[dict[str, Any]] = []
    for part in parts:
        probe = {**part, "Sid": probe_sid}
        if size(document([probe])) > max_size:
            # One value of this field is still too big together with the other lists: cut those.
            sub, _ = _cut(part, max_size)
            out.extend(sub)
        else:
            out.append(part)
    return out, field


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def _action_infos(action: str) -> list[catalogue.ActionInfo]:
    """The catalogue actions an Action element names (wildcards expanded)."""
    if action == "*":
        return []
    prefix, sep, name = action.partition(":")
    if not sep:
        return []
    actions = catalogue.service_actions(prefix.lower())
    if "*" in name or "?" in name:
        pattern = name.lower()
        return [info for key, info in actions.items() if fnmatch.fnmatchcase(key, pattern)]
    info = actions.get(name.lower())
    return [info] if info else []


def resource_matches(info: catalogue.ActionInfo, resource: str) -> bool:
    """Whether ``resource`` (an ARN, possibly with wildcards) can name a resource of ``info``.

    ``*`` fits every action; an ARN fits when it matches one of the action's resource types'
    ARN formats (wildcards stand for themselves, so ``bucket/logs/*`` is an object ARN).
    """
    if resource == "*":
        return True
    if any(p.match(resource) for rt in info.resource_types for p in rt.patterns):
        return True
    # A wildcard may also stand for a format's fixed words (``*/*`` for ``instance/${Id}``):
    # fill one example ARN per format from the resource's own partition, region and account.
    if "*" not in resource and "?" not in resource:
        return False
    fields = resource.split(":", 5)
    if len(fields) < 6:
        return False
    named = {"Partition": fields[1], "Region": fields[3], "Account": fields[4]}
    known = {k: v for k, v in named.items() if "*" not in v and "?" not in v}
    for rt in info.resource_types:
        for arn_format in rt.arn_formats:
            example = _VARIABLE.sub(lambda m: known.get(m.group(1), "x"), arn_format)
            if fnmatch.fnmatchcase(example, resource):
                return True
    return False


def validate(
    doc: dict[str, Any],
    *,
    sid_pattern: re.Pattern[str] = _SID,
    sid_rule: str = "letters and digits only",
) -> list[str]:
    """The problems of a policy document, one sentence each (empty when it is valid).

    Checks the grammar (Version, Statement, Effect, Sid, Action/NotAction,
    Resource/NotResource unless the statement has a Principal, Condition shape), that every
    action exists in the IAM action catalogue (a wildcard must match at least one), and that in
    each statement every resource fits a resource type of at least one of its actions and every
    action (that supports none, or some) has a resource it can apply to: ``*`` for actions
    without resource-level permissions.

    ``sid_pattern`` is what a Sid must match and ``sid_rule`` says it in words: IAM's letters and
    digits unless a resource policy's service allows more (KMS key policies allow spaces).
    """
    problems: list[str] = []
    if not isinstance(doc, dict):
        return ["the document is not a JSON object"]
    unknown_top = sorted(set(doc) - {"Version", "Id", "Statement"})
    if unknown_top:
        problems.append(f"unknown top-level keys: {', '.join(unknown_top)}")
    if doc.get("Version") != VERSION:
        problems.append(f"Version must be {VERSION}, not {doc.get('Version')!r}")
    statements = doc.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        problems.append("Statement must be a non-empty list")
        return problems
    sids: set[str] = set()
    for index, statement in enumerate(statements):
        problems.extend(_validate_statement(index, statement, sids, (sid_pattern, sid_rule)))
    return problems


def _validate_statement(
    index: int, statement: Any, sids: set[str], sid_rule: tuple[re.Pattern[str], str]
) -> list[str]:
    where = f"statement {index}"
    if not isinstance(statement, dict):
        return [f"{where} is not a JSON object"]
    sid_problems: list[str] = []
    if "Sid" in statement:
        value = statement["Sid"]
        where = f"statement {value!r}"
        if not isinstance(value, str) or not sid_rule[0].match(value):
            sid_problems.append(f"{where}: Sid must be {sid_rule[1]}")
        elif value in sids:
            sid_problems.append(f"{where}: Sid is not unique in the document")
        else:
            sids.add(value)
    problems: list[str] = []
    unknown = sorted(set(statement) - set(_STATEMENT_KEYS))
    if unknown:
        problems.append(f"{where}: unknown keys {', '.join(unknown)}")
    if statement.get("Effect") not in {"Allow", "Deny"}:
        problems.append(f"{where}: Effect must be Allow or Deny")
    if ("Action" in statement) == ("NotAction" in statement):
        problems.append(f"{where}: needs exactly one of Action and NotAction")
    has_principal = "Principal" in statement or "NotPrincipal" in statement
    has_resource = "Resource" in statement or "NotResource" in statement
    if "Resource" in statement and "NotResource" in statement:
        problems.append(f"{where}: has both Resource and NotResource")
    if not has_principal and not has_resource:
        problems.append(f"{where}: needs Resource or NotResource")
    for key in ("Action", "NotAction", "Resource", "NotResource"):
        if key in statement:
            values = _as_list(statement[key])
            if not values or not all(isinstance(v, str) and v for v in values):
                problems.append(f"{where}: {key} must be a string or a non-empty list of strings")
    condition = statement.get("Condition")
    if condition is not None:
        problems.extend(_validate_condition(where, condition))
    if problems:
        return sid_problems + problems
    problems = sid_problems
    actions = [str(a) for a in _as_list(statement.get("Action"))]
    actions += [str(a) for a in _as_list(statement.get("NotAction"))]
    infos: dict[str, list[catalogue.ActionInfo]] = {}
    for action in actions:
        if action == "*":
            continue
        found = _action_infos(action)
        if not found:
            problems.append(f"{where}: {action} is not in the IAM action catalogue")
        infos[action] = found
    resources = [str(r) for r in _as_list(statement.get("Resource"))]
    if "Action" in statement and resources and "*" not in actions:
        problems.extend(_validate_resources(where, infos, resources))
    if "Action" in statement and condition is not None:
        problems.extend(_validate_condition_keys(where, infos, condition))
    return problems


def _validate_condition_keys(
    where: str, infos: dict[str, list[catalogue.ActionInfo]], condition: dict[str, Any]
) -> list[str]:
    """A service's condition key must be one the catalogue lists for some action of the
    statement (keys of other namespaces, such as an OIDC provider's, are not checked)."""
    from trailwise.pipeline.policy.conditions import key_applies

    actions = [info.action for found in infos.values() for info in found]
    if not actions or len(actions) > 50:  # wildcard actions: any of many may take the key
        return []
    problems = []
    for keys in condition.values():
        for key in keys:
            prefix = str(key).split(":", 1)[0].lower()
            if prefix == "aws" or prefix not in catalogue.prefixes():
                continue
            if not any(key_applies(action, str(key)) for action in actions):
                problems.append(f"{where}: condition key {key} applies to none of its actions")
    return problems


def _validate_condition(where: str, condition: Any) -> list[str]:
    if not isinstance(condition, dict) or not condition:
        return [f"{where}: Condition must be a non-empty object"]
    problems: list[str] = []
    for operator, keys in condition.items():
        if not isinstance(keys, dict) or not keys:
            problems.append(f"{where}: Condition operator {operator} needs an object of keys")
            continue
        for key, values in keys.items():
            items = _as_list(values)
            if not items or not all(isinstance(v, str | bool | int) for v in items):
                problems.append(f"{where}: Condition {operator} {key} needs values")
    return problems


def _validate_resources(
    where: str, infos: dict[str, list[catalogue.ActionInfo]], resources: list[str]
) -> list[str]:
    problems: list[str] = []
    known = [info for found in infos.values() for info in found]
    # Wildcard actions expand to many; judge only statements of concrete actions strictly.
    concrete = {a: found for a, found in infos.items() if len(found) == 1 and "*" not in a}
    for resource in resources:
        if resource == "*" or not known:
            continue
        if not any(resource_matches(info, resource) for info in known):
            problems.append(f"{where}: {resource} matches no resource type of its actions")
    for action, found in sorted(concrete.items()):
        info = found[0]
        if not any(resource_matches(info, r) for r in resources):
            if info.resource_types:
                problems.append(f"{where}: no resource fits {action}")
            else:
                problems.append(
                    f"{where}: {action} has no resource-level permissions and needs Resource *"
                )
    return problems
