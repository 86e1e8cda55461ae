"""Running the real CLI in a fresh process, as a shell does, and the real MCP server over stdio
with the official client, on a given home."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mcp import ClientSession

CLI_ENTRY = "from casparian_engine.cli.main import run; run()"
CASPARIAN = str(Path(sys.executable).parent / "casparian")  # the installed console script


def run_cli(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``casparian --home HOME ARGS…`` in a new process with no stdin; its output captured."""
    return subprocess.run(
        [sys.executable, "-c", CLI_ENTRY, "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@asynccontextmanager
async def mcp_session(
    home: Path, allowed: Path, *flags: str, cwd: Path | None = None
) -> AsyncIterator[ClientSession]:
    """The official MCP client, initialised, over stdio to ``casparian --home HOME mcp
    --allow-path ALLOWED FLAGS…``; the server's stderr goes to ``mcp-stderr.log`` beside HOME."""
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(
        command=CASPARIAN,
        args=["--home", str(home), "mcp", "--allow-path", str(allowed), *flags],
        cwd=str(cwd) if cwd is not None else None,
    )
    with open(home.parent / "mcp-stderr.log", "a") as errlog:
        async with stdio_client(params, errlog=errlog) as streams:
            async with ClientSession(*streams) as client:
                await client.initialize()
                yield client
