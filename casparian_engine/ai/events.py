"""The typed values the assistant passes around: messages, tool calls and streamed events.

A provider streams ``TextDelta``, ``ToolCallRequested`` and finally one ``RoundEnded`` per model
call; the session adds ``Status``, ``ToolResult``, ``TurnEnded`` and ``AIErrorEvent``. Everything
here is a frozen dataclass, so events can cross threads (the TUI posts them to its loop).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import CasparianError

Role = Literal["user", "assistant", "tool"]
ErrorKind = Literal[
    "config",  # a provider is not configured or not permitted (the message says how to fix it)
    "runtime",  # the local runtime (llama-cpp-python) is not installed
    "model",  # the model file is missing, unreadable or not a model
    "memory",  # out of memory loading or running the model
    "network",  # the API could not be reached
    "auth",  # the API refused the key (401/403)
    "rate_limit",  # 429
    "overloaded",  # 529 / overloaded_error
    "api",  # any other API error
    "history",  # the saved conversation could not be read or written
]


class CancelToken:
    """Set by whoever wants a running answer stopped; providers check it between tokens.

    ``on_cancel`` registers a function run (in the cancelling thread) when it is set, so a
    provider blocked on the network can close its connection at once.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []

    def cancel(self) -> None:
        with self._lock:
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            try:
                callback()
            except Exception:  # noqa: BLE001 - closing a stream that already ended may fail
                pass

    def on_cancel(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` when cancelled (at once if already cancelled)."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return
        callback()

    def forget(self, callback: Callable[[], None]) -> None:
        """Drop a callback registered with ``on_cancel`` (its stream has ended)."""
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until cancelled or ``timeout`` seconds passed; True when cancelled."""
        return self._event.wait(timeout)


class AIError(CasparianError, RuntimeError):
    """A provider could not answer; ``kind`` says why in one word, the message says what to do."""

    def __init__(self, message: str, kind: ErrorKind) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind


@dataclass(frozen=True)
class ToolCall:
    """A model's request to run one registry tool with JSON arguments."""

    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class ChatMessage:
    """One entry of a conversation, independent of any provider's wire format.

    ``assistant`` messages may carry tool calls; each ``tool`` message answers one of them by
    ``tool_call_id`` with ``text`` (JSON of the result, or the error) and ``is_error``.
    """

    role: Role
    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str = ""
    tool_name: str = ""
    is_error: bool = False

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"role": self.role, "text": self.text}
        if self.tool_calls:
            data["tool_calls"] = [
                {"id": c.id, "name": c.name, "arguments": c.arguments} for c in self.tool_calls
            ]
        if self.role == "tool":
            data |= {"tool_call_id": self.tool_call_id, "tool_name": self.tool_name}
            data["is_error"] = self.is_error
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChatMessage:
        role = data["role"]
        if role not in ("user", "assistant", "tool"):
            raise ValueError(f"unknown role {role!r}")
        calls = tuple(
            ToolCall(str(c["id"]), str(c["name"]), dict(c["arguments"]))
            for c in data.get("tool_calls", ())
        )
        return cls(
            role=role,
            text=str(data.get("text", "")),
            tool_calls=calls,
            tool_call_id=str(data.get("tool_call_id", "")),
            tool_name=str(data.get("tool_name", "")),
            is_error=bool(data.get("is_error", False)),
        )


@dataclass(frozen=True)
class ToolSchema:
    """What a provider is told about a tool: name, description and JSON schema of arguments."""

    name: str
    description: str
    input_schema: dict[str, Any]


# -- streamed events ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    """Progress that is not part of the answer: 'loading model …', 'model loaded in 0.4 s'.

    ``step`` marks one of a run of updates of the same progress ('loading …: 40%', 'reading the
    prompt: 120 of 900 tokens'): each replaces the last, and a log may leave them out."""

    text: str
    step: bool = False


@dataclass(frozen=True)
class TextDelta:
    """The next piece of the answer's Markdown."""

    text: str


@dataclass(frozen=True)
class ToolCallRequested:
    """The model asked for a tool; the session runs it (after confirmation for write tools)."""

    call: ToolCall


@dataclass(frozen=True)
class ToolResult:
    """The outcome of one tool call, as the model is told it and as the UI summarises it.

    ``outcome`` is ``ok``, ``error`` (the tool or its arguments failed), ``refused`` (the guard
    or the assistant's rules stopped it) or ``declined`` (the person said no).
    """

    call: ToolCall
    outcome: Literal["ok", "error", "refused", "declined"]
    summary: str
    content: str


@dataclass(frozen=True)
class RoundEnded:
    """A provider finished one model call (an answer, or a request for tools)."""

    input_tokens: int
    output_tokens: int
    stop_reason: str = ""


@dataclass(frozen=True)
class TurnEnded:
    """A question is done: figures for the status line and the audit."""

    provider: str
    model: str
    cloud: bool
    input_tokens: int
    output_tokens: int
    seconds: float
    first_token_s: float | None
    tokens_per_second: float | None
    tool_rounds: int
    stopped: bool = False
    error: str | None = None


@dataclass(frozen=True)
class AIErrorEvent:
    """The question could not be answered; the message is written for a person."""

    message: str
    kind: ErrorKind


ProviderEvent = Status | TextDelta | ToolCallRequested | RoundEnded
Event = Status | TextDelta | ToolCallRequested | ToolResult | TurnEnded | AIErrorEvent


@dataclass(frozen=True)
class ProviderRequest:
    """One model call: system prompt, conversation so far, tools offered, output bound.

    ``force_tool`` (local provider) makes the model's reply a call of that tool, decoded under
    its schema; Claude gets it as ``tool_choice``. ``stable_system``: how many of ``system``'s
    first characters are the same for every question (the rules, not the context), which the
    local provider reads once and keeps.
    """

    system: str
    messages: tuple[ChatMessage, ...]
    tools: tuple[ToolSchema, ...] = ()
    max_tokens: int = 512
    force_tool: str | None = None
    stable_system: int = 0
