"""The AI sidebar with Claude, on the real app: the real ``anthropic`` client streams from a local
server speaking the Messages streaming protocol (the one allowed fake: Claude's servers).

Claude is chosen the way a person does it: ``ai_provider = "claude"`` and ``allow_cloud_ai =
true`` in the home's config.toml, the key in $ANTHROPIC_API_KEY; ``ANTHROPIC_BASE_URL`` (read by
the SDK itself) points the client at the local server.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from casparian_engine.workspace import Workspace
from casparian_tui.app import CasparianApp
from casparian_tui.widgets.ai_sidebar import ToolCallBlock
from tests.engine.fake_claude import HttpError, fake_claude, text_reply, tool_reply
from tests.tui.test_ai_sidebar import SIZE, answered, ask, lines, open_sidebar


@pytest.fixture
def claude_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (home / "config.toml").write_text(
        'ai_provider = "claude"\nallow_cloud_ai = true\nai_claude_model = "claude-test"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    return home


async def test_claude_streams_runs_a_tool_round_and_survives_a_429(
    claude_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rate_limited = HttpError(429, "rate_limit_error", "slow down")
    replies = (
        text_reply("Casparian ", "turns files ", "into tables."),
        tool_reply("Let me look.", "toolu_1", "query_output", {"sql": "SELECT 41 + 1 AS answer"}),
        text_reply("The answer is 42."),
        # the SDK's own retries (2 by default) meet the same 429 before the sidebar hears of it
        rate_limited,
        rate_limited,
        rate_limited,
        text_reply("Fine now."),
    )
    with fake_claude(*replies) as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        workspace = Workspace.open(claude_home)
        try:
            app = CasparianApp(workspace)
            async with app.run_test(size=SIZE) as pilot:
                sidebar = await open_sidebar(pilot)
                status = str(sidebar.query_one("#ai-status").render())
                assert status == "claude · claude-test · cloud"

                await ask(pilot, "What is this?")
                await answered(pilot, sidebar)
                answer = sidebar.query(".ai-answer").last()
                assert answer.source == "Casparian turns files into tables."  # type: ignore[attr-defined]
                assert sidebar.deltas_shown >= 1
                assert lines(sidebar, ".ai-summary")[-1].startswith("3 tokens · ")
                first = server.requests[0]["body"]
                assert first["model"] == "claude-test" and first["stream"] is True
                assert first["messages"] == [{"role": "user", "content": "What is this?"}]
                assert "approve_schemas" not in {t["name"] for t in first["tools"]}
                headers = {k.lower(): v for k, v in server.requests[0]["headers"].items()}
                assert headers["authorization"] == "Bearer sk-test"  # this SDK's key header

                await ask(pilot, "Compute it")
                await answered(pilot, sidebar)
                block = sidebar.query(ToolCallBlock).last()
                assert block.call.name == "query_output"
                assert block.title == "✓ query_output → ok · 1 row(s)"
                answer = sidebar.query(".ai-answer").last()
                assert answer.source == "The answer is 42."  # type: ignore[attr-defined]
                round_two = server.requests[2]["body"]["messages"]
                tool_result = round_two[-1]["content"][0]
                assert tool_result["tool_use_id"] == "toolu_1"
                assert json.loads(tool_result["content"])["rows"] == [{"answer": 42}]
                assert "1 tool round(s)" in lines(sidebar, ".ai-summary")[-1]

                await ask(pilot, "And now?")
                await answered(pilot, sidebar)
                assert lines(sidebar, ".ai-error")[-1] == (
                    "the Claude API is rate-limiting this key (429): try again shortly"
                )
                assert app.is_running

                await ask(pilot, "Once more?")
                await answered(pilot, sidebar)
                answer = sidebar.query(".ai-answer").last()
                assert answer.source == "Fine now."  # type: ignore[attr-defined]
        finally:
            workspace.close()
    assert len(server.requests) == 7
    questions = workspace_questions(claude_home)
    assert [(q["provider"], q["outcome"]) for q in questions] == [
        ("claude", "answered"),
        ("claude", "answered"),
        ("claude", "error"),
        ("claude", "answered"),
    ]


def workspace_questions(home: Path) -> list[dict[str, object]]:
    """The audited questions, oldest first."""
    with Workspace.open(home) as workspace:
        entries = workspace.store.audit.list(action="ai.question")
        return [{"provider": e.subject, **e.details} for e in reversed(entries)]
