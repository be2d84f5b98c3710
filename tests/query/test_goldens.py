"""The named queries answer on sample_logs/ exactly as the reviewed goldens say."""

from __future__ import annotations

import json

import pytest

from tests.goldens import CASES, answers, path_of

# One worker runs the module: its module fixture (a lake, and what is asked of it) is built once,
# not once on each xdist worker.
pytestmark = [pytest.mark.xdist_group("goldens")]


@pytest.fixture(scope="module")
def current(sample_lake):
    return answers(sample_lake)


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_query_answers_as_its_golden(current, case):
    expected = json.loads(path_of(case).read_text())
    assert current[case] == expected, "if the change is intended: make goldens, review the diff"


def test_every_shipped_query_has_a_golden_answer():
    from trailwise.pipeline.query import named_queries

    assert set(named_queries()) <= {query for query, _ in CASES.values()}
