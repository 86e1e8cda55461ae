"""Discover with file names that look like markup, the gitignore filter typed in the TUI, paging
by quick key presses, depth below the source root, the footer's room and the keys that used to do
nothing silently. Every test reads the exact text shown and checks the app is still running."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from textual.content import Content
from textual.widgets import DataTable, Static
from textual.widgets._toast import Toast

from casparian_engine.workspace import Workspace
from casparian_tui.actions import REGISTRY
from casparian_tui.app import CasparianApp
from casparian_tui.screens.dialogs import DetailsDialog
from casparian_tui.screens.discover import EMPTY_HINT, PAGE_SIZE
from casparian_tui.widgets.ai_sidebar import AISidebar
from casparian_tui.widgets.file_preview import FilePreview
from casparian_tui.widgets.key_footer import KeyFooter

from .conftest import settle, text_of
from .test_discover import open_discover

SIZE = (120, 36)
ODD_NAMES = ("x[=<y].csv", "Q1 [final].csv", "[@click=app.quit].csv", "[b]bold.csv")


@pytest.fixture
def odd_root(tmp_path: Path) -> Path:
    """A folder whose names look like markup, one of them in a folder named '[dir=<1]', and a
    gzip file (previewed decompressed)."""
    root = tmp_path / "odd"
    (root / "[dir=<1]").mkdir(parents=True)
    for name in ODD_NAMES:
        (root / name).write_text("id,note\n1,[red]x[/red]\n")
    (root / "[dir=<1]" / "x[=<y].csv").write_text("id\n1\n")
    (root / "archive.csv.gz").write_bytes(gzip.compress(b"a,b\n[/]\n" * 50, mtime=0))
    return root


async def test_markup_like_names_show_literally_everywhere(
    workspace: Workspace, odd_root: Path
) -> None:
    workspace.files.scan(odd_root)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(app, pilot)
        expected = sorted([*(str(odd_root / n) for n in ODD_NAMES),
                           str(odd_root / "[dir=<1]" / "x[=<y].csv"),
                           str(odd_root / "archive.csv.gz")])  # fmt: skip
        assert [r.path for r in screen.page_rows] == expected
        await pilot.press("alt+a")  # the sidebar's context line follows the cursor
        await pilot.pause()
        await pilot.press("escape")  # the chat gives the focus back to the list
        await pilot.pause()
        sidebar = screen.query_one(AISidebar)
        context = screen.query_one("#ai-context", Static)
        for row, path in enumerate(expected):
            screen.query_one("#files", DataTable).move_cursor(row=row)
            await pilot.pause()
            assert sidebar.selection == path
            assert text_of(context) == f"Context: discover · {path}"
            await pilot.press("p")
            await settle(app, pilot)
            assert screen.query_one(FilePreview).header.splitlines()[0] == path
            assert app.is_running
        gz_row = expected.index(str(odd_root / "archive.csv.gz"))  # previewed decompressed
        screen.query_one("#files", DataTable).move_cursor(row=gz_row)
        await pilot.press("p")
        await settle(app, pilot)
        pane = screen.query_one(FilePreview)
        assert pane.header.splitlines()[:2] == [
            str(odd_root / "archive.csv.gz"),
            "csv (gzip) · 33 B",
        ]
        assert pane.rows()[0] == ["a", "b"]
        screen.query_one("#files", DataTable).move_cursor(row=expected.index(
            str(odd_root / "[@click=app.quit].csv")))  # fmt: skip
        await pilot.press("p")
        await settle(app, pilot)
        assert [c.split()[0] for c in screen.query_one(FilePreview).columns()] == ["id", "note"]
        assert screen.query_one(FilePreview).rows() == [["1", "[red]x[/red]"]]
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, DetailsDialog)
        body = text_of(app.screen.query_one("#details-body", Static))
        assert body.splitlines()[0] == f"path        {odd_root / '[@click=app.quit].csv'}"
        assert text_of(app.screen.query_one(".panel-title", Static)) == "[@click=app.quit].csv"
        await pilot.press("escape")
        await pilot.pause()
        assert app.is_running and app.screen is screen


def test_palette_help_is_literal_for_every_registry_entry() -> None:
    for spec in REGISTRY:
        shown = Content.from_markup(spec.palette_help).plain
        assert shown == f"{spec.help}  [{spec.keys_for_people}]"


FILES = ("top.csv", "logs/app.log", "logs/old/app.csv", "legacy/a.csv", "invoices/a.csv",
         "invoices/2024/b.csv", "clone/readme.md")  # fmt: skip


@pytest.fixture
def tree(workspace: Workspace, tmp_path: Path) -> Path:
    root = tmp_path / "clone" / "src"  # "clone" is above the source root: never matched
    for name in FILES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("a\n")
    workspace.files.scan(root)
    return root


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("logs/, legacy/", ["legacy/a.csv", "logs/app.log", "logs/old/app.csv"]),
        ("logs/ , legacy/", ["legacy/a.csv", "logs/app.log", "logs/old/app.csv"]),
        ("!*.csv", ["clone/readme.md", "logs/app.log"]),
        ("clone", ["clone/readme.md"]),
        ("invoices/*.csv", ["invoices/a.csv"]),
        ("invoices/**/*.csv", ["invoices/2024/b.csv", "invoices/a.csv"]),
    ],
)
async def test_the_filter_is_gitignore_style(
    workspace: Workspace, tree: Path, typed: str, expected: list[str]
) -> None:
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(app, pilot)
        await pilot.press("slash", *typed)
        await settle(app, pilot)
        assert [r.path for r in screen.page_rows] == [str(tree / name) for name in expected]
        count = len(expected)
        assert text_of(screen.query_one("#files-status", Static)) == f"files 1–{count} of {count}"


async def test_an_unreadable_pattern_is_a_red_error_and_keeps_the_last_list(
    workspace: Workspace, tree: Path
) -> None:
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(app, pilot)
        await pilot.press("slash", *"logs/, [x\\")
        await settle(app, pilot)
        assert (
            screen.error_text
            == "✗ filter: cannot read pattern '[x\\\\': it ends in a lone '\\' (write '\\\\' for a "
            "backslash)"
        )
        assert [r.path for r in screen.page_rows] == [
            str(tree / "logs/app.log"), str(tree / "logs/old/app.csv")]  # fmt: skip
        await pilot.press("backspace", "backspace", "backspace")
        await settle(app, pilot)
        assert screen.error_text == ""
        assert app.is_running


async def test_no_match_and_empty_store_say_so(workspace: Workspace, tree: Path) -> None:
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(app, pilot)
        await pilot.press("slash", *"*.parquet")
        await settle(app, pilot)
        assert text_of(screen.query_one("#files-status", Static)) == "No file matches the filter."


async def test_an_empty_inventory_says_how_to_scan_and_keys_say_why_they_do_nothing(
    workspace: Workspace,
) -> None:
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_discover(app, pilot)
        assert text_of(screen.query_one("#files-status", Static)) == EMPTY_HINT
        assert EMPTY_HINT == "No files yet: press n to scan a folder."
        for key in ("x", "a", "t"):
            await pilot.press(key)
            await pilot.pause()
        toasts = [str(toast.render()) for toast in screen.query(Toast)]
        assert toasts == [
            "No scan is running.",
            "No tag suggestion to accept.",
            "No file to tag: the list is empty.",
        ]
        assert app.is_running


async def test_quick_page_presses_each_move_a_page(workspace: Workspace, tmp_path: Path) -> None:
    root = tmp_path / "many"
    root.mkdir()
    for number in range(350):
        (root / f"f{number:03d}.log").write_text("x")
    workspace.files.scan(root)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(app, pilot)
        for _ in range(3):  # three presses before any page arrives
            screen.action_page(1)
        await settle(app, pilot)
        assert screen.page_offset == 3 * PAGE_SIZE
        assert text_of(screen.query_one("#files-status", Static)) == "files 301–350 of 350"
        assert [r.path for r in screen.page_rows] == [
            str(root / f"f{n:03d}.log") for n in range(300, 350)]  # fmt: skip
        for _ in range(5):  # more presses than pages: it stops at the first page
            screen.action_page(-1)
        await settle(app, pilot)
        assert screen.page_offset == 0
        assert text_of(screen.query_one("#files-status", Static)) == "files 1–100 of 350"


async def test_depth_counts_from_the_source_root(workspace: Workspace, tree: Path) -> None:
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(app, pilot)
        table = screen.query_one("#files", DataTable)
        depths = {r.path: str(table.get_row_at(i)[5]) for i, r in enumerate(screen.page_rows)}
        assert depths == {
            str(tree / "clone/readme.md"): "1",
            str(tree / "invoices/2024/b.csv"): "2",
            str(tree / "invoices/a.csv"): "1",
            str(tree / "legacy/a.csv"): "1",
            str(tree / "logs/app.log"): "1",
            str(tree / "logs/old/app.csv"): "2",
            str(tree / "top.csv"): "0",
        }


async def test_the_list_keeps_the_focus_after_preview(workspace: Workspace, tree: Path) -> None:
    (tree / "top.csv").write_text("a\n" + "1\n" * 200)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(app, pilot)
        table = screen.query_one("#files", DataTable)
        await pilot.press("slash", *"*.csv", "tab", "p")
        await settle(app, pilot)
        assert table.has_focus
        await pilot.press("down", "space")
        await pilot.pause()
        assert table.cursor_row == 1
        assert screen.selected_ids == {screen.page_rows[1].id}


async def test_the_footer_fits_the_mode_keys_and_the_key_global_ones(
    workspace: Workspace, tree: Path
) -> None:
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(app, pilot)
        footer = str(screen.query_one(KeyFooter).render())
        assert footer.split("▏")[0].split() == [
            "/", "Filter", "space", "Select", "t", "Tag", "p", "Preview", "n", "Scan", "x", "Stop",
            "a", "Accept", "]", "Next", "[", "Prev", "alt+a", "AI", "?", "Help",
        ]  # fmt: skip
        assert footer.endswith("▏^p palette ")


async def test_beside_the_ai_sidebar_depth_and_parent_give_way_to_the_path(
    workspace: Workspace, tree: Path
) -> None:
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(app, pilot)
        table = screen.query_one("#files", DataTable)
        await pilot.press("alt+a")
        await settle(app, pilot)
        await pilot.pause()
        labels = [str(column.label) for column in table.columns.values()]
        assert labels == ["✓", "path", "tags", "size"]
        assert table.max_scroll_x == 0  # nothing hides off to the right
        await pilot.press("alt+a")
        await settle(app, pilot)
        await pilot.pause()
        labels = [str(column.label) for column in table.columns.values()]
        assert labels == ["✓", "path", "tags", "size", "parent", "depth"]
