"""Pilot tests of quarantine browsing in Inspect: keyset pages, reasons and values, the source
line read from the file beside them, a moved source file, and keys refused while browsing."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from textual.pilot import Pilot
from textual.widgets import DataTable

from casparian_engine.contracts import SchemaContract, validate
from casparian_engine.runner.quarantine import RowLineage, StoreQuarantineWriter
from casparian_engine.workspace import Workspace
from casparian_tui.app import CasparianApp
from casparian_tui.screens.inspect import QUARANTINE_PAGE, InspectScreen

from .conftest import scroll_wheel, settle

SIZE = (120, 36)
METERS = SchemaContract.from_dict(
    {
        "name": "meters",
        "columns": [
            {"name": "id", "type": "int64", "nullable": False},
            {"name": "reading", "type": "float64", "max": 100},
        ],
    }
)


def quarantine_file(workspace: Workspace, source: Path, bad_rows: int, unit: str = "line") -> None:
    """A real CSV whose every data row breaks the contract, validated and quarantined for real.

    With ``unit="row"`` the pointers are stored as the executor's row positions would be."""
    lines = ["id,reading"] + [f"{i},{'150' if i % 2 else 'x'}" for i in range(bad_rows)]
    source.write_text("\n".join(lines) + "\n")
    table = pa.table(
        {
            "id": [str(i) for i in range(bad_rows)],
            "reading": ["150" if i % 2 else "x" for i in range(bad_rows)],
            # lines: line 1 is the header; rows: the executor counts the parser's rows from 1
            "_cf_row": [i + (2 if unit == "line" else 1) for i in range(bad_rows)],
        }
    )
    result = validate(table, METERS)
    lineage = RowLineage(
        str(source), "abc", 7, "meters", "1.0", "meters", METERS.content_hash, unit
    )
    StoreQuarantineWriter(workspace.store).write(result.quarantined, lineage)


async def open_quarantine(app: CasparianApp, pilot: Pilot[None]) -> InspectScreen:
    await pilot.press("alt+i")
    await settle(app, pilot)
    assert isinstance(app.screen, InspectScreen)
    await pilot.press("Q")
    await settle(app, pilot)
    return app.screen


def text_of(screen: InspectScreen, selector: str) -> str:
    return str(screen.query_one(selector).render())


async def test_rows_reasons_values_and_source_line(workspace: Workspace, tmp_path: Path) -> None:
    source = tmp_path / "m.csv"
    quarantine_file(workspace, source, 3)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_quarantine(app, pilot)
        assert screen.quarantine_mode and screen.query_one("#quarantine-pane").display
        assert not screen.query_one("#outputs-view").display
        assert text_of(screen, "#inspect-status") == "quarantine: rows 1–3 of 3"
        table = screen.query_one("#quarantine-list", DataTable)
        assert [str(c) for c in table.get_row_at(0)] == [
            str(screen.quarantine_rows[0].id),
            "meters",
            "meters",
            "cast:reading",
            "m.csv line 2",
        ]
        detail = text_of(screen, "#quarantine-detail").splitlines()
        assert detail[1] == f"source  line 2 of {source}"
        assert detail[2:4] == ["reasons", "  reading: cast — not a valid float64"]
        assert detail[4:] == ["values", "  id = '0'", "  reading = 'x'"]
        assert text_of(screen, "#source-line") == "source line 2\n  0,x"
        await pilot.press("down")
        await settle(app, pilot)
        assert text_of(screen, "#source-line") == "source line 3\n  1,150"
        assert "  reading: range — above maximum 100" in text_of(screen, "#quarantine-detail")
        await pilot.press("q")
        await settle(app, pilot)
        assert not screen.quarantine_mode and screen.query_one("#outputs-view").display


async def test_a_row_pointer_says_row_and_why_the_line_may_differ(
    workspace: Workspace, tmp_path: Path
) -> None:
    source = tmp_path / "m.csv"
    quarantine_file(workspace, source, 2, unit="row")
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_quarantine(app, pilot)
        table = screen.query_one("#quarantine-list", DataTable)
        assert [str(c) for c in table.get_row_at(0)][4] == "m.csv row 1"
        assert [str(c) for c in table.get_row_at(1)][4] == "m.csv row 2"
        detail = text_of(screen, "#quarantine-detail").splitlines()
        assert detail[1] == f"source  row 1 of {source}"
        assert text_of(screen, "#source-line") == (
            "source line 1\n  id,reading\nrow 1 is the parser's row count, not a line number: "
            "a header or a row spanning lines puts the row further down"
        )


