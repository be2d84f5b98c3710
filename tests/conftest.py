"""Fixtures: the CLI runner and a lake directory per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.given import Cli


@pytest.fixture
def cli() -> Cli:
    return Cli()


@pytest.fixture
def lake_dir(tmp_path: Path) -> Path:
    return tmp_path / "lake"
