"""``casparian mcp``: the tool registry served over stdio with the official MCP SDK.

Each registry tool becomes an MCP tool whose input schema comes from the function's typed signature.
Guard-rails and auditing live in ``tools.registry.call_tool``; this module only adapts. Logs go to
stderr — stdout carries the protocol and nothing else.
"""

from __future__ import annotations

import functools
import logging
import sys
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

from . import __version__
from .errors import describe
from .tools import REGISTRY, ToolContext, ToolGuard, ToolSpec, call_tool
from .tools.limits import bounded_text
from .workspace import Workspace

INSTRUCTIONS = (
    "Casparian Flow turns folders of messy files into typed tables. Typical flow: quick_scan a "
    "folder, apply_scope to group files, discover_schemas to propose contracts (a human approves "
    "them), run_backtest a registered parser over the scope, execute_pipeline to process it, then "
    "query_output with SQL over the outputs."
)


def _adapt(spec: ToolSpec, ctx: ToolContext) -> Any:
    """A function with the tool's public signature that calls it through the guard-rails."""

    def handler(**arguments: Any) -> dict[str, Any]:
        try:
            return call_tool(spec, ctx, arguments)
        except Exception as exc:  # every failure becomes an MCP error, never a crashed server
            raise ToolError(bounded_text(describe(exc))) from exc

    functools.update_wrapper(handler, spec.function)
    signature = spec.public_signature()
    handler.__signature__ = signature  # type: ignore[attr-defined]
    handler.__annotations__ = {
        name: param.annotation for name, param in signature.parameters.items()
    } | {"return": signature.return_annotation}
    del handler.__wrapped__  # type: ignore[attr-defined]
    return handler


def build_server(workspace: Workspace, guard: ToolGuard) -> MCPServer[Any]:
    """An MCP server exposing every registered tool through the guard-rails."""
    server: MCPServer[Any] = MCPServer(
        "casparian", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING"
    )
    ctx = ToolContext(workspace=workspace, guard=guard)
    for spec in REGISTRY.values():
        server.add_tool(
            _adapt(spec, ctx),
            name=spec.name,
            description=spec.description,
            annotations=ToolAnnotations(
                read_only_hint=spec.access == "read",  # only a "read" tool changes nothing
                destructive_hint=False,  # no tool deletes or overwrites what is there
                open_world_hint=False,  # the store, the allowed paths and the outputs only
            ),
            structured_output=True,
        )
        # The registry's one schema per tool, so MCP clients and the assistant see the same one.
        registered = server._tool_manager.get_tool(spec.name)
        if registered is not None:
            registered.parameters = spec.input_schema
    return server


def serve(workspace: Workspace, guard: ToolGuard) -> None:
    """Serve until the client closes stdin."""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    build_server(workspace, guard).run("stdio")
