"""``casparian ask``: one question to the AI assistant, the answer streamed to stdout."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from .common import err_console, fail, open_workspace

if TYPE_CHECKING:
    from ..ai import ConfirmationRequest, Event, Provider, Status, TurnEnded
    from ..config import Config


def ask_command(
    ctx: typer.Context,
    question: str = typer.Argument(
        "", help="The question. '/query_output …' makes the first step a call of that tool."
    ),
    provider: str | None = typer.Option(
        None,
        "--provider",
        help="local, claude or none. Default: the ai_provider setting (auto: the local model "
        "when installed).",
        show_default=False,
    ),
    context: list[Path] = typer.Option(
        [],
        "--context",
        help="A file to put in the question's context: its kind and first lines, fenced as "
        "data (repeatable).",
    ),
    allow_path: list[Path] = typer.Option(
        [],
        "--allow-path",
        help="A folder the assistant's tools may read or scan (repeatable). Default: the "
        "working directory.",
    ),
    max_tokens: int = typer.Option(512, "--max-tokens", help="Longest answer, in tokens."),
    clear_history: bool = typer.Option(
        False, "--clear-history", help="Forget this home's conversation first."
    ),
) -> None:
    """Ask the AI assistant; tool calls show as dim lines on stderr.

    Write tools (execute_pipeline) run only after you confirm them at the prompt; without a
    terminal they are declined. Exit 2 when no model is available (the message says how to
    install or permit one), 1 when the answer failed, 130 when stopped with Ctrl+C.
    """
    from ..ai import Assistant, CancelToken
    from ..ai.context import AIContext, file_context
    from ..ai.history import History
    from ..tools import ToolGuard

    if not 1 <= max_tokens <= 8192:
        fail("--max-tokens must be between 1 and 8192", code=2)
    with open_workspace(ctx) as workspace:
        if clear_history:
            History(workspace.config.home).clear()
            if not question.strip():
                err_console.print("Conversation cleared.", style="dim")
                return
        if not question.strip():
            fail('give a question, e.g. casparian ask "what does this folder hold?"', 2)
        roots = tuple(p.expanduser().resolve() for p in allow_path) or (Path.cwd().resolve(),)
        assistant = Assistant(
            workspace,
            _chosen_provider(workspace.config, provider),
            guard=ToolGuard(allowed_paths=roots),
            confirm=_confirm_at_terminal,
            max_tokens=max_tokens,
        )
        if assistant.history.load_error:
            err_console.print(assistant.history.load_error, markup=False, style="yellow")
        files = tuple(file_context(p) for p in context)
        ai_context = AIContext(mode="cli", files=files) if files else AIContext(mode="cli")
        cancel = CancelToken()
        printer = _AnswerPrinter()
        try:
            for event in assistant.ask(question, ai_context, cancel):
                printer.show(event)
        except KeyboardInterrupt:
            cancel.cancel()
            err_console.print("stopped", style="yellow")
            raise typer.Exit(130) from None
        if printer.failed or not printer.ended:
            raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("ask")(ask_command)


def _chosen_provider(config: Config, name: str | None) -> Provider:
    """The provider ``--provider`` (or the settings) select; exit 2 when there is none."""
    from ..ai import NoneProvider, ProviderUnavailable, select_provider

    try:
        chosen = select_provider(config, name)
    except ProviderUnavailable as exc:
        fail(str(exc), code=2)
    if isinstance(chosen, NoneProvider):
        fail(chosen.reason, code=2)
    return chosen


def _confirm_at_terminal(request: ConfirmationRequest) -> bool:
    """Ask on the terminal before a write tool runs; declined without a terminal."""
    arguments = json.dumps(request.arguments)
    err_console.print(
        f"The assistant wants to run {request.tool}({arguments}): it {request.effect}.",
        markup=False,
        highlight=False,
    )
    if not sys.stdin.isatty():
        err_console.print("Declined: no terminal to confirm on.", style="dim")
        return False
    return typer.confirm("Run it?", default=False, err=True)


class _AnswerPrinter:
    """The answer's text on stdout; statuses, tool calls, errors and the closing figures on
    stderr (a step status as one line rewritten in place, on a terminal only)."""

    def __init__(self) -> None:
        self.failed = False
        self.ended = False
        self.stepping = False  # a progress line is on the terminal, to be cleared

    def _clear_step(self) -> None:
        if self.stepping:
            err_console.file.write("\r\x1b[2K")
            self.stepping = False

    def show(self, event: Event) -> None:
        from ..ai import (
            AIErrorEvent,
            Status,
            TextDelta,
            ToolCallRequested,
            ToolResult,
            TurnEnded,
        )

        if not isinstance(event, Status):
            self._clear_step()
        if isinstance(event, TextDelta):
            sys.stdout.write(event.text)
            sys.stdout.flush()
        elif isinstance(event, Status):
            self._status(event)
        elif isinstance(event, ToolCallRequested):
            call = event.call
            line = f"→ {call.name}({json.dumps(call.arguments)})"
            err_console.print(line, style="dim", markup=False, highlight=False)
        elif isinstance(event, ToolResult):
            line = f"← {event.call.name}: {event.outcome} · {event.summary}"
            err_console.print(line, style="dim", markup=False, highlight=False)
        elif isinstance(event, AIErrorEvent):
            self.failed = True
            sys.stdout.write("\n")
            err_console.print(f"error: {event.message}", style="red", markup=False)
        elif isinstance(event, TurnEnded):
            self.ended = True
            sys.stdout.write("\n")
            self._figures(event)

    def _status(self, event: Status) -> None:
        if event.step:  # one line, rewritten, on a terminal; left out of a log
            if err_console.is_terminal:
                err_console.file.write(f"\r\x1b[2K{event.text}")
                err_console.file.flush()
                self.stepping = True
            return
        self._clear_step()
        err_console.print(event.text, style="dim", markup=False)

    @staticmethod
    def _figures(event: TurnEnded) -> None:
        rate = f" · {event.tokens_per_second:.0f} tokens/s" if event.tokens_per_second else ""
        where = "cloud" if event.cloud else "local"
        err_console.print(
            f"{event.provider} · {event.model} · {where} · "
            f"{event.output_tokens} tokens in {event.seconds:.1f} s{rate}",
            style="dim",
            markup=False,
            highlight=False,
        )
