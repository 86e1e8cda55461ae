"""Discover mode."""

from __future__ import annotations

from ..actions import bindings_for
from .base import ModeScreen


class DiscoverScreen(ModeScreen):
    MODE = "discover"
    HEADING = "Discover"
    BINDINGS = bindings_for("discover")
