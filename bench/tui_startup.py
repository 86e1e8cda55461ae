"""Start-up time of the TUI beside a bare Textual app, each in a fresh interpreter.

For each start a child process is spawned; it reports, in seconds since the parent spawned it:
- first paint: the first frame the app would write to the terminal (``App._display`` with a
  frame, outside a batch), interpreter start-up and every import included;
- Home with figures (Casparian only): the first frame in which every Home card shows its figure.
- Home with Needs you (Casparian only): the first frame after that showing the "Needs you" panel's
  figures (read by a second worker once the cards show theirs).
The bare app is a Textual ``App`` with one ``Static``: the floor any Textual app pays here.
Headless (no terminal is written); the same code path decides when a frame is ready. Children
may write bytecode caches (as an installed package has them): one uncounted start warms them.
Usage: .venv/bin/python bench/tui.py --startup [--starts 5] [--home PATH]
Targets: first paint under 1 s, Home with figures under 1.5 s.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def child(kind: str, home: str) -> None:
    """Start one app, print its figures as JSON and exit (runs in the spawned interpreter)."""
    began = float(os.environ["CF_BENCH_SPAWNED_AT"])
    figures: dict[str, float] = {}

    def note(name: str) -> None:
        if name not in figures:
            figures[name] = time.time() - began

    if kind == "bare":
        from textual.app import App, ComposeResult
        from textual.widgets import Static

        class Bare(App[None]):
            def compose(self) -> ComposeResult:
                yield Static("hello")

            def _display(self, screen: Any, renderable: Any) -> None:
                if renderable is not None and not self._batch_count:
                    note("first_paint")
                    self.call_later(self.exit)
                super()._display(screen, renderable)

        Bare().run(headless=True, size=(120, 36))
    else:
        sys.path.insert(0, str(ROOT))
        from casparian_engine.workspace import Workspace
        from casparian_tui.app import CasparianApp
        from casparian_tui.widgets.mode_card import ModeCard

        class Timed(CasparianApp):
            def _display(self, screen: Any, renderable: Any) -> None:
                if renderable is not None and not self._batch_count:
                    note("first_paint")
                    cards = list(self.screen.query(ModeCard)) if self.current_mode == "home" else []
                    if cards and all(card.figure for card in cards):
                        note("home_figures")
                    if "home_figures" in figures and getattr(self.screen, "attention", None):
                        note("needs_you")  # Home's "Needs you" panel, read after the cards
                        self.call_later(self.exit)
                super()._display(screen, renderable)

        workspace = Workspace.open(home)
        try:
            Timed(workspace).run(headless=True, size=(120, 36))
        finally:
            workspace.close()
    print(json.dumps(figures))


def spawn(kind: str, home: str) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["CF_BENCH_SPAWNED_AT"] = repr(time.time())
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, home],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def measure(starts: int, home: str | None) -> list[str]:
    """Alternate bare and Casparian starts (so load affects both alike); median and worst."""
    lines = []
    with tempfile.TemporaryDirectory(prefix="cf-bench-startup-") as tmp:
        if home is None:
            home = str(Path(tmp) / "home")
            subprocess.run(
                [str(Path(sys.executable).parent / "casparian"), "demo", str(Path(tmp) / "demo")],
                capture_output=True,
                check=True,
                timeout=600,
                cwd=ROOT,
            )
            home = str(Path(tmp) / "demo" / "home")
        spawn("casparian", home)  # warms the OS file cache and the store (not counted)
        bare: list[float] = []
        paint: list[float] = []
        figures: list[float] = []
        needs_you: list[float] = []
        for _ in range(starts):
            bare.append(spawn("bare", home)["first_paint"])
            measured = spawn("casparian", home)
            paint.append(measured["first_paint"])
            figures.append(measured["home_figures"])
            needs_you.append(measured["needs_you"])
    load = os.getloadavg()[0]
    for label, values, target in (
        ("bare Textual app, first paint", bare, None),
        ("Casparian, first paint", paint, 1.0),
        ("Casparian, Home with figures", figures, 1.5),
        ("Casparian, Home with Needs you", needs_you, None),
    ):
        goal = f"  (target < {target:g} s)" if target else ""
        lines.append(
            f"{label:32} median {statistics.median(values):.2f} s, worst {max(values):.2f} s"
            f" over {starts} starts{goal}"
        )
    lines.append(f"load average after: {load:.1f} (2 cores shared)")
    return lines


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        import argparse

        parser = argparse.ArgumentParser(description=__doc__)
        parser.add_argument("--starts", type=int, default=5)
        parser.add_argument("--home", default=None, help="workspace (default: a fresh demo)")
        args = parser.parse_args()
        print("\n".join(measure(args.starts, args.home)))
