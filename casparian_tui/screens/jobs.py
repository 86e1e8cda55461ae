"""Jobs mode."""

from __future__ import annotations

from ..actions import bindings_for
from .base import ModeScreen


class JobsScreen(ModeScreen):
    MODE = "jobs"
    HEADING = "Jobs"
    BINDINGS = bindings_for("jobs")
