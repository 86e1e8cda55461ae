"""Pilot tests of Process: parsers with matched counts, paged matched files, r runs through the
real worker pool (live progress, errors, quarantine), s stops, runs survive mode switches."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import DataTable, ProgressBar
from textual.widgets._progress_bar import PercentageStatus

from casparian_engine.workspace import Workspace
from casparian_tui.app import CasparianApp
from casparian_tui.messages import RunProgressed
from casparian_tui.screens.dialogs import DetailsDialog
from casparian_tui.screens.process import NO_PARSERS, ProcessScreen
from casparian_tui.widgets.run_progress import RunProgress

from .conftest import scroll_wheel, settle, table_rows

SIZE = (120, 36)


async def open_process(app: CasparianApp, pilot: Pilot[None]) -> ProcessScreen:
    await pilot.press("alt+p")
    await settle(app, pilot)
    assert isinstance(app.screen, ProcessScreen)
    return app.screen


def cells(screen: ProcessScreen, table_id: str) -> list[list[str]]:
    return table_rows(screen.query_one(table_id, DataTable))


async def test_parsers_files_and_a_run_with_quarantine(registered: Workspace) -> None:
    app = CasparianApp(registered)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_process(app, pilot)
        assert cells(screen, "#parsers-table") == [["invoices", "1.0.0", "4", "never run", ""]]
        title = str(screen.query_one("#parser-files-title").render())
        assert title == "invoices matches 4 files · 1–4"
        assert sorted(Path(p).name for p in screen.file_paths) == [f"inv{n}.csv" for n in range(4)]
        await pilot.press("r")
        await settle(app, pilot)
        state = app.service.runs["invoices"]
        assert (state.running, state.done, state.total) == (False, 4, 4)
        assert (state.failed, state.quarantined_rows) == (0, 1)
        assert state.outcome == "done: 4 files, 4 rows, 0 failed, 1 quarantined"
        assert screen.error_text == "" and not app._notifications  # r said nothing else
        label = str(screen.query_one(RunProgress).query_one(".run-label").render())
        assert label == "invoices · done, 4 rows written · 4/4 files · 0 failed · 1 row quarantined"
        assert cells(screen, "#parsers-table") == [
            ["invoices", "1.0.0", "4", "⚠ warnings", "⚠ done"]
        ]
        assert registered.jobs.counts().by_status == {"completed": 3, "completed_with_warnings": 1}
        assert str(screen.query_one("#process-status").render()) == (
            "invoices: ⚠ completed with warnings · 1 file with warnings · 1 row quarantined"
        )


async def test_stop_from_the_first_progress_event_keeps_the_rest_queued(
    registered: Workspace,
) -> None:
    app = CasparianApp(registered)

    def stop_on_first_progress(message: Message) -> None:
        if isinstance(message, RunProgressed) and isinstance(app.screen, ProcessScreen):
            app.screen.action_stop_parser()

    async with app.run_test(size=SIZE, message_hook=stop_on_first_progress) as pilot:
        await open_process(app, pilot)
        await pilot.press("r")
        await settle(app, pilot)
        state = app.service.runs["invoices"]
        assert not state.running and state.outcome.startswith("stopped: ")
        counts = registered.jobs.counts().by_status
        finished = counts.get("completed", 0) + counts.get("completed_with_warnings", 0)
        assert finished + counts.get("queued", 0) == 4  # stopped, nothing lost


async def test_s_on_an_idle_parser_is_a_red_error(registered: Workspace) -> None:
    app = CasparianApp(registered)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_process(app, pilot)
        await pilot.press("s")
        await pilot.pause()
        assert screen.error_text == "✗ invoices is not running: r starts it"
        assert registered.jobs.counts().by_status == {}


async def test_r_with_no_parser_registered(workspace: Workspace) -> None:
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_process(app, pilot)
        assert str(screen.query_one("#process-status").render()) == NO_PARSERS
        await pilot.press("r")
        await pilot.pause()
        assert screen.error_text == f"✗ {NO_PARSERS}"
        assert app.service.runs == {}


async def test_a_run_survives_switching_modes(registered: Workspace) -> None:
    app = CasparianApp(registered)
    async with app.run_test(size=SIZE) as pilot:
        await open_process(app, pilot)
        await pilot.press("r", "escape")
        assert app.current_mode == "home"
        await settle(app, pilot)
        screen = await open_process(app, pilot)
        label = str(screen.query_one(RunProgress).query_one(".run-label").render())
        assert label == "invoices · done, 4 rows written · 4/4 files · 0 failed · 1 row quarantined"


async def test_matched_files_page_with_keys_click_and_scroll(
    registered: Workspace, tmp_path: Path
) -> None:
    more = tmp_path / "batch" / "invoices" / "more"
    more.mkdir()
    for number in range(146):
        (more / f"m{number:03d}.csv").write_text(f"id,amount\n{number},1.0\n")
    registered.files.scan(tmp_path / "batch")
    app = CasparianApp(registered)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_process(app, pilot)
        assert screen.files_total == 150 and len(screen.file_paths) == 100
        await pilot.press("right_square_bracket")
        await settle(app, pilot)
        title = str(screen.query_one("#parser-files-title").render())
        assert title == "invoices matches 150 files · 101–150"
        await pilot.press("left_square_bracket")
        await settle(app, pilot)
        assert screen.files_offset == 0
        files = screen.query_one("#parser-files", DataTable)
        await pilot.click("#parser-files", offset=(5, 3))
        await pilot.pause()
        assert files.has_focus and files.cursor_row == 2
        await scroll_wheel(pilot, "#parser-files")
        assert files.scroll_y > 0


def add_catalog_parsers(workspace: Workspace, count: int) -> None:
    """More parser versions in the store's catalog (listing needs only the catalog rows);
    calling it again adds the ones not there yet."""
    original = workspace.store.parsers.get("invoices")
    assert original is not None
    for number in range(count):
        if workspace.store.parsers.get(f"extra{number:02d}") is not None:
            continue
        workspace.store.parsers.insert(
            name=f"extra{number:02d}",
            version="0.1.0",
            identity_hash=f"extra{number:02d}",
            bundle=b"",
            bundle_sha256="",
            lockfile_hash="",
            source_path=None,
            tags=(f"extra{number:02d}",),
            patterns=(),
            outputs={},
            contracts=[],
            gatekeeper={},
        )


async def test_click_opens_a_parser_and_the_wheel_scrolls_the_list(
    registered: Workspace,
) -> None:
    add_catalog_parsers(registered, 40)
    app = CasparianApp(registered)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_process(app, pilot)
        parsers = screen.query_one("#parsers-table", DataTable)
        assert [p.name for p in screen.parsers][:2] == ["extra00", "extra01"]
        screen.query_one("#parser-files").focus()
        await pilot.click("#parsers-table", offset=(3, 2))  # the header is line 0
        await settle(app, pilot)
        assert parsers.has_focus and parsers.cursor_row == 1
        assert screen.parser_name == "extra01"
        title = str(screen.query_one("#parser-files-title").render())
        assert title == "extra01 matches 0 files"
        await scroll_wheel(pilot, "#parsers-table")
        assert parsers.scroll_y > 0
        assert screen.parser_name == "extra01"  # the wheel scrolls; it does not select


async def test_the_cursor_keeps_its_parser_when_one_is_registered_before_it(
    registered: Workspace,
) -> None:
    """A parser registered meanwhile (from the CLI) sorts above the highlighted one: the
    cursor stays on its parser, so r runs what the screen shows (it jumped to the new row)."""
    add_catalog_parsers(registered, 2)
    app = CasparianApp(registered)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_process(app, pilot)
        await pilot.press("down", "down")
        await settle(app, pilot)
        assert screen.current_parser.name == "invoices"
        add_catalog_parsers(registered, 4)  # extra02 and extra03 sort before invoices
        screen.load_parsers()
        await settle(app, pilot)
        assert [p.name for p in screen.parsers][4] == "invoices"
        assert screen.current_parser.name == "invoices" and screen.parser_name == "invoices"


async def test_r_again_when_everything_is_processed_says_why_and_how_to_redo(
    registered: Workspace,
) -> None:
    app = CasparianApp(registered)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_process(app, pilot)
        await pilot.press("r")
        await settle(app, pilot)
        await pilot.press("r")
        await settle(app, pilot)
        state = app.service.runs["invoices"]
        reason = (
            "invoices 1.0.0: 4 matched files already processed by this version — "
            "use `casparian backfill invoices --force` to redo them"
        )
        assert state.outcome == f"no work: {reason}"
        label = str(screen.query_one(RunProgress).query_one(".run-label").render())
        assert label == f"invoices  no work: {reason}"
        assert cells(screen, "#parsers-table")[0][4] == "■ no work"
        assert registered.jobs.counts().by_status == {"completed": 3, "completed_with_warnings": 1}
        percentage = screen.query_one(RunProgress).query_one(PercentageStatus)
        assert str(percentage.render()) == "0%"  # nothing was done: never a full bar


async def test_run_bar_and_label_do_not_overlap(registered: Workspace) -> None:
    app = CasparianApp(registered)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_process(app, pilot)
        await pilot.press("r")
        await settle(app, pilot)
        panel = screen.query_one(RunProgress)
        bar = panel.query_one(ProgressBar)
        percentage = bar.query_one(PercentageStatus)
        label = panel.query_one(".run-label")
        assert str(percentage.render()) == "100%"
        assert percentage.region.right <= bar.region.right
        assert bar.region.right < label.region.x  # a blank cell between the bar and the label
        assert str(label.render()).startswith("invoices · done, 4 rows written · 4/4 files")


async def test_matched_files_are_cut_on_the_left_so_names_stay(
    registered: Workspace, tmp_path: Path
) -> None:
    deep = tmp_path / "batch" / "invoices" / ("very-long-folder-name-" * 3) / "2024" / "01"
    deep.mkdir(parents=True)
    (deep / "inv_0001.csv").write_text("id,amount\n1,1.0\n")
    registered.files.scan(tmp_path / "batch")
    app = CasparianApp(registered)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_process(app, pilot)
        files = screen.query_one("#parser-files", DataTable)
        width = files.columns[next(iter(files.columns))].width
        shown = [str(files.get_row_at(i)[0]) for i in range(files.row_count)]
        assert len(shown) == 5 and all(len(text) <= width for text in shown)
        assert all(text.startswith("…/") for text in shown)  # tmp paths are longer than the pane
        assert any(text.endswith("/2024/01/inv_0001.csv") for text in shown)
        assert sorted(text.rsplit("/", 1)[1] for text in shown) == [
            "inv0.csv",
            "inv1.csv",
            "inv2.csv",
            "inv3.csv",
            "inv_0001.csv",
        ]


async def test_a_starting_run_shows_an_indeterminate_bar_not_a_full_one(
    registered: Workspace,
) -> None:
    from casparian_tui.services import RunState

    app = CasparianApp(registered)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_process(app, pilot)
        await pilot.press("r")
        await settle(app, pilot)
        panel = screen.query_one(RunProgress)
        bar = panel.query_one(ProgressBar)
        assert (bar.total, bar.progress) == (4, 4)
        panel.show(RunState("invoices"))  # the next run, before it has counted its files
        await pilot.pause()
        assert bar.total is None
        assert str(panel.query_one(".run-label").render()).startswith(
            "invoices · s stops · 0/0 files"
        )


async def test_a_paused_parser_says_so_and_u_resumes_it(registered: Workspace) -> None:
    health = registered.store.health
    for _ in range(health.threshold):
        health.record_failure("invoices", "ParseError: bad header")
    registered.jobs.enqueue("invoices")  # its files wait in the queue, blocked
    paused_at = health.get("invoices").paused_at
    since = time.strftime("%Y-%m-%d %H:%M", time.localtime(paused_at))
    app = CasparianApp(registered)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_process(app, pilot)
        assert cells(screen, "#parsers-table") == [["invoices", "1.0.0", "4", "⏸ paused", ""]]
        status = str(screen.query_one("#process-status").render())
        assert status == (
            "⏸ invoices paused by its circuit breaker · u resumes · 4 queued files wait"
            f" · since {since} · last failure: ParseError: bad header"
        )
        await pilot.press("r")
        await settle(app, pilot)
        assert screen.error_text == "✗ invoices is paused by its circuit breaker: u resumes it"
        assert "invoices" not in app.service.runs  # no run of 0 files without a reason
        notes: list[str] = []
        app.notify = lambda message, **_: notes.append(message)  # type: ignore[method-assign]
        await pilot.press("u")
        await settle(app, pilot)
        assert notes == ["invoices resumed: r runs it (its queued files first)"]
        assert screen.error_text == ""
        assert not health.get("invoices").paused
        assert [e.subject for e in registered.store.audit.list(action="parser.resume")] == [
            "invoices"
        ]
        assert cells(screen, "#parsers-table")[0][3] == "⏳ queued"
        assert str(screen.query_one("#process-status").render()) == (
            "invoices: ⏳ queued · 4 files queued"
        )
        await pilot.press("u")
        await settle(app, pilot)
        assert screen.error_text == (
            "✗ invoices is not paused: u resumes a parser its breaker paused"
        )


async def test_a_long_failure_reason_is_cut_at_its_end_and_the_key_stays(
    registered: Workspace,
) -> None:
    health = registered.store.health
    reason = "ArrowKeyError: " + "column 'amount' missing in batch; " * 10
    for _ in range(health.threshold):
        health.record_failure("invoices", reason)
    app = CasparianApp(registered)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_process(app, pilot)
        status = screen.query_one("#process-status")
        text = str(status.render())
        assert text.startswith("⏸ invoices paused by its circuit breaker · u resumes · since ")
        assert text.endswith(" · last failure: " + reason[:119] + "…")
        assert status.region.height == 2  # wrapped onto a second line, not cut
        assert status.content_region.width * 2 >= len(text)


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
async def test_m_shows_every_message_whole(registered: Workspace, size: tuple[int, int]) -> None:
    """The status line cuts a long failure and a run line cuts a long outcome; m shows the
    parser's status, its run and the error line whole, and Esc goes back."""
    health = registered.store.health
    reason = "ArrowKeyError: " + "column 'amount' missing in batch; " * 10 + "[end]"
    for _ in range(health.threshold):
        health.record_failure("invoices", reason)
    app = CasparianApp(registered)
    async with app.run_test(size=size) as pilot:
        screen = await open_process(app, pilot)
        await pilot.press("r")  # refused: paused (the error line says so)
        await settle(app, pilot)
        assert reason not in str(screen.query_one("#process-status").render())
        await pilot.press("m")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, DetailsDialog)
        assert dict(dialog.facts) == {
            "status": screen.status_whole,
            "error": "✗ invoices is paused by its circuit breaker: u resumes it",
        }
        assert screen.status_whole.endswith(" · last failure: " + reason)
        body = dialog.query_one("#details-body")
        assert reason in str(body.render())  # literally: "[end]" is not read as markup
        assert body.region.height > 3  # wrapped over lines, not cut
        assert body.region.right <= size[0]
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen


