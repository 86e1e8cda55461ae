"""``casparian doctor``: what isolation parsers get on this machine, and a loud line when weaker."""

from __future__ import annotations

import typer

from .common import console, err_console, open_workspace, print_json


def sandbox_warning(mode: str) -> str | None:
    """The warning every command that starts guests prints when they run without a sandbox."""
    from ..bridge.isolation import detect

    found = detect()
    if found.sandboxed or mode == "off":
        return None
    if mode == "required":
        return (
            f"NO SANDBOX: {found.sandbox_problem}. guest_sandbox is 'required': parsers will "
            "not run. See `casparian doctor`."
        )
    return (
        f"WARNING: parsers run WITHOUT a sandbox: {found.sandbox_problem}. A parser can read "
        "whatever this user can read and reach the network. Set guest_sandbox = 'required' to "
        "refuse instead; `casparian doctor` shows what isolation this machine gives."
    )


def warn_if_unsandboxed(mode: str) -> None:
    """Print ``sandbox_warning`` (if any) on stderr, in bold red."""
    warning = sandbox_warning(mode)
    if warning:
        err_console.print(f"[bold red]{warning}[/]", highlight=False)


def register(app: typer.Typer) -> None:
    @app.command("doctor")
    def doctor(
        ctx: typer.Context,
        as_json: bool = typer.Option(False, "--json", help="Print the findings as JSON."),
    ) -> None:
        """Show the isolation parsers get here: sandbox, memory limit, children, network."""
        from ..bridge.isolation import detect, memory_limit_mb

        found = detect()
        with open_workspace(ctx) as workspace:
            settings = workspace.config.settings
        limit = memory_limit_mb(
            settings.guest_memory_limit_mb,
            settings.guest_memory_fraction,
            settings.max_concurrent_workers,
            found.total_memory_mb,
        )
        if as_json:
            print_json(
                {
                    "sandbox": found.bwrap or None,
                    "sandbox_problem": found.sandbox_problem or None,
                    "guest_sandbox": settings.guest_sandbox,
                    "memory": found.memory,
                    "memory_limit_mb": limit,
                    "lines": found.lines(),
                }
            )
            return
        for line in found.lines():
            console.print(line, highlight=False, markup=False)
        console.print(
            f"limit:    {limit:,} MB per guest" if limit else "limit:    none (setting -1)",
            highlight=False,
        )
        console.print(f"setting:  guest_sandbox = {settings.guest_sandbox!r}", highlight=False)
        warn_if_unsandboxed(settings.guest_sandbox)
