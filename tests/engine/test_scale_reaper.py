"""The reaper across hosts: stale leases requeued once, their staged parts removed, one host at a
time (PostgreSQL advisory lock); the worker registry behind `casparian workers`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from contextlib import closing
from pathlib import Path

import pytest
from typer.testing import CliRunner

from casparian_engine.cli.main import app
from casparian_engine.runner.reaper import reap
from casparian_engine.store import Store
from casparian_engine.store.workers import WorkerRecord
from casparian_engine.workspace import Workspace

from .cli_support import CASPARIAN
from .jobs_support import (  # noqa: F401 - ``store_on_each_backend`` is the ``store`` fixture
    new_jobs,
    store_on_each_backend,
    write_csv_inputs,
)
from .real_bundles import invoices, register
from .test_backfill import _register
from .test_reliability import REPO_ROOT, _wait_until

LEASE_S = 300.0


def _stage(root: Path, token: str) -> Path:
    """A staged part of lease ``token`` as a worker leaves it while it runs."""
    folder = root / "p" / "out"
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / f".part-{token}-0.parquet.tmp"
    temp.write_bytes(b"rows of a batch nobody committed")
    return temp


def test_reaper_requeues_a_dead_hosts_leases_and_removes_its_staging(
    store: Store, tmp_path: Path
) -> None:
    output = tmp_path / "shared-output"
    store.jobs.enqueue(new_jobs(30))
    long_ago = time.time() - 10 * LEASE_S
    dead = store.jobs.claim("host-a:101:aaaa", limit=10, now=long_ago)
    alive = store.jobs.claim("host-b:202:bbbb", limit=10)
    store.workers.beat(WorkerRecord("host-a:101:aaaa", "host-a", 101, str(output), 0, 0), long_ago)
    store.workers.beat(WorkerRecord("host-b:202:bbbb", "host-b", 202, str(output), 0, 0))
    dead_temp, alive_temp = _stage(output, dead.token), _stage(output, alive.token)

    reaped = reap(store, LEASE_S, [tmp_path / "this-hosts-output"])

    assert not reaped.skipped
    assert list(reaped.requeued) == sorted(job.id for job in dead.jobs)
    assert [w.worker_id for w in reaped.workers_gone] == ["host-a:101:aaaa"]
    assert reaped.recovery.deleted == (str(dead_temp),)  # found through the dead worker's root
    assert reaped.recovery.left_running == (str(alive_temp),)
    assert not dead_temp.exists() and alive_temp.exists()
    for job in dead.jobs:
        requeued = store.jobs.get(job.id)
        assert requeued is not None and (requeued.status, requeued.error_kind) == (
            "queued",
            "lease_expired",
        )
    assert [w.record.host for w in store.workers.live(LEASE_S)] == ["host-b"]
    # a second pass finds nothing: each lease is requeued once
    again = reap(store, LEASE_S, [output])
    assert (again.requeued, again.workers_gone, again.recovery.deleted) == ((), (), ())


def test_one_host_reaps_at_a_time_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    with closing(Store(pg_url)) as first, closing(Store(pg_url)) as second:
        first.jobs.enqueue(new_jobs(5))
        lease = first.jobs.claim("host-a:1:aaaa", limit=5, now=time.time() - 10 * LEASE_S)
        with first.db.transaction():
            assert first.workers.reaper_lock()  # host A is reaping
            busy = reap(second, LEASE_S, [tmp_path])
            assert busy.skipped and busy.requeued == ()
            assert second.jobs.counts()["running"] == 5  # host B touched nothing
        done = reap(second, LEASE_S, [tmp_path])  # A's pass ended: B may reap now
        assert list(done.requeued) == sorted(job.id for job in lease.jobs)


def test_workers_lists_live_hosts_their_jobs_and_heartbeats(home: Path) -> None:
    store_url = f"sqlite:///{home / 'state.db'}"
    with closing(Store(store_url)) as store:
        (job,) = store.jobs.enqueue(new_jobs(1))
        store.jobs.claim("node-7:4242:cafe", limit=1)
        store.workers.beat(WorkerRecord("node-7:4242:cafe", "node-7", 4242, "/shared", 1.0, 1.0))
        stale = time.time() - 10 * LEASE_S
        store.workers.beat(WorkerRecord("node-8:1:dead", "node-8", 1, "/shared", 1.0, 1.0), stale)
    runner = CliRunner()
    result = runner.invoke(app, ["--home", str(home), "workers", "--store", store_url])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "node-7: 1 worker, 1 running job"
    assert lines[1].startswith("  pid 4242  heartbeat ")
    assert lines[1].endswith(f"s ago  1 job: {job} /data/f0.csv")
    assert "node-8" not in result.output  # no heartbeat within the lease timeout: not live
    listed = json.loads(
        runner.invoke(app, ["--home", str(home), "workers", "--store", store_url, "--json"]).output
    )
    assert [(w["host"], w["pid"], [j["job_id"] for j in w["jobs"]]) for w in listed] == [
        ("node-7", 4242, [job])
    ]


def test_worker_host_refuses_to_start_without_a_store(home: Path) -> None:
    result = CliRunner().invoke(app, ["--home", str(home), "worker", "--output", str(home)])
    assert result.exit_code == 1
    assert "no shared store: give --store postgresql://USER@HOST/DB" in result.output


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://cf:s3cret@db.lan/flow", "postgresql://cf:***@db.lan/flow"),
        ("postgresql://cf@db.lan/flow", "postgresql://cf@db.lan/flow"),
    ],
)
def test_store_urls_are_printed_without_their_password(url: str, shown: str) -> None:
    from casparian_engine.cli.workers import redacted

    assert redacted(url) == shown


def test_process_queue_only_queues_for_worker_hosts_and_runs_nothing(
    workspace: Workspace, home: Path, tmp_path: Path
) -> None:
    write_csv_inputs(tmp_path / "in", 3)
    workspace.files.scan(tmp_path / "in")
    _register(workspace, "1")
    runner = CliRunner()
    result = runner.invoke(app, ["--home", str(home), "process", "--queue-only"])
    assert result.exit_code == 0, result.output
    assert result.output == "csv 1: 3 of 3 matched files queued\n"
    assert workspace.store.jobs.counts().by_status == {"queued": 3}  # nothing ran here
    again = runner.invoke(app, ["--home", str(home), "process", "--queue-only", "--json"])
    assert json.loads(again.output) == [
        {"parser": "csv", "version": "1", "matched": 3, "queued": 0}
    ]


@pytest.mark.postgres
def test_a_worker_host_rides_out_its_store_connections_being_cut(
    home: Path, tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every connection of the host is terminated by the server mid-run: the workers that lose a
    claim crash and are replaced, heartbeats and the pool reconnect, and the queue is drained.
    The jobs run the invoices parser (a real bundle, real guests), 50 ms a file."""
    monkeypatch.setenv("CASPARIAN_STORE_URL", pg_url)
    names = [f"input_{n:05d}.csv" for n in range(200)]
    with Workspace.open(home) as workspace:
        workspace.files.scan(invoices(tmp_path / "data", *names))
        register(workspace, tmp_path / "parser", "import time\ntime.sleep(0.05)")
        (queued,) = workspace.jobs.enqueue()
        assert queued.queued == 200
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "CASPARIAN_HOME": str(home),
        "CASPARIAN_HEARTBEAT_INTERVAL_S": "0.5",
    }
    host = subprocess.Popen(
        [CASPARIAN, "worker", "--store", pg_url, "--output", str(tmp_path / "out"),
         "--workers", "2", "--batch", "4"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        with closing(Store(pg_url)) as store:
            _wait_until(lambda: store.jobs.counts()["completed"] >= 20, "the host to work")
            cut = store.db.query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            assert len(cut) >= 3  # the pool's and each worker's connections
            _wait_until(lambda: store.jobs.counts()["completed"] == 200, "the queue to drain")
            assert host.poll() is None  # still serving the queue
        host.send_signal(signal.SIGTERM)
        _out, err = host.communicate(timeout=120)
    finally:
        host.kill()
    assert host.returncode == 0, err.decode()
    assert "pool: the store is unreachable, retrying" in err.decode()
    assert "pool: the store is reachable again" in err.decode()


@pytest.mark.postgres
def test_leases_run_on_the_servers_clock_so_a_host_whose_clock_is_late_is_not_reaped(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_time = time.time
    with closing(Store(pg_url)) as late_host, closing(Store(pg_url)) as other_host:
        late_host.jobs.enqueue(new_jobs(3))
        monkeypatch.setattr(time, "time", lambda: real_time() - 86_400)  # a day late
        lease = late_host.jobs.claim("late:1:aaaa", limit=3)
        assert late_host.jobs.heartbeat(lease.token) == {job.id for job in lease.jobs}
        record = WorkerRecord("late:1:aaaa", "late", 1, str(tmp_path), 0.0, 0.0)
        late_host.workers.beat(record)
        monkeypatch.setattr(time, "time", real_time)
        reaped = reap(other_host, LEASE_S, [tmp_path])  # a host with the right time
        assert (reaped.requeued, reaped.workers_gone) == ((), ())
        assert [w.record.host for w in other_host.workers.live(LEASE_S)] == ["late"]
        assert other_host.jobs.counts()["running"] == 3


def test_readers_never_see_staged_parts(home: Path) -> None:
    """A batch's staged parts (its worker has not committed, or was fenced) hold real Parquet
    rows under the table's folder: `query` (the MCP server's query tool reads the same views) and
    Inspect count only the committed part."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from casparian_engine.inspect import OutputInspector

    Workspace.open(home).close()
    folder = home / "output" / "invoices" / "invoices"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"amount": [1.0, 2.0]}), folder / ("part-" + "a" * 32 + "-0.parquet"))
    for staged in (
        ".part-" + "b" * 32 + "-0.parquet.tmp",
        ".part-" + "b" * 32 + "-1.parquet.tmp.rewrite",
    ):
        pq.write_table(pa.table({"amount": [9.0] * 5}), folder / staged)
    answered = CliRunner().invoke(
        app,
        [
            "--home",
            str(home),
            "query",
            "SELECT count(*) AS n, sum(amount) AS s FROM invoices",
            "--json",
        ],
    )
    assert answered.exit_code == 0, answered.output
    assert json.loads(answered.output)["rows"] == [{"n": 2, "s": 3.0}]
    (summary,) = OutputInspector(home / "output").tables()
    assert (summary.file_count, summary.row_count) == (1, 2)
