"""Job states and their rules (live, terminal, replayable) in one enum, and the queue following
them: every state is reached through the real queue operations on SQLite and PostgreSQL, then
``replay`` and ``cancel`` are tried on it and must agree with the rules."""

from __future__ import annotations

import pytest

from casparian_engine.job_states import (
    JOB_STATES,
    LIVE_STATES,
    REPLAYABLE_STATES,
    TERMINAL_STATES,
    JobState,
    is_live,
    is_replayable,
)
from casparian_engine.store import Store
from casparian_engine.store.jobs import JobFailure, JobOutcome, NewJob
from casparian_engine.workspace import Workspace


@pytest.fixture
def workspace(workspace_on_each_store: Workspace) -> Workspace:
    return workspace_on_each_store


def test_the_rules() -> None:
    assert [str(state) for state in JOB_STATES] == [
        "queued", "running", "completed", "completed_with_warnings", "failed", "dead_letter",
        "cancelled",
    ]  # fmt: skip
    assert LIVE_STATES == (JobState.QUEUED, JobState.RUNNING)
    assert set(TERMINAL_STATES) == set(JobState) - set(LIVE_STATES)
    assert REPLAYABLE_STATES == (JobState.FAILED, JobState.DEAD_LETTER, JobState.CANCELLED)
    assert [s for s in JobState if s.replayable] == list(REPLAYABLE_STATES)
    assert [s for s in JobState if s.live] == list(LIVE_STATES)
    assert JobState.parse("dead_letter") is JobState.DEAD_LETTER
    with pytest.raises(ValueError) as raised:
        JobState.parse("done")
    assert str(raised.value) == (
        "unknown job status 'done'; use one of queued, running, completed, "
        "completed_with_warnings, failed, dead_letter, cancelled"
    )


def job_in(store: Store, state: JobState, name: str) -> int:
    """A job brought to ``state`` by the queue's own operations."""
    store.jobs.max_retries = 0  # a transient failure dead-letters at once
    (job_id,) = store.jobs.enqueue([NewJob(name, "1", f"/data/{name}.csv", f"h-{name}")])
    if state is JobState.QUEUED:
        return job_id
    if state is JobState.CANCELLED:
        assert store.jobs.cancel(job_id)
        return job_id
    lease = store.jobs.claim(f"w-{name}", limit=1, parser_names=[name])
    assert [job.id for job in lease.jobs] == [job_id]
    if state is JobState.COMPLETED:
        assert store.jobs.complete(job_id, lease.token, JobOutcome(rows_written=1))
    elif state is JobState.COMPLETED_WITH_WARNINGS:
        assert store.jobs.complete(job_id, lease.token, JobOutcome(rows_quarantined=1))
    elif state is JobState.FAILED:
        store.jobs.fail(job_id, lease.token, JobFailure("ParseError", "bad"))
    elif state is JobState.DEAD_LETTER:
        store.jobs.fail(job_id, lease.token, JobFailure("OSError", "gone", transient=True))
    return job_id


@pytest.mark.parametrize("state", list(JobState), ids=str)
def test_replay_and_cancel_follow_the_rules(workspace: Workspace, state: JobState) -> None:
    store = workspace.store
    replayed = job_in(store, state, "r")
    assert store.jobs.get(replayed).status == state
    assert workspace.jobs.replay(replayed) is state.replayable is is_replayable(state.value)
    assert store.jobs.get(replayed).status == (JobState.QUEUED if state.replayable else state)
    cancelled = job_in(store, state, "c")
    assert workspace.jobs.cancel(cancelled) is state.live is is_live(state.value)
    assert store.jobs.get(cancelled).status == (JobState.CANCELLED if state.live else state)
