"""From the resource ARNs seen in events to the Resource elements of a policy.

Three modes:

- ``exact``: every distinct ARN seen, literally.
- ``generalize`` (the default): object keys, log streams and DynamoDB indexes under one parent
  fold into the narrowest wildcard that covers them (``bucket/orders/*``, never beyond the
  bucket; ``log-group:NAME:log-stream:*``; ``table/T/index/*``), and three or more named
  resources sharing a name prefix fold into ``prefix*``. The partition, region and account of an
  ARN are never replaced by a wildcard: ARNs of different accounts or regions stay separate
  entries, so a grant never reaches an account or region where no use was seen.
- ``star``: ``*``.

Wildcards only ever replace the last variable of the resource type's ARN format, so a folded
ARN still names the same resource type (and still passes the catalogue check).
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from trailwise.pipeline.mapping import catalogue
from trailwise.pipeline.mapping.catalogue import ActionInfo, ResourceType

MODES = ("exact", "generalize", "star")
STAR = "*"
# Children of a parent resource that come and go (objects, streams, indexes): any two seen under
# one parent fold to ``parent*``.
_CHILD_TYPES = {
    ("s3", "object"),
    ("logs", "log-stream"),
    ("dynamodb", "index"),
    ("dynamodb", "stream"),
}
NAME_PREFIX_MIN_RESOURCES = 3  # fewer named resources stay exact: a short list is narrower
MAX_PREFIXES_PER_BUCKET = 10  # beyond this many key prefixes in one bucket, grant bucket/*
_VARIABLE = re.compile(r"\$\{([A-Za-z0-9]+)\}")
_SEPARATORS = "-_/.:"
# Path segments that change with time or per item (dates, numbers, ids): a prefix that keeps one
# would stop working tomorrow, so folding stops before it.
_VARYING = re.compile(
    r"""^(
        \d+                                       # 2026, 11, 000123
        | \d{4}-\d{2}(-\d{2})?([T_ ].*)?            # 2026-11, 2026-11-02, 2026-11-02T10
        | [A-Za-z_]+=.*\d.*                        # dt=2026-11-02 (Hive partitions)
        | [0-9a-fA-F]{8}-[0-9a-fA-F]{4}-.*          # UUIDs
        | [0-9a-fA-F]{16,}                         # long hex ids
    )$""",
    re.VERBOSE,
)


# Secrets Manager ends every secret's ARN with a hyphen and six random characters; an event that
# names the secret by name yields an ARN without them, which no call's real ARN equals. AWS
# advises against names ending in a hyphen and six characters, so their absence tells
# (https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_iam-policies.html).
RANDOM_ARN_SUFFIX = "-??????"
_SECRET_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")


def secret_named_without_suffix(arn: str) -> bool:
    """Whether ``arn`` is a secret's ARN built from its name (without the random suffix)."""
    parts = arn.split(":", 6)
    return (
        len(parts) == 7
        and parts[2] == "secretsmanager"
        and parts[5] == "secret"
        and not _SECRET_SUFFIX.search(parts[6])
    )


@dataclass(frozen=True)
class Granted:
    """One Resource element value and the observed resources (ARNs) it stands for."""

    resource: str
    observed: tuple[str, ...]
    how: str  # "exact", "folded", "star"


def escape(arn: str) -> str:
    """A literal ARN as a policy Resource: ``*``, ``?`` and ``$`` in a name are written as the
    policy variables ``${*}``, ``${?}`` and ``${$}`` so they do not act as wildcards."""
    out = []
    for ch in arn:
        out.append("${" + ch + "}" if ch in "*?$" else ch)
    return "".join(out)


def resource_type(info: ActionInfo, arn: str) -> ResourceType | None:
    """The resource type of ``info`` whose ARN format ``arn`` matches, if any; of several, the
    most specific (the format with the most literal text: a DynamoDB index ARN also matches the
    table format, whose table name may hold ``/``)."""
    best: tuple[int, ResourceType] | None = None
    for rt in info.resource_types:
        for arn_format, pattern in zip(rt.arn_formats, rt.patterns, strict=True):
            if pattern.match(arn):
                literal = len(_VARIABLE.sub("", arn_format))
                if best is None or literal > best[0]:
                    best = (literal, rt)
    return best[1] if best else None


@cache
def _leaf_pattern(arn_format: str) -> re.Pattern[str] | None:
    """A pattern splitting an ARN of ``arn_format`` into its parent and its last variable."""
    variables = list(_VARIABLE.finditer(arn_format))
    if not variables or variables[-1].end() != len(arn_format):
        return None
    out: list[str] = []
    pos = 0
    for match in variables[:-1]:
        out.append(re.escape(arn_format[pos : match.start()]))
        out.append(catalogue.variable_regex(match.group(1), lazy=True))
        pos = match.end()
    out.append(re.escape(arn_format[pos : variables[-1].start()]))
    return re.compile("^(?P<parent>" + "".join(out) + ")(?P<leaf>.+)$")


def scoped_wildcards(
    rt: ResourceType, partition: str, account: str, regions: Iterable[str]
) -> list[str]:
    """``rt``'s ARN formats with the partition, the account and each region filled in and every
    other variable ``*``: a grant on a resource type no event names that stays within the
    principal's account and the regions its calls were made in."""
    out: set[str] = set()
    for region in sorted(set(regions)) or ["*"]:
        known = {"Partition": partition, "Region": region, "Account": account}

        def fill(match: re.Match[str], known: dict[str, str] = known) -> str:
            return known.get(match.group(1), "*")

        out.update(_VARIABLE.sub(fill, arn_format) for arn_format in rt.arn_formats)
    return sorted(out)


