"""The guest: loads a user's parser, parses the files the host names, streams Arrow batches back.

Runs in the parser's own environment and imports only the standard library, pyarrow and pyzmq (and
pandas/polars when a parser returns them). Usage::

    python shim.py --endpoint tcp://127.0.0.1:PORT --parser /path/to/parser.py [--max-frame-bytes N]

Frames (guest -> host): data ``[LENGTH:4][ARROW IPC stream]`` sent as two ZeroMQ parts, the output
name in the schema metadata; single-part control frames ``[0xFFFFFFFE][LEVEL:1][LENGTH:4][UTF-8]``
(log), ``[0xFFFFFFFF][LENGTH:4][JSON]`` (error), ``[0xFFFFFFFD][LENGTH:4][JSON]`` (hello, parser
metadata), ``[0x00000000]`` (end of one file's output). Commands (host -> guest) are JSON:
``{"op": "parse", "path": ...}`` or ``{"op": "stop"}``. Exit codes: 0 success, 1 permanent
failure, 2 transient failure, decided by exception type only.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import io
import json
import logging
import os
import resource
import struct
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

try:  # imported as part of casparian_engine on the host; as a script beside it in the guest
    from .casparian_stream import END_OF_STREAM, OUTPUT_METADATA_KEY, Streamer, table_bytes
except ImportError:
    from casparian_stream import (  # type: ignore[no-redef]
        END_OF_STREAM,
        OUTPUT_METADATA_KEY,
        Streamer,
        table_bytes,
    )

__all__ = ["END_OF_STREAM", "OUTPUT_METADATA_KEY", "Streamer", "main", "serve"]
HELLO_SIGNAL = 0xFFFFFFFD
LOG_SIGNAL = 0xFFFFFFFE
ERROR_SIGNAL = 0xFFFFFFFF
EXIT_OK, EXIT_PERMANENT, EXIT_TRANSIENT = 0, 1, 2
OOM_SAFETY_FACTOR = 3
MEMORY_CHECK_MIN_BYTES = 1 << 20
LOG_CHUNK_CHARS = 16_384
LOG_BATCH_BYTES = 64 * 1024  # log lines travel together in frames of up to this size
LOG_FLUSH_S = 0.1  # a partly filled log batch waits at most this long
NOTICE_LEVEL = 255  # a log frame at this level carries a JSON notice for the host, not a line
MAX_NOTICES = 100
MEMORY_LIMIT_MB = 0  # the guest's memory limit (set by main); a MemoryError under it is final
HOST_CHECK_S = 1.0  # how often a guest checks that its host process still lives
_U32 = struct.Struct(">I")


class GuestFailure(Exception):
    """A failure the shim itself detects; ``kind`` names it, ``retryable`` says transient."""

    def __init__(self, kind: str, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.retryable = retryable


def is_transient(exc: BaseException) -> bool:
    """Transient by type: memory, timeouts, connections and the parser's ``TransientError``."""
    from casparian_parser import TransientError

    if isinstance(exc, GuestFailure):
        return exc.retryable
    return isinstance(exc, MemoryError | TimeoutError | ConnectionError | TransientError)


# --- frames -----------------------------------------------------------------------------------


def encode_log(level: int, message: str) -> bytes:
    """A log control frame."""
    payload = message.encode("utf-8", "replace")
    return (
        _U32.pack(LOG_SIGNAL) + bytes([max(0, min(level, 255))]) + _U32.pack(len(payload)) + payload
    )


def encode_json(signal: int, document: dict[str, Any]) -> bytes:
    """An error or hello control frame carrying JSON."""
    payload = json.dumps(document).encode("utf-8")
    return _U32.pack(signal) + _U32.pack(len(payload)) + payload


