"""`casparian run` on a real pty: breakpoint() opens pdb; Ctrl+C stops the guest group."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import sys
import time
from pathlib import Path

import psutil

from .bridge_support import ZOO
from .cli_support import CLI_ENTRY

TIMEOUT_S = 60.0


def _spawn(home: Path, *args: str) -> tuple[int, int]:
    """Run the CLI as the session leader of a new pty; returns (pid, master fd).

    The CLI starts with SIGINT ignored, as a non-interactive shell (CI, ``make``, ``cmd &``)
    starts it: Ctrl+C and SIGINT must stop the run all the same.
    """
    pid, master = pty.fork()
    if pid == 0:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        os.environ["COLUMNS"] = "200"
        os.execv(sys.executable, [sys.executable, "-c", CLI_ENTRY, "--home", str(home), *args])
    return pid, master


def _read_until(master: int, marker: bytes, seen: bytearray) -> bytes:
    """Read terminal output until ``marker`` appears (bounded by TIMEOUT_S, not a sleep)."""
    deadline = time.monotonic() + TIMEOUT_S
    while marker not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"did not see {marker!r}; got {bytes(seen)[-2000:]!r}"
        ready, _, _ = select.select([master], [], [], remaining)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen.extend(chunk)
    return bytes(seen)


def _plain(raw: bytearray) -> str:
    """Terminal output without colour codes."""
    return re.sub(r"\x1b\[[0-9;]*m", "", bytes(raw).decode("utf-8", "replace"))


def _wait_exit(pid: int, master: int, seen: bytearray) -> int:
    _read_until(master, b"\x00never\x00", seen)  # drains until the pty closes (EOF)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_breakpoint_opens_pdb_and_continue_completes(home: Path, tmp_path: Path) -> None:
    data = tmp_path / "in.txt"
    data.write_text("x")
    pid, master = _spawn(home, "run", str(ZOO / "debugs.py"), str(data), "--sink", "stdout")
    seen = bytearray()
    _read_until(master, b"(Pdb) ", seen)
    os.write(master, b"p marker\n")
    _read_until(master, b"'at-the-breakpoint'", seen)
    os.write(master, b"c\n")
    exit_code = _wait_exit(pid, master, seen)
    output = _plain(seen)
    assert exit_code == 0, output
    assert "debugs — 1 rows" in output
    assert "1 file, 1 row written" in output


def test_sigint_to_the_host_stops_the_guest_group(home: Path, tmp_path: Path) -> None:
    data = tmp_path / "in.txt"
    data.write_text("x")
    pid, master = _spawn(home, "run", str(ZOO / "sleeps_for_signal.py"), str(data))
    seen = bytearray()
    _read_until(master, b"READY-FOR-SIGNAL", seen)
    guest_pids = [child.pid for child in psutil.Process(pid).children(recursive=True)]
    assert guest_pids
    os.kill(pid, signal.SIGINT)
    exit_code = _wait_exit(pid, master, seen)
    output = _plain(seen)
    assert exit_code == 130, output
    assert "Interrupted: stopped the guest's process group" in output
    assert "nothing was written" in output
    for guest_pid in guest_pids:
        assert not psutil.pid_exists(guest_pid) or (
            psutil.Process(guest_pid).status() == psutil.STATUS_ZOMBIE
        )
    assert not (home / "dev-output").exists() or not any((home / "dev-output").rglob("*.parquet"))


def test_ctrl_c_typed_at_the_terminal_stops_the_run(home: Path, tmp_path: Path) -> None:
    data = tmp_path / "in.txt"
    data.write_text("x")
    pid, master = _spawn(home, "run", str(ZOO / "sleeps_for_signal.py"), str(data))
    seen = bytearray()
    _read_until(master, b"READY-FOR-SIGNAL", seen)
    os.write(master, b"\x03")
    exit_code = _wait_exit(pid, master, seen)
    output = _plain(seen)
    assert exit_code == 130, output
    assert "Interrupted" in output
