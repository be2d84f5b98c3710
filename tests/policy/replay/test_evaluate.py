"""The identity-policy evaluator: AWS's documented cases, then the interface and properties."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trailwise.pipeline.errors import PolicyError
from trailwise.pipeline.policy.replay.evaluate import (
    BASE_OPERATORS,
    Decision,
    Outcome,
    PolicySet,
    RequestContext,
    Unnamed,
)

CASES_FILE = Path(__file__).with_name("evaluation_cases.json")
CASES: list[dict[str, Any]] = json.loads(CASES_FILE.read_text())["cases"]
BUCKET = "arn:aws:s3:::amzn-s3-demo-bucket"


def given_policies(policies: dict[str, Any]) -> PolicySet:
    return PolicySet.compile(list(policies.items()))


def given_context(policies: PolicySet, context: dict[str, list[str] | None]) -> RequestContext:
    """The table's convention: a key not given is known absent, a key given as null unknown."""
    values: dict[str, tuple[str, ...]] = dict.fromkeys(policies.condition_keys(), ())
    for key, listed in context.items():
        values.pop(key.lower(), None)
        if listed is not None:
            values[key.lower()] = tuple(listed)
    return RequestContext(values)


def a_policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def decide(policies: PolicySet, action: str, resource: str | None, **context: Any) -> Decision:
    return policies.evaluate(action, resource, RequestContext(context))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_documented_case(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(PolicyError) as raised:
            given_policies(case["policies"])
        for fragment in case["error"]:
            assert fragment in str(raised.value)
        return
    policies = given_policies(case["policies"])
    decision = policies.evaluate(
        case["action"], case["resource"], given_context(policies, case["context"])
    )
    expect = case["expect"]
    assert decision.outcome == Outcome(expect["outcome"])
    for field in ("statements", "unknown", "misses"):
        if field in expect:
            assert list(getattr(decision, field)) == expect[field], field


def test_every_case_cites_an_aws_documentation_page() -> None:
    assert all(c["doc"].startswith("https://docs.aws.amazon.com/") for c in CASES)
    assert len({c["name"] for c in CASES}) == len(CASES)


def operators_of(case: dict[str, Any]) -> set[str]:
    statements = [
        statement
        for document in case["policies"].values()
        for statement in (
            document["Statement"]
            if isinstance(document["Statement"], list)
            else [document["Statement"]]
        )
    ]
    return {operator for s in statements for operator in s.get("Condition", {})}


def test_the_cases_use_every_operator_with_ifexists_and_both_set_operators() -> None:
    used = set().union(*(operators_of(c) for c in CASES if "expect" in c))
    bases = {o.split(":")[-1].removesuffix("IfExists") for o in used}
    assert bases >= BASE_OPERATORS
    assert any(o.endswith("IfExists") for o in used)
    assert {o.split(":")[0] for o in used if ":" in o} == {"ForAllValues", "ForAnyValue"}


def test_the_request_context_looks_keys_up_in_any_case() -> None:
    context = RequestContext({"AWS:SourceIp": ("192.0.2.1",), "aws:username": ()})
    assert context.get("aws:sourceip") == ("192.0.2.1",)
    assert context.get("AWS:USERNAME") == ()
    assert context.get("aws:PrincipalTag/team") is None


def test_any_context_is_asked_with_lower_cased_key_names() -> None:
    asked: list[str] = []

    class Recording:
        def get(self, key: str) -> tuple[str, ...] | None:
            asked.append(key)
            return ("Data",) if key == "aws:principaltag/team" else None

    statement = {
        "Effect": "Allow",
        "Action": "s3:*",
        "Resource": f"{BUCKET}/${{aws:PrincipalTag/Team}}/*",
        "Condition": {"StringEqualsIgnoreCase": {"AWS:PrincipalTag/TEAM": "data"}},
    }
    policies = PolicySet.compile([("p", a_policy(statement))])
    assert policies.evaluate("s3:GetObject", f"{BUCKET}/Data/k", Recording()).outcome is (
        Outcome.ALLOWED
    )
    assert set(asked) == {"aws:principaltag/team"}


def test_condition_keys_name_every_key_and_variable_lower_cased() -> None:
    policies = PolicySet.compile(
        [
            (
                "p",
                a_policy(
                    {
                        "Effect": "Allow",
                        "Action": "s3:*",
                        "Resource": f"{BUCKET}/${{aws:username}}/*",
                        "Condition": {
                            "StringLike": {"s3:prefix": "${aws:PrincipalTag/Team}/*"},
                            "IpAddress": {"aws:SourceIp": "192.0.2.0/24"},
                        },
                    }
                ),
            )
        ]
    )
    assert policies.condition_keys() == {
        "aws:username",
        "aws:principaltag/team",
        "s3:prefix",
        "aws:sourceip",
    }


def test_variables_of_a_2008_policy_are_not_condition_keys() -> None:
    legacy = {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "${aws:username}"}]}
    assert PolicySet.compile([("old", legacy)]).condition_keys() == frozenset()


