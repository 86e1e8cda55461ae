"""A Footer that re-composes only when the keys it shows change.

Textual's Footer re-mounts every key whenever its screen re-publishes its bindings, which happens
on each mode switch and focus change even when nothing shown changes; on a busy app that re-mount
is one of the longest event-loop stalls of a switch.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer


def shown_keys(screen: Screen[Any]) -> tuple[tuple[object, ...], ...]:
    """What the footer would show for ``screen``: each shown binding and whether it is enabled."""
    return tuple(
        (binding.key, binding.description, binding.action, enabled, tooltip)
        for _node, binding, enabled, tooltip in screen.active_bindings.values()
        if binding.show or binding.action == "app.command_palette"
    )


class SteadyFooter(Footer):
    """Footer whose keys are rebuilt only when they differ from the ones shown."""

    _shown: tuple[tuple[object, ...], ...] | None = None

    def bindings_changed(self, screen: Screen[Any]) -> None:
        will_recompose = screen.app.app_focus and self.is_attached and screen is self.screen
        if will_recompose:
            keys = shown_keys(screen)
            if keys == self._shown and self.children:
                return
            self._shown = keys
        super().bindings_changed(screen)
