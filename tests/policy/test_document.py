"""Policy documents: validation against the catalogue and the size split."""

from __future__ import annotations

from trailwise.pipeline.policy.document import size, split, validate


def a_policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_a_wildcard_may_stand_for_the_resource_type_word_of_an_arn():
    tag_anything = {
        "Effect": "Allow",
        "Action": "ec2:CreateTags",
        "Resource": "arn:aws:ec2:*:444455556666:*/*",
    }
    assert validate(a_policy(tag_anything)) == []


def test_a_wildcard_arn_of_another_service_still_fits_no_resource_type():
    wrong_service = {"Effect": "Allow", "Action": "ec2:CreateTags", "Resource": "arn:aws:s3:::*/*"}
    assert any("matches no resource type" in p for p in validate(a_policy(wrong_service)))


def test_statements_without_sids_are_split_within_the_limit_counting_their_final_sids():
    objects = [f"arn:aws:s3:::acme-bucket/reports/{n:04d}/*" for n in range(400)]
    statements = [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": objects},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": objects},
    ]
    documents = split(statements, 6144)
    assert len(documents) > 2
    assert all(size(d) <= 6144 for d in documents)
    sids = [s["Sid"] for d in documents for s in d["Statement"]]
    assert len(sids) == len(set(sids))
    granted = {(s["Action"], r) for d in documents for s in d["Statement"] for r in s["Resource"]}
    assert len(granted) == 800