def test_a_statement_without_sid_is_labelled_by_its_position() -> None:
    policies = PolicySet.compile(
        [
            ("p", a_policy({"Effect": "Deny", "Action": "ec2:*", "Resource": "*"})),
            ("q", a_policy({"Sid": "X", "Effect": "Allow", "Action": "s3:*", "Resource": "*"})),
        ]
    )
    assert decide(policies, "s3:GetObject", f"{BUCKET}/k").statements == ("q:X",)
    assert decide(policies, "ec2:RunInstances", "*").statements == ("p:statement 1",)


def test_a_single_statement_object_is_accepted() -> None:
    policies = PolicySet.compile(
        [
            (
                "p",
                {
                    "Version": "2012-10-17",
                    "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"},
                },
            )
        ]
    )
    assert decide(policies, "s3:GetObject", "*").outcome is Outcome.ALLOWED


def test_unknown_reasons_are_sorted_and_unique() -> None:
    policies = PolicySet.compile(
        [
            (
                "p",
                a_policy(
                    {
                        "Effect": "Allow",
                        "Action": "*",
                        "Resource": "*",
                        "Condition": {"StringEquals": {"b:key": "x", "a:key": "y"}},
                    },
                    {
                        "Effect": "Allow",
                        "Action": "*",
                        "Resource": "*",
                        "Condition": {"StringEquals": {"a:key": "z"}},
                    },
                ),
            )
        ]
    )
    assert decide(policies, "s3:GetObject", "*").unknown == (
        "condition key a:key",
        "condition key b:key",
    )


def test_a_policy_that_is_not_an_object_names_the_policy() -> None:
    with pytest.raises(PolicyError, match="policy 'broken'"):
        PolicySet.compile([("broken", ["not", "a", "document"])])  # type: ignore[list-item]


def test_many_distinct_requests_reuse_the_compiled_patterns() -> None:
    policies = PolicySet.compile(
        [
            (
                "p",
                a_policy(
                    {
                        "Effect": "Allow",
                        "Action": "s3:GetObject",
                        "Resource": f"{BUCKET}/home/${{aws:username}}/*",
                    }
                ),
            )
        ]
    )
    outcomes = {
        decide(
            policies, "s3:GetObject", f"{BUCKET}/home/u{n}/k", **{"aws:username": (f"u{n}",)}
        ).outcome
        for n in range(3000)
    }
    assert outcomes == {Outcome.ALLOWED}


ACTIONS = st.from_regex(r"[a-z0-9]{2,12}:[A-Za-z]{1,20}", fullmatch=True)
RESOURCES = st.one_of(
    st.none(), st.just("*"), st.from_regex(r"arn:aws:s3:::[a-z0-9./-]{1,30}", fullmatch=True)
)
CONTEXTS = st.dictionaries(
    st.sampled_from(["aws:username", "aws:SourceIp", "aws:TagKeys", "aws:RequestedRegion"]),
    st.lists(st.text(max_size=8), max_size=3).map(tuple),
)
ALLOW_EVERYTHING = {"Effect": "Allow", "Action": "*", "Resource": "*"}


