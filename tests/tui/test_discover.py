"""Pilot tests of Discover: paging from the store, live filter, multi-select tagging, preview,
details, the engine's suggestion line and scanning a new folder from the TUI."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable
from textual.widgets._toast import Toast
from textual.worker import WorkerFailed

from casparian_engine.workspace import Workspace
from casparian_tui.app import CasparianApp
from casparian_tui.screens.dialogs import DetailsDialog
from casparian_tui.screens.discover import PAGE_SIZE, DiscoverScreen
from casparian_tui.widgets.file_preview import FilePreview

from .conftest import scroll_wheel, settle, write_numbered_files

SIZE = (120, 36)


async def open_discover(app: CasparianApp, pilot: Pilot[None]) -> DiscoverScreen:
    await pilot.press("alt+d")
    await settle(app, pilot)
    assert isinstance(app.screen, DiscoverScreen)
    return app.screen


async def test_list_suggestion_and_live_filter(scanned: Workspace, data_dir: Path) -> None:
    app = CasparianApp(scanned)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(app, pilot)
        assert screen.total == 6
        assert str(screen.query_one("#files-status").render()) == "files 1–6 of 6"
        suggestion = str(screen.query_one("#suggestion").render())
        assert suggestion == "💡 Tag 5 .csv files in invoices/ as 'invoices'?  (a to accept)"
        await pilot.press("slash", *"*.txt")
        await settle(app, pilot)
        assert [r.path for r in screen.page_rows] == [str(data_dir / "readme.txt")]
        assert str(screen.query_one("#files-status").render()) == "files 1–1 of 1"


async def test_space_selects_and_t_tags_the_selection(scanned: Workspace) -> None:
    app = CasparianApp(scanned)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(app, pilot)
        await pilot.press("space", "down", "space")
        await pilot.pause()
        assert str(screen.query_one("#files-status").render()) == "files 1–6 of 6 · 2 selected"
        await pilot.press("t")
        await pilot.pause()
        await pilot.press(*"q1", "enter")
        await settle(app, pilot)
        assert scanned.files.count(tag="q1") == 2
        assert [("q1" in r.tags) for r in screen.page_rows] == [True, True] + [False] * 4
        assert screen.selected_ids == set()


async def test_a_bad_tag_keeps_the_dialog_and_its_text(scanned: Workspace) -> None:
    """An invalid tag name is refused in the dialog, which stays open with the text as typed
    (it used to close and lose it); the corrected name tags the file."""
    from textual.widgets import Input

    from casparian_tui.screens.dialogs import PromptDialog

    app = CasparianApp(scanned)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_discover(app, pilot)
        await pilot.press("t")
        await pilot.pause()
        await pilot.press(*"bad tag!", "enter")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, PromptDialog)
        assert dialog.query_one(Input).value == "bad tag!"
        assert dialog.problem_text == (
            "invalid tag 'bad tag!': use 1-100 characters without spaces or commas"
        )
        assert all(tag.startswith("kind:") for r in screen.page_rows for tag in r.tags)
        await pilot.press("home", "right", "right", "right", "delete", "enter")
        await settle(app, pilot)
        assert app.screen is screen
        assert scanned.files.count(tag="badtag!") == 1


async def test_accepting_the_suggestion_tags_the_group(scanned: Workspace) -> None:
    app = CasparianApp(scanned)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)
        assert scanned.files.count(tag="invoices") == 5
        assert str(screen.query_one("#suggestion").render()) == ""


async def test_preview_and_details(scanned: Workspace, data_dir: Path) -> None:
    app = CasparianApp(scanned)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(app, pilot)
        await pilot.press("p")
        await settle(app, pilot)
        pane = screen.query_one(FilePreview)
        assert pane.header.splitlines() == [
            str(data_dir / "invoices" / "inv0.csv"),
            "csv · 16 B",
            "delimiter ',' · header · utf-8",
            "note: only 1 row sampled; the types are guesses",
        ]
        assert pane.columns() == ["id int64", "amount float64"]
        assert pane.rows() == [["0", "1.5"]]
        await pilot.press("enter")
        await settle(app, pilot)  # the facts are gathered in a worker (the kind is checked)
        assert isinstance(app.screen, DetailsDialog)
        assert app.screen.facts["path"] == str(data_dir / "invoices" / "inv0.csv")
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen


async def wait_for_preview(app: CasparianApp, pilot: Pilot[None], path: Path) -> FilePreview:
    """Wait (for the cursor's rest and the read, not for a time) until ``path`` is previewed."""
    pane = app.screen.query_one(FilePreview)
    for _ in range(2_000):  # a guard against a hang; a healthy run needs a few rounds
        reading = [w for w in app.workers if w.group == "discover-preview" and not w.is_finished]
        if pane.header.startswith(f"{path}\n") and not reading:
            return pane
        await pilot.pause(0.01)
    raise AssertionError(f"{path} was never previewed; the pane shows {pane.header!r}")


async def test_the_preview_follows_the_cursor_and_the_filter(
    scanned: Workspace, data_dir: Path
) -> None:
    app = CasparianApp(scanned)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(app, pilot)
        await wait_for_preview(app, pilot, data_dir / "invoices" / "inv0.csv")
        await pilot.press("down", "down")
        await wait_for_preview(app, pilot, data_dir / "invoices" / "inv2.csv")
        await pilot.press("slash", *"readme.txt", "enter")
        await wait_for_preview(app, pilot, data_dir / "readme.txt")
        assert [r.path for r in screen.page_rows] == [str(data_dir / "readme.txt")]
        await pilot.press("slash", "ctrl+u", *"nothing-like-this", "enter")
        pane = screen.query_one(FilePreview)
        for _ in range(2_000):
            if pane.header == "No file to preview.":
                break
            await pilot.pause(0.01)
        assert pane.header == "No file to preview."
        assert not screen.query_one("#preview-table").display


async def test_the_preview_shows_whole_lines_dialects_gzip_and_empty_files(
    workspace: Workspace, tmp_path: Path
) -> None:
    import gzip

    folder = tmp_path / "kinds"
    folder.mkdir()
    fixed = "HERPEXPORT ACCOUNT 0001  " + "X" * 150
    (folder / "a_fixed.txt").write_text(f"{fixed}\n{fixed}\n")
    (folder / "b_semi.csv").write_text("id;city;amount\n1;Köln am Rhein an der Mosel;2,5\n")
    (folder / "c_zipped.csv.gz").write_bytes(gzip.compress(b"id,name\n1,alpha\n2,beta\n"))
    (folder / "d_empty.csv").write_text("")
    workspace.files.scan(folder)
    app = CasparianApp(workspace)
    async with app.run_test(size=(200, 50)) as pilot:
        await open_discover(app, pilot)
        pane = await wait_for_preview(app, pilot, folder / "a_fixed.txt")
        assert pane.rows() == [[fixed], [fixed]]  # whole: the table scrolls sideways
        await pilot.press("down")
        pane = await wait_for_preview(app, pilot, folder / "b_semi.csv")
        assert pane.header.splitlines()[2].startswith("delimiter ';' · header")
        assert [c.split()[0] for c in pane.columns()] == ["id", "city", "amount"]
        assert pane.rows() == [["1", "Köln am Rhein an der Mosel", "2,5"]]
        await pilot.press("down")
        pane = await wait_for_preview(app, pilot, folder / "c_zipped.csv.gz")
        assert pane.header.splitlines()[1].startswith("csv (gzip) · ")
        assert pane.rows() == [["1", "alpha"], ["2", "beta"]]
        await pilot.press("down")
        pane = await wait_for_preview(app, pilot, folder / "d_empty.csv")
        assert pane.header.splitlines()[1:] == [
            "empty · 0 B",
            "note: the file is empty",
            "empty: nothing to show",
        ]
        assert pane.columns() == [] and pane.rows() == []


async def test_a_folder_with_spaces_and_tag_terms_filter_the_list(
    workspace: Workspace, tmp_path: Path
) -> None:
    """One separator, the comma: 'sub (2)/' is a folder (spaces split it and matched nothing),
    and tag: terms keep tagged files."""
    folder = tmp_path / "spaced"
    (folder / "sub (2)").mkdir(parents=True)
    (folder / "sub (2)" / "a.csv").write_text("id\n1\n")
    (folder / "b.csv").write_text("id\n2\n")
    workspace.files.scan(folder)
    workspace.files.tag([str(folder / "b.csv")], "money")
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(app, pilot)
        await pilot.press("slash", *"sub (2)/")
        await settle(app, pilot)
        assert [r.path for r in screen.page_rows] == [str(folder / "sub (2)" / "a.csv")]
        await pilot.press("ctrl+u", *"tag:money, *.csv")
        await settle(app, pilot)
        assert [r.path for r in screen.page_rows] == [str(folder / "b.csv")]
        await pilot.press("ctrl+u", *"tag:")
        await settle(app, pilot)
        assert (
            screen.error_text == "✗ filter: cannot read 'tag:': it names no tag (e.g. tag:invoices)"
        )
        assert screen.filter_text == "tag"  # the last filter it could read stays in force


async def test_scan_a_new_folder_from_the_tui(workspace: Workspace, data_dir: Path) -> None:
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(app, pilot)
        assert screen.total == 0
        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*str(data_dir), "enter")
        await settle(app, pilot)
        assert str(screen.query_one("#scan-status").render()) == f"{data_dir}: done, 6 files"
        assert screen.total == 6


