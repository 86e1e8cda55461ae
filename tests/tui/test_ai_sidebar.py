"""The AI sidebar on the real app: streaming from the real local model, tool-call blocks, stop,
write-tool confirmation, errors and history across a restart."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from casparian_engine.ai import (
    CancelToken,
    ChatMessage,
    ProviderEvent,
    ProviderRequest,
    RoundEnded,
    TextDelta,
    ToolCall,
    ToolCallRequested,
    shipped_model_path,
)
from casparian_engine.ai.history import History
from casparian_engine.ai.local import LocalProvider
from casparian_engine.store.scopes import scope_from_arguments
from casparian_engine.workspace import Workspace
from casparian_tui.app import CasparianApp
from casparian_tui.widgets.ai_sidebar import AISidebar, ToolCallBlock, ToolConfirmDialog

SIZE = (120, 36)
DEADLINE_S = 120.0  # a guard against a hang, never reached by a healthy run


def local_model_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("llama_cpp") is not None and shipped_model_path() is not None


needs_model = pytest.mark.skipif(
    not local_model_installed(), reason="the local-ai extra is not installed (make local-ai)"
)


async def open_sidebar(pilot: Pilot[None]) -> AISidebar:
    await pilot.press("alt+a")
    await pilot.pause()
    sidebar = pilot.app.screen.query_one(AISidebar)
    assert sidebar.display
    return sidebar


async def ask(pilot: Pilot[None], question: str) -> None:
    """Type ``question`` and Enter, then wait until the sidebar has taken it (its line shows)."""
    sidebar = pilot.app.screen.query_one(AISidebar)
    await pilot.press(*question, "enter")
    await until(pilot, lambda: f"you: {question}" in lines(sidebar, ".ai-question"))


async def until(pilot: Pilot[None], condition: object) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():  # type: ignore[operator]
        await pilot.pause()
        if time.monotonic() > deadline:
            raise AssertionError("the sidebar never reached the expected state")


async def answered(pilot: Pilot[None], sidebar: AISidebar) -> None:
    """Wait for the worker to finish and its last events to be drawn."""
    await until(pilot, lambda: not sidebar.ai.busy)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await until(pilot, lambda: not sidebar.generating)


def lines(sidebar: AISidebar, selector: str) -> list[str]:
    return [str(w.render()) for w in sidebar.query(selector)]


async def test_without_a_model_it_says_how_to_get_one(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASPARIAN_AI_PROVIDER", "none")
    workspace = Workspace.open(home)
    try:
        app = CasparianApp(workspace)
        async with app.run_test(size=SIZE) as pilot:
            sidebar = await open_sidebar(pilot)
            status = str(sidebar.query_one("#ai-status").render())
            assert "No AI model is available" in status and "make local-ai" in status
            await ask(pilot, "hello")
            await answered(pilot, sidebar)
            assert lines(sidebar, ".ai-question") == ["you: hello"]
            answer = sidebar.query(".ai-answer").last()
            assert "make local-ai" in answer.source  # type: ignore[attr-defined]
    finally:
        workspace.close()


@needs_model
async def test_a_local_answer_streams_in_deltas_and_ends_with_a_summary(
    workspace: Workspace,
) -> None:
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        sidebar = await open_sidebar(pilot)
        sidebar.ai.assistant.max_tokens = 48
        await ask(pilot, "What is a CSV file?")
        await answered(pilot, sidebar)
        assert sidebar.deltas_shown >= 3  # streamed: several pieces, 50 ms apart at most
        summary = lines(sidebar, ".ai-summary")[-1]
        assert " tokens · " in summary and "tokens/s" in summary
        status = str(sidebar.query_one("#ai-status").render())
        assert status.startswith("local · SmolLM2-135M-Instruct.Q4_1.gguf · local · ")
        assert status.endswith("tokens/s")


@needs_model
async def test_a_constrained_tool_call_runs_and_its_block_appears(workspace: Workspace) -> None:
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        sidebar = await open_sidebar(pilot)
        sidebar.ai.assistant.max_tokens = 16
        sidebar.ai.assistant.max_tool_rounds = 1
        await ask(pilot, "/query_output How many output tables are there?")
        await answered(pilot, sidebar)
        block = sidebar.query_one(ToolCallBlock)
        assert block.call.name == "query_output" and "sql" in block.call.arguments
        assert block.title.startswith(("✓ query_output → ", "✗ query_output → "))
        assert "→ ok · " in block.title or "→ error · " in block.title
    entry = workspace.store.audit.list(action="tool.call")[0]
    assert (entry.subject, entry.details["provider"]) == ("query_output", "local")


@needs_model
@pytest.mark.parametrize("key", ["escape", "ctrl+c"])
async def test_escape_or_ctrl_c_stops_mid_stream_and_says_stopped(
    workspace: Workspace, key: str
) -> None:
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        sidebar = await open_sidebar(pilot)
        sidebar.ai.assistant.max_tokens = 400
        await ask(pilot, "Tell a long story about a river.")
        await until(pilot, lambda: sidebar.deltas_shown >= 2)
        await pilot.press(key)
        assert lines(sidebar, ".ai-stopped") == ["stopped"]  # said at once
        shown = sidebar.deltas_shown
        await answered(pilot, sidebar)
        assert sidebar.deltas_shown == shown  # nothing drawn after the stop
        assert app.screen.query_one(AISidebar) is sidebar  # the app keeps running
        assert app.is_running and app.return_code is None
    question = workspace.store.audit.list(action="ai.question")[0]
    assert question.details["outcome"] == "stopped"
    assert question.details["output_tokens"] < 400


async def test_a_wrong_model_path_is_a_red_line_and_the_next_question_works(
    workspace: Workspace, tmp_path: Path
) -> None:
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        sidebar = await open_sidebar(pilot)
        good = sidebar.ai.assistant.provider
        sidebar.ai.assistant.provider = LocalProvider(tmp_path / "missing.gguf")
        await ask(pilot, "hello")
        await answered(pilot, sidebar)
        assert lines(sidebar, ".ai-error") == [
            f"model file not found: {tmp_path / 'missing.gguf'} (set ai_model_path to a GGUF file)"
        ]
        sidebar.ai.assistant.provider = Scripted([])  # the next question is answered
        await ask(pilot, "again")
        await answered(pilot, sidebar)
        assert sidebar.query(".ai-answer").last().source == "Nothing to do."  # type: ignore[attr-defined]
        del good


class Scripted:
    """A real provider answering from a script: the given tool calls, then a short text."""

    name = "scripted"
    model = "script-1"
    cloud = False

    def __init__(self, calls: list[ToolCall]) -> None:
        self.calls = list(calls)

    def stream(self, request: ProviderRequest, cancel: CancelToken) -> Iterator[ProviderEvent]:
        if self.calls and request.tools:
            yield ToolCallRequested(self.calls.pop(0))
            yield RoundEnded(5, 5, "tool_use")
            return
        last = request.messages[-1]
        yield TextDelta("The tool said no." if last.is_error else "Nothing to do.")
        yield RoundEnded(5, 3, "end_turn")


async def test_a_write_tool_waits_for_a_person_in_a_modal(registered: Workspace) -> None:
    workspace = registered
    workspace.store.scopes.save(scope_from_arguments("inv", patterns=["*.csv"]))
    app = CasparianApp(workspace)
    pipeline = {"parser": "invoices", "scope": "inv"}
    async with app.run_test(size=SIZE) as pilot:
        sidebar = await open_sidebar(pilot)
        sidebar.ai.assistant.provider = Scripted([ToolCall("w1", "execute_pipeline", pipeline)])
        await ask(pilot, "process the invoices")
        await until(pilot, lambda: isinstance(app.screen, ToolConfirmDialog))
        dialog = app.screen
        assert isinstance(dialog, ToolConfirmDialog)
        effect = str(dialog.query_one("#ai-confirm-effect").render())
        assert effect.startswith("It queues 4 file(s) of scope 'inv' as jobs for parser 'invoices'")
        await pilot.press("n")
        await answered(pilot, sidebar)
        block = sidebar.query(ToolCallBlock).last()
        assert "→ declined" in block.title
        assert workspace.store.jobs.counts().total == 0

        sidebar.ai.assistant.provider = Scripted([ToolCall("w2", "execute_pipeline", pipeline)])
        await ask(pilot, "process them now")
        await until(pilot, lambda: isinstance(app.screen, ToolConfirmDialog))
        await pilot.press("y")
        await answered(pilot, sidebar)
        block = sidebar.query(ToolCallBlock).last()
        assert "→ ok · " in block.title, block.title
    assert workspace.store.jobs.counts().total == 4
    outcomes = [
        (e.subject, e.details["outcome"], e.details.get("provider"))
        for e in workspace.store.audit.list(action="tool.call")
    ]
    assert ("execute_pipeline", "ok", "scripted") in outcomes
    assert ("execute_pipeline", "declined", "scripted") in outcomes


async def test_a_question_asked_before_a_restart_is_shown_after_it(workspace: Workspace) -> None:
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        sidebar = await open_sidebar(pilot)
        sidebar.ai.assistant.provider = Scripted([])
        await ask(pilot, "remember me")
        await answered(pilot, sidebar)
    again = CasparianApp(workspace)
    async with again.run_test(size=SIZE) as pilot:
        await pilot.press("alt+d")  # another mode's sidebar, in a new app
        await pilot.pause()
        sidebar = await open_sidebar(pilot)
        assert lines(sidebar, ".ai-question") == ["you: remember me"]
        assert sidebar.query(".ai-answer").last().source == "Nothing to do."  # type: ignore[attr-defined]


async def test_history_survives_a_restart_and_clears(workspace: Workspace) -> None:
    history = History(workspace.config.home)
    call = ToolCall("t1", "query_output", {"sql": "SELECT 1"})
    history.extend(
        [
            ChatMessage("user", "count them"),
            ChatMessage("assistant", "", (call,)),
            ChatMessage(
                "tool", json.dumps({"row_count": 1}), tool_call_id="t1", tool_name="query_output"
            ),
            ChatMessage("assistant", "There is **one**."),
        ]
    )
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        sidebar = await open_sidebar(pilot)
        assert lines(sidebar, ".ai-question") == ["you: count them"]
        assert sidebar.query_one(ToolCallBlock).call == call
        assert sidebar.query(".ai-answer").last().source == "There is **one**."  # type: ignore[attr-defined]
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert lines(sidebar, ".ai-question") == []
    assert History(workspace.config.home).messages == ()
