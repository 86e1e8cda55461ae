"""The footer: the focused screen's keys drawn by one widget.

Textual's Footer mounts one widget per key and re-mounts them all whenever the screen publishes
its bindings (every mode switch and focus change); with a dozen keys that mounting and restyling
was a third of a first mode switch. This footer draws the same keys as one line of text, redraws
only when the keys change, and maps a click or hover to the key under the pointer. Keys that do
not fit on one line go on a second (an 80-column terminal shows every key, none cut).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.widget import Widget

PALETTE_EDGE = "▏"


@dataclass(frozen=True)
class FooterEntry:
    """One key as the footer shows it."""

    key: str
    display: str
    description: str
    enabled: bool
    tooltip: str


@dataclass(frozen=True)
class KeySpan:
    """Where a key sits on the footer (line ``y``, cells ``start`` to ``end``, end excluded)."""

    start: int
    end: int
    entry: FooterEntry
    y: int = 0


def footer_entries(screen: Screen[Any]) -> tuple[list[FooterEntry], FooterEntry | None]:
    """The keys to show for ``screen``: one per action, in binding order, and the palette key
    (shown apart, on the right)."""
    app = screen.app
    palette_key = app.COMMAND_PALETTE_BINDING if app.ENABLE_COMMAND_PALETTE else None
    entries: list[FooterEntry] = []
    palette: FooterEntry | None = None
    seen_actions: set[str] = set()
    for key, (_node, binding, enabled, tooltip) in screen.active_bindings.items():
        if key == palette_key:
            palette = _entry(app, binding, enabled, binding.tooltip or binding.description)
        elif binding.show and binding.action not in seen_actions:
            seen_actions.add(binding.action)
            entries.append(_entry(app, binding, enabled, tooltip))
    return entries, palette


def _entry(app: Any, binding: Binding, enabled: bool, tooltip: str) -> FooterEntry:
    return FooterEntry(binding.key, app.get_key_display(binding), binding.description, enabled,
                       tooltip)  # fmt: skip


class KeyFooter(Widget, can_focus=False):
    """One line of keys at the bottom of a screen; click a key to press it."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "key-footer--key",
        "key-footer--description",
        "key-footer--hover",
        "key-footer--edge",
    }
    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: auto;
        max-height: 2;
        color: $footer-foreground;
        background: $footer-background;
        .key-footer--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        .key-footer--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        .key-footer--hover {
            color: $footer-key-foreground;
            background: $block-hover-background;
        }
        .key-footer--edge {
            color: $foreground 20%;
        }
    }
    """

    hover_index: reactive[int | None] = reactive(None)
    """The key under the mouse pointer, by position in ``spans``."""

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[FooterEntry] = []
        self.palette: FooterEntry | None = None
        self.spans: list[KeySpan] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)
        self.bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, screen: Screen[Any]) -> None:
        """Redraw when the keys to show differ from the ones shown."""
        if not self.is_attached or screen is not self.screen:
            return
        entries, palette = footer_entries(screen)
        if (entries, palette) != (self.entries, self.palette):
            self.entries, self.palette = entries, palette
            self.refresh(layout=True)  # the keys may need one line more, or one less

    @property
    def keys_shown(self) -> list[str]:
        """The keys on the footer line, left to right, the palette key last."""
        return [entry.key for entry in self.entries] + ([self.palette.key] if self.palette else [])

    def _entry_texts(self) -> list[tuple[FooterEntry, str, str]]:
        return [
            (entry, f" {entry.display} ", f"{entry.description} " if entry.description else "")
            for entry in self.entries
        ]

    def _line_breaks(self, width: int) -> list[int]:
        """How many keys each line holds: the first line keeps room for the palette key, a
        key that does not fit starts the second line (two lines at most)."""
        palette_text = f"{self.palette.display} {self.palette.description} " if self.palette else ""
        room = width - (len(PALETTE_EDGE) + len(palette_text) if self.palette else 0)
        counts, used = [0], 0
        for _, key_text, description in self._entry_texts():
            size = len(key_text) + len(description)
            if (
                used + size > (room if len(counts) == 1 else width)
                and counts[-1]
                and len(counts) < 2
            ):
                counts.append(0)
                used = 0
            counts[-1] += 1
            used += size
        return counts

    def get_content_height(self, container: Any, viewport: Any, width: int) -> int:
        return len(self._line_breaks(width))

    def render(self) -> Text:
        width = self.size.width
        key_style = self.get_component_rich_style("key-footer--key")
        description_style = self.get_component_rich_style("key-footer--description")
        hover_style = self.get_component_rich_style("key-footer--hover")
        edge_style = self.get_component_rich_style("key-footer--edge")
        palette_text = f"{self.palette.display} {self.palette.description} " if self.palette else ""
        room = width - (len(PALETTE_EDGE) + len(palette_text) if self.palette else 0)
        lines = [Text(no_wrap=True, overflow="crop")]
        spans: list[KeySpan] = []

        def add(entry: FooterEntry, key_text: str, description: str) -> None:
            line = lines[-1]
            start = line.cell_len
            hovered = self.hover_index == len(spans)
            dim = Style() if entry.enabled else Style(dim=True)
            line.append(key_text, (hover_style if hovered else key_style) + dim)
            line.append(description, (hover_style if hovered else description_style) + dim)
            spans.append(KeySpan(start, line.cell_len, entry, len(lines) - 1))

        texts = self._entry_texts()
        counts = self._line_breaks(width)
        for entry, key_text, description in texts[: counts[0]]:
            add(entry, key_text, description)
        first = lines[0]
        first.truncate(max(room, 0), overflow="crop")
        if self.palette:
            first.pad_right(room - first.cell_len)
            first.append(PALETTE_EDGE, edge_style)
            palette = self.palette
            add(palette, palette.display, f" {palette.description} ")
        if len(counts) > 1:
            lines.append(Text(no_wrap=True, overflow="crop"))
            for entry, key_text, description in texts[counts[0] :]:
                add(entry, key_text, description)
            lines[1].truncate(width, overflow="crop")
        self.spans = [span for span in spans if span.start < (room if span.y == 0 else width)
                      or span.entry is self.palette]  # fmt: skip
        return Text("\n").join(lines)

    def span_at(self, x: int, y: int = 0) -> KeySpan | None:
        return next(
            (span for span in self.spans if span.y == y and span.start <= x < span.end), None
        )

    def on_mouse_down(self, event: events.MouseDown) -> None:
        span = self.span_at(event.x, event.y)
        if span is None:
            return
        if span.entry.enabled:
            self.app.simulate_key(span.entry.key)
        else:
            self.app.bell()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        span = self.span_at(event.x, event.y)
        self.hover_index = None if span is None else self.spans.index(span)
        self.tooltip = span.entry.tooltip or span.entry.description if span else None

    def on_leave(self) -> None:
        self.hover_index = None

    def watch_hover_index(self) -> None:
        self.refresh()
