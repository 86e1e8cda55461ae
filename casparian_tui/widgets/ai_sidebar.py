"""The AI sidebar: a context line, the chat log and the chat input.

Until an assistant is wired in it says plainly that no model is configured and how to configure
one; it never invents an answer.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Input, Static

from casparian_engine.config import Settings


def model_status(settings: Settings, config_hint: str) -> str:
    """A plain statement of which model the sidebar would use, and how to configure one."""
    if settings.ai_provider in ("none", "auto"):
        return (
            "No AI model is configured, so nothing you type here is answered.\n\n"
            f"To configure one, edit {config_hint}:\n"
            '  ai_provider = "local"\n'
            '  ai_model_path = "/path/to/model.gguf"\n'
            "or, where cloud use is permitted:\n"
            '  ai_provider = "claude"\n'
            "  allow_cloud_ai = true\n"
            "(or set CASPARIAN_AI_PROVIDER in the environment)."
        )
    return (
        f"ai_provider is {settings.ai_provider!r}, but this build has no assistant wired into "
        "the sidebar yet, so nothing you type here is answered."
    )


class AISidebar(Vertical):
    """Right-hand panel: context (mode + selection), model status, chat log and input."""

    BINDINGS = [Binding("escape", "leave_chat", "Leave chat", show=False)]

    class LeaveRequested(Message):
        """Esc in the chat input: the screen takes the focus back."""

    mode_name: reactive[str] = reactive("home")
    selection: reactive[str] = reactive("")

    def __init__(self, settings: Settings, config_hint: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._settings = settings
        self._config_hint = config_hint

    def compose(self) -> ComposeResult:
        yield Static("AI assistant", classes="panel-title")
        yield Static(id="ai-context")
        yield Static(model_status(self._settings, self._config_hint), id="ai-status")
        yield Vertical(id="ai-log")
        yield Input(placeholder="Ask about this view…", id="ai-input")

    def on_mount(self) -> None:
        self._render_context()

    def watch_mode_name(self) -> None:
        self._render_context()

    def watch_selection(self) -> None:
        self._render_context()

    def _render_context(self) -> None:
        if not self.is_mounted:
            return
        selection = self.selection or "nothing selected"
        context = Content(f"Context: {self.mode_name} · {selection}")  # literal: paths hold "["
        self.query_one("#ai-context", Static).update(context)

    def focus_chat(self) -> None:
        """Put the cursor in the chat input, so typed keys go to it and no shortcut fires."""
        self.query_one("#ai-input", Input).focus()

    def action_leave_chat(self) -> None:
        self.post_message(self.LeaveRequested())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Record the question and state that it was not sent anywhere."""
        event.stop()
        question = event.value.strip()
        if not question:
            return
        log = self.query_one("#ai-log", Vertical)
        log.mount(Static(Content(f"you: {question}"), classes="ai-question"))
        log.mount(
            Static(
                "Not answered: no AI model is configured (see above).",
                classes="ai-unanswered",
            )
        )
        event.input.value = ""
