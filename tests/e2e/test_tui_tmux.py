"""End to end: the real `casparian tui` in tmux on the demo workspace, driven with keys.

Each test has its own tmux server (``-L``); waits poll ``capture-pane`` for the expected text
until a deadline (no fixed sleeps).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.engine.cli_support import CASPARIAN

DEADLINE_S = 60.0


class Tmux:
    """One private tmux server running one 120×36 session."""

    def __init__(self) -> None:
        self.socket = f"cf-e2e-{uuid.uuid4().hex[:12]}"

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], check=check, capture_output=True, text=True
        )

    def start(self, command: list[str]) -> None:
        self.run("new-session", "-d", "-s", "e2e", "-x", "120", "-y", "36", *command)
        self.run("resize-window", "-t", "e2e", "-x", "120", "-y", "36")

    def screen(self) -> str:
        result = self.run("capture-pane", "-p", "-t", "e2e", check=False)
        return result.stdout

    def keys(self, *keys: str, literal: bool = False) -> None:
        self.run("send-keys", "-t", "e2e", *(["-l"] if literal else []), *keys)

    def wait_for(self, text: str) -> str:
        """Poll the screen until ``text`` shows; fail with the last screen at the deadline."""
        deadline = time.monotonic() + DEADLINE_S
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.05)  # poll interval, not a wait for an outcome
        raise AssertionError(f"{text!r} never appeared; last screen:\n{screen}")

    def focus_input_by_typing(self, focus_key: str, prefix: str, probe: str) -> None:
        """Press ``focus_key`` and type ``probe`` until it shows after ``prefix``.

        On a loaded machine the probe can reach the screen before the input has focus; the next
        round's ``focus_key`` is then typed into the input, so each round clears it first.
        """
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            self.keys(focus_key)
            self.keys("C-u")
            self.keys(probe, literal=True)
            step_deadline = time.monotonic() + 1.0
            while time.monotonic() < step_deadline:
                if prefix + probe in self.screen():
                    return
                time.sleep(0.05)
        raise AssertionError(f"the input never took focus; last screen:\n{self.screen()}")

    def replace_input_text(self, prefix: str, text: str) -> str:
        """Clear the focused input and type ``text`` until ``prefix + text`` shows (keys can be
        dropped while a loaded app is busy); returns that screen."""
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            self.keys("C-u")
            self.keys(text, literal=True)
            step_deadline = time.monotonic() + 2.0
            while time.monotonic() < step_deadline:
                screen = self.screen()
                if prefix + text + " " in screen:
                    return screen
                time.sleep(0.05)
        raise AssertionError(f"{text!r} never showed in the input; last screen:\n{self.screen()}")

    def wait_until(self, shows: Callable[[str], bool], what: str) -> str:
        """Poll until ``shows(screen)`` holds; return that screen. The filter list is read as
        each key is typed, so a screen between the first and the final state can show (the
        rows of ``*.l``): wait for the final state itself, not for any change."""
        deadline = time.monotonic() + DEADLINE_S
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if shows(screen):
                return screen
            time.sleep(0.05)
        raise AssertionError(f"never showed {what}; last screen:\n{screen}")

    def wait_for_exit(self) -> None:
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            if self.run("has-session", "-t", "e2e", check=False).returncode != 0:
                return
            time.sleep(0.05)
        raise AssertionError(f"the TUI did not exit; last screen:\n{self.screen()}")

    def kill(self) -> None:
        self.run("kill-server", check=False)


@pytest.fixture
def demo_home() -> Iterator[Path]:
    """`casparian demo` in a short path, so whole file paths fit in the list's column."""
    demo = Path(tempfile.mkdtemp(prefix="cfe2e", dir="/tmp"))
    try:
        subprocess.run(
            [CASPARIAN, "demo", str(demo), "--files", "30", "--json"],
            check=True,
            capture_output=True,
        )
        yield demo / "home"
    finally:
        shutil.rmtree(demo, ignore_errors=True)


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    session = Tmux()
    try:
        yield session
    finally:
        session.kill()


def test_home_discover_filter_help_and_quit(demo_home: Path, tmux: Tmux) -> None:
    tmux.start([CASPARIAN, "tui", "--home", str(demo_home)])
    tmux.wait_for("Casparian Flow")
    home = tmux.wait_for("failed,")  # the last card's live figure: "0 failed, 0 complete"
    assert " files, 1 source " in home  # one scanned source, counted in the singular
    assert "Process" in home and "Inspect" in home and "Jobs" in home
    tmux.keys("M-d")
    tmux.wait_for("Casparian Flow › Discover")
    tmux.wait_for("files 1–")
    tmux.focus_input_by_typing("/", "▊  ", "*")  # keys sent with "/" may beat the focus
    tmux.replace_input_text("▊  ", "*.log")

    def listed_paths(screen: str) -> list[str]:
        rows = [line.split("▏")[0].split() for line in screen.splitlines() if "▏" in line]
        return [c[0] for c in rows if c and c[0].startswith(("…", "/")) and "." in c[0]]

    def only_logs_listed(screen: str) -> bool:
        listed = listed_paths(screen)
        return (
            "▊  *.log " in screen
            and bool(listed)
            and all(path.endswith(".log") for path in listed)  # paths are cut on the left
            and f"files 1–{len(listed)} of {len(listed)}" in screen
        )

    status = tmux.wait_until(only_logs_listed, "the .log files alone, counted")
    assert len(listed_paths(status)) < 30  # the filter left files out
    tmux.keys("Enter")
    tmux.keys("Escape")
    tmux.wait_for("Casparian Flow › Home")
    tmux.keys("?")
    tmux.wait_for("Keys — you are in home")
    tmux.keys("Escape")
    deadline = time.monotonic() + DEADLINE_S
    while "Keys — you are in" in tmux.screen() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "Keys — you are in" not in tmux.screen()
    tmux.keys("q")
    tmux.wait_for_exit()
