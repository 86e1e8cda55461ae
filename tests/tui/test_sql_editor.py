"""Pilot tests of the SQL editor itself: SQL highlighted in the app theme's colours, and the
completion list that follows the cursor as a person types."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rich.style import Style
from textual.color import Color
from textual.pilot import Pilot

from casparian_engine.workspace import Workspace
from casparian_tui.app import CasparianApp
from casparian_tui.screens.inspect import InspectScreen
from casparian_tui.theme import CASPARIAN_THEME
from casparian_tui.widgets.result_grid import ResultGrid
from casparian_tui.widgets.sql_completion import CompletionList, names_to_offer
from casparian_tui.widgets.sql_editor import SqlEditor

from .conftest import settle
from .test_inspect import open_inspect, write_output
from .test_inspect_sql import status

SIZE = (120, 36)


def styled_words(editor: SqlEditor, line: int) -> dict[str, Style]:
    """Each word shown on an editor line, with the style it is drawn in."""
    return {
        segment.text.strip(): segment.style or Style()
        for segment in editor.render_line(line)
        if segment.text.strip()
    }


async def test_sql_is_highlighted_in_the_app_themes_colours(workspace: Workspace) -> None:
    write_output(workspace)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        editor = screen.query_one(SqlEditor)
        assert editor.language is None  # Inspect is built without compiling the SQL highlighting
        await pilot.press("s")
        await pilot.pause()
        assert editor.language == "sql"
        editor.load_text("SELECT vendor, 'x', 5 FROM lines WHERE amount > 2.5 -- big\n")
        editor.move_cursor(editor.document.end)  # the cursor's cell is not on the line looked at
        await pilot.pause()
        colours = CASPARIAN_THEME.to_color_system().generate()

        def drawn(variable: str, **options: bool) -> Style:
            return Style(
                color=Color.parse(colours[variable]).rich_color,
                bgcolor=Color.parse(colours["surface"]).rich_color,  # the editor's CSS background
                **options,
            )

        words = styled_words(editor, 0)
        assert words == {
            "SELECT": drawn("primary", bold=True),
            "vendor,": drawn("foreground"),  # a column: the text colour
            "'x'": drawn("success"),
            ",": drawn("foreground"),
            "5": drawn("secondary"),
            "FROM": drawn("primary", bold=True),
            "lines": drawn("accent", bold=True),  # a table
            "WHERE": drawn("primary", bold=True),
            "amount >": drawn("foreground"),
            "2.5": drawn("secondary"),
            "-- big": drawn("foreground-darken-2", italic=True),
        }


async def test_the_highlighting_follows_a_change_of_app_theme(workspace: Workspace) -> None:
    from textual.theme import BUILTIN_THEMES

    write_output(workspace)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        await pilot.press("s")
        editor = screen.query_one(SqlEditor)
        editor.load_text("SELECT 1\n")
        editor.move_cursor(editor.document.end)
        app.theme = "gruvbox"
        await pilot.pause()
        primary = BUILTIN_THEMES["gruvbox"].to_color_system().generate()["primary"]
        assert editor.theme == "sql-gruvbox"
        assert styled_words(editor, 0)["SELECT"].color == Color.parse(primary).rich_color


def write_payments(workspace: Workspace) -> None:
    """A second output beside test_inspect's lines (amount, vendor): payments (payment_id,
    amount, paid_on)."""
    folder = workspace.config.output_dir / "bank" / "payments"
    folder.mkdir(parents=True)
    table = pa.table(
        {
            "payment_id": pa.array(range(3), pa.int64()),
            "amount": pa.array([1.0, 2.0, 3.0]),
            "paid_on": pa.array([date(2026, 1, day) for day in (1, 2, 3)]),
        }
    )
    pq.write_table(table, folder / "part-0.parquet")


def offered(screen: InspectScreen) -> list[str]:
    """The completion list's lines as shown (name, then where it is from), or [] if hidden."""
    listing = screen.query_one(CompletionList)
    if not listing.display:
        return []
    return [str(option.prompt) for option in listing.options]