class Channel:
    """The guest's socket: serialised sends that give up when the host process has gone."""

    def __init__(self, endpoint: str, host_pipe_fd: int = -1) -> None:
        import zmq

        self._zmq = zmq
        self.context = zmq.Context(1)
        self.socket = self.context.socket(zmq.PAIR)
        self.socket.setsockopt(zmq.SNDHWM, 4)
        self.socket.setsockopt(zmq.LINGER, 10_000)
        self.socket.connect(endpoint)
        self._lock = threading.Lock()
        self._parent_pid = os.getppid()
        self._host_pipe_fd = host_pipe_fd
        self._host_gone = False
        watchdog = threading.Thread(target=self._exit_when_host_dies, daemon=True)
        watchdog.start()

    def host_alive(self) -> bool:
        return not self._host_gone and os.getppid() == self._parent_pid

    def _exit_when_host_dies(self) -> None:
        """A guest busy inside a parser (a slow or hung file) does not reach ``send`` or
        ``receive_command``, so a host killed with -9 would leave it running for ever: this
        thread ends the guest within a second of the host going away, whatever the parser does.

        The host holds the write end of a pipe whose read end the guest inherited: the pipe
        hangs up when the host process ends, however it ends. (In a sandbox the guest's parent
        is outside its PID namespace, so ``getppid`` cannot tell.)"""
        if self._host_pipe_fd >= 0:
            import select

            watcher = select.poll()
            watcher.register(self._host_pipe_fd, select.POLLIN | select.POLLHUP)
            while not watcher.poll(HOST_CHECK_S * 1000) and os.getppid() == self._parent_pid:
                pass
            self._host_gone = True
            os._exit(EXIT_TRANSIENT)
        while self.host_alive():
            time.sleep(HOST_CHECK_S)
        os._exit(EXIT_TRANSIENT)

    def send(self, parts: list[Any]) -> None:
        """Send one frame (one or two parts), waiting for room while the host lives."""
        with self._lock:
            while not self.socket.poll(1000, self._zmq.POLLOUT):
                if not self.host_alive():
                    os._exit(EXIT_TRANSIENT)
            self.socket.send_multipart(parts, copy=False)

    def receive_command(self) -> dict[str, Any]:
        """The next command from the host; exits if the host process disappears."""
        while not self.socket.poll(1000, self._zmq.POLLIN):
            if not self.host_alive():
                os._exit(EXIT_TRANSIENT)
        with self._lock:
            message = self.socket.recv()
        command: dict[str, Any] = json.loads(message)
        return command

    def command_waiting(self) -> bool:
        """Whether the host already sent another command."""
        return bool(self.socket.poll(0, self._zmq.POLLIN))

    def log(self, level: int, message: str) -> None:
        self.send([encode_log(level, message)])

    def notice(self, document: dict[str, Any]) -> None:
        """Tell the host something it records (a refused connection, dropped log lines)."""
        self.send([encode_log(NOTICE_LEVEL, json.dumps(document))])

    def close(self) -> None:
        self.socket.close()
        self.context.term()


class LogBatcher:
    """Collects log lines into frames of many lines; counts and drops lines past the cap.

    One frame per line cost more than the print itself (3 million lines took minutes); lines now
    leave in batches of up to ``LOG_BATCH_BYTES``, at the latest ``LOG_FLUSH_S`` after they were
    written (a background thread sends a quiet batch), and always before the file's end or an
    error. Once ``cap_bytes`` were sent, lines are only counted (``dropped``), never sent.
    """

    def __init__(self, channel: Channel, cap_bytes: int) -> None:
        self._channel = channel
        self.cap_bytes = cap_bytes
        self.sent_bytes = 0
        self.dropped = 0
        self.reported_dropped = 0
        self._lines: list[str] = []
        self._size = 0
        self._level = logging.INFO
        self._first_at = 0.0
        self._lock = threading.RLock()
        flusher = threading.Thread(target=self._flush_when_quiet, daemon=True)
        flusher.start()

    def add(self, level: int, line: str) -> None:
        with self._lock:
            if self.cap_bytes and self.sent_bytes + self._size + len(line) + 1 > self.cap_bytes:
                self.dropped += 1
                return
            if self._lines and level != self._level:
                self.flush()
            if not self._lines:
                self._first_at = time.monotonic()
                self._level = level
            self._lines.append(line)
            self._size += len(line) + 1
            if self._size >= LOG_BATCH_BYTES or time.monotonic() - self._first_at > LOG_FLUSH_S:
                self.flush()

    def flush(self) -> None:
        with self._lock:
            if not self._lines:
                return
            lines, self._lines = self._lines, []
            self.sent_bytes += self._size
            self._size = 0
            self._channel.log(self._level, "\n".join(lines))

    def report_dropped(self) -> None:
        """Flush, and tell the host how many lines the cap dropped since the last report."""
        with self._lock:
            self.flush()
            if self.dropped > self.reported_dropped:
                lines = self.dropped - self.reported_dropped
                self.reported_dropped = self.dropped
                self._channel.notice(
                    {"event": "log_dropped", "lines": lines, "cap": self.cap_bytes}
                )

    def reset(self) -> None:
        """A new job starts (one file per job in production): its log starts empty."""
        with self._lock:
            self.report_dropped()
            self.sent_bytes = 0

    def _flush_when_quiet(self) -> None:
        while True:
            time.sleep(LOG_FLUSH_S)
            with self._lock:
                if self._lines and time.monotonic() - self._first_at >= LOG_FLUSH_S:
                    self.flush()


