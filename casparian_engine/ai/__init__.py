"""The AI assistant, without any screen: providers, the question loop, context and history.

Stable API (the TUI sidebar, ``casparian ask`` and the Parser Lab build on it)::

    from casparian_engine.ai import Assistant, CancelToken, select_provider
    provider = select_provider(workspace.config)          # or requested="local" / "claude"
    assistant = Assistant(workspace, provider, confirm=ask_a_person)
    for event in assistant.ask("why did job 12 fail?", context, cancel):
        ...  # Status, TextDelta, ToolCallRequested, ToolResult, AIErrorEvent, then TurnEnded

* ``select_provider`` decides local / claude / none by the settings (never the cloud by default;
  Claude only with ``allow_cloud_ai`` and a key) and raises ``ProviderUnavailable`` saying what is
  missing. A provider alone (``provider.stream(ProviderRequest, cancel)``) answers one model call
  without tools, history or audit — for one-off prompts such as a Parser Lab draft.
* ``Assistant.ask`` runs tools from ``casparian_engine.tools`` under the MCP guard, asks
  ``confirm`` before a write tool, bounds tool rounds, keeps the per-home history and audits each
  question. ``cancel.cancel()`` stops it within a token.
* ``AIContext`` (mode, files, parser, job, table, quarantine row) goes into the system prompt with
  file contents fenced as data.
"""

from __future__ import annotations

from .context import (
    AIContext,
    ColumnContext,
    FileContext,
    JobContext,
    QuarantineContext,
    Selection,
    TableContext,
    context_for,
    file_context,
)
from .events import (
    AIError,
    AIErrorEvent,
    CancelToken,
    ChatMessage,
    Event,
    ProviderEvent,
    ProviderRequest,
    RoundEnded,
    Status,
    TextDelta,
    ToolCall,
    ToolCallRequested,
    ToolResult,
    ToolSchema,
    TurnEnded,
)
from .history import History
from .provider import (
    INSTALL_LOCAL_COMMAND,
    NoneProvider,
    Provider,
    ProviderUnavailable,
    local_runtime_installed,
    select_provider,
    shipped_model_path,
)
from .session import Assistant, ConfirmationRequest, tool_schemas

__all__ = [
    "AIContext",
    "AIError",
    "AIErrorEvent",
    "Assistant",
    "CancelToken",
    "ChatMessage",
    "ColumnContext",
    "ConfirmationRequest",
    "Event",
    "FileContext",
    "History",
    "INSTALL_LOCAL_COMMAND",
    "JobContext",
    "NoneProvider",
    "Provider",
    "ProviderEvent",
    "ProviderRequest",
    "ProviderUnavailable",
    "QuarantineContext",
    "RoundEnded",
    "Selection",
    "Status",
    "TableContext",
    "TextDelta",
    "ToolCall",
    "ToolCallRequested",
    "ToolResult",
    "ToolSchema",
    "TurnEnded",
    "context_for",
    "file_context",
    "local_runtime_installed",
    "select_provider",
    "shipped_model_path",
    "tool_schemas",
]
