"""``casparian mcp``: serve the AI tools to MCP clients (Claude Code and others) over stdio."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import open_workspace


def register(app: typer.Typer) -> None:
    @app.command("mcp")
    def mcp_command(
        ctx: typer.Context,
        allow_path: list[Path] = typer.Option(
            [],
            "--allow-path",
            help="A folder the tools may read or scan (repeatable). Default: the working "
            "directory.",
        ),
        read_write: bool = typer.Option(
            False,
            "--read-write",
            help="Allow tools that change state (execute_pipeline, tagging in apply_scope).",
        ),
        allow_approve: bool = typer.Option(
            False,
            "--allow-approve",
            help="Allow approve_schemas to lock contracts. AI proposes, humans approve: "
            "leave this off unless a person reviews every call.",
        ),
    ) -> None:
        """Serve Casparian's seven tools over stdio with the MCP protocol.

        By default no tool changes tags, outputs or approved contracts: tools may scan folders
        into the inventory, save scopes and schema proposals, and run registered parsers in
        backtests (which write nothing). Every call is recorded in the audit trail. Logs go to
        stderr.
        """
        from ..mcp_server import serve
        from ..tools import ToolGuard

        roots = tuple(p.expanduser().resolve() for p in allow_path) or (Path.cwd().resolve(),)
        guard = ToolGuard(allowed_paths=roots, read_write=read_write, allow_approve=allow_approve)
        with open_workspace(ctx) as workspace:
            serve(workspace, guard)