class SidebandStream(io.TextIOBase):
    """Replaces ``sys.stdout``/``sys.stderr``: each written line becomes a log frame."""

    def __init__(self, batcher: LogBatcher, level: int) -> None:
        super().__init__()
        self._batcher = batcher
        self._level = level
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._pending += text
        if "\n" in self._pending:
            *lines, self._pending = self._pending.split("\n")
            for line in lines:
                self._send(line)
        if len(self._pending) > LOG_CHUNK_CHARS:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if self._pending:
            pending, self._pending = self._pending, ""
            self._send(pending)
        self._batcher.flush()

    def _send(self, line: str) -> None:
        if len(line) <= LOG_CHUNK_CHARS:
            self._batcher.add(self._level, line)
            return
        for start in range(0, len(line), LOG_CHUNK_CHARS):
            self._batcher.add(self._level, line[start : start + LOG_CHUNK_CHARS])


class SidebandHandler(logging.Handler):
    """Routes ``logging`` records to the sideband with their level."""

    def __init__(self, batcher: LogBatcher) -> None:
        super().__init__()
        self._batcher = batcher
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level = max(0, min(record.levelno, NOTICE_LEVEL - 1))
            for line in self.format(record).split("\n"):
                self._batcher.add(level, line[:LOG_CHUNK_CHARS])
        except Exception:
            self.handleError(record)


def _debugger_on_terminal(*args: Any, **kwargs: Any) -> None:
    """``breakpoint()`` opens pdb on the real terminal, not on the sideband."""
    import pdb

    sys.stdout.flush()  # what the parser printed so far reaches the terminal first
    sys.stderr.flush()
    debugger = pdb.Pdb(stdin=sys.__stdin__, stdout=sys.__stdout__)
    debugger.set_trace(sys._getframe(1))


# --- conversion -------------------------------------------------------------------------------


