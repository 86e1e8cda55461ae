"""The queue through real registered bundles and real guests (no stand-in handler): a transient
guest error is retried after the configured backoffs and then dead-lettered; permanent failures
are audited and trip the circuit breaker; a duplicate forced past the queue is refused at commit;
the daemon picks up a new file for a registered parser."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from casparian_engine.job_states import JobState
from casparian_engine.runner.daemon import DaemonRound
from casparian_engine.store.jobs import Job, NewJob
from casparian_engine.workspace import Workspace

from .real_bundles import TRANSIENT, failing_on, invoices, job_of, register

WAIT_LIMIT_S = 60.0


def poll_until(condition: Callable[[], bool], what: str) -> None:
    """Poll the store until ``condition`` holds (the work we wait for), failing after a limit."""
    deadline = time.monotonic() + WAIT_LIMIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def log_lines(workspace: Workspace, job: Job) -> list[str]:
    path = workspace.jobs.log_path(job.id)
    assert path is not None and path.is_file()
    return path.read_text().splitlines()


def test_a_transient_guest_error_is_retried_after_each_backoff_then_dead_lettered(
    home: Path, tmp_path: Path
) -> None:
    (home / "config.toml").write_text("max_retries = 2\nretry_backoff_s = [0.2, 0.5]\n")
    with Workspace.open(home) as workspace:
        workspace.files.scan(invoices(tmp_path / "data", "ok.csv", "flaky.csv"))
        register(workspace, tmp_path / "parser", TRANSIENT)
        summary = workspace.jobs.process(workers=1)
        assert (summary.counts["completed"], summary.counts["dead_letter"]) == (1, 1)
        flaky = job_of(workspace, "flaky.csv")
        assert (flaky.status, flaky.retry_count) == (JobState.DEAD_LETTER, 2)
        lines = log_lines(workspace, flaky)
        (letter,) = workspace.jobs.dead_letters()
    outcomes = [line.split("job is now ", 1)[1] for line in lines if "job is now " in line]
    assert outcomes == ["queued (retry in 0.2 s)", "queued (retry in 0.5 s)", "dead_letter"]
    attempts = [line for line in lines if "(attempt " in line]
    assert [a.split("(attempt ", 1)[1][0] for a in attempts] == ["1", "2", "3"]
    # each retry ran no sooner than its backoff after the failure before it (a log line is
    # stamped to the millisecond, cut: hence the 1 ms)
    errors = [line for line in lines if " ERROR   TransientError: " in line]
    assert len(errors) == 3
    waited = [_seconds_between(errors[n], attempts[n + 1]) for n in range(2)]
    assert waited[0] >= 0.2 - 0.001 and waited[1] >= 0.5 - 0.001, waited
    assert (letter.job_id, letter.retry_count) == (flaky.id, 2)
    assert f"share offline: {tmp_path / 'data' / 'invoices' / 'flaky.csv'}" in letter.error


def _seconds_between(earlier: str, later: str) -> float:
    """Seconds from one log line's ``HH:MM:SS.mmm`` stamp to another's (past midnight too)."""

    def stamp(line: str) -> float:
        hours, minutes, seconds = line.split(" ", 1)[0].split(":")
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)

    return (stamp(later) - stamp(earlier)) % 86_400


def test_permanent_guest_failures_trip_the_breaker(
    home: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    (home / "config.toml").write_text("circuit_breaker_threshold = 2\n")
    with Workspace.open(home) as workspace:
        workspace.files.scan(invoices(tmp_path / "data", "bad1.csv", "bad2.csv"))
        register(workspace, tmp_path / "parser", failing_on("bad"))
        summary = workspace.jobs.process(workers=1)
        assert summary.counts["failed"] == 2
        assert summary.paused_parsers == ("invoices",)
        alert = "[CIRCUIT_BREAKER] Parser 'invoices' paused after 2 consecutive failures"
        assert alert in capfd.readouterr().err  # the worker's alert on stderr
        health = workspace.store.health.get("invoices")
        assert health is not None and health.paused_at is not None
        assert health.last_failure_reason is not None
        assert "bad header in" in health.last_failure_reason
        # each failure is audited, and each failed job keeps its own file's span
        folder = tmp_path / "data" / "invoices"
        audited = {e.subject: e.details for e in workspace.store.audit.list("job.failed")}
        for name in ("bad1.csv", "bad2.csv"):
            job = job_of(workspace, name)
            message = f"{folder / name}: bad header in {folder / name}"
            assert (job.error_kind, job.error_message) == ("ValueError", message)
            assert audited[str(job.id)] == {
                "parser": "invoices",
                "version": "1.0.0",
                "input_path": str(folder / name),
                "input_hash": job.input_hash,
                "error": f"ValueError: {message}",
                "status": "failed",
            }
        spans = sorted((j.started_at or 0.0, j.finished_at or 0.0) for j in workspace.jobs.list())
        assert spans[0][0] < spans[0][1] <= spans[1][0] < spans[1][1]
        invoices(tmp_path / "data", "good.csv")
        workspace.files.scan(tmp_path / "data")
        paused = workspace.jobs.process(workers=1)  # a paused parser runs nothing
        assert paused.counts.get("completed", 0) == 0
        workspace.parsers.resume("invoices")
        assert workspace.jobs.process(workers=1).counts["completed"] == 1


def test_the_daemon_processes_a_new_file_for_a_registered_parser(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    watched = invoices(tmp_path / "watched", "first.csv")
    monkeypatch.setenv("CASPARIAN_WATCH_FOLDERS", str(watched))
    monkeypatch.setenv("CASPARIAN_RESCAN_INTERVAL_S", "30")
    rounds: list[DaemonRound] = []
    stop = threading.Event()
    changed = threading.Condition()

    def record(event: object) -> None:
        with changed:
            if isinstance(event, DaemonRound):
                rounds.append(event)
            changed.notify_all()

    with Workspace.open(home) as workspace:
        register(workspace, tmp_path / "parser")
        daemon = threading.Thread(
            target=lambda: workspace.jobs.serve(workers=1, on_event=record, stop=stop)
        )
        daemon.start()
        try:
            completed = lambda n: lambda: workspace.jobs.counts()["completed"] == n  # noqa: E731
            wait_for(changed, completed(1), "the first file")
            invoices(watched, "second.csv")
            wait_for(changed, completed(2), "the file added while watching")
        finally:
            stop.set()
            daemon.join(WAIT_LIMIT_S)
        assert not daemon.is_alive()
        assert sum(r.queued for r in rounds) == 2
        done = {Path(j.input_path).name: j.status for j in workspace.jobs.list(limit=10)}
        assert done == {"first.csv": "completed", "second.csv": "completed"}
        parts = f"{workspace.config.output_dir / 'invoices'}/**/*.parquet"
        with duckdb.connect() as con:  # its own connection: the module's default one is shared
            assert con.sql(f"SELECT count(*) FROM read_parquet('{parts}')").fetchall() == [(2,)]


def wait_for(changed: threading.Condition, condition: Callable[[], bool], what: str) -> None:
    """Wait until ``condition`` holds, looking again at each daemon event (and each second)."""
    deadline = time.monotonic() + WAIT_LIMIT_S
    with changed:
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"gave up waiting for {what}")
            changed.wait(timeout=1.0)


def test_each_line_a_warm_guest_prints_lands_in_the_log_of_the_file_it_was_parsing(
    home: Path, tmp_path: Path
) -> None:
    # Short prints (well under a log batch) from one warm guest that packs several files'
    # rows into one frame: the results arrive after every file's lines, so only the guest's
    # per-file mark can say whose log a line belongs to.
    names = [f"part{n}.csv" for n in range(6)]
    with Workspace.open(home) as workspace:
        workspace.files.scan(invoices(tmp_path / "data", *names))
        register(workspace, tmp_path / "parser", 'print("parsing", str(path).rsplit("/", 1)[-1])')
        assert workspace.jobs.process(workers=1).counts["completed"] == len(names)
        printed = {
            name: [
                line for line in log_lines(workspace, job_of(workspace, name)) if "parsing" in line
            ]
            for name in names
        }
    assert {
        name: [line.rsplit(" ", 1)[-1] for line in lines] for name, lines in printed.items()
    } == {name: [name] for name in names}


def test_a_crashed_workers_jobs_go_back_to_the_queue_once_the_store_answers_again(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker dies holding a job while the store is unreachable (an outage often is what
    crashes workers): the pool requeues the job on a later tick, not after the 300 s lease."""
    import psutil

    from casparian_engine.runner import pool as pool_module

    data = invoices(tmp_path / "data", "held.csv")
    hold = data / "invoices" / "hold"  # beside the input: the guest's sandbox shows it
    hold.write_text("")
    body = (
        "import os, time\n"
        'while os.path.exists(os.path.join(os.path.dirname(str(path)), "hold")):\n'
        "    time.sleep(0.05)"
    )
    real_recover = pool_module.recover_leases
    calls: list[str] = []

    def recover_after_an_outage(*args: object, **kwargs: object) -> int:
        calls.append("recover")
        if len(calls) == 2:  # the first recovery after the crash (the 1st is the pool's start)
            raise OSError("the store is unreachable")
        return real_recover(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pool_module, "recover_leases", recover_after_an_outage)
    with Workspace.open(home) as workspace:
        workspace.files.scan(data)
        register(workspace, tmp_path / "parser", body)
        workspace.jobs.enqueue()
        options = pool_module.PoolOptions(workers=1, kind="process", follow=True)
        pool = pool_module.WorkerPool(workspace.config, options)
        stop = threading.Event()
        runner = threading.Thread(target=pool.run, kwargs={"cancel": stop})
        runner.start()
        try:
            held = job_of(workspace, "held.csv")
            status = lambda job: workspace.store.jobs.get(job.id).status  # noqa: E731
            poll_until(lambda: status(held) == JobState.RUNNING, "the worker to take the job")
            (worker,) = pool.processes
            guests = psutil.Process(worker.pid).children(recursive=True)
            worker.kill()
            for guest in guests:
                guest.kill()
            hold.unlink()
            poll_until(lambda: status(held) == JobState.COMPLETED, "the job to be run again")
        finally:
            stop.set()
            runner.join()
    assert len(calls) >= 3  # the pool tried again after the outage


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_duplicate_slipped_past_the_queue_is_refused_at_commit_and_audited(
    backend: str,
    home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    if backend == "postgresql":
        monkeypatch.setenv("CASPARIAN_STORE_URL", request.getfixturevalue("pg_url"))
    data = invoices(tmp_path / "data", "a.csv", rows=3)
    with Workspace.open(home) as workspace:
        assert workspace.config.store_url.startswith(backend)
        workspace.files.scan(data)
        register(workspace, tmp_path / "parser")
        assert workspace.jobs.process(workers=1).counts["completed"] == 1
        first = job_of(workspace, "a.csv")
        invoices(data, "b.csv", rows=2)
        workspace.files.scan(data)
        copy = data / "invoices" / "copy.csv"  # not scanned: only the forced job names it
        copy.write_bytes((data / "invoices" / "a.csv").read_bytes())
        store = workspace.store
        # a forced enqueue slips a second job for the same content past the queue's rules
        (dup,) = store.jobs.enqueue(
            [NewJob("invoices", "1.0.0", str(copy), first.input_hash)], skip_processed=False
        )
        summary = workspace.jobs.process(workers=1)
        assert (summary.counts["completed"], summary.counts["failed"]) == (1, 1)  # this run
        refused, other = store.jobs.get(dup), job_of(workspace, "b.csv")
        assert refused is not None and other.status == JobState.COMPLETED
        assert (refused.status, refused.error_kind) == (JobState.FAILED, "Duplicate")
        assert refused.error_message == (
            f"not written: its content was already processed by job {first.id} with invoices 1.0.0"
        )
        assert refused.output_paths == ()
        assert refused.started_at and refused.finished_at  # the refused run's own span
        assert refused.started_at <= refused.finished_at
        assert store.health.paused_parsers() == []  # a refused double write is no parser fault
        assert store.jobs.replay_refusal(dup) == (
            f"job {dup} not replayed: already processed by job {first.id} (completed)"
        )
        entry = store.history.get(first.input_hash, "invoices", "1.0.0")
        assert entry is not None and entry.job_id == first.id
        (failed,) = store.audit.list("job.failed")
        assert (failed.subject, failed.details) == (
            str(dup),
            {
                "parser": "invoices",
                "version": "1.0.0",
                "input_path": str(copy),
                "input_hash": first.input_hash,
                "error": f"Duplicate: {refused.error_message}",
                "status": "failed",
            },
        )
        completed = {e.subject for e in store.audit.list("job.completed")}
        assert completed == {str(first.id), str(other.id)}
        parts = f"{workspace.config.output_dir / 'invoices'}/**/*.parquet"
    with duckdb.connect() as con:  # the duplicate's rows were never published
        rows = con.sql(
            f"SELECT _cf_job_id, count(*) FROM read_parquet('{parts}') GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert rows == [(first.id, 3), (other.id, 2)]


def test_an_expired_lease_goes_to_another_worker_and_the_first_ones_result_is_refused(
    home: Path, tmp_path: Path
) -> None:
    """Worker A's heartbeats stop (SIGSTOP) while its guest parses: its lease expires, the pool
    requeues the job, worker B parses and commits it; when A wakes, nothing of its run is
    published, its log says why, and the output holds the file's rows once."""
    import psutil

    from casparian_engine.runner.pool import PoolOptions, WorkerPool

    (home / "config.toml").write_text("heartbeat_interval_s = 0.2\nlease_timeout_s = 1.0\n")
    data = invoices(tmp_path / "data", "held.csv", rows=3)
    hold = data / "invoices" / "hold"  # beside the input: the sandbox shows it
    hold.write_text("")
    body = (
        "import os, time\n"
        'while os.path.exists(os.path.join(os.path.dirname(str(path)), "hold")):\n'
        "    time.sleep(0.01)\n"
        'print("parsing", str(path).rsplit("/", 1)[-1])'
    )
    with Workspace.open(home) as workspace:
        workspace.files.scan(data)
        register(workspace, tmp_path / "parser", body)
        workspace.jobs.enqueue()
        held = job_of(workspace, "held.csv")
        job = lambda: workspace.store.jobs.get(held.id)  # noqa: E731
        pools = [WorkerPool(workspace.config, PoolOptions(workers=1)) for _ in range(2)]
        runners = [threading.Thread(target=pool.run) for pool in pools]
        runners[0].start()
        stopped: psutil.Process | None = None
        try:
            poll_until(lambda: job().status == JobState.RUNNING, "worker A to take the job")
            first = job().worker_id
            (worker_a,) = pools[0].processes
            stopped = psutil.Process(worker_a.pid)
            stopped.suspend()  # no more heartbeats; its guest waits on the hold file
            poll_until(
                lambda: job().status == JobState.QUEUED and job().error_kind == "lease_expired",
                "pool A to requeue the expired lease",
            )
            runners[1].start()
            poll_until(
                lambda: job().status == JobState.RUNNING and job().worker_id != first,
                "worker B to take the job",
            )
            second = job().worker_id
            hold.unlink()
            poll_until(lambda: job().status == JobState.COMPLETED, "worker B to commit")
            stopped.resume()
            stopped = None
        finally:
            if stopped is not None:
                stopped.resume()
            if hold.exists():
                hold.unlink()
            for runner in runners:
                if runner.ident is not None:  # started
                    runner.join()
        done = job()
        assert (done.status, done.worker_id, done.rows_written) == (JobState.COMPLETED, second, 3)
        logs = [p.read_text() for p in workspace.config.logs_dir.rglob("*.log")]
        parts = f"{workspace.config.output_dir / 'invoices'}/**/*.parquet"
        staged = [p for p in workspace.config.output_dir.rglob("*") if p.name.startswith(".")]
    lines = [line for text in logs for line in text.splitlines()]
    runs = [line.rsplit("worker ", 1)[1] for line in lines if "(attempt 1, worker " in line]
    assert sorted(runs) == sorted([f"{first})", f"{second})"])  # the job's log: both runs
    # A learns it lost the lease while its guest is stopped (nothing of its run is kept) or
    # once its result is in (the commit refuses it): either way its log says so, once
    (warning,) = [line.split("WARNING ", 1)[1] for line in lines if "WARNING " in line]
    assert warning in (
        f"lease lost (requeued and taken by {second}, now completed) while this worker ran "
        "it: its work stopped and nothing of it was published",
        "lease lost (the job was requeued or cancelled while this worker ran it): the commit "
        "was refused and the job's rows were discarded from the staged parts",
    )
    # B's guest parsed the file; A's guest too, its line logged if A read it before
    assert len([line for line in lines if line.endswith(" parsing held.csv")]) in (1, 2)
    assert staged == []
    with duckdb.connect() as con:
        rows = con.sql(f"SELECT _cf_job_id, count(*) FROM read_parquet('{parts}') GROUP BY 1")
        assert rows.fetchall() == [(held.id, 3)]