async def test_a_moved_source_file_is_said_plainly(workspace: Workspace, tmp_path: Path) -> None:
    source = tmp_path / "m.csv"
    quarantine_file(workspace, source, 2)
    source.rename(tmp_path / "elsewhere.csv")
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_quarantine(app, pilot)
        assert text_of(screen, "#source-line") == (
            f"source line 2\n{source}: the source file is no longer there (moved or deleted "
            "since it was processed); the quarantined values are still kept"
        )
        assert "  reading = 'x'" in text_of(screen, "#quarantine-detail")
        assert screen.error_text == ""


async def test_keyset_pages_click_and_scroll(workspace: Workspace, tmp_path: Path) -> None:
    quarantine_file(workspace, tmp_path / "m.csv", QUARANTINE_PAGE + 12)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_quarantine(app, pilot)
        total = QUARANTINE_PAGE + 12
        assert text_of(screen, "#inspect-status") == f"quarantine: rows 1–50 of {total}"
        first_page_ids = [r.id for r in screen.quarantine_rows]
        await pilot.press("right_square_bracket")
        await settle(app, pilot)
        assert text_of(screen, "#inspect-status") == f"quarantine: rows 51–{total} of {total}"
        assert screen.quarantine_rows[0].id == first_page_ids[-1] + 1
        await pilot.press("right_square_bracket")  # no further page: nothing changes
        await settle(app, pilot)
        assert len(screen.quarantine_rows) == 12
        await pilot.press("left_square_bracket")
        await settle(app, pilot)
        assert [r.id for r in screen.quarantine_rows] == first_page_ids
        table = screen.query_one("#quarantine-list", DataTable)
        await pilot.click("#quarantine-list", offset=(3, 4))
        await settle(app, pilot)
        assert table.cursor_row == 3
        assert text_of(screen, "#source-line") == "source line 5\n  3,150"
        await scroll_wheel(pilot, "#quarantine-list")
        assert table.scroll_y > 0


async def test_filter_and_export_are_refused_while_browsing(
    workspace: Workspace, tmp_path: Path
) -> None:
    quarantine_file(workspace, tmp_path / "m.csv", 1)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_quarantine(app, pilot)
        await pilot.press("f")
        await pilot.pause()
        assert screen.error_text == "✗ f filters output tables: press Esc to leave quarantine first"
        await pilot.press("e")
        await pilot.pause()
        assert screen.error_text == "✗ e exports output tables: press Esc to leave quarantine first"
        assert app.screen is screen


async def test_quick_page_presses_each_move_one_page(workspace: Workspace, tmp_path: Path) -> None:
    """A page's first id is known only when the page before it arrives: presses made while a
    page loads are queued, so none is lost and none loads the same page twice."""
    total = 3 * QUARANTINE_PAGE + 5
    quarantine_file(workspace, tmp_path / "m.csv", total)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_quarantine(app, pilot)
        first_id = screen.quarantine_rows[0].id
        screen.action_page(1)  # three presses before any page arrives
        screen.action_page(1)
        screen.action_page(1)
        for _ in range(3):  # each arriving page starts the next queued one
            await settle(app, pilot)
        assert text_of(screen, "#inspect-status") == f"quarantine: rows 151–{total} of {total}"
        assert [r.id for r in screen.quarantine_rows] == list(range(first_id + 150, first_id + 155))
        screen.action_page(-1)
        screen.action_page(-1)
        await settle(app, pilot)
        assert text_of(screen, "#inspect-status") == f"quarantine: rows 51–100 of {total}"
        assert screen.quarantine_rows[0].id == first_id + 50
        screen.action_page(1)
        screen.action_page(1)
        screen.action_page(-1)  # takes back the queued second press
        for _ in range(2):
            await settle(app, pilot)
        assert text_of(screen, "#inspect-status") == f"quarantine: rows 101–150 of {total}"
