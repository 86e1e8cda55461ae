"""Temporary folders named after the process that made them, and the removal of those whose
process is gone.

A process killed with SIGKILL (a worker the pool or a person killed, a TUI whose terminal was
closed) cannot remove its temporary folders. Each folder made here is named
``<prefix><pid>-<start time>-<random>``, so a later process can tell whether its maker still
runs (a pid reused by another process has another start time) and remove it if not: only
folders with that prefix, owned by this user, not links.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

_checked: set[tuple[str, str]] = set()
_checked_lock = threading.Lock()


def started(pid: int) -> int:
    """When process ``pid`` started (clock ticks since boot, from /proc), 0 where there is no
    /proc; -1 when there is no such running process (gone, or a zombie waiting to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        if Path("/proc/self/stat").exists():
            return -1
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return -1
        except PermissionError:
            return 0
        return 0
    except OSError:
        return 0  # unreadable: it exists
    fields = stat[stat.rfind(")") + 2 :].split()  # after the name, which may hold spaces
    if fields[0] in ("Z", "X"):
        return -1
    return int(fields[19])


def process_temp_dir(prefix: str) -> tempfile.TemporaryDirectory[str]:
    """A new temporary folder named after this process (``<prefix><pid>-<start time>-…``)."""
    pid = os.getpid()
    return tempfile.TemporaryDirectory(prefix=f"{prefix}{pid}-{started(pid)}-")


def maker_gone(prefix: str, name: str) -> bool | None:
    """Whether the process that made the folder ``name`` is gone (True), still runs (False),
    or the name does not say (None: not made by ``process_temp_dir`` with ``prefix``)."""
    match = re.fullmatch(re.escape(prefix) + r"(\d+)-(\d+)-[A-Za-z0-9_]+", name)
    if match is None:
        return None
    pid, then = int(match.group(1)), int(match.group(2))
    now = started(pid)
    return now == -1 or (then != 0 and now not in (0, then))


def remove_stale(
    prefix: str,
    root: Path | None = None,
    unnamed_gone: Callable[[Path, str], bool] | None = None,
) -> list[Path]:
    """Remove the folders under ``root`` (the temporary folder) named with ``prefix`` whose
    maker is gone: this user's, not links. A folder whose name does not say its maker is removed
    only when ``unnamed_gone(folder, name)`` says so. Returns the folders removed."""
    root = Path(root if root is not None else tempfile.gettempdir())
    removed: list[Path] = []
    if os.name != "posix":
        return removed  # process start times are read the POSIX way
    try:
        entries = list(os.scandir(root))
    except OSError:
        return removed
    uid = os.getuid()
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        try:
            if (
                not entry.is_dir(follow_symlinks=False)
                or entry.stat(follow_symlinks=False).st_uid != uid
            ):
                continue
        except OSError:
            continue
        folder = Path(entry.path)
        gone = maker_gone(prefix, entry.name)
        if gone is None:
            gone = unnamed_gone is not None and unnamed_gone(folder, entry.name)
        if gone:
            shutil.rmtree(folder, ignore_errors=True)
            if not folder.exists():
                removed.append(folder)
    return removed


def remove_stale_once(prefix: str, unnamed_gone: Callable[[Path, str], bool] | None = None) -> None:
    """``remove_stale`` on the temporary folder, the first time this process asks for
    ``prefix`` there."""
    key = (prefix, tempfile.gettempdir())
    with _checked_lock:
        if key in _checked:
            return
        _checked.add(key)
    remove_stale(prefix, Path(key[1]), unnamed_gone)
