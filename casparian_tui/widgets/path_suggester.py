"""Completion of a typed path: the first entry of its folder that starts with what was typed.

Right arrow (or Tab in a prompt) takes the suggestion; a folder is completed with its '/', so the
next name can be typed at once. Only one folder is listed per suggestion (at most
``MAX_ENTRIES`` names read), in a thread, so a slow disk never stalls the screen.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from textual.suggester import Suggester

MAX_ENTRIES = 5_000
"""Names read from one folder at most when looking for a completion."""


def complete_path(typed: str, folders_only: bool = False) -> str | None:
    """``typed`` completed to the first (sorted) entry of its folder that it starts, or None."""
    if typed.startswith("~") and "/" not in typed:
        return typed + "/" if typed == "~" else None  # a home folder: '~' → '~/'
    expanded = os.path.expanduser(typed)
    folder, _, prefix = expanded.rpartition("/")
    parent = Path(folder or ("/" if expanded.startswith("/") else "."))
    if typed.endswith("/") and not prefix:
        return None  # a whole folder typed: nothing to guess yet
    names: list[tuple[str, bool]] = []
    try:
        with os.scandir(parent) as entries:
            for count, entry in enumerate(entries):
                if count >= MAX_ENTRIES:
                    break
                if entry.name.startswith(prefix) and entry.name != prefix:
                    if prefix or not entry.name.startswith("."):
                        is_dir = entry.is_dir()
                        if is_dir or not folders_only:
                            names.append((entry.name, is_dir))
    except OSError:
        return None
    if not names:
        return None
    name, is_dir = min(names)
    cut = len(typed) - len(prefix)
    return typed[:cut] + name + ("/" if is_dir else "")


class PathSuggester(Suggester):
    """Suggests the rest of a file or folder name as a path is typed."""

    def __init__(self, folders_only: bool = False) -> None:
        super().__init__(use_cache=False, case_sensitive=True)  # the disk changes under it
        self.folders_only = folders_only

    async def get_suggestion(self, value: str) -> str | None:
        return await asyncio.to_thread(complete_path, value, self.folders_only)
