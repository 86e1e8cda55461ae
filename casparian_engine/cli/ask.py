"""``casparian ask``: one question to the AI assistant, the answer streamed to stdout."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from .common import err_console, fail, open_workspace


def register(app: typer.Typer) -> None:
    @app.command("ask")
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
        from ..ai import (
            AIErrorEvent,
            Assistant,
            CancelToken,
            ConfirmationRequest,
            NoneProvider,
            ProviderUnavailable,
            Status,
            TextDelta,
            ToolCallRequested,
            ToolResult,
            TurnEnded,
            select_provider,
        )
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
            try:
                chosen = select_provider(workspace.config, provider)
            except ProviderUnavailable as exc:
                fail(str(exc), code=2)
            if isinstance(chosen, NoneProvider):
                fail(chosen.reason, code=2)
            roots = tuple(p.expanduser().resolve() for p in allow_path) or (Path.cwd().resolve(),)

            def confirm(request: ConfirmationRequest) -> bool:
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

            assistant = Assistant(
                workspace,
                chosen,
                guard=ToolGuard(allowed_paths=roots),
                confirm=confirm,
                max_tokens=max_tokens,
            )
            if assistant.history.load_error:
                err_console.print(assistant.history.load_error, markup=False, style="yellow")
            files = tuple(file_context(p) for p in context)
            ai_context = AIContext(mode="cli", files=files) if files else AIContext(mode="cli")
            cancel = CancelToken()
            failed = False
            ended = False
            stepping = False  # a progress line is on the terminal, to be cleared
            try:
                for event in assistant.ask(question, ai_context, cancel):
                    if stepping and not isinstance(event, Status):
                        err_console.file.write("\r\x1b[2K")
                        stepping = False
                    if isinstance(event, TextDelta):
                        sys.stdout.write(event.text)
                        sys.stdout.flush()
                    elif isinstance(event, Status):
                        if event.step:  # one line, rewritten, on a terminal; left out of a log
                            if err_console.is_terminal:
                                err_console.file.write(f"\r\x1b[2K{event.text}")
                                err_console.file.flush()
                                stepping = True
                            continue
                        if stepping:
                            err_console.file.write("\r\x1b[2K")
                            stepping = False
                        err_console.print(event.text, style="dim", markup=False)
                    elif isinstance(event, ToolCallRequested):
                        call = event.call
                        line = f"→ {call.name}({json.dumps(call.arguments)})"
                        err_console.print(line, style="dim", markup=False, highlight=False)
                    elif isinstance(event, ToolResult):
                        line = f"← {event.call.name}: {event.outcome} · {event.summary}"
                        err_console.print(line, style="dim", markup=False, highlight=False)
                    elif isinstance(event, AIErrorEvent):
                        failed = True
                        sys.stdout.write("\n")
                        err_console.print(f"error: {event.message}", style="red", markup=False)
                    elif isinstance(event, TurnEnded):
                        ended = True
                        sys.stdout.write("\n")
                        rate = (
                            f" · {event.tokens_per_second:.0f} tokens/s"
                            if event.tokens_per_second
                            else ""
                        )
                        where = "cloud" if event.cloud else "local"
                        err_console.print(
                            f"{event.provider} · {event.model} · {where} · "
                            f"{event.output_tokens} tokens in {event.seconds:.1f} s{rate}",
                            style="dim",
                            markup=False,
                            highlight=False,
                        )
            except KeyboardInterrupt:
                cancel.cancel()
                err_console.print("stopped", style="yellow")
                raise typer.Exit(130) from None
            if failed or not ended:
                raise typer.Exit(1)
