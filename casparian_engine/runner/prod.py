"""The queued worker's batch handler: the one executor over a warm guest per parser version.

A claimed batch is grouped by parser version; each group's files stream through one ``Executor``
on that version's warm guest (bundle verified and extracted, locked environment built), several
files in flight so the guest never waits. Rows go to the batch's ``BatchParts`` — one Parquet part
per output for the whole batch, a file's rows appended only once the file succeeded — and
quarantined rows are kept for ``cf_quarantine``; the worker commits and publishes the batch. A file
that fails is failed alone: its guest is stopped and the rest of the batch continues on a new one.
A job taken away while its file is in the guest (cancelled) stops the guest the same way at once;
one taken away before its file was submitted is skipped.
Each finished job keeps its own file's start and finish (the executor's span of the guest's work
on that file), not the batch's claim and commit times; a job that failed before its file reached
a guest (the guest or its contracts would not load) is timed from that attempt to its failure.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..bridge.host import GuestError, GuestOptions, GuestProcess, start_guest
from ..config import Config
from ..contracts.quarantine import policy_breach
from ..events import Cancelled
from ..logs import JobLog
from ..parsers.runtime import ParserRuntime
from ..store import Store
from ..store.jobs import Job, JobFailure, JobOutcome
from .batch import BatchContext, BatchResult, JobLogs
from .contracts_seam import contract_validator, load_contracts
from .executor import ExecutionError, Executor, FileResult, FileTask
from .parts import BatchParts
from .quarantine import Validator
from .worker import JobError

LOG_LEVELS = {10: "debug", 20: "info", 30: "warning", 40: "error", 50: "critical"}
PIPELINE_DEPTH = 16  # files submitted ahead to the guest
PACK_ROWS = 65_536  # small files' rows travel together in frames of up to this many rows
PART_MAX_ROWS = 4_000_000  # a batch stops taking new files once its parts hold this many rows


def skip_missing_dateutil() -> None:
    """Without python-dateutil installed, pyarrow retries importing it on every compute call
    given a Python scalar (a sys.path search each time, ~7x the call); remember it is absent."""
    if importlib.util.find_spec("dateutil") is None:
        sys.modules.setdefault("dateutil.relativedelta", None)  # type: ignore[arg-type]


skip_missing_dateutil()


class ProdHandler:
    """Runs claimed batches through warm guests, one per parser version."""

    def __init__(self, config: Config, store: Store) -> None:
        self.config = config
        self.store = store  # the worker's own: no second connection, no facade
        self.runtime = ParserRuntime(store, config)
        self._guests: dict[tuple[str, str], tuple[GuestProcess, Validator, dict[str, str]]] = {}
        self._log_target: tuple[JobLogs, Job] | None = None  # whose log a guest line goes to
        self._unfinished: tuple[JobLogs, dict[int, Job]] | None = None  # the group running now

    def _on_log(self, level: int, message: str) -> None:
        """A guest log line goes to the log of the job whose file the guest was parsing when it
        printed it (the guest marks each file's start; the log is opened on demand)."""
        if self._log_target is not None:
            logs, job = self._log_target
            logs.for_job(job).write(LOG_LEVELS.get(level, str(level)), message)

    def _guest(
        self, name: str, version: str, paths: list[str]
    ) -> tuple[GuestProcess, Validator, dict[str, str]]:
        """The warm guest of a parser version, started again when its sandbox does not show
        every one of ``paths`` (it then shows their folders and the ones it showed before)."""
        key = (name, version)
        folders: list[Path] = []
        if key in self._guests:
            current = self._guests[key][0]
            if current.can_read(paths):
                return self._guests[key]
            folders = list(current.input_roots)
            self._discard(key)
        from ..parsers.bundle import collect_source, read_metadata

        record = self.runtime.record(name, version)
        if record is None:
            raise JobError("ParserNotFound", f"parser '{name}' {version} is not registered")
        source_dir = self.runtime.load_bundle(name, version)
        entry = source_dir / read_metadata(collect_source(source_dir)[0]).entry_file
        python = self.runtime.environment_for(record, offline=self.config.settings.offline_envs)
        allowed_rules = record.gatekeeper.get("allowed_rules") or []
        options = GuestOptions(
            python=str(python),
            on_log=self._on_log,
            pack_rows=PACK_ROWS,
            inputs=paths,
            input_folders=folders,
            hidden=[self.config.home],
            allow_network="network" in allowed_rules,
            on_notice=lambda notice: self._on_notice(name, version, notice),
            log_cap_per_file=True,
        )
        guest = start_guest(entry, self.config.settings, options)
        try:
            assert guest.info is not None
            validator = contract_validator(
                entry.parent,
                guest.info.outputs,
                approved=self.store.contracts.latest,
                strict=True,
                approved_by_hash=self.store.contracts.by_hash,
            )
            hashes = {
                output: contract.content_hash
                for output, contract in load_contracts(entry.parent, guest.info.outputs).items()
            }
        except BaseException:
            guest.stop()  # e.g. ContractNotApproved: the guest must not outlive the failure
            raise
        self._guests[key] = (guest, validator, hashes)
        return self._guests[key]

    def _on_notice(self, name: str, version: str, notice: dict[str, Any]) -> bool:
        """A refused connection goes on the audit trail, naming the parser and the job; the
        count of lines dropped at the cap (by the guest, then by the log file) closes the job's
        log, even a full one. True when the notice's log line was written here."""
        if notice.get("event") == "file":
            self._log_to_job_of(str(notice.get("path")))
            return True
        job = self._log_target[1] if self._log_target is not None else None
        if notice.get("event") == "log_dropped" and self._log_target is not None:
            log = self._log_target[0].for_job(self._log_target[1])
            dropped = int(notice.get("lines") or 0) + log.dropped_lines
            log.write_past_cap(
                "WARNING", f"[casparian] {dropped:,} later lines were dropped at the log cap"
            )
            return True
        if notice.get("event") == "network":
            self.store.audit.record(
                "guest.network_refused",
                f"{name}@{version}",
                job_id=job.id if job is not None else None,
                input_path=job.input_path if job is not None else None,
                operation=str(notice.get("operation"))[:40],
                address=str(notice.get("address"))[:200],
            )
        return False

    def _log_to_job_of(self, path: str) -> None:
        """The guest starts on ``path``: its next lines go to the log of that file's job (the
        oldest unfinished one with that path; symbolic links are compared resolved)."""
        if self._unfinished is None:
            return
        logs, pending = self._unfinished
        for job in pending.values():
            if os.path.abspath(job.input_path) == path:
                self._log_target = (logs, job)
                return
        resolved = os.path.realpath(path)
        for job in pending.values():
            if os.path.realpath(job.input_path) == resolved:
                self._log_target = (logs, job)
                return

    def _discard(self, key: tuple[str, str], kill: bool = False) -> None:
        """Stop a guest (asked to finish, else killed; ``kill``: at once, mid-file)."""
        entry = self._guests.pop(key, None)
        if entry is not None:
            with contextlib.suppress(Exception):
                if kill:
                    entry[0].close()
                else:
                    entry[0].stop()

    def run_batch(self, context: BatchContext) -> BatchResult:
        """Run every job of the lease, grouped by parser version, into one set of parts."""
        result = BatchResult()
        groups: dict[tuple[str, str], list[Job]] = {}
        for job in context.lease.jobs:
            groups.setdefault((job.parser_name, job.parser_version), []).append(job)
        parts_by_parser: dict[str, BatchParts] = {}
        try:
            for key, jobs in groups.items():
                if context.stop.is_set() or result.rows_written >= PART_MAX_ROWS:
                    result.unstarted += [job.id for job in jobs]
                    continue
                parts = parts_by_parser.get(key[0])
                if parts is None:
                    parts = BatchParts(context.output_root / key[0], context.lease.token)
                    parts_by_parser[key[0]] = parts
                    result.parts.append(parts)
                self._run_group(key, jobs, parts, context, result)
        except BaseException:
            result.abort()
            raise
        finally:
            self._log_target = None
            self._unfinished = None
        return result

    def _run_group(
        self,
        key: tuple[str, str],
        jobs: list[Job],
        parts: BatchParts,
        context: BatchContext,
        result: BatchResult,
    ) -> None:
        """The jobs of one parser version; a failed file restarts the guest for the rest."""
        group = _Group(key, {job.id: job for job in jobs}, parts)
        self._unfinished = (context.logs, group.pending)
        threshold = self.config.settings.circuit_breaker_threshold
        while group.pending:
            group.finished_here = 0
            attempt_at = time.time()  # a failure before any file ran is timed from here
            try:
                self._run_on_guest(group, context, result)
                return
            except Cancelled:
                # a job the guest holds was cancelled: stop the guest (its file's work stops
                # now), forget unsettled rows, and run the rest of the batch on a new guest
                parts.discard()
                self._discard(key, kill=True)
                stopped = [j for j in group.pending if _is_taken(context.taken, j)]
                for job_id in stopped:
                    del group.pending[job_id]
                context.stopped(stopped)
                continue
            except (ExecutionError, GuestError, JobError) as exc:
                parts.discard()
                self._discard(key)
                if getattr(exc, "kind", "") == "SchemaChanged" and group.finished_here > 0:
                    continue  # a new executor (and a new part) for the new schema
                self._fail_one(group, exc, attempt_at, context, result)
                if group.consecutive_failures >= threshold or context.stop.is_set():
                    result.unstarted += list(group.pending)  # the breaker decides at commit
                    return

    def _run_on_guest(self, group: _Group, context: BatchContext, result: BatchResult) -> None:
        """Stream the group's unfinished files through one executor on the warm guest until
        they are done or the batch stops or is full (the rest are then left unstarted)."""
        executor, tasks = self._executor(group, context)
        pending = group.pending
        self._log_target = (context.logs, next(iter(pending.values())))
        accepted: set[int] = set()
        rejected: set[int] = set()
        try:
            for file_result in self._results(executor, tasks):
                job = pending.pop(file_result.job_id)
                group.finished_here += 1
                ok = self._finish_file(job, file_result, context, result)
                context.file_done(ok, file_result.quarantined_rows)
                (accepted if ok else rejected).add(job.id)
                group.consecutive_failures = 0 if ok else 1
                if context.stop.is_set() or result.rows_written >= PART_MAX_ROWS:
                    break
                if pending:
                    self._log_target = (context.logs, next(iter(pending.values())))
        finally:
            group.parts.settle(accepted, rejected)  # finished files' rows, even on an error
        if pending:  # stopped early: the guest still holds submitted files
            self._discard(group.key)
            result.unstarted += list(pending)

    def _executor(
        self, group: _Group, context: BatchContext
    ) -> tuple[Executor, Iterator[FileTask]]:
        """An executor on the group's warm guest (started if need be) and the files it will be
        given; the executor stops when a job the guest holds is taken away."""
        pending = group.pending
        guest, validator, hashes = self._guest(
            *group.key, [job.input_path for job in pending.values()]
        )
        group.parts.contract_hashes.update(hashes)
        executor = Executor(
            guest,
            group.parts,
            parser_name=group.key[0],
            parser_version=group.key[1],
            validator=validator,
            quarantine=group.parts.quarantine_writer,
            pipeline_depth=PIPELINE_DEPTH,
        )
        submitted: set[int] = set()
        executor.cancel = _TakenInFlight(context.taken, submitted, pending)
        tasks = _untaken_tasks(list(pending.values()), pending, context.taken, submitted)
        return executor, tasks

    def _fail_one(
        self,
        group: _Group,
        exc: ExecutionError | GuestError | JobError,
        attempt_at: float,
        context: BatchContext,
        result: BatchResult,
    ) -> None:
        """Fail the file the error names (else the oldest unfinished one) and log why."""
        failing = _failing_job(group.pending, exc)
        del group.pending[failing.id]
        result.failures[failing.id] = _failure(exc, attempt_at)
        _log_failure(context.logs.for_job(failing), result.failures[failing.id])
        group.consecutive_failures += 1

    @staticmethod
    def _results(executor: Executor, tasks: Iterable[FileTask]) -> Iterator[FileResult]:
        results = executor.run(tasks)
        try:
            yield from results
        finally:
            close = getattr(results, "close", None)
            if callable(close):
                close()  # stop the executor's hashing thread when the batch ends early

    def _finish_file(
        self,
        job: Job,
        file_result: FileResult,
        context: BatchContext,
        result: BatchResult,
    ) -> bool:
        """Whether a parsed file is accepted (else the policy failed it, keeping its quarantine)."""
        emitted = sum(c.emitted for c in file_result.outputs.values())
        written = sum(c.written for c in file_result.outputs.values())
        quarantined = file_result.quarantined_rows
        breach = policy_breach(self.config.settings, emitted, quarantined)
        if breach is not None:
            failure = JobFailure(
                "QuarantinePolicy",
                f"{job.input_path}: {breach}",
                started_at=file_result.started_at or None,
                finished_at=file_result.finished_at or None,
            )
            result.failures[job.id] = failure
            _log_failure(context.logs.for_job(job), failure)
            return False
        result.outcomes[job.id] = JobOutcome(
            emitted,
            written,
            quarantined,
            started_at=file_result.started_at or None,
            finished_at=file_result.finished_at or None,
        )
        result.rows_written += written
        return True

    def close(self) -> None:
        """Stop every warm guest (the worker calls this on exit; it closes its own store)."""
        for key in list(self._guests):
            self._discard(key)


@dataclass
class _Group:
    """One parser version's jobs in a batch as they run: the unfinished ones (in submission
    order), the parts their rows go to, and the counts that decide a retry or the breaker."""

    key: tuple[str, str]  # (parser name, version)
    pending: dict[int, Job]
    parts: BatchParts
    finished_here: int = 0  # files finished on the current guest
    consecutive_failures: int = 0


def _is_taken(taken: dict[int, threading.Event], job_id: int) -> bool:
    event = taken.get(job_id)
    return event is not None and event.is_set()


class _TakenInFlight(threading.Event):
    """The executor's cancel: set while a job submitted to the guest and not finished was taken
    away (cancelled, requeued), so the guest stops working on it."""

    def __init__(
        self, taken: dict[int, threading.Event], submitted: set[int], pending: dict[int, Job]
    ) -> None:
        super().__init__()
        self.taken = taken
        self.submitted = submitted
        self.pending = pending

    def is_set(self) -> bool:
        return any(
            _is_taken(self.taken, job_id) for job_id in self.submitted if job_id in self.pending
        )


def _untaken_tasks(
    jobs: list[Job],
    pending: dict[int, Job],
    taken: dict[int, threading.Event],
    submitted: set[int],
) -> Iterator[FileTask]:
    """The files of ``jobs`` as the executor asks for them, skipping (and forgetting) jobs taken
    away before their file reached the guest; records which were submitted."""
    for job in jobs:
        if _is_taken(taken, job.id):
            pending.pop(job.id, None)
            continue
        submitted.add(job.id)
        yield FileTask(job.input_path, job.id, job.input_hash)


def _failing_job(pending: dict[int, Job], exc: BaseException) -> Job:
    """The unfinished job the error names by its path (else the oldest unfinished one)."""
    path = getattr(exc, "path", None)
    for job in pending.values():
        if path and job.input_path == path:
            return job
    return next(iter(pending.values()))


def _failure(exc: BaseException, attempt_at: float) -> JobFailure:
    """The failed job's failure, timed by the executor when its file reached the guest, else
    from ``attempt_at`` (e.g. the guest or its contracts failed to load) to now."""
    span = (attempt_at, time.time())
    if isinstance(exc, ExecutionError) and exc.started_at:
        span = (exc.started_at, exc.finished_at)
    if isinstance(exc, JobError):
        return JobFailure(exc.kind, exc.message, exc.transient, exc.trace, None, *span)
    if isinstance(exc, ExecutionError):
        return JobFailure(exc.kind, exc.message, exc.retryable, exc.traceback, None, *span)
    assert isinstance(exc, GuestError)
    return JobFailure(exc.kind, exc.message, exc.retryable, exc.traceback, None, *span)


def _log_failure(log: JobLog, failure: JobFailure) -> None:
    log.write("error", f"{failure.kind}: {failure.message}")
    if failure.trace:
        log.write("error", failure.trace)


def make_handler(config: Config, store: Store) -> Any:
    """The default handler factory the worker loads (with its settings and its store)."""
    return ProdHandler(config, store)
