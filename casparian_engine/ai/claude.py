"""The Claude provider: the ``anthropic`` SDK, streaming, with native tool use.

Constructed only by ``provider.select_provider`` once the settings permit cloud use and a key is
present. API errors become ``AIError`` with a kind (auth, rate_limit, overloaded, network, api) and
a message a person can act on; the caller keeps running.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic

from .events import (
    AIError,
    CancelToken,
    ChatMessage,
    ErrorKind,
    ProviderEvent,
    ProviderRequest,
    RoundEnded,
    TextDelta,
    ToolCall,
    ToolCallRequested,
)


def to_anthropic_messages(messages: tuple[ChatMessage, ...]) -> list[dict[str, Any]]:
    """Our messages in the Messages API's shape: tool calls are ``tool_use`` blocks and the
    tool messages that answer them one user turn of ``tool_result`` blocks."""
    converted: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "tool":
            block = {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id,
                "content": message.text,
                "is_error": message.is_error,
            }
            last = converted[-1] if converted else None
            if last and last["role"] == "user" and isinstance(last["content"], list):
                last["content"].append(block)
            else:
                converted.append({"role": "user", "content": [block]})
        elif message.role == "assistant":
            content: list[dict[str, Any]] = []
            if message.text:
                content.append({"type": "text", "text": message.text})
            for call in message.tool_calls:
                content.append(
                    {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}
                )
            if content:
                converted.append({"role": "assistant", "content": content})
        else:
            converted.append({"role": "user", "content": message.text})
    return converted


def _error_kind(exc: anthropic.APIError) -> tuple[ErrorKind, str]:
    body = getattr(exc, "body", None)
    error_type = ""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            error_type = str(error.get("type", ""))
    status = getattr(exc, "status_code", None)
    if isinstance(exc, anthropic.APIConnectionError):
        return "network", f"could not reach the Claude API ({exc})"
    if status in (401, 403) or error_type in ("authentication_error", "permission_error"):
        return "auth", f"the Claude API refused the key (HTTP {status}): check $ANTHROPIC_API_KEY"
    if status == 429 or error_type == "rate_limit_error":
        return "rate_limit", "the Claude API is rate-limiting this key (429): try again shortly"
    if status == 529 or error_type == "overloaded_error":
        return "overloaded", "the Claude API is overloaded (529): try again shortly"
    return "api", f"the Claude API returned an error (HTTP {status}): {exc}"


class ClaudeProvider:
    """Claude over the Messages API. ``base_url`` and ``max_retries`` exist for tests and
    proxies; by default the SDK's own endpoint and retry policy (429/529 with back-off)."""

    name = "claude"
    cloud = True

    def __init__(
        self,
        api_key: str,
        model: str,
        base_url: str | None = None,
        max_retries: int = 2,
        timeout_s: float = 60.0,
    ) -> None:
        self.model = model
        self._client = anthropic.Anthropic(
            api_key=api_key, base_url=base_url, max_retries=max_retries, timeout=timeout_s
        )

    def stream(self, request: ProviderRequest, cancel: CancelToken) -> Iterator[ProviderEvent]:
        params: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "system": request.system,
            "messages": to_anthropic_messages(request.messages),
        }
        if request.tools:
            params["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.input_schema}
                for t in request.tools
            ]
            if request.force_tool:
                params["tool_choice"] = {"type": "tool", "name": request.force_tool}
        try:
            with self._client.messages.stream(**params) as stream:
                cancel.on_cancel(stream.close)
                try:
                    for event in stream:
                        if cancel.cancelled:
                            break
                        if event.type == "text":
                            yield TextDelta(event.text)
                    if cancel.cancelled:
                        yield RoundEnded(0, 0, "cancelled")
                        return
                    final = stream.get_final_message()
                finally:
                    cancel.forget(stream.close)
        except anthropic.APIError as exc:
            if cancel.cancelled:
                yield RoundEnded(0, 0, "cancelled")
                return
            kind, message = _error_kind(exc)
            raise AIError(message, kind) from exc
        except Exception as exc:  # a stream closed by cancel raises from the socket read
            if cancel.cancelled:
                yield RoundEnded(0, 0, "cancelled")
                return
            raise AIError(f"the Claude API stream failed: {exc}", "network") from exc
        for block in final.content:
            if block.type == "tool_use":
                arguments = block.input if isinstance(block.input, dict) else {}
                yield ToolCallRequested(ToolCall(block.id, block.name, dict(arguments)))
        usage = final.usage
        yield RoundEnded(usage.input_tokens, usage.output_tokens, str(final.stop_reason or ""))
