"""The wheel a user installs holds everything: code under trailwise.*, queries, mapping data."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from tests.given import REPO


def test_the_built_wheel_carries_only_trailwise_packages_with_their_data(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(REPO),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("trailwise-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_levels = {n.split("/")[0] for n in names if not n.startswith("trailwise-")}
    assert top_levels == {"trailwise"}
    assert "trailwise/queries/lake_summary.sql" in names
    assert "trailwise/queries/used_actions.sql" in names
    assert "trailwise/pipeline/mapping/engine.py" in names
    assert "trailwise/pipeline/mapping/operations.json" in names
    assert "trailwise/pipeline/iam/expand.py" in names
    assert "trailwise/cli/main.py" in names
    assert not any(n.startswith(("trailwise/__init__", "cli/", "pipeline/")) for n in names)
    # Every module, SQL file and data file of the library's tree, whichever package holds it.
    library = {
        f"trailwise/pipeline/{path.relative_to(REPO / 'pipeline').as_posix()}"
        for path in (REPO / "pipeline").rglob("*")
        if path.suffix in {".py", ".sql", ".json"} and "__pycache__" not in path.parts
    }
    assert library - set(names) == set()
