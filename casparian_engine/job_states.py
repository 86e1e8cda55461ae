"""The states of a job in the queue, and the rules over them, in one place.

A job is ``queued`` until a worker claims it (``running``), then ends ``completed``,
``completed_with_warnings`` (rows were quarantined), ``failed`` (a permanent error, or a transient
one while retries remain it goes back to ``queued``), ``dead_letter`` (transient errors used up
its retries) or ``cancelled``. The rules every face and the store use:

- *live*: queued or running — the job is still to do, and can be cancelled;
- *terminal*: every other state — the job is over (``jobs wait`` returns);
- *replayable*: failed, dead-lettered or cancelled — ``jobs replay`` / Jobs' ``r`` queue it again;
- *succeeded*: completed, with or without warnings — its outputs count as evidence;
- *ended in error*: failed or dead-lettered.
"""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    """One job state; compares equal to its text as stored in ``cf_jobs.status``."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    COMPLETED_WITH_WARNINGS = "completed_with_warnings"
    FAILED = "failed"
    DEAD_LETTER = "dead_letter"
    CANCELLED = "cancelled"

    @classmethod
    def parse(cls, text: str) -> JobState:
        """The state named ``text``; ``ValueError`` listing the states otherwise."""
        try:
            return cls(text)
        except ValueError:
            raise ValueError(f"unknown job status {text!r}; use one of {STATE_NAMES}") from None

    @property
    def live(self) -> bool:
        return self in LIVE_STATES

    @property
    def terminal(self) -> bool:
        return self not in LIVE_STATES

    @property
    def replayable(self) -> bool:
        return self in REPLAYABLE_STATES

    @property
    def succeeded(self) -> bool:
        return self in SUCCEEDED_STATES

    @property
    def ended_in_error(self) -> bool:
        return self in ERROR_STATES


JOB_STATES = tuple(JobState)
LIVE_STATES = (JobState.QUEUED, JobState.RUNNING)
TERMINAL_STATES = tuple(state for state in JobState if state not in LIVE_STATES)
REPLAYABLE_STATES = (JobState.FAILED, JobState.DEAD_LETTER, JobState.CANCELLED)
SUCCEEDED_STATES = (JobState.COMPLETED, JobState.COMPLETED_WITH_WARNINGS)
ERROR_STATES = (JobState.FAILED, JobState.DEAD_LETTER)
STATE_NAMES = ", ".join(JOB_STATES)


def is_replayable(status: str) -> bool:
    """Whether a job with this stored status can be queued again."""
    return status in REPLAYABLE_STATES


def is_live(status: str) -> bool:
    """Whether a job with this stored status is still to do (and can be cancelled)."""
    return status in LIVE_STATES


def sql_states(states: tuple[JobState, ...]) -> str:
    """The states as a SQL list of literals for ``status IN (...)``: ``'queued', 'running'``."""
    return ", ".join(f"'{state.value}'" for state in states)


QUEUED_SQL = sql_states((JobState.QUEUED,))
RUNNING_SQL = sql_states((JobState.RUNNING,))
CANCELLED_SQL = sql_states((JobState.CANCELLED,))
"""One state as a SQL literal, for the store's ``status = 'running'`` (as ``sql_states`` for
``IN`` lists): the state's text is written once, in ``JobState``."""
