"""The job queue on SQLite and PostgreSQL: claims, leases, retries, dead letter, cancel, replay."""

from __future__ import annotations

import os
import socket
import time

from casparian_engine.store import Store
from casparian_engine.store.jobs import JobFailure, JobOutcome, NewJob

from .jobs_support import new_jobs, store_on_each_backend  # noqa: F401


def test_claim_sets_one_token_and_moves_jobs_to_running(store: Store) -> None:
    ids = store.jobs.enqueue(new_jobs(5))
    lease = store.jobs.claim("w1", limit=3)
    assert [j.id for j in lease.jobs] == ids[:3]
    assert {j.status for j in lease.jobs} == {"running"}
    assert {j.lease_token for j in lease.jobs} == {lease.token}
    second = store.jobs.claim("w2", limit=10)
    assert [j.id for j in second.jobs] == ids[3:]
    assert store.jobs.claim("w3", limit=10).jobs == ()


def test_priority_orders_claims(store: Store) -> None:
    low = store.jobs.enqueue([NewJob("p", "1", "/a", "ha")])
    high = store.jobs.enqueue([NewJob("p", "1", "/b", "hb", priority=5)])
    assert [j.id for j in store.jobs.claim("w", limit=2).jobs] == high + low


def test_enqueue_skips_duplicates_and_processed_content(store: Store) -> None:
    first = store.jobs.enqueue([NewJob("p", "1", "/a.csv", "same")])
    # The same content under another name while the first is queued: not queued twice.
    assert store.jobs.enqueue([NewJob("p", "1", "/copy-of-a.csv", "same")]) == []
    lease = store.jobs.claim("w")
    assert store.jobs.complete(first[0], lease.token, JobOutcome(rows_written=3))
    # Processed by this version: a renamed copy is not reprocessed; a new version is.
    assert store.jobs.enqueue([NewJob("p", "1", "/renamed.csv", "same")]) == []
    assert len(store.jobs.enqueue([NewJob("p", "2", "/renamed.csv", "same")])) == 1
    entry = store.history.get("same", "p", "1")
    assert entry is not None and entry.job_id == first[0]
    # Forced (backfill --force) enqueues even processed content.
    assert len(store.jobs.enqueue([NewJob("p", "1", "/a.csv", "same")], skip_processed=False)) == 1


def test_complete_needs_the_current_token(store: Store) -> None:
    (job_id,) = store.jobs.enqueue(new_jobs(1))
    lease = store.jobs.claim("w1")
    assert store.jobs.complete(job_id, "not-the-token", JobOutcome()) is False
    assert store.jobs.get(job_id).status == "running"  # type: ignore[union-attr]
    # The lease expires, another worker takes the job: the first worker's result is refused.
    assert store.jobs.requeue_stale(lease_timeout_s=0.0, now=lease.jobs[0].heartbeat_at + 1) == [
        job_id
    ]
    second = store.jobs.claim("w2")
    assert store.jobs.heartbeat(lease.token) == set()
    assert store.jobs.complete(job_id, lease.token, JobOutcome(rows_written=1)) is False
    assert store.jobs.fail(job_id, lease.token, JobFailure("x", "y")).status == "lost"
    assert store.jobs.complete(job_id, second.token, JobOutcome(rows_written=2, rows_quarantined=1))
    job = store.jobs.get(job_id)
    assert job is not None
    assert (job.status, job.rows_written, job.worker_id) == ("completed_with_warnings", 2, "w2")


def test_heartbeat_renews_only_held_jobs(store: Store) -> None:
    store.jobs.enqueue(new_jobs(2))
    lease = store.jobs.claim("w", limit=2)
    assert store.jobs.heartbeat(lease.token, now=1e12) == {j.id for j in lease.jobs}
    assert store.jobs.requeue_stale(lease_timeout_s=300, now=1e12 + 299) == []
    assert store.jobs.requeue_stale(lease_timeout_s=300, now=1e12 + 301) == sorted(
        j.id for j in lease.jobs
    )
    assert store.jobs.counts()["queued"] == 2


def test_transient_failures_retry_with_backoff_then_dead_letter(store: Store) -> None:
    (job_id,) = store.jobs.enqueue(new_jobs(1))
    delays = []
    for attempt in range(3):
        lease = store.jobs.claim("w")
        assert [j.id for j in lease.jobs] == [job_id], attempt
        failed_before = time.time()
        result = store.jobs.fail(job_id, lease.token, JobFailure("timeout", "slow", True))
        assert result.status == "queued" and result.retry_at is not None
        delays.append(round(result.retry_at - failed_before))
        job = store.jobs.get(job_id)
        assert job is not None and job.retry_count == attempt + 1
        assert job.not_before == result.retry_at and job.error_kind == "timeout"
        # Not due yet: nothing to claim until the backoff has passed.
        assert store.jobs.claim("w").jobs == ()
        assert store.jobs.claim("w", now=result.retry_at - 0.1).jobs == ()
        assert store.jobs.next_due() == result.retry_at
        store.jobs.db.execute("UPDATE cf_jobs SET not_before = 0 WHERE id = ?", (job_id,))
    assert delays == [1, 4, 16]
    lease = store.jobs.claim("w")
    result = store.jobs.fail(job_id, lease.token, JobFailure("timeout", "slow again", True))
    assert result.status == "dead_letter"
    (letter,) = store.jobs.dead_letters()
    assert (letter.job_id, letter.parser_name, letter.input_path, letter.retry_count) == (
        job_id,
        "p",
        "/data/f0.csv",
        3,
    )
    assert letter.error == "timeout: slow again"
    assert store.jobs.get(job_id).status == "dead_letter"  # type: ignore[union-attr]


