"""A cancelled scan says how many files it recorded: the count the store kept, not the last
progress figure (progress is throttled and lags the batch being committed)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from casparian_engine.events import Cancelled, Event
from casparian_engine.scout.scan import ScanCancelled, Scanner, ScanProgress
from casparian_engine.workspace import Workspace


class CancelAtCheck(threading.Event):
    """Set from the ``at``-th time the scan checks it (the scan checks once per batch)."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at
        self.checks = 0

    def is_set(self) -> bool:
        self.checks += 1
        return self.checks >= self.at or super().is_set()


def make_files(root: Path, count: int) -> None:
    for number in range(count):
        folder = root / f"d{number // 25:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{number:04d}.txt").write_text(str(number))


def test_a_scan_cancelled_midway_reports_what_it_committed(
    workspace: Workspace, tmp_path: Path
) -> None:
    make_files(tmp_path / "many", 100)
    progress: list[int] = []

    def note(event: Event) -> None:
        if isinstance(event, ScanProgress):
            progress.append(event.files_seen)

    cancel = CancelAtCheck(at=3)  # two batches walked, the third check stops it
    scanner = Scanner(
        workspace.store, tmp_path / "many", on_event=note, cancel=cancel, batch_size=10
    )
    with pytest.raises(ScanCancelled) as stopped:
        scanner.run()
    assert isinstance(stopped.value, Cancelled)  # callers catching Cancelled still do
    assert stopped.value.files_recorded == 50 == workspace.files.count()  # 2 folders whole
    assert progress == [25]  # the only progress shown said 25: it is not the count kept
    assert str(stopped.value) == "scan cancelled after recording 50 files"


def test_a_scan_cancelled_before_its_first_batch_recorded_nothing(
    workspace: Workspace, tmp_path: Path
) -> None:
    make_files(tmp_path / "few", 5)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(ScanCancelled) as stopped:
        workspace.files.scan(tmp_path / "few", cancel=cancel)
    assert stopped.value.files_recorded == 0 == workspace.files.count()
