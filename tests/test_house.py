"""The repository keeps its shape: a clone runs alone, the library's packages follow the data's
path without import circles, SQL lives in .sql files with headers, and no module grows past a
size a newcomer can read."""

from __future__ import annotations

import ast
import re
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

from tests.given import REPO
from trailwise.pipeline import sqlfile

LIBRARY = REPO / "pipeline"
MAX_MODULE_LINES = 800
# A Python string holding SQL this long belongs in a .sql file.
MAX_INLINE_SQL_LINES = 2
MAX_INLINE_SQL_CHARS = 160
_SQL = re.compile(r"\bselect\b.+\bfrom\b", re.IGNORECASE | re.DOTALL)


def library_modules() -> dict[str, Path]:
    """trailwise.pipeline.* module name -> file, packages named by their __init__.py."""
    out = {}
    for path in sorted(LIBRARY.rglob("*.py")):
        parts = path.relative_to(LIBRARY).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(("trailwise.pipeline", *parts))] = path
    return out


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """The library modules a file imports, at module level or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # ``from package import submodule`` imports the submodule; other names come from
            # the package (its __init__).
            names = [
                f"{node.module}.{alias.name}"
                if f"{node.module}.{alias.name}" in modules
                else node.module
                for alias in node.names
            ]
        else:
            continue
        found.update(name for name in names if name in modules)
    return found


def stage(module: str) -> str:
    """The first part below trailwise.pipeline: a package (``lake``) or a top module (``api``)."""
    parts = module.split(".")
    return parts[2] if len(parts) > 2 else "(package)"


def test_no_file_of_the_repository_reads_the_shared_folder_beside_a_checkout():
    beside = "/".join(("..", "shared"))
    places = [REPO / "Makefile", REPO / ".ci" / "run", *REPO.glob("tests/**/*.py")]
    places += [*REPO.glob("bench/*.py"), *REPO.glob("pipeline/**/*.py")]
    readers = [str(p.relative_to(REPO)) for p in places if beside in p.read_text("utf-8")]
    assert readers == []


def test_the_library_imports_no_module_in_a_circle():
    modules = library_modules()
    graph = {name: imports_of(path, modules) - {name} for name, path in modules.items()}
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        pytest.fail(f"import circle: {' -> '.join(exc.args[1])}")


def test_the_library_packages_depend_on_each_other_in_one_direction():
    modules = library_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        graph.setdefault(stage(name), set()).update(
            stage(imported) for imported in imports_of(path, modules)
        )
    for node, edges in graph.items():
        edges.discard(node)
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        pytest.fail(f"packages import each other: {' -> '.join(exc.args[1])}")
    # Upstream first. The mapping is knowledge without I/O; the lake calls it to keep
    # event_actions in step with events, so it sits below the lake.
    path = [
        "sources",
        "decode",
        "mapping",
        "lake",
        "ingest",
        "iam",
        "query",
        "spark",
        "policy",
        "report",
    ]
    upstream_reads_downstream = {
        (package, later)
        for i, package in enumerate(path)
        for later in path[i + 1 :]
        if later in graph[package]
    }
    assert upstream_reads_downstream == set()


def test_no_library_module_is_longer_than_a_newcomer_reads_in_one_go():
    long = {
        str(path.relative_to(REPO)): n
        for path in LIBRARY.rglob("*.py")
        if (n := len(path.read_text("utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_no_sql_longer_than_a_line_or_two_lives_in_a_python_string():
    found = []
    for path in [*LIBRARY.rglob("*.py"), *REPO.glob("cli/*.py")]:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            text = node.value.strip()
            lines = len(text.splitlines())
            if _SQL.search(text) and (
                lines > MAX_INLINE_SQL_LINES or len(text) > MAX_INLINE_SQL_CHARS
            ):
                found.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert found == []


def library_sql_files() -> list[Path]:
    return sorted(LIBRARY.rglob("sql/*.sql"))


@pytest.mark.parametrize("path", library_sql_files(), ids=lambda p: str(p.relative_to(LIBRARY)))
def test_every_sql_file_of_the_library_has_a_header_that_matches_its_placeholders(path):
    package = ".".join(("trailwise.pipeline", *path.parent.parent.relative_to(LIBRARY).parts))
    query = sqlfile.load(package, path.stem)
    assert query.description and query.columns


@pytest.mark.parametrize("path", library_sql_files(), ids=lambda p: str(p.relative_to(LIBRARY)))
def test_every_sql_file_of_the_library_is_run_by_its_package(path):
    package_dir = path.parent.parent
    code = "\n".join(p.read_text("utf-8") for p in package_dir.glob("*.py"))
    assert f'"{path.stem}"' in code


def test_the_readme_architecture_names_every_package_and_only_files_that_exist():
    readme = (REPO / "README.md").read_text("utf-8")
    section = readme.split("## Architecture\n", 1)[1].split("\n## ", 1)[0]
    rows = {
        m.group(1): m.group(2)
        for m in re.finditer(r"^\| `(\w+)/` \| (.+) \|$", section, re.MULTILINE)
    }
    packages = {p.parent.name for p in LIBRARY.glob("*/__init__.py")}
    assert set(rows) == packages
    missing = [
        f"{package}/{name}"
        for package, text in rows.items()
        for name in re.findall(r"`([\w/]+(?:\.py|/))`", text)
        if not (LIBRARY / package / name).exists()
    ]
    assert missing == []
