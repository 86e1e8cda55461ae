"""Processing history: nothing is processed twice by the same parser version."""

from __future__ import annotations

from casparian_engine.store import Store
from casparian_engine.store.jobs import JobOutcome, NewJob

from .jobs_support import store_on_each_backend  # noqa: F401


def test_history_records_first_job_and_ignores_repeats(store: Store) -> None:
    assert store.history.record("abc", "p", "1", 7) is True
    assert store.history.record("abc", "p", "1", 8) is False
    entry = store.history.get("abc", "p", "1")
    assert entry is not None and entry.job_id == 7
    assert store.history.get("abc", "p", "2") is None
    store.history.record("def", "p", "2", 9)
    assert store.history.versions_of("p") == {"1": 1, "2": 1}
    assert store.history.forget("p", "1") == 1
    assert store.history.versions_of("p") == {"2": 1}


def test_copies_in_one_batch_are_queued_once(store: Store) -> None:
    ids = store.jobs.enqueue(
        [
            NewJob("p", "1", "/in/a.csv", "same"),
            NewJob("p", "1", "/in/copy.csv", "same"),
            NewJob("p", "1", "/in/other.csv", "different"),
        ]
    )
    assert [j.input_path for j in store.jobs.find()] == ["/in/other.csv", "/in/a.csv"]
    assert len(ids) == 2


def test_completed_content_is_not_requeued_after_a_rename(store: Store) -> None:
    (job_id,) = store.jobs.enqueue([NewJob("p", "1", "/in/a.csv", "h")])
    lease = store.jobs.claim("w")
    store.jobs.complete(job_id, lease.token, JobOutcome(rows_written=1))
    assert store.jobs.enqueue([NewJob("p", "1", "/in/renamed.csv", "h")]) == []
    assert store.jobs.enqueue([NewJob("other", "1", "/in/renamed.csv", "h")]) != []


def test_files_without_a_hash_are_deduplicated_by_path_while_active(store: Store) -> None:
    assert len(store.jobs.enqueue([NewJob("p", "1", "/in/a.csv")])) == 1
    assert store.jobs.enqueue([NewJob("p", "1", "/in/a.csv")]) == []
    assert len(store.jobs.enqueue([NewJob("p", "1", "/in/b.csv")])) == 1
