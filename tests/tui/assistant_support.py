"""Shared by the Pilot tests of the assistant in each mode and of the Parser Lab: waiting for
work, and the mark for tests that need the real local model."""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from casparian_engine.ai import shipped_model_path

DEADLINE_S = 600.0  # a guard against a hang under load, never reached by a healthy run

needs_model = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None or shipped_model_path() is None,
    reason="the local-ai extra is not installed (make local-ai)",
)


async def until(pilot: Pilot[None], condition: Callable[[], bool]) -> None:
    """Let the app run until ``condition`` holds (a state, never a time, is waited for)."""
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        await pilot.pause()
        if time.monotonic() > deadline:
            raise AssertionError("the screen never reached the expected state")
