"""The project theme, registered with the app; styles use its variables, never raw colours."""

from __future__ import annotations

from textual.theme import Theme

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
