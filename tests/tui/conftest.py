"""Fixtures for Pilot tests: a workspace with a small scanned folder of real files."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from textual import events
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Static

from casparian_engine.workspace import Workspace
from casparian_tui.app import CasparianApp
from casparian_tui.screens.dialogs import ReviewDialog
from casparian_tui.screens.register_dialog import RegisterDialog

ScreenT = TypeVar("ScreenT", bound=Screen[Any])


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    (root / "invoices").mkdir(parents=True)
    for number in range(5):
        (root / "invoices" / f"inv{number}.csv").write_text(f"id,amount\n{number},1.5\n")
    (root / "readme.txt").write_text("hello from the readme\n")
    return root


@pytest.fixture
def scanned(workspace: Workspace, data_dir: Path) -> Workspace:
    workspace.files.scan(data_dir)
    return workspace


@pytest.fixture
def registered(workspace: Workspace, tmp_path: Path) -> Workspace:
    """A registered invoices parser (a real, uv-locked folder, its contract approved) over four
    scanned invoice files; inv0.csv has one row whose amount breaks the contract (quarantined)."""
    from tests.engine.registration_support import make_parser

    invoices = tmp_path / "batch" / "invoices"
    invoices.mkdir(parents=True)
    (invoices / "inv0.csv").write_text("id,amount\n1,2.5\n2,x\n")
    for number in range(1, 4):
        (invoices / f"inv{number}.csv").write_text(f"id,amount\n{number + 10},1.5\n")
    parser = make_parser(tmp_path / "parser")
    workspace.parsers.register(parser)
    approve_contract(workspace, parser / "invoices.contract.yaml")
    workspace.files.scan(tmp_path / "batch")
    return workspace


def approve_contract(workspace: Workspace, contract_file: Path) -> None:
    """Approve a parser's contract, as `casparian schema approve` does (prod runs require it)."""
    from casparian_engine.contracts import SchemaContract

    text = contract_file.read_text()
    workspace.contracts.approve(SchemaContract.from_yaml(text, str(contract_file)))


def write_numbered_files(root: Path, count: int, per_folder: int = 500) -> None:
    """``count`` small text files under ``root``, ``per_folder`` to a folder (a scan big
    enough to report progress more than once)."""
    for number in range(count):
        folder = root / f"d{number // per_folder:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{number:05d}.txt").write_text(str(number))


async def settle(app: CasparianApp, pilot: Pilot[None], rounds: int = 4) -> None:
    """Wait for every worker of the app and its screens, each in turn, and for the messages they
    posted: a worker that a newer request replaced ends cancelled, one that failed shows its
    error on screen (tests assert what the screen says); neither stops the wait."""
    from textual.worker import WorkerCancelled, WorkerFailed

    for _ in range(rounds):
        for worker in list(app.workers):
            with contextlib.suppress(WorkerCancelled, WorkerFailed):
                await worker.wait()
        await pilot.pause()


async def press_each(app: CasparianApp, pilot: Pilot[None], *keys: str) -> None:
    """Press each key in turn, waiting after each for the work it starts (``settle``)."""
    for key in keys:
        await pilot.press(key)
        await settle(app, pilot)


async def home_settled(app: CasparianApp, pilot: Pilot[None]) -> None:
    """Wait until Home shows its figures and "Needs you"."""
    from textual.worker import WorkerCancelled, WorkerFailed

    from casparian_tui.screens.home import HomeScreen

    while True:
        with contextlib.suppress(WorkerCancelled, WorkerFailed):
            await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        if isinstance(screen, HomeScreen) and screen.attention is not None:
            return


async def mode_shown(pilot: Pilot[None], key: str, kind: type[Screen[object]]) -> Screen[object]:
    """Press a mode's key and wait until its screen is shown (a first visit builds it)."""
    await pilot.press(key)
    while not isinstance(pilot.app.screen, kind):
        await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    return pilot.app.screen


async def scroll_wheel(pilot: Pilot[None], selector: str, notches: int = 3) -> None:
    """Turn the mouse wheel down over a widget (Pilot has click but no scroll helper)."""
    for _ in range(notches):
        await pilot._post_mouse_events([events.MouseScrollDown], selector, offset=(2, 2))
    await pilot.pause()


def text_of(widget: Widget) -> str:
    """What a widget shows, as plain text."""
    return str(widget.render())


def table_rows(table: DataTable[object]) -> list[list[str]]:
    """A DataTable's rows as the strings it shows."""
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def on_screen(app: CasparianApp, selector: str) -> bool:
    """Whether a widget of the shown screen lies wholly inside the terminal."""
    widget = app.screen.query_one(selector)
    region = widget.region
    width, height = app.size
    return (
        region.width > 0 and region.height > 0 and region.right <= width and region.bottom <= height
    )


@dataclass(frozen=True)
class Review:
    """A review dialog on screen (what a person is asked before a change) and what it says."""

    dialog: ReviewDialog | RegisterDialog
    title: str
    body: list[str]


async def screen_opened_by(
    app: CasparianApp, pilot: Pilot[None], kind: type[ScreenT], *keys: str
) -> ScreenT:
    """Press ``keys``, wait for the work they start, and return the screen of ``kind`` they
    opened."""
    await pilot.press(*keys)
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, kind), f"{keys} opened {screen!r}, not a {kind.__name__}"
    return screen


async def review_opened_by(app: CasparianApp, pilot: Pilot[None], *keys: str) -> Review:
    """Press ``keys``, wait for the work they start, and read the review dialog they opened."""
    await pilot.press(*keys)
    await settle(app, pilot)
    dialog = app.screen
    assert isinstance(dialog, ReviewDialog | RegisterDialog), f"{keys} opened {dialog!r}"
    title = text_of(dialog.query_one("#review-title", Static))
    return Review(dialog, title, text_of(dialog.query_one("#review-body", Static)).splitlines())
