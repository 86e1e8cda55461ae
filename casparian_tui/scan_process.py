"""A folder scan in its own process, so its walking, batching and inserts never hold the TUI's GIL.

Protocol, one JSON object per line. Child → parent (stdout): ``{"progress": files_seen}`` for
each throttled engine progress event, after which the child waits for the parent's answer line
on stdin: ``go`` (the progress is on screen) or ``cancel``; at the end one of
``{"found": n, "cancelled": bool}`` (n files recorded in the store, also for a cancelled scan),
``{"cancelled": true}`` or ``{"error": text}``. A ``cancel`` line may also arrive at any time,
and stdin closing (the TUI went away) cancels too. Imports no Textual.
Run: ``python -m casparian_tui.scan_process HOME ROOT``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from typing import IO, Any

from casparian_engine.config import ENV_PREFIX
from casparian_engine.events import Cancelled, Event, ScanCancelled, ScanProgress
from casparian_engine.workspace import Workspace

GO = "go"
CANCEL = "cancel"


class ParentLink:
    """The child's side of the pipe pair: progress out, answers and cancel in."""

    def __init__(self, answers: IO[str], out: IO[str]) -> None:
        self.cancel = threading.Event()
        self.answered = threading.Event()
        self.out = out
        listener = threading.Thread(target=self._listen, args=(answers,), daemon=True)
        listener.start()

    def _listen(self, answers: IO[str]) -> None:
        for line in answers:
            if line.strip() == CANCEL:
                self.cancel.set()
            self.answered.set()
        self.cancel.set()  # the parent closed the pipe: stop, keeping what is committed
        self.answered.set()

    def send(self, **fields: Any) -> None:
        self.out.write(json.dumps(fields) + "\n")
        self.out.flush()

    def forward(self, event: Event) -> None:
        """Report progress and wait until the parent has shown it (or asked to stop)."""
        if isinstance(event, ScanProgress) and not self.cancel.is_set():
            self.answered.clear()
            self.send(progress=event.files_seen)
            self.answered.wait()


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m casparian_tui.scan_process HOME ROOT", file=sys.stderr)
        return 2
    home, root = argv
    link = ParentLink(sys.stdin, sys.stdout)
    sys.stdout = sys.stderr  # stdout carries the protocol only
    try:
        with Workspace.open(home) as workspace:
            summary = workspace.files.scan(root, on_event=link.forward, cancel=link.cancel)
    except ScanCancelled as stopped:  # what the store kept, not the last progress shown
        link.send(found=stopped.files_recorded, cancelled=True)
        return 0
    except Cancelled:
        link.send(cancelled=True)
        return 0
    except Exception as exc:  # noqa: BLE001 - every failure is reported to the TUI in words
        link.send(error=str(exc))
        return 1
    found = summary.new + summary.changed + summary.unchanged + summary.renamed
    link.send(found=found, cancelled=link.cancel.is_set())
    return 0


class ScanChild:
    """The TUI's side: starts the child on the same home and store, reads it, answers it."""

    def __init__(self, workspace: Workspace, root: str, niceness: int = 0) -> None:
        self._errors = tempfile.TemporaryFile()
        environment = {**os.environ, ENV_PREFIX + "STORE_URL": workspace.config.store_url}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "casparian_tui.scan_process", str(workspace.home), root],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._errors,
            text=True,
            env=environment,
            preexec_fn=(lambda: os.nice(niceness)) if niceness else None,
        )
        self._lock = threading.Lock()

    def messages(self) -> Iterator[dict[str, Any]]:
        """The child's protocol lines, until it exits."""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            yield json.loads(line)

    def answer(self, text: str) -> None:
        """Send ``go`` or ``cancel`` (from any thread); a child that has exited is not an error."""
        with self._lock:
            try:
                assert self.process.stdin is not None
                self.process.stdin.write(text + "\n")
                self.process.stdin.flush()
            except (OSError, ValueError):
                pass

    def finish(self) -> str:
        """Wait for the child; what it printed on stderr if it failed, else ''."""
        with self._lock:
            try:
                assert self.process.stdin is not None
                self.process.stdin.close()
            except OSError:
                pass
        code = self.process.wait()
        self._errors.seek(0)
        printed = self._errors.read().decode("utf-8", errors="replace").strip()
        self._errors.close()
        if code == 0:
            return ""
        last_line = printed.splitlines()[-1] if printed else "no message"
        return f"the scan process exited with status {code}: {last_line}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