async def open_editor(app: CasparianApp, pilot: Pilot[None]) -> tuple[InspectScreen, SqlEditor]:
    """Inspect with its editor open and emptied, the catalog's names known."""
    screen = await open_inspect(app, pilot)
    await pilot.press("s")
    await pilot.pause()
    editor = screen.query_one(SqlEditor)
    assert sorted(editor.names) == ["lines", "payments", "quarantine"]
    editor.select_all()
    await pilot.press("delete")
    return screen, editor


async def test_the_list_follows_the_cursor_and_takes_a_name_with_enter_or_tab(
    workspace: Workspace,
) -> None:
    write_output(workspace)
    write_payments(workspace)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen, editor = await open_editor(app, pilot)
        await pilot.press(*"SELECT * FROM p")
        assert offered(screen) == ["payments  table"]  # after FROM: tables
        listing = screen.query_one(CompletionList)
        await pilot.pause()
        cursor = editor.cursor_screen_offset
        assert (listing.region.x, listing.region.y) == (cursor.x - 1, cursor.y + 1)  # under 'p'
        await pilot.press("enter")
        assert editor.text == "SELECT * FROM payments" and offered(screen) == []
        await pilot.press(*" WHERE pa")  # the columns of the table the query reads
        assert offered(screen) == ["paid_on  payments", "payment_id  payments"]
        await pilot.press("down", "tab")
        assert editor.text == "SELECT * FROM payments WHERE payment_id"
        await pilot.press(*" > 1 AND a")
        assert offered(screen) == ["amount  payments"]  # not lines' amount: not read here
        await pilot.press("backspace")  # the word is gone: nothing to complete
        assert offered(screen) == []
        assert (
            editor.has_focus and editor.text == "SELECT * FROM payments WHERE payment_id > 1 AND "
        )


async def test_a_name_taken_inside_a_word_replaces_the_whole_word(workspace: Workspace) -> None:
    write_output(workspace)
    write_payments(workspace)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen, editor = await open_editor(app, pilot)
        editor.insert("SELECT amount FROM payments")
        editor.move_cursor((0, len("SELECT am")))
        await pilot.press("tab")  # the cursor sits inside 'amount': only payments' amount fits
        assert editor.text == "SELECT amount FROM payments"
        assert editor.cursor_location == (0, len("SELECT amount"))
        editor.load_text("SELECT payment_id FROM payments")
        editor.move_cursor((0, len("SELECT pa")))
        await pilot.press("tab")  # paid_on and payment_id fit 'pa'
        assert offered(screen) == ["paid_on  payments", "payment_id  payments"]
        await pilot.press("enter")
        assert editor.text == "SELECT paid_on FROM payments" and offered(screen) == []


async def test_escape_closes_the_list_and_stays_in_the_editor(workspace: Workspace) -> None:
    write_output(workspace)
    write_payments(workspace)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen, editor = await open_editor(app, pilot)
        await pilot.press(*"SELECT v")
        assert offered(screen) == ["vendor  lines", "violations  quarantine"]  # no FROM yet
        await pilot.press("escape")
        await pilot.pause()
        assert offered(screen) == [] and editor.has_focus and editor.text == "SELECT v"
        assert app.current_mode == "inspect"
        await pilot.press("escape")  # now Esc leaves the editor, as before
        await pilot.pause()
        assert not editor.has_focus and screen.query_one("#rows", ResultGrid).has_focus


async def test_a_click_on_a_name_takes_it(workspace: Workspace) -> None:
    write_output(workspace)
    write_payments(workspace)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen, editor = await open_editor(app, pilot)
        await pilot.press(*"SELECT ")
        editor.insert(" FROM lines l JOIN payments p ON l.amount = p.amount")
        editor.move_cursor((0, len("SELECT ")))
        await pilot.press(*"p.")  # an alias: that table's columns
        assert offered(screen) == ["amount  payments", "paid_on  payments", "payment_id  payments"]
        await pilot.pause()
        await pilot.click(CompletionList, offset=(2, 1))  # the second line: paid_on
        await pilot.pause()
        assert editor.text.startswith("SELECT p.paid_on FROM lines l JOIN")
        assert offered(screen) == [] and editor.has_focus


