"""Least-privilege policies from observed use: documents, rendering and suggestions.

``document`` and ``render`` work on generic policy documents (dicts), so every kind of policy
trailwise writes shares one validation, size split and output format; ``suggest`` builds the
identity policy of a role or user from the lake.
"""

from __future__ import annotations

from trailwise.pipeline.policy.document import size, split, validate
from trailwise.pipeline.policy.render import render
from trailwise.pipeline.policy.suggest import (
    ActionEvidence,
    ConditionNote,
    Suggestion,
    suggest,
)

__all__ = [
    "ActionEvidence",
    "ConditionNote",
    "Suggestion",
    "render",
    "size",
    "split",
    "suggest",
    "validate",
]
