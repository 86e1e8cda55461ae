"""Quarantine actions in the app: replay after a fix from Inspect's quarantine (every row of the
output or one row), each asked first with what will change; the audit view; untagging files."""

from __future__ import annotations

from pathlib import Path

import pytest

from casparian_engine.contracts import SchemaContract
from casparian_engine.workspace import QuarantineFilter, Workspace
from casparian_tui.app import CasparianApp
from casparian_tui.screens.dialogs import ChoiceDialog, ReviewDialog
from casparian_tui.screens.inspect import InspectScreen

from .conftest import press_each, settle

SIZES = [(80, 24), (120, 36)]
AMOUNT_AS_TEXT = """\
name: invoices
columns:
  - name: id
    type: int64
    nullable: false
  - name: amount
    type: string
"""


@pytest.fixture
def fixed(registered: Workspace) -> Workspace:
    """The invoices processed (inv0.csv's amount 'x' quarantined), then the fix: a contract
    version reading amount as text, approved."""
    registered.jobs.enqueue("invoices")
    registered.jobs.process("invoices", queue_matching=False)
    assert registered.quarantine.count(QuarantineFilter()) == 1
    registered.contracts.approve(SchemaContract.from_yaml(AMOUNT_AS_TEXT, "fix.yaml"))
    return registered


@pytest.mark.parametrize(("size", "choice"), [((80, 24), "o"), ((120, 36), "a")])
async def test_r_replays_after_a_fix_once_asked(
    fixed: Workspace, size: tuple[int, int], choice: str
) -> None:
    notes: list[str] = []
    app = CasparianApp(fixed)
    async with app.run_test(size=size) as pilot:
        app.notify = lambda message, **_: notes.append(message)  # type: ignore[method-assign]
        await press_each(app, pilot, "alt+i", "Q")
        screen = app.screen
        assert isinstance(screen, InspectScreen) and len(screen.quarantine_rows) == 1
        row = screen.quarantine_rows[0]
        await pilot.press("R")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, ChoiceDialog)
        assert dialog.question == "Replay quarantined rows of invoices → invoices after a fix:"
        assert dialog.choices == {
            "a": "every quarantined row of invoices → invoices (1 row)",
            "o": f"only row {row.id} (inv0.csv row 2)",
        }
        assert dialog.query_one("#choice-o").region.right <= size[0]
        await pilot.press(choice)
        await settle(app, pilot)
        preview = app.screen  # a dry run's counts first: nothing has moved yet
        assert isinstance(preview, ReviewDialog)
        assert fixed.quarantine.count(QuarantineFilter()) == 1
        scope = f"row {row.id}" if choice == "o" else "invoices → invoices"
        assert str(preview.query_one("#review-title").render()) == (
            f"Replay {scope}: move 1 row into the output?"
        )
        body = str(preview.query_one("#review-body").render()).splitlines()
        assert body[0] == (
            "invoices → invoices: 1 row re-checked against invoices v2: 1 would pass and move "
            "into the output, 0 would still fail and stay quarantined"
        )
        assert preview.query_one("#review-hint").region.bottom <= size[1]
        await pilot.press("y")
        await settle(app, pilot)
        assert app.screen is screen
        assert notes[-1] == (
            f"replayed {scope}: 1 row re-checked against invoices v2, 1 moved into "
            "invoices/invoices, 0 still quarantined"
        )
        assert screen.quarantine_rows == [] and screen.error_text == ""
        assert fixed.quarantine.count(QuarantineFilter()) == 0
        replays = fixed.audit.entries(action="quarantine.replay")
        assert [entry.details.get("rows_moved") for entry in replays] == [1]


async def test_n_replays_nothing(fixed: Workspace) -> None:
    app = CasparianApp(fixed)
    async with app.run_test(size=SIZES[0]) as pilot:
        await press_each(app, pilot, "alt+i", "Q", "R", "n")
        assert isinstance(app.screen, InspectScreen)
        assert fixed.quarantine.count(QuarantineFilter()) == 1
        await pilot.press("R")  # every row, counted, then no at the counts
        await settle(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)
        assert isinstance(app.screen, ReviewDialog)
        await pilot.press("n")
        await settle(app, pilot)
        assert isinstance(app.screen, InspectScreen)
        assert fixed.quarantine.count(QuarantineFilter()) == 1
        assert fixed.audit.entries(action="quarantine.replay") == []