async def test_opening_the_sidebar_keeps_every_parser_column(registered: Workspace) -> None:
    app = CasparianApp(registered)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_process(app, pilot)
        await pilot.press("alt+a")
        await settle(app, pilot)
        table = screen.query_one("#parsers-table", DataTable)
        widths = [column.get_render_width(table) for column in table.columns.values()]
        assert [str(c.label) for c in table.columns.values()] == [
            "parser",
            "ver",
            "files",
            "last run",
            "run",
        ]
        assert widths[0] >= len("invoices") + 2  # the name is not cut either
        assert sum(widths) <= table.scrollable_content_region.width
        assert table.max_scroll_x == 0  # nothing to scroll to: the run column is in view


async def test_a_running_parser_says_running_under_last_run(registered: Workspace) -> None:
    app = CasparianApp(registered)
    seen: list[tuple[str, str]] = []

    def note_on_first_progress(message: Message) -> None:
        if isinstance(message, RunProgressed) and not seen:
            screen = app.screen
            assert isinstance(screen, ProcessScreen)
            row = cells(screen, "#parsers-table")[0]
            seen.append((row[3], str(screen.query_one("#process-status").render())))

    async with app.run_test(size=SIZE, message_hook=note_on_first_progress) as pilot:
        await open_process(app, pilot)
        await pilot.press("r")
        await settle(app, pilot)
        assert seen[0][0] == "▶ running"
        assert seen[0][1].startswith("invoices: ▶ running")


