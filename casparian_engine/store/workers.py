"""The worker registry (``cf_workers``): which worker processes serve the queue, from which host.

Each worker process registers when it starts (host, pid, output folder) and renews its heartbeat
with its leases; it removes itself when it exits. A worker whose heartbeat is older than the lease
timeout is dead, paused or cut off from the store: the reaper removes its row when it requeues
stale leases (a paused worker that comes back registers again with its next heartbeat, but its
jobs are gone). ``casparian workers`` reads ``live`` to show the hosts and what each worker runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..job_states import RUNNING_SQL
from .db import Database

REAPER_LOCK = 0x43465250  # the PostgreSQL advisory lock key of the reaper ("CFRP")
MAX_LISTED_JOBS = 1000
"""Most running jobs ``live`` attaches to the workers (the rest are counted, not listed)."""


@dataclass(frozen=True)
class WorkerRecord:
    """One registered worker process."""

    worker_id: str
    host: str
    pid: int
    output_root: str
    started_at: float
    heartbeat_at: float


@dataclass(frozen=True)
class RunningJob:
    """A job a worker holds: its id, parser and input."""

    job_id: int
    parser_name: str
    input_path: str


@dataclass(frozen=True)
class LiveWorker:
    """A worker with a recent heartbeat and the jobs it holds now."""

    record: WorkerRecord
    jobs: tuple[RunningJob, ...]


class WorkerRegistry:
    """Register, renew and list the worker processes of the queue."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def reaper_lock(self) -> bool:
        """Take the store-wide reaper lock for the rest of the caller's transaction; False when
        another host holds it (it is reaping now). On PostgreSQL an advisory transaction lock, so
        stale leases are requeued, and their staging removed, by one host at a time; on SQLite the
        transaction's own write lock already serialises every writer."""
        if self.db.dialect != "postgresql":
            return True
        row = self.db.query_one(f"SELECT pg_try_advisory_xact_lock({REAPER_LOCK})")
        return bool(row and row[0])

    def beat(self, record: WorkerRecord, now: float | None = None) -> None:
        """Register ``record`` or renew its heartbeat (a reaped worker registers again)."""
        stamp, stamp_params = self.db.lease_clock(now)
        self.db.execute(
            "INSERT INTO cf_workers (worker_id, host, pid, output_root, started_at, heartbeat_at) "
            f"VALUES (?, ?, ?, ?, ?, {stamp}) ON CONFLICT (worker_id) DO UPDATE SET "
            "heartbeat_at = excluded.heartbeat_at",
            (
                record.worker_id,
                record.host,
                record.pid,
                record.output_root,
                record.started_at,
                *stamp_params,
            ),
        )

    def leave(self, worker_id: str) -> None:
        """A worker exits: remove it from the registry."""
        self.db.execute("DELETE FROM cf_workers WHERE worker_id = ?", (worker_id,))

    def reap(self, timeout_s: float, now: float | None = None) -> list[WorkerRecord]:
        """Remove workers with no heartbeat for ``timeout_s``; returns them."""
        stamp, stamp_params = self.db.lease_clock(now)
        rows = self.db.query(
            f"DELETE FROM cf_workers WHERE heartbeat_at < {stamp} - ? RETURNING worker_id, host, "
            "pid, output_root, started_at, heartbeat_at",
            (*stamp_params, timeout_s),
        )
        return sorted((_record(row) for row in rows), key=lambda r: r.worker_id)

    def clock(self) -> float:
        """Now, as heartbeats are stamped (the server's clock on PostgreSQL)."""
        stamp, stamp_params = self.db.lease_clock(None)
        row = self.db.query_one(f"SELECT {stamp}", stamp_params)
        return float(row[0])

    def all(self) -> list[WorkerRecord]:
        """Every registered worker, by host then pid."""
        rows = self.db.query(
            "SELECT worker_id, host, pid, output_root, started_at, heartbeat_at FROM cf_workers "
            "ORDER BY host, pid, worker_id"
        )
        return [_record(row) for row in rows]

    def live(self, timeout_s: float, now: float | None = None) -> list[LiveWorker]:
        """Workers whose heartbeat is younger than ``timeout_s``, each with its running jobs."""
        cutoff = (self.clock() if now is None else now) - timeout_s
        records = [r for r in self.all() if r.heartbeat_at >= cutoff]
        if not records:
            return []
        rows = self.db.query(
            "SELECT id, parser_name, input_path, worker_id FROM cf_jobs "
            f"WHERE status = {RUNNING_SQL} ORDER BY id LIMIT ?",
            (MAX_LISTED_JOBS,),
        )
        jobs: dict[str, list[RunningJob]] = {}
        for job_id, parser_name, input_path, worker_id in rows:
            jobs.setdefault(str(worker_id), []).append(
                RunningJob(int(job_id), str(parser_name), str(input_path))
            )
        return [LiveWorker(r, tuple(jobs.get(r.worker_id, ()))) for r in records]


def _record(row: tuple[object, ...]) -> WorkerRecord:
    worker_id, host, pid, output_root, started_at, heartbeat_at = row
    return WorkerRecord(
        str(worker_id),
        str(host),
        int(str(pid)),
        str(output_root),
        float(str(started_at)),
        float(str(heartbeat_at)),
    )
