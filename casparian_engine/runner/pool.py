"""The worker pool: start N worker processes on the queue, report progress, end with a summary.

Before starting it requeues orphans of this host (jobs left ``running`` by a worker that died)
and leases nobody renewed. While it runs it keeps requeueing stale leases, replaces a worker that
crashed, and turns the queue's counts into throttled progress events. Cancelling (Ctrl+C, SIGTERM,
the TUI's stop) asks every worker to stop gracefully: running jobs finish, claimed ones return.
A worker still running a job when the stop's grace ends is killed with its guests, and the jobs
it held are requeued at once (``error_kind`` 'interrupted', the message says why), so no job is
left looking ``running``; while it waits, the pool reports ``PoolStopping`` events.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

import psutil

from ..config import Config
from ..events import Event, EventSink, PoolProgress, PoolStopping, ignore_events
from ..job_states import JobState
from ..logs import rotate_logs
from ..store import Store
from ..store.jobs import QueueCounts
from .file_reports import FileReports
from .reaper import reap
from .worker import DEFAULT_HANDLER, open_job_store

PROGRESS_INTERVAL_S = 0.1  # how often the pool checks its workers (and reads their reports)
PROGRESS_REFRESH_S = 0.5  # how often it counts jobs in the store for a progress event
STOP_GRACE_S = 30.0
"""How long a stop waits for running jobs to finish before their workers are killed (and the
jobs requeued); an interactive caller may choose a shorter wait (``PoolOptions.stop_grace_s``)."""
INTERRUPTED = "interrupted"
"""``error_kind`` of a job requeued because its worker was killed when a stop's grace ran out."""
GUEST_EXIT_WAIT_S = 5.0
"""How long a stop waits for the guests it killed to exit."""
PR_SET_PDEATHSIG = 1
T = TypeVar("T")


@dataclass(frozen=True)
class PoolSummary(Event):
    """How a pool run ended."""

    counts: dict[str, int]
    rows_emitted: int
    rows_written: int
    rows_quarantined: int
    elapsed_s: float
    jobs_finished: int
    orphans_requeued: int
    paused_parsers: tuple[str, ...] = ()
    worker_crashes: int = 0
    cancelled: bool = False
    jobs_interrupted: int = 0
    """Jobs requeued because a stop's grace ran out while they ran (their workers were killed)."""

    @property
    def files_per_s(self) -> float:
        return self.jobs_finished / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def rows_per_s(self) -> float:
        return self.rows_written / self.elapsed_s if self.elapsed_s > 0 else 0.0


@dataclass(frozen=True)
class PoolOptions:
    workers: int | None = None
    parser_names: tuple[str, ...] | None = None
    kind: str | None = None
    claim_batch: int | None = None  # None: the worker's default (BATCH_CLAIM)
    follow: bool = False
    output_root: Path | None = None
    handler_spec: str = DEFAULT_HANDLER
    extra_env: dict[str, str] = field(default_factory=dict)
    stop_grace_s: float = STOP_GRACE_S
    """How long a stop waits for running jobs before killing their workers and requeueing them."""
    log: bool = False
    """Workers say on stderr what happens to their leases (a worker host's log)."""
    niceness: int = 0
    """Added to the workers' nice value (and so their guests'): an interactive caller such as
    the TUI runs them at a lower CPU priority than itself, so its screen never waits on them."""


def _descendants(pid: int) -> list[psutil.Process]:
    """Every live process below ``pid`` (a worker's guests and their children)."""
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _pid_alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def recover_leases(store: Store, config: Config, output_root: Path | None = None) -> int:
    """Requeue this host's orphans, then reap: every lease without a recent heartbeat, on any
    host (see ``runner.reaper``); ``output_root``: this pool's output folder."""
    orphans = store.jobs.reset_orphans(socket.gethostname(), _pid_alive)
    reaped = reap(store, config.settings.lease_timeout_s, [output_root or config.output_dir])
    return len(orphans) + len(reaped.requeued)


