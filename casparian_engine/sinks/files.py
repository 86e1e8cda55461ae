"""Parquet and Arrow IPC directories: ``ROOT/<output>/part-NNNNN.<ext>``, staged then renamed.

Rows are staged under ``ROOT/.staging/<pid>-<token>/<output>/`` (hidden from readers, who read
``ROOT/<output>/*.parquet``) and moved into place by one directory rename per output at commit.
Small tables are coalesced into row groups of ``ROW_GROUP_ROWS`` rows and files of up to
``FILE_ROWS`` rows, so many small inputs never become many tiny files. Encoding runs on a writer
thread so the caller can receive the next batch meanwhile.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import threading
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc
import pyarrow.parquet as pq

from . import OutputExistsError, SinkError, check_output_name, check_same_schema

ROW_GROUP_ROWS = 1_000_000
ROW_GROUP_BYTES = 128 * 1024 * 1024
FILE_ROWS = 20_000_000
QUEUE_DEPTH = 8
EXTENSIONS = {"parquet": "parquet", "ipc": "arrow"}


class _OutputFiles:
    """The staged part files of one output and the rows waiting to become a row group."""

    def __init__(self, directory: Path, file_format: str, schema: pa.Schema) -> None:
        self.directory = directory
        self.file_format = file_format
        self.schema = schema
        self.pending: list[pa.Table] = []
        self.pending_rows = 0
        self.pending_bytes = 0
        self.writer: Any = None
        self.file_rows = 0
        self.part_count = 0
        self.no_statistics: set[str] = set()  # columns the open part writes no min/max for

    def add(self, table: pa.Table) -> None:
        self.pending.append(table)
        self.pending_rows += table.num_rows
        self.pending_bytes += table.nbytes
        if self.pending_rows >= ROW_GROUP_ROWS or self.pending_bytes >= ROW_GROUP_BYTES:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        combined = pa.concat_tables(self.pending)
        self.pending, self.pending_rows, self.pending_bytes = [], 0, 0
        if self.file_format == "parquet":
            huge = huge_value_columns(combined) - self.no_statistics
            if huge:  # min/max of a huge value would be copied twice: a new part without them
                self._close_part()
                self.no_statistics |= huge
        if self.writer is None:
            self._open_part()
        if self.file_format == "parquet":
            self.writer.write_table(combined, row_group_size=max(combined.num_rows, 1))
        else:
            self.writer.write_table(combined)
        self.file_rows += combined.num_rows
        del combined
        self.pending_released()
        if self.file_rows >= FILE_ROWS:
            self._close_part()

    @staticmethod
    def pending_released() -> None:
        """Hand freed row-group memory back to the OS: mimalloc otherwise keeps it, and the
        host's peak RSS would grow with the file instead of staying at a few row groups."""
        pa.default_memory_pool().release_unused()

    def _open_part(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"part-{self.part_count:05d}.{EXTENSIONS[self.file_format]}"
        path = self.directory / name
        self.part_count += 1
        if self.file_format == "parquet":
            statistics = [f.name for f in self.schema if f.name not in self.no_statistics]
            self.writer = pq.ParquetWriter(
                path,
                self.schema,
                use_dictionary=[
                    name
                    for name in dictionary_columns(self.schema)
                    if name not in self.no_statistics
                ],
                write_statistics=statistics if self.no_statistics else True,
            )
        else:
            self.writer = pa.ipc.new_file(pa.OSFile(str(path), "wb"), self.schema)

    def _close_part(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
            self.file_rows = 0

    def finish(self) -> None:
        self.flush()
        if self.part_count == 0:
            self._open_part()  # an output with a schema but no rows still gets a (row-less) file
        self._close_part()


HUGE_VALUE_BYTES = 1024 * 1024


def huge_value_columns(table: pa.Table) -> set[str]:
    """Text and binary columns holding a value over ``HUGE_VALUE_BYTES``.

    Parquet's writer keeps copies of each column chunk's min and max value: for one 300 MB
    value that was 1.8 GB of the host's memory. Such columns are written without statistics
    (a reader scans them; nothing is lost but row-group pruning on that column), and without
    a dictionary (one more copy, for values that do not repeat).
    """
    found: set[str] = set()
    for field, column in zip(table.schema, table.columns, strict=True):
        kind = field.type
        if (
            pa.types.is_string(kind)
            or pa.types.is_large_string(kind)
            or pa.types.is_binary(kind)
            or pa.types.is_large_binary(kind)
        ) and column.null_count < len(column):
            longest = pc.max(pc.binary_length(column)).as_py()
            if longest is not None and longest > HUGE_VALUE_BYTES:
                found.add(field.name)
    return found


def dictionary_columns(schema: pa.Schema) -> list[str]:
    """Columns worth dictionary-encoding: text and binary (often repeated) and the lineage ids.

    Numbers and timestamps are mostly distinct, so trying a dictionary on them only costs time
    (it roughly halves the Parquet write rate of a typical table).
    """
    return [
        field.name
        for field in schema
        if pa.types.is_string(field.type)
        or pa.types.is_large_string(field.type)
        or pa.types.is_binary(field.type)
        or pa.types.is_dictionary(field.type)
        or field.name == "_cf_job_id"
    ]


class ArrowFileSink:
    """A directory of Parquet (``parquet://DIR``) or Arrow IPC (``ipc://DIR``) outputs."""

    def __init__(
        self, root: Path, file_format: str, *, overwrite: bool = False, append: bool = False
    ) -> None:
        self.root = root.expanduser().resolve()
        self.file_format = file_format
        self.uri = f"{'parquet' if file_format == 'parquet' else 'ipc'}://{self.root}"
        self.overwrite = overwrite
        self.append = append
        self._staging = self.root / ".staging" / f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self._schemas: dict[str, pa.Schema] = {}
        self._outputs: dict[str, _OutputFiles] = {}
        self._queue: queue.Queue[tuple[str, pa.Table] | None] = queue.Queue(QUEUE_DEPTH)
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    def target(self, output: str) -> str:
        return str(self.root / check_output_name(output))

    def exists(self, output: str) -> bool:
        return (self.root / check_output_name(output)).exists()

    def write(self, output: str, table: pa.Table) -> None:
        self._raise_writer_error()
        expected = self._schemas.get(output)
        if expected is None:
            check_output_name(output)
            if self.exists(output) and not (self.overwrite or self.append):
                raise OutputExistsError(
                    f"output {output!r} already exists at {self.target(output)}; "
                    "use --force to replace it"
                )
            self._schemas[output] = table.schema
        else:
            check_same_schema(output, expected, table.schema)
        if self._thread is None:
            _remove_abandoned_staging(self.root / ".staging")
            self._thread = threading.Thread(
                target=self._write_loop, name="sink-writer", daemon=True
            )
            self._thread.start()
        self._queue.put((output, table))

    def _write_loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self._error is not None:
                continue
            output, table = item
            try:
                files = self._outputs.get(output)
                if files is None:
                    files = _OutputFiles(self._staging / output, self.file_format, table.schema)
                    self._outputs[output] = files
                files.add(table)
            except BaseException as exc:  # noqa: BLE001 - surfaced on the caller's thread
                self._error = exc

    def _raise_writer_error(self) -> None:
        if self._error is not None:
            raise SinkError(f"{self.uri}: writing failed: {self._error}") from self._error

    def _drain(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def commit(self) -> dict[str, str]:
        self._drain()
        self._raise_writer_error()
        committed: dict[str, str] = {}
        try:
            for output, files in self._outputs.items():
                files.finish()
                committed[output] = self._publish(output, files.directory)
        finally:
            self._closed = True
            shutil.rmtree(self._staging, ignore_errors=True)
            with contextlib.suppress(OSError):
                self._staging.parent.rmdir()
        return committed

    def _publish(self, output: str, staged: Path) -> str:
        target = self.root / output
        if self.append and target.exists():
            token = self._staging.name
            for part in sorted(staged.iterdir()):
                os.replace(part, target / f"{token}-{part.name}")
            return str(target)
        if target.exists():
            if not self.overwrite:
                raise OutputExistsError(
                    f"output {output!r} already exists at {target}; use --force to replace it"
                )
            retired = self._staging / f"{output}.replaced"
            os.replace(target, retired)
        os.replace(staged, target)
        return str(target)

    def abort(self) -> None:
        self._drain()
        for files in self._outputs.values():
            with contextlib.suppress(Exception):
                files._close_part()
        self._closed = True
        shutil.rmtree(self._staging, ignore_errors=True)


def _remove_abandoned_staging(staging_root: Path) -> None:
    """Delete staging directories left by runs whose process no longer exists (a crash)."""
    if not staging_root.is_dir():
        return
    for entry in staging_root.iterdir():
        owner, _, _token = entry.name.partition("-")
        if owner.isdigit() and int(owner) != os.getpid() and not _pid_alive(int(owner)):
            shutil.rmtree(entry, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
