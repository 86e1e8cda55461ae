"""Pilot tests of the SQL editor itself: SQL highlighted in the app theme's colours, and the
completion list that follows the cursor as a person types."""

from __future__ import annotations

from rich.style import Style
from textual.color import Color

from casparian_engine.workspace import Workspace
from casparian_tui.app import CasparianApp
from casparian_tui.theme import CASPARIAN_THEME
from casparian_tui.widgets.sql_editor import SqlEditor

from .test_inspect import open_inspect, write_output

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
        await pilot.press("s")
        await pilot.pause()
        editor = screen.query_one(SqlEditor)
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
