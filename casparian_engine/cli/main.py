"""The root ``casparian`` command: global options, and discovery of the command modules.

Every module in this package that defines ``register(app)`` adds its commands; the modules import
heavy libraries (pyarrow, duckdb) inside the commands so ``casparian --help`` stays quick.
"""

from __future__ import annotations

import importlib
import pkgutil
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import typer

from .. import __version__

app = typer.Typer(
    name="casparian",
    help=(
        "Casparian Flow — turn folders of messy files into typed, trustworthy tables.\n\n"
        "Scan folders, tag files, develop a parser against a sample, approve its schema contract, "
        "register it, and let the worker pool process the backlog into Parquet/SQL. Bad rows are "
        "quarantined with reasons; every row keeps its lineage."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"casparian {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    home: Path | None = typer.Option(
        None,
        "--home",
        envvar="CASPARIAN_HOME",
        help="Casparian home (state, outputs, logs). Default: ~/.casparian_flow.",
        show_default=False,
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Global options apply to every command."""
    ctx.obj = {"home": home}


def _register_commands() -> None:
    package = importlib.import_module(__package__ or "casparian_engine.cli")
    for module_info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if module_info.name in ("main", "common") or module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{module_info.name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(app)


def _register_plugins() -> None:
    """Commands of other installed packages (the TUI registers `casparian tui` this way).

    Loaded only by the console script, so importing the engine never imports those packages.
    """
    for entry_point in sorted(entry_points(group="casparian.commands"), key=lambda e: e.name):
        entry_point.load()(app)


def _hide_flag_types() -> None:
    """Help shows no ``<bool>`` beside flags: they take no value (typer has no setting for it)."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag else shown(self, ctx)

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_hide_flag_types()
_register_commands()


def run() -> None:
    """Console-script entry point."""
    _register_plugins()
    app()
