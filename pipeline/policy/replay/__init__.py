"""``policy replay``: every call a principal made, evaluated against proposed identity policies.

Before anyone applies a policy, replay answers "what will this break?": each authorized call of
the window is judged with IAM's evaluation logic (:mod:`.evaluate`) over the request context
the lake holds for it (:mod:`.context`); a condition on a key the lake does not hold, or a
resource the event does not name, makes the call *unknown*, never a guess.

Example::

    documents = load_policies([Path("app-role-least-privilege.json")])
    result = replay(Lake("lake"), "arn:aws:iam::111122223333:role/app-role", documents)
    print(result.line())  # replayed 211 calls in the window: 0 refused, 3 unknown
"""

from __future__ import annotations

from trailwise.pipeline.policy.replay.calls import replay
from trailwise.pipeline.policy.replay.inputs import load_policies, numbered
from trailwise.pipeline.policy.replay.model import Refusal, Replay, Unjudged
from trailwise.pipeline.policy.replay.text import render_text

__all__ = [
    "Refusal",
    "Replay",
    "Unjudged",
    "load_policies",
    "numbered",
    "render_text",
    "replay",
]
