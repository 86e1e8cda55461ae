"""Running the real CLI in a fresh interpreter, as a shell does, on a given home."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CLI_ENTRY = "from casparian_engine.cli.main import run; run()"


def run_cli(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``casparian --home HOME ARGS…`` in a new process with no stdin; its output captured."""
    return subprocess.run(
        [sys.executable, "-c", CLI_ENTRY, "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
