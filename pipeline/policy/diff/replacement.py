"""The replacement policies: each reviewed policy with its removals applied (wildcards narrowed,
resources only removed actions used dropped), validated against the original and sized
against IAM's quotas."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from trailwise.pipeline.iam.expand import matching_actions
from trailwise.pipeline.mapping import catalogue
from trailwise.pipeline.policy import document as policy_document
from trailwise.pipeline.policy.diff.evidence import Source
from trailwise.pipeline.policy.diff.model import PolicyReview, Replacement
from trailwise.pipeline.policy.diff.review import listed, statements_of

# IAM quotas on policy size (characters without whitespace). Inline limits are per principal,
# for all its inline policies together.
INLINE_LIMITS = {"role": 10240, "user": 2048, "group": 5120}

_WORD_START = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _compress(actions: Iterable[str], allowed: frozenset[str] | None) -> list[str]:
    """Patterns covering ``actions``.

    ``allowed`` None (the statement listed its actions one by one): the actions themselves, a
    whole service as ``service:*``. Otherwise (it used wildcards): per action the shortest
    ``service:Word*`` prefix, cut at a word start, whose every catalogue match is in
    ``allowed`` (what the statement named, less the removals), so the pattern grants nothing
    the original did not and nothing removed; the action itself when no prefix qualifies.
    """
    by_service: dict[str, set[str]] = {}
    for action in actions:
        by_service.setdefault(action.split(":", 1)[0].lower(), set()).add(action)
    out: list[str] = []
    for service, names in sorted(by_service.items()):
        whole = matching_actions(f"{service}:*")
        if names == set(whole) or (allowed is not None and whole <= allowed):
            out.append(f"{service}:*")
            continue
        if allowed is None:
            out.extend(sorted(names))
            continue
        covered: set[str] = set()
        chosen: list[str] = []
        for action in sorted(names):
            if action in covered:
                continue
            prefix, _, name = action.partition(":")
            cuts = [m.start() for m in _WORD_START.finditer(name)] + [len(name)]
            for cut in cuts:
                pattern = f"{prefix}:{name[:cut]}*"
                matches = matching_actions(pattern)
                # A wildcard standing for one action only widens the policy for future ones.
                if matches <= allowed and len(matches & names) > 1:
                    chosen.append(pattern)
                    covered |= matches
                    break
            else:
                chosen.append(action)
        # An action listed before a later wildcard came to cover it is dropped.
        out.extend(p for p in chosen if p.endswith("*") or p not in covered)
    return out


def _prune_resources(statement: dict[str, Any], actions: Sequence[str]) -> None:
    """Drop the Resource entries none of the kept actions can apply to (they served the removed
    ones only); keep the list when that would empty it or an action is unknown."""
    if "Resource" not in statement:
        return
    infos = [catalogue.lookup(a) for a in actions]
    if any(info is None for info in infos):
        return
    typed = [info for info in infos if info is not None and info.resource_types]
    resources = [str(r) for r in listed(statement["Resource"])]
    kept = [
        r
        for r in resources
        if r == "*" or any(policy_document.resource_matches(info, r) for info in typed)
    ]
    if kept and len(kept) < len(resources):
        statement["Resource"] = kept


def _can_apply(action: str, statement: Mapping[str, Any]) -> bool:
    """Whether the statement's Resource can name a resource ``action`` acts on: a wildcard
    expanded over a bucket also matches actions on Storage Lens dashboards or needing ``*``,
    which the statement never allowed. Unknown actions and NotResource count as applying."""
    if "Resource" not in statement:
        return True
    resources = [str(r) for r in listed(statement["Resource"])]
    info = catalogue.lookup(action)
    if "*" in resources or info is None:
        return True
    return any(policy_document.resource_matches(info, r) for r in resources)


_LOCATION = re.compile(r"^statement (?:\d+|'[^']*'): ")


def _problem_texts(doc: dict[str, Any]) -> set[str]:
    """validate()'s problems without the statement position, which rewriting shifts."""
    return {_LOCATION.sub("", p) for p in policy_document.validate(doc)}


