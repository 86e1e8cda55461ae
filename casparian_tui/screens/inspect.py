"""Inspect mode."""

from __future__ import annotations

from ..actions import bindings_for
from .base import ModeScreen


class InspectScreen(ModeScreen):
    MODE = "inspect"
    HEADING = "Inspect"
    BINDINGS = bindings_for("inspect")
