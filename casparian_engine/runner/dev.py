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

from ..bridge.host import GuestProcess
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


def run_parser(
    config: Config,
    parser_path: str | os.PathLike[str],
    inputs: str | os.PathLike[str] | list[Path],
    *,
    sink_uri: str | None = None,
    venv: str | os.PathLike[str] | None = None,
    force: bool = False,
    whatif: bool = False,
    interactive: bool = False,
    on_log: Callable[[int, str], None] | None = None,
    on_event: EventSink = ignore_events,
    cancel: threading.Event | None = None,
    sink: Sink | None = None,
    approved_contracts: ApprovedLookup | None = None,
    keep_going: bool = False,
    approved_by_hash: HashLookup | None = None,
    guests: int | None = None,
    allow_network: bool = False,
    on_notice: Callable[[dict[str, Any]], bool | None] | None = None,
) -> RunSummary:
    """Run a parser over inputs through warm guests into a sink; never raises for bad input.

    With ``approved_contracts`` (the store's lookup) outputs validate against approved versions.
    ``keep_going`` records a failed file and carries on with the next (one guest, restarted after
    a failure); by default the first failure stops the run and nothing is written. ``guests``
    defaults to two for many files (not interactive, not keep-going), else one.
    """
    from ..bridge.host import GuestError, guest_python, start_guest

    started = time.perf_counter()
    files = inputs if isinstance(inputs, list) else resolve_inputs(inputs)
    python = guest_python(venv)
    if guests is None:
        many = len(files) >= SECOND_GUEST_FROM_FILES and (os.cpu_count() or 1) > 1
        guests = 2 if many and not interactive and not keep_going else 1
    guests = 1 if keep_going else max(1, guests)

    def launch(interactive_guest: bool) -> GuestProcess:
        return start_guest(
            parser_path,
            config.settings,
            python=python,
            interactive=interactive_guest,
            on_log=on_log,
            cancel=cancel,
            pack_rows=PACK_ROWS,
            inputs=[str(path) for path in files],
            hidden=[config.home],
            allow_network=allow_network,
            on_notice=on_notice,
        )

    more_guests: list[GuestProcess] = []
    try:
        guest = launch(interactive)
        try:
            more_guests = [launch(False) for _ in range(guests - 1)]
        except GuestError:
            guest.stop()
            raise
    except GuestError as exc:
        return _load_failure(parser_path, len(files), python, started, exc)
    except KeyboardInterrupt:
        return _load_failure(parser_path, len(files), python, started, None)
    info = guest.info
    assert info is not None
    real_sink = sink or open_sink(
        sink_uri, default_dir=config.dev_output_dir / info.name, overwrite=force
    )
    active_sink: Sink = WhatIfSink(real_sink) if whatif else real_sink
    gate = FileGate(active_sink) if keep_going else None
    failed_files: list[RunFailure] = []
    declared = list(info.outputs) or [info.default_output]
    existing = tuple(name for name in declared if real_sink.exists(name))
    on_event(RunStarted(info.name, info.version, len(files), real_sink.uri))
    totals: dict[str, OutputCounts] = {}
    files_done = 0
    failure: RunFailure | None = None
    cancelled = False
    committed = False
    targets: dict[str, str] = {}
    executor: Executor | None = None
    try:
        if existing and not force and not whatif:
            names = ", ".join(f"{n} ({real_sink.target(n)})" for n in existing)
            raise OutputExistsError(f"output already exists: {names}; use --force to replace it")
        executor = Executor(
            guest,
            gate or active_sink,
            parser_name=info.name,
            parser_version=info.version,
            validator=contract_validator(
                Path(parser_path).resolve().parent,
                info.outputs,
                approved=approved_contracts,
                approved_by_hash=approved_by_hash,
                on_warning=(lambda text: on_log(logging.WARNING, text)) if on_log else None,
            ),
            on_event=on_event,
            cancel=cancel,
            more_guests=more_guests,
        )
        remaining = files
        while remaining:
            try:
                for result in executor.run(FileTask(str(path), DEV_JOB_ID) for path in remaining):
                    files_done += 1
                    if gate is not None:
                        gate.accept()
                    for name, counts in result.outputs.items():
                        totals.setdefault(name, OutputCounts()).add(counts)
                remaining = []
            except ExecutionError as exc:
                if gate is None or exc.kind in ("KeyboardInterrupt", "Cancelled"):
                    raise
                remaining = _after_failed_file(remaining, exc, gate.reject())
                failed = RunFailure(exc.path, exc.kind, exc.message, exc.retryable, exc.traceback)
                failed_files.append(failed)
                on_event(FileFailed(exc.path, exc.kind, exc.message, exc.retryable))
                guest.stop()
                if remaining:
                    guest = launch(interactive)
                    executor.guest = guest
        targets = active_sink.commit()
        committed = not whatif
    except ExecutionError as exc:
        if exc.kind == "KeyboardInterrupt":
            cancelled = True
        else:
            failure = RunFailure(exc.path, exc.kind, exc.message, exc.retryable, exc.traceback)
            on_event(FileFailed(exc.path, exc.kind, exc.message, exc.retryable))
    except GuestError as exc:
        failure = RunFailure(exc.path, exc.kind, exc.message, exc.retryable, exc.traceback)
    except (SinkError, OSError) as exc:
        failure = RunFailure(None, type(exc).__name__, str(exc), False)
    except (Cancelled, KeyboardInterrupt):
        cancelled = True
    finally:
        if not committed and not whatif:
            active_sink.abort()
        guest.stop()
        for extra in more_guests:
            extra.stop()
    if whatif:
        targets = {name: real_sink.target(name) for name in (executor.schemas if executor else {})}
        targets.update(
            {
                name + QUARANTINE_SUFFIX: real_sink.target(name + QUARANTINE_SUFFIX)
                for name, counts in totals.items()
                if counts.quarantined
            }
        )
    summary = RunSummary(
        parser_name=info.name,
        parser_version=info.version,
        sink_uri=real_sink.uri,
        files_total=len(files),
        files_done=files_done,
        outputs=totals,
        targets=targets,
        schemas=dict(executor.schemas) if executor else {},
        seconds=time.perf_counter() - started,
        whatif=whatif,
        failure=failure,
        cancelled=cancelled,
        existing_outputs=existing,
        log_truncated=guest.log_truncated or any(g.log_truncated for g in more_guests),
        sandboxed=guest.sandboxed,
        log_dropped_lines=guest.dropped_log_lines + sum(g.dropped_log_lines for g in more_guests),
        committed=committed,
        guest_python=python,
        guest_pid=guest.pid,
        failed_files=tuple(failed_files),
        guests=1 + len(more_guests),
    )
    on_event(RunFinished(summary))
    return summary


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
