"""Guests that hold a file, sandboxed as in production: the guest writes a marker in its
private temp dir (its cwd, the one folder the sandbox lets it write) when it starts holding, and
the test finds the guest's processes by that dir in their command line (inside its PID namespace
the guest does not know its host pid)."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import psutil


def marker_name(prefix: str) -> str:
    """A marker name unique to this test: guests of parallel tests share the temp dir."""
    return f"{prefix}-holding-{uuid.uuid4().hex}"


def held(marker: str) -> list[Path]:
    """The marker files of the guests holding a file: ``<guest temp dir>/<marker>.<file>``
    (other guests' temp dirs come and go meanwhile)."""
    found: list[Path] = []
    for work_dir in Path(tempfile.gettempdir()).glob("casparian-guest-*"):
        try:
            found += [work_dir / n for n in os.listdir(work_dir) if n.startswith(f"{marker}.")]
        except OSError:  # that guest ended and its temp dir is gone
            continue
    return sorted(found)


def guest_pids(held_marker: Path) -> list[int]:
    """The processes of the guest that wrote ``held_marker`` (its sandbox and the shim inside):
    those whose command line names its private temp dir."""
    work_dir = str(held_marker.parent)
    return [
        process.pid
        for process in psutil.process_iter(["cmdline"])
        if any(work_dir in arg for arg in process.info["cmdline"] or ())
    ]


def guest_gone(pid: int) -> bool:
    """Whether the process ended (a zombie counts: nothing reaps here)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
