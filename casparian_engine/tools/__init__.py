"""AI-callable tools: one registry for the MCP server and the TUI's AI sidebar."""

from __future__ import annotations

from .builtin import (  # noqa: E402,I001  (importing registers the seven tools)
    apply_scope as apply_scope,
)
from .registry import REGISTRY, ToolContext, ToolGuard, ToolRefused, ToolSpec, call_tool

__all__ = ["REGISTRY", "ToolContext", "ToolGuard", "ToolRefused", "ToolSpec", "call_tool"]