def _status_kib(field: str) -> int | None:
    """A ``/proc/self/status`` figure in KiB (``VmSize``, ``VmRSS``)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def available_memory_bytes() -> int | None:
    """Memory the guest may still use: MemAvailable, capped by its limit's headroom (the
    RLIMIT_AS address space left, or the memory limit less what the guest holds)."""
    available: int | None = None
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except OSError:
        return None
    soft_limit, _hard = resource.getrlimit(resource.RLIMIT_AS)
    headroom: int | None = None
    if soft_limit != resource.RLIM_INFINITY:
        size = _status_kib("VmSize")
        headroom = None if size is None else soft_limit - size * 1024
    elif MEMORY_LIMIT_MB > 0:
        resident = _status_kib("VmRSS")
        headroom = None if resident is None else MEMORY_LIMIT_MB * 1024 * 1024 - resident * 1024
    if headroom is not None:
        available = headroom if available is None else min(available, headroom)
    return available


def estimated_bytes(data: Any) -> int:
    """How much memory a batch occupies before conversion."""
    module = type(data).__module__
    if module.startswith("pandas"):
        return int(data.memory_usage(deep=True, index=False).sum())
    if module.startswith("polars"):
        return int(data.estimated_size())
    if hasattr(data, "get_total_buffer_size"):  # pyarrow: exact only when it may matter
        return table_bytes(data, MEMORY_CHECK_MIN_BYTES)
    return int(getattr(data, "nbytes", 0))


def check_memory(data: Any, where: str) -> None:
    """Stop with ``OOM_RISK`` (transient) when free memory is below 3x the batch size."""
    batch_bytes = estimated_bytes(data)
    if batch_bytes < MEMORY_CHECK_MIN_BYTES:
        return
    available = available_memory_bytes()
    if available is not None and available < OOM_SAFETY_FACTOR * batch_bytes:
        raise GuestFailure(
            "OOM_RISK",
            f"{where}: a batch of {batch_bytes / 1e6:.1f} MB needs {OOM_SAFETY_FACTOR}x that in "
            f"free memory but only {max(available, 0) / 1e6:.1f} MB is available; yield smaller "
            "batches (e.g. read the file in chunks and yield each chunk)",
            retryable=True,
        )


def safe_to_arrow(data: Any, where: str) -> Any:
    """Convert a parser's item to a pyarrow Table; mixed-type columns fall back to strings."""
    import pyarrow as pa

    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    module = type(data).__module__
    if module.startswith("pandas") and type(data).__name__ == "DataFrame":
        return _pandas_to_arrow(data)
    if module.startswith("polars") and type(data).__name__ == "DataFrame":
        return data.to_arrow()
    if isinstance(data, dict) and all(isinstance(values, list) for values in data.values()):
        return pa.table({str(name): _column_from_list(values) for name, values in data.items()})
    if data is None:
        raise GuestFailure("WrongType", f"{where}: parse() returned None; return or yield data")
    raise GuestFailure(
        "WrongType",
        f"{where}: parse() produced a {type(data).__module__}.{type(data).__qualname__}; expected "
        "a pyarrow Table or RecordBatch, a pandas or polars DataFrame, a dict of column lists, "
        "or Output(name, data)",
    )


def _column_from_list(values: list[Any]) -> Any:
    """A Python list as an Arrow array; mixed types fall back to text (nulls kept)."""
    import pyarrow as pa

    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array([None if value is None else str(value) for value in values], pa.string())


def _pandas_to_arrow(frame: Any) -> Any:
    """pandas -> Arrow column by column; a column Arrow cannot type becomes text (nulls kept)."""
    import pyarrow as pa

    arrays, names = [], []
    for column_name in frame.columns:
        column = frame[column_name]
        try:
            array = pa.array(column, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError, TypeError, OverflowError):
            array = pa.array(column.astype("string"), type=pa.string(), from_pandas=True)
        arrays.append(array)
        names.append(str(column_name))
    return pa.Table.from_arrays(arrays, names=names)


# --- the parser -------------------------------------------------------------------------------


