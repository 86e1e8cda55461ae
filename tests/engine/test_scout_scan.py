"""Scan behaviour on real folders: recording, rescans, renames, soft-deletes, patterns, tags."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from casparian_engine.events import Event
from casparian_engine.scout.scan import ScanProgress, ScanSummary
from casparian_engine.workspace import Workspace


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def workspace(workspace_on_each_store: Workspace) -> Workspace:
    """Every test here runs on SQLite and on PostgreSQL."""
    return workspace_on_each_store


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    write(root / "invoices" / "jan.csv", "id;amount\n1;2,50\n2;3,75\n")
    write(root / "invoices" / "feb.csv", "id;amount\n3;1,00\n4;9,99\n")
    write(root / "logs" / "app.log", "2024-01-01 10:00:00 INFO up\n2024-01-01 10:00:01 ERROR x\n")
    write(root / "events.jsonl", '{"a": 1}\n{"a": 2}\n')
    write(root / "notes.txt", "just some words\n")
    return root


def test_first_scan_records_every_file(workspace: Workspace, tree: Path) -> None:
    summary = workspace.files.scan(tree)
    assert (summary.new, summary.changed, summary.unchanged, summary.deleted) == (5, 0, 0, 0)
    assert summary.skipped == {}
    records = {Path(r.path).name: r for r in workspace.files.list(limit=10)}
    jan = records["jan.csv"]
    stat = (tree / "invoices" / "jan.csv").stat()
    assert (jan.size, jan.mtime_ns) == (stat.st_size, stat.st_mtime_ns)
    import hashlib

    assert jan.sha256 == hashlib.sha256((tree / "invoices" / "jan.csv").read_bytes()).hexdigest()
    assert {n: r.kind for n, r in records.items()} == {
        "jan.csv": "csv",
        "feb.csv": "csv",
        "app.log": "log",
        "events.jsonl": "jsonl",
        "notes.txt": "text",
    }
    assert records["app.log"].tags == ("kind:log",)
    assert workspace.files.stats().total_files == 5
    assert workspace.files.stats().source_count == 1


def test_rescan_of_unchanged_files_does_not_rehash(workspace: Workspace, tree: Path) -> None:
    workspace.files.scan(tree)
    summary = workspace.files.scan(tree)
    assert (summary.new, summary.changed, summary.unchanged) == (0, 0, 5)
    assert summary.bytes_hashed == 0


def test_rescan_detects_change_deletion_and_rename_keeping_tags(
    workspace: Workspace, tree: Path
) -> None:
    workspace.files.scan(tree)
    workspace.files.tag([str(tree / "notes.txt")], "keep")
    (tree / "notes.txt").rename(tree / "invoices" / "notes-moved.txt")
    (tree / "events.jsonl").unlink()
    write(tree / "logs" / "app.log", "2024-01-02 11:00:00 WARN changed content here\n")
    summary = workspace.files.scan(tree)
    assert (summary.new, summary.changed, summary.renamed, summary.deleted) == (0, 1, 1, 1)
    moved = workspace.files.list(tag="keep")
    assert [Path(r.path).name for r in moved] == ["notes-moved.txt"]
    assert moved[0].tags == ("keep", "kind:text")
    deleted = [r for r in workspace.files.list(include_deleted=True) if r.deleted_at is not None]
    assert [Path(r.path).name for r in deleted] == ["events.jsonl"]
    assert workspace.files.count() == 4


def test_a_file_that_reappears_is_restored(workspace: Workspace, tree: Path) -> None:
    workspace.files.scan(tree)
    hidden = tree.parent / "hidden.txt"
    (tree / "notes.txt").rename(hidden)
    assert workspace.files.scan(tree).deleted == 1
    hidden.rename(tree / "notes.txt")
    summary = workspace.files.scan(tree)
    assert (summary.unchanged, summary.deleted) == (5, 0)
    assert workspace.files.count() == 5


def test_patterns_select_files_and_spare_the_rest_from_deletion(
    workspace: Workspace, tree: Path
) -> None:
    workspace.files.scan(tree)
    summary = workspace.files.scan(tree, patterns=["*.csv", "!feb.csv"])
    assert (summary.unchanged, summary.excluded, summary.deleted) == (1, 4, 0)
    (tree / "invoices" / "jan.csv").unlink()
    (tree / "notes.txt").unlink()
    summary = workspace.files.scan(tree, patterns=["*.csv"])
    assert (summary.unchanged, summary.deleted) == (1, 1)
    live = sorted(Path(r.path).name for r in workspace.files.list())
    assert live == ["app.log", "events.jsonl", "feb.csv", "notes.txt"]


def test_invalid_tag_on_scan_is_refused_before_scanning(workspace: Workspace, tree: Path) -> None:
    from casparian_engine.scout.tagging import TaggingError

    with pytest.raises(TaggingError, match="invalid tag 'kind:csv'"):
        workspace.files.scan(tree, tags=["kind:csv"])
    assert workspace.files.count() == 0


def test_scan_tags_every_file_found(workspace: Workspace, tree: Path) -> None:
    workspace.files.scan(tree, tags=["batch1"])
    assert workspace.files.count(tag="batch1") == 5
    assert workspace.files.count(untagged=True) == 0
    workspace.files.scan(tree, tags=["batch2"])  # unchanged files are tagged too
    assert workspace.files.count(tag="batch2") == 5


def test_progress_events_and_summary_are_emitted(workspace: Workspace, tree: Path) -> None:
    events: list[Event] = []
    summary = workspace.files.scan(tree, on_event=events.append)
    progress = [e for e in events if isinstance(e, ScanProgress)]
    assert progress and progress[0].root == str(tree)
    assert events[-1] is summary and isinstance(summary, ScanSummary)


def test_cancel_before_first_batch_records_nothing(workspace: Workspace, tree: Path) -> None:
    import threading

    from casparian_engine.events import Cancelled

    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        workspace.files.scan(tree, cancel=cancel)
    assert workspace.files.count() == 0


def test_multi_batch_scan_with_worker_processes(workspace: Workspace, tmp_path: Path) -> None:
    from casparian_engine.scout.scan import Scanner

    root = tmp_path / "many"
    for folder in range(5):
        for index in range(250):
            write(root / f"d{folder}" / f"f{index}.csv", f"a,b\n{folder},{index}\n")
    summary = Scanner(workspace.store, root, batch_size=200, hash_workers=2).run()
    assert summary.new == 1250
    assert workspace.files.count(pattern="d3/") == 250
    assert workspace.files.count(tag="kind:csv") == 1250
    again = Scanner(workspace.store, root, batch_size=200, hash_workers=2).run()
    assert (again.unchanged, again.new, again.deleted) == (1250, 0, 0)


def test_list_files_pages_and_orders(workspace: Workspace, tree: Path) -> None:
    workspace.files.scan(tree)
    first = workspace.files.list(limit=2, order="path")
    second = workspace.files.list(limit=2, offset=2, order="path")
    everything = [r.path for r in workspace.files.list(limit=10, order="path")]
    assert [r.path for r in first + second] == everything[:4]
    assert everything == sorted(everything)
    assert workspace.files.list(limit=1, order="-size")[0].path.endswith("app.log")
    with pytest.raises(ValueError, match="unknown order 'bogus'"):
        workspace.files.list(order="bogus")
    assert os.path.basename(workspace.files.list(pattern="*.jsonl")[0].path) == "events.jsonl"
