"""The app's one assistant: provider choice, the conversation and the question running now.

Every mode has its own sidebar, but they share this: one history (restored at start-up), one
model in memory, one question at a time. The engine does the work (``casparian_engine.ai``); this
holds it for the app and hands write-tool confirmations to the sidebar that asked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from casparian_engine.ai import (
    Assistant,
    CancelToken,
    ConfirmationRequest,
    NoneProvider,
    Provider,
    ProviderUnavailable,
    select_provider,
)
from casparian_engine.ai.provider import config_hint
from casparian_engine.tools import ToolGuard
from casparian_engine.workspace import Workspace

ConfirmHandler = Callable[[ConfirmationRequest, CancelToken], bool]


class AIService:
    """Chooses the provider once (no model is loaded until the first question)."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.unavailable: str | None = None
        provider: Provider
        try:
            provider = select_provider(workspace.config)
        except ProviderUnavailable as exc:
            self.unavailable = str(exc)
            provider = NoneProvider(str(exc))
        self.provider = provider
        self.assistant = Assistant(
            workspace,
            provider,
            guard=ToolGuard(allowed_paths=self._allowed_paths()),
            confirm=self._confirm,
        )
        self.cancel: CancelToken | None = None
        self.confirm_handler: ConfirmHandler | None = None
        self.turns = 0  # questions finished; a sidebar re-reads the history when it changed
        self._lock = threading.Lock()

    def _allowed_paths(self) -> tuple[Path, ...]:
        """Tools may read under the working directory and under every folder scanned."""
        roots = {Path.cwd().resolve()}
        roots.update(Path(root).resolve() for root in self.workspace.files.source_roots())
        return tuple(sorted(roots))

    @property
    def label(self) -> str:
        """'local · SmolLM2-135M-Instruct.Q4_1.gguf · local' for the status line."""
        if isinstance(self.provider, NoneProvider):
            return "no model"
        where = "cloud" if self.provider.cloud else "local"
        return f"{self.provider.name} · {self.provider.model} · {where}"

    @property
    def status_text(self) -> str:
        if isinstance(self.provider, NoneProvider):
            return self.provider.reason
        return self.label

    @property
    def busy(self) -> bool:
        return self.cancel is not None

    def begin(self) -> CancelToken | None:
        """A cancel token for a new question, or None while one is still running."""
        with self._lock:
            if self.cancel is not None:
                return None
            self.cancel = CancelToken()
            return self.cancel

    def end(self, cancel: CancelToken, history_changed: bool = True) -> None:
        """The question of ``cancel`` is over; ``history_changed`` False for model work that
        adds nothing to the conversation (the lab's draft, the Discover hint), so sidebars do
        not redraw it."""
        with self._lock:
            if self.cancel is cancel:
                self.cancel = None
            if history_changed:
                self.turns += 1

    def stop(self) -> bool:
        """Stop the running question; False when none runs."""
        cancel = self.cancel
        if cancel is None:
            return False
        cancel.cancel()
        return True

    def clear_history(self) -> None:
        """Forget the conversation (``AIError`` when the file cannot be written)."""
        self.assistant.history.clear()
        self.turns += 1

    def _confirm(self, request: ConfirmationRequest) -> bool:
        handler, cancel = self.confirm_handler, self.cancel
        if handler is None or cancel is None:
            return False
        return handler(request, cancel)

    @property
    def config_hint(self) -> str:
        return config_hint(self.workspace.config)