class LoadedParser:
    """A user's parser module, Level 1 (``def parse``) or Level 2 (a ``Parser`` subclass)."""

    def __init__(self, parser_path: Path) -> None:
        from casparian_parser import Parser

        module_name = parser_path.stem
        spec = importlib.util.spec_from_file_location(module_name, parser_path)
        if spec is None or spec.loader is None:
            raise GuestFailure("ImportError", f"{parser_path}: cannot be loaded as a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        classes = [
            value
            for value in vars(module).values()
            if inspect.isclass(value)
            and issubclass(value, Parser)
            and value is not Parser
            and value.__module__ == module_name
        ]
        if len(classes) > 1:
            names = ", ".join(sorted(c.__name__ for c in classes))
            raise GuestFailure("LoadError", f"{parser_path}: several Parser classes ({names})")
        self.outputs: dict[str, str | None] = {}
        if classes:
            parser_class: Any = classes[0]
            self.level = 2
            self.name = parser_class.name or module_name
            self.version = str(parser_class.version)
            self.outputs = dict(parser_class.outputs or {})
            self.tags = list(parser_class.tags or [])
            self.patterns = list(parser_class.patterns or [])
            self.parse_function = parser_class().parse
        elif callable(getattr(module, "parse", None)):
            self.level = 1
            self.name = str(getattr(module, "name", module_name))
            self.version = str(getattr(module, "version", "0.0.0"))
            self.tags = list(getattr(module, "tags", []))
            self.patterns = list(getattr(module, "patterns", []))
            self.parse_function = module.parse
        else:
            raise GuestFailure(
                "LoadError",
                f"{parser_path}: defines neither a parse(path) function nor a Parser subclass",
            )
        self.default_output = (
            next(iter(self.outputs))
            if len(self.outputs) == 1
            else (module_name if self.level == 1 else self.name)
        )

    def describe(self) -> dict[str, Any]:
        import pyarrow as pa

        return {
            "level": self.level,
            "name": self.name,
            "version": self.version,
            "outputs": self.outputs,
            "tags": self.tags,
            "patterns": self.patterns,
            "default_output": self.default_output,
            "python": sys.version.split()[0],
            "pyarrow": pa.__version__,
        }

    def output_name(self, requested: str | None, where: str) -> str:
        """The output an item belongs to; undeclared names are refused."""
        if requested is None:
            if len(self.outputs) > 1:
                declared = ", ".join(self.outputs)
                raise GuestFailure(
                    "OutputError",
                    f"{where}: the parser declares several outputs ({declared}); "
                    "yield Output(name, data) to say which one",
                )
            return self.default_output
        if self.outputs and requested not in self.outputs:
            declared = ", ".join(self.outputs)
            raise GuestFailure(
                "OutputError",
                f"{where}: Output({requested!r}) is not declared (declared: {declared})",
            )
        return requested

    def items(self, path: str) -> Iterator[tuple[str | None, Any]]:
        """Run ``parse(path)`` and yield (requested output name, data) for each item."""
        import pyarrow as pa
        from casparian_parser import Output

        result = self.parse_function(path)
        if result is None:
            raise GuestFailure(
                "WrongType",
                f"{path}: parse() returned None; return or yield a pyarrow Table/RecordBatch, "
                "a DataFrame or Output(name, data)",
            )
        single = (pa.Table, pa.RecordBatch, Output)
        is_frame = type(result).__name__ == "DataFrame"
        if isinstance(result, single) or is_frame:
            iterable: Any = [result]
        elif isinstance(result, list | tuple) or inspect.isgenerator(result):
            iterable = result
        else:
            iterable = [result]
        for item in iterable:
            if isinstance(item, Output):
                yield item.name, item.data
            else:
                yield None, item


# --- streaming --------------------------------------------------------------------------------


def converted_items(parser: LoadedParser, path: str) -> Iterator[tuple[str, Any]]:
    """The parser's items for one file as (output name, pyarrow Table), memory-checked."""
    for requested, data in parser.items(path):
        output = parser.output_name(requested, path)
        where = f"{path}: output {output!r}"
        check_memory(data, where)
        table = safe_to_arrow(data, where)
        if table.num_columns == 0:
            raise GuestFailure("WrongType", f"{where}: a batch has no columns")
        yield output, table


def _frame_too_large(message: str) -> GuestFailure:
    return GuestFailure("FrameTooLarge", message)


def memory_limit_message(limit_mb: int) -> str:
    """The words for a parser stopped at its memory limit (the host says the same on a kill)."""
    return (
        f"the parser used more than {limit_mb:,} MB of memory (the guest's limit) and was "
        "stopped; read the file in chunks and yield each chunk, or raise the setting "
        "guest_memory_limit_mb"
    )