async def test_up_and_down_move_in_the_list_not_the_cursor(workspace: Workspace) -> None:
    write_output(workspace)
    write_payments(workspace)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen, editor = await open_editor(app, pilot)
        await pilot.press(*"SELECT 1", "enter", *"FROM lines", "enter", *"WHERE lines.")
        assert offered(screen) == ["amount  lines", "vendor  lines"]
        await pilot.press("down", "enter")
        assert editor.text == "SELECT 1\nFROM lines\nWHERE lines.vendor"
        assert editor.cursor_location == (2, len("WHERE lines.vendor"))
        await pilot.press("up")  # the list is closed: up moves the cursor again
        assert editor.cursor_location[0] == 1


async def test_typing_reads_no_catalog(workspace: Workspace) -> None:
    """The names come from the catalog once per view shown; typing starts no worker."""
    from textual.worker import Worker

    write_output(workspace)
    write_payments(workspace)
    started: list[str] = []

    def hook(message: object) -> None:
        if isinstance(message, Worker.StateChanged):
            started.append(message.worker.name)

    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        screen, _editor = await open_editor(app, pilot)
        await settle(app, pilot)
        started.clear()
        await pilot.press(*"SELECT amount, paid_on FROM payments WHERE pa", "tab")
        await pilot.pause()
        assert started == []


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ("SELECT * FROM l", "", ["lines"]),
        ("SELECT * FROM lines, p", "", ["payments"]),
        ("SELECT * FROM lines JOIN pay", "", ["payments"]),
        ("SELECT * FROM lines l", "", None),  # an alias is being named
        ("SELECT amount AS a", "", None),  # a new name
        ("SELECT * FROM lines LIMIT 1", "", None),
        ("SELECT * FROM lines WHERE vendor = 'a", "", None),  # in a string
        ("SELECT * FROM lines -- a", "", None),  # in a comment
        ("SELECT a", " FROM payments", ["amount"]),  # the FROM after the cursor counts
        ("SELECT x AS y, pa", " FROM payments", ["paid_on", "payment_id"]),
        ("SELECT q.", " FROM payments AS q", ["amount", "paid_on", "payment_id"]),
        ('SELECT * FROM "pa', "", ["payments"]),
        ("SELECT p", "", ["paid_on", "payment_id", "payments"]),  # no FROM: tables, every column
        ("SELECT * FROM (SELECT v", " FROM lines) AS t", ["vendor"]),
        ("SELECT amount", " FROM lines", None),  # typed whole: nothing to add
        ("SELECT 'a", "bc' FROM lines", None),  # in a string the cursor splits
        ("SELECT /* a", " */ FROM lines", None),  # in a comment the cursor splits
        ("SELECT /* a */ v", " FROM lines", ["vendor"]),  # past a comment
        ("SELECT 'it''s' AS s, v", " FROM lines", ["vendor"]),  # past a string with a quote
        ("SELECT 1\n-- from payments\nFROM l", "", ["lines"]),  # a comment names nothing
        ("SELECT v", " FROM lines -- " + "x" * 100_000, None),  # longer than MAX_TEXT_READ
    ],
)
def test_what_is_offered_where(before: str, after: str, expected: list[str] | None) -> None:
    names = {"lines": ["amount", "vendor"], "payments": ["payment_id", "amount", "paid_on"]}
    found = names_to_offer(before, before + after, names)
    assert (None if found is None else [name for name, _ in found.names]) == expected


async def test_the_quarantine_is_offered_before_any_query_ran(
    workspace: Workspace, tmp_path: Path
) -> None:
    from .test_quarantine import quarantine_file

    write_output(workspace)
    quarantine_file(workspace, tmp_path / "meters.csv", 4)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspect(app, pilot)
        await pilot.press("s")
        await settle(app, pilot)  # the names, the quarantine's too, are read once
        editor = screen.query_one(SqlEditor)
        editor.select_all()
        await pilot.press("delete", *"SELECT * FROM q")
        assert offered(screen) == ["quarantine  table"]
        await pilot.press("tab", *" WHERE source_r")
        assert offered(screen) == ["source_row  quarantine"]
        await pilot.press("escape", "escape", "o")  # the list, the editor; the table sorted
        await settle(app, pilot)
        assert status(screen) == "lines sorted by amount ↑: rows 1–11 of 250"
        assert sorted(editor.names) == ["lines", "quarantine"]  # a table's view keeps them
