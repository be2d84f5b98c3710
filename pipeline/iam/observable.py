"""Which IAM actions CloudTrail can show at all, for telling "unused" from "unknown".

An action is observable when some API operation CloudTrail logs maps to it (the mapping's sweep
over botocore's operations) or the mapping infers it from a logged call (``iam:PassRole``,
``ec2:CreateTags``, ...). Data-event actions (``data_events.json``) are observable only where the
lake holds data events. The table is computed once per mapping version and cached in the lake.
"""

from __future__ import annotations

import contextlib
from functools import lru_cache
from importlib import resources

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from trailwise.pipeline.errors import LakeError
from trailwise.pipeline.lake import Lake
from trailwise.pipeline.mapping import mapping_version

SCHEMA = pa.schema([("action", pa.string()), ("is_data_event", pa.bool_())])


def data_event_actions() -> frozenset[str]:
    """Catalogue actions logged only as data events."""
    from trailwise.pipeline.iam.expand import matching_actions

    doc = orjson.loads(
        resources.files("trailwise.pipeline.iam").joinpath("data_events.json").read_bytes()
    )
    return frozenset(a for pattern in doc["actions"] for a in matching_actions(pattern))


@lru_cache(maxsize=1)
def compute() -> pa.Table:
    """Sweep every botocore operation through the mapping (a few seconds; once per process)."""
    from trailwise.pipeline.mapping import map_event
    from trailwise.pipeline.mapping.derive import botocore_models
    from trailwise.pipeline.mapping.rules import rules

    found: set[str] = set()
    services = rules().botocore_services
    for service, model in botocore_models().items():
        source = services.get(service, (None, None))[0]
        if not source:
            continue
        for operation in model["operations"]:
            mapped = map_event(
                {
                    "event_source": source,
                    "event_name": operation,
                    "event_type": "AwsApiCall",
                    "aws_region": "us-east-1",
                    "recipient_account_id": "111122223333",
                    "user_identity_type": "AssumedRole",
                }
            )
            found.update(use.action for use in mapped.actions)
    for rule in rules().parameter_rules:
        found.update(a for a in (rule.add, rule.replace) if a)
    data = data_event_actions()
    actions = sorted(found)
    return pa.table(
        {"action": actions, "is_data_event": [a in data for a in actions]}, schema=SCHEMA
    )


def table(lake: Lake) -> pa.Table:
    """The observable actions for the current mapping, from the lake's cache or computed (and
    cached when the lake is writable)."""
    key = f"iam/observable-{mapping_version()}.parquet"
    with contextlib.suppress(OSError, LakeError):
        cached = lake.store.read(key)
        if cached is not None:
            return pq.read_table(pa.BufferReader(cached))
    result = compute()
    # A read-only lake still answers, just more slowly.
    with contextlib.suppress(OSError, LakeError):
        sink = pa.BufferOutputStream()
        pq.write_table(result, sink)
        lake.store.write(key, sink.getvalue().to_pybytes())
    return result