def _die_with_parent() -> None:
    """In the worker child: get SIGTERM if the pool dies, so no worker outlives it."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def _prepare_worker(niceness: int) -> Callable[[], None]:
    """What the worker child runs before ``exec``: die with the pool, then lower its priority."""

    def prepare() -> None:
        _die_with_parent()
        if niceness:
            os.nice(niceness)

    return prepare


@dataclass
class _PoolRun:
    """One run of the pool as it goes: the queue before it, the store's last counts, the
    workers that crashed and those waiting to be replaced, and when the checks are next due."""

    store: Store
    started: float
    before: QueueCounts
    totals_before: tuple[int, int, int]
    next_stale_check: float
    crashes: int = 0
    to_replace: int = 0  # workers crashed: requeue their jobs, then replace them
    progress_at: float = 0.0
    stored: tuple[QueueCounts, tuple[int, int, int]] | None = None


def _wait_for_cancel(cancel: threading.Event) -> bool:
    """Wait one tick; True when the run is to stop (Ctrl+C too: the workers got SIGINT and
    stop gracefully)."""
    try:
        return cancel.wait(PROGRESS_INTERVAL_S)
    except KeyboardInterrupt:
        cancel.set()
        return True


class WorkerPool:
    """N worker processes on one store; ``run`` blocks until drained or cancelled."""

    def __init__(self, config: Config, options: PoolOptions) -> None:
        self.config = config
        self.options = options
        self.worker_count = options.workers or config.settings.max_concurrent_workers
        self.processes: list[subprocess.Popen[bytes]] = []
        self.interrupted: list[int] = []  # jobs requeued when a stop killed their workers
        self.store_down = False  # a following pool's last store step failed
        self.reports = FileReports()  # files finished in batches not committed yet
        self.shown: PoolProgress | None = None  # the last progress reported

    @property
    def output_root(self) -> Path:
        return self.options.output_root or self.config.output_dir

    def _command(self, reports_fd: int | None = None) -> list[str]:
        options = self.options
        command = [sys.executable, "-m", "casparian_engine.runner.worker"]
        command += ["--home", str(self.config.home)]
        if options.claim_batch:
            command += ["--batch", str(options.claim_batch)]
        command += ["--handler", options.handler_spec, "--peers", str(self.worker_count)]
        for name in options.parser_names or ():
            command += ["--parser", name]
        if options.kind:
            command += ["--kind", options.kind]
        if options.follow:
            command.append("--follow")
        if options.output_root:
            command += ["--output-root", str(options.output_root)]
        if options.log:
            command.append("--log")
        if reports_fd is not None:
            command += ["--reports-fd", str(reports_fd)]
        return command

    def _spawn(self) -> subprocess.Popen[bytes]:
        """Start a worker with a pipe on which it reports each file as it finishes."""
        env = {**os.environ, **self.options.extra_env, "CASPARIAN_HOME": str(self.config.home)}
        prepare = _prepare_worker(self.options.niceness)
        read_fd, write_fd = self.reports.new_pipe()
        try:
            process = subprocess.Popen(
                self._command(write_fd), env=env, preexec_fn=prepare, pass_fds=(write_fd,)
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)  # the worker holds it now: the pool reads end of file when it exits
        self.reports.attach(process.pid, read_fd)
        return process

    def _counts(self, store: Store) -> QueueCounts:
        return store.jobs.counts(self.options.parser_names, kind=self.options.kind)

    def _row_totals(self, store: Store) -> tuple[int, int, int]:
        """Rows emitted, written and quarantined by this pool's parsers' jobs of its kind (never
        those of another run going on beside it)."""
        return store.jobs.row_totals(parser_names=self.options.parser_names, kind=self.options.kind)

    def run(
        self, on_event: EventSink = ignore_events, cancel: threading.Event | None = None
    ) -> PoolSummary:
        """Drain the queue (or keep serving it with ``follow``) and summarise the run."""
        store = open_job_store(self.config)
        started = time.monotonic()
        cancel = cancel or threading.Event()
        self.interrupted = []
        self.shown = None
        try:
            recovered = recover_leases(store, self.config, self.output_root)
            settings = self.config.settings
            rotate_logs(self.config.logs_dir, settings.log_retention_days, settings.log_total_bytes)
            before = self._counts(store)
            totals_before = self._row_totals(store)
            self.processes = [self._spawn() for _ in range(self.worker_count)]
            next_stale_check = time.monotonic() + settings.heartbeat_interval_s
            run = _PoolRun(store, started, before, totals_before, next_stale_check)
            while True:
                self._report_progress(run, on_event)
                if _wait_for_cancel(cancel):
                    self._stop_workers(store, on_event)
                    break
                if not self._tend_workers(run):
                    break
                if time.monotonic() >= run.next_stale_check:
                    self._store_step(
                        lambda: reap(store, settings.lease_timeout_s, [self.output_root])
                    )
                    run.next_stale_check = time.monotonic() + settings.heartbeat_interval_s
            return self._summary(
                store, before, totals_before, started, recovered, run.crashes, cancel.is_set()
            )
        finally:
            self._stop_workers(store)
            self.reports.close()
            store.close()

    def _report_progress(self, run: _PoolRun, on_event: EventSink) -> None:
        """A progress event when a worker reported a file, and at least every
        ``PROGRESS_REFRESH_S`` from the store's counts (two scans of cf_jobs: not every tick)."""
        reported = self.reports.read()
        if time.monotonic() - run.progress_at >= PROGRESS_REFRESH_S:
            store = run.store
            run.stored = (
                self._store_step(lambda: (self._counts(store), self._row_totals(store)))
                or run.stored
            )
            run.progress_at = time.monotonic()
            reported = True
        if reported and run.stored is not None:
            on_event(self._progress(run.before, *run.stored, run.totals_before, run.started))

    def _tend_workers(self, run: _PoolRun) -> bool:
        """Forget the workers that exited and replace the crashed ones; False when no worker
        is left and none is waiting to be replaced (the run is over)."""
        crashed = [p for p in self.processes if p.poll() not in (None, 0)]
        for process in self.processes:
            if process.poll() is not None:
                self.reports.read()
                self.reports.forget(process.pid)  # committed, or requeued if it died
        self.processes = [p for p in self.processes if p.poll() is None]
        run.crashes += len(crashed)
        run.to_replace += len(crashed)
        # The crashed workers' jobs go back to the queue, then new workers take their
        # place (draining: while work is left). A store outage, often what crashed
        # them, defers both to a later tick; the jobs never wait for the lease reaper.
        if run.to_replace and self._store_step(lambda: self._recover(run.store)):
            if self.options.follow or self._work_left(run.store):
                self.processes += [self._spawn() for _ in range(run.to_replace)]
            run.to_replace = 0
        return bool(self.processes or run.to_replace)

    def _store_step(self, step: Callable[[], T]) -> T | None:
        """One periodic store step of the loop. A pool that follows the queue (a worker host, the
        daemon) rides out a store outage: the step is skipped (None) and tried again on a later
        tick, while the workers' own heartbeats retry; a draining pool fails as before."""
        if not self.options.follow:
            return step()
        try:
            result = step()
        except Exception as exc:  # noqa: BLE001 - the store or the network is down for a while
            if not self.store_down and self.options.log:
                print(f"pool: the store is unreachable, retrying: {exc}", file=sys.stderr)
            self.store_down = True
            return None
        if self.store_down and self.options.log:
            print("pool: the store is reachable again", file=sys.stderr)
        self.store_down = False
        return result

    def _recover(self, store: Store) -> bool:
        recover_leases(store, self.config, self.output_root)
        return True

    def _work_left(self, store: Store) -> bool:
        return store.jobs.next_due(self.options.parser_names, self.options.kind) is not None

    def _stop_workers(self, store: Store, on_event: EventSink = ignore_events) -> None:
        """Stop every worker: SIGTERM lets running jobs finish and hands claimed ones back; a
        worker still busy when the grace runs out is killed with its guests, and the jobs it held
        are requeued as ``interrupted`` so none is left looking ``running``."""
        live = [p for p in self.processes if p.poll() is None]
        for process in live:
            process.send_signal(signal.SIGTERM)
        grace = self.options.stop_grace_s
        deadline = time.monotonic() + grace
        while live and time.monotonic() < deadline:
            try:
                running = self._counts(store)[JobState.RUNNING]
            except Exception:  # noqa: BLE001 - a failing store must not stop the stop itself
                running = len(live)
            on_event(PoolStopping(running, len(live), max(0.0, deadline - time.monotonic())))
            for process in live:
                try:
                    process.wait(min(PROGRESS_REFRESH_S, max(0.0, deadline - time.monotonic())))
                except subprocess.TimeoutExpired:
                    break
            live = [p for p in live if p.poll() is None]
        killed_guests: list[psutil.Process] = []
        for process in live:
            guests = _descendants(process.pid)
            process.kill()
            process.wait()
            for guest in guests:  # a guest runs in its own session: it would outlive its worker
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(guest.pid, signal.SIGKILL)  # its group: the guest's own children
                with contextlib.suppress(psutil.Error):
                    guest.kill()
            killed_guests += guests
            try:
                self.interrupted += store.jobs.release_worker(
                    socket.gethostname(),
                    process.pid,
                    INTERRUPTED,
                    f"requeued: the run was stopped and the job was still running after the "
                    f"{grace:g} s grace, so its worker was stopped",
                )
            except Exception:  # noqa: BLE001 - the next pool's start requeues a dead worker's jobs
                continue  # (recover_leases: orphans of this host whose process is gone)
        # SIGKILL takes effect when the kernel next runs the guest: the stop returns once the
        # guests are really gone (or after GUEST_EXIT_WAIT_S), not while they may still be running.
        _wait_until_gone(killed_guests, GUEST_EXIT_WAIT_S)
        self.processes = []

    def _progress(
        self,
        before: QueueCounts,
        counts: QueueCounts,
        row_totals: Sequence[int],
        totals_before: Sequence[int],
        started: float,
    ) -> PoolProgress:
        """Where the run stands: what the store counts (read every ``PROGRESS_REFRESH_S``) plus
        the files workers reported finished in batches they have not committed yet. The figures
        never go down: a batch's files leave the reports just before its commit reaches the
        store, and meanwhile the previous figure stands."""
        uncommitted = self.reports.uncommitted
        committed_failed = (
            counts[JobState.FAILED]
            + counts[JobState.DEAD_LETTER]
            - before[JobState.FAILED]
            - before[JobState.DEAD_LETTER]
        )
        finished = counts.finished - before.finished
        progress = PoolProgress(
            finished=finished + uncommitted.finished,
            total=finished + counts[JobState.QUEUED] + counts[JobState.RUNNING],
            running=counts[JobState.RUNNING],
            queued=counts[JobState.QUEUED],
            failed=committed_failed + uncommitted.failed,
            rows_written=row_totals[1] - totals_before[1],
            elapsed_s=time.monotonic() - started,
            rows_quarantined=row_totals[2] - totals_before[2] + uncommitted.rows_quarantined,
        )
        last = self.shown
        if last is not None:
            finished = max(progress.finished, last.finished)
            progress = replace(
                progress,
                finished=finished,
                total=max(progress.total, finished),
                failed=max(progress.failed, last.failed),
                rows_quarantined=max(progress.rows_quarantined, last.rows_quarantined),
            )
        self.shown = progress
        return progress

    def _summary(
        self,
        store: Store,
        before: QueueCounts,
        totals_before: Sequence[int],
        started: float,
        recovered: int,
        crashes: int,
        cancelled: bool,
    ) -> PoolSummary:
        counts = self._counts(store)
        emitted, written, quarantined = self._row_totals(store)
        delta = {
            status: counts[status] - before[status]
            for status in set(counts.by_status) | set(before.by_status)
        }
        return PoolSummary(
            counts={k: v for k, v in sorted(delta.items()) if v},
            rows_emitted=emitted - totals_before[0],
            rows_written=written - totals_before[1],
            rows_quarantined=quarantined - totals_before[2],
            elapsed_s=time.monotonic() - started,
            jobs_finished=counts.finished - before.finished,
            orphans_requeued=recovered,
            paused_parsers=tuple(
                h.parser_name
                for h in store.health.paused_parsers()
                if self.options.parser_names is None or h.parser_name in self.options.parser_names
            ),
            worker_crashes=crashes,
            cancelled=cancelled,
            jobs_interrupted=len(self.interrupted),
        )


def _wait_until_gone(processes: Sequence[psutil.Process], timeout_s: float) -> None:
    """Wait until each process has exited (a zombie counts: it runs no more code), or timeout."""
    deadline = time.monotonic() + timeout_s
    for process in processes:
        while time.monotonic() < deadline:
            try:
                if process.status() == psutil.STATUS_ZOMBIE:
                    break
            except psutil.NoSuchProcess:
                break
            time.sleep(0.01)
