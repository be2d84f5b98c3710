"""Judging a policy statement by statement: the catalogue actions each names, and whether all
it grants is removable (``redundant``), some of it (``partly_used``), none (``used``) or nothing
can be judged (``unjudged``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from trailwise.pipeline.errors import PolicyError
from trailwise.pipeline.iam.expand import matching_actions
from trailwise.pipeline.policy.diff.evidence import Source
from trailwise.pipeline.policy.diff.model import PolicyReview, StatementReview


@dataclass(frozen=True)
class Statement:
    """One statement of a policy and the catalogue actions it names."""

    raw: dict[str, Any]
    effect: str
    matched: frozenset[str]  # catalogue actions it names
    unknown: tuple[str, ...]  # Action patterns that match no catalogue action


def statements_of(source: Source) -> list[Statement]:
    """The statements of a policy, each with the catalogue actions it names.

    Args:
        source: the policy; one the snapshot does not hold has no statements.

    Raises:
        PolicyError: the document is not JSON or its statements are malformed.
    """
    if source.document_json is None:
        return []
    try:
        doc = json.loads(source.document_json)
    except json.JSONDecodeError as exc:
        raise PolicyError(f"policy {source.source} is not JSON") from exc
    raw = doc.get("Statement") if isinstance(doc, dict) else None
    items = [raw] if isinstance(raw, dict) else raw
    if not isinstance(items, list):
        raise PolicyError(f"policy {source.source}: Statement is not an object or a list")
    out: list[Statement] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise PolicyError(f"policy {source.source}: statement {i} is not an object")
        negate = "NotAction" in item
        patterns = [str(p) for p in listed(item.get("NotAction" if negate else "Action"))]
        if not patterns:
            raise PolicyError(f"policy {source.source}: statement {i} has no Action")
        named = frozenset().union(*(matching_actions(p) for p in patterns))
        matched = matching_actions("*") - named if negate else named
        unknown = () if negate else tuple(p for p in patterns if not matching_actions(p))
        out.append(Statement(dict(item), str(item.get("Effect", "")), matched, unknown))
    return out


def listed(value: Any) -> list[Any]:
    """A policy element that may be one value or a list, as a list (None: empty)."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def review_policy(source: Source, status_of: Mapping[str, str]) -> PolicyReview:
    """Judge each statement of a policy by the groups of the actions it names.

    Args:
        source: the policy.
        status_of: each granted action's group: ``removable``, ``kept`` or ``unjudgeable``.

    Raises:
        PolicyError: the document is not JSON or its statements are malformed.
    """
    reviews: list[StatementReview] = []
    for index, st in enumerate(statements_of(source)):
        effective = {a for a in st.matched if a in status_of}
        parts = {
            group: tuple(sorted(a for a in effective if status_of[a] == group))
            for group in ("removable", "kept", "unjudgeable")
        }
        if st.effect != "Allow":
            status = "deny"
        elif not effective or len(parts["removable"]) == len(effective):
            status = "redundant"
        elif parts["removable"]:
            status = "partly_used"
        elif parts["kept"]:
            status = "used"
        else:
            status = "unjudged"
        reviews.append(
            StatementReview(
                index=index,
                sid=str(st.raw["Sid"]) if st.raw.get("Sid") else None,
                effect=st.effect,
                status=status,
                removable=parts["removable"] if st.effect == "Allow" else (),
                kept=parts["kept"] if st.effect == "Allow" else (),
                unjudgeable=parts["unjudgeable"] if st.effect == "Allow" else (),
                not_effective=len(st.matched - effective) if st.effect == "Allow" else 0,
            )
        )
    document = json.loads(source.document_json) if source.document_json else None
    return PolicyReview(
        source=source.source,
        kind=source.kind,
        name=source.name,
        policy_arn=source.policy_arn,
        attachment_count=source.attachment_count,
        document=document,
        statements=tuple(reviews),
    )
