"""The dev loop behind ``casparian run``: one warm guest, many files, real sinks, a summary.

It shares the ``Executor`` with the queued worker and differs only in where things come from and
go: the parser is a file on disk, the guest may own the terminal (``breakpoint()`` works), logs
print at once, and quarantined rows go to the sink as ``<output>__quarantine``.
"""

from __future__ import annotations

import glob
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..bridge.host import (
    GuestError,
    GuestOptions,
    GuestProcess,
    ParserInfo,
    guest_python,
    start_guest,
)
from ..config import Config
from ..errors import InputError
from ..events import Cancelled, EventSink, ignore_events
from ..sinks import OutputExistsError, Sink, SinkError, open_sink
from .contracts_seam import ApprovedLookup, HashLookup, contract_validator
from .events import FileFailed, RunFinished, RunStarted
from .executor import ExecutionError, Executor, FileTask, OutputCounts
from .file_gate import FileGate
from .quarantine import QUARANTINE_SUFFIX
from .whatif import WhatIfSink

DEV_JOB_ID = 0  # lineage job id of dev runs, which have no queued job
PACK_ROWS = 65_536  # small files' rows travel together in frames of up to this many rows
SECOND_GUEST_FROM_FILES = 256  # from this many files, a second guest parses beside the first


@dataclass(frozen=True)
class RunFailure:
    """Why a run stopped: the file, the kind of failure, the message, whether a retry may help."""

    path: str | None
    kind: str
    message: str
    retryable: bool
    traceback: str = ""


@dataclass(frozen=True)
class RunSummary:
    """The outcome of a run: rows per output, quarantined rows, files, timing, targets."""

    parser_name: str
    parser_version: str
    sink_uri: str
    files_total: int
    files_done: int
    outputs: dict[str, OutputCounts]
    targets: dict[str, str]
    schemas: dict[str, pa.Schema]
    seconds: float
    whatif: bool = False
    failure: RunFailure | None = None
    cancelled: bool = False
    existing_outputs: tuple[str, ...] = ()
    log_truncated: bool = False
    log_dropped_lines: int = 0
    sandboxed: bool = False
    committed: bool = False
    guest_python: str = ""
    guest_pid: int | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    failed_files: tuple[RunFailure, ...] = ()
    guests: int = 1

    @property
    def rows_written(self) -> int:
        return sum(c.written for c in self.outputs.values())

    @property
    def rows_quarantined(self) -> int:
        return sum(c.quarantined for c in self.outputs.values())

    @property
    def rows_emitted(self) -> int:
        return sum(c.emitted for c in self.outputs.values())

    @property
    def rows_per_second(self) -> float:
        return self.rows_emitted / self.seconds if self.seconds > 0 else 0.0

    @property
    def exit_code(self) -> int:
        """0 ok, 1 permanent failure, 2 transient failure, 130 interrupted."""
        if self.cancelled:
            return 130
        if self.failure is not None:
            return 2 if self.failure.retryable else 1
        if self.failed_files:
            return 2 if all(failed.retryable for failed in self.failed_files) else 1
        return 0


def resolve_inputs(spec: str | os.PathLike[str]) -> list[Path]:
    """A file, a folder (every non-hidden file below it) or a glob, as a sorted list of files."""
    text = os.fspath(spec)
    path = Path(text).expanduser()
    if path.is_file():
        return [path.resolve()]
    if path.is_dir():
        found = [
            Path(root, name).resolve()
            for root, dirs, names in os.walk(path)
            for name in names
            if not name.startswith(".")
            and not any(part.startswith(".") for part in Path(root).relative_to(path).parts)
        ]
    elif any(char in text for char in "*?["):
        found = [Path(p).resolve() for p in glob.glob(os.path.expanduser(text), recursive=True)]
        found = [p for p in found if p.is_file()]
    else:
        raise InputError(f"{text}: no such file or directory")
    if not found:
        raise InputError(f"{text}: no input files found")
    return sorted(found)


