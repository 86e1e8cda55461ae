"""``ws.jobs``: the queue — enqueue, process, read, retry, cancel; the daemon and worker hosts."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ._group import Group

if TYPE_CHECKING:
    import threading

    from ..events import EventSink
    from ..runner.matching import EnqueueReport
    from ..runner.pool import PoolSummary
    from ..store.jobs import DeadLetter, Job, QueueCounts
    from ..store.workers import LiveWorker

CANCEL_WAIT_S = 10.0
"""How long ``cancel`` waits for a running job's worker to stop its work (a worker on another
host learns of the cancel at its next heartbeat, so the wait may end first)."""
CANCEL_POLL_S = 0.05


@dataclass(frozen=True)
class LiveWorkers:
    """Live workers (``LiveWorker``: its record and the jobs it runs) and the store's clock
    when they were read (``now - worker.record.heartbeat_at`` is a heartbeat's age)."""

    workers: tuple[LiveWorker, ...]
    now: float


class Jobs(Group):
    """The job queue (its policy was given to the store when it was built) and what drains it."""

    def enqueue(self, parser: str | None = None) -> list[EnqueueReport]:
        """Queue scanned files matched by registered parsers (tags or patterns), never twice."""
        from ..runner.matching import enqueue_matching

        return enqueue_matching(self._store, parser)

    def process(
        self,
        parser: str | None = None,
        workers: int | None = None,
        on_event: EventSink | None = None,
        cancel: threading.Event | None = None,
        claim_batch: int | None = None,
        queue_matching: bool = True,
        niceness: int = 0,
        stop_grace_s: float | None = None,
    ) -> PoolSummary:
        """Queue matching files (unless the caller did: ``queue_matching=False``), then drain
        the queue with the worker pool; returns a summary. ``niceness`` lowers the workers' CPU
        priority (an interactive caller keeps the CPU it needs to stay responsive).
        ``stop_grace_s``: how long a ``cancel`` waits for running jobs before it kills their
        workers and requeues the jobs (default ``runner.pool.STOP_GRACE_S``)."""
        from ..events import ignore_events
        from ..runner.pool import STOP_GRACE_S, PoolOptions, WorkerPool

        if queue_matching and self._store.parsers.all():
            self.enqueue(parser)
        options = PoolOptions(
            workers=workers,
            parser_names=(parser,) if parser else None,
            kind="process",
            claim_batch=claim_batch,
            niceness=niceness,
            stop_grace_s=STOP_GRACE_S if stop_grace_s is None else stop_grace_s,
        )
        return WorkerPool(self._config, options).run(on_event or ignore_events, cancel)

    def get(self, job_id: int) -> Job | None:
        """One job (None for an unknown id)."""
        return self._store.jobs.get(job_id)

    def counts(self) -> QueueCounts:
        """Job counts by state ("2 running, 5 pending", "1 failed, 8 complete")."""
        return self._store.jobs.counts()

    def dead_letters(self, include_replayed: bool = False) -> list[DeadLetter]:
        """Jobs that spent their retries; kept until a person looks at them."""
        return self._store.jobs.dead_letters(include_replayed)

    def log_path(self, job_id: int) -> Path | None:
        """Where a job's log is (or will be, once it starts); None for an unknown job."""
        from ..logs import job_log_path

        job = self.get(job_id)
        if job is None:
            return None
        if job.log_path:
            return Path(job.log_path)
        return job_log_path(self._config.logs_dir, job.id, job.started_at)

    # --- Replay and cancel ---
    def replay(self, job_id: int) -> bool:
        """Requeue a dead-lettered, failed or cancelled job with a fresh retry budget."""
        replayed = self._store.jobs.replay(job_id)
        if replayed:
            self._store.audit.record("job.replay", str(job_id))
        return replayed

    def retry(self, job_id: int) -> bool:
        """The TUI's "retry failed": the same as a replay."""
        return self.replay(job_id)

    def replay_refusal(self, job_id: int) -> str | None:
        """Why replaying this job would process its file twice (None: nothing else holds it)."""
        return self._store.jobs.replay_refusal(job_id)

    def cancel(self, job_id: int, wait_s: float = CANCEL_WAIT_S) -> bool:
        """Cancel a queued or running job; a running worker's result is then refused. A running
        job's worker is told at once (SIGUSR1, when it runs on this host) and this waits up to
        ``wait_s`` until the worker says the job's work stopped (its guest killed)."""
        from ..runner.worker import poke_worker

        jobs = self._store.jobs
        holder = jobs.cancel_naming_worker(job_id)
        if holder is None:
            return False
        self._store.audit.record("job.cancel", str(job_id))
        if not holder:
            return True  # it was queued: no work to stop
        worker = poke_worker(holder)
        deadline = time.monotonic() + wait_s
        while not jobs.cancel_stopped(job_id) and time.monotonic() < deadline:
            if worker is not None and not worker.is_running():
                break  # the worker is gone (and its work with it)
            time.sleep(CANCEL_POLL_S)
        return True

    # --- Serving the queue ---
    def serve(
        self,
        workers: int | None = None,
        on_event: EventSink | None = None,
        stop: threading.Event | None = None,
    ) -> PoolSummary:
        """The daemon (``casparian start``): watch ``watch_folders``, rescan them periodically,
        queue what registered parsers match and keep the worker pool serving the queue until
        ``stop`` is set (SIGTERM, Ctrl+C)."""
        from ..events import ignore_events
        from ..runner.daemon import run_daemon

        return run_daemon(self._store, self._config, workers, on_event or ignore_events, stop)

    def worker_host(
        self,
        workers: int | None = None,
        parsers: Sequence[str] = (),
        claim_batch: int | None = None,
        follow: bool = True,
        worker_env: dict[str, str] | None = None,
        cancel: threading.Event | None = None,
    ) -> PoolSummary:
        """A worker host (``casparian worker``): a pool of workers claiming from this store's
        queue into ``config.output_dir`` until ``cancel`` is set (or, unless ``follow``, the
        queue is empty); each worker says on stderr what happens to its leases. ``worker_env``:
        settings the workers must share with this host (its ``--store``, ``--output``)."""
        from ..runner.pool import PoolOptions, WorkerPool

        options = PoolOptions(
            workers=workers,
            parser_names=tuple(parsers) or None,
            kind="process",
            claim_batch=claim_batch,
            follow=follow,
            output_root=self._config.output_dir,
            extra_env=dict(worker_env or {}),
            log=True,
        )
        return WorkerPool(self._config, options).run(cancel=cancel)

    def live_workers(self) -> LiveWorkers:
        """The workers whose heartbeat is younger than ``lease_timeout_s``, on any host, read
        on the store's clock (ages are right across hosts)."""
        registry = self._store.workers
        now = registry.clock()
        live = registry.live(self._config.settings.lease_timeout_s, now=now)
        return LiveWorkers(tuple(live), now)

    def list(
        self,
        status: str | None = None,
        parser: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[Job]:
        """Jobs newest first, optionally of one state or parser."""
        return self._store.jobs.find(status, parser, limit=limit, offset=offset)
