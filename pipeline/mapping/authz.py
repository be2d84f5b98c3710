"""Did the call pass authorization? Error codes and access-denied messages (errors.json)."""

from __future__ import annotations

from dataclasses import dataclass

from trailwise.pipeline.mapping.model import Denial
from trailwise.pipeline.mapping.rules import rules


@dataclass(frozen=True)
class Authorization:
    """The authorization outcome of one call."""

    is_authorized: bool | None
    denial: Denial | None = None
    note: str | None = None


AUTHORIZED = Authorization(True)


def _clean_resource(resource: str | None) -> str | None:
    if resource is None:
        return None
    resource = resource.strip().strip('"').rstrip(".,")
    return resource or None


def parse_denial(error_code: str, message: str | None) -> Denial:
    """What an access-denied message names: action, resource, policy type, explicit deny."""
    errors = rules().errors
    if message:
        for pattern in errors.denial_patterns:
            m = pattern.search(message)
            if not m:
                continue
            groups = m.groupdict()
            missing, deny = groups.get("missing"), groups.get("deny")
            policy_text = (deny or missing or "").strip()
            policy_type = errors.policy_types.get(policy_text.lower(), policy_text or None)
            explicit: bool | None = None
            if deny is not None or groups.get("explicit_only") is not None:
                explicit = True
            elif missing is not None:
                explicit = False
            return Denial(
                error_code=error_code,
                action=groups.get("action"),
                resource=_clean_resource(groups.get("resource")),
                policy_type=policy_type or errors.code_policy_types.get(error_code),
                explicit_deny=explicit,
            )
    return Denial(error_code, None, None, errors.code_policy_types.get(error_code), None)


def authorization(error_code: str | None, message: str | None) -> Authorization:
    """Classify one call's error (None: it succeeded)."""
    if not error_code:
        return AUTHORIZED
    errors = rules().errors
    if error_code in errors.authorized_codes:
        return AUTHORIZED
    if error_code in errors.access_denied or (
        message is not None and errors.denied_message_marker in message
    ):
        return Authorization(False, parse_denial(error_code, message))
    if error_code in errors.not_evaluated:
        return Authorization(
            None,
            note=f"authentication failed ({error_code}): no permission was evaluated",
        )
    return AUTHORIZED
