"""Helpers shared by the command modules: opening the workspace, printing, failing cleanly."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console, ConsoleDimensions
from rich.table import Column, Table
from rich.text import Text

from ..errors import CasparianError
from ..wording import counted as counted  # re-exported: commands and the TUI use it from here
from ..wording import plural as plural

if TYPE_CHECKING:  # the workspace pulls in the store and pyarrow: imported when a command runs
    from ..workspace import Workspace

PIPED_WIDTH = 10_000
"""Width of output that is not a terminal: lines and tables are never wrapped or truncated."""


class CliConsole(Console):
    """A console that, writing to a pipe or file, does not wrap at 80 columns (``COLUMNS`` wins)."""

    @property
    def size(self) -> ConsoleDimensions:
        dimensions = super().size
        if self._width is None and not self.is_terminal and "COLUMNS" not in self._environ:
            return ConsoleDimensions(PIPED_WIDTH, dimensions.height)
        return dimensions

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


console = CliConsole()
err_console = CliConsole(stderr=True)


class LiteralTable(Table):
    """A Rich table whose string cells are printed as written, never read as console markup.

    Cells hold data (paths, parser names, error text): ``x[=<y].csv`` or ``[b]bold.csv`` must
    print literally, so each string becomes a ``Text`` before Rich sees it.
    """

    def add_row(self, *renderables: Any, **options: Any) -> None:
        literal = (Text(cell) if isinstance(cell, str) else cell for cell in renderables)
        super().add_row(*literal, **options)


def folding_table(*headers: str, **options: Any) -> Table:
    """A table whose cells fold long values (paths, ids) onto more lines instead of cutting them.

    Headers and cells are literal text (see ``LiteralTable``): a column or file name with
    brackets in it prints as it is.
    """
    columns = (Column(Text(h), overflow="fold") for h in headers)
    return LiteralTable(*columns, **options)


def home_option(ctx: typer.Context) -> str | None:
    """The ``--home`` given to the root command, if any."""
    root = ctx.find_root()
    obj = root.obj if isinstance(root.obj, dict) else {}
    home = obj.get("home")
    return str(home) if home else None


READ_ONLY_COMMANDS = frozenset(
    {
        "files", "jobs", "jobs logs", "audit", "audit export", "parser list", "parser show",
        "parser export", "quarantine list", "quarantine show", "schema list", "schema show",
        "schema diff", "tag rule list", "env list", "tui", "query", "workers",
    }
)  # fmt: skip
"""Commands that only read state: on a home without one they say so instead of creating it."""


def command_name(ctx: typer.Context) -> str:
    """The command as typed after ``casparian``, e.g. ``quarantine list``."""
    names: list[str] = []
    current: Any = ctx
    while current is not None and current.parent is not None:
        names.append(current.info_name or "")
        current = current.parent
    return " ".join(reversed(names))


def _check_home_exists(ctx: typer.Context) -> None:
    """A read-only command on a home with no state (a mistyped --home) fails, creating nothing."""
    if command_name(ctx) not in READ_ONLY_COMMANDS:
        return
    require_existing_home(home_option(ctx))


def require_existing_home(home: str | None) -> None:
    """Fail, creating nothing, when ``home`` (resolved as ``load_config`` does) has no state."""
    from ..config import load_config

    config = load_config(home)
    if not config.settings.store_url and not config.state_db.is_file():
        fail(
            f"no Casparian home at {config.home} (create one with `casparian scan` or "
            "`casparian demo`)"
        )


@contextmanager
def open_workspace(ctx: typer.Context) -> Iterator[Workspace]:
    """Open the workspace for a command; configuration and store errors end the command cleanly.

    Read-only commands (``READ_ONLY_COMMANDS``) never create a home: they fail when it has none.
    """
    try:
        _check_home_exists(ctx)
        from ..workspace import Workspace

        workspace = Workspace.open(home_option(ctx))
    except CasparianError as exc:
        fail(exc)
    try:
        yield workspace
    finally:
        workspace.close()


def fail(message: str | BaseException, code: int = 1) -> NoReturn:
    """Print a red error line to stderr and exit with ``code``; an exception is shown as every
    face shows it (``errors.describe``: its message, then its hint)."""
    from rich.markup import escape

    from ..errors import describe

    if isinstance(message, BaseException):
        message = describe(message)

    # Escaped: messages quote user text and rule tags such as "[socket]", never markup.
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True)
    raise typer.Exit(code)


def print_json(payload: Any) -> None:
    """Machine-readable output: plain JSON on stdout, nothing else."""
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")


def local_time(stamp: float | None, with_seconds: bool = True) -> str:
    """A Unix time as local ``YYYY-MM-DD HH:MM[:SS]`` for tables; empty when there is none."""
    if stamp is None:
        return ""
    return time.strftime(
        "%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M", time.localtime(stamp)
    )
