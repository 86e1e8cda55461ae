"""Discover's gitignore-style file filter, computed in the engine: exact file lists on SQLite and
PostgreSQL, paging, depth below the source root and the messages for unreadable patterns."""

from __future__ import annotations

from pathlib import Path

import pytest

from casparian_engine.errors import describe
from casparian_engine.scout.listing import FilterError, filter_patterns, list_files_page
from casparian_engine.workspace import Workspace

FILES = (
    "top.csv",
    "notes.txt",
    "invoices/a.csv",
    "invoices/b.txt",
    "invoices/2024/c.csv",
    "logs/app.log",
    "logs/old/app.csv",
    "legacy/logs/x.csv",
    "legacy/accounts.csv",
    "clone/readme.md",
    "deep/a/b/c/invoices/z.csv",
)


@pytest.fixture
def workspace(workspace_on_each_store: Workspace) -> Workspace:
    return workspace_on_each_store


@pytest.fixture
def root(workspace: Workspace, tmp_path: Path) -> Path:
    folder = tmp_path / "src"
    for name in FILES:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("a,b\n1,2\n")
    workspace.files.scan(folder)
    workspace.files.tag([str(folder / "invoices")], "money")
    workspace.files.tag([str(folder / "invoices/2024/c.csv"), str(folder / "top.csv")], "old")
    return folder


def listed(workspace: Workspace, text: str) -> list[str]:
    page = list_files_page(workspace.store, text, limit=100, offset=0)
    return [record.path for record in page.records]


def under(root: Path, *names: str) -> list[str]:
    return sorted(str(root / name) for name in names)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", sorted(FILES)),
        ("*.csv", [f for f in FILES if f.endswith(".csv")]),
        ("logs/", ["logs/app.log", "logs/old/app.csv", "legacy/logs/x.csv"]),
        ("logs/, legacy/", ["logs/app.log", "logs/old/app.csv", "legacy/logs/x.csv",
                            "legacy/accounts.csv"]),
        ("logs/ ,legacy/ ", ["logs/app.log", "logs/old/app.csv", "legacy/logs/x.csv",
                           "legacy/accounts.csv"]),
        ("!*.csv", ["notes.txt", "invoices/b.txt", "logs/app.log", "clone/readme.md"]),
        ("clone", ["clone/readme.md"]),
        ("src", []),  # the source root's own folder name is not part of the relative path
        ("invoices/*.csv", ["invoices/a.csv"]),
        ("invoices/**/*.csv", ["invoices/a.csv", "invoices/2024/c.csv"]),
        ("**/invoices/*.csv", ["invoices/a.csv", "deep/a/b/c/invoices/z.csv"]),
        ("/top.csv", ["top.csv"]),
        ("*.csv, !legacy/", ["top.csv", "invoices/a.csv", "invoices/2024/c.csv",
                            "logs/old/app.csv", "deep/a/b/c/invoices/z.csv"]),
        ("logs/, !*.csv", ["logs/app.log"]),
        ("app.*", ["logs/app.log", "logs/old/app.csv"]),
        ("2024", ["invoices/2024/c.csv"]),
        ("[l]ogs/", ["logs/app.log", "logs/old/app.csv", "legacy/logs/x.csv"]),
        ("le?acy/*.csv", ["legacy/accounts.csv"]),
        ("inv*/[ab].csv", ["invoices/a.csv"]),
        ("*.md, logs/*.log", ["clone/readme.md", "logs/app.log"]),
        ("**/*.log, !logs/", []),
        ("logs/ legacy/", []),  # one pattern: a folder named 'logs/ legacy'
        ("tag:money", ["invoices/a.csv", "invoices/b.txt", "invoices/2024/c.csv"]),
        ("tag:money, *.csv", ["invoices/a.csv", "invoices/2024/c.csv"]),
        ("tag:money, tag:old", ["invoices/2024/c.csv"]),
        ("tag:none", []),
        ("kind:csv, invoices/*.txt", ["invoices/b.txt"]),
        ("kind:json", []),
    ],
)  # fmt: skip
def test_filters_select_exactly_these_files(
    workspace: Workspace, root: Path, text: str, expected: list[str]
) -> None:
    assert listed(workspace, text) == under(root, *expected)
    assert list_files_page(workspace.store, text, 100, 0).total == len(expected)


def test_brackets_and_escapes_in_names(workspace: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "odd"
    names = ("x[=<y].csv", "Q1 [final].csv", "[b]bold.csv", "two words.txt", "sub (2)/a,b.csv")
    folder.mkdir()
    for name in names:
        (folder / name).parent.mkdir(exist_ok=True)
        (folder / name).write_text("a\n")
    workspace.files.scan(folder)
    assert listed(workspace, "two\\ words.txt") == under(folder, "two words.txt")
    assert listed(workspace, "*\\[final\\]*") == under(folder, "Q1 [final].csv")
    assert listed(workspace, "\\[b\\]*") == under(folder, "[b]bold.csv")
    assert listed(workspace, "two words.txt") == under(folder, "two words.txt")
    assert listed(workspace, "sub (2)/") == under(folder, "sub (2)/a,b.csv")
    assert listed(workspace, "a\\,b.csv, *.txt") == under(
        folder, "sub (2)/a,b.csv", "two words.txt"
    )
    assert filter_patterns("a,b  c\\ d, !e/") == ["a", "b  c\\ d", "!e/"]


def test_pages_follow_path_order_and_depth_counts_from_the_source(
    workspace: Workspace, root: Path
) -> None:
    first = list_files_page(workspace.store, "*.csv", limit=3, offset=0)
    second = list_files_page(workspace.store, "*.csv", limit=3, offset=3)
    everything = under(root, *[f for f in FILES if f.endswith(".csv")])
    assert [r.path for r in first.records + second.records] == everything[:6]
    assert first.total == second.total == 7
    page = list_files_page(workspace.store, "", limit=100, offset=0)
    depths = dict(zip([r.path for r in page.records], page.depths, strict=True))
    assert depths[str(root / "top.csv")] == 0
    assert depths[str(root / "invoices/2024/c.csv")] == 2
    assert depths[str(root / "deep/a/b/c/invoices/z.csv")] == 5
    past = list_files_page(workspace.store, "*.csv", limit=3, offset=9)
    assert (past.records, past.total) == ([], 7)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a\\", "cannot read pattern 'a\\\\': it ends in a lone '\\' (write '\\\\' for a "
                "backslash)"),
        ("#notes", "cannot read pattern '#notes': it names no file (a leading # makes a "
                   "comment; write \\# for a name starting with #)"),
        ("*.csv, !", "cannot read pattern '!': '!' alone negates nothing"),
        ("tag:", "cannot read 'tag:': it names no tag (e.g. tag:invoices)"),
        ("*.csv, kind: ", "cannot read 'kind:': it names no kind (e.g. kind:csv)"),
    ],
)  # fmt: skip
def test_unreadable_patterns_say_which_and_why(
    workspace: Workspace, root: Path, text: str, message: str
) -> None:
    with pytest.raises(FilterError) as raised:
        list_files_page(workspace.store, text, 100, 0)
    assert describe(raised.value) == message
