"""The one executor: turn a warm guest's batches for each file into output and quarantine rows.

``Executor`` is shared by the dev loop (``casparian run``) and the queued worker: it is given a
started guest, a sink, a validator and a quarantine writer, and per file a ``FileTask`` (path, job
id, optional known hash). For every batch of an output it (1) quarantines rows the parser flagged
with ``_cf_row_error``, (2) validates the rest, (3) adds lineage to valid rows, (4) writes valid
rows to the sink and quarantined rows to the quarantine writer, and (5) checks that every emitted
row landed in exactly one place. Files are submitted a few ahead so the guest never waits.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from ..bridge.host import GuestError, GuestProcess
from ..events import EventSink, Throttle, check_cancel, ignore_events
from ..sinks import Sink, SinkError, check_same_schema
from .events import BatchWritten, FileParsed, RowsQuarantined
from .quarantine import (
    ROW_COLUMN,
    ROW_ERROR_COLUMN,
    QuarantineWriter,
    RowLineage,
    SinkQuarantineWriter,
    Validator,
    accept_all,
    split_parser_flagged,
)

RESERVED_PREFIX = "_cf_"
ALLOWED_RESERVED = frozenset({ROW_COLUMN, ROW_ERROR_COLUMN})
LINEAGE_COLUMNS = ("_cf_row", "_cf_source_hash", "_cf_job_id", "_cf_parser_version")
HASH_CHUNK_BYTES = 4 * 1024 * 1024
DEFAULT_PIPELINE_DEPTH = 8


class ExecutionError(Exception):
    """A file could not be processed; ``kind`` names why, ``retryable`` marks it transient."""

    def __init__(self, kind: str, message: str, *, path: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.path = path
        self.retryable = retryable
        self.traceback = ""


class ConservationError(ExecutionError):
    """Rows were lost or duplicated between the guest and the sink: a bug, reported loudly."""


@dataclass
class OutputCounts:
    """Rows of one output: emitted by the parser = written + quarantined."""

    emitted: int = 0
    written: int = 0
    quarantined: int = 0

    def add(self, other: OutputCounts) -> None:
        self.emitted += other.emitted
        self.written += other.written
        self.quarantined += other.quarantined


@dataclass(frozen=True)
class FileTask:
    """One input file to process, with the job it belongs to."""

    path: str
    job_id: int = 0
    source_hash: str | None = None


@dataclass(frozen=True)
class FileResult:
    """What happened to one file: counts per output and the schemas seen."""

    path: str
    source_hash: str
    job_id: int
    outputs: dict[str, OutputCounts] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def quarantined_rows(self) -> int:
        return sum(counts.quarantined for counts in self.outputs.values())


def sha256_of_file(path: str) -> str:
    """SHA-256 of a file's bytes, read in large chunks (the GIL is released while hashing)."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


