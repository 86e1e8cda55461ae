"""Snapshots at 120×36 with fixed data: a fresh home at a fixed path, a fixed clock.

Every snapshot waits for the exact state it shows (no worker pending, the final data on screen),
periodic refreshes are off, and the fixed paths are held under a lock, so snapshot tests taking
turns across pytest-xdist workers (or concurrent runs) never delete each other's home.
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import DataTable
from textual.worker import WorkerCancelled, WorkerState

from casparian_engine.ai import NoneProvider
from casparian_engine.workspace import Workspace
from casparian_tui.app import CasparianApp
from casparian_tui.screens.base import ModeScreen
from casparian_tui.screens.contract_proposal import ContractProposalScreen
from casparian_tui.screens.dialogs import ReviewDialog
from casparian_tui.screens.discover import DiscoverScreen
from casparian_tui.screens.help import HelpScreen
from casparian_tui.screens.inspect import InspectScreen
from casparian_tui.screens.jobs import JobsScreen
from casparian_tui.screens.process import ProcessScreen
from casparian_tui.widgets.ai_sidebar import AISidebar
from casparian_tui.widgets.mode_card import ModeCard

FIXED_HOME = Path("/tmp/casparian-snapshot-home")
FIXED_DATA = Path("/tmp/casparian-snapshot-data")
FIXED_PATHS_LOCK = Path("/tmp/casparian-snapshot-paths.lock")
SIZE = (120, 36)
SETTLE_DEADLINE_S = 120.0  # a guard against a hang, never reached by a healthy run


@pytest.fixture
def fixed_paths() -> Iterator[None]:
    """Hold the fixed snapshot paths for the whole test: other holders wait their turn."""
    with FIXED_PATHS_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture
def fixed_workspace(
    fixed_paths: None, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[Workspace]:
    """The workspace at the fixed home; a test marked ``no_model`` has no model configured."""
    shutil.rmtree(FIXED_HOME, ignore_errors=True)
    monkeypatch.delenv("CASPARIAN_HOME", raising=False)
    if request.node.get_closest_marker("no_model"):
        monkeypatch.setenv("CASPARIAN_AI_PROVIDER", "none")
    else:
        monkeypatch.delenv("CASPARIAN_AI_PROVIDER", raising=False)
    workspace = Workspace.open(FIXED_HOME)
    try:
        yield workspace
    finally:
        workspace.close()
        shutil.rmtree(FIXED_HOME, ignore_errors=True)


def snapshot_app(workspace: Workspace, now: float = 0.0) -> CasparianApp:
    """The app with a fixed clock and no periodic refreshes firing during a capture."""
    return CasparianApp(workspace, clock=lambda: now, live_refresh=False)


def workers_busy(pilot: Pilot[None]) -> bool:
    return any(w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in pilot.app.workers)


async def settle(pilot: Pilot[None], shown: Callable[[], bool] = lambda: True) -> None:
    """Wait until no worker is pending or running, their messages are handled and ``shown()``
    holds (chained loads such as table → stats → rows finish in turn)."""
    deadline = time.monotonic() + SETTLE_DEADLINE_S
    while True:
        with contextlib.suppress(WorkerCancelled):  # a reload replaced it: wait for the rest
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()  # handles every message already queued on the app and the screen
        if not workers_busy(pilot) and shown():
            await pilot.pause()
            return
        if time.monotonic() > deadline:
            raise AssertionError("the screen never reached the state this snapshot shows")


async def open_mode(pilot: Pilot[None], key: str, kind: type[ModeScreen]) -> Screen[object]:
    """Press a mode's key and wait until its screen is the one shown (under load the switch
    lands a few frames after the key)."""
    await pilot.press(key)
    await settle(pilot, lambda: isinstance(pilot.app.screen, kind))
    return pilot.app.screen


def text_of(screen: Screen[object], selector: str) -> str:
    """The plain text a Static (or any simple widget) shows."""
    return str(screen.query_one(selector).render())


def home_figures_shown(pilot: Pilot[None]) -> bool:
    """Every Home card shows its live figure (not the '…' placeholder) and "Needs you" shows its
    figures."""
    app = pilot.app
    assert isinstance(app, CasparianApp)
    home = app.screen_stack[0]
    cards = list(home.query(ModeCard))
    return (
        len(cards) == 4
        and all(card.figure != "…" for card in cards)
        and getattr(home, "attention", None) is not None
        and app.current_mode == "home"
    )


def test_home(snap_compare, fixed_workspace: Workspace) -> None:  # type: ignore[no-untyped-def]
    async def home_shown(pilot: Pilot[None]) -> None:
        await settle(pilot, lambda: home_figures_shown(pilot))

    app = snapshot_app(fixed_workspace)
    assert snap_compare(app, terminal_size=SIZE, run_before=home_shown)


def test_home_with_ai_sidebar(snap_compare, fixed_workspace: Workspace) -> None:  # type: ignore[no-untyped-def]
    async def open_sidebar(pilot: Pilot[None]) -> None:
        await settle(pilot, lambda: home_figures_shown(pilot))
        await pilot.press("alt+a")
        await settle(pilot, lambda: pilot.app.screen.query_one(AISidebar).display is True)

    app = snapshot_app(fixed_workspace)
    assert snap_compare(app, terminal_size=SIZE, run_before=open_sidebar)


def test_ai_sidebar_with_a_tool_call(snap_compare, fixed_workspace: Workspace) -> None:  # type: ignore[no-untyped-def]
    """A restored conversation: a question, a query_output call (its block, collapsed) and the
    answer in Markdown, beside Home at 120x36."""
    import json

    from casparian_engine.ai import ChatMessage, ToolCall
    from casparian_engine.ai.history import History

    call = ToolCall("t1", "query_output", {"sql": "SELECT currency, count(*) FROM invoices"})
    result = {"columns": ["currency", "count"], "rows": [{"currency": "EUR", "count": 41}]}
    result["row_count"] = 1
    History(fixed_workspace.config.home).extend(
        [
            ChatMessage("user", "How many invoices per currency?"),
            ChatMessage("assistant", "", (call,)),
            ChatMessage("tool", json.dumps(result), tool_call_id="t1", tool_name="query_output"),
            ChatMessage("assistant", "**41** invoices, all in `EUR`."),
        ]
    )

    async def open_sidebar(pilot: Pilot[None]) -> None:
        await settle(pilot, lambda: home_figures_shown(pilot))
        await pilot.press("alt+a")
        await settle(pilot, lambda: pilot.app.screen.query_one(AISidebar).display is True)

    app = snapshot_app(fixed_workspace)
    assert snap_compare(app, terminal_size=SIZE, run_before=open_sidebar)


def test_help(snap_compare, fixed_workspace: Workspace) -> None:  # type: ignore[no-untyped-def]
    async def open_help(pilot: Pilot[None]) -> None:
        await settle(pilot, lambda: home_figures_shown(pilot))
        await pilot.press("question_mark")
        await settle(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))

    app = snapshot_app(fixed_workspace)
    assert snap_compare(app, terminal_size=SIZE, run_before=open_help)


@pytest.fixture
def fixed_data(fixed_paths: None) -> Iterator[Path]:
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


@pytest.mark.no_model  # the hint would be the local model's words (its Pilot tests cover them)
def test_discover_with_preview(snap_compare, fixed_workspace: Workspace, fixed_data: Path) -> None:  # type: ignore[no-untyped-def]
    fixed_workspace.files.scan(fixed_data)
    first_file = str(fixed_data / "invoices" / "inv0.csv")

    async def open_discover(pilot: Pilot[None]) -> None:
        screen = await open_mode(pilot, "alt+d", DiscoverScreen)

        def listed() -> bool:
            return (
                screen.query_one("#files", DataTable).row_count == 6
                and text_of(screen, "#files-status") == "files 1–6 of 6"
                and text_of(screen, "#suggestion").startswith("💡 Tag 5")
            )

        await settle(pilot, listed)
        await pilot.press("space", "p")

        def selected_and_previewed() -> bool:
            return text_of(screen, "#files-status").endswith("· 1 selected") and text_of(
                screen, "#preview"
            ).startswith(first_file)

        await settle(pilot, selected_and_previewed)

    app = snapshot_app(fixed_workspace)
    # The engine's hint for the selection: a model's wording of it would come when it is done.
    app.service.ai.provider = NoneProvider("no model in this snapshot")
    assert snap_compare(app, terminal_size=SIZE, run_before=open_discover)


def test_process_with_an_error(snap_compare, fixed_workspace: Workspace, fixed_data: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.engine.registration_support import make_parser

    fixed_workspace.parsers.register(make_parser(fixed_data / "parser"))
    fixed_workspace.files.scan(fixed_data / "invoices")

    async def stop_idle(pilot: Pilot[None]) -> None:
        screen = await open_mode(pilot, "alt+p", ProcessScreen)
        assert isinstance(screen, ModeScreen)

        def parser_listed() -> bool:
            return screen.query_one("#parsers-table", DataTable).row_count == 1 and text_of(
                screen, "#parser-files-title"
            ).startswith("invoices matches")

        await settle(pilot, parser_listed)
        await pilot.press("s")
        await settle(pilot, lambda: "not running" in screen.error_text)

    app = snapshot_app(fixed_workspace)
    assert snap_compare(app, terminal_size=SIZE, run_before=stop_idle)


def test_inspect_table(snap_compare, fixed_workspace: Workspace) -> None:  # type: ignore[no-untyped-def]
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = fixed_workspace.config.output_dir / "invoices" / "lines"
    folder.mkdir(parents=True)
    amounts = pa.array([float(i) for i in range(40)])
    vendors = pa.array(["acme" if i % 5 else "zeta" for i in range(40)])
    pq.write_table(pa.table({"amount": amounts, "vendor": vendors}), folder / "part-0.parquet")

    async def open_inspect(pilot: Pilot[None]) -> None:
        screen = await open_mode(pilot, "alt+i", InspectScreen)

        def stats_and_rows_shown() -> bool:
            stats = screen.query_one("#stats", DataTable)
            return (
                stats.row_count == 2
                and bool(stats.border_title)
                and text_of(screen, "#histogram").startswith("amount")
                and text_of(screen, "#inspect-status") == "lines: rows 1–14 of 40"
                and len(screen.query("#rows")) == 1
            )

        await settle(pilot, stats_and_rows_shown)

    app = snapshot_app(fixed_workspace)
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

    async def expand_failed(pilot: Pilot[None]) -> None:
        screen = await open_mode(pilot, "alt+j", JobsScreen)

        def listed() -> bool:
            table = screen.query_one("#jobs-table", DataTable)
            return table.row_count == 2 and text_of(screen, "#jobs-status") != ""

        await settle(pilot, listed)
        await pilot.press("j", "enter")
        await settle(pilot, lambda: text_of(screen, "#job-detail").startswith(f"job {failed_id} "))

    app = snapshot_app(fixed_workspace, now=200.0)
    assert snap_compare(app, terminal_size=SIZE, run_before=expand_failed)


def test_inspect_quarantine(snap_compare, fixed_workspace: Workspace, fixed_data: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.tui.test_quarantine import quarantine_file

    quarantine_file(fixed_workspace, fixed_data / "meters.csv", 4)

    async def open_quarantine(pilot: Pilot[None]) -> None:
        screen = await open_mode(pilot, "alt+i", InspectScreen)
        await settle(pilot, lambda: text_of(screen, "#inspect-status").startswith("No output"))
        await pilot.press("Q")

        def rows_and_source_line_shown() -> bool:
            return (
                screen.query_one("#quarantine-list", DataTable).row_count == 4
                and text_of(screen, "#inspect-status") == "quarantine: rows 1–4 of 4"
                and text_of(screen, "#source-line").startswith("source line 2")
            )

        await settle(pilot, rows_and_source_line_shown)

    app = snapshot_app(fixed_workspace)
    assert snap_compare(app, terminal_size=SIZE, run_before=open_quarantine)


# --- the workflow's dialogs at 80x24 and 120x36: Discover's contract proposal (c) and its
# approval diff (A) ---
WORKFLOW_SIZES = [(80, 24), (120, 36)]


async def open_proposal(pilot: Pilot[None]) -> None:
    screen = await open_mode(pilot, "alt+d", DiscoverScreen)
    await settle(pilot, lambda: screen.query_one("#files", DataTable).row_count == 6)
    await pilot.press("space", "down", "space", "c")
    await settle(pilot, lambda: isinstance(pilot.app.screen, ContractProposalScreen))
    await settle(pilot)


@pytest.mark.parametrize("size", WORKFLOW_SIZES, ids=["80x24", "120x36"])
def test_contract_proposal(  # type: ignore[no-untyped-def]
    snap_compare, fixed_workspace: Workspace, fixed_data: Path, size: tuple[int, int]
) -> None:
    fixed_workspace.files.scan(fixed_data)
    app = snapshot_app(fixed_workspace)
    app.service.ai.provider = NoneProvider("no model: the hint behind the dialog stays")
    assert snap_compare(app, terminal_size=size, run_before=open_proposal)


@pytest.mark.parametrize("size", WORKFLOW_SIZES, ids=["80x24", "120x36"])
def test_contract_approval_diff(  # type: ignore[no-untyped-def]
    snap_compare, fixed_workspace: Workspace, fixed_data: Path, size: tuple[int, int]
) -> None:
    fixed_workspace.files.scan(fixed_data)

    async def open_diff(pilot: Pilot[None]) -> None:
        await open_proposal(pilot)
        await pilot.press("A")
        await settle(pilot, lambda: isinstance(pilot.app.screen, ReviewDialog))

    app = snapshot_app(fixed_workspace)
    app.service.ai.provider = NoneProvider("no model: the hint behind the dialog stays")
    assert snap_compare(app, terminal_size=size, run_before=open_diff)
