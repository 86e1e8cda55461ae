"""A scan cancelled midway in the TUI says how many files the store kept (the scan child's
committed count); the counter on screen only ever goes up."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from casparian_engine.scout.scan import BATCH_SIZE
from casparian_engine.workspace import Workspace
from casparian_tui.app import CasparianApp
from tests.conftest import nested_folders

from .conftest import write_numbered_files
from .test_discover import SIZE, open_discover, settle


async def test_the_cancel_count_is_what_the_store_gained(
    workspace: Workspace, tmp_path: Path
) -> None:
    big = tmp_path / "big"
    total = BATCH_SIZE * 6
    write_numbered_files(big, total)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(app, pilot)
        shown: list[int] = []

        def cancel_on_the_second_progress(what: str) -> None:
            """Progress k counts every file walked, batch k included; batch k is committed
            before the scan looks at the cancel again, so the store keeps what was shown."""
            scan = app.service.scan
            if what == "scan" and scan is not None and scan.running and scan.files_seen:
                shown.append(scan.files_seen)
                if len(shown) == 2:
                    screen.action_cancel_scan()

        app.service.changed.subscribe(screen, cancel_on_the_second_progress)
        app.service.start_scan(str(big))
        await settle(app, pilot)
        kept = workspace.files.count()
        assert len(shown) == 2 and shown[1] == kept < total  # stopped midway
        assert app.service.scan is not None
        assert app.service.scan.outcome == f"cancelled after {kept:,} files (kept)"
        assert str(screen.query_one("#scan-status").render()) == (
            f"{big}: cancelled after {kept:,} files (kept)"
        )


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
async def test_the_scan_counter_never_goes_backwards(
    workspace: Workspace, tmp_path: Path, size: tuple[int, int]
) -> None:
    """Batches of 3×, 1×, 3×, 1×, … the batch size: the counter once left out the batch being
    examined, and a small batch after a big one showed fewer files (2,403 → 2,047 → 4,403)."""
    sizes = [BATCH_SIZE * 3, BATCH_SIZE] * 3
    tree = nested_folders(tmp_path / "tree", sizes)
    app = CasparianApp(workspace)
    async with app.run_test(size=size) as pilot:
        screen = await open_discover(app, pilot)
        shown: list[int] = []

        def note_the_counter(what: str) -> None:
            status = str(screen.query_one("#scan-status").render())
            scan = app.service.scan
            if what == "scan" and scan is not None and scan.running and scan.files_seen:
                figure = re.search(r"scanning .*: ([\d,]+) files?", status)
                assert figure is not None, status
                shown.append(int(figure.group(1).replace(",", "")))

        app.service.changed.subscribe(screen, note_the_counter)
        app.service.start_scan(str(tree))
        await settle(app, pilot)
        assert shown and shown == sorted(shown), shown
        assert shown[-1] <= sum(sizes) == workspace.files.count()
        assert str(screen.query_one("#scan-status").render()) == (
            f"{tree}: done, {sum(sizes):,} files"
        )