def _error_document(exc: BaseException, path: str | None) -> dict[str, Any]:
    kind = exc.kind if isinstance(exc, GuestFailure) else type(exc).__name__
    message = str(exc) or kind
    retryable = is_transient(exc)
    if isinstance(exc, MemoryError) and MEMORY_LIMIT_MB > 0:
        kind, message, retryable = "MemoryLimit", memory_limit_message(MEMORY_LIMIT_MB), False
    if isinstance(exc, SystemExit):
        message = f"the parser called sys.exit({exc.code!r}); return from parse() instead"
    if path is not None and not message.startswith(path):
        message = f"{path}: {message}"
    return {
        "kind": kind,
        "retryable": retryable,
        "message": message,
        "traceback": "".join(traceback.format_exception(exc)),
        "path": path,
    }


class JobBoundary:
    """What happens between files: stray children die, the job's log cap starts again.

    ``reap`` is set only in the sandbox, where the guest is PID 1 of its own PID namespace: then
    every other process of the namespace is a child of the job that just ended (a forked helper,
    a ``setsid()`` daemon) and ``kill(-1)`` reaches exactly them.
    """

    def __init__(
        self, batcher: LogBatcher | None = None, reap: bool = False, log_per_file: bool = False
    ) -> None:
        self.batcher = batcher
        self.reap = reap and os.getpid() == 1
        self.log_per_file = log_per_file

    def parsing(self, channel: Channel, path: str, items: Iterator[Any]) -> Iterator[Any]:
        """``items`` of the file at ``path``, with its log lines sent between two marks.

        Lines printed before the file leave first; in production (one job per file) a
        ``file`` notice then tells the host whose log the following lines belong to. Once the
        items are exhausted, or the parser raised, the file's pending lines and dropped-line
        count leave before its end (or error) frame: the host may hold several files of a pack,
        so only the notice, not the order of results, says where a line belongs.
        """
        if self.log_per_file:
            self._send_pending_logs()
            channel.notice({"event": "file", "path": path})
        try:
            yield from items
        finally:
            self._send_pending_logs()

    def _send_pending_logs(self) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        if self.batcher is not None:
            self.batcher.report_dropped()

    def file_done(self) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        self.kill_strays()
        if self.batcher is not None:
            if self.log_per_file:
                self.batcher.reset()
            else:
                self.batcher.report_dropped()

    def kill_strays(self) -> None:
        if not self.reap:
            return
        import signal

        # As PID 1 every process of the namespace descends from the guest (orphans are
        # re-parented to it): no child left after reaping the exited ones means no process.
        while True:
            try:
                pid, _status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return  # the common case: one system call
            if pid == 0:
                break  # a child still runs
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            pass
        while True:
            try:
                os.waitpid(-1, 0)
            except ChildProcessError:
                return
            except InterruptedError:
                continue


def serve(
    channel: Channel,
    parser_path: Path,
    max_frame_bytes: int,
    pack_rows: int = 0,
    boundary: JobBoundary | None = None,
) -> int:
    """Load the parser, say hello, then parse each file the host names until told to stop."""
    boundary = boundary or JobBoundary()
    current_path: str | None = None
    streamer: Streamer | None = None
    try:
        parser = LoadedParser(parser_path)
        channel.send([encode_json(HELLO_SIGNAL, parser.describe())])
        streamer = Streamer(
            channel.send,
            lambda path: boundary.parsing(channel, path, converted_items(parser, path)),
            _frame_too_large,
            max_frame_bytes,
            pack_rows,
        )
        queued: deque[str] = deque()
        while True:
            if not queued:
                command = channel.receive_command()
                if command.get("op") == "stop":
                    return EXIT_OK
                queued.extend(_command_paths(command))
                continue
            current_path = queued.popleft()
            stop_after = False
            if not queued and channel.command_waiting():
                command = channel.receive_command()
                stop_after = command.get("op") == "stop"
                if not stop_after:
                    queued.extend(_command_paths(command))
            streamer.parse_file(current_path, more_waiting=bool(queued))
            current_path = None
            boundary.file_done()
            if stop_after:
                return EXIT_OK
    except BaseException as exc:  # noqa: BLE001 - every failure is reported, then mapped to 1/2
        try:
            sys.stdout.flush()
            sys.stderr.flush()
            if streamer is not None:
                streamer.flush()  # files parsed before the failure are complete: deliver them
            boundary.file_done()
        except Exception:  # noqa: BLE001
            pass
        document = _error_document(exc, current_path)
        if current_path is None and not document["message"].startswith(str(parser_path)):
            document["message"] = f"{parser_path}: {document['message']}"
        channel.send([encode_json(ERROR_SIGNAL, document)])
        return EXIT_TRANSIENT if document["retryable"] else EXIT_PERMANENT