async def test_the_preview_counts_rows_that_would_still_fail_before_the_fix(
    registered: Workspace,
) -> None:
    registered.jobs.enqueue("invoices")
    registered.jobs.process("invoices", queue_matching=False)
    app = CasparianApp(registered)
    async with app.run_test(size=(80, 24)) as pilot:
        await press_each(app, pilot, "alt+i", "Q", "R", "a")
        preview = app.screen
        assert isinstance(preview, ReviewDialog)
        assert str(preview.query_one("#review-title").render()) == (
            "Replay invoices → invoices: move 0 rows into the output?"
        )
        body = str(preview.query_one("#review-body").render()).splitlines()
        assert body[0] == (
            "invoices → invoices: 1 row re-checked against invoices v1: 0 would pass and move "
            "into the output, 1 would still fail and stay quarantined"
        )
        await pilot.press("y")  # a replay that moves nothing is allowed, and says so
        await settle(app, pilot)
        assert isinstance(app.screen, InspectScreen)
        assert registered.quarantine.count(QuarantineFilter()) == 1
        assert [n.message for n in app._notifications][-1] == (
            "replayed invoices → invoices: 1 row re-checked against invoices v1, 0 moved into "
            "invoices/invoices, 1 still quarantined"
        )


@pytest.mark.parametrize("size", SIZES)
async def test_a_in_jobs_shows_who_did_what_filtered_as_typed(
    fixed: Workspace, size: tuple[int, int]
) -> None:
    from casparian_tui.screens.audit import AuditScreen
    from casparian_tui.screens.dialogs import DetailsDialog

    fixed.quarantine.replay(QuarantineFilter(parser_name="invoices"))
    user = fixed.audit.entries(action="quarantine.replay")[0].os_user
    everything = fixed.audit.entries(limit=500)
    app = CasparianApp(fixed)
    async with app.run_test(size=size) as pilot:
        await press_each(app, pilot, "alt+j", "A")
        audit = app.screen
        assert isinstance(audit, AuditScreen)
        assert [e.id for e in audit.entries] == [e.id for e in everything]
        status = str(audit.query_one("#audit-status").render())
        assert status.startswith(f"{len(everything)} entries · Enter shows one")
        await pilot.press("slash", *"REPLAY")
        await settle(app, pilot)
        assert [e.action for e in audit.entries] == ["quarantine.replay"]
        table = audit.query_one("#audit-table")
        row = [str(c) for c in table.get_row_at(0)]  # type: ignore[attr-defined]
        assert row[1:] == [user, "quarantine.replay", "invoices/invoices"]
        assert str(audit.query_one("#audit-status").render()).startswith(
            "1 entry containing 'REPLAY' · "
        )
        await pilot.press("enter", "enter")  # leave the filter, then open the entry
        await settle(app, pilot)
        details = app.screen
        assert isinstance(details, DetailsDialog)
        assert details.facts["action"] == "quarantine.replay" and details.facts["rows_moved"] == "1"
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert app.current_mode == "jobs" and not isinstance(app.screen, AuditScreen)


@pytest.mark.parametrize("size", SIZES)
async def test_u_in_discover_removes_a_tag_once_confirmed(
    scanned: Workspace, data_dir: Path, size: tuple[int, int]
) -> None:
    from casparian_tui.screens.dialogs import ConfirmDialog, PromptDialog
    from casparian_tui.screens.discover import DiscoverScreen

    scanned.files.tag([str(data_dir / "invoices")], "invoices")
    notes: list[str] = []
    app = CasparianApp(scanned)
    async with app.run_test(size=size) as pilot:
        app.notify = lambda message, **_: notes.append(message)  # type: ignore[method-assign]
        await pilot.press("alt+d")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, DiscoverScreen)
        first, second = screen.page_rows[0], screen.page_rows[1]
        assert "invoices" in first.tags and "invoices" in second.tags
        await pilot.press("space", "down", "space", "u")
        await settle(app, pilot)
        prompt = app.screen
        assert isinstance(prompt, PromptDialog)
        assert prompt.title_text == "Remove which tag from 2 files?"
        assert prompt.initial_value == "invoices"  # the first tag the selection carries
        await pilot.press("enter")
        await settle(app, pilot)
        confirm = app.screen
        assert isinstance(confirm, ConfirmDialog)
        assert confirm.question == (
            "Remove tag 'invoices' from 2 files (2 of the 2 on this page carry it)? Files "
            "without it stay as they are; the change is audited."
        )
        await pilot.press("y")
        await settle(app, pilot)
        assert app.screen is screen
        assert notes[-1] == "Removed tag 'invoices' from 2 files"
        assert scanned.files.count(tag="invoices") == 3
        assert [e.subject for e in scanned.audit.entries(action="files.untagged")] == ["invoices"]
        refreshed = {record.id: record.tags for record in screen.page_rows}
        assert "invoices" not in refreshed[first.id] and "invoices" not in refreshed[second.id]
