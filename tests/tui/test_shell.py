"""Pilot tests of the shell: modes, global keys, Home cards, help, palette, AI sidebar, errors."""

from __future__ import annotations

import re

import pytest
from textual.app import SystemCommand
from textual.worker import WorkerFailed

from casparian_engine.workspace import Workspace
from casparian_tui.actions import GLOBAL, REGISTRY, bindings_for
from casparian_tui.app import CasparianApp
from casparian_tui.screens.help import HelpScreen
from casparian_tui.screens.jobs import JobsScreen
from casparian_tui.widgets.ai_sidebar import AISidebar
from casparian_tui.widgets.mode_card import ModeCard

from .conftest import home_settled, mode_shown

SIZE = (120, 36)


@pytest.mark.parametrize(
    ("key", "mode"),
    [("alt+d", "discover"), ("alt+p", "process"), ("alt+i", "inspect"), ("alt+j", "jobs")],
)
async def test_alt_keys_open_modes_and_escape_returns_home(
    workspace: Workspace, key: str, mode: str
) -> None:
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(key)
        await pilot.pause()
        assert app.current_mode == mode
        await pilot.press("escape")
        await pilot.pause()
        assert app.current_mode == "home"


async def test_arrow_keys_and_enter_open_the_selected_card(workspace: Workspace) -> None:
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("down", "right")
        await pilot.pause()
        cards = list(app.screen.query(ModeCard))
        assert [c.selected for c in cards] == [False, False, False, True]
        await pilot.press("enter")
        await pilot.pause()
        assert app.current_mode == "jobs"


async def test_clicking_a_card_opens_its_mode(workspace: Workspace) -> None:
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await home_settled(app, pilot)  # not while another mode is being built off screen
        await pilot.click("#card-inspect")
        await pilot.pause()
        assert app.current_mode == "inspect"


async def test_q_goes_back_like_escape_and_quits_from_home(workspace: Workspace) -> None:
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("alt+j")
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause()
        assert app.is_running and app.current_mode == "home"
        await pilot.press("escape")  # Esc on Home stays (a stray Esc never quits)
        await pilot.pause()
        assert app.is_running and app.current_mode == "home"
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_escape_leaves_an_input_first_then_goes_home(workspace: Workspace) -> None:
    from textual.widgets import Input

    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await home_settled(app, pilot)  # the Discover screen is built: / reaches its filter
        await pilot.press("alt+d", "slash")
        await pilot.pause()
        assert isinstance(app.screen.focused, Input)
        await pilot.press("q")  # typed into the filter, not a key of the app
        await pilot.pause()
        assert app.current_mode == "discover"
        assert app.screen.query_one("#filter", Input).value == "q"
        await pilot.press("escape")
        await pilot.pause()
        assert app.current_mode == "discover" and app.screen.focused is not None
        assert app.screen.focused.id == "files"
        await pilot.press("escape")
        await pilot.pause()
        assert app.current_mode == "home"


async def test_ctrl_c_quits(workspace: Workspace) -> None:
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("alt+d")
        await pilot.pause()
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert not app.is_running


@pytest.mark.parametrize("key", ["question_mark", "alt+h"])
async def test_help_lists_every_registry_entry(workspace: Workspace, key: str) -> None:
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert app.screen.listed == sorted_registry("home")
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen) and app.current_mode == "home"


def screen_text(app: CasparianApp) -> str:
    """The characters on screen, read from an SVG screenshot's text runs."""
    import html
    import re

    runs = re.findall(r"<text[^>]*>(.*?)</text>", app.export_screenshot())
    return html.unescape("".join(runs)).replace("\xa0", " ")


def sorted_registry(current_mode: str) -> list:
    """Global keys, then the current mode's, then the other modes' by name."""
    others = sorted({s.scope for s in REGISTRY} - {GLOBAL, current_mode})
    scopes = [GLOBAL, current_mode, *others]
    return [s for scope in scopes for s in REGISTRY if s.scope == scope]


async def test_help_in_process_lists_its_page_keys_first_and_scrolls_at_once(
    workspace: Workspace,
) -> None:
    """The current mode's keys come right after the global ones (] and [ in Process are on
    screen without scrolling); the panel has focus, so Down, PageDown and End scroll it."""
    from textual.containers import VerticalScroll

    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("alt+p")
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert app.screen.listed == sorted_registry("process")
        process_rows = [
            (s.keys_for_people, s.help) for s in app.screen.listed if s.scope == "process"
        ]
        assert ("]", "Next page of matched files") in process_rows
        assert ("[", "Previous page of matched files") in process_rows
        assert re.search(r"process\s+\]\s+Next page of matched files", screen_text(app))
        panel = app.screen.query_one("#help-panel", VerticalScroll)
        assert app.screen.focused is panel
        assert panel.max_scroll_y > 0 and panel.scroll_y == 0
        await pilot.press("down")
        await pilot.pause()
        assert panel.scroll_y == 1
        await pilot.press("pagedown")
        await pilot.pause()
        assert panel.scroll_y > 1
        await pilot.press("end")
        await pilot.pause()
        assert panel.scroll_y == panel.max_scroll_y
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen) and app.current_mode == "process"


