"""Home's "Needs you": files matched but never processed, failed jobs, quarantined rows and
paused parsers, each a key (1-4) or a click away from the place that fixes it."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from casparian_engine.workspace import Workspace
from casparian_tui.app import CasparianApp
from casparian_tui.screens.home import HomeScreen
from casparian_tui.screens.inspect import InspectScreen
from casparian_tui.screens.jobs import JobsScreen
from casparian_tui.screens.process import ProcessScreen
from casparian_tui.widgets.attention_panel import AttentionLine

from .conftest import settle

SIZES = [(80, 24), (120, 36)]


def lines(app: CasparianApp) -> list[str]:
    return [str(line.render()) for line in app.screen.query(AttentionLine)]


async def back_home(app: CasparianApp, pilot: Pilot[None]) -> None:
    await pilot.press("alt+p", "escape")  # from a mode's top level, Esc is Home
    await settle(app, pilot)
    assert isinstance(app.screen, HomeScreen)


@pytest.mark.parametrize("size", SIZES)
async def test_unprocessed_files_show_and_1_opens_process_on_their_parser(
    registered: Workspace, size: tuple[int, int]
) -> None:
    app = CasparianApp(registered)
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        assert lines(app) == [
            "1 ! 4 files matched, never processed (invoices)  → Process: r runs them",
            "2 ✓ 0 failed jobs  → Jobs: r retries, w explains",
            "3 ✓ 0 rows in quarantine  → Inspect: R replays after a fix",
            "4 ✓ 0 parsers paused by the breaker  → Process: u resumes",
        ]
        line = app.screen.query_one("#attention-unprocessed")
        assert line.region.height == 1 and line.region.bottom <= size[1] - 1  # above the footer
        await pilot.press("1")
        await settle(app, pilot)
        assert isinstance(app.screen, ProcessScreen)
        assert app.screen.current_parser.name == "invoices"


@pytest.fixture
def troubled(registered: Workspace, tmp_path: Path) -> Workspace:
    """The four invoices processed (one row quarantined) plus a file missing the amount column
    (its job fails), then the parser paused by its circuit breaker."""
    (tmp_path / "batch" / "invoices" / "broken.csv").write_text("id,other\n1,2\n")
    registered.files.scan(tmp_path / "batch")
    registered.jobs.enqueue("invoices")
    registered.jobs.process("invoices", queue_matching=False)
    health = registered.store.health
    for _ in range(health.threshold):
        health.record_failure("invoices", "ParseError: bad header")
    return registered


@pytest.mark.parametrize("size", SIZES)
async def test_failed_jobs_quarantine_and_a_paused_parser_each_open_their_fix(
    troubled: Workspace, size: tuple[int, int]
) -> None:
    app = CasparianApp(troubled)
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        assert lines(app) == [
            "1 ✓ 0 files matched, never processed  → Process: r runs them",
            "2 ! 1 failed job  → Jobs: r retries, w explains",
            "3 ! 1 row in quarantine  → Inspect: R replays after a fix",
            "4 ! 1 parser paused by the breaker (invoices)  → Process: u resumes",
        ]
        await pilot.press("2")
        await settle(app, pilot)
        assert isinstance(app.screen, JobsScreen)
        assert app.screen.status_filter == "failed"
        assert [job.status for job in app.screen.jobs] == ["failed"]
        await back_home(app, pilot)
        await pilot.press("3")
        await settle(app, pilot)
        assert isinstance(app.screen, InspectScreen) and app.screen.quarantine_mode
        await back_home(app, pilot)
        await pilot.click("#attention-paused")
        await settle(app, pilot)
        assert isinstance(app.screen, ProcessScreen)
        assert app.screen.current_parser.name == "invoices"
        assert str(app.screen.query_one("#process-status").render()).startswith(
            "⏸ invoices paused by its circuit breaker"
        )
