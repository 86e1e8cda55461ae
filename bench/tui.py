"""Longest event-loop stall of the TUI while a big scan and a processing run are under way.

A 10 ms timer in the running (headless) app records how late each tick fires; the longest delay is
the worst freeze a user would feel. Baseline: the same timer in the same app while idle.
Usage: .venv/bin/python bench/tui.py [--files 200000] [--run-files 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from casparian_engine.workspace import Workspace  # noqa: E402
from casparian_tui.app import CasparianApp  # noqa: E402
from tests.engine.registration_support import make_parser  # noqa: E402

TICK_S = 0.01


def write_files(root: Path, count: int, per_folder: int = 1000) -> None:
    """``count`` tiny files in folders of ``per_folder``."""
    for start in range(0, count, per_folder):
        folder = root / f"d{start // per_folder:04d}"
        folder.mkdir(parents=True)
        for number in range(start, min(count, start + per_folder)):
            (folder / f"f{number}.txt").write_bytes(b"x")


def write_invoices(root: Path, count: int) -> None:
    folder = root / "invoices"
    folder.mkdir(parents=True)
    for number in range(count):
        (folder / f"inv{number}.csv").write_text(f"id,amount\n{number},1.5\n{number + 1},x\n")


class StallMeter:
    """Records how late each 10 ms timer tick fires."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.expected = 0.0

    def start(self) -> None:
        self.delays.clear()
        self.expected = time.perf_counter() + TICK_S

    def tick(self) -> None:
        now = time.perf_counter()
        self.delays.append(max(0.0, now - self.expected))
        self.expected = now + TICK_S

    def report(self, label: str) -> str:
        if not self.delays:
            return f"{label}: no ticks"
        ordered = sorted(self.delays)
        p99 = ordered[int(len(ordered) * 0.99) - 1] if len(ordered) > 1 else ordered[0]
        return (
            f"{label}: longest stall {max(ordered) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
            f"median {statistics.median(ordered) * 1000:.2f} ms over {len(ordered)} ticks"
        )


async def measure(workspace: Workspace, scan_root: Path, idle_s: float) -> tuple[str, str, str]:
    app = CasparianApp(workspace)
    meter = StallMeter()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("alt+p")
        await app.workers.wait_for_complete()
        app.set_interval(TICK_S, meter.tick)
        meter.start()
        await asyncio.sleep(idle_s)
        idle = meter.report("idle baseline")
        meter.start()
        started = time.perf_counter()
        app.service.start_scan(str(scan_root))
        app.service.start_run("invoices")
        await pilot.press("alt+d")  # a mode switch while both run
        await app.workers.wait_for_complete()
        for _ in range(5):  # let the finished messages of both workers be handled
            await pilot.pause()
        busy = meter.report("scan + processing run")
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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cf-bench-tui-") as tmp:
        root = Path(tmp)
        began = time.perf_counter()
        write_files(root / "tree", args.files)
        write_invoices(root / "batch", args.run_files)
        print(
            f"wrote {args.files:,} + {args.run_files} files in {time.perf_counter() - began:.1f}s"
        )
        with Workspace.open(root / "home") as workspace:
            workspace.register_parser(make_parser(root / "parser"))
            workspace.scan(root / "batch")
            idle, busy, work = asyncio.run(measure(workspace, root / "tree", args.idle_s))
    print(idle)
    print(busy)
    print(work)
    print("target: longest stall under 100 ms")


if __name__ == "__main__":
    main()
