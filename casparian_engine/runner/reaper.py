"""The reaper: requeue stale leases and remove what their workers left, one host at a time.

Every pool runs it at start-up and every heartbeat interval. Under the store's reaper lock (an
advisory lock on PostgreSQL, so with N hosts exactly one reaps at a time) it requeues running jobs
whose lease nobody renewed for ``lease_timeout_s`` and removes workers with no recent heartbeat from
the registry. When it found either, it then runs ``recover_parts`` over the output folders of the
workers it removed and its own: staged parts of leases that no longer hold a running job are
deleted (their jobs were requeued, so another worker writes them again), staged parts whose jobs
committed are renamed into place (their worker died between its commit and its renames).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..store import Store
from ..store.workers import WorkerRecord
from .parts import PartRecovery, recover_parts


@dataclass(frozen=True)
class Reaped:
    """What one reaper pass did (``skipped``: another host held the reaper lock)."""

    requeued: tuple[int, ...] = ()
    workers_gone: tuple[WorkerRecord, ...] = ()
    recovery: PartRecovery = field(default_factory=PartRecovery)
    skipped: bool = False


def reap(
    store: Store, lease_timeout_s: float, output_roots: Iterable[Path], now: float | None = None
) -> Reaped:
    """One reaper pass; ``output_roots``: this host's output folder(s)."""
    with store.db.transaction():
        if not store.workers.reaper_lock():
            return Reaped(skipped=True)
        requeued = store.jobs.requeue_stale(lease_timeout_s, now=now)
        gone = store.workers.reap(lease_timeout_s, now=now)
    recovery = PartRecovery()
    if requeued or gone:
        roots = {Path(root) for root in output_roots}
        roots |= {Path(worker.output_root) for worker in gone if worker.output_root}
        found = [recover_parts(store, root) for root in sorted(roots)]
        recovery = PartRecovery(
            tuple(p for r in found for p in r.published),
            tuple(p for r in found for p in r.deleted),
            tuple(p for r in found for p in r.left_running),
        )
    return Reaped(tuple(requeued), tuple(gone), recovery)
