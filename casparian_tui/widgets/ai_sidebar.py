"""The AI sidebar: context line, status line, the conversation and the chat input.

The answer streams in as Markdown (``Markdown.get_stream``) while the engine's assistant runs in a
thread worker; each tool call shows inline as a collapsible block (tool, arguments, result
summary). Esc or Ctrl+c while an answer runs stops it at the next token and says "stopped"; a
question asked meanwhile is refused with a word, never interleaved. A write tool asks for a
person's yes in a modal (``ToolConfirmDialog``); errors are one red line and the next question
works. All of it is driven by ``casparian_engine.ai``; this widget only shows it.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Collapsible, Input, Static

if TYPE_CHECKING:
    from textual.widgets import Markdown
    from textual.widgets._markdown import MarkdownStream

    from casparian_engine.ai import (
        CancelToken,
        ChatMessage,
        ConfirmationRequest,
        Event,
        Selection,
        Status,
        ToolCall,
        ToolResult,
    )

    from ..ai_service import AIService

# Every mode screen holds a (hidden) sidebar from its start, so this module imports the engine's
# AI package and Textual's Markdown (markdown-it, highlighting) only inside the functions that
# run once the sidebar is shown or asked: start-up pays for neither.

HISTORY_SHOWN = 40  # messages of the saved conversation drawn when a sidebar opens
RESULT_SHOWN = 1500  # characters of a tool result inside its block
DELTA_BATCH_S = 0.05  # text of the answer reaches the UI at most this often
WARM_STATUS_S = 0.2  # how often the status line shows the warm-up's progress


def selection_of(mode: str, text: str) -> Selection:
    """The typed selection behind a screen's selection text (see each screen's set_selection)."""
    from casparian_engine.ai import Selection

    if not text:
        return Selection()
    if mode == "discover":
        return Selection("file", text)
    if mode == "process":
        if text.startswith("parser "):
            return Selection("parser", text.removeprefix("parser "))
        return Selection("file", text)
    if mode == "jobs" and (match := re.match(r"job (\d+)", text)):
        return Selection("job", match.group(1))
    if mode == "inspect":
        if match := re.match(r"quarantined row (\d+)", text):
            return Selection("quarantine", match.group(1))
        return Selection("table", text.split(".", 1)[0])
    return Selection()


def call_text(call: ToolCall) -> str:
    """'query_output(sql="SELECT 1")', cut to fit a sidebar line."""
    arguments = ", ".join(f"{k}={json.dumps(v)}" for k, v in call.arguments.items())
    text = f"{call.name}({arguments})"
    return text if len(text) <= 60 else text[:59] + "…"


def saved_summary(content: str) -> str:
    """The summary line of a saved tool result (its JSON as the model was given it)."""
    try:
        value = json.loads(content)
    except json.JSONDecodeError:
        return "saved result"
    if isinstance(value, dict):
        if "error" in value or "declined" in value:
            return str(value.get("error") or value.get("declined"))
        from casparian_engine.ai.session import summarize_result

        return summarize_result(value)
    return "saved result"


class ToolCallBlock(Collapsible):
    """One tool call inline in the answer: title 'tool(args) → outcome · summary', and the full
    arguments and result (bounded) when expanded."""

    def __init__(self, call: ToolCall) -> None:
        self.call = call
        self._body = Static(Text(json.dumps(call.arguments, indent=1)), classes="ai-tool-body")
        super().__init__(self._body, title=f"⚙ {call_text(call)} …", collapsed=True)
        self.add_class("ai-tool")

    def show_result(self, result: ToolResult) -> None:
        mark = {"ok": "✓", "declined": "✗", "refused": "✗", "error": "✗"}[result.outcome]
        self.title = f"{mark} {self.call.name} → {result.outcome} · {result.summary}"
        content = result.content
        if len(content) > RESULT_SHOWN:
            content = content[:RESULT_SHOWN] + "…"
        arguments = json.dumps(self.call.arguments, indent=1)
        self._body.update(Text(f"arguments: {arguments}\nresult: {content}"))
        self.add_class(f"ai-tool-{result.outcome}")


class ToolConfirmDialog(ModalScreen[bool]):
    """A write tool waits for a person: the tool, its arguments and what it will change."""

    DEFAULT_CSS = """
    ToolConfirmDialog {
        align: center middle;
    }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "Run it"),
        Binding("n,escape", "answer(False)", "Decline"),
    ]

    def __init__(self, request: ConfirmationRequest) -> None:
        super().__init__()
        self.request = request

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="ai-confirm"):
            yield Static(Text(f"The assistant wants to run {self.request.tool}", style="bold"))
            yield Static(Text(f"arguments: {json.dumps(self.request.arguments)}"))
            yield Static(Text(f"It {self.request.effect}."), id="ai-confirm-effect")
            yield Static(Text("y runs it · n or Esc declines (the assistant is told)", style="dim"))

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class AISidebar(Vertical):
    """Right-hand panel: context (mode + selection), status, the conversation and the input."""

    BINDINGS = [
        Binding("escape", "escape", "Stop / leave chat", show=False),
        Binding("ctrl+l", "clear_chat", "Clear chat", show=False),
    ]

    class LeaveRequested(Message):
        """Esc in the chat input while nothing runs: the screen takes the focus back."""

    class Posted(Message):
        """An event of the running question, posted from the worker thread."""

        def __init__(self, turn: int, event: Event) -> None:
            super().__init__()
            self.turn = turn
            self.event = event

    class ConfirmAsked(Message):
        """The worker thread waits for a person's answer about a write tool."""

        def __init__(
            self, request: ConfirmationRequest, answer: dict[str, bool], done: threading.Event
        ) -> None:
            super().__init__()
            self.request = request
            self.answer = answer
            self.done = done

    mode_name: reactive[str] = reactive("home")
    selection: reactive[str] = reactive("")

    def __init__(self, ai: AIService | Callable[[], AIService], **kwargs: Any) -> None:
        """``ai``: the service, or what builds it when the sidebar is first shown (choosing
        the provider and reading the saved conversation then, not at start-up)."""
        super().__init__(**kwargs)
        self._ai = ai
        self._opened = False  # shown once: status line set, saved conversation drawn
        self._turn = 0
        self._active = False  # this sidebar's question is running and being shown
        self._markdown: Markdown | None = None
        self._stream: MarkdownStream | None = None
        self._blocks: dict[str, ToolCallBlock] = {}
        self._shown_turns = -1
        self._turns_before = 0  # the service's finished questions when this one was asked
        self._dialog: ToolConfirmDialog | None = None
        self._warming = False  # a warm-up ran (or runs) for this sidebar
        self._warm_status = ""  # the warm-up's last progress line, set by its thread
        self._warm_done = False
        self._warm_timer: Timer | None = None
        self.deltas_shown = 0  # text deltas of answers drawn so far (tests and bench read it)
        self.first_drawn_at: float | None = None  # perf_counter of this answer's first text

    @property
    def ai(self) -> AIService:
        if callable(self._ai):
            self._ai = self._ai()
        return self._ai

    def compose(self) -> ComposeResult:
        yield Static("AI assistant", classes="panel-title")
        yield Static(id="ai-context")
        yield Static(id="ai-status")  # set when first shown (see sync_history)
        yield VerticalScroll(id="ai-log")
        yield Input(placeholder="Ask about this view… (Esc stops)", id="ai-input")

    def on_mount(self) -> None:
        self._render_context()
        self.query_one("#ai-log", VerticalScroll).anchor()
        self.sync_history()

    # --- context -----------------------------------------------------------------------------
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

    def _set_status(self, text: str) -> None:
        self.query_one("#ai-status", Static).update(Content(text))

    # --- the conversation --------------------------------------------------------------------
    def sync_history(self) -> None:
        """Draw the saved conversation when it changed since this sidebar last drew it (another
        mode's sidebar asked, or the app restarted). The first time the sidebar is shown it
        also says the provider and, after the conversation, why a saved one could not be read."""
        if not self.display:
            return  # a hidden sidebar draws the conversation when it is shown
        first = not self._opened
        self._opened = True
        if first:
            self._set_status(self.ai.status_text)
        if not (self._active or self._shown_turns == self.ai.turns):
            self._draw_history()
        if first and self.ai.assistant.history.load_error:
            self._log_line(self.ai.assistant.history.load_error, "ai-error")

    def _draw_history(self) -> None:
        self._shown_turns = self.ai.turns
        log = self.query_one("#ai-log", VerticalScroll)
        log.remove_children()
        self._blocks = {}
        widgets: list[Any] = []
        calls: dict[str, ToolCall] = {}
        for message in self.ai.assistant.history.messages[-HISTORY_SHOWN:]:
            widgets.extend(self._history_widgets(message, calls))
        if widgets:
            log.mount_all(widgets)

    def _history_widgets(self, message: ChatMessage, calls: dict[str, ToolCall]) -> list[Any]:
        from textual.widgets import Markdown

        from casparian_engine.ai import ToolCall, ToolResult

        if message.role == "user":
            return [Static(Content(f"you: {message.text}"), classes="ai-question")]
        if message.role == "assistant":
            for call in message.tool_calls:
                calls[call.id] = call
            return [Markdown(message.text, classes="ai-answer")] if message.text else []
        call = calls.get(
            message.tool_call_id, ToolCall(message.tool_call_id, message.tool_name, {})
        )
        block = ToolCallBlock(call)
        outcome: Literal["ok", "error"] = "ok" if not message.is_error else "error"
        block.show_result(ToolResult(call, outcome, saved_summary(message.text), message.text))
        return [block]

    def _log_line(self, text: str, classes: str) -> None:
        self.query_one("#ai-log", VerticalScroll).mount(Static(Content(text), classes=classes))

    def focus_chat(self) -> None:
        """Put the cursor in the chat input, so typed keys go to it and no shortcut fires."""
        self.query_one("#ai-input", Input).focus()

    @property
    def generating(self) -> bool:
        return self._active

    @on(Input.Changed, "#ai-input")
    def _warm_up(self, event: Input.Changed) -> None:
        """The first key typed loads the local model and reads the system prompt into its cache
        in a thread, so the answer starts sooner after Enter; the status line shows how far."""
        from casparian_engine.ai import NoneProvider

        if self._warming or self.ai.busy or not event.value:
            return
        self._warming = True
        selection = selection_of(self.mode_name, self.selection)
        mode = self.mode_name
        self.run_worker(lambda: self._warm_in_thread(mode, selection), thread=True, group="ai-warm")
        if not isinstance(self.ai.provider, NoneProvider):
            self._warm_timer = self.set_interval(WARM_STATUS_S, self._show_warm_progress)

    def _warm_in_thread(self, mode: str, selection: Selection) -> None:
        """The warm-up; its progress goes to ``_warm_status`` (read by a timer: the thread
        never waits for the UI)."""
        from casparian_engine.ai import context_for

        def note(status: Status) -> None:
            self._warm_status = status.text

        try:
            self.ai.assistant.warm_up(context_for(self.ai.workspace, mode, selection), note)
        except Exception:  # noqa: BLE001 - the question itself will say what is wrong
            self._warm_status = ""
        else:
            self._warm_status = "ready"
        finally:
            self._warm_done = True

    def _show_warm_progress(self) -> None:
        if self._warm_done and self._warm_timer is not None:
            self._warm_timer.stop()
        if not self._active and self._warm_status:  # a question shows its own progress
            self._set_status(f"{self.ai.label} · {self._warm_status}")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        question = event.value.strip()
        if not question:
            return
        if question == "/clear":
            event.input.value = ""
            self.action_clear_chat()
            return
        if self.ai.busy:
            self._log_line(
                "Still answering the last question: Esc stops it, then ask again.", "ai-busy"
            )
            return
        cancel = self.ai.begin()
        if cancel is None:
            return
        event.input.value = ""
        self.sync_history()
        self._turn += 1
        self.first_drawn_at = None
        self._turns_before = self.ai.turns  # one question at a time: it ends as turns + 1
        self._active = True
        self._markdown = None
        self._stream = None
        self._log_line(f"you: {question}", "ai-question")
        self._set_status(f"{self.ai.label} · thinking…")
        self.ai.confirm_handler = self._confirm_in_thread
        selection = selection_of(self.mode_name, self.selection)
        mode, turn = self.mode_name, self._turn
        self.run_worker(
            lambda: self._answer_in_thread(question, mode, selection, cancel, turn),
            thread=True,
            group="ai-answer",
            name="ai-answer",
        )

    def _answer_in_thread(
        self, question: str, mode: str, selection: Selection, cancel: CancelToken, turn: int
    ) -> None:
        """The worker: build the context, run the question, post every event to the UI."""
        from casparian_engine.ai import AIErrorEvent, TextDelta, TurnEnded, context_for

        try:
            context = context_for(self.ai.workspace, mode, selection)
            pending = ""
            posted = 0.0
            for event in self.ai.assistant.ask(question, context, cancel):
                if isinstance(event, TextDelta):
                    # One message per DELTA_BATCH_S, not per token: the UI thread draws less
                    # often and the model keeps more of the CPU. The first piece goes at once.
                    pending += event.text
                    now = time.monotonic()
                    if now - posted >= DELTA_BATCH_S:
                        self.post_message(self.Posted(turn, TextDelta(pending)))
                        pending, posted = "", now
                    continue
                if pending:
                    self.post_message(self.Posted(turn, TextDelta(pending)))
                    pending = ""
                self.post_message(self.Posted(turn, event))
        except Exception as exc:  # noqa: BLE001 - any failure is a line in the sidebar
            self.post_message(
                self.Posted(turn, AIErrorEvent(f"{type(exc).__name__}: {exc}", "api"))
            )
            self.post_message(
                self.Posted(
                    turn,
                    TurnEnded(
                        self.ai.provider.name, self.ai.provider.model, self.ai.provider.cloud,
                        0, 0, 0.0, None, None, 0, False, str(exc),
                    ),
                )
            )  # fmt: skip
        finally:
            self.ai.end(cancel)

    @on(Posted)
    async def _show_event(self, message: Posted) -> None:
        from textual.widgets import Markdown

        from casparian_engine.ai import (
            AIErrorEvent,
            Status,
            TextDelta,
            ToolCallRequested,
            ToolResult,
            TurnEnded,
        )

        message.stop()
        if message.turn != self._turn or not self._active:
            return  # a stopped question finishing in the background
        event = message.event
        if isinstance(event, TextDelta):
            if self._stream is None:
                self._markdown = Markdown(classes="ai-answer")
                await self.query_one("#ai-log", VerticalScroll).mount(self._markdown)
                self._stream = Markdown.get_stream(self._markdown)
            await self._stream.write(event.text)
            self.deltas_shown += 1
            if self.first_drawn_at is None:
                self.first_drawn_at = time.perf_counter()
        elif isinstance(event, Status):
            self._set_status(f"{self.ai.label} · {event.text}")
        elif isinstance(event, ToolCallRequested):
            await self._end_stream()
            block = ToolCallBlock(event.call)
            self._blocks[event.call.id] = block
            await self.query_one("#ai-log", VerticalScroll).mount(block)
        elif isinstance(event, ToolResult):
            if (shown := self._blocks.get(event.call.id)) is not None:
                shown.show_result(event)
        elif isinstance(event, AIErrorEvent):
            await self._end_stream()
            self._log_line(event.message, "ai-error")
        elif isinstance(event, TurnEnded):
            await self._end_stream()
            self._active = False
            # This turn is drawn already. Not ``ai.turns + 1``: the worker counts the turn
            # after posting this event, so which of the two comes first is a race.
            self._shown_turns = self._turns_before + 1
            rate = f" · {event.tokens_per_second:.0f} tokens/s" if event.tokens_per_second else ""
            self._set_status(f"{self.ai.label}{rate}")
            if event.error is None:
                tools = f" · {event.tool_rounds} tool round(s)" if event.tool_rounds else ""
                summary = f"{event.output_tokens} tokens · {event.seconds:.1f} s{rate}{tools}"
                self._log_line(summary, "ai-summary")

    async def _end_stream(self) -> None:
        if self._stream is not None:
            await self._stream.stop()
        self._stream = None
        self._markdown = None

    # --- stop, confirm, clear ----------------------------------------------------------------
    async def stop_answer(self) -> bool:
        """Stop the running question: the engine stops at its next token, the sidebar says
        "stopped" at once. False when nothing runs."""
        if not self._active:
            return False
        self.ai.stop()
        self._active = False
        if self._dialog is not None and self._dialog.is_attached:
            self._dialog.dismiss(False)
        await self._end_stream()
        self._log_line("stopped", "ai-stopped")
        self._set_status(f"{self.ai.label} · stopped")
        return True

    async def action_escape(self) -> None:
        if not await self.stop_answer():
            self.post_message(self.LeaveRequested())

    def action_leave_chat(self) -> None:
        self.post_message(self.LeaveRequested())

    def action_clear_chat(self) -> None:
        if self.ai.busy:
            self._log_line("Stop the running answer (Esc) before clearing.", "ai-busy")
            return
        try:
            self.ai.clear_history()
        except Exception as exc:  # noqa: BLE001 - the history file could not be written
            self._log_line(str(exc), "ai-error")
            return
        self._shown_turns = -1
        self.sync_history()
        self._log_line("Conversation cleared.", "ai-summary")

    def _confirm_in_thread(self, request: ConfirmationRequest, cancel: CancelToken) -> bool:
        """Called by the engine in the worker thread: ask in the UI and wait for the answer."""
        answer = {"yes": False}
        done = threading.Event()
        self.post_message(self.ConfirmAsked(request, answer, done))
        while not done.wait(0.05):
            if cancel.cancelled:
                return False
        return answer["yes"]

    @on(ConfirmAsked)
    def _ask_person(self, message: ConfirmAsked) -> None:
        message.stop()

        def answered(yes: bool | None) -> None:
            self._dialog = None
            message.answer["yes"] = bool(yes)
            message.done.set()

        if not self._active:
            answered(False)
            return
        self._dialog = ToolConfirmDialog(message.request)
        self.app.push_screen(self._dialog, answered)
