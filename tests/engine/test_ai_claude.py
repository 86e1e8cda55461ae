"""The Claude provider against a local server speaking the Messages streaming protocol.

The real ``anthropic`` client talks to it over a real socket; the server is the one allowed fake.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from casparian_engine.ai import (
    AIErrorEvent,
    Assistant,
    CancelToken,
    ProviderUnavailable,
    TextDelta,
    ToolResult,
    TurnEnded,
    select_provider,
)
from casparian_engine.ai.claude import ClaudeProvider
from casparian_engine.cli.main import app
from casparian_engine.config import load_config
from casparian_engine.workspace import Workspace

from .fake_claude import HttpError, fake_claude, overloaded_in_stream, text_reply, tool_reply


def claude(url: str) -> ClaudeProvider:
    return ClaudeProvider(api_key="sk-test", model="claude-test", base_url=url, max_retries=0)


def test_answer_streams_in_deltas_with_the_registry_tools(workspace: Workspace) -> None:
    with fake_claude(text_reply("Casparian ", "turns files ", "into tables.")) as server:
        events = list(Assistant(workspace, claude(server.url)).ask("What is this?"))
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert deltas == ["Casparian ", "turns files ", "into tables."]
    ended = events[-1]
    assert isinstance(ended, TurnEnded)
    assert (ended.provider, ended.model, ended.cloud, ended.output_tokens) == (
        "claude",
        "claude-test",
        True,
        3,
    )
    body = server.requests[0]["body"]
    assert body["stream"] is True and body["model"] == "claude-test"
    assert body["messages"] == [{"role": "user", "content": "What is this?"}]
    names = [t["name"] for t in body["tools"]]
    assert "query_output" in names and "execute_pipeline" in names
    assert "approve_schemas" not in names  # approval is never an assistant tool
    from casparian_engine.tools import REGISTRY

    schema = next(t for t in body["tools"] if t["name"] == "query_output")["input_schema"]
    assert schema == REGISTRY["query_output"].input_schema
    assert "<data" in body["system"] or "nothing selected" in body["system"]


def test_tool_use_round_runs_the_tool_and_sends_its_result(workspace: Workspace) -> None:
    replies = (
        tool_reply("Let me look.", "toolu_1", "query_output", {"sql": "SELECT 41 + 1 AS answer"}),
        text_reply("The answer is 42."),
    )
    with fake_claude(*replies) as server:
        events = list(Assistant(workspace, claude(server.url)).ask("Compute it"))
    results = [e for e in events if isinstance(e, ToolResult)]
    assert [(r.call.name, r.outcome, r.summary) for r in results] == [
        ("query_output", "ok", "1 row(s)")
    ]
    second = server.requests[1]["body"]["messages"]
    assert second[1]["role"] == "assistant"
    assert second[1]["content"][1] == {
        "type": "tool_use",
        "id": "toolu_1",
        "name": "query_output",
        "input": {"sql": "SELECT 41 + 1 AS answer"},
    }
    tool_result = second[2]["content"][0]
    assert tool_result["type"] == "tool_result" and tool_result["tool_use_id"] == "toolu_1"
    assert json.loads(tool_result["content"])["rows"] == [{"answer": 42}]
    audit = workspace.store.audit.list(action="tool.call")
    assert [(a.subject, a.details["outcome"]) for a in audit] == [("query_output", "ok")]
    assert {k: audit[0].details[k] for k in ("via", "provider", "model")} == {
        "via": "assistant",
        "provider": "claude",
        "model": "claude-test",
    }
    question = workspace.store.audit.list(action="ai.question")[0]
    assert question.subject == "claude"
    assert question.details["tool_calls"] == [{"tool": "query_output", "outcome": "ok"}]
    assert question.details["outcome"] == "answered"


@pytest.mark.parametrize(
    ("reply", "kind", "words"),
    [
        (HttpError(429, "rate_limit_error", "slow down"), "rate_limit", "rate-limiting"),
        (HttpError(529, "overloaded_error", "Overloaded"), "overloaded", "overloaded"),
        (overloaded_in_stream(), "overloaded", "overloaded"),
        (HttpError(401, "authentication_error", "invalid x-api-key"), "auth", "refused the key"),
    ],
)
def test_api_errors_are_a_clear_line_and_the_next_question_works(
    workspace: Workspace, reply: object, kind: str, words: str
) -> None:
    with fake_claude(reply, text_reply("Fine now.")) as server:  # type: ignore[arg-type]
        assistant = Assistant(workspace, claude(server.url))
        failed = list(assistant.ask("first"))
        errors = [e for e in failed if isinstance(e, AIErrorEvent)]
        assert len(errors) == 1 and errors[0].kind == kind and words in errors[0].message
        assert isinstance(failed[-1], TurnEnded) and failed[-1].error
        answered = list(assistant.ask("second"))
    assert [e.text for e in answered if isinstance(e, TextDelta)] == ["Fine now."]
    # the failed question is not in the history, so the API sees a clean conversation
    assert server.requests[1]["body"]["messages"] == [{"role": "user", "content": "second"}]


def test_cancel_closes_the_stream_and_says_stopped(workspace: Workspace) -> None:
    import threading

    with fake_claude(text_reply("one ", "two ", "three")) as server:
        server.hold = threading.Event()
        cancel = CancelToken()
        events = []
        for event in Assistant(workspace, claude(server.url)).ask("count", cancel=cancel):
            events.append(event)
            if isinstance(event, TextDelta):
                cancel.cancel()
        server.hold.set()
    ended = events[-1]
    assert isinstance(ended, TurnEnded) and ended.stopped
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["one "]
    assert workspace.store.audit.list(action="ai.question")[0].details["outcome"] == "stopped"


def _write_config(home: Path, text: str) -> None:
    (home / "config.toml").write_text(text, encoding="utf-8")


def test_claude_is_never_contacted_unless_permitted_and_keyed(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fake_claude(text_reply("should never be sent")) as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
        _write_config(home, 'ai_provider = "claude"\n')
        with pytest.raises(ProviderUnavailable, match="allow_cloud_ai = true"):
            select_provider(load_config(home))
        result = CliRunner().invoke(app, ["--home", str(home), "ask", "hello"])
        assert result.exit_code == 2, result.output
        assert "cloud use is not permitted" in result.output

        _write_config(home, 'ai_provider = "claude"\nallow_cloud_ai = true\n')
        monkeypatch.delenv("ANTHROPIC_API_KEY")
        with pytest.raises(ProviderUnavailable, match="no API key") as refused:
            select_provider(load_config(home))
        assert "not permitted" not in str(refused.value)
        result = CliRunner().invoke(
            app, ["--home", str(home), "ask", "--provider", "claude", "hello"]
        )
        assert result.exit_code == 2 and "ANTHROPIC_API_KEY" in result.output

        # auto never picks the cloud, even when it is permitted and keyed
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
        _write_config(home, "allow_cloud_ai = true\n")
        assert select_provider(load_config(home)).name in ("local", "none")
        assert server.connections == 0 and server.requests == []

        # permitted and keyed: now (and only now) it is contacted
        _write_config(home, 'ai_provider = "claude"\nallow_cloud_ai = true\n')
        result = CliRunner().invoke(app, ["--home", str(home), "ask", "hello"])
        assert result.exit_code == 0, result.output
        assert "should never be sent" in result.stdout
        assert server.connections == 1


def test_an_unreachable_api_is_a_network_error(workspace: Workspace) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    events = list(Assistant(workspace, claude(f"http://127.0.0.1:{port}")).ask("hello"))
    errors = [e for e in events if isinstance(e, AIErrorEvent)]
    assert len(errors) == 1 and errors[0].kind == "network"
    assert errors[0].message.startswith("could not reach the Claude API")
