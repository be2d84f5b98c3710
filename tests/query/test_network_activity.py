"""Network activity events (VPC endpoint owners' records): a request the endpoint policy refused
is an authorization failure of the VPC endpoint policy, never a use and never granted."""

from __future__ import annotations

from tests.given import REALDATA, an_event, given_delivery_file
from trailwise.pipeline import api

AWSDOCS = REALDATA / "awsdocs-cloudtrail-2025"
ROLE = "arn:aws:iam::111122223333:role/service/app-role"


def test_the_documented_vpce_denial_is_an_authorization_failure_of_the_endpoint_policy(
    tmp_path,
):
    lake = tmp_path / "lake"
    api.ingest([str(AWSDOCS)], lake)
    [failure] = api.run_named("authorization_failure_events", lake).to_pylist()
    assert (failure["event_name"], failure["error_code"]) == ("ListKeys", "VpceAccessDenied")
    assert failure["policy_type"] == "VPC endpoint policy"
    categories = api.run_sql(
        "select event_category, classification, count(*) as n from events "
        "join event_actions using (event_id, recipient_account_id) group by all order by all",
        lake,
    ).to_pylist()
    assert categories == [
        {"event_category": "NetworkActivity", "classification": "iam_action", "n": 1},
        {"event_category": "NetworkActivity", "classification": "not_iam", "n": 1},
    ]
    used = api.run_named("used_actions", lake).to_pylist()
    assert used == []


def test_a_call_the_endpoint_policy_refused_is_never_granted_by_a_suggestion(tmp_path):
    vpce = {
        "eventType": "AwsVpceEvent",
        "eventCategory": "NetworkActivity",
        "vpcEndpointId": "vpce-0123456789abcdef0",
        "vpcEndpointAccountId": "111122223333",
    }
    given_delivery_file(
        tmp_path / "logs",
        [
            an_event(eventSource="s3.amazonaws.com", eventName="ListBuckets"),
            an_event(
                eventSource="s3.amazonaws.com",
                eventName="GetObject",
                errorCode="VpceAccessDenied",
                errorMessage="The request was denied due to a VPC endpoint policy",
                requestParameters={"bucketName": "reports", "key": "q3.csv"},
                **vpce,
            ),
            an_event(eventSource="s3.amazonaws.com", eventName="ListBuckets", **vpce),
        ],
    )
    lake = tmp_path / "lake"
    api.ingest([str(tmp_path / "logs")], lake)
    suggestion = api.policy_suggest(ROLE, lake, include_denied=True)
    [document] = suggestion.documents
    assert [s["Action"] for s in document["Statement"]] == ["s3:ListAllMyBuckets"]
    assert any(
        "s3:GetObject" in note and "denied by the VPC endpoint policy" in note
        for note in suggestion.notes
    )
