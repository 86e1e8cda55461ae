"""Snapshots at 120×36 with fixed data: a fresh home at a fixed path, a fixed clock."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from casparian_engine.workspace import Workspace
from casparian_tui.app import CasparianApp

FIXED_HOME = Path("/tmp/casparian-snapshot-home")
SIZE = (120, 36)


@pytest.fixture
def fixed_workspace(monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    shutil.rmtree(FIXED_HOME, ignore_errors=True)
    for name in ("CASPARIAN_HOME", "CASPARIAN_AI_PROVIDER"):
        monkeypatch.delenv(name, raising=False)
    workspace = Workspace.open(FIXED_HOME)
    try:
        yield workspace
    finally:
        workspace.close()
        shutil.rmtree(FIXED_HOME, ignore_errors=True)


async def settle(pilot: Pilot[None]) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def settle_until(pilot: Pilot[None], shown: Callable[[], bool], rounds: int = 20) -> None:
    """Settle until ``shown()`` holds: chained workers (table → stats → rows) finish in turn."""
    for _ in range(rounds):
        await settle(pilot)
        if shown():
            return
    raise AssertionError("the screen never reached the state this snapshot shows")


def test_home(snap_compare, fixed_workspace: Workspace) -> None:  # type: ignore[no-untyped-def]
    app = CasparianApp(fixed_workspace, clock=lambda: 0.0)
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_home_with_ai_sidebar(snap_compare, fixed_workspace: Workspace) -> None:  # type: ignore[no-untyped-def]
    app = CasparianApp(fixed_workspace, clock=lambda: 0.0)

    async def open_sidebar(pilot: Pilot[None]) -> None:
        await pilot.press("alt+a")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=open_sidebar)


def test_help(snap_compare, fixed_workspace: Workspace) -> None:  # type: ignore[no-untyped-def]
    app = CasparianApp(fixed_workspace, clock=lambda: 0.0)

    async def open_help(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=open_help)


FIXED_DATA = Path("/tmp/casparian-snapshot-data")


@pytest.fixture
def fixed_data() -> Iterator[Path]:
    """Fixed files at a fixed path: five invoices, a readme, and a parser folder."""
    shutil.rmtree(FIXED_DATA, ignore_errors=True)
    (FIXED_DATA / "invoices").mkdir(parents=True)
    for number in range(5):
        (FIXED_DATA / "invoices" / f"inv{number}.csv").write_text(f"id,amount\n{number},1.5\n")
    (FIXED_DATA / "readme.txt").write_text("hello from the readme\n")
    try:
        yield FIXED_DATA
    finally:
        shutil.rmtree(FIXED_DATA, ignore_errors=True)


def test_discover_with_preview(snap_compare, fixed_workspace: Workspace, fixed_data: Path) -> None:  # type: ignore[no-untyped-def]
    fixed_workspace.scan(fixed_data)
    app = CasparianApp(fixed_workspace, clock=lambda: 0.0)

    async def open_discover(pilot: Pilot[None]) -> None:
        await pilot.press("alt+d")
        await settle(pilot)
        await pilot.press("space", "p")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=open_discover)


def test_process_with_an_error(snap_compare, fixed_workspace: Workspace, fixed_data: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.engine.registration_support import make_parser

    fixed_workspace.register_parser(make_parser(fixed_data / "parser"))
    fixed_workspace.scan(fixed_data / "invoices")
    app = CasparianApp(fixed_workspace, clock=lambda: 0.0)

    async def stop_idle(pilot: Pilot[None]) -> None:
        await pilot.press("alt+p")
        await settle(pilot)
        await pilot.press("s")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=stop_idle)


def test_inspect_table(snap_compare, fixed_workspace: Workspace) -> None:  # type: ignore[no-untyped-def]
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = fixed_workspace.config.output_dir / "invoices" / "lines"
    folder.mkdir(parents=True)
    amounts = pa.array([float(i) for i in range(40)])
    vendors = pa.array(["acme" if i % 5 else "zeta" for i in range(40)])
    pq.write_table(pa.table({"amount": amounts, "vendor": vendors}), folder / "part-0.parquet")
    app = CasparianApp(fixed_workspace, clock=lambda: 0.0)

    async def open_inspect(pilot: Pilot[None]) -> None:
        await pilot.press("alt+i")
        screen = pilot.app.screen

        def stats_and_rows_shown() -> bool:
            stats = screen.query_one("#stats", DataTable)
            histogram = str(screen.query_one("#histogram").render())
            status = str(screen.query_one("#inspect-status").render())
            return (
                stats.row_count == 2
                and bool(stats.border_title)
                and histogram.startswith("amount")
                and status == "lines: rows 1–40 of 40"
            )

        await settle_until(pilot, stats_and_rows_shown)

    assert snap_compare(app, terminal_size=SIZE, run_before=open_inspect)


def test_jobs_expanded(snap_compare, fixed_workspace: Workspace) -> None:  # type: ignore[no-untyped-def]
    from casparian_engine.store.job_models import JobFailure, NewJob

    jobs = fixed_workspace.store.jobs
    failed_id, _queued_id = jobs.enqueue(
        [NewJob("invoices", "1.0", "/data/a.csv"), NewJob("invoices", "1.0", "/data/b.csv")],
        skip_processed=False,
    )
    lease = jobs.claim("snapshot-worker", limit=1)
    jobs.fail(failed_id, lease.token, JobFailure("ParseError", "bad header in a.csv", trace="T"))
    fixed_workspace.store.db.execute(  # fixed times, so the duration column is fixed too
        "UPDATE cf_jobs SET started_at = 100.0, finished_at = 103.5 WHERE id = ?", (failed_id,)
    )
    app = CasparianApp(fixed_workspace, clock=lambda: 200.0)

    async def expand_failed(pilot: Pilot[None]) -> None:
        await pilot.press("alt+j")
        await settle(pilot)
        await pilot.press("j", "enter")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=expand_failed)


def test_inspect_quarantine(snap_compare, fixed_workspace: Workspace, fixed_data: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.tui.test_quarantine import quarantine_file

    quarantine_file(fixed_workspace, fixed_data / "meters.csv", 4)
    app = CasparianApp(fixed_workspace, clock=lambda: 0.0)

    async def open_quarantine(pilot: Pilot[None]) -> None:
        await pilot.press("alt+i")
        await settle(pilot)
        await pilot.press("q")
        for _ in range(3):
            await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=open_quarantine)
