"""The project theme, registered with the app; styles use its variables, never raw colours.
The SQL editor's syntax colours are drawn from whichever app theme is in use."""

from __future__ import annotations

from rich.style import Style
from textual.color import Color
from textual.theme import Theme
from textual.widgets.text_area import TextAreaTheme

CASPARIAN_THEME = Theme(
    name="casparian",
    primary="#4FB3BF",
    secondary="#7E8CE0",
    accent="#F2B35B",
    warning="#F2B35B",
    error="#E5534B",
    success="#57AB5A",
    foreground="#D8DEE4",
    background="#14181D",
    surface="#1C2128",
    panel="#262C36",
    dark=True,
)


def sql_highlight_theme(theme: Theme) -> TextAreaTheme:
    """The SQL editor's syntax colours, taken from ``theme`` (the app's): keywords in the
    primary colour, table names in the accent, strings in the success colour.

    The editor's background, cursor and selection stay with its CSS (no base style), so the
    editor looks like the rest of the app whatever theme is chosen.
    """
    colours = theme.to_color_system().generate()

    def style(variable: str, bold: bool | None = None, italic: bool | None = None) -> Style:
        return Style(color=Color.parse(colours[variable]).rich_color, bold=bold, italic=italic)

    keyword = style("primary", bold=True)
    return TextAreaTheme(
        name=f"sql-{theme.name}",
        syntax_styles={
            "keyword": keyword,
            "conditional": keyword,
            "keyword.operator": keyword,
            "storageclass": keyword,
            "type.qualifier": keyword,
            "attribute": keyword,
            "type.builtin": style("primary"),
            "function.call": style("secondary-lighten-1"),
            "type": style("accent", bold=True),  # a table (an object reference)
            "variable": style("accent"),  # an alias
            "string": style("success"),
            "number": style("secondary"),
            "float": style("secondary"),
            "boolean": style("secondary"),
            "parameter": style("secondary"),
            "comment": style("foreground-darken-2", italic=True),
        },
    )
