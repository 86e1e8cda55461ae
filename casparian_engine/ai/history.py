"""The conversation, kept per home in ``<home>/ai/history.json`` and restored on restart.

Bounded: the newest MAX_MESSAGES messages (cut at a question, so a tool call never loses its
result). A file that cannot be read is moved aside (``history.json.unreadable``), never
overwritten, and the error says where it went.
"""

from __future__ import annotations

import threading
from pathlib import Path

from ..saved_lists import load_saved_list, save_list
from .events import AIError, ChatMessage

MAX_MESSAGES = 200


class History:
    """Messages of this home's conversation; thread-safe, written atomically after each turn."""

    def __init__(self, home: Path) -> None:
        self.path = home / "ai" / "history.json"
        self._lock = threading.Lock()
        self._messages: list[ChatMessage] = []
        self.load_error: str | None = None
        self._load()

    def _load(self) -> None:
        messages, error = load_saved_list(
            self.path,
            "messages",
            "the saved conversation",
            lambda items: [ChatMessage.from_dict(item) for item in items],
        )
        self._messages, self.load_error = messages, error or None

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
            save_list(self.path, "messages", [m.to_dict() for m in self._messages])
        except OSError as exc:
            raise AIError(
                f"{self.path}: the conversation could not be saved ({exc})", "history"
            ) from exc