async def test_scanning_a_missing_folder_is_a_red_error(
    workspace: Workspace, tmp_path: Path
) -> None:
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(app, pilot)
        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*str(tmp_path / "nope"), "enter")
        await settle(app, pilot)
        status = str(screen.query_one("#scan-status").render())
        assert status.startswith(f"{tmp_path / 'nope'}: failed: ")
        assert not screen.query_one("#scan-progress").visible  # no full bar for a failed scan
        assert screen.error_text.startswith(f"✗ scan of {tmp_path / 'nope'} failed: ")


async def test_previewing_a_vanished_file_is_a_red_error(
    scanned: Workspace, data_dir: Path
) -> None:
    app = CasparianApp(scanned)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(app, pilot)
        (data_dir / "invoices" / "inv0.csv").unlink()
        await pilot.press("p")
        with contextlib.suppress(WorkerFailed):  # raised only if still running when awaited
            await app.workers.wait_for_complete()
        await settle(app, pilot)
        assert screen.error_text.startswith("✗ preview: ")
        assert "inv0.csv" in screen.error_text
        assert screen.previewed_path == ""  # p, or coming back to it, reads it again


async def test_cancel_on_the_first_progress_keeps_exactly_the_first_batch(
    workspace: Workspace, tmp_path: Path
) -> None:
    """Progress is applied on the app thread before the scan goes on, so a stop requested on the
    first progress update lands before the second batch: exactly the first batch is kept."""
    from casparian_engine.scout.scan import BATCH_SIZE

    big = tmp_path / "big"
    total = BATCH_SIZE + 1000
    write_numbered_files(big, total)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(app, pilot)
        seen: list[int] = []

        def stop_on_first_progress(what: str) -> None:
            scan = app.service.scan
            if what == "scan" and scan is not None and scan.running and scan.files_seen:
                seen.append(scan.files_seen)
                screen.action_cancel_scan()

        app.service.changed.subscribe(screen, stop_on_first_progress)
        app.service.start_scan(str(big))
        await settle(app, pilot)
        assert len(seen) == 1 and 0 < seen[0] < total  # one progress, then it stopped
        first_batch = seen[0]
        assert app.service.scan is not None
        assert app.service.scan.outcome == f"cancelled after {first_batch:,} files (kept)"
        assert str(screen.query_one("#scan-status").render()) == (
            f"{big}: cancelled after {first_batch:,} files (kept)"
        )
        assert workspace.files.count() == first_batch  # what was reported is what was kept
        assert screen.error_text == ""


