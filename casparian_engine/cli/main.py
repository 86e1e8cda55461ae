"""The root ``casparian`` command: global options, and discovery of the command modules.

Every module in this package that defines ``register(app)`` adds its commands; the modules import
heavy libraries (pyarrow, duckdb) inside the commands so ``casparian --help`` stays quick.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import signal
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import typer

from .. import __version__
from ..errors import CasparianError, describe

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


def _unwrap(text: str | None) -> str | None:
    """Join the hard-wrapped lines of each help paragraph, so Rich wraps them to the terminal.

    Typer's rich mode keeps single newlines; docstrings are wrapped at 100 columns for the source.
    Paragraphs (blank-line separated) and list items (lines starting with ``-`` or ``•``) are kept.
    """
    if not text:
        return text
    paragraphs = []
    for paragraph in inspect.cleandoc(text).split("\n\n"):
        lines = paragraph.splitlines()
        if paragraph.startswith("\b") or any(line.lstrip()[:1] in "-•" for line in lines[1:]):
            paragraphs.append(paragraph)
        else:
            paragraphs.append(" ".join(line.strip() for line in lines))
    return "\n\n".join(paragraphs)


def _unwrap_help(typer_app: typer.Typer) -> None:
    """Apply ``_unwrap`` to every command's and group's help, recursively."""
    for command in typer_app.registered_commands:
        command.help = _unwrap(command.help or inspect.getdoc(command.callback))
    for group in typer_app.registered_groups:
        instance = group.typer_instance
        if instance is None:
            continue
        callback = instance.registered_callback.callback if instance.registered_callback else None
        own_help = group.help or instance.info.help or inspect.getdoc(callback)
        group.help = _unwrap(own_help if isinstance(own_help, str) else None)
        _unwrap_help(instance)


_hide_flag_types()
_register_commands()


def _listen_to_interrupts() -> None:
    """Ctrl+C/SIGINT stops every command, even one started with SIGINT ignored.

    A non-interactive shell (a CI script, ``make``, ``cmd &``) starts its children with SIGINT set
    to "ignore", which Python keeps: the command would then never see Ctrl+C, and its guests,
    inheriting "ignore" too, would not either.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def run() -> None:
    """Console-script entry point."""
    _listen_to_interrupts()
    _register_plugins()
    _unwrap_help(app)
    try:
        app()
    except CasparianError as exc:  # one a command did not catch: the same line, no traceback
        from .common import fail

        try:
            fail(describe(exc))
        except typer.Exit as done:
            raise SystemExit(done.exit_code) from None