@dataclass(frozen=True)
class DevRunOptions:
    """How a dev run goes: where it writes, which Python runs the guest, how failures count."""

    sink_uri: str | None = None
    """Where outputs go (``parquet://dir``, ``duckdb://file``, …); default: the home's
    ``dev-output/<parser>/``."""
    venv: str | os.PathLike[str] | None = None
    """The environment whose Python runs the guest (default: this interpreter's)."""
    force: bool = False
    """Replace outputs that already exist (without it the run stops before writing)."""
    whatif: bool = False
    """Parse, validate and count, write nothing."""
    interactive: bool = False
    """The guest owns the terminal: ``breakpoint()`` works, Ctrl+C reaches it."""
    keep_going: bool = False
    """Record a failed file and carry on with the next (one guest, restarted after a failure);
    without it the first failure stops the run and nothing is written."""
    guests: int | None = None
    """Guests parsing side by side; None: two for many files (not interactive or keep-going)."""
    allow_network: bool = False
    """Give the guest the host's network (default: none, in its own network namespace)."""


@dataclass(frozen=True)
class DevRunHooks:
    """What a dev run reports to its caller, and what it takes from the caller's store."""

    on_log: Callable[[int, str], None] | None = None
    on_event: EventSink = ignore_events
    on_notice: Callable[[dict[str, Any]], bool | None] | None = None
    """The guest's notices (e.g. a refused network attempt, for the audit trail)."""
    cancel: threading.Event | None = None
    approved_contracts: ApprovedLookup | None = None
    """The store's approved contracts: outputs validate against the approved versions."""
    approved_by_hash: HashLookup | None = None
    sink: Sink | None = None
    """A sink object to write into instead of opening ``DevRunOptions.sink_uri``."""


def run_parser(
    config: Config,
    parser_path: str | os.PathLike[str],
    inputs: str | os.PathLike[str] | list[Path],
    options: DevRunOptions | None = None,
    hooks: DevRunHooks | None = None,
) -> RunSummary:
    """Run a parser over inputs (a file, folder, glob or list of files) through warm guests into
    a sink; never raises for bad input (``InputError`` for inputs that name no file)."""
    files = inputs if isinstance(inputs, list) else resolve_inputs(inputs)
    return DevRun(
        config, parser_path, files, options or DevRunOptions(), hooks or DevRunHooks()
    ).run()


