"""Scan batching: split folders, last_seen-only rescans, commit windows, the deferred hash index."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from casparian_engine.events import Cancelled, Event
from casparian_engine.scout import scan as scan_module
from casparian_engine.scout.scan import Scanner, ScanProgress
from casparian_engine.scout.walk import walk_files
from casparian_engine.workspace import Workspace
from tests.conftest import nested_folders


@pytest.fixture
def workspace(workspace_on_each_store: Workspace) -> Workspace:
    """Every test here runs on SQLite and on PostgreSQL."""
    return workspace_on_each_store


def make_tree(root: Path, folders: int, files_per_folder: int) -> Path:
    for folder in range(folders):
        (root / f"d{folder}").mkdir(parents=True)
        for index in range(files_per_folder):
            (root / f"d{folder}" / f"f{index}.csv").write_text(f"a,b\n{folder},{index}\n")
    return root


def stored_rows(workspace: Workspace) -> dict[str, tuple[object, ...]]:
    rows = workspace.store.db.query(
        "SELECT path, id, size, mtime_ns, sha256, kind, first_seen, last_seen, deleted_at "
        "FROM cf_files"
    )
    return {r[0]: tuple(r[1:]) for r in rows}


def test_batches_end_between_folders_and_split_only_huge_ones(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "t", folders=3, files_per_folder=7)
    (root / "big").mkdir()
    for index in range(50):
        (root / "big" / f"b{index}.csv").write_text("x\n")
    batches = list(walk_files(str(root), batch_size=10))
    whole = set().union(*(b.whole_folders for b in batches))
    assert whole == {str(root), *(str(root / f"d{i}") for i in range(3))}
    big_sizes = [sum(1 for f in b.files if "/big/" in f.path) for b in batches]
    assert sum(big_sizes) == 50 and max(big_sizes) == 40  # split at 4 x batch_size


def test_rescan_of_a_split_folder_touches_only_last_seen(
    workspace: Workspace, tmp_path: Path
) -> None:
    root = make_tree(tmp_path / "t", folders=2, files_per_folder=45)
    first = Scanner(workspace.store, root, batch_size=10, hash_workers=1).run()
    assert first.new == 90
    before = stored_rows(workspace)
    again = Scanner(workspace.store, root, batch_size=10, hash_workers=1).run()
    assert (again.unchanged, again.new, again.changed, again.deleted) == (90, 0, 0, 0)
    after = stored_rows(workspace)
    assert {p: r[:6] for p, r in after.items()} == {p: r[:6] for p, r in before.items()}
    assert all(after[p][6] > before[p][6] and after[p][7] is None for p in after)
    (root / "d1" / "f44.csv").write_text("a,b\nchanged,content\n")
    third = Scanner(workspace.store, root, batch_size=10, hash_workers=1).run()
    assert (third.unchanged, third.changed) == (89, 1)


def test_big_insert_drops_and_rebuilds_secondary_indexes(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan_module, "DEFER_INDEXES_AFTER", 30)
    root = make_tree(tmp_path / "t", folders=4, files_per_folder=25)
    summary = Scanner(workspace.store, root, batch_size=20, hash_workers=1).run()
    assert summary.new == 100
    assert bulk_indexes_exist(workspace)
    assert workspace.files.count(tag="kind:csv") == 100
    (root / "d0" / "f0.csv").rename(root / "d3" / "moved.csv")
    again = Scanner(workspace.store, root, batch_size=20, hash_workers=1).run()
    assert (again.renamed, again.unchanged, again.new, again.deleted) == (1, 99, 0, 0)


def test_cancelled_big_insert_keeps_its_work_and_the_indexes(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan_module, "DEFER_INDEXES_AFTER", 30)
    root = make_tree(tmp_path / "t", folders=6, files_per_folder=20)
    cancel = threading.Event()
    progress: list[int] = []

    def cancel_after_three_batches(event: Event) -> None:
        if isinstance(event, ScanProgress):
            progress.append(event.files_seen)
            if len(progress) == 3:
                cancel.set()

    monkeypatch.setattr("casparian_engine.events.Throttle.ready", lambda self: True)
    scanner = Scanner(
        workspace.store, root, on_event=cancel_after_three_batches, cancel=cancel,
        batch_size=20, hash_workers=1,
    )  # fmt: skip
    with pytest.raises(Cancelled):
        scanner.run()
    assert workspace.files.count() == 60  # three batches of one folder each, all committed
    assert workspace.files.count(tag="kind:csv") == 60
    assert bulk_indexes_exist(workspace)
    assert Scanner(workspace.store, root, batch_size=20, hash_workers=1).run().new == 60


def bulk_indexes_exist(workspace: Workspace) -> bool:
    """All three indexes a bulk insert may drop are back."""
    db = workspace.store.db
    if db.dialect == "sqlite":
        sql = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = ?"
    else:
        sql = "SELECT COUNT(*) FROM pg_indexes WHERE indexname = ?"
    names = ("ix_files_sha256", "ix_files_source", "ix_files_identity", "ix_files_parent")
    return all(int(db.query_one(sql, (name,))[0]) == 1 for name in names)


def test_worker_processes_see_changes_renames_links_and_vanished_files(
    workspace: Workspace, tmp_path: Path
) -> None:
    root = make_tree(tmp_path / "t", folders=3, files_per_folder=40)
    (root / "link.csv").symlink_to(root / "d0" / "f0.csv")
    first = Scanner(workspace.store, root, batch_size=30, hash_workers=2).run()
    assert (first.new, first.skipped) == (121, {})
    link = workspace.files.list(pattern="/link.csv")[0]
    assert link.sha256 == workspace.files.list(pattern="d0/f0.csv")[0].sha256
    (root / "d1" / "f1.csv").write_text("a,b\nnew,content,here\n")
    (root / "d2" / "f2.csv").rename(root / "d0" / "renamed.csv")
    (root / "d2" / "f3.csv").unlink()
    events: list[Event] = []
    doomed = root / "d2" / "f4.csv"

    def remove_doomed_once_walked(event: Event) -> None:
        events.append(event)
        if isinstance(event, ScanProgress) and doomed.exists():
            doomed.unlink()  # listed by the walk (one batch), gone before a worker stats it

    again = Scanner(
        workspace.store, root, on_event=remove_doomed_once_walked, batch_size=200, hash_workers=2
    ).run()
    assert (again.changed, again.renamed, again.new, again.deleted) == (1, 1, 0, 2)
    assert again.unchanged == 117 and again.skipped == {"vanished": 1}
    assert (
        again.bytes_hashed
        == (root / "d1" / "f1.csv").stat().st_size + (root / "d0" / "renamed.csv").stat().st_size
    )
    assert workspace.files.count() == 119


def test_scan_progress_never_goes_backwards_when_a_batch_is_smaller_than_the_last(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches of 48, 12, 48, 12 files: the figure is every file walked so far (it once left
    out the batch still being examined and read 48, 12, 60, …)."""
    root = nested_folders(tmp_path / "t", [48, 12, 48, 12])
    progress: list[int] = []

    def note(event: Event) -> None:
        if isinstance(event, ScanProgress):
            progress.append(event.files_seen)

    monkeypatch.setattr("casparian_engine.events.Throttle.ready", lambda self: True)
    summary = Scanner(workspace.store, root, on_event=note, batch_size=12, hash_workers=1).run()
    assert progress == [48, 60, 108, 120]
    assert summary.files_seen == 120 == workspace.files.count()