async def test_a_run_where_every_file_failed_does_not_say_done(
    workspace: Workspace, tmp_path: Path
) -> None:
    from tests.engine.registration_support import make_parser

    from .conftest import approve_contract

    invoices = tmp_path / "batch" / "invoices"
    invoices.mkdir(parents=True)
    for number in range(3):
        (invoices / f"inv{number}.csv").write_text(f"id,amount\n{number},1.5\n")
    parser = make_parser(tmp_path / "parser", body="raise ValueError('no invoice here')")
    workspace.parsers.register(parser)
    approve_contract(workspace, parser / "invoices.contract.yaml")
    workspace.files.scan(tmp_path / "batch")
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_process(app, pilot)
        await pilot.press("r")
        await settle(app, pilot)
        assert workspace.jobs.counts().by_status == {"failed": 3}
        label = str(screen.query_one(RunProgress).query_one(".run-label").render())
        assert label == (
            "invoices · ✗ every file failed, 0 rows written · 3/3 files · 3 failed · "
            "0 rows quarantined"
        )
        assert screen.query_one(RunProgress).has_class("-failed")
        assert cells(screen, "#parsers-table")[0][3:] == ["✗ all failed", "✗ all failed"]
        assert str(screen.query_one("#process-status").render()) == (
            "invoices: ✗ every file failed · 3 files failed"
        )