def test_permanent_failure_fails_at_once(store: Store) -> None:
    (job_id,) = store.jobs.enqueue(new_jobs(1))
    lease = store.jobs.claim("w")
    result = store.jobs.fail(job_id, lease.token, JobFailure("parse_error", "bad header"))
    assert result.status == "failed"
    job = store.jobs.get(job_id)
    assert job is not None
    assert (job.status, job.retry_count, job.error_message) == ("failed", 0, "bad header")
    assert store.jobs.dead_letters() == []


def test_replay_requeues_dead_letter_and_keeps_the_record(store: Store) -> None:
    store.jobs.max_retries = 0
    (job_id,) = store.jobs.enqueue(new_jobs(1))
    lease = store.jobs.claim("w")
    assert store.jobs.fail(job_id, lease.token, JobFailure("timeout", "t", True)).status == (
        "dead_letter"
    )
    assert store.jobs.replay(job_id) is True
    assert store.jobs.get(job_id).status == "queued"  # type: ignore[union-attr]
    assert store.jobs.dead_letters() == []
    (kept,) = store.jobs.dead_letters(include_replayed=True)
    assert kept.job_id == job_id and kept.replayed_at is not None
    assert store.jobs.replay(job_id) is False  # queued jobs are not replayable


def test_cancel_queued_and_running(store: Store) -> None:
    queued_id, running_id = store.jobs.enqueue(new_jobs(2))
    lease = store.jobs.claim("w")
    assert lease.jobs[0].id == queued_id
    assert store.jobs.cancel(running_id) is True
    assert store.jobs.cancel(queued_id) is True
    assert store.jobs.heartbeat(lease.token) == set()
    assert store.jobs.complete(queued_id, lease.token, JobOutcome()) is False
    assert store.jobs.get(queued_id).status == "cancelled"  # type: ignore[union-attr]
    assert store.jobs.cancel(queued_id) is False


def test_reset_orphans_requeues_jobs_of_dead_local_workers(store: Store) -> None:
    store.jobs.enqueue(new_jobs(3))
    host = socket.gethostname()
    dead = store.jobs.claim(f"{host}:999999:abc", limit=1)
    alive = store.jobs.claim(f"{host}:{os.getpid()}:def", limit=1)
    remote = store.jobs.claim("elsewhere:1:xyz", limit=1)
    released = store.jobs.reset_orphans(host, is_alive=lambda pid: pid == os.getpid())
    assert released == [dead.jobs[0].id]
    assert store.jobs.get(alive.jobs[0].id).status == "running"  # type: ignore[union-attr]
    assert store.jobs.get(remote.jobs[0].id).status == "running"  # type: ignore[union-attr]
    orphan = store.jobs.get(dead.jobs[0].id)
    assert orphan is not None and (orphan.status, orphan.error_kind) == ("queued", "orphaned")


def test_a_host_name_with_like_wildcards_releases_only_its_own_workers(store: Store) -> None:
    store.jobs.enqueue(new_jobs(3))
    own = store.jobs.claim("web_1:999999:abc", limit=1)
    other_host = store.jobs.claim("webX1:999999:def", limit=1)  # '_' matches any character
    other_pid = store.jobs.claim("web_1:9999990:xyz", limit=1)
    assert store.jobs.reset_orphans("web_1", is_alive=lambda pid: pid == 9999990) == [
        own.jobs[0].id
    ]
    assert store.jobs.get(other_host.jobs[0].id).status == "running"  # type: ignore[union-attr]
    assert store.jobs.release_worker("web%", 9999990, "interrupted", "stopped") == []
    released = store.jobs.release_worker("web_1", 9999990, "interrupted", "stopped")
    assert released == [other_pid.jobs[0].id]


def test_counts_and_listing(store: Store) -> None:
    ids = store.jobs.enqueue(new_jobs(4))
    lease = store.jobs.claim("w", limit=2)
    store.jobs.complete(lease.jobs[0].id, lease.token, JobOutcome(rows_written=7))
    counts = store.jobs.counts()
    assert (counts["queued"], counts["running"], counts["completed"], counts.total) == (2, 1, 1, 4)
    assert [j.id for j in store.jobs.find(status="queued")] == sorted(ids[2:], reverse=True)
    assert store.jobs.row_totals() == (0, 7, 0)