async def test_footer_and_palette_come_from_the_registry(workspace: Workspace) -> None:
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("alt+j")
        await pilot.pause()
        active = app.screen.active_bindings
        for binding in bindings_for("jobs") + bindings_for(GLOBAL):
            for key in binding.key.split(","):  # type: ignore[union-attr]
                assert key in active
        titles = [c.title for c in app.get_system_commands(app.screen)]
        expected = [s.label for s in REGISTRY if s.palette and s.scope in (GLOBAL, "jobs")]
        assert titles == [*expected, "Theme"]
        assert all(isinstance(c, SystemCommand) for c in app.get_system_commands(app.screen))


async def test_the_footer_shows_the_modes_registry_keys_and_a_click_presses_one(
    workspace: Workspace,
) -> None:
    from casparian_tui.widgets.key_footer import KeyFooter

    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await mode_shown(pilot, "alt+j", JobsScreen)
        footer = screen.query_one(KeyFooter)
        keys = {scope: [s.keys.split(",")[0] for s in REGISTRY if s.show and s.scope == scope]
                for scope in ("jobs", GLOBAL)}  # fmt: skip
        assert footer.keys_shown[:3] == ["r", "c", "s"]  # the mode's own keys come first
        assert set(footer.keys_shown[:-1]) <= {*keys["jobs"], *keys[GLOBAL]}
        assert set(keys[GLOBAL]) <= set(footer.keys_shown)
        assert footer.keys_shown[-1] == app.COMMAND_PALETTE_BINDING  # the palette key, last
        sidebar = next(span for span in footer.spans if span.entry.key == "alt+a")
        await pilot.click(KeyFooter, offset=(sidebar.start + 1, 0))
        await pilot.pause()
        assert app.show_ai_sidebar


async def test_palette_command_runs_the_registry_action(workspace: Workspace) -> None:
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        await commands["Inspect"].callback()
        await pilot.pause()
        assert app.current_mode == "inspect"


async def test_ai_sidebar_context_follows_the_mode(workspace: Workspace) -> None:
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        sidebar = app.screen.query_one(AISidebar)
        assert not sidebar.display
        await pilot.press("alt+a")
        await pilot.pause()
        assert sidebar.display
        context = str(sidebar.query_one("#ai-context").render())
        assert context == "Context: home · card Discover"
        # The sidebar setting is app-wide: it stays open in another mode.
        await pilot.press("alt+d")
        await pilot.pause()
        assert app.screen.query_one(AISidebar).display
        assert str(app.screen.query_one("#ai-context").render()).startswith("Context: discover")


async def test_a_failed_worker_shows_a_red_inline_error(workspace: Workspace) -> None:
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await home_settled(app, pilot)  # Home is the screen shown (the modes are built)

        def broken() -> None:
            raise RuntimeError("the store is unreachable")

        app.screen.run_worker(broken, thread=True, exit_on_error=False, group="probe")
        with pytest.raises(WorkerFailed):
            await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.error_text == "✗ probe: the store is unreachable"
        assert app.is_running


async def test_home_figures_say_one_source_and_one_table(scanned: Workspace) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = scanned.config.output_dir / "invoices" / "lines"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"amount": [1.5]}), folder / "part-0.parquet")
    app = CasparianApp(scanned)
    async with app.run_test(size=SIZE) as pilot:
        await home_settled(app, pilot)  # the figures are read once Home has painted
        figures = {card.mode: card.figure for card in app.screen.query(ModeCard)}
        assert figures["discover"] == "6 files, 1 source"
        assert figures["inspect"] == "1 table, 1 row"


async def test_ai_sidebar_takes_the_focus_and_typed_keys_fire_no_shortcut(
    workspace: Workspace,
) -> None:
    from textual.widgets import DataTable, Input

    from casparian_tui.screens.home import HomeScreen
    from casparian_tui.screens.process import ProcessScreen

    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("alt+p")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ProcessScreen)
        table = screen.query_one("#parsers-table", DataTable)
        assert screen.focused is table
        await pilot.press("alt+a")
        await pilot.pause()
        chat = screen.query_one("#ai-input", Input)
        assert screen.focused is chat
        await pilot.press(*"why did slow fail? r")
        await pilot.pause()
        assert chat.value == "why did slow fail? r"
        assert app.screen is screen  # `?` opened no Help
        assert screen.error_text == ""  # `s` and `r` reached no parser action
        await pilot.press("escape")
        await pilot.pause()
        assert screen.focused is table
        assert app.current_mode == "process"
        await pilot.press("alt+a", "alt+a")  # closed, then opened again: the chat has the focus
        await pilot.pause()
        assert screen.focused is chat
        await pilot.press("alt+a")  # closing the sidebar gives the focus back
        await pilot.pause()
        assert not screen.query_one(AISidebar).display
        assert screen.focused is table
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)


async def test_errors_and_the_palette_show_brackets_as_written(workspace: Workspace) -> None:
    """A file name or filter in an error is data: '[b]' and '[/]' show as typed, never markup."""
    from casparian_tui.screens.base import ModeScreen

    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("alt+d")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ModeScreen)
        text = "cannot read /data/[b]Q1 [final][/].csv: [@click=app.quit]"
        app.show_error(text, screen)
        await pilot.pause()
        assert screen.error_text == f"✗ {text}"
        await pilot.press("escape")  # Discover is hidden now: its error becomes a toast as well
        await pilot.pause()
        app.show_error(text, screen)
        await pilot.pause()
        assert [n.message for n in app._notifications] == [text]
        await pilot.press("alt+d", "ctrl+p")  # the palette lists the filter key '/' literally
        await pilot.pause()
        assert app.is_running