async def test_each_run_is_one_line_and_none_is_hidden(registered: Workspace) -> None:
    """Ten runs in a panel 7 lines high: one line each, and the panel scrolls to the last."""
    from casparian_tui.services import RunState

    app = CasparianApp(registered)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_process(app, pilot)
        for number in range(10):
            app.service.runs[f"parser{number}"] = RunState(
                f"parser{number}", done=40, total=40, failed=1, quarantined_rows=33,
                running=False, outcome="done: 40 files, 9,000 rows, 1 failed, 33 quarantined",
            )  # fmt: skip
        app.service.publish("run")
        await settle(app, pilot)
        panels = list(screen.query(RunProgress))
        assert len(panels) == 10
        assert {panel.region.height for panel in panels if panel.region} == {1}
        label = str(panels[0].query_one(".run-label").render())
        assert label == (
            "parser0 · done, 9,000 rows written · 40/40 files · 1 failed · 33 rows quarantined"
        )
        pane = screen.query_one("#runs")
        assert pane.region.height == 8 and pane.max_scroll_y == 3  # 7 shown, 3 below
        pane.scroll_end(animate=False)
        await pilot.pause()
        assert pane.scroll_y == 3
        last = panels[-1]
        assert screen.screen.get_widget_at(last.region.x + 1, pane.region.bottom - 1)[0] in (
            last,
            *last.walk_children(),
        )