def split_leaf(rt: ResourceType, arn: str) -> tuple[str, str] | None:
    """``arn`` as (parent, last variable's value) by the first ARN format of ``rt`` it fits."""
    for arn_format, pattern in zip(rt.arn_formats, rt.patterns, strict=True):
        if not pattern.match(arn):
            continue
        leaf = _leaf_pattern(arn_format)
        match = leaf.match(arn) if leaf else None
        if match:
            return match.group("parent"), match.group("leaf")
    return None


def grant(service: str, rt: ResourceType, arns: Iterable[str], mode: str) -> list[Granted]:
    """The Resource values that cover ``arns`` (all of resource type ``rt``) in ``mode``; a
    secret named by its name is granted with its random suffix as ``-??????``."""
    out = _grant(service, rt, arns, mode)
    if service != "secretsmanager":
        return out
    suffixed = [
        dataclasses.replace(g, resource=g.resource + RANDOM_ARN_SUFFIX)
        if g.how == "exact" and secret_named_without_suffix(g.observed[0])
        else g
        for g in out
    ]
    return sorted(suffixed, key=lambda g: g.resource)


def _grant(service: str, rt: ResourceType, arns: Iterable[str], mode: str) -> list[Granted]:
    seen = sorted(set(arns))
    if mode == "star":
        return [Granted(STAR, tuple(seen), "star")]
    if mode == "exact":
        return [Granted(escape(a), (a,), "exact") for a in seen]
    by_parent: dict[str, list[str]] = defaultdict(list)
    whole: list[str] = []
    leaves: dict[str, str] = {}
    for arn in seen:
        split = split_leaf(rt, arn)
        if split is None:
            whole.append(arn)
            continue
        parent, leaf = split
        by_parent[parent].append(arn)
        leaves[arn] = leaf
    out = [Granted(escape(a), (a,), "exact") for a in whole]
    for parent, members in sorted(by_parent.items()):
        keys = [leaves[a] for a in members]
        if (service, rt.name) == ("s3", "object"):
            folded = _fold_keys(keys)
        elif (service, rt.name) in _CHILD_TYPES:
            folded = {"*": keys} if len(keys) > 1 else {_escape_leaf(keys[0]): keys}
        else:
            folded = _fold_names(keys)
        for pattern, covered in sorted(folded.items()):
            observed = tuple(sorted(parent + k for k in covered))
            how = "folded" if pattern.endswith("*") and not pattern.endswith("${*}") else "exact"
            out.append(Granted(escape(parent) + pattern, observed, how))
    return sorted(out, key=lambda g: g.resource)


def _escape_leaf(leaf: str) -> str:
    return escape(leaf)


def _fold_keys(keys: list[str]) -> dict[str, list[str]]:
    """Object keys of one bucket as key patterns: each group of keys under a common directory
    prefix (cut before the first date- or id-like segment) becomes ``prefix/*``; a lone key stays
    exact; more than MAX_PREFIXES_PER_BUCKET patterns become the whole bucket ``*``."""
    folded = _fold_key_group(sorted(set(keys)))
    if len(folded) > MAX_PREFIXES_PER_BUCKET:
        return {"*": sorted(set(keys))}
    return folded


def _fold_key_group(keys: list[str]) -> dict[str, list[str]]:
    if len(keys) == 1:
        return {_escape_leaf(keys[0]): keys}
    directories = [k.split("/")[:-1] for k in keys]
    common: list[str] = []
    for parts in zip(*directories, strict=False):
        if len(set(parts)) != 1 or _VARYING.match(parts[0]) or "*" in parts[0]:
            break
        common.append(parts[0])
    if common:
        return {escape("/".join(common)) + "/*": keys}
    groups: dict[str, list[str]] = defaultdict(list)
    loose: list[str] = []
    for key in keys:
        first, sep, _ = key.partition("/")
        if sep and not _VARYING.match(first):
            groups[first].append(key)
        elif sep:
            loose.append(key)  # under a date/id folder at the bucket root
        else:
            groups[f"\0{key}"].append(key)  # a key at the bucket root: its own group
    if len(loose) > 1:
        return {"*": keys}
    out: dict[str, list[str]] = {}
    for key in loose:
        out[_escape_leaf(key)] = [key]
    for members in groups.values():
        out.update(_fold_key_group(members))
    return out


def _fold_names(names: list[str]) -> dict[str, list[str]]:
    """Names of one parent: NAME_PREFIX_MIN_RESOURCES or more sharing a prefix that ends at a
    separator (``orders-``) and holds a word of at least three characters become ``prefix*``."""
    groups: dict[str, list[str]] = defaultdict(list)
    for name in sorted(set(names)):
        match = re.match(
            r"^[^" + re.escape(_SEPARATORS) + r"]{3,}[" + re.escape(_SEPARATORS) + "]", name
        )
        groups[match.group(0) if match else f"\0{name}"].append(name)
    out: dict[str, list[str]] = {}
    for head, members in groups.items():
        prefix = _common_prefix_at_separator(members) if not head.startswith("\0") else ""
        if len(members) >= NAME_PREFIX_MIN_RESOURCES and prefix and "*" not in prefix:
            out[escape(prefix) + "*"] = members
        else:
            for name in members:
                out[_escape_leaf(name)] = [name]
    return out


def _common_prefix_at_separator(names: list[str]) -> str:
    first, last = min(names), max(names)
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    prefix = first[:size]
    cut = max(prefix.rfind(s) for s in _SEPARATORS)
    return prefix[: cut + 1] if cut >= 0 else ""
