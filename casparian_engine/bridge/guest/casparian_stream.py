"""The guest's sender: turns parser items into data frames, packing many small files per frame.

Imports only the standard library and pyarrow. Unpacked, every item of a file goes out as data
frames of at most ``max_frame_bytes`` and the file ends with ``[0x00000000]``. Packed
(``pack_rows > 0``), a file whose rows fit in the pack is held until it parsed completely; the held
files' tables are concatenated per output into one frame whose schema metadata lists the rows of
each file (``casparian.file_rows``), followed by ``[0x00000000][COUNT:4]``: COUNT files are done. A
pack is sent when it is full, when no further file is waiting (so the host never waits for
files it has not asked for) or when its first file has been held ``PACK_MAX_AGE_S`` (so a run of
slow files shows them finishing a few times a second, not once per 65,536 rows). A file too big
for a pack (or changing schema inside itself) flushes the pack and is streamed unpacked, so
memory stays bounded by the pack size.
"""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Callable, Iterator
from typing import Any

END_OF_STREAM = 0x00000000
OUTPUT_METADATA_KEY = b"casparian.output"
FILE_ROWS_METADATA_KEY = b"casparian.file_rows"
PACK_MAX_BYTES = 64 * 1024 * 1024
PACK_MAX_AGE_S = 0.25
"""A pack is sent once its first file has waited this long, full or not."""
_U32 = struct.Struct(">I")

Item = tuple[str, Any]  # (output name, pyarrow Table)


def end_of_files(count: int) -> bytes:
    """The control frame saying the ``count`` oldest pending files are complete."""
    return _U32.pack(END_OF_STREAM) if count == 1 else _U32.pack(END_OF_STREAM) + _U32.pack(count)


def serialise(batch: Any, output: str, file_rows: list[int] | None = None) -> Any:
    """One Arrow IPC stream with one record batch; the output name rides in schema metadata."""
    metadata = {OUTPUT_METADATA_KEY: output.encode("utf-8")}
    if file_rows is not None:
        metadata[FILE_ROWS_METADATA_KEY] = json.dumps(file_rows).encode("ascii")
    schema = batch.schema.with_metadata(metadata)
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as writer:
        writer.write_batch(batch.replace_schema_metadata(metadata))
    return sink.getvalue()


def table_bytes(table: Any, exact_above: int) -> int:
    """A pyarrow table's or batch's size: the total of its buffers (cheap; a slice counts its
    parent's whole buffers), or the exact bytes it references once that total passes
    ``exact_above`` (``nbytes`` costs tens of microseconds even for a tiny table)."""
    total = int(table.get_total_buffer_size())
    return total if total <= exact_above else int(table.nbytes)


def one_batch(table: Any) -> Any:
    """A table's rows as a single record batch (one copy only when it has several chunks)."""
    import pyarrow as pa

    if table.num_rows == 0:
        empty = [pa.array([], type=field.type) for field in table.schema]
        return pa.record_batch(empty, schema=table.schema)
    batches = table.to_batches()
    if len(batches) == 1:
        return batches[0]
    return table.combine_chunks().to_batches()[0]


class Streamer:
    """Sends one file's items (unpacked) or holds small files for a pack (packed)."""

    _serialise = staticmethod(serialise)

    def __init__(
        self,
        send: Callable[[list[Any]], None],
        items: Callable[[str], Iterator[Item]],
        frame_too_large: Callable[[str], Exception],
        max_frame_bytes: int,
        pack_rows: int = 0,
    ) -> None:
        self.send = send
        self.items = items
        self.frame_too_large = frame_too_large
        self.max_frame_bytes = max_frame_bytes
        self.pack_rows = max(0, pack_rows)
        self.pack_bytes = min(PACK_MAX_BYTES, max_frame_bytes // 2)
        self._files = 0
        self._rows = 0
        self._bytes = 0
        self._held_since = 0.0  # when the pack's first file was added
        # output -> (schema, [(file index in the pack, table)])
        self._packs: dict[str, tuple[Any, list[tuple[int, Any]]]] = {}

    def parse_file(self, path: str, more_waiting: bool = False) -> None:
        """Parse one file, then send or hold its rows; ``more_waiting``: another file is queued."""
        items = self.items(path)
        if not self.pack_rows:
            self._stream(path, items, [])
            return
        held: list[Item] = []
        schemas: dict[str, Any] = {}
        rows = size = 0
        for output, table in items:
            held.append((output, table))
            rows += table.num_rows
            size += table_bytes(table, self.pack_bytes)
            known = schemas.setdefault(output, table.schema)
            if rows > self.pack_rows or size > self.pack_bytes or not known.equals(table.schema):
                self.flush()
                self._stream(path, items, held)
                return
        if any(
            output in self._packs and not self._packs[output][0].equals(schema)
            for output, schema in schemas.items()
        ):
            self.flush()
        index = self._files
        self._files += 1
        now = time.monotonic()
        if index == 0:
            self._held_since = now
        for output, table in held:
            self._packs.setdefault(output, (table.schema, []))[1].append((index, table))
        self._rows += rows
        self._bytes += size
        if (
            self._rows >= self.pack_rows
            or self._bytes >= self.pack_bytes
            or not more_waiting
            or now - self._held_since >= PACK_MAX_AGE_S
        ):
            self.flush()

    def flush(self) -> None:
        """Send every held file: one frame per output, then the count of files completed."""
        if not self._files:
            return
        import pyarrow as pa

        files, packs = self._files, self._packs
        self._files, self._rows, self._bytes, self._packs = 0, 0, 0, {}
        for output, (_schema, entries) in packs.items():
            file_rows = [0] * files
            for index, table in entries:
                file_rows[index] += table.num_rows
            combined = pa.concat_tables([table for _index, table in entries])
            payload = serialise(one_batch(combined), output, file_rows)
            self.send([_U32.pack(payload.size), payload])
        self.send([end_of_files(files)])

    def _stream(self, path: str, items: Iterator[Item], held: list[Item]) -> None:
        for output, table in _chain(held, items):
            if table.num_rows == 0:
                self._send_batch(one_batch(table), output, path)
                continue
            if table.num_columns and table.column(0).num_chunks > 8:
                table = table.combine_chunks()
            for batch in table.to_batches():
                self._send_batch(batch, output, path)
        self.send([end_of_files(1)])

    def _send_batch(self, batch: Any, output: str, where: str) -> None:
        if batch.nbytes > self.max_frame_bytes and batch.num_rows > 1:
            half = batch.num_rows // 2
            self._send_batch(batch.slice(0, half), output, where)
            self._send_batch(batch.slice(half), output, where)
            return
        payload = serialise(batch, output)
        if payload.size > self.max_frame_bytes:
            if batch.num_rows > 1:
                half = batch.num_rows // 2
                self._send_batch(batch.slice(0, half), output, where)
                self._send_batch(batch.slice(half), output, where)
                return
            raise self.frame_too_large(
                f"{where}: output {output!r}: a single row needs {payload.size} bytes, more than "
                f"the frame cap max_frame_bytes={self.max_frame_bytes}; split large values or "
                "raise the cap"
            )
        self.send([_U32.pack(payload.size), payload])


def _chain(held: list[Item], rest: Iterator[Item]) -> Iterator[Item]:
    yield from held
    yield from rest