class DevRun:
    """One dev run in its phases: start the guests, open the sink, parse every file through the
    executor, commit (or abort) the sink, summarise."""

    def __init__(
        self,
        config: Config,
        parser_path: str | os.PathLike[str],
        files: list[Path],
        options: DevRunOptions,
        hooks: DevRunHooks,
    ) -> None:
        self.config = config
        self.parser_path = parser_path
        self.files = files
        self.options = options
        self.hooks = hooks
        self.started = time.perf_counter()
        self.python = guest_python(options.venv)
        self.guest: GuestProcess | None = None
        self.more_guests: list[GuestProcess] = []
        self.executor: Executor | None = None
        self.totals: dict[str, OutputCounts] = {}
        self.files_done = 0
        self.failed_files: list[RunFailure] = []
        self.failure: RunFailure | None = None
        self.cancelled = False
        self.committed = False
        self.targets: dict[str, str] = {}

    @property
    def guest_count(self) -> int:
        options = self.options
        guests = options.guests
        if guests is None:
            many = len(self.files) >= SECOND_GUEST_FROM_FILES and (os.cpu_count() or 1) > 1
            guests = 2 if many and not options.interactive and not options.keep_going else 1
        return 1 if options.keep_going else max(1, guests)

    def launch(self, interactive: bool) -> GuestProcess:
        """Start a guest for this run's parser and files."""
        options = GuestOptions(
            python=self.python,
            interactive=interactive,
            on_log=self.hooks.on_log,
            cancel=self.hooks.cancel,
            pack_rows=PACK_ROWS,
            inputs=[str(path) for path in self.files],
            hidden=[self.config.home],
            allow_network=self.options.allow_network,
            on_notice=self.hooks.on_notice,
        )
        return start_guest(self.parser_path, self.config.settings, options)

    def run(self) -> RunSummary:
        try:
            guest = self.launch(self.options.interactive)
            try:
                self.more_guests = [self.launch(False) for _ in range(self.guest_count - 1)]
            except GuestError:
                guest.stop()
                raise
        except GuestError as exc:
            return _load_failure(self.parser_path, len(self.files), self.python, self.started, exc)
        except KeyboardInterrupt:
            return _load_failure(self.parser_path, len(self.files), self.python, self.started, None)
        self.guest = guest
        info = guest.info
        assert info is not None
        options = self.options
        real_sink = self.hooks.sink or open_sink(
            options.sink_uri,
            default_dir=self.config.dev_output_dir / info.name,
            overwrite=options.force,
        )
        active_sink: Sink = WhatIfSink(real_sink) if options.whatif else real_sink
        declared = list(info.outputs) or [info.default_output]
        existing = tuple(name for name in declared if real_sink.exists(name))
        self.hooks.on_event(RunStarted(info.name, info.version, len(self.files), real_sink.uri))
        self._execute(info, active_sink, existing)
        if options.whatif:
            self.targets = self._whatif_targets(real_sink)
        summary = self._summary(info, real_sink, existing)
        self.hooks.on_event(RunFinished(summary))
        return summary

    def _execute(self, info: ParserInfo, active_sink: Sink, existing: tuple[str, ...]) -> None:
        """Parse every file into ``active_sink`` and commit it; a failure, a cancel or an
        existing output (without ``force``) aborts it instead."""
        options, hooks = self.options, self.hooks
        gate = FileGate(active_sink) if options.keep_going else None
        try:
            if existing and not options.force and not options.whatif:
                names = ", ".join(f"{n} ({active_sink.target(n)})" for n in existing)
                raise OutputExistsError(
                    f"output already exists: {names}; use --force to replace it"
                )
            on_log = hooks.on_log
            self.executor = Executor(
                self._guest(),
                gate or active_sink,
                parser_name=info.name,
                parser_version=info.version,
                validator=contract_validator(
                    Path(self.parser_path).resolve().parent,
                    info.outputs,
                    approved=hooks.approved_contracts,
                    approved_by_hash=hooks.approved_by_hash,
                    on_warning=(lambda text: on_log(logging.WARNING, text)) if on_log else None,
                ),
                on_event=hooks.on_event,
                cancel=hooks.cancel,
                more_guests=self.more_guests,
            )
            self._parse_files(self.executor, gate)
            self.targets = active_sink.commit()
            self.committed = not options.whatif
        except ExecutionError as exc:
            if exc.kind == "KeyboardInterrupt":
                self.cancelled = True
            else:
                self.failure = RunFailure(
                    exc.path, exc.kind, exc.message, exc.retryable, exc.traceback
                )
                hooks.on_event(FileFailed(exc.path, exc.kind, exc.message, exc.retryable))
        except GuestError as exc:
            self.failure = RunFailure(exc.path, exc.kind, exc.message, exc.retryable, exc.traceback)
        except (SinkError, OSError) as exc:
            self.failure = RunFailure(None, type(exc).__name__, str(exc), False)
        except (Cancelled, KeyboardInterrupt):
            self.cancelled = True
        finally:
            if not self.committed and not options.whatif:
                active_sink.abort()
            self._guest().stop()
            for extra in self.more_guests:
                extra.stop()

    def _parse_files(self, executor: Executor, gate: FileGate | None) -> None:
        """Every file through the executor. With a ``gate`` (keep-going) a failed file is
        recorded, its rows are dropped, and a fresh guest takes the files after it."""
        remaining = self.files
        while remaining:
            try:
                for result in executor.run(FileTask(str(path), DEV_JOB_ID) for path in remaining):
                    self.files_done += 1
                    if gate is not None:
                        gate.accept()
                    for name, counts in result.outputs.items():
                        self.totals.setdefault(name, OutputCounts()).add(counts)
                remaining = []
            except ExecutionError as exc:
                if gate is None or exc.kind in ("KeyboardInterrupt", "Cancelled"):
                    raise
                remaining = _after_failed_file(remaining, exc, gate.reject())
                failed = RunFailure(exc.path, exc.kind, exc.message, exc.retryable, exc.traceback)
                self.failed_files.append(failed)
                self.hooks.on_event(FileFailed(exc.path, exc.kind, exc.message, exc.retryable))
                self._guest().stop()
                if remaining:
                    self.guest = self.launch(self.options.interactive)
                    executor.guest = self.guest

    def _guest(self) -> GuestProcess:
        assert self.guest is not None  # started by ``run`` before any other phase
        return self.guest

    def _whatif_targets(self, real_sink: Sink) -> dict[str, str]:
        """Where a real run would have written: each output, and each quarantine with rows."""
        schemas = self.executor.schemas if self.executor else {}
        targets = {name: real_sink.target(name) for name in schemas}
        targets.update(
            {
                name + QUARANTINE_SUFFIX: real_sink.target(name + QUARANTINE_SUFFIX)
                for name, counts in self.totals.items()
                if counts.quarantined
            }
        )
        return targets

    def _summary(self, info: ParserInfo, real_sink: Sink, existing: tuple[str, ...]) -> RunSummary:
        guest, more_guests = self._guest(), self.more_guests
        return RunSummary(
            parser_name=info.name,
            parser_version=info.version,
            sink_uri=real_sink.uri,
            files_total=len(self.files),
            files_done=self.files_done,
            outputs=self.totals,
            targets=self.targets,
            schemas=dict(self.executor.schemas) if self.executor else {},
            seconds=time.perf_counter() - self.started,
            whatif=self.options.whatif,
            failure=self.failure,
            cancelled=self.cancelled,
            existing_outputs=existing,
            log_truncated=guest.log_truncated or any(g.log_truncated for g in more_guests),
            sandboxed=guest.sandboxed,
            log_dropped_lines=guest.dropped_log_lines
            + sum(g.dropped_log_lines for g in more_guests),
            committed=self.committed,
            guest_python=self.python,
            guest_pid=guest.pid,
            failed_files=tuple(self.failed_files),
            guests=1 + len(more_guests),
        )