def test_last_run_says_partly_done_while_files_wait_or_were_cancelled() -> None:
    from casparian_tui.screens.process import ParserJobs

    assert ParserJobs({"completed": 3}).cell == "✓ completed"
    assert ParserJobs({"completed": 3, "queued": 6}).cell == "◐ partly done"
    assert ParserJobs({"completed": 3, "cancelled": 1}).headline == "◐ partly done"
    assert ParserJobs({"completed": 3, "queued": 6, "failed": 1}).cell == "✗ 1 failed"
    assert ParserJobs({"queued": 6}).cell == "⏳ queued"


async def test_at_80_columns_parser_names_stay_readable(registered: Workspace) -> None:
    """At 80×24 the name column was cut to 5 characters ('invoi…'): the version and run
    columns give way first, so names show whole and the last run stays."""
    add_catalog_parsers(registered, 1)
    app = CasparianApp(registered)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_process(app, pilot)
        assert screen.parser_columns == ["matched", "last"]
        rows = cells(screen, "#parsers-table")
        assert [row[0] for row in rows] == ["extra00", "invoices"]
        assert rows[1][1:] == ["4", "never run"]
        await pilot.press("down", "r")
        await settle(app, pilot)
        assert app.service.runs["invoices"].outcome.startswith("done: ")


@pytest.fixture
def slow_parser(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    """One worker and a parser that takes 0.15 s per file, over ten invoice files: a batch
    long enough for a progress report to land between two files."""
    from tests.engine.registration_support import make_parser

    from .conftest import approve_contract

    monkeypatch.setenv("CASPARIAN_MAX_CONCURRENT_WORKERS", "1")
    workspace = Workspace.open(home)
    try:
        invoices = tmp_path / "batch" / "invoices"
        invoices.mkdir(parents=True)
        for number in range(10):
            (invoices / f"inv{number}.csv").write_text(f"id,amount\n{number},1.5\n")
        parser = make_parser(tmp_path / "parser", body="import time\ntime.sleep(0.15)")
        workspace.parsers.register(parser)
        approve_contract(workspace, parser / "invoices.contract.yaml")
        workspace.files.scan(tmp_path / "batch")
        yield workspace
    finally:
        workspace.close()


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
async def test_progress_counts_files_as_they_finish(
    slow_parser: Workspace, size: tuple[int, int]
) -> None:
    """One worker runs the ten files as one batch, committed at its end: the run line counts
    them as they finish (it sat at 0/10 until the commit, then read done), never backwards."""
    app = CasparianApp(slow_parser)
    async with app.run_test(size=size) as pilot:
        screen = await open_process(app, pilot)
        shown: list[tuple[int, int, str]] = []

        def note_the_run_line(what: str) -> None:
            state = app.service.runs.get("invoices")
            if what == "run" and state is not None and state.running and state.total:
                label = str(screen.query_one(RunProgress).query_one(".run-label").render())
                shown.append((state.done, state.total, label))

        app.service.changed.subscribe(screen, note_the_run_line)
        await pilot.press("r")
        await settle(app, pilot)
        state = app.service.runs["invoices"]
        assert not state.running and (state.done, state.total) == (10, 10)
        done = [figure for figure, _, _ in shown]
        assert done == sorted(done), shown
        between = [(d, label) for d, total, label in shown if 0 < d < total]
        assert between, shown  # at least one file counted before the batch committed
        figure, label = between[0]
        assert f" · {figure}/10 files · " in label
