"""``casparian tui``: open the Textual app on a workspace.

The engine's CLI never imports the TUI; this module registers the command through the
``casparian.commands`` entry point (see pyproject.toml), so Textual loads only when it is used.
"""

from __future__ import annotations

from pathlib import Path

import typer

from casparian_engine.cli.common import fail, home_option, require_existing_home


def register(app: typer.Typer) -> None:
    @app.command("tui")
    def tui(
        ctx: typer.Context,
        home: Path | None = typer.Option(
            None,
            "--home",
            help="Casparian home to open (default: the global --home, $CASPARIAN_HOME, "
            "or ~/.casparian_flow).",
            show_default=False,
        ),
    ) -> None:
        """Open the [bold]terminal UI[/]: Home hub, Discover, Process, Inspect and Jobs."""
        from casparian_engine.errors import CasparianError
        from casparian_engine.workspace import Workspace

        chosen = str(home) if home is not None else home_option(ctx)
        try:
            require_existing_home(chosen)  # read-only: a mistyped --home is not created
            workspace = Workspace.open(chosen)
        except CasparianError as exc:
            fail(exc)
        try:
            from .app import CasparianApp

            CasparianApp(workspace).run()
        finally:
            workspace.close()