def replacement_for(
    review: PolicyReview, principal_type: str, principal_arn: str, is_aws_managed: bool
) -> Replacement | None:
    """The policy with its removals applied, or None when nothing of it changes.

    Args:
        review: the policy, judged statement by statement.
        principal_type: ``user`` or ``role``, whose inline quota applies.
        principal_arn: the principal, named in the notes.
        is_aws_managed: whether AWS manages the principal's policies.
    """
    if review.document is None or review.status == "unchanged":
        return None
    source = Source(
        review.source,
        review.kind,
        review.name,
        review.policy_arn,
        review.attachment_count,
        json.dumps(review.document),
    )
    statements: list[dict[str, Any]] = []
    removed: set[str] = set()
    for st, judged in zip(statements_of(source), review.statements, strict=True):
        removed.update(judged.removable)
        if st.effect != "Allow" or (not judged.removable and judged.status != "redundant"):
            statements.append(dict(st.raw))
            continue
        if judged.status == "redundant":
            continue
        rewritten = {k: v for k, v in st.raw.items() if k not in ("Action", "NotAction")}
        kept = [
            *judged.kept,
            *(a for a in judged.unjudgeable if _can_apply(a, st.raw)),
        ]
        patterns = [str(p) for p in listed(st.raw.get("NotAction") or st.raw.get("Action"))]
        wildcard = "NotAction" in st.raw or any("*" in p or "?" in p for p in patterns)
        allowed = st.matched - set(judged.removable) if wildcard else None
        rewritten["Action"] = [*_compress(kept, allowed), *st.unknown]
        _prune_resources(rewritten, kept)
        statements.append(rewritten)
    is_inline = review.kind in ("inline", "group_inline")
    owner = "group" if review.kind.startswith("group") else principal_type
    max_size = INLINE_LIMITS[owner] if is_inline else policy_document.MAX_MANAGED_POLICY_SIZE
    # Deny statements stay even when every Allow goes: they may guard against other policies.
    if not statements:
        return Replacement(
            source=review.source,
            name=review.name,
            action="delete",
            documents=(),
            removed=tuple(sorted(removed)),
            size=0,
            max_size=max_size,
            problems=(),
            inherited_problems=(),
            note=_note(
                review, principal_arn, deleting=True, is_aws_managed_principal=is_aws_managed
            ),
        )
    whole = policy_document.document(statements)
    if is_inline or policy_document.size(whole) <= max_size:
        documents = [whole]
    else:
        # split() sizes its parts with a two-digit "PartNN" Sid suffix on the statement's own
        # Sid; give every statement one, so the final ids are no longer than the probes.
        named = [
            s if s.get("Sid") else {"Sid": f"Statement{i}", **s} for i, s in enumerate(statements)
        ]
        documents = policy_document.split(named, max_size)
    found = set().union(*(_problem_texts(d) for d in documents))
    before = _problem_texts(review.document)
    return Replacement(
        source=review.source,
        name=review.name,
        action="replace",
        documents=tuple(documents),
        removed=tuple(sorted(removed)),
        size=max(policy_document.size(d) for d in documents),
        max_size=max_size,
        problems=tuple(sorted(found - before)),
        inherited_problems=tuple(sorted(found & before)),
        note=_note(
            review,
            principal_arn,
            deleting=False,
            parts=len(documents),
            is_aws_managed_principal=is_aws_managed,
        ),
    )


def _note(
    review: PolicyReview,
    principal_arn: str,
    *,
    deleting: bool,
    parts: int = 1,
    is_aws_managed_principal: bool = False,
) -> str | None:
    notes: list[str] = []
    owner = (
        f"group {review.source.split('/', 1)[0].removeprefix('group:')}"
        if review.kind.startswith("group")
        else principal_arn
    )
    if is_aws_managed_principal:
        notes.append(
            "AWS manages this principal (service-linked or IAM Identity Center): change its "
            "permissions where they come from (the service, or the permission set)"
        )
    if review.policy_arn and ":aws:policy/" in review.policy_arn:
        notes.append(
            f"detach {review.policy_arn} from {owner}"
            if deleting
            else "AWS managed policies cannot be edited: create this as a customer managed "
            f"policy, attach it to {owner} and detach {review.policy_arn}"
        )
    elif review.kind in ("managed", "group_managed") and (review.attachment_count or 0) > 1:
        notes.append(
            f"{review.policy_arn} is attached to {review.attachment_count} principals: this "
            "diff judges only one of them; edit it only if the others need no more"
        )
    elif deleting:
        notes.append(
            f"delete the inline policy {review.name} of {owner}"
            if review.kind in ("inline", "group_inline")
            else f"detach {review.policy_arn} from {owner}"
        )
    if review.kind.startswith("group"):
        notes.append("granted through a group: the change reaches every member of the group")
    if parts > 1:
        notes.append(f"split into {parts} managed policies to fit IAM's size quota")
    return "; ".join(notes) or None
