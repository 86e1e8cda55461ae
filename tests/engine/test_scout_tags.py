"""Tagging: rules by priority, manual tags, untag, suggestions, stats, and the CLI commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from casparian_engine.cli.main import app
from casparian_engine.scout.tagging import TaggingError
from casparian_engine.workspace import Workspace


@pytest.fixture
def workspace(workspace_on_each_store: Workspace) -> Workspace:
    """Every test here runs on SQLite and on PostgreSQL."""
    return workspace_on_each_store


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    (root / "invoices").mkdir(parents=True)
    (root / "invoices" / "archive").mkdir()
    for index in range(3):
        (root / "invoices" / f"inv{index}.csv").write_text(f"id,total\n{index},9.50\n")
    (root / "invoices" / "archive" / "old.csv").write_text("id,total\n9,1.00\n")
    (root / "readme.txt").write_text("hello\n")
    return root


def names(records: list) -> list[str]:  # type: ignore[type-arg]
    return sorted(Path(r.path).name for r in records)


def test_highest_priority_rule_wins_and_rules_apply_to_existing_files(
    workspace: Workspace, tree: Path
) -> None:
    workspace.files.scan(tree)
    low = workspace.files.add_tag_rule("*.csv", "csv-data", priority=0)
    high = workspace.files.add_tag_rule("invoices/archive/", "archive", priority=10)
    assert [r.id for r in workspace.files.tag_rules()] == [high.id, low.id]
    assert names(workspace.files.list(tag="archive")) == ["old.csv"]
    assert names(workspace.files.list(tag="csv-data")) == ["inv0.csv", "inv1.csv", "inv2.csv"]
    workspace.files.remove_tag_rule(high.id)
    assert workspace.files.count(tag="archive") == 0
    assert workspace.files.count(tag="csv-data") == 4


def test_rules_apply_on_scan_to_new_files(workspace: Workspace, tree: Path) -> None:
    workspace.files.add_tag_rule("invoices/*.csv", "invoices")
    workspace.files.scan(tree)
    assert names(workspace.files.list(tag="invoices")) == ["inv0.csv", "inv1.csv", "inv2.csv"]


def test_manual_tag_survives_rule_removal_and_untag_removes_it(
    workspace: Workspace, tree: Path
) -> None:
    workspace.files.scan(tree)
    rule = workspace.files.add_tag_rule("*.txt", "docs")
    assert workspace.files.tag([str(tree / "readme.txt")], "docs") == 1
    workspace.files.remove_tag_rule(rule.id)
    assert names(workspace.files.list(tag="docs")) == ["readme.txt"]
    assert workspace.files.untag([str(tree / "readme.txt")], "docs") == 1
    assert workspace.files.count(tag="docs") == 0


def test_tagging_a_folder_tags_every_file_below_it(workspace: Workspace, tree: Path) -> None:
    workspace.files.scan(tree)
    assert workspace.files.tag([str(tree / "invoices")], "finance") == 4
    stats = workspace.files.stats()
    assert (stats.total_files, stats.source_count) == (5, 1)
    assert (stats.tagged_files, stats.untagged_files) == (4, 1)
    assert names(workspace.files.list(untagged=True)) == ["readme.txt"]


def test_bad_tag_input_names_the_problem_and_changes_nothing(
    workspace: Workspace, tree: Path
) -> None:
    workspace.files.scan(tree)
    missing = str(tree / "missing.csv")
    with pytest.raises(TaggingError, match=f"not in the inventory .*: {missing}$"):
        workspace.files.tag([str(tree / "readme.txt"), missing], "x")
    assert workspace.files.count(tag="x") == 0
    with pytest.raises(TaggingError, match="invalid tag 'two words'"):
        workspace.files.tag([str(tree / "readme.txt")], "two words")
    with pytest.raises(TaggingError, match="'kind:' prefix is reserved"):
        workspace.files.add_tag_rule("*.csv", "kind:csv")
    with pytest.raises(TaggingError, match="no tag rule with id 999"):
        workspace.files.remove_tag_rule(999)
    with pytest.raises(TaggingError, match="file id 12345"):
        workspace.files.tag([12345], "x")


def test_suggestions_group_untagged_files_by_folder_and_extension(
    workspace: Workspace, tree: Path
) -> None:
    workspace.files.scan(tree)
    suggestion = workspace.files.suggest_tags()[0]
    assert (suggestion.folder, suggestion.ext, suggestion.file_count) == ("invoices/", ".csv", 3)
    assert suggestion.suggested_tag == "invoices"
    assert suggestion.text == "Tag 3 .csv files in invoices/ as 'invoices'?"
    assert workspace.files.accept_suggestion(suggestion) == 3
    assert all(s.parent != suggestion.parent for s in workspace.files.suggest_tags())


def test_cli_tag_rule_files_and_untag(home: Path, tree: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["scan", str(tree)]).exit_code == 0
    added = runner.invoke(
        app, ["tag", "rule", "add", "invoices/*.csv", "invoices", "--priority", "5"]
    )
    assert added.exit_code == 0, added.output
    assert "3 files tagged 'invoices'" in added.output
    rules = json.loads(runner.invoke(app, ["tag", "rule", "list", "--json"]).stdout)
    assert rules == [{"id": 1, "pattern": "invoices/*.csv", "tag": "invoices", "priority": 5}]
    tagged = runner.invoke(app, ["tag", str(tree / "readme.txt"), "docs"])
    assert tagged.exit_code == 0 and "tagged 1 file as 'docs'" in tagged.output
    listed = json.loads(runner.invoke(app, ["files", "--tag", "docs", "--json"]).stdout)
    assert listed["total"] == 1 and listed["files"][0]["tags"] == ["docs", "kind:text"]
    untagged = json.loads(runner.invoke(app, ["files", "--untagged", "--json"]).stdout)
    assert [Path(f["path"]).name for f in untagged["files"]] == ["old.csv"]
    limited = json.loads(runner.invoke(app, ["files", "--limit", "2", "--json"]).stdout)
    assert (limited["total"], len(limited["files"])) == (5, 2)
    assert runner.invoke(app, ["untag", str(tree / "readme.txt"), "docs"]).exit_code == 0
    missing = runner.invoke(app, ["tag", str(tree / "nope.csv"), "docs"])
    assert missing.exit_code == 1 and "not in the inventory" in missing.output
    removed = runner.invoke(app, ["tag", "rule", "remove", "7"])
    assert removed.exit_code == 1 and "no tag rule with id 7" in removed.output
