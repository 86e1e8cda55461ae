"""A list kept in a small JSON file of a home (the SQL editor's history, the assistant's
conversation): read with a size bound, written atomically, and an unreadable file moved aside
(never lost, never fatal) with a message saying where it went."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

MAX_FILE_BYTES = 4 * 1024 * 1024

T = TypeVar("T")


def load_saved_list(
    path: Path, key: str, what: str, convert: Callable[[list[Any]], list[T]]
) -> tuple[list[T], str]:
    """The items saved under ``key`` in ``path`` (``convert`` checks and builds them; it raises
    ``ValueError``, ``KeyError`` or ``TypeError`` on a bad item), and "" — or, when the file cannot
    be read, an empty list and a message naming ``what`` and where the file was moved. A missing
    file is an empty list."""
    if not path.exists():
        return [], ""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ValueError(f"larger than {MAX_FILE_BYTES} bytes")
        data = json.loads(path.read_text(encoding="utf-8"))
        items = data.get(key) if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise ValueError(f"no '{key}' list")
        return convert(items), ""
    except (OSError, ValueError, KeyError, TypeError) as exc:
        aside = path.with_name(path.name + ".unreadable")
        os.replace(path, aside)
        return [], (
            f"{path}: {what} could not be read ({exc}); it was moved to {aside} and a new one "
            "started"
        )


def save_list(path: Path, key: str, items: list[Any]) -> None:
    """Write ``{"version": 1, key: items}`` to ``path`` through a temporary file (a crash leaves the
    old file or the new one, never half of one); raises ``OSError``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    payload = {"version": 1, key: items}
    temporary.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, path)
