"""The conversation, kept per home in ``<home>/ai/history.json`` and restored on restart.

Bounded: the newest MAX_MESSAGES messages (cut at a question, so a tool call never loses its
result). A file that cannot be read is moved aside (``history.json.unreadable``), never
overwritten, and the error says where it went.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from .events import AIError, ChatMessage

MAX_MESSAGES = 200
MAX_FILE_BYTES = 4 * 1024 * 1024


class History:
    """Messages of this home's conversation; thread-safe, written atomically after each turn."""

    def __init__(self, home: Path) -> None:
        self.path = home / "ai" / "history.json"
        self._lock = threading.Lock()
        self._messages: list[ChatMessage] = []
        self.load_error: str | None = None
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        try:
            if self.path.stat().st_size > MAX_FILE_BYTES:
                raise ValueError(f"larger than {MAX_FILE_BYTES} bytes")
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
                raise ValueError("no 'messages' list")
            self._messages = [ChatMessage.from_dict(m) for m in data["messages"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            aside = self.path.with_name(self.path.name + ".unreadable")
            os.replace(self.path, aside)
            self._messages = []
            self.load_error = (
                f"{self.path}: the saved conversation could not be read ({exc}); it was moved "
                f"to {aside} and a new one started"
            )

    @property
    def messages(self) -> tuple[ChatMessage, ...]:
        with self._lock:
            return tuple(self._messages)

    def extend(self, messages: list[ChatMessage]) -> None:
        """Add one question's messages and save."""
        with self._lock:
            self._messages.extend(messages)
            if len(self._messages) > MAX_MESSAGES:
                cut = len(self._messages) - MAX_MESSAGES
                while cut < len(self._messages) and self._messages[cut].role != "user":
                    cut += 1
                del self._messages[:cut]
            self._save()

    def clear(self) -> None:
        """Forget the conversation (the file is emptied, not left behind)."""
        with self._lock:
            self._messages = []
            self._save()

    def _save(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_name(self.path.name + ".tmp")
            payload = {"version": 1, "messages": [m.to_dict() for m in self._messages]}
            temporary.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
            os.replace(temporary, self.path)
        except OSError as exc:
            raise AIError(
                f"{self.path}: the conversation could not be saved ({exc})", "history"
            ) from exc
