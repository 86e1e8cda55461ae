"""The one executor: turn a warm guest's batches for each file into output and quarantine rows.

``Executor`` is shared by the dev loop (``casparian run``) and the queued worker: it is given a
started guest, a sink, a validator and a quarantine writer, and per file a ``FileTask`` (path, job
id, optional known hash). For every batch of an output it (1) quarantines rows the parser flagged
with ``_cf_row_error``, (2) validates the rest, (3) adds lineage to valid rows, (4) writes valid
rows to the sink and quarantined rows to the quarantine writer, and (5) checks that every emitted
row landed in exactly one place. Files are submitted a few ahead so the guest never waits.

Each result carries the wall-clock span of the guest's work on its file, as far as the host can
tell: a guest parses one file at a time, so a file began when it was submitted or when the file
before it ended, whichever is later, and ended when its end-of-stream frame arrived. Files one
pack finished together split the pack's span evenly (the host sees only the pack's end). A file
that fails gets the same start, and the failure's time as its end, on its ``ExecutionError``.

Guests started with ``pack_rows`` send many small files' rows as one frame (the row count of each
file in its metadata); such a frame is routed as one group — row numbers and lineage for all its
files are built with a few vector operations — validated once and written with one
``sink.write``; each row's position in the pack leads its valid or quarantined copy back to its
file, so quarantined rows keep their own file's lineage and every file's rows are counted.
``more_guests`` run beside the first one; their rows go to the same sink.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import zmq

from ..bridge.frames import DataFrame, EndOfStream
from ..bridge.host import POLL_INTERVAL_MS, GuestError, GuestProcess
from ..digests import file_sha256
from ..errors import CasparianError
from ..events import EventSink, Throttle, check_cancel, ignore_events
from ..quarantine_rows import ROW_COLUMN, ROW_ERROR_COLUMN
from ..sinks import Sink, SinkError, check_same_schema
from .events import BatchWritten, FileParsed, RowsQuarantined
from .packs import (
    back_to_files,
    counting_from_one,
    counting_from_zero,
    file_index,
    packed_lineage,
    repeated_text,
    rows_per_file,
)
from .quarantine import (
    QuarantineWriter,
    RowLineage,
    SinkQuarantineWriter,
    Split,
    Validator,
    accept_all,
    row_unit,
    split_parser_flagged,
)

RESERVED_PREFIX = "_cf_"
ALLOWED_RESERVED = frozenset({ROW_COLUMN, ROW_ERROR_COLUMN})
LINEAGE_COLUMNS = ("_cf_row", "_cf_source_hash", "_cf_job_id", "_cf_parser_version")
DEFAULT_PIPELINE_DEPTH = 8
DEFAULT_CHUNK_FILES = 64


class ExecutionError(CasparianError):
    """A file could not be processed; ``kind`` names why, ``retryable`` marks it transient."""

    def __init__(self, kind: str, message: str, *, path: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.path = path
        self.retryable = retryable
        self.traceback = ""
        # the guest's work on the failed file, when it failed in ``Executor.run`` (0: unknown)
        self.started_at = 0.0
        self.finished_at = 0.0


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
    # wall-clock span (``time.time()``) of the guest's work on this file (see the module doc)
    started_at: float = 0.0
    finished_at: float = 0.0

    @property
    def quarantined_rows(self) -> int:
        return sum(counts.quarantined for counts in self.outputs.values())


@dataclass
class _InFlight:
    """A submitted file: its task, its hash (computed with its chunk) and its counts so far."""

    task: FileTask
    hashes: Future[list[str]]
    index: int
    submitted: float  # perf_counter
    submitted_at: float  # wall clock
    counts: dict[str, OutputCounts] = field(default_factory=dict)

    @property
    def source_hash(self) -> str:
        return self.hashes.result()[self.index]


@dataclass
class _Lane:
    """One guest and the files submitted to it, oldest first."""

    guest: GuestProcess
    files: deque[_InFlight] = field(default_factory=deque)
    free_at: float = 0.0  # wall time the guest's previous file ended (0: none yet)

    def finish(self, done: list[_InFlight]) -> list[tuple[float, float]]:
        """The guest-time span of each file of ``done``, which ended together just now."""
        now = time.time()
        spans = []
        begin = self.free_at
        for left, entry in zip(range(len(done), 0, -1), done, strict=True):
            start = max(begin, entry.submitted_at)
            begin = start + (now - start) / left  # the rest of the span, shared evenly
            spans.append((start, begin))
        self.free_at = now
        return spans


def _time_failure(lanes: list[_Lane], error: ExecutionError) -> None:
    """Give ``error`` the span of its file as ``_Lane.finish`` would have: from when the file
    was submitted or its guest's previous file ended, to now (the file it names, else the
    oldest unfinished one)."""
    busy = [lane for lane in lanes if lane.files]
    if not busy:
        return
    named = [(lane, e) for lane in busy for e in lane.files if e.task.path == error.path]
    lane, entry = named[0] if named else (busy[0], busy[0].files[0])
    error.started_at = max(lane.free_at, entry.submitted_at)
    error.finished_at = max(time.time(), error.started_at)


def _absolute(path: str) -> str:
    """The path as the guest must see it (queued jobs' paths are absolute already)."""
    return path if os.path.isabs(path) else os.path.abspath(path)


def _hash_chunk(tasks: list[FileTask]) -> list[str]:
    return [task.source_hash or file_sha256(task.path) for task in tasks]


class Executor:
    """Feeds files to warm guests and routes every row they emit."""

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
        more_guests: Sequence[GuestProcess] = (),
        chunk_files: int = DEFAULT_CHUNK_FILES,
    ) -> None:
        self.guest = guest
        self.more_guests = list(more_guests)
        self.sink = sink
        self.parser_name = parser_name
        self.parser_version = parser_version
        self.validator = validator
        self.quarantine = quarantine if quarantine is not None else SinkQuarantineWriter(sink)
        self.on_event = on_event
        self.cancel = cancel
        self.pipeline_depth = max(1, pipeline_depth)
        self.chunk_files = max(1, chunk_files)
        self.schemas: dict[str, pa.Schema] = {}
        self.written_totals: dict[str, int] = {}
        self._throttle = Throttle()
        self._remaining: Iterator[FileTask] = iter(())
        self._hasher: ThreadPoolExecutor | None = None

    def run(self, tasks: Iterable[FileTask]) -> Iterator[FileResult]:
        """Process files, keeping each guest a few files ahead; results come as files finish."""
        lanes = [_Lane(guest) for guest in (self.guest, *self.more_guests)]
        self._remaining = iter(tasks)
        self._hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="source-hash")
        poller = zmq.Poller()
        for lane in lanes:
            if lane.guest.socket is not None:
                poller.register(lane.guest.socket, zmq.POLLIN)
        try:
            for lane in lanes:
                self._top_up(lane)
            while True:
                busy = [lane for lane in lanes if lane.files]
                if not busy:
                    return
                check_cancel(self.cancel)
                poller.poll(POLL_INTERVAL_MS)
                for lane in busy:
                    while (frame := self._poll(lane)) is not None:
                        if isinstance(frame, EndOfStream):
                            done = [lane.files.popleft() for _ in range(frame.files)]
                            spans = lane.finish(done)
                            self._top_up(lane)
                            for entry, span in zip(done, spans, strict=True):
                                yield self._result(entry, span)
                        else:
                            check_cancel(self.cancel)
                            self._route_frame(lane, frame)
        except ExecutionError as exc:
            _time_failure(lanes, exc)
            raise
        finally:
            self._hasher.shutdown(wait=False, cancel_futures=True)

    def _top_up(self, lane: _Lane) -> None:
        """Submit the next files to a guest until it has its share in flight."""
        packing = lane.guest.pack_rows > 0
        depth = max(self.pipeline_depth, 4 * self.chunk_files) if packing else self.pipeline_depth
        while len(lane.files) < depth:
            room = min(depth - len(lane.files), self.chunk_files)
            chunk = list(itertools.islice(self._remaining, room))
            if not chunk:
                return
            hashes = self._hashes(chunk)
            now, wall = time.perf_counter(), time.time()
            lane.files.extend(
                [_InFlight(task, hashes, i, now, wall) for i, task in enumerate(chunk)]
            )
            if len(chunk) == 1:
                lane.guest.submit(chunk[0].path)
            else:
                lane.guest.submit_many([_absolute(task.path) for task in chunk])

    def _hashes(self, chunk: list[FileTask]) -> Future[list[str]]:
        """The chunk's source hashes: known ones at once, else hashed on the hashing thread."""
        if all(task.source_hash for task in chunk):
            known: Future[list[str]] = Future()
            known.set_result([task.source_hash or "" for task in chunk])
            return known
        assert self._hasher is not None
        return self._hasher.submit(_hash_chunk, chunk)

    def _poll(self, lane: _Lane) -> DataFrame | EndOfStream | None:
        try:
            return lane.guest.poll_frame()
        except GuestError as exc:
            path = exc.path or lane.files[0].task.path
            error = ExecutionError(exc.kind, exc.message, path=path, retryable=exc.retryable)
            error.traceback = exc.traceback
            raise error from exc

    def _result(self, entry: _InFlight, span: tuple[float, float]) -> FileResult:
        seconds = time.perf_counter() - entry.submitted
        task = entry.task
        result = FileResult(task.path, entry.source_hash, task.job_id, entry.counts, seconds, *span)
        self.on_event(
            FileParsed(
                path=task.path,
                rows_by_output={name: c.written for name, c in entry.counts.items()},
                quarantined_rows=result.quarantined_rows,
                seconds=seconds,
            )
        )
        return result

    def _route_frame(self, lane: _Lane, frame: DataFrame) -> None:
        """Route one frame: one file's batch, or a pack of whole files."""
        file_rows = frame.file_rows
        if file_rows is not None and len(file_rows) > len(lane.files):
            raise ExecutionError(
                "ProtocolError",
                f"a packed frame covers {len(file_rows)} files but {len(lane.files)} are pending",
                path=lane.files[0].task.path,
            )
        entries = (
            [lane.files[0]]
            if file_rows is None
            else list(itertools.islice(lane.files, len(file_rows)))
        )
        path = entries[0].task.path
        table = pa.Table.from_batches([frame.batch])
        try:
            if file_rows is None:
                self._route_file(entries[0], frame.output, table)
            else:
                self._route_pack(table, entries, file_rows, frame.output)
        except SinkError as exc:
            raise ExecutionError("SinkError", f"{path}: {exc}", path=path) from exc
        except OSError as exc:
            raise ExecutionError("InputError", f"{path}: {exc}", path=path) from exc

    def _lineage(self, entry: _InFlight, output: str, source_row_unit: str) -> RowLineage:
        """Where one file's rows of ``output`` come from: its path, hash, job and parser."""
        return RowLineage(
            source_path=entry.task.path,
            source_hash=entry.source_hash,
            job_id=entry.task.job_id,
            parser_name=self.parser_name,
            parser_version=self.parser_version,
            output=output,
            source_row_unit=source_row_unit,
        )

    def _route_file(self, entry: _InFlight, output: str, table: pa.Table) -> None:
        lineage = self._lineage(entry, output, row_unit(table))
        counts = entry.counts.setdefault(output, OutputCounts())
        counts.add(self._route(table, lineage, counts))

    def _route_pack(
        self, table: pa.Table, entries: list[_InFlight], file_rows: Sequence[int], output: str
    ) -> None:
        """Steps 1-5 for a pack of whole files at once, rows split back to their files by index.

        ``_cf_row`` carries each row's position in the pack through flagging and validation, so
        the valid and quarantined rows find their file and line number again with one ``take``.
        """
        path = entries[0].task.path
        self._check_columns(table, output, path)
        unit = row_unit(table)
        row_files = file_index(file_rows)
        table = self._with_packed_row_numbers(table, file_rows, row_files, output, path)
        line_numbers = table.column(ROW_COLUMN)
        positions = counting_from_zero(table.num_rows)
        table = table.set_column(table.column_names.index(ROW_COLUMN), ROW_COLUMN, positions)
        accepted, quarantined = self._accept(output, table, path)
        valid, valid_files = _back_to_files(accepted, line_numbers, row_files, output, path)
        hashes = [entry.source_hash for entry in entries]
        job_ids = [entry.task.job_id for entry in entries]
        valid = packed_lineage(valid, hashes, job_ids, valid_files, self.parser_version)
        if valid.num_rows or output not in self.written_totals:
            self.sink.write(output, valid)
        written = rows_per_file(valid_files, len(entries))
        held = self._quarantine_pack(quarantined, line_numbers, row_files, entries, output, unit)
        for entry, emitted, written_rows, held_rows in zip(
            entries, file_rows, written, held, strict=True
        ):
            if written_rows + held_rows != emitted:
                raise ConservationError(
                    "ConservationError",
                    f"{entry.task.path}: output {output!r}: the parser emitted {emitted} rows but "
                    f"{written_rows} were written and {held_rows} quarantined",
                    path=entry.task.path,
                )
            counts = OutputCounts(emitted, written_rows, held_rows)
            entry.counts.setdefault(output, OutputCounts()).add(counts)
        self._count_written(output, valid.num_rows)

    def _quarantine_pack(
        self,
        quarantined: pa.Table,
        line_numbers: pa.ChunkedArray,
        row_files: pa.Array,
        entries: list[_InFlight],
        output: str,
        unit: str,
    ) -> list[int]:
        """Hand each file's quarantined rows of a pack to the writer; rows held per file."""
        held = [0] * len(entries)
        if quarantined.num_rows == 0:
            return held
        path = entries[0].task.path
        quarantined, files = _back_to_files(quarantined, line_numbers, row_files, output, path)
        order = pc.sort_indices(files)  # stable: each file keeps its rows' order
        quarantined = quarantined.take(order)
        sorted_files = pc.take(files, order)
        if isinstance(sorted_files, pa.ChunkedArray):
            sorted_files = sorted_files.combine_chunks()
        runs = pc.run_end_encode(sorted_files)
        start = 0
        for file_at, end in zip(runs.values.to_pylist(), runs.run_ends.to_pylist(), strict=True):
            entry = entries[file_at]
            rows = quarantined.slice(start, end - start)
            self.quarantine.write(rows, self._lineage(entry, output, unit))
            self.on_event(
                RowsQuarantined(output=output, rows=rows.num_rows, source_path=entry.task.path)
            )
            held[file_at] = rows.num_rows
            start = end
        return held

    def _accept(self, output: str, table: pa.Table, path: str) -> tuple[pa.Table, pa.Table]:
        """The rows the contract accepts, and the quarantined ones: rows the parser flagged
        itself, then the rows the contract refused."""
        unflagged, flagged = split_parser_flagged(table)
        split = self._validate(output, unflagged, path)
        if split.quarantined.num_rows == 0:
            return split.valid, flagged
        if flagged.num_rows == 0:
            return split.valid, split.quarantined
        return split.valid, pa.concat_tables([flagged, split.quarantined.cast(flagged.schema)])

    def _route(self, table: pa.Table, lineage: RowLineage, so_far: OutputCounts) -> OutputCounts:
        """Steps 1-5 for one batch; returns this batch's counts."""
        output, path = lineage.output, lineage.source_path
        self._check_columns(table, output, path)
        emitted = table.num_rows
        table = self._with_row_numbers(table, so_far.emitted, output, path)
        accepted, quarantined = self._accept(output, table, path)
        valid = self._with_lineage(accepted, lineage)
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
        self._count_written(output, valid.num_rows)
        return OutputCounts(
            emitted=emitted, written=valid.num_rows, quarantined=quarantined.num_rows
        )

    def _validate(self, output: str, table: pa.Table, path: str) -> Split:
        try:
            return self.validator(output, table)
        except Exception as exc:
            if isinstance(exc, ExecutionError):
                raise
            raise ExecutionError(
                type(exc).__name__, f"{path}: output {output!r}: {exc}", path=path
            ) from exc

    def _count_written(self, output: str, rows: int) -> None:
        total = self.written_totals.get(output, 0) + rows
        self.written_totals[output] = total
        if self._throttle.ready():
            self.on_event(BatchWritten(output=output, rows=rows, total_rows=total))

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
        numbers = counting_from_one(table.num_rows)
        if rows_before:
            numbers = pc.add(numbers, pa.scalar(rows_before, pa.int64()))
        return table.append_column(ROW_COLUMN, numbers)

    @staticmethod
    def _with_packed_row_numbers(
        table: pa.Table, file_rows: Sequence[int], row_files: pa.Array, output: str, path: str
    ) -> pa.Table:
        """``_cf_row`` for a pack: the parser's own, or each row's position in its own file + 1."""
        if ROW_COLUMN in table.column_names:
            return Executor._with_row_numbers(table, 0, output, path)
        starts = pa.array(list(itertools.accumulate(file_rows, initial=0))[:-1], pa.int64())
        numbers = pc.subtract(counting_from_one(table.num_rows), pc.take(starts, row_files))
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
        table = table.append_column("_cf_source_hash", repeated_text(lineage.source_hash, rows))
        table = table.append_column(
            pa.field("_cf_job_id", pa.int64()),
            pa.repeat(pa.scalar(lineage.job_id, pa.int64()), rows),
        )
        return table.append_column(
            "_cf_parser_version", repeated_text(lineage.parser_version, rows)
        )


def _back_to_files(
    rows: pa.Table, line_numbers: pa.ChunkedArray, row_files: pa.Array, output: str, path: str
) -> tuple[pa.Table, pa.Array]:
    """``packs.back_to_files``; a validator that dropped ``_cf_row`` is a conservation error."""
    restored = back_to_files(rows, line_numbers, row_files)
    if restored is None:
        raise ConservationError(
            "ConservationError",
            f"{path}: output {output!r}: the validator dropped the _cf_row column",
            path=path,
        )
    return restored
