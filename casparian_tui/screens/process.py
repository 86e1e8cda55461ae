"""Process mode."""

from __future__ import annotations

from ..actions import bindings_for
from .base import ModeScreen


class ProcessScreen(ModeScreen):
    MODE = "process"
    HEADING = "Process"
    BINDINGS = bindings_for("process")
