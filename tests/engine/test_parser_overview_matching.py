"""The Process view's column-wise matching selects exactly what ``runner.matching`` selects."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from casparian_engine.parser_overview import matched_paths
from casparian_engine.runner.matching import current_parsers, matching_jobs
from casparian_engine.workspace import Workspace
from tests.engine.registration_support import make_parser

FILES = (
    "invoices/2024/a.csv",
    "invoices/b.csv",
    "invoices/b.txt",
    "other/invoices/c.csv",
    "notes/readme.md",
    "deep/x/y/z.csv",
    "weird name [1].csv",
    "é/ünï.tsv",
)

PATTERN_SETS = (
    ["*.csv"],
    ["*.csv", "!b*"],
    ["invoices/"],
    ["/invoices/*.csv"],
    ["**/y/*.csv"],
    ["deep/**"],
    ["*.[ct]sv"],
    ["!*.csv", "*.csv"],
    ["*.csv", "!invoices/", "invoices/2024/a.csv"],
    ["weird name \\[1\\].csv", "é/*"],
    ["# a comment", "", "notes"],
)


@pytest.fixture
def inventory(workspace: Workspace, tmp_path: Path) -> Workspace:
    for source in ("one", "two"):
        for relative in FILES:
            path = tmp_path / source / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{source} {relative}\n")
        workspace.files.scan(tmp_path / source)
    workspace.parsers.register(make_parser(tmp_path / "parser"))
    return workspace


def reference(workspace: Workspace, parser: object) -> list[str]:
    return [job.input_path for job in matching_jobs(workspace.store, parser)]  # type: ignore[arg-type]


@pytest.mark.parametrize("patterns", PATTERN_SETS, ids=lambda p: " ".join(p) or "none")
def test_patterns_select_what_the_runner_selects(inventory: Workspace, patterns: list[str]) -> None:
    (registered,) = current_parsers(inventory.store, "invoices")
    parser = dataclasses.replace(registered, tags=(), patterns=tuple(patterns))
    expected = reference(inventory, parser)
    assert matched_paths(inventory.store, parser).to_pylist() == expected


def test_tags_or_patterns_and_a_file_outside_its_root(inventory: Workspace, tmp_path: Path) -> None:
    store = inventory.store
    readme = str(tmp_path / "one" / "notes" / "readme.md")
    (readme_id,) = [f.id for f in inventory.files.list(pattern="*readme.md", limit=10)
                    if f.path == readme]  # fmt: skip
    inventory.files.tag([readme_id], "invoices")
    moved = str(tmp_path / "elsewhere" / "z.csv")  # a stored path no longer under its root
    store.db.execute("UPDATE cf_files SET path = ? WHERE path = ?",
                     (moved, str(tmp_path / "two" / "deep/x/y/z.csv")))  # fmt: skip
    (registered,) = current_parsers(store, "invoices")
    for tags, patterns in (((("invoices",)), ("*.tsv",)), (("invoices",), ()), ((), ("*.csv",))):
        parser = dataclasses.replace(registered, tags=tags, patterns=patterns)
        got = matched_paths(store, parser).to_pylist()
        assert got == reference(inventory, parser)
    assert readme in matched_paths(store, dataclasses.replace(registered, patterns=())).to_pylist()
    # outside its root, a file is matched by its whole path without the leading "/"
    whole = str(tmp_path / "elsewhere" / "*.csv").lstrip("/")
    outside = dataclasses.replace(registered, tags=(), patterns=(whole,))
    assert matched_paths(store, outside).to_pylist() == [moved] == reference(inventory, outside)


def test_a_parser_that_selects_nothing_matches_no_file(inventory: Workspace) -> None:
    (registered,) = current_parsers(inventory.store, "invoices")
    parser = dataclasses.replace(registered, tags=(), patterns=())
    assert matched_paths(inventory.store, parser).to_pylist() == []
    assert reference(inventory, parser) == []
