"""The Home hub: a 2×2 grid of mode cards with live figures (arrows + Enter or a click opens
one) and "Needs you": what waits for a person, each a key (1-4) or click from where it is fixed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.containers import Grid
from textual.message import Message
from textual.reactive import reactive

from ..actions import bindings_for
from ..messages import HomeStatsLoaded
from ..widgets.mode_card import ModeCard
from .base import ModeScreen

if TYPE_CHECKING:
    from casparian_engine.attention import Attention

CARDS = (
    ("discover", "Discover", "Scan files, tag, preview", "Alt+d"),
    ("process", "Process", "Run parsers, view progress", "Alt+p"),
    ("inspect", "Inspect", "Browse output tables, filter", "Alt+i"),
    ("jobs", "Jobs", "Queue status, retry, cancel", "Alt+j"),
)
STATS_REFRESH_S = 2.0


@dataclass
class AttentionRead(Message):
    """What waits for a person was read (after the cards' figures: start-up paints those first)."""

    attention: Attention


class HomeScreen(ModeScreen):
    """Landing view of the app."""

    MODE = "home"
    HEADING = "Home"
    BINDINGS = bindings_for("home")

    selected_index: reactive[int] = reactive(0)

    def __init__(self) -> None:
        super().__init__()
        self.attention: Attention | None = None  # the figures "Needs you" shows
        self.attention_stale = True  # "Needs you" is read again with the next figures
        self.stats_shown: dict[str, str] = {}  # the card figures last shown

    def compose_body(self) -> ComposeResult:
        from ..widgets.attention_panel import AttentionPanel

        with Grid(id="card-grid"):
            for mode, title, purpose, key in CARDS:
                yield ModeCard(mode, title, purpose, key)
        yield AttentionPanel(id="attention")

    def on_mount(self) -> None:
        super().on_mount()
        self.watch_selected_index(self.selected_index)
        # after the first paint: the figures' worker (DuckDB, the store) holds the GIL a while
        self.call_after_refresh(self.load_stats)
        if self.casparian.live_refresh:
            self.set_interval(STATS_REFRESH_S, self.refresh_if_shown)

    def refresh_if_shown(self) -> None:
        """The periodic refresh reads the store only while the cards are on screen."""
        if self.is_current:
            self.load_stats()

    def on_screen_resume(self) -> None:
        self.attention_stale = True  # a replay or resume elsewhere changes no card figure
        self.load_stats()  # "Needs you" is read once the figures show

    @property
    def selected_mode(self) -> str:
        return CARDS[self.selected_index][0]

    def watch_selected_index(self, index: int) -> None:
        for position, card in enumerate(self.query(ModeCard)):
            card.selected = position == index
        self.set_selection(f"card {CARDS[index][1]}")

    def action_move_card(self, step: int) -> None:
        self.selected_index = (self.selected_index + step) % len(CARDS)

    def action_open_selected(self) -> None:
        self.casparian.action_open_mode(self.selected_mode)

    def on_mode_card_chosen(self, event: ModeCard.Chosen) -> None:
        self.selected_index = [c[0] for c in CARDS].index(event.mode)
        self.casparian.action_open_mode(event.mode)

    @work(thread=True, exclusive=True, exit_on_error=False, group="home-stats")
    def load_stats(self) -> None:
        self.post_message(HomeStatsLoaded(self.service.home_stats()))

    def on_home_stats_loaded(self, message: HomeStatsLoaded) -> None:
        for card in self.query(ModeCard):
            card.figure = message.stats.get(card.mode, "")
        # "Needs you" passes over the inventory: re-read when a figure moved (files scanned,
        # jobs ended), on a return to Home, or first; not on every periodic refresh
        if self.attention_stale or message.stats != self.stats_shown:
            self.attention_stale = False
            self.load_attention()
        self.stats_shown = message.stats

    # --- Needs you ----------------------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="home-attention")
    def load_attention(self) -> None:
        """Read what waits for a person (SQL aggregates; the matched-file test column-wise)."""
        self.post_message(AttentionRead(self.service.workspace.needs_attention()))

    def on_attention_read(self, message: AttentionRead) -> None:
        from ..widgets.attention_panel import AttentionPanel

        self.attention = message.attention
        self.query_one(AttentionPanel).show(message.attention)
        self.casparian.warm_modes()  # start-up is done: the modes' modules load meanwhile

    def on_attention_line_chosen(self, event: Message) -> None:
        self.run_worker(self.open_fix(getattr(event, "kind", "")), group="home-fix")

    async def action_fix(self, number: int) -> None:
        from ..widgets.attention_panel import ITEMS

        await self.open_fix(ITEMS[number - 1])

    async def open_fix(self, kind: str) -> None:
        """Open the place that fixes ``kind``: Process on the parser concerned, Jobs showing
        failed jobs, Inspect's quarantine."""
        from ..widgets.attention_panel import FAILED, PAUSED, QUARANTINED, UNPROCESSED
        from .inspect import InspectScreen
        from .jobs import JobsScreen
        from .process import ProcessScreen

        attention = self.attention
        app = self.casparian
        if kind in (UNPROCESSED, PAUSED):
            names: list[str] = []
            if attention is not None:
                names = (
                    sorted(attention.unprocessed_by_parser)
                    if kind == UNPROCESSED
                    else list(attention.paused_parsers)
                )
            await app.switch_mode("process")
            if names and isinstance(app.screen, ProcessScreen):
                app.screen.show_parser(names[0])
        elif kind == FAILED:
            await app.switch_mode("jobs")
            if isinstance(app.screen, JobsScreen):
                app.screen.show_status("failed")
        elif kind == QUARANTINED:
            await app.switch_mode("inspect")
            if isinstance(app.screen, InspectScreen):
                app.screen.show_quarantine_rows()
