"""One prod worker: claim leased batches of jobs, run them through a batch handler, commit only
while held.

A worker is its own process (``python -m casparian_engine.runner.worker``) so a crash or a
``kill -9`` takes nothing else down: its leases simply stop being renewed and the jobs return to
the queue. A heartbeat thread renews every lease it holds; a job whose lease was taken away
(cancelled, requeued) is told to stop and its result is refused by the store. SIGTERM/SIGINT stop
it gracefully: the running job finishes, claimed jobs not yet started are handed back. SIGUSR1
(sent when an operator cancels one of its jobs) makes it check its leases at once, so the
cancelled job's work stops without waiting for the next heartbeat.

Every claim runs as one batch (``runner.batch``): the handler is ``runner.prod``'s, which runs
registered parser bundles in warm guests. ``WorkerOptions.handler_spec`` names another batch
handler only for ``bench/process.py``, which measures the queue's own cost with one that emits
nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

from ..config import Config, load_config
from ..errors import CasparianError
from ..job_states import JobState
from ..signals import relay_signals
from ..store import Store, open_store
from ..store.jobs import Lease, new_worker_id
from ..store.workers import WorkerRecord
from .batch import BatchContext, BatchHandler, BatchResult, JobLogs, commit_batch, log_commit
from .file_reports import FileReporter
from .parts import recover_parts

DEFAULT_HANDLER = "casparian_engine.runner.prod:make_handler"
BATCH_CLAIM = 256  # jobs claimed at once: one Parquet part per output per claim

logger = logging.getLogger("casparian.worker")


class JobError(CasparianError):
    """A job failed; ``transient`` failures (timeout, OOM risk, connection reset) are retried."""

    def __init__(self, kind: str, message: str, transient: bool = False, trace: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.transient = transient
        self.trace = trace


HandlerFactory = Callable[[Config, Store], BatchHandler]
"""``factory(config, store)``: the worker hands over its settings and its own store."""


def load_handler_factory(spec: str) -> HandlerFactory:
    """Resolve ``"module:function"`` to a handler factory; the message says what is missing."""
    module_name, _, attribute = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise RuntimeError(f"job handler {spec!r}: cannot import {module_name!r}: {exc}") from exc
    factory = getattr(module, attribute or "make_handler", None)
    if not callable(factory):
        raise RuntimeError(f"job handler {spec!r}: {module_name} has no callable {attribute!r}")
    return cast("HandlerFactory", factory)


def open_job_store(config: Config) -> Store:
    """Open the store with the queue policy (retries, backoff, breaker) of these settings."""
    return open_store(config)


@dataclass(frozen=True)
class WorkerOptions:
    parser_names: tuple[str, ...] | None = None
    kind: str | None = None
    claim_batch: int | None = None  # None: BATCH_CLAIM
    drain: bool = True  # exit when nothing is left to claim (process) or wait for more (daemon)
    idle_poll_s: float = 1.0
    output_root: Path | None = None
    handler_spec: str = DEFAULT_HANDLER
    peers: int = 1  # workers sharing the queue: a short queue is split fairly among them
    reports_fd: int | None = None
    """A pipe to the pool: each file of a batch is reported as it finishes (``file_reports``)."""


class Worker:
    """Claims and runs jobs until the queue is drained or ``stop`` is set."""

    def __init__(self, config: Config, options: WorkerOptions, store: Store | None = None) -> None:
        self.config = config
        self.options = options
        self.store = store or open_job_store(config)
        self.worker_id = new_worker_id()
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.check_leases = threading.Event()  # SIGUSR1: a job was cancelled, look now
        self._held: dict[str, dict[int, threading.Event]] = {}
        self._held_lock = threading.Lock()
        self.jobs_run = 0
        self.reporter = FileReporter(options.reports_fd)
        host, pid, _nonce = self.worker_id.split(":", 2)
        self.record = WorkerRecord(
            self.worker_id, host, int(pid), str(self.output_root), time.time(), time.time()
        )

    # -- heartbeats --------------------------------------------------------------------------
    def _heartbeat_loop(self, done: threading.Event) -> None:
        """Renew leases every heartbeat interval, and at once when poked (``check_leases``,
        set by SIGUSR1 when an operator cancelled one of this worker's jobs)."""
        interval = self.config.settings.heartbeat_interval_s
        while True:
            self.check_leases.wait(interval)
            self.check_leases.clear()
            if done.is_set():
                return
            try:
                self.renew_leases()
                self.store.workers.beat(self.record)
            except Exception as exc:  # noqa: BLE001 - the store is unreachable: try again later
                logger.warning(
                    "worker %s: heartbeat failed, retrying in %g s: %s",
                    self.worker_id,
                    interval,
                    exc,
                )

    def renew_leases(self) -> None:
        """Renew every lease held; tell jobs whose lease was taken away to stop."""
        with self._held_lock:
            held = {token: dict(jobs) for token, jobs in self._held.items()}
        for token, jobs in held.items():
            still_held = self.store.jobs.heartbeat(token)
            for job_id, cancel in jobs.items():
                if job_id in still_held or cancel.is_set():
                    continue
                cancel.set()
                taken = self._taken_away(job_id, token)
                if taken:
                    logger.warning(
                        "worker %s: lease %s lost for job %d (%s): its work stops and nothing "
                        "of it is published",
                        self.worker_id,
                        token,
                        job_id,
                        taken,
                    )

    def _taken_away(self, job_id: int, token: str) -> str | None:
        """Why a job no longer running under ``token`` was taken from this worker; None when this
        worker itself finished it or sent it back (its commit landed between the heartbeat and
        the worker forgetting the lease)."""
        job = self.store.jobs.get(job_id)
        if job is None:
            return "deleted"
        if job.status == JobState.CANCELLED:
            return "cancelled"
        if job.lease_token is not None and job.lease_token != token:
            return f"requeued and taken by {job.worker_id}, now {job.status}"
        if job.status == JobState.QUEUED and job.error_kind in ("lease_expired", "orphaned"):
            return f"requeued: {job.error_kind}"
        return None

    # -- the loop ----------------------------------------------------------------------------
    def run(self) -> int:
        """Work until drained or stopped; returns how many jobs this worker ran."""
        handler = load_handler_factory(self.options.handler_spec)(self.config, self.store)
        if not callable(getattr(handler, "run_batch", None)):
            raise RuntimeError(f"job handler {self.options.handler_spec!r} has no run_batch")
        claim = self.options.claim_batch or BATCH_CLAIM
        recover_parts(self.store, self.output_root)
        self.store.workers.beat(self.record)
        done = threading.Event()
        beat = threading.Thread(target=self._heartbeat_loop, args=(done,), daemon=True)
        beat.start()
        try:
            while not self.stop.is_set():
                lease = self.store.jobs.claim(
                    self.worker_id,
                    limit=claim,
                    parser_names=self.options.parser_names,
                    kind=self.options.kind,
                    share=self.options.peers,
                )
                if lease.jobs:
                    self._run_batch(lease, handler)
                elif not self._wait_for_work():
                    break
        finally:
            done.set()
            self.check_leases.set()  # let the heartbeat thread see ``done`` now
            close = getattr(handler, "close", None)
            if callable(close):
                close()
            with contextlib.suppress(Exception):  # the reaper removes it when the store is gone
                self.store.workers.leave(self.worker_id)
            self.reporter.close()
        return self.jobs_run

    def _wait_for_work(self) -> bool:
        """Sleep until the next retry is due or new work may exist; False when drained."""
        due = self.store.jobs.next_due(self.options.parser_names, self.options.kind)
        if due is None and self.options.drain:
            return False
        delay = self.options.idle_poll_s if due is None else max(0.0, due - time.time())
        self.wake.wait(min(delay, self.options.idle_poll_s))
        self.wake.clear()
        return True

    @property
    def output_root(self) -> Path:
        return self.options.output_root or self.config.output_dir

    def _run_batch(self, lease: Lease, handler: BatchHandler) -> None:
        """Run a lease as one batch: one part per output, one commit (see ``runner.batch``)."""
        with self._held_lock:
            self._held[lease.token] = {job.id: threading.Event() for job in lease.jobs}
        logs = JobLogs(self.config, self.worker_id)
        try:
            taken = self._held[lease.token]
            context = BatchContext(
                lease, self.config, self.output_root, logs, self.stop, taken, self._let_go
            )
            context.file_done = self.reporter.file_done
            result = handler.run_batch(context)
            self.jobs_run += len(result.outcomes) + len(result.failures)
            self._log_stopped(lease, result, logs)
            if result.unstarted:
                self.store.jobs.release(lease.token, result.unstarted)
            for job_id, outcome in result.outcomes.items():
                log_path = logs.path_if_written(job_id)
                if log_path:
                    result.outcomes[job_id] = replace(outcome, log_path=log_path)
            for job_id, failure in result.failures.items():
                result.failures[job_id] = replace(failure, log_path=logs.path_if_written(job_id))
            self.reporter.committing()  # from now on the store counts them (or requeues them)
            report = commit_batch(self.store, lease, result)
            jobs = {job.id: job for job in lease.jobs}
            log_commit(logs, jobs, report, self.store.health.threshold)
            if report.lost:
                logger.warning(
                    "worker %s: lease %s lost for %d job(s) %s (requeued or cancelled while this "
                    "worker ran them): commit refused, their rows were discarded from its staged "
                    "parts and nothing of them was published",
                    self.worker_id,
                    lease.token,
                    len(report.lost),
                    list(report.lost),
                )
        finally:
            self.reporter.committing()  # a batch that failed as a whole reported nothing lasting
            logs.close()
            self._release_taken(lease.token)

    def _log_stopped(self, lease: Lease, result: BatchResult, logs: JobLogs) -> None:
        """Tell the log of each job taken away while this worker ran it (cancelled, or its lease
        expired and it was requeued) that its work stopped: the next run's lines follow."""
        taken = self._held.get(lease.token, {})
        ended = set(result.outcomes) | set(result.failures) | set(result.unstarted)
        for job in lease.jobs:
            if job.id in ended or not taken.get(job.id, threading.Event()).is_set():
                continue
            why = self._taken_away(job.id, lease.token)
            if why:
                logs.for_job(job).write(
                    "warning",
                    f"lease lost ({why}) while this worker ran it: its work stopped and "
                    "nothing of it was published",
                )

    def _let_go(self, job_ids: Sequence[int]) -> None:
        """Say that this worker stopped working on these jobs (taken away from it): a cancel
        waiting for them learns the work really ended."""
        if job_ids:
            self.store.jobs.let_go(self.worker_id, job_ids)

    def _release_taken(self, token: str) -> None:
        """A lease is done: forget it, and let go of its jobs that were taken away meanwhile."""
        with self._held_lock:
            jobs = self._held.pop(token, {})
        self._let_go([job_id for job_id, taken in jobs.items() if taken.is_set()])


def poke_worker(worker_id: str) -> Any:
    """Tell a worker of this host to look at its leases now (SIGUSR1): one of its jobs was
    cancelled. Returns its ``psutil.Process``, or None when it runs elsewhere or is gone."""
    import socket

    import psutil

    host, _, rest = worker_id.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    try:
        process = psutil.Process(int(pid_text))
        if "casparian_engine.runner.worker" not in process.cmdline():
            return None  # the pid now belongs to another program
        process.send_signal(signal.SIGUSR1)
    except psutil.Error:
        return None
    return process


def _parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="casparian-worker", description=__doc__)
    parser.add_argument("--home", required=True)
    parser.add_argument("--parser", action="append", dest="parsers")
    parser.add_argument("--kind")
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument(
        "--follow", action="store_true", help="wait for new work instead of exiting"
    )
    parser.add_argument("--output-root")
    parser.add_argument("--handler", default=DEFAULT_HANDLER)
    parser.add_argument("--peers", type=int, default=1, help="workers sharing the queue")
    parser.add_argument(
        "--log", action="store_true", help="say on stderr what happens to leases (worker hosts)"
    )
    parser.add_argument(
        "--reports-fd", type=int, default=None, help="pipe to the pool: files as they finish"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of a worker process started by the pool."""
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    # A pool under the TUI shares its terminal: only a worker host (--log) reports its leases.
    logger.setLevel(logging.INFO if args.log else logging.ERROR)
    config = load_config(args.home)
    options = WorkerOptions(
        parser_names=tuple(args.parsers) if args.parsers else None,
        kind=args.kind,
        claim_batch=args.batch,
        drain=not args.follow,
        output_root=Path(args.output_root) if args.output_root else None,
        handler_spec=args.handler,
        peers=max(1, args.peers),
        reports_fd=args.reports_fd,
    )
    worker = Worker(config, options)

    def stop() -> None:
        worker.stop.set()
        worker.wake.set()

    restore_signals = relay_signals(
        {signal.SIGTERM: stop, signal.SIGINT: stop, signal.SIGUSR1: worker.check_leases.set}
    )
    try:
        worker.run()
    finally:
        restore_signals()
        worker.store.close()
    return 0


if __name__ == "__main__":
    # Run the module under its real name: the handler imports it (``JobError``), and a second
    # copy of it as ``__main__`` would hold classes of the same names that are not the same.
    from casparian_engine.runner import worker as _worker

    sys.exit(_worker.main())
