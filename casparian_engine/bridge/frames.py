"""Host-side decoding of the frames a guest sends; every length is bounded before it is used."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.ipc

from .guest.casparian_stream import FILE_ROWS_METADATA_KEY
from .guest.shim import (
    END_OF_STREAM,
    ERROR_SIGNAL,
    HELLO_SIGNAL,
    LOG_SIGNAL,
    OUTPUT_METADATA_KEY,
)

__all__ = [
    "END_OF_STREAM",
    "ERROR_SIGNAL",
    "HELLO_SIGNAL",
    "LOG_SIGNAL",
    "OUTPUT_METADATA_KEY",
    "FrameError",
    "DataFrame",
    "LogFrame",
    "ErrorFrame",
    "HelloFrame",
    "EndOfStream",
    "Frame",
    "decode_frame",
]

_U32 = struct.Struct(">I")
MAX_CONTROL_BYTES = 16 * 1024 * 1024


class FrameError(Exception):
    """A frame broke the protocol (bad length, unknown signal, undecodable Arrow)."""


@dataclass(frozen=True)
class DataFrame:
    """One record batch for one output; ``file_rows`` (packed frames) gives each file's rows."""

    output: str
    batch: pa.RecordBatch
    file_rows: tuple[int, ...] | None = None


@dataclass(frozen=True)
class LogFrame:
    """A sideband log line."""

    level: int
    message: str


@dataclass(frozen=True)
class ErrorFrame:
    """The guest's failure report."""

    kind: str
    retryable: bool
    message: str
    traceback: str
    path: str | None


@dataclass(frozen=True)
class HelloFrame:
    """The parser's metadata, sent once after it loaded."""

    metadata: dict[str, Any]


@dataclass(frozen=True)
class EndOfStream:
    """The guest finished the ``files`` oldest pending files (1 unless it packed several)."""

    files: int = 1


Frame = DataFrame | LogFrame | ErrorFrame | HelloFrame | EndOfStream


def _bounded_json(body: memoryview, max_bytes: int) -> dict[str, Any]:
    if len(body) < 4:
        raise FrameError("control frame is shorter than its length field")
    (declared,) = _U32.unpack_from(body, 0)
    if declared > min(max_bytes, MAX_CONTROL_BYTES) or declared != len(body) - 4:
        raise FrameError(f"control frame declares {declared} bytes but carries {len(body) - 4}")
    try:
        document = json.loads(bytes(body[4:]))
    except ValueError as exc:
        raise FrameError(f"control frame is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise FrameError("control frame JSON is not an object")
    return document


def decode_frame(parts: list[Any], max_frame_bytes: int) -> Frame:
    """Decode one ZeroMQ message (one or two parts) into a frame, or raise ``FrameError``."""
    if not parts or len(parts) > 2:
        raise FrameError(f"a frame has 1 or 2 parts, got {len(parts)}")
    header = memoryview(parts[0].buffer if hasattr(parts[0], "buffer") else parts[0])
    if len(header) < 4:
        raise FrameError(f"frame header is {len(header)} bytes, expected at least 4")
    (signal,) = _U32.unpack_from(header, 0)
    if len(parts) == 2:
        if len(header) != 4 or signal in (HELLO_SIGNAL, LOG_SIGNAL, ERROR_SIGNAL, END_OF_STREAM):
            raise FrameError(f"data frame has an invalid length header {signal:#x}")
        if signal > max_frame_bytes:
            raise FrameError(
                f"data frame of {signal} bytes exceeds max_frame_bytes={max_frame_bytes}"
            )
        payload = parts[1].buffer if hasattr(parts[1], "buffer") else memoryview(parts[1])
        if len(payload) != signal:
            raise FrameError(f"data frame declares {signal} bytes but carries {len(payload)}")
        return _decode_batch(payload)
    body = header[4:]
    if signal == END_OF_STREAM:
        if not body:
            return EndOfStream()
        if len(body) != 4:
            raise FrameError(f"end-of-files frame has {len(body)} bytes after its signal, not 4")
        (count,) = _U32.unpack_from(body, 0)
        if count == 0:
            raise FrameError("end-of-files frame completes 0 files")
        return EndOfStream(files=count)
    if signal == LOG_SIGNAL:
        if len(body) < 5:
            raise FrameError("log frame is shorter than its level and length fields")
        (length,) = _U32.unpack_from(body, 1)
        if length != len(body) - 5:
            raise FrameError(f"log frame declares {length} bytes but carries {len(body) - 5}")
        return LogFrame(level=body[0], message=bytes(body[5:]).decode("utf-8", "replace"))
    if signal == ERROR_SIGNAL:
        document = _bounded_json(body, max_frame_bytes)
        return ErrorFrame(
            kind=str(document.get("kind", "Error")),
            retryable=bool(document.get("retryable", False)),
            message=str(document.get("message", "")),
            traceback=str(document.get("traceback", "")),
            path=document.get("path"),
        )
    if signal == HELLO_SIGNAL:
        return HelloFrame(metadata=_bounded_json(body, max_frame_bytes))
    raise FrameError(f"unknown control signal {signal:#x} in a single-part frame")


def _decode_batch(payload: Any) -> DataFrame:
    try:
        reader = pa.ipc.open_stream(pa.py_buffer(payload))
        batches = list(reader)
    except (pa.ArrowInvalid, OSError) as exc:
        raise FrameError(f"data frame is not a valid Arrow IPC stream: {exc}") from exc
    if len(batches) != 1:
        raise FrameError(f"data frame must carry exactly one record batch, got {len(batches)}")
    metadata = reader.schema.metadata or {}
    raw_name = metadata.get(OUTPUT_METADATA_KEY)
    if not raw_name:
        raise FrameError("data frame has no output name in its schema metadata")
    batch = batches[0].replace_schema_metadata(None)
    output = raw_name.decode("utf-8", "replace")
    raw_rows = metadata.get(FILE_ROWS_METADATA_KEY)
    if raw_rows is None:
        return DataFrame(output=output, batch=batch)
    try:
        file_rows = tuple(int(rows) for rows in json.loads(raw_rows))
    except (ValueError, TypeError) as exc:
        raise FrameError(f"packed frame has unreadable file row counts: {exc}") from exc
    if not file_rows or min(file_rows) < 0 or sum(file_rows) != batch.num_rows:
        raise FrameError(
            f"packed frame's file row counts add up to {sum(file_rows)}, "
            f"but it carries {batch.num_rows} rows"
        )
    return DataFrame(output=output, batch=batch, file_rows=file_rows)
