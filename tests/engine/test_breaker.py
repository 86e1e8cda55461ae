"""The circuit breaker: five consecutive failed files pause a parser; resume clears it."""

from __future__ import annotations

import logging

import pytest

from casparian_engine.store import Store
from casparian_engine.store.jobs import FailResult, JobFailure, JobOutcome

from .jobs_support import new_jobs, store_on_each_backend  # noqa: F401


def _fail_next(store: Store, parser: str = "p") -> FailResult:
    lease = store.jobs.claim("w", parser_names=[parser])
    (job,) = lease.jobs
    return store.jobs.fail(job.id, lease.token, JobFailure("parse_error", f"bad {job.id}"))


def test_five_consecutive_failures_pause_the_parser(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    store.jobs.enqueue(new_jobs(8, parser="broken"))
    store.jobs.enqueue(new_jobs(2, parser="healthy", start=100))
    caplog.set_level(logging.ERROR, logger="casparian_engine.breaker")
    results = [_fail_next(store, "broken") for _ in range(5)]
    assert [r.breaker_tripped for r in results] == [False] * 4 + [True]
    assert caplog.messages == [
        "[CIRCUIT_BREAKER] Parser 'broken' paused after 5 consecutive failures"
    ]
    health = store.health.get("broken")
    assert health is not None and health.paused and health.consecutive_failures == 5
    assert health.last_failure_reason == "parse_error: bad 5"
    # Paused: its remaining jobs stay queued and are not handed out; other parsers carry on.
    assert store.jobs.claim("w", limit=10, parser_names=["broken"]).jobs == ()
    assert {j.parser_name for j in store.jobs.claim("w", limit=10).jobs} == {"healthy"}
    assert store.jobs.counts(parser_names=["broken"])["queued"] == 3
    assert [h.parser_name for h in store.health.paused_parsers()] == ["broken"]
    # Resume clears the state and the queue hands its jobs out again.
    assert store.health.resume("broken") is True
    assert store.health.resume("broken") is False
    assert len(store.jobs.claim("w", limit=10, parser_names=["broken"]).jobs) == 3
    cleared = store.health.get("broken")
    assert cleared is not None and (cleared.paused, cleared.consecutive_failures) == (False, 0)


def test_a_success_breaks_the_run_of_failures(store: Store) -> None:
    store.jobs.enqueue(new_jobs(10))
    for _ in range(4):
        _fail_next(store)
    lease = store.jobs.claim("w")
    assert store.jobs.complete(lease.jobs[0].id, lease.token, JobOutcome())
    assert store.health.get("p").consecutive_failures == 0  # type: ignore[union-attr]
    assert [_fail_next(store).breaker_tripped for _ in range(4)] == [False] * 4
    assert store.health.get("p").paused is False  # type: ignore[union-attr]


def test_retried_transient_failures_do_not_count_until_terminal(store: Store) -> None:
    store.jobs.max_retries = 1
    store.jobs.retry_backoff_s = (0.0,)
    store.jobs.enqueue(new_jobs(5))
    for _ in range(5):
        lease = store.jobs.claim("w")
        job = lease.jobs[0]
        assert store.jobs.fail(job.id, lease.token, JobFailure("timeout", "t", True)).status == (
            "queued"
        )
        lease = store.jobs.claim("w")
        store.jobs.fail(lease.jobs[0].id, lease.token, JobFailure("timeout", "t", True))
    health = store.health.get("p")
    assert health is not None and health.paused and health.consecutive_failures == 5
    assert len(store.jobs.dead_letters()) == 5
