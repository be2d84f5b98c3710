"""iam_role_trusts: the Federated principals each role's trust policy lets in."""

from __future__ import annotations

from trailwise.pipeline.iam.trusts import federated_principals

OKTA = "arn:aws:iam::111122223333:saml-provider/okta"
GITHUB = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"


def test_a_federated_principal_is_read_as_one_value_or_a_list_from_one_statement_or_many():
    one = {"Statement": {"Effect": "Allow", "Principal": {"Federated": OKTA}}}
    many = {
        "Statement": [
            {"Effect": "Allow", "Principal": {"Federated": [GITHUB, OKTA]}},
            {"Effect": "Allow", "Principal": {"Federated": OKTA}},
        ]
    }
    assert federated_principals(one) == [OKTA]
    assert federated_principals(many) == [GITHUB, OKTA]


def test_a_deny_a_not_principal_and_other_principals_let_no_provider_in():
    policy = {
        "Statement": [
            {"Effect": "Deny", "Principal": {"Federated": OKTA}},
            {"Effect": "Allow", "NotPrincipal": {"Federated": GITHUB}},
            {"Effect": "Allow", "Principal": "*"},
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com", "AWS": "*"}},
        ]
    }
    assert federated_principals(policy) == []
    assert federated_principals(None) == []
    assert federated_principals({"Statement": "not a statement"}) == []