class NetworkRefused(PermissionError):
    """The parser tried to reach the network, which its registration does not allow."""


def refuse_network(channel: Channel) -> None:
    """Refuse connections made through Python's socket module, and tell the host about each.

    The sandbox's empty network namespace is the boundary (a C extension bypasses this hook);
    the hook makes the failure say why, keeps it from being retried as a transient connection
    error, and puts the attempt on record.
    """
    told = [0]

    def hook(event: str, arguments: tuple[Any, ...]) -> None:
        if event not in ("socket.connect", "socket.sendto"):
            return
        address = repr(arguments[1])[:200] if len(arguments) > 1 else "?"
        if told[0] < MAX_NOTICES:
            told[0] += 1
            channel.notice({"event": "network", "operation": event, "address": address})
        raise NetworkRefused(
            f"network access is not allowed for this parser ({event.split('.')[1]} to "
            f"{address}); register it with --allow network to permit it"
        )

    sys.addaudithook(hook)


def _command_paths(command: dict[str, Any]) -> list[str]:
    """The files a parse command names: ``{"op": "parse", "path": P}`` or ``"paths": [...]``."""
    if "paths" in command:
        return [str(path) for path in command["paths"]]
    return [str(command["path"])]


def main(argv: list[str] | None = None) -> int:
    arguments = argparse.ArgumentParser(description=__doc__)
    arguments.add_argument("--endpoint", required=True)
    arguments.add_argument("--parser", required=True, type=Path)
    arguments.add_argument("--max-frame-bytes", type=int, default=512 * 1024 * 1024)
    arguments.add_argument("--pack-rows", type=int, default=0)
    arguments.add_argument("--log-cap-bytes", type=int, default=0)
    arguments.add_argument("--log-cap-per-file", action="store_true")
    arguments.add_argument("--memory-limit-mb", type=int, default=0)
    arguments.add_argument("--reap-children", action="store_true")
    arguments.add_argument("--deny-network", action="store_true")
    arguments.add_argument("--host-pipe-fd", type=int, default=-1)
    options = arguments.parse_args(argv)
    import signal

    # Ctrl+C is KeyboardInterrupt even if the launcher (a sandbox's) was told to ignore it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    global MEMORY_LIMIT_MB
    MEMORY_LIMIT_MB = options.memory_limit_mb
    try:
        channel = Channel(options.endpoint, options.host_pipe_fd)
    except ImportError as exc:
        sys.stderr.write(f"casparian guest: {sys.executable} cannot import pyzmq/pyarrow: {exc}\n")
        return EXIT_PERMANENT
    batcher = LogBatcher(channel, options.log_cap_bytes)
    boundary = JobBoundary(batcher, options.reap_children, options.log_cap_per_file)
    sys.stdout = SidebandStream(batcher, logging.INFO)
    sys.stderr = SidebandStream(batcher, logging.WARNING)
    logging.basicConfig(level=logging.INFO, handlers=[SidebandHandler(batcher)], force=True)
    if options.deny_network:
        refuse_network(channel)
    if "PYTHONBREAKPOINT" not in os.environ:
        sys.breakpointhook = _debugger_on_terminal
    if importlib.util.find_spec("dateutil") is None:
        # pyarrow looks for dateutil on every compute call given a Python scalar (a sys.path
        # search each time when it is absent, ~7x the call's cost): remember that it is absent.
        sys.modules.setdefault("dateutil.relativedelta", None)  # type: ignore[arg-type]
    exit_code = serve(
        channel, options.parser.resolve(), options.max_frame_bytes, options.pack_rows, boundary
    )
    sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    batcher.report_dropped()
    boundary.kill_strays()
    channel.close()
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
