"""Helpers shared by the command modules: opening the workspace, printing, failing cleanly."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from rich.console import Console

from ..config import ConfigError
from ..store import StoreError
from ..workspace import Workspace

console = Console()
err_console = Console(stderr=True)


def home_option(ctx: typer.Context) -> str | None:
    """The ``--home`` given to the root command, if any."""
    root = ctx.find_root()
    obj = root.obj if isinstance(root.obj, dict) else {}
    home = obj.get("home")
    return str(home) if home else None


@contextmanager
def open_workspace(ctx: typer.Context) -> Iterator[Workspace]:
    """Open the workspace for a command; configuration and store errors end the command cleanly."""
    try:
        workspace = Workspace.open(home_option(ctx))
    except (ConfigError, StoreError) as exc:
        fail(str(exc))
    try:
        yield workspace
    finally:
        workspace.close()


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a red error line to stderr and exit with ``code``."""
    from rich.markup import escape

    # Escaped: messages quote user text and rule tags such as "[socket]", never markup.
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True)
    raise typer.Exit(code)


def print_json(payload: Any) -> None:
    """Machine-readable output: plain JSON on stdout, nothing else."""
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