class Executor:
    """Feeds files to one warm guest and routes every row it emits."""

    def __init__(
        self,
        guest: GuestProcess,
        sink: Sink,
        *,
        parser_name: str,
        parser_version: str,
        validator: Validator = accept_all,
        quarantine: QuarantineWriter | None = None,
        on_event: EventSink = ignore_events,
        cancel: threading.Event | None = None,
        pipeline_depth: int = DEFAULT_PIPELINE_DEPTH,
    ) -> None:
        self.guest = guest
        self.sink = sink
        self.parser_name = parser_name
        self.parser_version = parser_version
        self.validator = validator
        self.quarantine = quarantine if quarantine is not None else SinkQuarantineWriter(sink)
        self.on_event = on_event
        self.cancel = cancel
        self.pipeline_depth = max(1, pipeline_depth)
        self.schemas: dict[str, pa.Schema] = {}
        self.written_totals: dict[str, int] = {}
        self._throttle = Throttle()
        self._hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="source-hash")

    def run(self, tasks: Iterable[FileTask]) -> Iterator[FileResult]:
        """Process files in order, keeping up to ``pipeline_depth`` submitted to the guest."""
        remaining = iter(tasks)
        in_flight: deque[tuple[FileTask, Future[str]]] = deque()
        try:
            while True:
                while len(in_flight) < self.pipeline_depth:
                    task = next(remaining, None)
                    if task is None:
                        break
                    self.guest.submit(task.path)
                    in_flight.append((task, self._hash_future(task)))
                if not in_flight:
                    return
                task, source_hash = in_flight.popleft()
                yield self._execute(task, source_hash)
        finally:
            self._hasher.shutdown(wait=False, cancel_futures=True)

    def _hash_future(self, task: FileTask) -> Future[str]:
        if task.source_hash is not None:
            done: Future[str] = Future()
            done.set_result(task.source_hash)
            return done
        return self._hasher.submit(sha256_of_file, task.path)

    def _execute(self, task: FileTask, source_hash_future: Future[str]) -> FileResult:
        started = time.perf_counter()
        counts: dict[str, OutputCounts] = {}
        try:
            for frame in self.guest.frames():
                check_cancel(self.cancel)
                lineage = RowLineage(
                    source_path=task.path,
                    source_hash=source_hash_future.result(),
                    job_id=task.job_id,
                    parser_name=self.parser_name,
                    parser_version=self.parser_version,
                    output=frame.output,
                )
                output_counts = counts.setdefault(frame.output, OutputCounts())
                batch_counts = self._route(
                    pa.Table.from_batches([frame.batch]), lineage, output_counts
                )
                output_counts.add(batch_counts)
        except GuestError as exc:
            error = ExecutionError(exc.kind, exc.message, path=task.path, retryable=exc.retryable)
            error.traceback = exc.traceback
            raise error from exc
        except SinkError as exc:
            raise ExecutionError("SinkError", f"{task.path}: {exc}", path=task.path) from exc
        except OSError as exc:
            raise ExecutionError("InputError", f"{task.path}: {exc}", path=task.path) from exc
        seconds = time.perf_counter() - started
        result = FileResult(task.path, source_hash_future.result(), task.job_id, counts, seconds)
        self.on_event(
            FileParsed(
                path=task.path,
                rows_by_output={name: c.written for name, c in counts.items()},
                quarantined_rows=result.quarantined_rows,
                seconds=seconds,
            )
        )
        return result

    def _route(self, table: pa.Table, lineage: RowLineage, so_far: OutputCounts) -> OutputCounts:
        """Steps 1-5 for one batch; returns this batch's counts."""
        output, path = lineage.output, lineage.source_path
        self._check_columns(table, output, path)
        emitted = table.num_rows
        table = self._with_row_numbers(table, so_far.emitted, output, path)
        unflagged, flagged = split_parser_flagged(table)
        try:
            split = self.validator(output, unflagged)
        except Exception as exc:
            if isinstance(exc, ExecutionError):
                raise
            raise ExecutionError(
                type(exc).__name__, f"{path}: output {output!r}: {exc}", path=path
            ) from exc
        quarantined = flagged
        if split.quarantined.num_rows:
            quarantined = (
                split.quarantined
                if flagged.num_rows == 0
                else pa.concat_tables([flagged, split.quarantined.cast(flagged.schema)])
            )
        valid = self._with_lineage(split.valid, lineage)
        if valid.num_rows or output not in self.written_totals:
            self.sink.write(output, valid)
        if quarantined.num_rows:
            self.quarantine.write(quarantined, lineage)
            self.on_event(
                RowsQuarantined(output=output, rows=quarantined.num_rows, source_path=path)
            )
        if valid.num_rows + quarantined.num_rows != emitted:
            raise ConservationError(
                "ConservationError",
                f"{path}: output {output!r}: the parser emitted {emitted} rows but "
                f"{valid.num_rows} were written and {quarantined.num_rows} quarantined",
                path=path,
            )
        total = self.written_totals.get(output, 0) + valid.num_rows
        self.written_totals[output] = total
        if self._throttle.ready():
            self.on_event(BatchWritten(output=output, rows=valid.num_rows, total_rows=total))
        return OutputCounts(
            emitted=emitted, written=valid.num_rows, quarantined=quarantined.num_rows
        )

    def _check_columns(self, table: pa.Table, output: str, path: str) -> None:
        reserved = [
            name
            for name in table.column_names
            if name.startswith(RESERVED_PREFIX) and name not in ALLOWED_RESERVED
        ]
        if reserved:
            raise ExecutionError(
                "ReservedColumn",
                f"{path}: output {output!r} has column(s) {', '.join(reserved)}; names starting "
                "with _cf_ are reserved (a parser may only add _cf_row and _cf_row_error)",
                path=path,
            )
        expected = self.schemas.setdefault(output, table.schema)
        try:
            check_same_schema(output, expected, table.schema)
        except SinkError as exc:
            raise ExecutionError("SchemaChanged", f"{path}: {exc}", path=path) from exc

    @staticmethod
    def _with_row_numbers(table: pa.Table, rows_before: int, output: str, path: str) -> pa.Table:
        """Ensure an int64 ``_cf_row``: the parser's own, or the row's position in the file + 1."""
        if ROW_COLUMN in table.column_names:
            given = table.column(ROW_COLUMN)
            if not pa.types.is_integer(given.type):
                raise ExecutionError(
                    "RowColumnType",
                    f"{path}: output {output!r}: _cf_row must be integers, got {given.type}",
                    path=path,
                )
            index = table.column_names.index(ROW_COLUMN)
            return table.set_column(index, ROW_COLUMN, pc.cast(given, pa.int64()))
        ones = pa.repeat(pa.scalar(1, pa.int64()), table.num_rows)
        numbers = pc.add(pc.cumulative_sum(ones), pa.scalar(rows_before, pa.int64()))
        return table.append_column(ROW_COLUMN, numbers)

    @staticmethod
    def _with_lineage(valid: pa.Table, lineage: RowLineage) -> pa.Table:
        rows = valid.num_rows
        data_columns = [name for name in valid.column_names if name != ROW_COLUMN]
        row_numbers = (
            valid.column(ROW_COLUMN)
            if ROW_COLUMN in valid.column_names
            else pa.nulls(rows, pa.int64())
        )
        table = valid.select(data_columns)
        table = table.append_column(pa.field(ROW_COLUMN, pa.int64()), row_numbers)
        table = table.append_column("_cf_source_hash", pa.repeat(lineage.source_hash, rows))
        table = table.append_column(
            pa.field("_cf_job_id", pa.int64()),
            pa.repeat(pa.scalar(lineage.job_id, pa.int64()), rows),
        )
        return table.append_column("_cf_parser_version", pa.repeat(lineage.parser_version, rows))
