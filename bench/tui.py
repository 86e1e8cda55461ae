"""Longest event-loop stall of the TUI while a big scan and a processing run are under way.

A 10 ms timer in the running (headless) app records how late each tick fires; the longest delay is
the worst freeze a user would feel. Baseline: the same timer in the same app while idle.
Usage: .venv/bin/python bench/tui.py [--files 200000] [--run-files 200] [--stacks]
--stacks: a watchdog thread samples every thread's stack whenever the loop's last tick is more
than 50 ms old, and prints the most frequent stacks (where the loop was stuck).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import shutil
import statistics
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(TICK_S):
            if self.meter.last_tick and time.perf_counter() - self.meter.last_tick > STALL_S:
                for thread_id, frame in sys._current_frames().items():
                    if thread_id == self.ident:
                        continue
                    name = "main" if thread_id == self.main_id else "other thread"
                    lines = traceback.format_list(traceback.extract_stack(frame)[-STACK_DEPTH:])
                    text = "".join(line.split("\n")[0] + "\n" for line in lines)
                    self.stacks[f"({name})\n{text}"] += 1

    def report(self, top: int = 12) -> str:
        parts = ["--- thread stacks while the loop was stuck (count of 10 ms samples) ---"]
        for stack, count in self.stacks.most_common(top):
            parts.append(f"[{count} samples]\n{stack}")
        return "\n".join(parts)


async def measure(
    workspace: Workspace, scan_root: Path, idle_s: float, sampler_wanted: bool
) -> tuple[str, str, str]:
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
        started = time.perf_counter()
        app.service.start_scan(str(scan_root))
        app.service.start_run("invoices")
        await pilot.press("alt+d")  # a mode switch while both run
        switched_at = time.perf_counter() - started
        await app.workers.wait_for_complete()
        for _ in range(5):  # let the finished messages of both workers be handled
            await pilot.pause()
        busy = meter.report("scan + processing run")
        sampler.stopped.set()
        if sampler_wanted:
            print(sampler.report())
            print(f"longest stalls: {meter.worst()}; mode switch done at {switched_at:.1f}s")
        scan, run = app.service.scan, app.service.runs["invoices"]
        assert scan is not None
        work = (
            f"work: scan {scan.outcome}; run {run.outcome}; "
            f"{time.perf_counter() - started:.1f}s wall"
        )
    return idle, busy, work


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=200_000, help="files in the scanned tree")
    parser.add_argument("--run-files", type=int, default=200, help="invoice files processed")
    parser.add_argument("--idle-s", type=float, default=2.0, help="baseline duration")
    parser.add_argument("--stacks", action="store_true", help="print where the loop was stuck")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cf-bench-tui-") as tmp:
        root = Path(tmp)
        began = time.perf_counter()
        tree = WORK_DIR / f"tui-tree-{args.files}"
        write_files(tree, args.files)
        write_invoices(root / "batch", args.run_files)
        print(
            f"{args.files:,} + {args.run_files} files ready in {time.perf_counter() - began:.1f}s"
        )
        with Workspace.open(root / "home") as workspace:
            parser_folder = make_parser(root / "parser")
            workspace.register_parser(parser_folder)
            approve_contract(workspace, parser_folder / "invoices.contract.yaml")
            workspace.scan(root / "batch")
            idle, busy, work = asyncio.run(measure(workspace, tree, args.idle_s, args.stacks))
    print(idle)
    print(busy)
    print(work)
    print("target: longest stall under 100 ms")


if __name__ == "__main__":
    main()
