"""A scan cancelled midway in the TUI says how many files the store kept (the scan child's
committed count), not the last progress figure on screen."""

from __future__ import annotations

from pathlib import Path

from casparian_engine.scout.scan import BATCH_SIZE
from casparian_engine.workspace import Workspace
from casparian_tui.app import CasparianApp

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
            """Progress k counts the batches committed before it plus the batch being walked,
            while batch k-1 still waits to commit: cancelling on the second report keeps one
            batch more than the screen last showed."""
            scan = app.service.scan
            if what == "scan" and scan is not None and scan.running and scan.files_seen:
                shown.append(scan.files_seen)
                if len(shown) == 2:
                    screen.action_cancel_scan()

        app.service.changed.subscribe(screen, cancel_on_the_second_progress)
        app.service.start_scan(str(big))
        await settle(app, pilot)
        kept = workspace.count_files()
        assert len(shown) == 2 and shown[1] < kept < total  # stopped midway
        assert app.service.scan is not None
        assert app.service.scan.outcome == f"cancelled after {kept:,} files (kept)"
        assert str(screen.query_one("#scan-status").render()) == (
            f"{big}: cancelled after {kept:,} files (kept)"
        )
