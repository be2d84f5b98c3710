"""The mapping against everything there is to check it on: the sample bucket, the real events
of tests/fixtures/realdata, every operation botocore knows, iam-dataset's 2023 map, and its own
data.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from importlib.resources import files
from typing import Any

import pytest

from tests.given import REALDATA, SAMPLE_LOGS
from trailwise.pipeline.decode import decode_bytes
from trailwise.pipeline.lake.actions import WatchedRow
from trailwise.pipeline.mapping import MAPPING_INPUTS, catalogue, catalogue_actions, map_event
from trailwise.pipeline.mapping.derive import (
    _by_service,
    _dataset_actions,
    _iam_dataset,
    _sdk_index,
    botocore_models,
    dumps,
)
from trailwise.pipeline.mapping.engine import find_rule, normalise_name, plan, prefix_of
from trailwise.pipeline.mapping.rules import DATA_FILES, PACKAGE, load, rules

ACCOUNT = "111122223333"

# Distinct (eventSource, eventName) pairs of the corpora that are no API operation at all: test
# fixtures written to exercise detection rules (panther-analysis' negative cases, mostly). The
# coverage test leaves them out, checks that each really is absent from botocore's models and
# from the catalogue, and that the mapping calls them unknown rather than inventing an action.
NOT_AN_OPERATION: dict[tuple[str, str], str] = {
    (
        "cloudtrail.amazonaws.com",
        "DeleteRule",
    ): "panther fixture: an events rule name on CloudTrail",
    ("cloudtrail.amazonaws.com", "DescribeTrail"): "panther fixture: CloudTrail has DescribeTrails",
    ("cloudtrail.amazonaws.com", "EnableRegion"): "panther fixture: EnableRegion is account:",
    ("ec2.amazonaws.com", "DeleteBucketEncryption"): "panther fixture: an S3 call on EC2",
    ("ec2.amazonaws.com", "DeleteBucketPublicAccessBlock"): "panther fixture: an S3 call on EC2",
    ("ec2.amazonaws.com", "DeleteBucketReplication"): "panther fixture: an S3 call on EC2",
    ("ec2.amazonaws.com", "PutBucketLogging"): "panther fixture: an S3 call on EC2",
    ("ec2.amazonaws.com", "PutBucketVersioning"): "panther fixture: an S3 call on EC2",
    ("iam.amazonaws.com", "DescribePolicy"): "panther fixture: IAM has GetPolicy",
    ("iam.amazonaws.com", "DetachUserGroup"): "panther fixture: IAM has RemoveUserFromGroup",
    ("iam.amazonaws.com", "NotCreateUser"): "panther fixture: a negative test name",
    ("iam.amazonaws.com", "PutPolicy"): "panther fixture: IAM has PutUserPolicy etc.",
    (
        "macie.amazonaws.com",
        "UpdateMacieSession",
    ): "panther fixture: Macie Classic (retired) source",
    ("s3.amazonaws.com", "CreateServiceLinkedRole"): "panther fixture: an IAM call on S3",
    ("s3.amazonaws.com", "SetQueueAttributes"): "panther fixture: an SQS call on S3",
}

# Where we disagree with iam-dataset's 2023 map (over operations both know, their actions
# present in today's catalogue) and why we are right.
ORACLE_DISAGREEMENTS: dict[tuple[str, str], str] = {
    **{
        ("glue", op): "the catalogue now has a dedicated glue action named after the operation"
        for op in (
            "BatchUpdatePartition",
            "CreatePartitionIndex",
            "DeleteColumnStatisticsForPartition",
            "DeleteColumnStatisticsForTable",
            "DeletePartitionIndex",
            "GetColumnStatisticsForPartition",
            "GetColumnStatisticsForTable",
            "GetPartitionIndexes",
        )
    },
    **{
        ("lexv2-models", op): "iam-dataset gives the Lex V1 action; Lex V2 calls are authorized "
        "by the V2 actions of the same name, which the catalogue has"
        for op in (
            "CreateBot",
            "CreateBotAlias",
            "CreateIntent",
            "CreateResourcePolicyStatement",
            "CreateSlotType",
            "DeleteResourcePolicyStatement",
            "DescribeIntent",
            "DescribeSlotType",
            "ListBotVersions",
            "ListBots",
            "ListBuiltInIntents",
            "ListBuiltInSlotTypes",
            "ListIntents",
            "ListSlotTypes",
            "UpdateBot",
            "UpdateBotAlias",
            "UpdateIntent",
            "UpdateSlotType",
        )
    },
    **{
        ("s3control", op): "iam-dataset gives only the S3 on Outposts action; for the buckets and "
        "access points of S3 itself (what CloudTrail logs under s3.amazonaws.com) the s3: action "
        "applies"
        for op in (
            "CreateAccessPoint",
            "CreateBucket",
            "DeleteAccessPoint",
            "DeleteAccessPointPolicy",
            "DeleteBucket",
            "DeleteBucketPolicy",
            "GetAccessPoint",
            "GetAccessPointPolicy",
            "GetBucketPolicy",
            "GetBucketTagging",
            "ListAccessPoints",
            "PutAccessPointPolicy",
            "PutBucketPolicy",
            "PutBucketTagging",
        )
    },
    ("apigatewayv2", "TagResource"): "same eventName as API Gateway v1's TagResource (PUT); "
    "a bare event cannot tell the two apart, so the v1 verb is reported",
    ("keyspaces", "UpdateTable"): "ALTER TABLE is cassandra:Alter; Modify is for data writes",
    ("mediapackage", "ConfigureLogs"): "the catalogue now has mediapackage:ConfigureLogs",
    ("s3", "UploadPartCopy"): "MAPPING.md: the copy also reads the source (s3:GetObject)",
    ("sts", "AssumeRoleWithSAML"): "not_iam: authorized by the role's trust policy",
    ("sts", "AssumeRoleWithWebIdentity"): "not_iam: authorized by the role's trust policy",
    ("sts", "GetCallerIdentity"): "permissionless: an explicit deny does not block it",
    ("sts", "GetSessionToken"): "permissionless: policies cannot control it",
}


def corpus_files() -> Iterator[Any]:
    for root in (SAMPLE_LOGS / "AWSLogs", SAMPLE_LOGS / "org-trail", REALDATA):
        yield from sorted(p for p in root.rglob("*") if p.is_file())


@cache
def corpus_rows() -> tuple[dict[str, Any], ...]:
    rows: list[dict[str, Any]] = []
    for path in corpus_files():
        decoded = decode_bytes(path.read_bytes(), path.as_posix(), path.as_posix())
        if decoded.kind == "events" and decoded.events:
            rows.extend(decoded.table().to_pylist())
    return tuple(rows)


@cache
def models() -> dict[str, dict[str, Any]]:
    return botocore_models()


@cache
def dataset_by_service() -> dict[str, dict[str, Any]]:
    return _by_service(_iam_dataset(), _sdk_index(models()))


def bare_event(source: str, name: str) -> dict[str, Any]:
    return {
        "event_source": source,
        "event_name": name,
        "event_type": "AwsApiCall",
        "aws_region": "us-east-1",
        "recipient_account_id": ACCOUNT,
        "user_identity_type": "AssumedRole",
    }


def test_the_corpora_hold_enough_events_to_mean_something() -> None:
    rows = corpus_rows()
    assert len(rows) > 1000
    assert len({(r["event_source"], r["event_name"]) for r in rows}) > 300


def test_no_event_of_the_corpora_yields_an_action_outside_the_catalogue() -> None:
    valid = catalogue_actions()
    invented = {
        (row["event_source"], row["event_name"], use.action)
        for row in corpus_rows()
        for use in map_event(row).actions
        if use.action not in valid
    }
    assert not invented


class OnlyMappingInputs(dict[str, Any]):
    """A lake row that refuses to give any field outside MAPPING_INPUTS."""

    def __getitem__(self, key: str) -> Any:
        assert key in MAPPING_INPUTS, f"map_event read {key}, not in MAPPING_INPUTS"
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        assert key in MAPPING_INPUTS, f"map_event read {key}, not in MAPPING_INPUTS"
        return super().get(key, default)


def test_the_mapping_reads_nothing_but_its_declared_inputs() -> None:
    # lake.actions maps each distinct combination of MAPPING_INPUTS once; a field read beyond
    # them would silently give every event of the combination the first one's actions.
    for row in corpus_rows():
        watched = OnlyMappingInputs({k: v for k, v in row.items() if k in MAPPING_INPUTS})
        assert map_event(watched) == map_event(row)


def test_a_mapping_that_reads_no_json_object_holds_whatever_the_objects_say() -> None:
    # lake.actions maps such a call once for every event like it; check that on the corpora by
    # giving each such event the parameters and resources of other events.
    rows = corpus_rows()
    donors = [r for r in rows if r["request_parameters"] or r["resources"]][:50]
    checked = 0
    for row in rows:
        watched = WatchedRow({k: row[k] for k in MAPPING_INPUTS})
        mapped = map_event(watched)
        if watched.read_wide:
            continue
        checked += 1
        for donor in donors[:5]:
            other = {**row, "request_parameters": donor["request_parameters"]}
            other["resources"] = donor["resources"]
            assert map_event(other) == mapped, (row["event_source"], row["event_name"])
    assert checked > 100


def test_only_iam_actions_carry_actions_and_every_other_class_says_why() -> None:
    for row in corpus_rows():
        mapping = map_event(row)
        if mapping.classification != "iam_action":
            assert mapping.actions == ()
            assert mapping.reason, row
        if mapping.classification in ("not_iam", "service_event", "permissionless"):
            assert mapping.is_authorized is None


def test_at_least_99_percent_of_real_operations_in_the_corpora_are_classified() -> None:
    classes: dict[tuple[str, str], set[str]] = {}
    for row in corpus_rows():
        key = (str(row["event_source"]), str(row["event_name"]))
        classes.setdefault(key, set()).add(map_event(row).classification)
    unknown = sorted(k for k, v in classes.items() if v == {"unknown"})
    real_unknown = [k for k in unknown if k not in NOT_AN_OPERATION]
    real = len(classes) - len(NOT_AN_OPERATION)
    coverage = 1 - len(real_unknown) / real
    assert coverage >= 0.99, f"{coverage:.1%} classified; unknown: {real_unknown}"
    assert set(NOT_AN_OPERATION) <= set(unknown), "a listed fixture is no longer unknown"


def test_pairs_excused_from_coverage_are_not_operations_of_their_service() -> None:
    by_prefix: dict[str, set[str]] = {}
    for service, (_, prefix) in rules().botocore_services.items():
        if prefix:
            by_prefix.setdefault(prefix, set()).update(models()[service]["operations"])
    for source, name in NOT_AN_OPERATION:
        prefix = prefix_of(source)
        assert name not in by_prefix.get(prefix or "", set()), (source, name)
        assert catalogue.lookup(f"{prefix}:{name}") is None, (source, name)


def test_every_botocore_operation_maps_to_catalogue_actions_or_is_listed_with_a_reason() -> None:
    valid = catalogue_actions()
    services = rules().botocore_services
    unlisted: list[tuple[str, str, str | None]] = []
    for service, model in models().items():
        assert service in services, f"botocore service {service} missing: run derive.py"
        source, prefix = services[service]
        if prefix is None:
            assert rules().services_without_prefix.get(service), service
            continue
        assert prefix_of(source) == prefix, (service, source)
        for operation in model["operations"]:
            mapping = map_event(bare_event(source, operation))
            assert all(u.action in valid for u in mapping.actions), (service, operation)
            if mapping.classification != "unknown":
                continue
            rule = find_rule(source, prefix, normalise_name(source, operation))
            if rule is None or rule.kind not in ("unmappable", "procedure") or not rule.reason:
                unlisted.append((service, operation, mapping.reason))
    assert not unlisted


def test_iam_dataset_disagreements_are_fixed_or_explained() -> None:
    per_service = dataset_by_service()
    assert per_service, "iam-dataset's map.json is missing"
    services = rules().botocore_services
    unexplained: list[tuple[str, str, list[str], list[str]]] = []
    compared = 0
    for service, operations in sorted(per_service.items()):
        source, _ = services[service]
        for operation, variants in sorted(operations.items()):
            if operation not in models()[service]["operations"]:
                continue
            theirs = _dataset_actions(variants)
            if not theirs or not all(catalogue.canonical(a) for a in theirs):
                continue  # their mapping names an action the catalogue no longer has
            mapping = map_event(bare_event(source, operation))
            if plan(source, operation).procedure is not None and not mapping.actions:
                continue  # decided per event from its parameters (PartiQL, transactions)
            compared += 1
            ours = sorted({u.action for u in mapping.actions if u.action != "iam:PassRole"})
            lowered = {a.lower() for a in theirs}
            agree = mapping.classification == "iam_action" and all(
                a.lower() in lowered for a in ours
            )
            if not agree and (service, operation) not in ORACLE_DISAGREEMENTS:
                unexplained.append((service, operation, ours or [mapping.classification], theirs))
    assert compared > 10000
    assert not unexplained


def test_every_explained_disagreement_still_is_one() -> None:
    for service, operation in ORACLE_DISAGREEMENTS:
        source, _ = rules().botocore_services[service]
        variants = dataset_by_service()[service][operation]
        theirs = {a.lower() for a in _dataset_actions(variants)}
        mapping = map_event(bare_event(source, operation))
        ours = {u.action.lower() for u in mapping.actions if u.action != "iam:PassRole"}
        assert mapping.classification != "iam_action" or not ours <= theirs, (service, operation)


def test_every_action_named_in_the_data_files_is_spelled_as_in_the_catalogue() -> None:
    named: list[str] = []
    for name in ("operations.json", "derived.json"):
        for key, rule in load(name)["operations"].items():
            if key.startswith("_"):
                continue
            for spec in rule.get("actions", ()):
                named.append(spec if isinstance(spec, str) else spec["action"])
    for rule in load("parameter_rules.json")["rules"]:
        named.extend(filter(None, (rule.get("add"), rule.get("replace"))))
    assert len(named) > 150
    misspelt = [a for a in named if catalogue.canonical(a) != a]
    assert not misspelt


def test_every_rule_compiles_against_the_catalogue() -> None:
    for key in (*rules().operations, *rules().derived_operations):
        if key.split(":", 1)[0].endswith(".amazonaws.com"):
            source, name = key.rsplit(":", 1)
        else:
            prefix, name = key.split(":", 1)
            source = f"{prefix}.amazonaws.com"
        plan.__wrapped__(source, name)  # raises on an action the catalogue lacks
    for rule in rules().parameter_rules:
        for action in filter(None, (rule.add, rule.replace)):
            assert catalogue.canonical(action) == action, action


def test_every_event_source_maps_to_a_catalogue_prefix() -> None:
    for source, prefix in rules().event_sources.items():
        assert prefix in catalogue.prefixes(), (source, prefix)


@pytest.mark.parametrize("name", DATA_FILES)
def test_data_files_are_in_their_reviewable_sorted_form(name: str) -> None:
    text = (files(PACKAGE) / name).read_text()
    assert text == dumps(load(name)), "run: python -m trailwise.pipeline.mapping.derive --format"
