"""The frame codec: guest encoders and host decoder agree; lengths are bounded before use."""

from __future__ import annotations

import struct

import pyarrow as pa
import pytest

from casparian_engine.bridge.frames import (
    DataFrame,
    EndOfStream,
    ErrorFrame,
    FrameError,
    LogFrame,
    decode_frame,
)
from casparian_engine.bridge.guest import shim

CAP = 1024 * 1024


def _data_parts(output: str = "rows") -> list[bytes]:
    batch = pa.record_batch({"n": [1, 2]})
    payload = shim.Streamer._serialise(batch, output).to_pybytes()
    return [struct.pack(">I", len(payload)), payload]


def test_round_trip_of_every_frame_kind() -> None:
    data = decode_frame(_data_parts("orders"), CAP)
    assert isinstance(data, DataFrame) and data.output == "orders"
    assert data.batch.column(0).to_pylist() == [1, 2]
    assert data.batch.schema.metadata is None
    log = decode_frame([shim.encode_log(30, "careful ✓")], CAP)
    assert log == LogFrame(level=30, message="careful ✓")
    document = {"kind": "ValueError", "retryable": False, "message": "m", "traceback": "t"}
    error = decode_frame([shim.encode_json(shim.ERROR_SIGNAL, document)], CAP)
    assert isinstance(error, ErrorFrame) and error.kind == "ValueError" and not error.retryable
    assert isinstance(decode_frame([struct.pack(">I", 0)], CAP), EndOfStream)


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ([struct.pack(">I", CAP + 1), b"x"], "exceeds max_frame_bytes=1048576"),
        ([struct.pack(">I", 10), b"short"], "declares 10 bytes but carries 5"),
        ([struct.pack(">I", 5), b"12345"], "not a valid Arrow IPC stream"),
        ([struct.pack(">I", 0xFFFFFFF0) + b"zz"], "unknown control signal"),
        ([b"\x00\x01"], "frame header is 2 bytes"),
        (
            [struct.pack(">I", shim.LOG_SIGNAL) + b"\x14" + struct.pack(">I", 99) + b"hi"],
            "declares 99",
        ),
        ([struct.pack(">I", shim.ERROR_SIGNAL) + struct.pack(">I", 3) + b"{x}"], "not valid JSON"),
        ([b"a", b"b", b"c"], "1 or 2 parts"),
    ],
)
def test_malformed_frames_are_refused(parts: list[bytes], message: str) -> None:
    with pytest.raises(FrameError, match=message):
        decode_frame(parts, CAP)


def test_frame_without_output_name_is_refused() -> None:
    sink = pa.BufferOutputStream()
    batch = pa.record_batch({"n": [1]})
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    payload = sink.getvalue().to_pybytes()
    with pytest.raises(FrameError, match="no output name"):
        decode_frame([struct.pack(">I", len(payload)), payload], CAP)