def add_files(folder: Path, count: int) -> None:
    folder.mkdir(parents=True)
    for number in range(count):
        (folder / f"x{number:03d}.log").write_text(str(number))


async def test_brackets_page_through_the_store(scanned: Workspace, data_dir: Path) -> None:
    add_files(data_dir / "logs", 144)
    scanned.files.scan(data_dir)
    app = CasparianApp(scanned)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(app, pilot)
        assert screen.total == 150 and len(screen.page_rows) == PAGE_SIZE
        first_page = [r.path for r in screen.page_rows]
        await pilot.press("right_square_bracket")
        await settle(app, pilot)
        assert str(screen.query_one("#files-status").render()) == "files 101–150 of 150"
        assert [r.path for r in screen.page_rows] == [
            r.path for r in scanned.files.list(limit=PAGE_SIZE, offset=100)
        ]
        await pilot.press("right_square_bracket")  # past the end: the last page stays
        await settle(app, pilot)
        assert screen.page_offset == 100
        await pilot.press("left_square_bracket")
        await settle(app, pilot)
        assert str(screen.query_one("#files-status").render()) == "files 1–100 of 150"
        assert [r.path for r in screen.page_rows] == first_page
        await pilot.press("left_square_bracket")  # before the start: nothing changes
        await settle(app, pilot)
        assert screen.page_offset == 0


async def test_click_selects_a_file_and_the_wheel_scrolls(
    scanned: Workspace, data_dir: Path
) -> None:
    add_files(data_dir / "logs", 60)
    scanned.files.scan(data_dir)
    app = CasparianApp(scanned)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(app, pilot)
        table = screen.query_one("#files", DataTable)
        screen.query_one("#filter").focus()
        await pilot.click("#files", offset=(5, 4))  # the header is line 0
        await pilot.pause()
        assert table.has_focus and table.cursor_row == 3
        assert screen.current_record.path == screen.page_rows[3].path
        await scroll_wheel(pilot, "#files")
        assert table.scroll_y > 0
        assert table.cursor_row == 3  # the wheel scrolls; it does not move the selection


