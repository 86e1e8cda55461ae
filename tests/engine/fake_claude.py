"""A local HTTP server speaking the Messages API's streaming protocol: the one allowed fake
(Claude's servers). Each POST /v1/messages takes the next scripted reply."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def text_reply(*pieces: str, input_tokens: int = 12) -> list[bytes]:
    """A streamed text answer in several deltas."""
    events = [
        sse("message_start", {"type": "message_start", "message": _message(input_tokens)}),
        sse(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        sse("ping", {"type": "ping"}),
    ]
    for piece in pieces:
        delta = {"type": "text_delta", "text": piece}
        events.append(
            sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta})
        )
    events += [
        sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
        _message_delta("end_turn", len(pieces)),
        sse("message_stop", {"type": "message_stop"}),
    ]
    return events


def tool_reply(text: str, tool_id: str, name: str, arguments: dict[str, Any]) -> list[bytes]:
    """A short text block, then a tool_use block whose input arrives as partial JSON."""
    raw = json.dumps(arguments)
    half = len(raw) // 2
    block = {"type": "tool_use", "id": tool_id, "name": name, "input": {}}
    return [
        sse("message_start", {"type": "message_start", "message": _message(30)}),
        sse(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        sse(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": text},
            },
        ),
        sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
        sse(
            "content_block_start",
            {"type": "content_block_start", "index": 1, "content_block": block},
        ),
        sse(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": raw[:half]},
            },
        ),
        sse(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": raw[half:]},
            },
        ),
        sse("content_block_stop", {"type": "content_block_stop", "index": 1}),
        _message_delta("tool_use", 20),
        sse("message_stop", {"type": "message_stop"}),
    ]


def overloaded_in_stream() -> list[bytes]:
    """The stream starts, then the API reports it is overloaded (an SSE error event)."""
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    return [
        sse("message_start", {"type": "message_start", "message": _message(5)}),
        sse("error", error),
    ]


def _message(input_tokens: int) -> dict[str, Any]:
    return {
        "id": "msg_test",
        "type": "message",
        "role": "assistant",
        "content": [],
        "model": "claude-test",
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": 1},
    }


def _message_delta(stop_reason: str, output_tokens: int) -> bytes:
    return sse(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": output_tokens},
        },
    )


@dataclass
class HttpError:
    """A plain HTTP error reply (429, 529, 401) with the API's JSON error body."""

    status: int
    error_type: str
    message: str = "error"


@dataclass
class FakeClaude:
    replies: list[list[bytes] | HttpError] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    connections: int = 0
    url: str = ""
    hold: threading.Event | None = None  # when set on a reply: wait before the rest of it


@contextmanager
def fake_claude(*replies: list[bytes] | HttpError) -> Iterator[FakeClaude]:
    state = FakeClaude(list(replies))
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("content-length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            with lock:
                state.requests.append(
                    {"path": self.path, "body": body, "headers": dict(self.headers)}
                )
                reply = (
                    state.replies.pop(0)
                    if state.replies
                    else HttpError(500, "api_error", "no reply scripted")
                )
            if isinstance(reply, HttpError):
                payload = json.dumps(
                    {"type": "error", "error": {"type": reply.error_type, "message": reply.message}}
                ).encode()
                self.send_response(reply.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.send_header("connection", "close")
            self.end_headers()
            for index, chunk in enumerate(reply):
                if index == 4 and state.hold is not None:
                    self.wfile.flush()
                    state.hold.wait(30)
                try:
                    self.wfile.write(chunk)
                    self.wfile.flush()
                except OSError:
                    return
            self.close_connection = True

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def verify_request(self, request: Any, client_address: Any) -> bool:
            with lock:
                state.connections += 1
            return True

    server = Server(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
