"""One pattern language: the same pattern lists select the same files through every door that
takes patterns (scan, tag rules, scopes, MCP's apply_scope, parser matching, the Process view's
column-wise count, Discover's filter, ``files --pattern``), on SQLite and on PostgreSQL."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from casparian_engine.cli.main import app as cli
from casparian_engine.errors import describe
from casparian_engine.parser_overview import matched_paths
from casparian_engine.patterns import PathPatterns, PatternError, relative_path
from casparian_engine.runner.matching import current_parsers, matching_jobs
from casparian_engine.scout.listing import list_files_page
from casparian_engine.store.scopes import ScopeDefinition
from casparian_engine.tools.registry import REGISTRY, ToolContext, ToolGuard, call_tool
from casparian_engine.workspace import Workspace
from tests.engine.registration_support import make_parser

FILES = (
    "x.csv",
    "top.txt",
    "invoices/b.csv",
    "invoices/a.csv",
    "invoices/notes.txt",
    "invoices/2024/a.csv",
    "invoices/2024/b.csv",
    "other/invoices/c.csv",
    "deep/x/y/z.csv",
    "logs/app1.log",
    "logs/app22.log",
    "logs/old/app3.log",
    "data/report-a.tsv",
    "data/report-b.csv",
    "data/report-Z.csv",
    "weird [1].csv",
)

# (patterns, the files they select); the first is issue 14's own example.
CASES = (
    (["*.csv", "!invoices/", "invoices/2024/a.csv"],
     ["x.csv", "invoices/2024/a.csv", "deep/x/y/z.csv", "data/report-b.csv",
      "data/report-Z.csv", "weird [1].csv"]),  # "invoices/" without a leading "/": any depth
    (["*.csv"], [f for f in FILES if f.endswith(".csv")]),
    (["invoices/"], [f for f in FILES if "invoices/" in f]),
    (["/invoices/*.csv"], ["invoices/b.csv", "invoices/a.csv"]),
    (["invoices/**/*.csv"],
     ["invoices/b.csv", "invoices/a.csv", "invoices/2024/a.csv", "invoices/2024/b.csv"]),
    (["**/invoices/*.csv"],
     ["invoices/b.csv", "invoices/a.csv", "other/invoices/c.csv"]),
    (["deep/**"], ["deep/x/y/z.csv"]),
    (["logs/app?.log"], ["logs/app1.log"]),
    (["logs/**/app?.log"], ["logs/app1.log", "logs/old/app3.log"]),
    (["report-[a-c].*"], ["data/report-a.tsv", "data/report-b.csv"]),
    (["report-[!a-c].csv"], ["data/report-Z.csv"]),
    (["*.[ct]sv", "!data/"],
     ["x.csv", "invoices/b.csv", "invoices/a.csv", "invoices/2024/a.csv", "invoices/2024/b.csv",
      "other/invoices/c.csv", "deep/x/y/z.csv", "weird [1].csv"]),
    (["!*.csv"], ["top.txt", "invoices/notes.txt", "logs/app1.log", "logs/app22.log",
                  "logs/old/app3.log", "data/report-a.tsv"]),
    (["weird\\ \\[1\\].csv", "2024"], ["weird [1].csv", "invoices/2024/a.csv",
                                     "invoices/2024/b.csv"]),
    (["logs", "!*.log"], []),
)  # fmt: skip


@pytest.fixture
def workspace(workspace_on_each_store: Workspace) -> Workspace:
    return workspace_on_each_store


def make_tree(root: Path) -> Path:
    for name in FILES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("a,b\n1,2\n")
    return root


def as_filter(patterns: list[str]) -> str:
    return ", ".join(patterns)


def below(root: Path, paths: list[str]) -> list[str]:
    """The paths (in path order) relative to ``root``."""
    return sorted(p[len(str(root)) + 1 :] for p in paths)


def via_tag_rules(workspace: Workspace, patterns: list[str]) -> list[str]:
    """The list as tag rules: a later pattern outranks an earlier one; a "!" pattern is a rule
    tagging "out" with the same pattern (a rule list cannot negate, the outranking does)."""
    for rank, pattern in enumerate(patterns):
        tag = "out" if pattern.startswith("!") else "in"
        workspace.files.add_tag_rule(pattern.removeprefix("!"), tag, priority=rank)
    tagged_in = {r.path for r in workspace.files.list(tag="in", limit=1000)}
    if not PathPatterns(patterns).starts_selected:
        return list(tagged_in)
    tagged_out = {r.path for r in workspace.files.list(tag="out", limit=1000)}
    return [r.path for r in workspace.files.list(limit=1000) if r.path not in tagged_out]


@pytest.mark.parametrize(("patterns", "expected"), CASES, ids=lambda v: " ".join(v) or "none")
def test_every_door_selects_the_same_files(
    workspace: Workspace, tmp_path: Path, patterns: list[str], expected: list[str]
) -> None:
    root = make_tree(tmp_path / "src")
    workspace.files.scan(root)
    expected = sorted(expected)
    selected: dict[str, list[str]] = {}

    selected["python"] = sorted(f for f in FILES if PathPatterns(patterns).matches(f))

    scanned = make_tree(tmp_path / "scanned")
    workspace.files.scan(scanned, patterns=patterns)
    selected["scan"] = below(scanned, [r.path for r in workspace.files.list(limit=1000)
                                        if r.path.startswith(f"{scanned}/")])  # fmt: skip

    scope = workspace.store.scopes.save(ScopeDefinition("parity", patterns=tuple(patterns)))
    selected["scope"] = below(root, [f.path for f in workspace.store.scopes.resolve(scope)
                                     if f.path.startswith(f"{root}/")])  # fmt: skip

    context = ToolContext(workspace, ToolGuard(allowed_paths=(root,)))
    answer = call_tool(
        REGISTRY["apply_scope"],
        context,
        {"name": "mcp", "patterns": patterns, "paths": [str(root)]},
    )
    assert answer["file_count"] == len(expected)
    selected["mcp apply_scope"] = below(root, answer["sample"]) if len(expected) <= 10 else expected

    parser_dir = make_parser(tmp_path / "parser")
    workspace.parsers.register(parser_dir)
    (registered,) = current_parsers(workspace.store, "invoices")
    parser = dataclasses.replace(registered, tags=(), patterns=tuple(patterns))
    in_root = [job.input_path for job in matching_jobs(workspace.store, parser)
               if job.input_path.startswith(f"{root}/")]  # fmt: skip
    selected["parser matching"] = below(root, in_root)
    selected["process view"] = below(root, [p for p in matched_paths(workspace.store, parser)
                                            .to_pylist() if p.startswith(f"{root}/")])  # fmt: skip

    listing = list_files_page(workspace.store, as_filter(patterns), limit=1000, offset=0)
    selected["discover"] = below(root, [r.path for r in listing.records
                                        if r.path.startswith(f"{root}/")])  # fmt: skip

    listed = workspace.files.list(pattern=as_filter(patterns), limit=1000)
    selected["files --pattern"] = below(root, [r.path for r in listed
                                               if r.path.startswith(f"{root}/")])  # fmt: skip
    count = workspace.files.count(pattern=as_filter(patterns))
    assert count == len(listed)

    workspace.files.scan(root)  # the tag rules below tag files under both roots
    selected["tag rules"] = below(root, [p for p in via_tag_rules(workspace, patterns)
                                         if p.startswith(f"{root}/")])  # fmt: skip

    assert selected == dict.fromkeys(selected, expected)


def test_files_pattern_on_the_command_line(workspace: Workspace, tmp_path: Path) -> None:
    root = make_tree(tmp_path / "src")
    workspace.files.scan(root)
    result = CliRunner().invoke(
        cli,
        ["--home", str(workspace.config.home), "files", "--json", "--limit", "100",
         "--pattern", "*.csv, !invoices/, invoices/2024/a.csv"],
        env={"CASPARIAN_STORE_URL": workspace.config.store_url},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    paths = [row["path"] for row in json.loads(result.stdout)["files"]]
    assert below(root, paths) == sorted(CASES[0][1])


@pytest.mark.parametrize(
    ("source", "root", "relative"),
    [
        ("/data/src/a/b.csv", "/data/src", "a/b.csv"),
        ("/data/src/a/b.csv", "/data/src/", "a/b.csv"),
        ("/data/srcx/b.csv", "/data/src", "data/srcx/b.csv"),  # not under the root
        ("/a.csv", "/", "a.csv"),
        ("/data/a.csv", None, "data/a.csv"),
    ],
)
def test_one_relative_path_rule_in_python_and_sql(
    workspace: Workspace, source: str, root: str | None, relative: str
) -> None:
    from casparian_engine.patterns import relative_sql

    assert relative_path(source, root) == relative
    sql = relative_sql("p.path", "p.root")
    got = workspace.store.db.query_one(
        f"SELECT {sql} FROM (SELECT CAST(? AS TEXT) AS path, CAST(? AS TEXT) AS root) p",
        (source, root),
    )[0]
    assert got == relative


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("a\\", "cannot read pattern 'a\\\\': it ends in a lone '\\' (write '\\\\' for a "
                "backslash)"),
        ("!", "cannot read pattern '!': '!' alone negates nothing"),
        ("/", "cannot read pattern '/': it names no file (a pattern of slashes only)"),
        ("a//b", "cannot read pattern 'a//b': it has an empty folder name ('//')"),
        ("[z-a]", "cannot read pattern '[z-a]': it has a range 'z-a' that runs backwards"),
    ],
)  # fmt: skip
def test_unreadable_patterns_name_themselves(pattern: str, message: str) -> None:
    with pytest.raises(PatternError) as raised:
        PathPatterns([pattern])
    assert describe(raised.value) == message


def test_scopes_refuse_an_unreadable_pattern_when_saved(workspace: Workspace) -> None:
    with pytest.raises(PatternError, match="cannot read pattern 'a\\\\\\\\'"):
        workspace.store.scopes.save(ScopeDefinition("bad", patterns=("*.csv", "a\\")))
    assert workspace.store.scopes.get("bad") is None