async def test_paths_are_cut_on_the_left_and_tags_and_size_stay_in_view(
    scanned: Workspace, data_dir: Path
) -> None:
    app = CasparianApp(scanned)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(app, pilot)
        table = screen.query_one("#files", DataTable)
        assert table.max_scroll_x == 0  # every column fits: nothing hides off to the right
        labels = [str(column.label) for column in table.columns.values()]
        assert labels == ["✓", "path", "tags", "size", "parent", "depth"]
        first = [str(cell) for cell in table.get_row_at(0)]
        assert first[1].startswith("…/") and first[1].endswith("/data/invoices/inv0.csv")
        assert len(first[1]) <= table.ordered_columns[1].width
        assert first[2:5] == ["kind:csv", "16 B", "invoices"]


@pytest.fixture
def utc_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is UTC for the test (and the process's zone is restored after it)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("utc_clock")
async def test_details_show_dates_sizes_and_tags_for_people(
    scanned: Workspace, data_dir: Path
) -> None:
    target = data_dir / "invoices" / "inv0.csv"
    target.write_text("id,amount\n" + "".join(f"{n},1.5\n" for n in range(300)))
    os.utime(target, ns=(1672703970000000000, 1672703970000000000))
    scanned.files.scan(data_dir)
    scanned.files.tag([scanned.files.list(pattern="/invoices/inv0.csv")[0].id], "invoices")
    record = scanned.files.list(pattern="/invoices/inv0.csv")[0]
    app = CasparianApp(scanned)
    async with app.run_test(size=SIZE) as pilot:
        await open_discover(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, DetailsDialog)
        seen = [
            datetime.fromtimestamp(t, UTC).isoformat(sep=" ", timespec="seconds")
            for t in (record.first_seen, record.last_seen)
        ]
        assert app.screen.facts == {
            "path": str(target),
            "size": "2.2 KB (2,300 bytes)",
            "modified": "2023-01-02 23:59:30+00:00",
            "kind": "csv",
            "tags": "invoices, kind:csv",
            "sha256": record.sha256,
            "first seen": seen[0],
            "last seen": seen[1],
            "file id": str(record.id),
        }
        body = str(app.screen.query_one("#details-body").render())
        assert "deleted" not in body and "None" not in body and "[" not in body


async def test_details_say_both_kinds_when_scan_and_preview_disagree(
    workspace: Workspace, tmp_path: Path
) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    lines = "".join(f"2024-01-01T10:00:{n:02d},INFO,started {n}\n" for n in range(20))
    (folder / "events.dat").write_text(lines)
    workspace.files.scan(folder)
    assert workspace.files.list()[0].kind == "log"
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await open_discover(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, DetailsDialog)
        assert app.screen.facts["kind"] == "log (from the scan) · csv (from the preview)"
        assert app.screen.facts["tags"] == "kind:log"


async def test_details_of_a_vanished_file_say_why_the_kind_is_unchecked(
    scanned: Workspace, data_dir: Path
) -> None:
    app = CasparianApp(scanned)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(app, pilot)
        (data_dir / "invoices" / "inv0.csv").unlink()
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, DetailsDialog)
        facts = app.screen.facts
        assert facts["kind"] == "csv"
        assert facts["preview"].startswith("could not read the file: ")
        assert "inv0.csv" in facts["preview"]
        assert screen.error_text == ""


async def test_a_later_good_scan_clears_the_failed_scan_error(
    workspace: Workspace, data_dir: Path, tmp_path: Path
) -> None:
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discover(app, pilot)
        for folder in (tmp_path / "nope", data_dir):
            await pilot.press("n")
            await pilot.pause()
            await pilot.press(*str(folder), "enter")
            await settle(app, pilot)
        assert str(screen.query_one("#scan-status").render()) == f"{data_dir}: done, 6 files"
        assert screen.query_one("#scan-progress").visible
        assert screen.error_text == ""


async def test_tagging_one_file_says_file(scanned: Workspace) -> None:
    app = CasparianApp(scanned)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_discover(app, pilot)
        await pilot.press("t")
        await pilot.pause()
        await pilot.press(*"one", "enter")
        await settle(app, pilot)
        toasts = [str(toast.render()) for toast in screen.query(Toast)]
        assert toasts == ["Tagged 1 file as 'one'"]
