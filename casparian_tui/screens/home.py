"""The Home hub: a 2×2 grid of mode cards with live figures; arrows + Enter or a click opens one."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.containers import Grid
from textual.reactive import reactive

from ..actions import bindings_for
from ..messages import HomeStatsLoaded
from ..widgets.mode_card import ModeCard
from .base import ModeScreen

CARDS = (
    ("discover", "Discover", "Scan files, tag, preview", "Alt+d"),
    ("process", "Process", "Run parsers, view progress", "Alt+p"),
    ("inspect", "Inspect", "Browse output tables, filter", "Alt+i"),
    ("jobs", "Jobs", "Queue status, retry, cancel", "Alt+j"),
)
STATS_REFRESH_S = 2.0


class HomeScreen(ModeScreen):
    """Landing view of the app."""

    MODE = "home"
    HEADING = "Home"
    BINDINGS = bindings_for("home")

    selected_index: reactive[int] = reactive(0)

    def compose_body(self) -> ComposeResult:
        with Grid(id="card-grid"):
            for mode, title, purpose, key in CARDS:
                yield ModeCard(mode, title, purpose, key)

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
        self.load_stats()

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
        self.casparian.home_shown()
