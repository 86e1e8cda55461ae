"""The queue's policy (retries, backoff, circuit breaker) is given to the store when it is built:
the very first use of ``workspace.store.jobs`` already follows the home's settings."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from casparian_engine.job_states import JobState
from casparian_engine.store import QueuePolicy, Store
from casparian_engine.store.jobs import FailResult, JobFailure, NewJob
from casparian_engine.workspace import Workspace

SETTINGS = "max_retries = 1\nretry_backoff_s = [7.0]\ncircuit_breaker_threshold = 2\n"


@pytest.fixture
def workspace(home: Path) -> Iterator[Workspace]:
    (home / "config.toml").write_text(SETTINGS)
    opened = Workspace.open(home)
    yield opened
    opened.close()


def fail_once(store: Store, parser: str, name: str, transient: bool) -> tuple[int, FailResult]:
    (job_id,) = store.jobs.enqueue([NewJob(parser, "1", f"/data/{name}", f"h-{name}")])
    lease = store.jobs.claim("w", limit=1, parser_names=[parser])
    return job_id, store.jobs.fail(job_id, lease.token, JobFailure("E", "boom", transient))


def test_the_first_use_of_the_queue_follows_the_settings(workspace: Workspace) -> None:
    store = workspace.store  # no Workspace method called before: nothing applied the policy late
    assert store.policy == QueuePolicy(1, (7.0,), 2)
    before = time.time()
    job_id, first = fail_once(store, "p", "a.csv", transient=True)
    assert first.status == JobState.QUEUED
    assert first.retry_at is not None and first.retry_at >= before + 7.0
    store.db.execute("UPDATE cf_jobs SET not_before = 0 WHERE id = ?", (job_id,))
    lease = store.jobs.claim("w", limit=1, parser_names=["p"])
    second = store.jobs.fail(job_id, lease.token, JobFailure("E", "boom", transient=True))
    assert second.status == JobState.DEAD_LETTER  # one retry, then the dead letter
    _, tripped = fail_once(store, "q", "b.csv", transient=False)
    assert not tripped.breaker_tripped
    _, tripped = fail_once(store, "q", "c.csv", transient=False)
    assert tripped.breaker_tripped  # the second failure in a row


def test_a_bare_store_has_the_documented_defaults(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        assert (store.jobs.max_retries, store.jobs.retry_backoff_s, store.health.threshold) == (
            3, (1.0, 4.0, 16.0), 5,
        )  # fmt: skip
    finally:
        store.close()