@given(action=ACTIONS, resource=RESOURCES, context=CONTEXTS)
def test_an_allow_of_everything_allows_every_request(
    action: str, resource: str | None, context: dict[str, tuple[str, ...]]
) -> None:
    policies = PolicySet.compile([("p", a_policy(ALLOW_EVERYTHING))])
    assert policies.evaluate(action, resource, RequestContext(context)).outcome is Outcome.ALLOWED


@given(action=ACTIONS, resource=RESOURCES, context=CONTEXTS)
def test_adding_a_deny_of_everything_always_denies_explicitly(
    action: str, resource: str | None, context: dict[str, tuple[str, ...]]
) -> None:
    deny = {"Sid": "Stop", "Effect": "Deny", "Action": "*", "Resource": "*"}
    policies = PolicySet.compile([("p", a_policy(ALLOW_EVERYTHING)), ("guard", a_policy(deny))])
    decision = policies.evaluate(action, resource, RequestContext(context))
    assert decision == Decision(Outcome.EXPLICIT_DENY, statements=("guard:Stop",))


@given(action=ACTIONS, context=CONTEXTS)
def test_no_policy_at_all_denies_implicitly(
    action: str, context: dict[str, tuple[str, ...]]
) -> None:
    decision = PolicySet.compile([]).evaluate(action, "*", RequestContext(context))
    assert decision == Decision(Outcome.IMPLICIT_DENY)


@given(text=st.text(alphabet="ab*?:/", max_size=12), value=st.text(alphabet="ab*?:/", max_size=12))
def test_stringnotlike_is_the_negation_of_stringlike_on_a_present_key(
    text: str, value: str
) -> None:
    def outcome(operator: str) -> Outcome:
        statement = {**ALLOW_EVERYTHING, "Condition": {operator: {"s3:prefix": text}}}
        policies = PolicySet.compile([("p", a_policy(statement))])
        return decide(policies, "s3:ListBucket", "*", **{"s3:prefix": (value,)}).outcome

    assert (outcome("StringLike") is Outcome.ALLOWED) != (
        outcome("StringNotLike") is Outcome.ALLOWED
    )


INSTANCE = Unnamed("instance", ("arn:aws:ec2:eu-west-1:111122223333:instance/",))


@pytest.mark.parametrize(
    ("resource", "outcome"),
    [
        ("*", Outcome.ALLOWED),
        ("arn:aws:ec2:eu-west-1:111122223333:instance/*", Outcome.ALLOWED),
        ("arn:aws:ec2:*:111122223333:instance/*", Outcome.ALLOWED),
        ("arn:aws:ec2:eu-west-1:111122223333:instance/?*", Outcome.ALLOWED),
        ("arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc*", Outcome.UNKNOWN),
        ("arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc", Outcome.UNKNOWN),
        ("arn:aws:ec2:eu-west-1:111122223333:volume/*", Outcome.IMPLICIT_DENY),
        ("arn:aws:ec2:us-east-1:111122223333:instance/*", Outcome.IMPLICIT_DENY),
        ("arn:aws:ec2:eu-west-1:444455556666:instance/*", Outcome.IMPLICIT_DENY),
    ],
)
def test_a_resource_the_event_does_not_name_is_allowed_only_by_a_pattern_covering_its_type(
    resource: str, outcome: Outcome
) -> None:
    policies = PolicySet.compile(
        [
            (
                "p",
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": resource}
                    ],
                },
            )
        ]
    )

    decision = policies.evaluate("ec2:RunInstances", INSTANCE, RequestContext({}))

    assert decision.outcome is outcome
    if outcome is Outcome.UNKNOWN:
        assert decision.unknown == ("resource of type instance (the event names none)",)


def test_a_deny_on_some_instances_leaves_an_unnamed_instance_unknown() -> None:
    policies = PolicySet.compile(
        [
            (
                "p",
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
                        {
                            "Effect": "Deny",
                            "Action": "ec2:RunInstances",
                            "Resource": "arn:aws:ec2:*:*:instance/i-0prod*",
                        },
                    ],
                },
            )
        ]
    )

    decision = policies.evaluate("ec2:RunInstances", INSTANCE, RequestContext({}))

    assert decision.outcome is Outcome.UNKNOWN