def _after_failed_file(files: list[Path], error: ExecutionError, clean: bool) -> list[Path]:
    """The files after the one that failed; re-raises when the run cannot go on without it."""
    if not clean:
        error.message += (
            " (--keep-going cannot drop this file's rows: more than the held limit had already "
            "been passed to the sink; stopped the run)"
        )
        raise error
    failed = Path(error.path).resolve()
    position = next((index for index, path in enumerate(files) if path == failed), None)
    if position is None:
        raise error
    return files[position + 1 :]


def _load_failure(
    parser_path: str | os.PathLike[str],
    file_count: int,
    python: str,
    started: float,
    error: Exception | None,
) -> RunSummary:
    """The summary of a run whose parser never loaded (syntax/import error) or was interrupted."""
    failure = None
    if error is not None:
        kind = getattr(error, "kind", type(error).__name__)
        retryable = bool(getattr(error, "retryable", False))
        failure = RunFailure(None, kind, str(error), retryable, getattr(error, "traceback", ""))
    return RunSummary(
        parser_name=Path(parser_path).stem,
        parser_version="?",
        sink_uri="",
        files_total=file_count,
        files_done=0,
        outputs={},
        targets={},
        schemas={},
        seconds=time.perf_counter() - started,
        failure=failure,
        cancelled=error is None,
        guest_python=python,
    )
